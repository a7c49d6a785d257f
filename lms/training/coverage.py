"""Coverage (share of people compliant): GROUP BYs over the status rows of ``lms.training.reading.read``, plus
the figures other packages need (the culture evaluation): coverage share, on-time rate, hours per head, veto
lists. Each function takes ``source=``, a read a page opened once for all its figures; without it, it opens
its own."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, and_, bindparam, case, func, literal, or_, select, true, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.selectable import Join

from lms.core.db import db
from lms.ledger.models import TrainingRecord
from lms.org.models import Department, Enterprise, Person, PersonRole, Post, ResponsibilityRole
from lms.org.timezone import enterprise_today
from lms.training import cache, reading
from lms.training.marks import apply_pending, snapshots_available
from lms.training.models import (
    COMPLIANT,
    DUE_SOON,
    EXEMPT,
    EXPIRED,
    IN_GRACE,
    OVERDUE,
    CoverageSnapshot,
    Requirement,
)
from lms.training.reading import StatusRows
from lms.training.status import as_date, normalise

BY_CHOICES = ("department", "post", "role", "requirement")
LATE = (OVERDUE, EXPIRED)


# ---------------------------------------------------------------- filters over Person


def department_filter(department: Department) -> ColumnElement[bool]:
    """People in ``department`` or below it (a subquery, not a list of ids)."""
    subtree = select(Department.id).where(
        Department.enterprise_id == department.enterprise_id,
        or_(
            Department.id == department.id, Department.path.startswith(department.path + "/", autoescape=True)
        ),
    )
    return Person.department_id.in_(subtree)


def role_filter(role_id: int) -> ColumnElement[bool]:
    """People holding a responsibility role."""
    return Person.id.in_(select(PersonRole.person_id).where(PersonRole.role_id == role_id))


def post_filter(post_id: int) -> ColumnElement[bool]:
    """People on a post."""
    return Person.post_id == post_id


def combine(*filters: ColumnElement[bool] | None) -> ColumnElement[bool] | None:
    """AND the filters that are given."""
    given = [f for f in filters if f is not None]
    if not given:
        return None
    return and_(*given) if len(given) > 1 else given[0]


# ---------------------------------------------------------------- the status rows (lms.training.reading)


@contextlib.contextmanager
def _rows(
    enterprise_id: int,
    as_of: dt.date,
    person_filter: ColumnElement[bool] | None,
    source: Any,
    requirement_id: int | None = None,
) -> Iterator[tuple[Any, StatusRows]]:
    """The status rows to aggregate (only one requirement's when given) and the read they belong to: the
    ``source`` a page opened with ``reading.read`` (or a selectable of status rows), else a read of its own."""
    if source is not None:
        s = reading.wrap(source, enterprise_id, as_of, person_filter)
        yield s.of_requirement(requirement_id), s
        return
    with reading.read(
        enterprise_id, as_of, person_filter, requirement_ids=[requirement_id] if requirement_id else None
    ) as s:
        yield s.rows, s


def _whole_kept(read: StatusRows) -> int | None:
    """The enterprise of a read that is one enterprise's kept rows, whole (no person filter, nobody and no
    requirement singled out): the dashboard's usual read, whose statements are built once (``_built``)."""
    if read.kept and not read.narrowed and read.person_filter is None and len(read.enterprise_ids) == 1:
        return read.enterprise_ids[0]
    return None


@functools.cache
def _template() -> StatusRows:
    """A read of one enterprise's kept rows, whole, as ``reading.read`` yields it, with the enterprise as the
    required parameter ``enterprise_id``: the statements of ``_built`` are built over it."""
    e = bindparam("enterprise_id", type_=Integer, required=True)
    rows = reading.kept_rows([e]).subquery("status_rows")
    return StatusRows(rows, (e,), dt.date.min, None, kept=True)  # as_of: no statement over kept rows reads it


@functools.cache
def _built(build: Callable[..., Any], *shape: Any) -> Any:
    """``build(_template(), *shape)``, built once (a statement's cache key and construction cost ~1–2 ms each on
    a dashboard of a dozen statements)."""
    return build(_template(), *shape)


def _execute(build: Callable[..., Any], read: StatusRows, *shape: Any, **values: Any) -> Any:
    """Run the statement ``build(read, *shape)`` with ``values`` for its bound parameters: for a whole kept
    read, the one built once over ``_template`` with the read's enterprise; otherwise built now."""
    ent = _whole_kept(read)
    if ent is None:
        return db.session.execute(build(read, *shape), values)
    return db.session.execute(_built(build, *shape), {"enterprise_id": ent, **values})


