"""The one way to read training status: ``read(enterprise_id(s), as_of, person_filter)``.

``status.status_query`` defines a status (the live recompute path, and the reference in tests); today's rows
are kept in ``training_status`` (``lms.training.cache``). A reader never chooses between them: it opens
``read`` and gets the status rows as a selectable (``StatusRows.rows``, the columns of
``status.STATUS_COLUMNS`` and ``enterprise_id``), whatever they come from:

* **kept rows** when the day is the enterprise's today: ``read`` first brings them up to date through
  ``cache.prepare`` (or ``cache.prepare_person`` for one person), which follows the unit of work: in a read
  unit (a page) it asks for a write unit when something is to be recomputed, and the request runs again as one;
* **the live query** for any other day (or when a refresh failed: the page still answers), optionally
  materialised once into a temporary table (``materialise=True``) when a page asks several figures of it.

Every figure (``lms.training.coverage``: totals, figures, coverage, named lists, culture's coverage share and
on-time rate, the regulator's per-enterprise figures; a person's rows for their page, the API, permits and
certificates; reminders and notifications) is a query over what ``read`` yields. This lives in its own module
because it builds on both ``status`` (the definition) and ``cache`` (the kept rows, itself built on ``status``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, bindparam, case, column, func, literal, select, table, text, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ClauseElement, ColumnElement, Executable
from sqlalchemy.sql.visitors import InternalTraversal

from lms.core.db import db
from lms.org.models import Person
from lms.training import cache
from lms.training.models import COMPLIANT, DUE_SOON, EXPIRED, OVERDUE
from lms.training.status import STATUS_COLUMNS, normalise, status_query

LATE = (OVERDUE, EXPIRED)
TEMP_NAME = "tmp_training_status"


@dataclass
class StatusRows:
    """What ``read`` yields: the status rows of the enterprise(s) at ``as_of`` and where they come from."""

    rows: Any  # a FromClause: enterprise_id + STATUS_COLUMNS
    enterprise_ids: tuple[int, ...]
    as_of: dt.date
    person_filter: ColumnElement[bool] | None
    kept: bool  # every row comes from the kept table (its per-person counts are kept too)
    narrowed: bool = False  # only one person's rows or some requirements' (the kept counts do not apply)
    # Results that several figures of one page share (``lms.training.coverage`` keys them), computed once per read.
    memo: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def c(self) -> Any:
        return self.rows.c

    def of_requirement(self, requirement_id: int | None) -> Any:
        """The rows (a FromClause), only those of one requirement when given."""
        if not requirement_id:
            return self.rows
        return select(self.rows).where(self.rows.c.requirement_id == requirement_id).subquery("s")

    def people(self) -> Any:
        """Per person: person_id, n_req, n_ok, n_late, n_due_soon (kept beside the kept rows)."""
        if self.kept and not self.narrowed:
            p = cache.PEOPLE
            q = select(p.c.person_id, p.c.n_req, p.c.n_ok, p.c.n_late, p.c.n_due_soon).where(
                p.c.enterprise_id.in_(self.enterprise_ids)
                if len(self.enterprise_ids) > 1
                else p.c.enterprise_id == self.enterprise_ids[0]
            )
            if self.person_filter is not None:
                q = q.join(Person, Person.id == p.c.person_id).where(self.person_filter)
            return q.subquery("pp")
        s = self.rows
        return (
            select(
                s.c.person_id,
                func.count().label("n_req"),
                func.sum(case((s.c.status.in_(COMPLIANT), 1), else_=0)).label("n_ok"),
                func.sum(case((s.c.status.in_(LATE), 1), else_=0)).label("n_late"),
                func.sum(case((s.c.status == DUE_SOON, 1), else_=0)).label("n_due_soon"),
            )
            .group_by(s.c.person_id)
            .subquery("pp")
        )

    def all(self) -> list[dict[str, Any]]:
        """The rows as plain dicts (dates normalised), by person and requirement."""
        q = select(*[self.rows.c[name] for name in STATUS_COLUMNS]).order_by(
            self.rows.c.person_id, self.rows.c.requirement_id
        )
        return [normalise(r) for r in db.session.execute(q).mappings()]


def wrap(source: Any, enterprise_id: int, as_of: dt.date, person_filter: Any = None) -> StatusRows:
    """A ``StatusRows`` for a selectable of status rows built elsewhere (tests pass ``status_query`` itself)."""
    if isinstance(source, StatusRows):
        return source
    return StatusRows(source, (enterprise_id,), as_of, person_filter, kept=False)


# ---------------------------------------------------------------- the read


def _ids(enterprise_ids: int | Iterable[int]) -> tuple[int, ...]:
    if isinstance(enterprise_ids, int):
        return (enterprise_ids,)
    return tuple(dict.fromkeys(int(e) for e in enterprise_ids))


def _ent(enterprise_id: int) -> Any:
    return literal(enterprise_id, Integer()).label("enterprise_id")


def kept_rows(
    ids: list[Any],
    person_filter: ColumnElement[bool] | None = None,
    person_id: int | None = None,
    req_ids: Any = None,
) -> Any:
    """The kept rows of the enterprises ``ids`` (ids, or one bound parameter: statements built once), as
    ``read`` yields them (before ``.subquery``)."""
    r = cache.ROWS
    q = select(r.c.enterprise_id, *[r.c[name] for name in STATUS_COLUMNS])
    q = q.where(r.c.enterprise_id.in_(ids) if len(ids) > 1 else r.c.enterprise_id == ids[0])
    if person_id is not None:
        q = q.where(r.c.person_id == person_id)
    if req_ids is not None:
        q = q.where(r.c.requirement_id.in_(req_ids))
    if person_filter is not None:
        q = q.join(Person, Person.id == r.c.person_id).where(person_filter)
    return q


def _live_rows(
    enterprise_id: int,
    as_of: dt.date,
    person_filter: ColumnElement[bool] | None,
    person_id: int | None,
    req_ids: Any,
) -> Any:
    pf = person_filter
    if person_id is not None:
        pf = Person.id == person_id if pf is None else (Person.id == person_id) & pf
    sq = status_query(enterprise_id, as_of, requirement_ids=req_ids, person_filter=pf).subquery("live")
    return select(_ent(enterprise_id), *[sq.c[name] for name in STATUS_COLUMNS])


def prepare(as_of: dt.date, *enterprise_ids: int, person_id: int | None = None) -> set[int]:
    """Bring the kept rows of the enterprise(s) up to date for ``as_of`` (today) within the unit of work (in a
    read unit: by asking for a write unit); return those whose kept rows hold the exact rows of ``as_of``.

    With ``person_id`` (one enterprise): only that person is recomputed if the rest are today's.
    """
    if person_id is not None:
        (ent_id,) = enterprise_ids
        return {ent_id} if cache.prepare_person(as_of, ent_id, person_id) else set()
    return cache.prepare(as_of, *enterprise_ids)


def usable(as_of: dt.date, *enterprise_ids: int, person_id: int | None = None) -> set[int]:
    """Like ``prepare`` without recomputing anything: which enterprises' kept rows hold ``as_of`` now."""
    if person_id is not None:
        (ent_id,) = enterprise_ids
        return {ent_id} if cache.usable_for_person(ent_id, person_id, as_of) else set()
    return {e for e in enterprise_ids if cache.usable(e, as_of)}


