"""Keep what is derived from the ledger and the organisation true: the status cache and the trend snapshots.

Status at a day depends on the live ledger up to that day, exemptions, requirements and the organisation
(current post, department, roles and their history). Two things are derived from them and must follow:

* the **status cache** (``training_status``, see ``lms.training.cache``): a change to one person's records,
  exemptions, roles, events or status columns marks that person stale (``training_status_dirty``); a change to
  a requirement or a department marks the whole enterprise stale (``training_status_state.as_of = NULL``);
* the **trend snapshots** of closed months: a record invalidates its enterprise's snapshots from the month its
  completion date falls in (a record completed today leaves closed months alone); any other change
  invalidates the enterprise's snapshots.

Each flush only *collects* what changed (in ``session.info``); the marks are written once, just before the
transaction commits (``before_commit``), or earlier when a reader of the cache asks (``apply_pending``), so
an import that flushes ten thousand times pays for one set of statements. The marks are written in the same
transaction as the change: they can never be lost or seen without it. Bulk statements through the session
(``insert`` with many rows, ``update``/``delete``) mark their people when the rows name them, else everything.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from lms.core.signals import industry_changed
from lms.ledger.models import TrainingRecord
from lms.org.models import Department, Person, PersonEvent, PersonRole
from lms.training.marks import apply_pending, collected, has_collected, take_changed_people
from lms.training.models import Exemption, Requirement

WATCHED_TABLES = {
    "training_record",
    "training_exemption",
    "training_requirement",
    "person",
    "person_role",
    "person_event",
    "department",
}
PERSON_TABLES = {"training_record", "training_exemption", "person_role", "person_event"}


def _day(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


PERSON_STATUS_COLUMNS = (
    "enterprise_id",
    "department_id",
    "post_id",
    "status",
    "left_on",
    "hire_date",
    "away_from",
    "returned_on",
)


def _status_columns_changed(person: Person) -> bool:
    attrs = inspect(person).attrs
    return any(attrs[name].history.has_changes() for name in PERSON_STATUS_COLUMNS)


@event.listens_for(Session, "after_flush")
def _collect_after_flush(session: Session, _ctx: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, TrainingRecord):
            days = [_day(obj.completed_at)]
            hist = inspect(obj).attrs.completed_at.history
            days += [_day(v) for v in hist.deleted or ()]
            day = min((d for d in days if d is not None), default=dt.date.min)
            collected(session).record(obj.enterprise_id, obj.person_id, day)
        elif isinstance(obj, Person):
            if obj in session.dirty and not _status_columns_changed(obj):
                continue  # a new phone number or name changes no status
            pending = collected(session)
            pending.people.add(obj.id)
            if obj.enterprise_id is not None:
                pending.snap_ents.add(obj.enterprise_id)
        elif isinstance(obj, Exemption | PersonRole | PersonEvent):
            pending = collected(session)
            pending.people.add(obj.person_id)
            pending.snap_people.add(obj.person_id)
        elif isinstance(obj, Requirement | Department):
            if obj.enterprise_id is not None:
                collected(session).enterprises.add(obj.enterprise_id)


@event.listens_for(Session, "do_orm_execute")
def _collect_bulk(state: Any) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    stmt = state.statement
    target = getattr(stmt, "table", None)
    name = getattr(target, "name", None)
    if name is None:
        entity = getattr(target, "entity", None) or getattr(stmt, "entity_description", {}).get("entity")
        name = getattr(getattr(entity, "__table__", None), "name", None)
    if name not in WATCHED_TABLES:
        return
    pending = collected(state.session)
    params = state.parameters
    rows = params if isinstance(params, list) else [params] if isinstance(params, dict) else []
    # An executemany INSERT naming its people (records of an import, roles…): mark just them.
    if state.is_insert and name in PERSON_TABLES and rows and all(r.get("person_id") for r in rows):
        for r in rows:
            if name == "training_record":
                pending.record(r.get("enterprise_id"), int(r["person_id"]), _day(r.get("completed_at")))
            else:
                pending.people.add(int(r["person_id"]))
                pending.snap_people.add(int(r["person_id"]))
        return
    if name == "person" and rows:
        if state.is_insert and all(r.get("enterprise_id") for r in rows):
            # New people (a roster import): their enterprises are recomputed whole, no one else's.
            ents = {int(r["enterprise_id"]) for r in rows}
            pending.enterprises.update(ents)
            return
        if state.is_update and all(r.get("id") for r in rows):  # bulk UPDATE by primary key: those people
            for r in rows:
                pending.people.add(int(r["id"]))
                pending.snap_people.add(int(r["id"]))
            return
    pending.everything = True


def _after_people(session: Session, people: set[int]) -> None:
    """Hooks for what follows a change of people's status (requirement certificates)."""
    if people:
        from lms.training.fulfilment import after_people_changed

        after_people_changed(session, people)


@event.listens_for(Session, "before_commit")
def _apply_before_commit(session: Session) -> None:
    if has_collected(session):
        session.flush()  # the last changes are flushed after before_commit otherwise: collect them now
    apply_pending(session)  # also when a reader wrote the marks earlier: their people are kept until now
    _after_people(session, take_changed_people(session))


@industry_changed.connect
def _industry_changed(enterprise: Any, was_high_risk: bool = False, **_kw: Any) -> list[dict[str, Any]]:
    """The enterprise's industry moved it into or out of the high-risk figures: re-derive the presets."""
    from lms.training.presets import rederive

    return rederive(enterprise, was_high_risk)