# ---------------------------------------------------------------- per person and grouped


def _summary_cols(pp: Any) -> list[Any]:
    return [
        func.count().label("people"),
        func.sum(case((pp.c.n_ok == pp.c.n_req, 1), else_=0)).label("compliant"),
        func.sum(case((pp.c.n_late > 0, 1), else_=0)).label("late"),
        func.sum(case((pp.c.n_due_soon > 0, 1), else_=0)).label("due_soon"),
    ]


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    people = int(row.get("people") or 0)
    compliant = int(row.get("compliant") or 0)
    row.update(
        people=people,
        compliant=compliant,
        late=int(row.get("late") or 0),
        due_soon=int(row.get("due_soon") or 0),
        share=(compliant / people) if people else None,
    )
    return row


def totals(
    enterprise_id: int,
    as_of: dt.date,
    person_filter: ColumnElement[bool] | None = None,
    *,
    source: Any = None,
) -> dict[str, Any]:
    """People subject to something, how many are compliant with everything, late, due soon; and the share.

    When the read's figures by department and post are known (the dashboard asks them first), their sum: each
    person of the read is in exactly one (department, post) group (an inner join of the people to ``person``).
    """
    with _rows(enterprise_id, as_of, person_filter, source) as (_, read):
        groups = read.memo.get("by_department_post")
        if groups is not None:
            keys = ("people", "compliant", "late", "due_soon")
            return _finish({k: sum(int(g[k] or 0) for g in groups) for k in keys})
        row = _execute(_totals_statement, read).mappings().one()
    return _finish(dict(row))


def _totals_statement(read: StatusRows) -> Any:
    return select(*_summary_cols(read.people()))


def figures(
    enterprise_id: int,
    as_of: dt.date,
    person_filter: ColumnElement[bool] | None = None,
    *,
    source: Any = None,
) -> dict[str, Any]:
    """The headline figures of the dashboard and of the regulator (one function for both).

    People (each person once): ``people``, ``compliant``, ``late``, ``due_soon``, ``share``; requirements (one
    per person and requirement): ``requirements``, ``late_requirements``, ``due_soon_requirements``,
    ``in_grace_requirements``. The words are those of ``lms.training.glossary``.
    """
    with _rows(enterprise_id, as_of, person_filter, source) as (s, read):
        out = totals(enterprise_id, as_of, person_filter, source=read)
        groups = _by_requirement(s, read)
    # The person × requirement pairs, summed over the per-requirement groups (the same scan as the coverage by
    # requirement of the same read, made once).
    out.update(
        requirements=sum(g["people"] for g in groups),
        late_requirements=sum(g["late"] for g in groups),
        due_soon_requirements=sum(g["due_soon"] for g in groups),
        in_grace_requirements=sum(g["in_grace"] for g in groups),
    )
    return out


def _by_requirement(s: Any, read: StatusRows) -> list[dict[str, Any]]:
    """Per requirement of the rows ``s``: the pairs (``people``), compliant, late, due soon, exempt and in grace,
    with the requirement's id and name (``key``/``label``, None for a row whose requirement is gone), by name.

    One scan counting the rows per requirement and status (in the order of the kept rows' index), summed here
    over those few groups by the status words of ``lms.training.models``. Kept in the read's memo: the
    dashboard's figures and its coverage by requirement share it.
    """
    memo_key = ("by_requirement", s is read.rows)
    if memo_key in read.memo:
        return read.memo[memo_key]
    got = (
        _execute(_by_requirement_statement, read)
        if s is read.rows
        else db.session.execute(_by_requirement_statement(read, s))
    )
    groups: dict[Any, dict[str, Any]] = {}
    for r in got:
        g_row = groups.get(r.requirement_id)
        if g_row is None:
            g_row = groups[r.requirement_id] = {
                "key": r.key,
                "label": r.label,
                **dict.fromkeys(("people", "compliant", "late", "due_soon", "exempt", "in_grace"), 0),
            }
        n = int(r.n)
        g_row["people"] += n
        g_row["compliant"] += n if r.status in COMPLIANT else 0
        g_row["late"] += n if r.status in LATE else 0
        g_row["due_soon"] += n if r.status == DUE_SOON else 0
        g_row["exempt"] += n if r.status == EXEMPT else 0
        g_row["in_grace"] += n if r.status == IN_GRACE else 0
    out = [_finish(g_row) for g_row in groups.values()]
    if s is read.rows:
        read.memo[memo_key] = out
    return out