@contextlib.contextmanager
def read(
    enterprise_ids: int | Iterable[int],
    as_of: dt.date,
    person_filter: ColumnElement[bool] | None = None,
    *,
    person_id: int | None = None,
    requirement_ids: Iterable[int] | None = None,
    materialise: bool = False,
    prepare_kept: bool = True,
) -> Iterator[StatusRows]:
    """Yield the status rows of the enterprise(s) at ``as_of`` (optionally of the people in ``person_filter``,
    of one person ``person_id``, of some requirements) as a ``StatusRows``.

    Today's rows come from the kept table, brought up to date first (``prepare_kept=False``: only when they
    are up to date already, without writing); any other day's (or an enterprise whose refresh failed) from
    ``status_query``. ``materialise``: evaluate the live part once into a temporary table (a page that asks
    several figures of the same rows); the kept rows are a table already. Queries over the rows belong inside
    the ``with`` block (the temporary table is dropped at its end).
    """
    ids = _ids(enterprise_ids)
    if not ids:
        raise ValueError("read() needs at least one enterprise")
    req_ids = list(requirement_ids) if requirement_ids is not None else None
    choose = prepare if prepare_kept else usable
    kept = choose(as_of, *ids, person_id=person_id) if person_id is None or len(ids) == 1 else set()
    kept_ids = [e for e in ids if e in kept]
    parts = [kept_rows(kept_ids, person_filter, person_id, req_ids)] if kept_ids else []
    parts += [_live_rows(e, as_of, person_filter, person_id, req_ids) for e in ids if e not in kept]
    q = parts[0] if len(parts) == 1 else union_all(*parts)
    all_kept = len(kept_ids) == len(ids)
    narrowed = person_id is not None or req_ids is not None
    if not materialise or all_kept:
        yield StatusRows(q.subquery("status_rows"), ids, as_of, person_filter, all_kept, narrowed)
        return
    name = _temp_name()
    try:
        db.session.execute(text(f"DROP TABLE IF EXISTS {name}"))
        db.session.execute(_CreateTempAs(name, q))
        if not db.is_sqlite:
            db.session.execute(text(f"ANALYZE {name}"))  # temp tables have no statistics until analysed
        t = table(name, *[column(c.name, c.type) for c in q.selected_columns])
        yield StatusRows(t, ids, as_of, person_filter, False, narrowed)
        db.session.execute(text(f"DROP TABLE IF EXISTS {name}"))
    finally:
        db.session.info[TEMP_NAME] -= 1


