"""Today's status rows kept in a table, so that dashboards read a table instead of evaluating the ledger.

``status.status_query`` is the only definition of a status. For the day that most pages show (today), its rows
are stored in ``training_status``, per enterprise:

* **whole**: once a day (the first reader of the day, or ``lms coverage refresh`` from a nightly scheduler), and
  after a change that can alter anybody's status (a requirement, a department: ``as_of`` set to NULL);
* **per person**: a change to someone's records, exemptions, roles, events, post or status marks that person
  (``training_status_dirty``, written by ``lms.training.listeners`` from the ledger's and org's domain events,
  in the same transaction as the change);
  the next reader recomputes just those people.

Readers do not come here: they open ``lms.training.reading.read``, which calls ``prepare`` (or
``prepare_person``) for today and reads the kept rows when ``usable`` says they are exact, the live
``status_query`` otherwise. ``prepare`` brings the rows up to date in the unit of work: in a read unit (a page)
it asks for a write unit (``lms.core.db.require_write``) when there is something to recompute, and the request
runs again as one (on SQLite: with the write lock from its first statement, like every writer), refreshes,
reads and is committed by the request wrapper. Jobs and commands (write units) refresh in their own
transaction (``refresh``, ``lms coverage refresh``).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Integer, bindparam, case, delete, exists, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql import ColumnElement

from lms.core.db import WriteNeeded, db, require_write, utcnow
from lms.org.models import Person
from lms.org.timezone import enterprise_today
from lms.training.marks import apply_pending
from lms.training.models import (
    COMPLIANT,
    DUE_SOON,
    EXPIRED,
    OVERDUE,
    StatusDirty,
    StatusPerson,
    StatusRow,
    StatusState,
)
from lms.training.status import STATUS_COLUMNS, status_query

log = logging.getLogger(__name__)

ROWS = StatusRow.__table__
STATE = StatusState.__table__
DIRTY = StatusDirty.__table__
PEOPLE = StatusPerson.__table__
# Above this many waiting people a whole recomputation is cheaper than a per-person one.
WHOLE_ABOVE = 2000


def today(enterprise_id: int) -> dt.date:
    """The day the enterprise's rows are kept for: its local date (the pages' default "as of")."""
    return enterprise_today(enterprise_id)


def _state_of(enterprise_id: int, person_id: int | None = None) -> Any:
    """The enterprise's state row (as_of) and whether anybody of it (or the person ``person_id``) is marked;
    None if never built."""
    apply_pending(db.session())
    by_person = person_id is not None
    return db.session.execute(
        _state_statement(by_person),
        {"enterprise_id": enterprise_id, "waiting_id": person_id if by_person else enterprise_id},
    ).first()


@functools.cache
def _state_statement(by_person: bool) -> Any:
    """``_state_of``'s statement (``enterprise_id`` and the marked ``waiting_id`` bound), built once: a learner's
    pages ask it on every request."""
    waiting = (DIRTY.c.person_id if by_person else DIRTY.c.enterprise_id) == bindparam("waiting_id")
    return select(STATE.c.as_of, exists().where(waiting).label("waiting")).where(
        STATE.c.enterprise_id == bindparam("enterprise_id")
    )


def _kept_for(enterprise_id: int, as_of: dt.date, person_id: int | None = None) -> bool:
    """Whether the enterprise's rows were computed for ``as_of`` (today) and nobody of it (or the person
    ``person_id``) is marked."""
    if as_of != today(enterprise_id):
        return False
    state = _state_of(enterprise_id, person_id)
    return state is not None and state.as_of == as_of and not state.waiting


def usable(enterprise_id: int, as_of: dt.date) -> bool:
    """Whether ``training_status`` holds the enterprise's exact rows at ``as_of`` right now."""
    return _kept_for(enterprise_id, as_of)


def usable_for_person(enterprise_id: int, person_id: int, as_of: dt.date) -> bool:
    """Whether the cache holds one person's exact rows at ``as_of`` (others may be waiting)."""
    return _kept_for(enterprise_id, as_of, person_id)