def _by_requirement_statement(read: StatusRows, s: Any = None) -> Any:
    """The rows (``s``, else the read's) counted per requirement and status, with the requirement's name."""
    s = read.rows if s is None else s
    g = (
        select(s.c.requirement_id, s.c.status, func.count().label("n"))
        .group_by(s.c.requirement_id, s.c.status)
        .subquery("by_req")
    )
    return (
        select(
            Requirement.id.label("key"),
            Requirement.name.label("label"),
            g.c.requirement_id,
            g.c.status,
            g.c.n,
        )
        .select_from(g)
        .outerjoin(Requirement, Requirement.id == g.c.requirement_id)
        .order_by(Requirement.name, g.c.requirement_id)
    )


def coverage(
    enterprise_id: int,
    by: str,
    as_of: dt.date,
    person_filter: ColumnElement[bool] | None = None,
    *,
    source: Any = None,
) -> list[dict[str, Any]]:
    """Coverage grouped ``by`` department, post, role (people) or requirement (person × requirement pairs)."""
    if by not in BY_CHOICES:
        raise ValueError(f"by must be one of {BY_CHOICES}")
    with _rows(enterprise_id, as_of, person_filter, source) as (s, read):
        if by == "requirement":
            keys = ("key", "label", "people", "compliant", "late", "due_soon", "exempt", "share")
            return [{k: g[k] for k in keys} for g in _by_requirement(s, read) if g["key"] is not None]
        if by in ("department", "post"):
            return _rolled_up(read, by)
        if read.kept and not read.narrowed:  # by role: a person with two roles counts in both
            return [_finish(dict(r)) for r in _execute(_by_role_kept, read).mappings()]
        pp = read.people()
        # Grouped by the role's id first, then the few groups joined to their role (not a role lookup per person).
        g = (
            select(PersonRole.role_id, *_summary_cols(pp))
            .select_from(pp)
            .join(PersonRole, PersonRole.person_id == pp.c.person_id)
            .group_by(PersonRole.role_id)
            .subquery("by_role")
        )
        q = (
            select(
                g.c.people,
                g.c.compliant,
                g.c.late,
                g.c.due_soon,
                ResponsibilityRole.id.label("key"),
                ResponsibilityRole.name.label("label"),
            )
            .select_from(g)
            .join(ResponsibilityRole, ResponsibilityRole.id == g.c.role_id)
            .order_by(ResponsibilityRole.sort_order)
        )
        return [_finish(dict(r)) for r in db.session.execute(q).mappings()]


def _by_role_kept(read: StatusRows) -> Any:
    """Coverage by role over kept per-person counts: the enterprise's roles, their holders (from the index
    ``ix_person_role_role_person`` alone), each holder's kept counts by primary key, grouped in role order (no
    sort of every holder). The joins are ``CROSS JOIN`` so that SQLite keeps this order; the rows are those of
    the plain join."""
    pp = read.people()
    return (
        select(*_summary_cols(pp))
        .add_columns(ResponsibilityRole.id.label("key"), ResponsibilityRole.name.label("label"))
        .select_from(_CrossJoin(_CrossJoin(ResponsibilityRole.__table__, PersonRole.__table__), pp))
        .where(
            ResponsibilityRole.enterprise_id.in_(read.enterprise_ids),
            PersonRole.role_id == ResponsibilityRole.id,
            pp.c.person_id == PersonRole.person_id,
        )
        .group_by(ResponsibilityRole.id, ResponsibilityRole.name, ResponsibilityRole.sort_order)
        .order_by(ResponsibilityRole.sort_order)
    )


def _by_department_and_post(read: StatusRows) -> list[dict[str, Any]]:
    """People's figures per (department, post) of the read, with each department's and post's rank in the order
    of its name (the database's order, NULL where the database puts it): one pass over the people for both
    groupings (kept in the read's memo)."""
    if "by_department_post" in read.memo:
        return read.memo["by_department_post"]
    out = [dict(r) for r in _execute(_by_department_and_post_statement, read).mappings()]
    read.memo["by_department_post"] = out
    return out


