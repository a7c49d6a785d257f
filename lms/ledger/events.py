"""The ledger's domain events: which people's training records a unit of work changed, and from which day.

The ledger owns the translation of changes to its table (``training_record``) into ``records_changed``, so
that no writer has to remember to announce anything and no other package watches the ledger's models:

* a flush that adds, voids, redates or removes ``TrainingRecord`` objects (``record``, ``void``,
  ``void_source``, any service) sends one event per enterprise, right after the flush;
* a bulk statement run through the session (``record_many``, an import, the demo: ``insert`` with many rows,
  ``update``/``delete``) sends one before it runs, naming its people when its rows name them, else "anyone".

The events are sent within the transaction that makes the change, before it commits. A write through a raw
connection is not seen: write through the session. Receivers (``lms.training.listeners`` keeps its status
rows as a projection of these events) only take note, without SQL: an import that flushes ten thousand times
sends ten thousand events, and the receiver writes what follows from them once, before commit.

The capture is installed when this module is imported: whoever subscribes imports it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from blinker import Namespace
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from lms.core.changes import bulk_rows, bulk_table, day_of
from lms.ledger.models import TrainingRecord

_signals = Namespace()

# sender: the Session. kwargs: enterprise_id (int; None: any enterprise), person_ids (frozenset of person ids;
# None: people the statement did not name, i.e. anyone of the enterprise), from_day (the earliest day a changed
# record was completed on, before or after the change; ``datetime.date.min`` when unknown).
records_changed = _signals.signal("ledger.records-changed")

TABLE = TrainingRecord.__table__.name


Changes = dict[int | None, tuple[set[int], dt.date]]  # enterprise → (people, earliest day)


def _send(session: Session, changes: Changes) -> None:
    for enterprise_id, (people, from_day) in changes.items():
        records_changed.send(
            session, enterprise_id=enterprise_id, person_ids=frozenset(people), from_day=from_day
        )


def _note(changes: Changes, enterprise_id: int | None, person_id: int, days: list[dt.date | None]) -> None:
    day = min((d for d in days if d is not None), default=dt.date.min)
    people, first = changes.get(enterprise_id, (set(), day))
    people.add(person_id)
    changes[enterprise_id] = (people, min(first, day))


@event.listens_for(Session, "after_flush")
def _records_flushed(session: Session, _ctx: Any) -> None:
    changes: Changes = {}
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, TrainingRecord):
            hist = inspect(obj).attrs.completed_at.history
            days = [day_of(obj.completed_at), *(day_of(v) for v in hist.deleted or ())]
            _note(changes, obj.enterprise_id, obj.person_id, days)
    _send(session, changes)


@event.listens_for(Session, "do_orm_execute")
def _records_in_bulk(state: Any) -> None:
    if bulk_table(state) != TABLE:
        return
    rows = bulk_rows(state)
    if state.is_insert and rows and all(r.get("person_id") and r.get("enterprise_id") for r in rows):
        changes: Changes = {}
        for r in rows:
            _note(changes, int(r["enterprise_id"]), int(r["person_id"]), [day_of(r.get("completed_at"))])
        _send(state.session, changes)
        return
    records_changed.send(state.session, enterprise_id=None, person_ids=None, from_day=dt.date.min)