def source(enterprise_id: int, person_filter: ColumnElement[bool] | None = None) -> Any:
    """The kept rows of an enterprise (optionally of the people in ``person_filter``) as a subquery with the
    status columns, whether or not they are today's (readers go through ``lms.training.reading.read``)."""
    q = select(*[ROWS.c[name] for name in STATUS_COLUMNS]).where(ROWS.c.enterprise_id == enterprise_id)
    if person_filter is not None:
        q = q.join(Person, Person.id == ROWS.c.person_id).where(person_filter)
    return q.subquery("cached")


def _counts(where: Any) -> Any:
    """The per-person counts of the kept rows matching ``where`` (to insert into ``training_status_person``)."""
    one = lambda cond: func.sum(case((cond, 1), else_=0))  # noqa: E731
    return (
        select(
            ROWS.c.person_id,
            ROWS.c.enterprise_id,
            func.count(),
            one(ROWS.c.status.in_(COMPLIANT)),
            one(ROWS.c.status.in_((OVERDUE, EXPIRED))),
            one(ROWS.c.status == DUE_SOON),
        )
        .where(where)
        .group_by(ROWS.c.person_id, ROWS.c.enterprise_id)
    )


COUNT_COLUMNS = ["person_id", "enterprise_id", "n_req", "n_ok", "n_late", "n_due_soon"]


def _lock_state(enterprise_id: int) -> Any:
    """Return the enterprise's state row, locked (PostgreSQL) so that one refresher works at a time."""
    ins = sqlite_insert if db.is_sqlite else pg_insert
    db.session.execute(
        ins(STATE).values(enterprise_id=enterprise_id, as_of=None, rows=0).on_conflict_do_nothing()
    )
    q = select(STATE).where(STATE.c.enterprise_id == enterprise_id)
    if not db.is_sqlite:
        q = q.with_for_update()
    return db.session.execute(q).one()


def refresh(enterprise_id: int, *, whole: bool = False) -> dict[str, Any]:
    """Bring the enterprise's cached rows up to today in the current transaction; return what was done.

    Whole when the state is not today's (or ``whole``), else only the people marked stale.
    """
    started = time.perf_counter()
    apply_pending(db.session())
    day = today(enterprise_id)
    state = _lock_state(enterprise_id)
    cols = list(STATUS_COLUMNS)
    if whole or state.as_of != day:
        mode = "whole"
        db.session.execute(delete(DIRTY).where(DIRTY.c.enterprise_id == enterprise_id))
        db.session.execute(delete(ROWS).where(ROWS.c.enterprise_id == enterprise_id))
        db.session.execute(delete(PEOPLE).where(PEOPLE.c.enterprise_id == enterprise_id))
        q = status_query(enterprise_id, day)
        db.session.execute(
            insert(ROWS).from_select(["enterprise_id", *cols], select(_ent(enterprise_id), *q.subquery().c))
        )
        db.session.execute(
            insert(PEOPLE).from_select(COUNT_COLUMNS, _counts(ROWS.c.enterprise_id == enterprise_id))
        )
        people = None
    else:
        # Claim the waiting people first: a change committed after this statement marks them again.
        claimed = db.session.execute(
            delete(DIRTY).where(DIRTY.c.enterprise_id == enterprise_id).returning(DIRTY.c.person_id)
        )
        ids = sorted(claimed.scalars())
        if not ids:
            return {"mode": "none", "people": 0, "seconds": 0.0}
        if len(ids) > WHOLE_ABOVE:
            return refresh(enterprise_id, whole=True)
        mode, people = "people", len(ids)
        _recompute_people(enterprise_id, day, ids)
    total = db.session.scalar(
        select(func.count()).select_from(ROWS).where(ROWS.c.enterprise_id == enterprise_id)
    )
    db.session.execute(
        update(STATE)
        .where(STATE.c.enterprise_id == enterprise_id)
        .values(as_of=day, refreshed_at=utcnow(), rows=int(total or 0))
    )
    seconds = time.perf_counter() - started
    log.info("training status cache of enterprise %s: %s refresh in %.2f s", enterprise_id, mode, seconds)
    return {"mode": mode, "people": people, "rows": int(total or 0), "seconds": round(seconds, 3)}