def _by_department_and_post_statement(read: StatusRows) -> Any:
    """``_by_department_and_post``'s statement. Over kept counts: the enterprise's people from the index
    ``ix_person_enterprise_department_post`` (already in group order, the person's row not read), each one's
    kept counts by primary key (``CROSS JOIN``: SQLite keeps that nesting); the people of the kept counts are
    the enterprise's own (``status_query`` reads only them), so the rows are those of the plain join."""
    if read.kept and not read.narrowed:
        p, ids = cache.PEOPLE, read.enterprise_ids
        g = (
            select(Person.department_id, Person.post_id, *_summary_cols(p))
            .select_from(_CrossJoin(Person.__table__, p))
            .where(
                Person.enterprise_id.in_(ids) if len(ids) > 1 else Person.enterprise_id == ids[0],
                p.c.person_id == Person.id,
                p.c.enterprise_id.in_(ids) if len(ids) > 1 else p.c.enterprise_id == ids[0],
            )
        )
        if read.person_filter is not None:
            g = g.where(read.person_filter)
    else:
        pp = read.people()
        g = (
            select(Person.department_id, Person.post_id, *_summary_cols(pp))
            .select_from(pp)
            .join(Person, Person.id == pp.c.person_id)
        )
    g = g.group_by(Person.department_id, Person.post_id).subquery("by_dept_post")
    return (
        select(
            g.c.people,
            g.c.compliant,
            g.c.late,
            g.c.due_soon,
            Department.id.label("department_key"),
            func.coalesce(Department.path, literal("—")).label("department_label"),
            func.dense_rank().over(order_by=Department.path).label("department_rank"),
            Post.id.label("post_key"),
            func.coalesce(Post.name, literal("—")).label("post_label"),
            func.dense_rank().over(order_by=Post.name).label("post_rank"),
        )
        .select_from(g)
        .outerjoin(Department, Department.id == g.c.department_id)
        .outerjoin(Post, Post.id == g.c.post_id)
    )


def _rolled_up(read: StatusRows, by: str) -> list[dict[str, Any]]:
    """Coverage by department or by post: the (department, post) groups summed per ``by`` (a few dozen rows)."""
    groups: dict[Any, dict[str, Any]] = {}
    for r in _by_department_and_post(read):
        g = groups.get(r[f"{by}_key"])
        if g is None:
            g = groups[r[f"{by}_key"]] = {
                "people": 0,
                "compliant": 0,
                "late": 0,
                "due_soon": 0,
                "key": r[f"{by}_key"],
                "label": r[f"{by}_label"],
                "rank": r[f"{by}_rank"],
            }
        for k in ("people", "compliant", "late", "due_soon"):
            g[k] += int(r[k] or 0)
    ordered = sorted(groups.values(), key=lambda g: g["rank"])
    return [_finish({k: v for k, v in g.items() if k != "rank"}) for g in ordered]


def named_list(
    enterprise_id: int,
    as_of: dt.date,
    person_filter: ColumnElement[bool] | None = None,
    *,
    requirement_id: int | None = None,
    statuses: tuple[str, ...] | None = None,
    expiring_within: int | None = None,
    limit: int | None = None,
    offset: int = 0,
    count: bool = False,
    source: Any = None,
) -> Any:
    """The named rows behind a figure: person, department, post, requirement, status and dates.

    ``expiring_within``: only complete rows whose validity ends within that many days after as_of.
    With ``count`` return the number of rows instead.
    """
    with _rows(enterprise_id, as_of, person_filter, source, requirement_id) as (s, read):
        shape = (bool(statuses), expiring_within is not None, count, limit is not None, db.is_sqlite)
        values: dict[str, Any] = {}
        if statuses:
            values["statuses"] = list(statuses)
        if expiring_within is not None:
            values.update(from_day=as_of, to_day=as_of + dt.timedelta(days=expiring_within))
        if not count:
            values["offset"] = offset
            if limit is not None:
                values.update(limit=limit, window=offset + limit)
        if s is read.rows:
            got = _execute(_named_list_statement, read, *shape, **values)
        else:
            got = db.session.execute(_named_list_statement(read, *shape, s=s), values)
        if count:
            return int(got.scalar() or 0)
        return [normalise(r) for r in got.mappings()]