def rows(
    enterprise_id: int,
    as_of: dt.date,
    person_filter: ColumnElement[bool] | None = None,
    *,
    person_id: int | None = None,
    requirement_ids: Iterable[int] | None = None,
    prepare_kept: bool = True,
) -> list[dict[str, Any]]:
    """``read`` as plain dicts (dates normalised), by person and requirement."""
    with read(
        enterprise_id,
        as_of,
        person_filter,
        person_id=person_id,
        requirement_ids=requirement_ids,
        prepare_kept=prepare_kept,
    ) as s:
        return s.all()


def person_rows(
    enterprise_id: int, person_id: int, as_of: dt.date, *, prepare_kept: bool = True
) -> list[dict[str, Any]]:
    """One person's status rows at ``as_of`` (their page, the API, permits): ``read`` of that person.

    The same rows as ``rows(enterprise_id, as_of, person_id=person_id)``; when they are kept, through one
    statement built once (a learner's home and "My training" ask this on every request).
    """
    choose = prepare if prepare_kept else usable
    if not choose(as_of, enterprise_id, person_id=person_id):
        live = _live_rows(enterprise_id, as_of, None, person_id, None).subquery("status_rows")
        return StatusRows(live, (enterprise_id,), as_of, None, kept=False, narrowed=True).all()
    got = db.session.execute(
        _kept_person_statement(), {"enterprise_id": enterprise_id, "person_id": person_id}
    )
    return [normalise(r) for r in got.mappings()]


@functools.cache
def _kept_person_statement() -> Any:
    """``kept_rows`` of one person, as ``StatusRows.all`` reads them, with bound parameters (built once)."""
    r = cache.ROWS
    return (
        select(*[r.c[name] for name in STATUS_COLUMNS])
        .where(r.c.enterprise_id == bindparam("enterprise_id"), r.c.person_id == bindparam("person_id"))
        .order_by(r.c.person_id, r.c.requirement_id)
    )


# ---------------------------------------------------------------- the temporary table


def _temp_name() -> str:
    # One fixed name (temporary tables belong to the connection) keeps the compiled statements cached; a read
    # opened inside another's block gets a name of its own.
    depth = db.session.info.get(TEMP_NAME, 0)
    db.session.info[TEMP_NAME] = depth + 1
    return TEMP_NAME if depth == 0 else f"{TEMP_NAME}_{depth}"


class _CreateTempAs(Executable, ClauseElement):
    """``CREATE TEMPORARY TABLE name AS <select>`` (bound parameters processed as in any query)."""

    inherit_cache = True  # cached like any SELECT: the key is the table name and the query's structure
    _traverse_internals = [
        ("name", InternalTraversal.dp_string),
        ("query", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, name: str, query: Any) -> None:
        self.name = name
        self.query = query


@compiles(_CreateTempAs)
def _compile_create_temp_as(element: _CreateTempAs, compiler: Any, **kw: Any) -> str:
    return f"CREATE TEMPORARY TABLE {element.name} AS {compiler.process(element.query, **kw)}"
