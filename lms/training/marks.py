"""The stale marks of the kept status rows and the trend snapshots: what ``lms.training.listeners`` collects
from the ledger's and org's domain events (and from flushes of training's own tables) and writes once, before
the transaction commits or earlier when a reader asks (``apply_pending``, called by ``lms.training.cache`` and
``lms.training.coverage`` before they read).

Apart from the listeners so that the readers (``cache`` → ``reading``) do not import them: the listeners
import ``fulfilment``, which reads status through ``reading``. The people whose status a transaction changed
are kept (``changed_people``) for the listeners' ``before_commit`` hook (requirement certificates).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import inspect, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from lms.org.models import Person
from lms.training.models import CoverageSnapshot, StatusDirty, StatusState

_snap = CoverageSnapshot.__table__
_dirty = StatusDirty.__table__
_state = StatusState.__table__
_present: dict[Any, bool] = {}
_KEY = "lms_training_pending"
CHUNK = 500


def snapshots_available(conn: Any) -> bool:
    """Whether the snapshot table exists on this database (it does once the migration ran; cached per engine)."""
    key = conn.engine.url
    if key not in _present:
        _present[key] = inspect(conn).has_table(_snap.name)
    return _present[key]


_CHANGED = "lms_training_changed_people"


class Pending:
    """What the events of the current transaction changed, to be marked once."""

    __slots__ = ("everything", "enterprises", "people", "snap_people", "snap_ents", "snap_since")

    def __init__(self) -> None:
        self.everything = False  # a bulk statement: every enterprise stale
        self.enterprises: set[int] = set()  # stale as a whole (requirements, departments)
        self.people: set[int] = set()  # people whose cached status is stale
        self.snap_people: set[int] = set()  # … whose enterprise's snapshots all go (roles, post, status…)
        self.snap_ents: set[int] = set()  # enterprises whose snapshots all go
        self.snap_since: dict[int, dt.date] = {}  # enterprise → earliest month end a record change touches

    def __bool__(self) -> bool:
        return bool(self.everything or self.enterprises or self.people or self.snap_ents or self.snap_since)

    def record(self, enterprise_id: int | None, person_id: int, day: dt.date | None) -> None:
        self.people.add(person_id)
        if enterprise_id is None:
            self.everything = True
            return
        day = day or dt.date.min
        self.snap_since[enterprise_id] = min(day, self.snap_since.get(enterprise_id, day))


def collected(session: Session) -> Pending:
    """What the events of this transaction collected so far (the listeners add to it)."""
    found = session.info.get(_KEY)
    if found is None:
        found = session.info[_KEY] = Pending()
    return found


def apply_pending(session: Session) -> None:
    """Write the stale marks the events so far collected (before commit, or before reading the cache)."""
    pending: Pending | None = session.info.get(_KEY)
    if not pending:
        return
    session.info[_KEY] = Pending()
    conn = session.connection()
    snapshots = snapshots_available(conn)
    if pending.everything:
        conn.execute(update(_state).values(as_of=None))
        if snapshots:
            conn.execute(_snap.delete())
        changed_people(session).update(pending.people)
        return
    if pending.enterprises:
        conn.execute(update(_state).where(_state.c.enterprise_id.in_(pending.enterprises)).values(as_of=None))
    insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    with_cache = select(_state.c.enterprise_id).where(_state.c.as_of.is_not(None))
    people = sorted(pending.people)
    for start in range(0, len(people), CHUNK):
        ids = people[start : start + CHUNK]
        # Only enterprises whose cache is built need marks (an unbuilt or stale cache is rebuilt whole).
        marks = select(Person.id, Person.enterprise_id).where(
            Person.id.in_(ids), Person.enterprise_id.in_(with_cache)
        )
        conn.execute(
            insert(_dirty)
            .from_select(["person_id", "enterprise_id"], marks)
            .on_conflict_do_nothing(index_elements=["person_id"])
        )
    if snapshots:
        whole = pending.enterprises | pending.snap_ents
        snap_people = sorted(pending.snap_people)
        for start in range(0, len(snap_people), CHUNK):
            ids = snap_people[start : start + CHUNK]
            whole.update(
                conn.execute(select(Person.enterprise_id).where(Person.id.in_(ids)).distinct()).scalars()
            )
        whole.discard(None)  # type: ignore[arg-type]
        if whole:
            conn.execute(_snap.delete().where(_snap.c.enterprise_id.in_(whole)))
        for ent_id, day in pending.snap_since.items():
            if ent_id not in whole:
                # A record completed on ``day`` counts at every month end from ``day`` on.
                conn.execute(_snap.delete().where(_snap.c.enterprise_id == ent_id, _snap.c.month_end >= day))
    changed_people(session).update(pending.people)


def changed_people(session: Session) -> set[int]:
    """The people whose marks this transaction wrote so far (the listeners take them before commit)."""
    found = session.info.get(_CHANGED)
    if found is None:
        found = session.info[_CHANGED] = set()
    return found


def take_changed_people(session: Session) -> set[int]:
    """Return the people whose marks this transaction wrote, and forget them."""
    return session.info.pop(_CHANGED, None) or set()


def has_collected(session: Session) -> bool:
    """Whether the events of this transaction collected changes not yet marked."""
    return bool(session.info.get(_KEY))