def _named_list_statement(
    read: StatusRows,
    with_statuses: bool,
    expiring: bool,
    count: bool,
    limited: bool,
    sqlite: bool,
    arm: str = "",
    s: Any = None,
) -> Any:
    """``named_list``'s statement over the rows ``s`` (else the read's), its values bound by name: ``statuses``,
    ``from_day`` and ``to_day`` (the validity window), ``limit``, ``offset`` and ``window`` (their sum). ``arm``:
    only the rows of people in a department (``department``) or of people without one (``none``), in the list's
    order, the first ``window`` of them (``_first_kept_postgres``)."""
    s = read.rows if s is None else s
    day = s.c.valid_until.type

    def conditions(status: Any) -> list[Any]:
        where = []
        if with_statuses:
            where.append(status.in_(bindparam("statuses", expanding=True)))
        if expiring:
            where += [
                status == "complete",
                s.c.valid_until.isnot(None),
                s.c.valid_until >= bindparam("from_day", type_=day),
                s.c.valid_until <= bindparam("to_day", type_=day),
            ]
        return where

    if count:
        # Its conditions over the rows alone: every row names a person and a requirement that exist, and the
        # department and post are outer joins (the joins of the list add no row).
        return select(func.count()).select_from(s).where(*conditions(s.c.status))
    limit = bindparam("limit", type_=Integer) if limited else None
    offset = bindparam("offset", type_=Integer)
    if arm:  # one arm of _first_kept_postgres: its rows in the list's order, the first ``window`` of them
        q = select(*_list_columns(s))
        if arm == "none":
            q = (
                q.select_from(Person)
                .join(s, s.c.person_id == Person.id)
                .outerjoin(Department, Department.id == Person.department_id)
                .where(Person.department_id.is_(None))
            )
        else:
            q = (
                q.select_from(Department)
                .join(Person, Person.department_id == Department.id)
                .join(s, s.c.person_id == Person.id)
                .where(Department.enterprise_id == read.enterprise_ids[0])
            )
        q = (
            q.join(Requirement, Requirement.id == s.c.requirement_id)
            .outerjoin(Post, Post.id == Person.post_id)
            .where(*conditions(s.c.status))
        )
        order = (Person.employee_no, Requirement.name)
        q = q.order_by(*order) if arm == "none" else q.order_by(Department.path, *order)
        return q.limit(bindparam("window", type_=Integer))
    one_kept = read.kept and s is read.rows and len(read.enterprise_ids) == 1  # a page walks its departments
    if limited and not sqlite and one_kept and not expiring:
        # (Not the expiring list: PostgreSQL takes status and validity as independent and expects a tenth of the
        # rows of a month-end window (1,150 for 10,574 at L); the department walk then hashes and re-scans them,
        # 33 ms, where sorting them all takes 16.)
        return _first_kept_postgres(
            *(
                _named_list_statement(read, with_statuses, expiring, count, limited, sqlite, a, s)
                for a in ARMS
            ),
            limit,
            offset,
        )
    if limited and sqlite and one_kept:
        return _first_kept_sqlite(s, read.enterprise_ids[0], conditions(s.c.status + ""), limit, offset)
    q = (
        select(*_list_columns(s))
        .join(Person, Person.id == s.c.person_id)
        .join(Requirement, Requirement.id == s.c.requirement_id)
        .outerjoin(Department, Department.id == Person.department_id)
        .outerjoin(Post, Post.id == Person.post_id)
        .where(*conditions(s.c.status))
    )
    page = q.order_by(Department.path, Person.employee_no, Requirement.name).offset(offset)
    return page if limit is None else page.limit(limit)


def _list_columns(s: Any) -> list[Any]:
    return [
        s.c.person_id,
        Person.employee_no,
        Person.name,
        Department.path.label("department"),
        Post.name.label("post"),
        s.c.requirement_id,
        Requirement.name.label("requirement"),
        s.c.status,
        s.c.hours_done,
        s.c.hours_due,
        s.c.due_on,
        s.c.valid_until,
        s.c.completed_at,
    ]


class _CrossJoin(Join):
    """``left CROSS JOIN right``, its condition in the WHERE clause: SQLite keeps the left side the outer loop."""

    inherit_cache = True

    def __init__(self, left: Any, right: Any) -> None:
        super().__init__(left, right, true())


@compiles(_CrossJoin)
def _compile_cross_join(element: _CrossJoin, compiler: Any, **kw: Any) -> str:
    kw["asfrom"] = True
    return f"{compiler.process(element.left, **kw)} CROSS JOIN {compiler.process(element.right, **kw)}"


ARMS = ("department", "none")


def _first_kept_postgres(by_department: Any, no_department: Any, limit: Any, offset: Any) -> Any:
    """A page of a named list over kept rows on PostgreSQL, in the list's order, without sorting every matching
    row. The rows of people in a department (PostgreSQL walks the departments in path order and sorts only
    what the page needs, an incremental sort; through the outer join to the department it sorted all 21,922
    overdue rows of L: 37 ms) and those of people without one, each arm cut at the page's end (``window``:
    offset + limit) on its own (PostgreSQL plans a subquery with a LIMIT apart), then the two short lists
    merged in the list's order (NULL, no department, after every path, as PostgreSQL sorts it)."""
    both = union_all(*(select(*arm.subquery().c) for arm in (by_department, no_department)))
    c = both.selected_columns
    return both.order_by(c.department, c.employee_no, c.requirement).limit(limit).offset(offset)


