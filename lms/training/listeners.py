"""Keep the coverage trend snapshots true: delete the ones a change could alter.

Status at a month end depends on the live ledger up to that day, exemptions, requirements and the organisation
(current post, department, roles and their history). A flushed record invalidates the snapshots of its
enterprise from the month its completion date falls in (a record completed today leaves closed months alone);
any other change invalidates the enterprise's snapshots. Bulk statements through the session (``insert(...)``
with many rows, ``update``/``delete``) on those tables invalidate every snapshot: they are rare (imports).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from lms.ledger.models import TrainingRecord
from lms.org.models import Department, Person, PersonEvent, PersonRole
from lms.training.models import CoverageSnapshot, Exemption, Requirement

WATCHED_TABLES = {
    "training_record",
    "training_exemption",
    "training_requirement",
    "person",
    "person_role",
    "person_event",
    "department",
}
_snap = CoverageSnapshot.__table__
_present: dict[Any, bool] = {}


def snapshots_available(conn: Any) -> bool:
    """Whether the snapshot table exists on this database (it does once the migration ran; cached per engine)."""
    key = conn.engine.url
    if key not in _present:
        _present[key] = inspect(conn).has_table(_snap.name)
    return _present[key]


def _day(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


PERSON_STATUS_COLUMNS = ("enterprise_id", "department_id", "post_id", "status", "left_on", "hire_date")


def _status_columns_changed(person: Person) -> bool:
    attrs = inspect(person).attrs
    return any(attrs[name].history.has_changes() for name in PERSON_STATUS_COLUMNS)


@event.listens_for(Session, "after_flush")
def _invalidate_after_flush(session: Session, _ctx: Any) -> None:
    whole: set[int] = set()  # enterprises whose snapshots all go
    person_ids: set[int] = set()  # … found through people
    since: dict[int, dt.date] = {}  # enterprise → earliest month end a record change touches
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, TrainingRecord):
            days = [_day(obj.completed_at)]
            hist = inspect(obj).attrs.completed_at.history
            days += [_day(v) for v in hist.deleted or ()]
            day = min((d for d in days if d is not None), default=dt.date.min)
            since[obj.enterprise_id] = min(day, since.get(obj.enterprise_id, day))
        elif isinstance(obj, Person) and obj in session.dirty and not _status_columns_changed(obj):
            continue  # a new phone number or name changes no status
        elif isinstance(obj, Exemption | Requirement | Department | Person):
            if obj.enterprise_id is not None:
                whole.add(obj.enterprise_id)
        elif isinstance(obj, PersonRole | PersonEvent):
            person_ids.add(obj.person_id)
    if not (whole or person_ids or since):
        return
    conn = session.connection()
    if not snapshots_available(conn):
        return
    if whole:
        conn.execute(_snap.delete().where(_snap.c.enterprise_id.in_(whole)))
    if person_ids:
        ents = select(Person.enterprise_id).where(Person.id.in_(person_ids)).scalar_subquery()
        conn.execute(_snap.delete().where(_snap.c.enterprise_id.in_(ents)))
    for ent_id, day in since.items():
        if ent_id in whole:
            continue
        # A record completed on ``day`` counts at every month end from ``day`` on.
        conn.execute(_snap.delete().where(_snap.c.enterprise_id == ent_id, _snap.c.month_end >= day))


@event.listens_for(Session, "do_orm_execute")
def _invalidate_on_bulk(state: Any) -> None:
    stmt = state.statement
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    target = getattr(stmt, "table", None)
    name = getattr(target, "name", None)
    if name is None:
        entity = getattr(target, "entity", None) or getattr(stmt, "entity_description", {}).get("entity")
        name = getattr(getattr(entity, "__table__", None), "name", None)
    if name in WATCHED_TABLES:
        conn = state.session.connection()
        if snapshots_available(conn):
            conn.execute(_snap.delete())