def _recompute_people(enterprise_id: int, day: dt.date, ids: list[int]) -> int:
    """Replace the kept rows and counts of these people (claimed from the waiting list) by today's.

    Return how many kept rows this added (negative: removed).
    """
    cols = list(STATUS_COLUMNS)
    change = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        change -= db.session.execute(delete(ROWS).where(ROWS.c.person_id.in_(chunk))).rowcount
        db.session.execute(delete(PEOPLE).where(PEOPLE.c.person_id.in_(chunk)))
        q = status_query(enterprise_id, day, person_filter=Person.id.in_(chunk))
        added = db.session.execute(
            insert(ROWS).from_select(["enterprise_id", *cols], select(_ent(enterprise_id), *q.subquery().c))
        ).rowcount
        if added is None or added < 0:
            # SQLite's driver (Python 3.11) counts no rows for a statement that begins with WITH, as the status
            # query's CTEs make this one: count what was kept instead.
            added = db.session.scalar(
                select(func.count()).select_from(ROWS).where(ROWS.c.person_id.in_(chunk))
            )
        change += int(added or 0)
        db.session.execute(insert(PEOPLE).from_select(COUNT_COLUMNS, _counts(ROWS.c.person_id.in_(chunk))))
    return change


def refresh_person(enterprise_id: int, person_id: int) -> bool:
    """Recompute one waiting person's kept rows in the current transaction, if the rest are today's.

    For that person's own page: a learner who just passed an exam (marked by the listeners) reads the kept rows
    again from the next request on, without waiting for a dashboard or the nightly run to recompute everyone
    waiting. Return whether the person's rows are now today's.
    """
    apply_pending(db.session())
    day = today(enterprise_id)
    state = _lock_state(enterprise_id)
    if state.as_of != day:
        return False  # the whole enterprise waits: a whole recomputation is not for one person's request
    claimed = db.session.execute(
        delete(DIRTY)
        .where(DIRTY.c.enterprise_id == enterprise_id, DIRTY.c.person_id == person_id)
        .returning(DIRTY.c.person_id)
    )
    if list(claimed.scalars()):
        change = _recompute_people(enterprise_id, day, [person_id])
        if change:
            db.session.execute(
                update(STATE).where(STATE.c.enterprise_id == enterprise_id).values(rows=STATE.c.rows + change)
            )
    return True


def prepare_person(as_of: dt.date, enterprise_id: int, person_id: int) -> bool:
    """For a page about one person at ``as_of``: when that is today and the person waits, recompute them now.

    Like ``prepare``: in a read unit this asks for a write unit first. Return whether the kept rows now hold
    the person's rows at ``as_of``.
    """
    if as_of != today(enterprise_id):
        return False
    state = _state_of(enterprise_id, person_id)
    if state is None or state.as_of != as_of:
        return False  # the whole enterprise waits (for a dashboard or the nightly run), not for this page
    if not state.waiting:
        return True
    return bool(_in_savepoint(lambda: refresh_person(enterprise_id, person_id)))


def _in_savepoint(work: Callable[[], Any]) -> Any:
    """Run ``work`` (a refresh for a page) in the unit of work, asking for a write unit first; return its result.

    A failure is not the page's: it is logged, undone (a savepoint) and the page computes live (None).
    """
    require_write()
    try:
        with db.session.begin_nested():
            return work()
    except WriteNeeded:
        raise
    except Exception:
        log.exception("could not refresh the training status cache; the page computes live")
        return None


def _ent(enterprise_id: int) -> Any:
    return literal(enterprise_id, Integer()).label("enterprise_id")


def prepare(as_of: dt.date, *enterprise_ids: int) -> set[int]:
    """Before reading the figures at ``as_of``: when that is today, bring the kept rows up to date.

    In a read unit (a page) this asks for a write unit when there is something to refresh; the refresh is
    part of the unit of work and committed with it. Return the enterprises whose kept rows now hold their
    exact rows at ``as_of`` (none for another day; not those whose refresh failed: they are read live).
    Readers call ``lms.training.reading.read``, which calls this.
    """
    days = {e: today(e) for e in enterprise_ids}
    current = [e for e in enterprise_ids if as_of == days[e]]
    stale = [e for e in current if not usable(e, as_of)]
    if stale and _in_savepoint(lambda: [refresh(ent_id) for ent_id in stale]) is None:
        return set(current) - set(stale)
    return set(current)