def _first_kept_sqlite(s: Any, enterprise_id: Any, where: list[Any], limit: Any, offset: Any) -> Any:
    """A page of a named list over kept rows on SQLite, in the list's order (department path, employee number,
    requirement name), without sorting every matching row: the departments in path order, their people in
    employee-number order (index ``ix_person_department_employee_no``), each person's kept rows by primary key,
    so that SQLite stops after the first page. People without a department come first, as SQLite sorts NULL.
    ``where`` names the status as an expression (``status || ''``) so that SQLite reaches the rows by person,
    not through the enterprise's status index."""

    def arm(from_: Any, *conditions: Any, department_joined: bool = False) -> Any:
        q = (
            select(*_list_columns(s))
            .select_from(from_)
            .join(Requirement, Requirement.id == s.c.requirement_id)
        )
        if not department_joined:
            q = q.outerjoin(Department, Department.id == Person.department_id)
        return q.outerjoin(Post, Post.id == Person.post_id).where(*conditions, *where)

    no_department = arm(
        _CrossJoin(Person.__table__, s), Person.department_id.is_(None), s.c.person_id == Person.id
    )
    by_department = arm(
        _CrossJoin(_CrossJoin(Department.__table__, Person.__table__), s),
        Department.enterprise_id == enterprise_id,
        Person.department_id == Department.id,
        s.c.person_id == Person.id,
        department_joined=True,
    )
    both = union_all(no_department, by_department)
    c = both.selected_columns
    return both.order_by(c.department, c.employee_no, c.requirement).limit(limit).offset(offset)


def month_ends(as_of: dt.date, months: int = 12) -> list[dt.date]:
    """The last ``months`` month ends up to as_of (the current month counts at as_of)."""
    out = [as_of]
    first = as_of.replace(day=1)
    for _ in range(months - 1):
        first_prev = first - dt.timedelta(days=1)
        out.append(first_prev)
        first = first_prev.replace(day=1)
    return list(reversed(out))


def filter_key(person_filter: ColumnElement[bool] | None) -> str:
    """A stable key for a person filter (its SQL with the values written in), for the trend snapshots."""
    if person_filter is None:
        return ""
    sql = str(person_filter.compile(db.engine, compile_kwargs={"literal_binds": True}))
    return hashlib.sha1(sql.encode()).hexdigest()


def _closed(day: dt.date, today: dt.date) -> bool:
    """A month end that lies in a month already over: its figures are history and may be kept."""
    return day < today.replace(day=1) and (day + dt.timedelta(days=1)).day == 1


# Above this many person-months to evaluate, missing closed months of the trend are filled by a background job
# (the page shows them as pending) instead of within the request.
INLINE_PERSON_MONTHS = 10_000
SNAPSHOT_JOB = "coverage-snapshots"


def filter_from_args(enterprise_id: int, args: dict[str, Any] | None) -> ColumnElement[bool] | None:
    """The person filter of a page's ``department``/``role``/``post`` ids (as the views build it)."""
    args = args or {}
    parts = []
    if args.get("department"):
        dept = db.session.get(Department, int(args["department"]))
        if dept is None or dept.enterprise_id != enterprise_id:
            raise ValueError("department not in the enterprise")
        parts.append(department_filter(dept))
    if args.get("role"):
        parts.append(role_filter(int(args["role"])))
    if args.get("post"):
        parts.append(post_filter(int(args["post"])))
    return combine(*parts)


