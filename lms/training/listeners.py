"""Keep what is derived from the ledger and the organisation true: the status cache and the trend snapshots.

Status at a day depends on the live ledger up to that day, exemptions, requirements and the organisation
(current post, department, roles and their history). Two things are derived from them and must follow:

* the **status cache** (``training_status``, see ``lms.training.cache``): a change to one person's records,
  exemptions, roles, events or status columns marks that person stale (``training_status_dirty``); a change to
  a requirement or a department marks the whole enterprise stale (``training_status_state.as_of = NULL``);
* the **trend snapshots** of closed months: a record invalidates its enterprise's snapshots from the month its
  completion date falls in (a record completed today leaves closed months alone); any other change
  invalidates the enterprise's snapshots.

The kept rows are a projection of domain events. The packages below own the translation of changes to their
tables into events, sent within the unit of work (from each flush, and from each bulk statement run through the
session), so this package watches none of their models:

* ``lms.ledger.events.records_changed`` (enterprise, people, earliest completion day): those people, and the
  enterprise's snapshots from that day's month on;
* ``lms.org.events.people_changed`` (people, aspect): placement (department, post, status, dates; new people),
  roles and history mark the people and drop their enterprise's snapshots; details (a name, a phone) change no
  status and are ignored;
* ``lms.org.events.structure_changed`` (enterprises): departments, the whole enterprise.

Its own tables are watched here: exemptions mark their people, requirements their whole enterprise.

Each event only *collects* what changed (in ``session.info``, ``lms.training.marks``); the marks are written
once, just before the transaction commits (``before_commit``), or earlier when a reader of the cache asks
(``apply_pending``), so an import that flushes ten thousand times pays for one set of statements. The marks
are written in the same transaction as the change: they can never be lost or seen without it. A bulk statement
marks the people its rows name, else their enterprises, else everything.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from lms.core.changes import bulk_rows, bulk_table
from lms.core.signals import industry_changed
from lms.ledger.events import records_changed
from lms.org.events import DETAILS, people_changed, structure_changed
from lms.training.marks import apply_pending, collected, has_collected, take_changed_people
from lms.training.models import Exemption, Requirement

EXEMPTION = Exemption.__table__.name
REQUIREMENT = Requirement.__table__.name


@records_changed.connect
def _records_changed(
    session: Session,
    enterprise_id: int | None = None,
    person_ids: frozenset[int] | None = None,
    from_day: dt.date = dt.date.min,
    **_kw: Any,
) -> None:
    pending = collected(session)
    if enterprise_id is None:
        pending.everything = True
        pending.people.update(person_ids or ())
    elif person_ids is None:
        pending.enterprises.add(enterprise_id)
    else:
        for person_id in person_ids:
            pending.record(enterprise_id, person_id, from_day)


@people_changed.connect
def _people_changed(
    session: Session,
    aspect: str = "",
    person_ids: frozenset[int] | None = None,
    enterprise_ids: frozenset[int] | None = None,
    **_kw: Any,
) -> None:
    if aspect == DETAILS:
        return  # a new phone number or name changes no status
    pending = collected(session)
    if person_ids is None:
        if enterprise_ids is None:
            pending.everything = True
        else:
            pending.enterprises.update(enterprise_ids)  # new people in bulk: their enterprises, whole
        return
    pending.people.update(person_ids)
    if enterprise_ids:
        pending.snap_ents.update(enterprise_ids)
    else:
        pending.snap_people.update(person_ids)  # their enterprises are looked up when the marks are written


@structure_changed.connect
def _structure_changed(session: Session, enterprise_ids: frozenset[int] | None = None, **_kw: Any) -> None:
    pending = collected(session)
    if enterprise_ids is None:
        pending.everything = True
    else:
        pending.enterprises.update(enterprise_ids)


@event.listens_for(Session, "after_flush")
def _collect_own_flush(session: Session, _ctx: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Exemption):
            pending = collected(session)
            pending.people.add(obj.person_id)
            pending.snap_people.add(obj.person_id)
        elif isinstance(obj, Requirement) and obj.enterprise_id is not None:
            collected(session).enterprises.add(obj.enterprise_id)


@event.listens_for(Session, "do_orm_execute")
def _collect_own_bulk(state: Any) -> None:
    name = bulk_table(state)
    if name not in (EXEMPTION, REQUIREMENT):
        return
    pending = collected(state.session)
    rows = bulk_rows(state)
    if name == EXEMPTION and state.is_insert and rows and all(r.get("person_id") for r in rows):
        people = {int(r["person_id"]) for r in rows}
        pending.people.update(people)
        pending.snap_people.update(people)
        return
    pending.everything = True


def _after_people(session: Session, people: set[int]) -> None:
    """Hooks for what follows a change of people's status (requirement certificates)."""
    if people:
        from lms.training.fulfilment import after_people_changed

        after_people_changed(session, people)


@event.listens_for(Session, "before_commit")
def _apply_before_commit(session: Session) -> None:
    if has_collected(session) or session.new or session.dirty or session.deleted:
        # The commit flushes what is left only after this hook: flush it now, so that its events are collected
        # and marked in this transaction.
        session.flush()
    apply_pending(session)  # also when a reader wrote the marks earlier: their people are kept until now
    _after_people(session, take_changed_people(session))


@industry_changed.connect
def _industry_changed(enterprise: Any, was_high_risk: bool = False, **_kw: Any) -> list[dict[str, Any]]:
    """The enterprise's industry moved it into or out of the high-risk figures: re-derive the presets."""
    from lms.training.presets import rederive

    return rederive(enterprise, was_high_risk)
