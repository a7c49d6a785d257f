"""Status of each person against each requirement, computed set-based from the ledger: the single source of truth.

``status_query`` builds one SELECT (SQLAlchemy Core) that joins who is subject to what (applicability, one
UNION ALL branch per requirement carrying that requirement's parameters as bound values) with the live ledger
aggregated per person and requirement. Every window bound that depends on the as-of date (calendar years,
rolling cut-offs, grace and reminder limits) is computed here in Python and passed as a parameter, so the SQL
is the same on SQLite and PostgreSQL; the only date arithmetic left in SQL is for display columns
(``due_on``, ``valid_until``), through two small dialect-aware constructs.

Who is subject, and since when, is derived at query time from the organisation (current post, department,
roles) and its history (PersonEvent dates, PersonRole.since, hire dates), so it can never be stale; the
``training_subjection`` table (services.refresh_subjections) only keeps the history for the record.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    Integer,
    Numeric,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.sql.functions import FunctionElement

from lms.core.db import db
from lms.ledger.models import KIND_CERTIFICATE, KIND_COURSE, KIND_EXAM, TrainingRecord
from lms.org.models import PERSON_ACTIVE, Department, Person, PersonEvent, PersonRole
from lms.org.timezone import enterprise_today
from lms.training.models import (
    APPLIES_DEPARTMENT,
    APPLIES_POST,
    APPLIES_ROLE,
    COMPLETE,
    DUE_SOON,
    EXEMPT,
    EXPIRED,
    IN_GRACE,
    IN_PROGRESS,
    KIND_HOURS,
    KIND_THREE_LEVEL,
    NOT_STARTED,
    OVERDUE,
    RECUR_CALENDAR_YEAR,
    RECUR_ROLLING,
    Exemption,
    Requirement,
)
from lms.training.models import (
    KIND_CERTIFICATE as REQ_CERTIFICATE,
)
from lms.training.models import (
    KIND_COURSE as REQ_COURSE,
)

EPOCH = dt.date(1970, 1, 1)
FAR = dt.datetime(9999, 12, 31)
LONG_ABSENCE_DAYS = 365  # 离岗一年以上: a return after more than a year repeats workshop and team education
# 岗前: the pre-job training of a start is the training of the year before it (an earlier start's is its own).
PRE_JOB_LOOKBACK_DAYS = 365
THREE_LEVEL_MOVE_LOOKBACK_DAYS = 30
# 特种作业操作证 (ledger records of this category): valid 6 years, reviewed every 3 years; a missed review
# makes it lapse. A review is entered as a record of the same category dated the day of the review.
SPECIAL_OPERATIONS_CATEGORY = "特种作业操作证"
SPECIAL_OPERATIONS_REVIEW_MONTHS = 36


# ---------------------------------------------------------------- dialect-aware date helpers (display only)


class add_days(FunctionElement):  # noqa: N801 - reads as SQL
    """``date + n days`` as a DATE."""

    type = Date()
    inherit_cache = True
    name = "add_days"


class add_months(FunctionElement):  # noqa: N801
    """``date + n months`` as a DATE."""

    type = Date()
    inherit_cache = True
    name = "add_months"


class greatest2(FunctionElement):  # noqa: N801
    """The later of two non-null dates."""

    type = Date()
    inherit_cache = True
    name = "greatest2"


class least2(FunctionElement):  # noqa: N801
    """The earlier of two dates (NULL when either is NULL)."""

    type = Date()
    inherit_cache = True
    name = "least2"


def _args(element: Any, compiler: Any, **kw: Any) -> list[str]:
    return [compiler.process(c, **kw) for c in element.clauses]


@compiles(add_days)
def _add_days_pg(element: Any, compiler: Any, **kw: Any) -> str:
    d, n = _args(element, compiler, **kw)
    return f"(CAST({d} AS DATE) + CAST({n} AS INTEGER))"


@compiles(add_days, "sqlite")
def _add_days_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    d, n = _args(element, compiler, **kw)
    return f"date({d}, ({n}) || ' days')"  # "-365 days" and "5 days" both parse


@compiles(add_months)
def _add_months_pg(element: Any, compiler: Any, **kw: Any) -> str:
    d, n = _args(element, compiler, **kw)
    return f"CAST(CAST({d} AS DATE) + make_interval(months => CAST({n} AS INTEGER)) AS DATE)"


@compiles(add_months, "sqlite")
def _add_months_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    d, n = _args(element, compiler, **kw)
    return f"date({d}, '+' || ({n}) || ' months')"


@compiles(greatest2)
def _greatest_pg(element: Any, compiler: Any, **kw: Any) -> str:
    a, b = _args(element, compiler, **kw)
    return f"GREATEST({a}, {b})"


@compiles(greatest2, "sqlite")
def _greatest_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    a, b = _args(element, compiler, **kw)
    return f"max({a}, {b})"


@compiles(least2)
def _least_pg(element: Any, compiler: Any, **kw: Any) -> str:
    a, b = _args(element, compiler, **kw)
    return (
        f"CASE WHEN {a} IS NULL OR {b} IS NULL THEN NULL ELSE LEAST(CAST({a} AS DATE), CAST({b} AS DATE)) END"
    )


@compiles(least2, "sqlite")
def _least_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    a, b = _args(element, compiler, **kw)
    return f"min(date({a}), date({b}))"


def months_before(day: dt.date, months: int) -> dt.date:
    """Return ``day`` moved back by ``months`` (clamped to the month's last day)."""
    return months_after(day, -months)


def months_after(day: dt.date, months: int) -> dt.date:
    """Return ``day`` moved forward by ``months`` (clamped to the month's last day)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day)


def _lit(value: Any, type_: Any) -> ColumnElement[Any]:
    """A bound value with a type PostgreSQL can see (a CAST) and SQLite keeps as is (CAST would mangle dates)."""
    bound = literal(value, type_)
    return bound if db.is_sqlite else cast(bound, type_)


# ---------------------------------------------------------------- parameters per requirement


def requirement_params(req: Requirement, as_of: dt.date) -> dict[str, Any]:
    """Return the bounds of ``req`` at ``as_of``, computed in Python (same SQL on every dialect)."""
    months = req.recurrence_months or 12
    initial, grace, reminder = req.initial_days or 0, req.grace_days or 0, req.reminder_days or 0
    pre_job = bool(req.pre_job) and req.kind == KIND_HOURS
    if pre_job:
        initial = 0  # due the day the person starts: no allowance after it
    p: dict[str, Any] = {
        "win_mode": "all"
        if req.kind in (REQ_COURSE, REQ_CERTIFICATE)
        else ("pre_job" if pre_job else "since"),
        "pre_job": int(pre_job),
        "initial_days": initial,
        "pre_job_until_days": grace + 1,  # records up to the end of the last day of grace count
        "review_months": SPECIAL_OPERATIONS_REVIEW_MONTHS
        if req.kind == REQ_CERTIFICATE and req.certificate_category == SPECIAL_OPERATIONS_CATEGORY
        else None,
        "win_start": None,
        "prev_start": None,
        "prev_end": None,
        "grace_start": None,
        "year_end": None,
        "prev_since_limit": None,
        "prev_year_end": None,
        "in_reminder": 0,
        "in_new_year_grace": 0,
        "overdue_before": as_of - dt.timedelta(days=initial + grace),
        "due_before": as_of - dt.timedelta(days=initial),  # since before this: the due date has passed
        "due_soon_before": as_of - dt.timedelta(days=initial) + dt.timedelta(days=reminder),
        "cert_grace": as_of - dt.timedelta(days=grace),
    }
    if req.kind in (REQ_COURSE, KIND_HOURS) and req.recurrence == RECUR_ROLLING:
        cutoff = months_before(as_of, months)
        p.update(
            win_mode="fixed",
            win_start=_midnight(cutoff),
            prev_start=_midnight(months_before(cutoff, months)),
            prev_end=_midnight(cutoff),
            grace_start=_midnight(cutoff - dt.timedelta(days=grace)),
        )
    elif req.kind in (REQ_COURSE, KIND_HOURS) and req.recurrence == RECUR_CALENDAR_YEAR:
        year_start = dt.date(as_of.year, 1, 1)
        p.update(
            win_mode="fixed",
            win_start=_midnight(year_start),
            prev_start=_midnight(dt.date(as_of.year - 1, 1, 1)),
            prev_end=_midnight(year_start),
            year_end=dt.date(as_of.year, 12, 31),
            prev_since_limit=dt.date(as_of.year - 1, 1, 1),
            prev_year_end=dt.date(as_of.year - 1, 12, 31),
            in_reminder=int(as_of >= dt.date(as_of.year, 12, 31) - dt.timedelta(days=reminder)),
            in_new_year_grace=int((as_of - year_start).days <= grace),
        )
    return p


# ---------------------------------------------------------------- applicability


def _events(enterprise_id: int, as_of: dt.date, person_filter: ColumnElement[bool] | None = None) -> Any:
    """Per person: the latest post change, department change and return after a long absence up to as_of."""
    left = PersonEvent.__table__.alias("left_ev")
    ret = PersonEvent.__table__.alias("ret_ev")
    prev_left = (
        select(func.max(left.c.on))
        .where(left.c.person_id == ret.c.person_id, left.c.kind == "left", left.c.on <= ret.c.on)
        .scalar_subquery()
    )
    returns = select(
        ret.c.person_id.label("person_id"), ret.c.on.label("on"), prev_left.label("left_on")
    ).where(ret.c.kind == "returned", ret.c.on <= as_of)
    if person_filter is not None:  # only the people asked for (their rows are recomputed)
        returns = returns.where(ret.c.person_id.in_(select(Person.id).where(person_filter)))
    returns = returns.subquery("returns")
    long_returns = (
        select(returns.c.person_id, func.max(returns.c.on).label("on"))
        .where(
            or_(returns.c.left_on.is_(None), add_days(returns.c.left_on, LONG_ABSENCE_DAYS) < returns.c.on)
        )
        .group_by(returns.c.person_id)
        .subquery("long_returns")
    )
    ev = PersonEvent
    moves = (
        select(
            ev.person_id.label("person_id"),
            func.max(case((ev.kind == "post", ev.on))).label("last_post"),
            func.max(case((ev.kind == "department", ev.on))).label("last_dept"),
        )
        .join(Person, Person.id == ev.person_id)
        .where(Person.enterprise_id == enterprise_id, ev.on <= as_of, ev.kind.in_(("post", "department")))
        .group_by(ev.person_id)
    )
    if person_filter is not None:
        moves = moves.where(
            person_filter
        )  # only the people asked for (a few, when their rows are recomputed)
    moves = moves.subquery("moves")
    return moves, long_returns


def historical(as_of: dt.date, enterprise_id: int) -> bool:
    """Whether ``as_of`` lies in the enterprise's past: places and roles are then read from the history."""
    return as_of < enterprise_today(enterprise_id)


def _placed_then(kind: str, as_of: dt.date) -> Any:
    """Per person whose post or department (``kind``) changed after ``as_of``: what it was on that day, the
    ``from`` of their first change after it (``PersonEvent.detail``, written by every move). Set-based (one
    ranked pass over the later events), so the plan does not depend on per-person lookups."""
    ev = PersonEvent.__table__.alias(f"{kind}_later")
    ranked = (
        select(
            ev.c.person_id.label("person_id"),
            ev.c.detail["from"].as_integer().label("was"),
            func.row_number().over(partition_by=ev.c.person_id, order_by=(ev.c.on, ev.c.id)).label("rn"),
        )
        .where(ev.c.kind == kind, ev.c.on > as_of, ev.c.detail.is_not(None))
        .subquery(f"{kind}_ranked")
    )
    return select(ranked.c.person_id, ranked.c.was).where(ranked.c.rn == 1).subquery(f"{kind}_then")


def _roles_then(as_of: dt.date) -> Any:
    """(person_id, role_id, since) of the roles held at ``as_of`` in the past: roles held now since before it,
    and roles removed after it (held since their last ``role_added`` before the removal, else the hire date)."""
    held_now = select(
        PersonRole.person_id.label("person_id"),
        PersonRole.role_id.label("role_id"),
        PersonRole.since.label("since"),
    ).where(PersonRole.since <= as_of)
    rem = PersonEvent.__table__.alias("role_rem")
    add = PersonEvent.__table__.alias("role_add")
    role_id = rem.c.detail["role_id"].as_integer()
    added_on = (
        select(func.max(add.c.on))
        .where(
            add.c.person_id == rem.c.person_id,
            add.c.kind == "role_added",
            add.c.detail["role_id"].as_integer() == role_id,
            add.c.on <= rem.c.on,
        )
        .scalar_subquery()
    )
    since = func.coalesce(added_on, Person.hire_date, _lit(EPOCH, Date()))
    removed_later = (
        select(rem.c.person_id.label("person_id"), role_id.label("role_id"), since.label("since"))
        .join(Person, Person.id == rem.c.person_id)
        .where(rem.c.kind == "role_removed", rem.c.on > as_of, since <= as_of)
    )
    both = union_all(held_now, removed_later).subquery("roles_both")
    return (
        select(both.c.person_id, both.c.role_id, func.min(both.c.since).label("since"))
        .group_by(both.c.person_id, both.c.role_id)
        .cte("roles_then")
    )


def _people_cte(enterprise_id: int, as_of: dt.date, person_filter: ColumnElement[bool] | None) -> Any:
    """People of the enterprise present at ``as_of`` with the dates their subjection starts from (computed once).

    For a day in the past, the post and department are the ones held on that day (from the people's history).
    """
    moves, long_returns = _events(enterprise_id, as_of, person_filter)
    # Without a hire date on file, the day the person was entered (their "hired" event) starts the clock:
    # someone added today must not be overdue on everything since 1970.
    hired = (
        select(PersonEvent.person_id.label("person_id"), func.min(PersonEvent.on).label("on"))
        .join(Person, Person.id == PersonEvent.person_id)
        .where(Person.enterprise_id == enterprise_id, PersonEvent.kind == "hired")
        .group_by(PersonEvent.person_id)
    )
    if person_filter is not None:
        hired = hired.where(person_filter)
    hired = hired.subquery("hired")
    hire = func.coalesce(Person.hire_date, hired.c.on, _lit(EPOCH, Date()))
    # Back on the post after more than a year away (the person's leave dates): workshop and team again.
    long_leave = case(
        (
            and_(
                Person.returned_on.is_not(None),
                Person.away_from.is_not(None),
                Person.returned_on <= as_of,
                add_days(Person.away_from, LONG_ABSENCE_DAYS) < Person.returned_on,
            ),
            Person.returned_on,
        ),
        else_=hire,
    )
    post_col: Any = Person.post_id
    dept_col: Any = Person.department_id
    post_then = dept_then = None
    if historical(as_of, enterprise_id):
        post_then, dept_then = _placed_then("post", as_of), _placed_then("department", as_of)
        post_col = case((post_then.c.person_id.is_not(None), post_then.c.was), else_=Person.post_id)
        dept_col = case((dept_then.c.person_id.is_not(None), dept_then.c.was), else_=Person.department_id)
    q = (
        select(
            Person.id.label("person_id"),
            post_col.label("post_id"),
            dept_col.label("department_id"),
            hire.label("hire"),
            greatest2(hire, func.coalesce(moves.c.last_post, hire)).label("post_since"),
            greatest2(hire, func.coalesce(moves.c.last_dept, hire)).label("dept_since"),
            greatest2(
                greatest2(
                    greatest2(hire, func.coalesce(moves.c.last_post, hire)),
                    func.coalesce(long_returns.c.on, hire),
                ),
                long_leave,
            ).label("three_since"),
        )
        .select_from(Person)
        .outerjoin(hired, hired.c.person_id == Person.id)
        .outerjoin(moves, moves.c.person_id == Person.id)
        .outerjoin(long_returns, long_returns.c.person_id == Person.id)
    )
    if post_then is not None and dept_then is not None:
        q = q.outerjoin(post_then, post_then.c.person_id == Person.id).outerjoin(
            dept_then, dept_then.c.person_id == Person.id
        )
    q = q.where(
        Person.enterprise_id == enterprise_id,
        or_(Person.status == PERSON_ACTIVE, Person.left_on > as_of),
        hire <= as_of,
        # Away from the post (离岗) on that day: not subject until the return.
        ~and_(
            Person.away_from.is_not(None),
            Person.away_from <= as_of,
            or_(Person.returned_on.is_(None), Person.returned_on > as_of),
        ),
    )
    if person_filter is not None:
        q = q.where(person_filter)
    return q.cte("people_at")


def _branch(req: Requirement, as_of: dt.date, ppl: Any, roles_then: Any = None) -> Select[Any]:
    """Who is subject to ``req`` at ``as_of`` and since when, with ``req``'s parameters as columns.

    ``roles_then``: the roles held at a past ``as_of`` (``_roles_then``); None: the roles held now.
    """
    p = requirement_params(req, as_of)
    full_levels: Any = _lit(1, Integer())
    q = select(ppl.c.person_id.label("person_id")).select_from(ppl)
    if req.applies_to == APPLIES_ROLE and roles_then is not None:
        q = q.join(
            roles_then, and_(roles_then.c.person_id == ppl.c.person_id, roles_then.c.role_id == req.role_id)
        )
        since: Any = roles_then.c.since
    elif req.applies_to == APPLIES_ROLE:
        q = q.join(
            PersonRole, and_(PersonRole.person_id == ppl.c.person_id, PersonRole.role_id == req.role_id)
        )
        since = PersonRole.since
    elif req.applies_to == APPLIES_POST:
        q = q.where(ppl.c.post_id == req.post_id)
        since = ppl.c.post_since
    elif req.applies_to == APPLIES_DEPARTMENT:
        root = db.session.get(Department, req.department_id) if req.department_id else None
        if root is None:
            q = q.where(literal(False))
        else:
            subtree = select(Department.id).where(
                Department.enterprise_id == root.enterprise_id,
                or_(Department.id == root.id, Department.path.startswith(root.path + "/", autoescape=True)),
            )
            q = q.where(ppl.c.department_id.in_(subtree))
        since = ppl.c.dept_since
    else:
        since = ppl.c.hire
    if req.kind == KIND_THREE_LEVEL:
        # New hires need all three levels; after a change of post or a long absence, workshop and team again.
        since = greatest2(since, ppl.c.three_since)
        full_levels = case((since == ppl.c.hire, 1), else_=0)
    q = q.where(since <= as_of)
    if req.tracked_from is not None:
        q = q.where(since >= req.tracked_from)
    # The earliest completion an hours requirement can count (window, previous window or grace): only the
    # records from there on are joined (an index range on (person_id, completed_at)).
    since_ts = since if db.is_sqlite else cast(since, DateTime())
    starts = [p[k] for k in ("win_start", "prev_start", "grace_start") if p[k] is not None]
    if p["win_mode"] == "fixed" and starts:
        low: Any = _lit(min(starts), DateTime())
    else:
        low = since_ts
    # The start of the current window as one column, so that "in window" is one comparison per record.
    win_hi: Any = _lit(FAR, DateTime())
    if p["win_mode"] == "fixed":
        win_lo: Any = _lit(p["win_start"], DateTime())
    elif req.kind == KIND_THREE_LEVEL:
        # 三级安全教育 is pre-job training (第十二条): the levels taken in the year before a hire count, and
        # those taken in the month before a change of post or a return (not the old post's).
        win_lo = case(
            (full_levels == 1, add_days(since, -PRE_JOB_LOOKBACK_DAYS)),
            else_=add_days(since, -THREE_LEVEL_MOVE_LOOKBACK_DAYS),
        )
        if not db.is_sqlite:
            win_lo = cast(win_lo, DateTime())
        low = win_lo
    elif p["win_mode"] == "since":
        win_lo = since_ts
    elif p["win_mode"] == "pre_job":
        # Only training before the start (and within the grace days, if any) counts as pre-job training.
        win_lo = add_days(since, -PRE_JOB_LOOKBACK_DAYS)
        win_hi = add_days(since, p["pre_job_until_days"])
        if not db.is_sqlite:
            win_lo, win_hi = cast(win_lo, DateTime()), cast(win_hi, DateTime())
        low = win_lo
    else:
        win_lo = _lit(_midnight(EPOCH), DateTime())
    return q.add_columns(
        _lit(req.id, Integer()).label("requirement_id"),
        since.label("since"),
        low.label("low"),
        win_lo.label("win_lo"),
        win_hi.label("win_hi"),
        _lit(req.kind, String()).label("kind"),
        _lit(req.recurrence, String()).label("recurrence"),
        _lit(req.recurrence_months or 12, Integer()).label("months"),
        _lit(p["initial_days"], Integer()).label("initial_days"),
        _lit(req.hours_required or 0, Numeric(7, 2)).label("hours_required"),
        _lit(req.course_id, Integer()).label("course_id"),
        _lit("|" + req.categories.strip("|") + "|" if req.category_list else None, String()).label("cats"),
        _lit(req.certificate_category or None, String()).label("cert_category"),
        _lit(req.certificate_topic or None, String()).label("cert_topic"),
        full_levels.label("full_levels"),
        _lit(p["win_mode"], String()).label("win_mode"),
        _lit(p["win_start"], DateTime()).label("win_start"),
        _lit(p["prev_start"], DateTime()).label("prev_start"),
        _lit(p["prev_end"], DateTime()).label("prev_end"),
        _lit(p["grace_start"], DateTime()).label("grace_start"),
        _lit(p["year_end"], Date()).label("year_end"),
        _lit(p["prev_since_limit"], Date()).label("prev_since_limit"),
        _lit(p["prev_year_end"], Date()).label("prev_year_end"),
        _lit(p["pre_job"], Integer()).label("pre_job"),
        _lit(p["review_months"], Integer()).label("review_months"),
        _lit(p["due_before"], Date()).label("due_before"),
        _lit(p["in_reminder"], Integer()).label("in_reminder"),
        _lit(p["in_new_year_grace"], Integer()).label("in_new_year_grace"),
        _lit(p["overdue_before"], Date()).label("overdue_before"),
        _lit(p["due_soon_before"], Date()).label("due_soon_before"),
        _lit(p["cert_grace"], Date()).label("cert_grace"),
    )


def active_requirements(
    enterprise_id: int, requirement_ids: Iterable[int] | None = None
) -> list[Requirement]:
    """Return the enterprise's active requirements (optionally only some), in a stable order."""
    q = select(Requirement).where(Requirement.enterprise_id == enterprise_id, Requirement.active.is_(True))
    if requirement_ids is not None:
        q = q.where(Requirement.id.in_(list(requirement_ids)))
    return list(db.session.scalars(q.order_by(Requirement.id)))


def applicability_query(
    enterprise_id: int,
    as_of: dt.date,
    requirement_ids: Iterable[int] | None = None,
    person_filter: ColumnElement[bool] | None = None,
    requirements: list[Requirement] | None = None,
) -> Select[Any] | None:
    """Return (person_id, requirement_id, since, parameters…) for everyone subject at ``as_of``; None if none."""
    reqs = requirements if requirements is not None else active_requirements(enterprise_id, requirement_ids)
    if not reqs:
        return None
    ppl = _people_cte(enterprise_id, as_of, person_filter)
    roles_then = (
        _roles_then(as_of)
        if historical(as_of, enterprise_id) and any(r.applies_to == APPLIES_ROLE for r in reqs)
        else None
    )
    branches = [_branch(r, as_of, ppl, roles_then) for r in reqs]
    if len(branches) == 1:
        return branches[0]
    return union_all(*branches)  # type: ignore[return-value]


# ---------------------------------------------------------------- status


STATUS_COLUMNS = (
    "person_id",
    "requirement_id",
    "status",
    "hours_done",
    "hours_due",
    "due_on",
    "valid_until",
    "completed_at",
    "since",
)


def _empty() -> Select[Any]:
    return select(
        _lit(0, Integer()).label("person_id"),
        _lit(0, Integer()).label("requirement_id"),
        _lit("", String()).label("status"),
        _lit(None, Numeric(7, 2)).label("hours_done"),
        _lit(None, Numeric(7, 2)).label("hours_due"),
        _lit(None, Date()).label("due_on"),
        _lit(None, Date()).label("valid_until"),
        _lit(None, DateTime()).label("completed_at"),
        _lit(None, Date()).label("since"),
    ).where(literal(False))


def status_query(
    enterprise_id: int,
    as_of: dt.date,
    requirement_ids: Iterable[int] | None = None,
    person_filter: ColumnElement[bool] | None = None,
    requirements: list[Requirement] | None = None,
) -> Select[Any]:
    """Return a SELECT of (person_id, requirement_id, status, hours_done, hours_due, due_on, valid_until,
    completed_at, since) for every person subject to an active requirement at ``as_of``.

    ``person_filter`` is a boolean expression over ``Person`` columns (department subtree, role, ids…).
    Statuses: not_started, in_progress, complete, due_soon, overdue, expired, exempt.
    """
    reqs = requirements if requirements is not None else active_requirements(enterprise_id, requirement_ids)
    app_q = applicability_query(enterprise_id, as_of, requirement_ids, person_filter, reqs)
    if app_q is None:
        return _empty()
    a = app_q.cte("applicable")
    r = TrainingRecord.__table__.alias("rec")
    as_of_end = _midnight(as_of + dt.timedelta(days=1))
    # win_mode all: the epoch; since: since; fixed: win_start; pre_job: the year before the start, until the
    # start (and its grace days)
    in_window = and_(r.c.completed_at >= a.c.win_lo, r.c.completed_at < a.c.win_hi)
    in_prev = and_(r.c.completed_at >= a.c.prev_start, r.c.completed_at < a.c.prev_end)
    after_since = r.c.completed_at >= a.c.win_lo  # three-level: the lookback before the start (_branch)
    zero = literal(0, Numeric(7, 2))
    lv3 = func.count(
        func.distinct(case((and_(after_since, r.c.level.in_(("company", "workshop", "team"))), r.c.level)))
    )
    lv2 = func.count(func.distinct(case((and_(after_since, r.c.level.in_(("workshop", "team"))), r.c.level))))
    aggregates = {
        "hours_win": func.sum(case((in_window, r.c.hours), else_=zero)),
        "hours_prev": func.sum(case((in_prev, r.c.hours), else_=zero)),
        "hours_grace": func.sum(case((r.c.completed_at >= a.c.grace_start, r.c.hours), else_=zero)),
        "last_win": func.max(case((in_window, r.c.completed_at))),
        "first_win": func.min(case((in_window, r.c.completed_at))),
        "last_prev": func.max(case((in_prev, r.c.completed_at))),
        "last_any": func.max(r.c.completed_at),
        "cert_until": func.max(r.c.valid_until),
        "lv3": lv3,
        "lv2": lv2,
    }
    live = and_(r.c.person_id == a.c.person_id, r.c.voided_at.is_(None), r.c.completed_at < as_of_end)
    # Hours tied to a certificate category (特种作业 review training): only training whose category is named in
    # the title of one of the person's live certificates of that category (e.g. 低压电工作业) counts.
    held = TrainingRecord.__table__.alias("held")
    own_category = or_(
        a.c.cert_category.is_(None),
        and_(
            r.c.category.is_not(None),
            r.c.category != "",
            select(held.c.id)
            .where(
                held.c.person_id == r.c.person_id,
                held.c.kind == KIND_CERTIFICATE,
                held.c.category == a.c.cert_category,
                held.c.voided_at.is_(None),
                held.c.topic.like(literal("%") + r.c.category + literal("%")),
            )
            .exists(),
        ),
    )
    # One aggregate per kind of requirement, each joining only the records that kind can match and computing
    # only the figures that kind reads (the others are NULL): the same rows as one join over ``matches``,
    # without evaluating every kind's predicates and COUNT(DISTINCT) on every (record, requirement) pair.
    per_kind = {
        KIND_HOURS: (
            and_(
                r.c.completed_at >= a.c.low,
                or_(a.c.cats.is_(None), a.c.cats.like(literal("%|") + r.c.category + literal("|%"))),
                own_category,
            ),
            ("hours_win", "hours_prev", "hours_grace", "last_win", "first_win", "last_prev"),
        ),
        REQ_COURSE: (
            and_(
                r.c.course_id == a.c.course_id,
                or_(r.c.kind == KIND_COURSE, and_(r.c.kind == KIND_EXAM, r.c.passed.is_(True))),
            ),
            ("last_win", "last_prev", "last_any"),
        ),
        REQ_CERTIFICATE: (
            and_(
                r.c.kind == KIND_CERTIFICATE,
                or_(a.c.cert_category.is_(None), r.c.category == a.c.cert_category),
                or_(a.c.cert_topic.is_(None), r.c.topic.like(literal("%") + a.c.cert_topic + literal("%"))),
            ),
            ("last_win", "cert_until"),
        ),
        KIND_THREE_LEVEL: (r.c.level.isnot(None), ("last_win", "lv3", "lv2")),
    }
    kinds_present = {req.kind for req in reqs}
    types = {
        "hours_win": Numeric(7, 2),
        "hours_prev": Numeric(7, 2),
        "hours_grace": Numeric(7, 2),
        "cert_until": Date(),
        "lv3": Integer(),
        "lv2": Integer(),
    }
    parts = []
    for kind, (cond, wanted) in per_kind.items():
        if kind not in kinds_present:
            continue
        cols = [
            (aggregates[name] if name in wanted else cast(null(), types.get(name, DateTime()))).label(name)
            for name in aggregates
        ]
        parts.append(
            select(a.c.person_id, a.c.requirement_id, *cols)
            .select_from(a.join(r, and_(live, cond)))
            .where(a.c.kind == kind)
            .group_by(a.c.person_id, a.c.requirement_id)
        )
    g = (parts[0] if len(parts) == 1 else union_all(*parts)).cte("ledger_agg")
    ex = (
        select(Exemption.person_id, Exemption.requirement_id)
        .where(
            Exemption.enterprise_id == enterprise_id,
            Exemption.revoked_at.is_(None),
            Exemption.valid_from <= as_of,
            or_(Exemption.valid_until.is_(None), Exemption.valid_until >= as_of),
        )
        .distinct()
        .cte("exempt")
    )
    hours_win = func.coalesce(g.c.hours_win, zero)
    # A special-operations certificate lapses 3 years after its issue or last review (capped by its end).
    cert_until = case(
        (a.c.review_months.is_(None), g.c.cert_until),
        else_=least2(g.c.cert_until, add_months(g.c.last_win, a.c.review_months)),
    )
    is_hours, is_course = a.c.kind == KIND_HOURS, a.c.kind == REQ_COURSE
    is_cert, is_three = a.c.kind == REQ_CERTIFICATE, a.c.kind == KIND_THREE_LEVEL
    rolling, yearly = a.c.recurrence == RECUR_ROLLING, a.c.recurrence == RECUR_CALENDAR_YEAR
    met = or_(
        and_(is_course, g.c.last_win.isnot(None)),
        and_(is_hours, hours_win >= a.c.hours_required),
        and_(is_cert, cert_until >= as_of),
        and_(
            is_three, or_(and_(a.c.full_levels == 1, g.c.lv3 >= 3), and_(a.c.full_levels == 0, g.c.lv2 >= 2))
        ),
    )
    met_prev = or_(
        and_(is_course, g.c.last_prev.isnot(None)),
        and_(is_hours, func.coalesce(g.c.hours_prev, zero) >= a.c.hours_required),
    )
    lapsed_course = and_(is_course, rolling, g.c.last_any.isnot(None))
    lapsed_hours = and_(is_hours, rolling, met_prev)
    lapsed_cert = and_(is_cert, cert_until.isnot(None))
    recent = or_(
        and_(is_course, g.c.last_any >= a.c.grace_start),
        and_(is_hours, func.coalesce(g.c.hours_grace, zero) >= a.c.hours_required),
        and_(is_cert, cert_until >= a.c.cert_grace),
    )
    prev_missed = and_(yearly, a.c.since <= a.c.prev_since_limit, ~met_prev)
    progress = or_(and_(is_hours, hours_win > 0), and_(is_three, func.coalesce(g.c.lv3, 0) > 0))
    # One meaning per word (lms.training.glossary): due soon = not met, the due date is today or within the
    # reminder days; in grace = not met, the due date has passed but not its grace days; overdue = past the
    # grace days; expired = met once, validity over (and past its grace days).
    status = case(
        (ex.c.person_id.isnot(None), EXEMPT),
        (met, COMPLETE),
        (or_(lapsed_course, lapsed_hours, lapsed_cert), case((recent, IN_GRACE), else_=EXPIRED)),
        (prev_missed, case((a.c.in_new_year_grace == 1, IN_GRACE), else_=OVERDUE)),
        (and_(yearly, a.c.in_reminder == 1), DUE_SOON),
        (and_(~yearly, a.c.since < a.c.overdue_before), OVERDUE),
        (and_(~yearly, a.c.since < a.c.due_before), IN_GRACE),
        (and_(~yearly, a.c.since <= a.c.due_soon_before), DUE_SOON),
        (progress, IN_PROGRESS),
        else_=NOT_STARTED,
    )
    valid_until = case(
        (is_cert, cert_until),
        (and_(yearly, met), a.c.year_end),
        (and_(is_course, rolling, g.c.last_win.isnot(None)), add_months(g.c.last_win, a.c.months)),
        (and_(is_hours, rolling, met), add_months(g.c.first_win, a.c.months)),
        else_=null(),
    )
    due_on = case(
        (met, case((or_(is_cert, rolling, yearly), valid_until), else_=null())),
        (lapsed_course, add_months(g.c.last_any, a.c.months)),
        (lapsed_hours, add_months(g.c.last_prev, a.c.months)),
        (lapsed_cert, cert_until),
        (prev_missed, a.c.prev_year_end),
        (yearly, a.c.year_end),
        else_=add_days(a.c.since, a.c.initial_days),
    )
    completed_at = case((is_course, func.coalesce(g.c.last_win, g.c.last_any)), else_=g.c.last_win)
    return select(
        a.c.person_id,
        a.c.requirement_id,
        status.label("status"),
        case((or_(is_hours), hours_win), else_=null()).label("hours_done"),
        case((is_hours, a.c.hours_required), else_=null()).label("hours_due"),
        due_on.label("due_on"),
        valid_until.label("valid_until"),
        completed_at.label("completed_at"),
        a.c.since.label("since"),
    ).select_from(
        a.outerjoin(
            g, and_(g.c.person_id == a.c.person_id, g.c.requirement_id == a.c.requirement_id)
        ).outerjoin(ex, and_(ex.c.person_id == a.c.person_id, ex.c.requirement_id == a.c.requirement_id))
    )


def statuses(
    enterprise_id: int,
    as_of: dt.date,
    requirement_ids: Iterable[int] | None = None,
    person_filter: ColumnElement[bool] | None = None,
) -> list[dict[str, Any]]:
    """Run ``status_query`` and return plain dicts (dates normalised for both dialects)."""
    rows = (
        db.session.execute(status_query(enterprise_id, as_of, requirement_ids, person_filter))
        .mappings()
        .all()
    )
    return [normalise(row) for row in rows]


def normalise(row: Any) -> dict[str, Any]:
    """Return a status row as a dict whose dates are ``date`` objects whatever the driver returned."""
    out = dict(row)
    for key in ("due_on", "valid_until", "since"):
        out[key] = as_date(out.get(key))
    value = out.get("completed_at")
    if isinstance(value, str):
        out["completed_at"] = dt.datetime.fromisoformat(value)
    return out


def as_date(value: Any) -> dt.date | None:
    """Coerce what a driver returns for a computed date column (date, datetime or ISO text) to a date."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