def trend(
    enterprise_id: int,
    as_of: dt.date,
    person_filter: ColumnElement[bool] | None = None,
    months: int = 12,
    *,
    latest: dict[str, Any] | None = None,
    filter_args: dict[str, Any] | None = None,
) -> list[tuple[str, float | None, bool]]:
    """(label, share compliant, pending) at each month end of the last ``months`` months.

    Closed months come from ``training_coverage_snapshot`` (filled on first use, emptied by the listeners
    when something they depend on changes); open ones are computed. ``latest``: the totals at ``as_of``
    when the caller already has them. With ``filter_args`` (the page's filter ids, which a job can rebuild the
    filter from), missing closed months of a large population are left ``pending`` and filled by a background
    job, so that a page never waits for a dozen status evaluations.
    """
    apply_pending(db.session())  # this transaction's own changes delete the snapshots they alter first
    days = month_ends(as_of, months)
    today = enterprise_today(enterprise_id)
    key = filter_key(person_filter)
    closed = [d for d in days if _closed(d, today)] if snapshots_available(db.session.connection()) else []
    kept: dict[dt.date, Any] = {}
    if closed:
        got = db.session.execute(
            _snapshots_statement(), {"enterprise_id": enterprise_id, "filter_key": key, "days": closed}
        )
        kept = {as_date(s.month_end): s for s in got}
    missing = [d for d in closed if d not in kept]
    deferred: set[dt.date] = set()
    if missing and filter_args is not None:
        people = (latest or {}).get("people")
        if people is None:
            q = select(func.count()).select_from(Person).where(Person.enterprise_id == enterprise_id)
            people = db.session.scalar(q if person_filter is None else q.where(person_filter)) or 0
        if people * len(missing) > INLINE_PERSON_MONTHS:
            deferred = set(missing)
            _fill_later(enterprise_id, filter_args, missing)
    out = []
    for day in days:
        snap = kept.get(day)
        if day in deferred:
            out.append((day.strftime("%y-%m"), None, True))
            continue
        if snap is not None:
            share = (snap.compliant / snap.people) if snap.people else None
        else:
            t = latest if (latest is not None and day == as_of) else totals(enterprise_id, day, person_filter)
            share = t["share"]
            if day in closed:
                _keep(enterprise_id, key, day, t)
        out.append((day.strftime("%y-%m"), share, False))
    # A month before anybody was subject has no coverage (not 0 %): the chart starts at the first month with data.
    while out and out[0][1] is None and not out[0][2]:
        out.pop(0)
    return out


@functools.cache
def _snapshots_statement() -> Any:
    """The kept month ends of a filter (``enterprise_id``, ``filter_key``, ``days`` bound), built once."""
    c = CoverageSnapshot.__table__.c
    return select(c.month_end, c.people, c.compliant).where(
        c.enterprise_id == bindparam("enterprise_id"),
        c.filter_key == bindparam("filter_key"),
        c.month_end.in_(bindparam("days", expanding=True)),
    )


def _fill_later(enterprise_id: int, filter_args: dict[str, Any], days: list[dt.date]) -> None:
    """Enqueue the job that stores the missing months (once: not while one is waiting or running)."""
    from lms.core.jobs import QUEUED, RUNNING, Job, enqueue

    waiting = db.session.scalar(
        select(func.count()).where(
            Job.kind == SNAPSHOT_JOB, Job.enterprise_id == enterprise_id, Job.status.in_((QUEUED, RUNNING))
        )
    )
    if waiting:
        return
    enqueue(
        fill_snapshots,
        enterprise_id,
        dict(filter_args),
        [d.isoformat() for d in days],
        kind=SNAPSHOT_JOB,
        enterprise_id=enterprise_id,
    )


def fill_snapshots(
    ctx: Any, enterprise_id: int, filter_args: dict[str, Any], days: list[str]
) -> dict[str, Any]:
    """Job: compute and store the coverage of closed months of the trend (one status evaluation each).

    Each month is evaluated in a read unit and stored in a short write unit of its own (``ctx.unit``), so that
    on SQLite the database is not locked for writers while the status is evaluated (in eager mode both run
    inside the caller's transaction).
    """
    from lms.core.db import READ, WRITE
    from lms.core.jobs import JobContext

    steps = ctx if ctx is not None else JobContext(0)
    pf = filter_from_args(enterprise_id, filter_args)
    key = filter_key(pf)
    for n, iso in enumerate(sorted(days), 1):
        day = dt.date.fromisoformat(iso)
        with steps.unit(READ):
            figures = totals(enterprise_id, day, pf)
        with steps.unit(WRITE):
            _keep(enterprise_id, key, day, figures)  # each month is kept as soon as it is known
        if ctx is not None:
            ctx.progress(100 * n / len(days), iso)
    return {"months": len(days)}


def _keep(enterprise_id: int, key: str, day: dt.date, t: dict[str, Any]) -> None:
    """Store the figures of a closed month (a concurrent request may have stored them first: fine)."""
    try:
        with db.session.begin_nested():
            db.session.add(
                CoverageSnapshot(
                    enterprise_id=enterprise_id,
                    filter_key=key,
                    month_end=day,
                    people=t["people"],
                    compliant=t["compliant"],
                    late=t["late"],
                    due_soon=t["due_soon"],
                )
            )
    except IntegrityError:
        pass


# ---------------------------------------------------------------- for other packages (culture)


def coverage_share(
    enterprise_id: int, as_of: dt.date, person_filter: ColumnElement[bool] | None = None
) -> float | None:
    """Share of the people (in the filter) compliant with every requirement that applies to them at as_of."""
    return totals(enterprise_id, as_of, person_filter)["share"]


def on_time_rate(
    enterprise_id: int, as_of: dt.date, person_filter: ColumnElement[bool] | None = None
) -> float | None:
    """Share of the obligations already due at ``as_of`` that are met (complete or exempt) rather than late.

    Obligations not yet due (not started, in progress, due soon) are left out of both sides.
    """
    with _rows(enterprise_id, as_of, person_filter, None) as (s, _read):
        ok, late = db.session.execute(
            select(
                func.sum(case((s.c.status.in_(COMPLIANT), 1), else_=0)),
                func.sum(case((s.c.status.in_(LATE), 1), else_=0)),
            )
        ).one()
    ok, late = int(ok or 0), int(late or 0)
    return ok / (ok + late) if ok + late else None


def hours_per_head(
    enterprise_id: int, start: dt.date, end: dt.date, person_filter: ColumnElement[bool] | None = None
) -> dict[str, Any]:
    """Live hours per active person in [start, end], against the hours the hours-requirements ask per head.

    Returns people, hours_total, hours_per_head, required_per_head (hours due over the hours requirements
    that apply at ``end``, per person subject to anything).
    """
    people_q = select(Person.id).where(
        Person.enterprise_id == enterprise_id, or_(Person.status == "active", Person.left_on > end)
    )
    if person_filter is not None:
        people_q = people_q.where(person_filter)
    ids = people_q.subquery()
    people = int(db.session.scalar(select(func.count()).select_from(ids)) or 0)
    hours = db.session.scalar(
        select(func.coalesce(func.sum(TrainingRecord.hours), 0)).where(
            TrainingRecord.person_id.in_(select(ids.c.id)),
            TrainingRecord.voided_at.is_(None),
            TrainingRecord.completed_at >= dt.datetime.combine(start, dt.time()),
            TrainingRecord.completed_at < dt.datetime.combine(end + dt.timedelta(days=1), dt.time()),
        )
    )
    with _rows(enterprise_id, end, person_filter, None) as (s, _read):
        required = db.session.scalar(select(func.coalesce(func.sum(s.c.hours_due), 0)))
    hours, required = Decimal(hours or 0), Decimal(required or 0)
    return {
        "people": people,
        "hours_total": hours,
        "hours_per_head": (hours / people).quantize(Decimal("0.01")) if people else None,
        "required_per_head": (required / people).quantize(Decimal("0.01")) if people else None,
    }


def veto_people(
    enterprise_id: int,
    as_of: dt.date,
    person_filter: ColumnElement[bool] | None = None,
    *,
    special_operations_only: bool = False,
) -> list[dict[str, Any]]:
    """People (in the filter, e.g. ``post_filter(post_id)``) with an overdue or expired required training or
    special-operations certificate at ``as_of`` — for veto items. One row per person and requirement."""
    rows = named_list(enterprise_id, as_of, person_filter, statuses=LATE)
    if special_operations_only:
        cert_ids = set(
            db.session.scalars(
                select(Requirement.id).where(
                    Requirement.enterprise_id == enterprise_id, Requirement.kind == "certificate"
                )
            )
        )
        rows = [r for r in rows if r["requirement_id"] in cert_ids]
    return rows


def by_enterprise(enterprise_ids: list[int], as_of: dt.date) -> list[dict[str, Any]]:
    """Totals per enterprise (one query each), for the regulator."""
    ents = {e.id: e for e in db.session.scalars(select(Enterprise).where(Enterprise.id.in_(enterprise_ids)))}
    out = []
    for ent_id in sorted(ents, key=lambda i: ents[i].code):
        with reading.read(ent_id, as_of) as s:
            row = figures(ent_id, as_of, source=s)
        row.update(key=ent_id, label=ents[ent_id].name, code=ents[ent_id].code, enterprise=ents[ent_id])
        out.append(row)
    return out


__all__ = [
    "BY_CHOICES",
    "as_date",
    "by_enterprise",
    "combine",
    "coverage",
    "coverage_share",
    "department_filter",
    "figures",
    "hours_per_head",
    "month_ends",
    "named_list",
    "on_time_rate",
    "post_filter",
    "role_filter",
    "totals",
    "trend",
    "veto_people",
]
