"""Automatic indicators: a registry of metric kinds computed for a unit of people over a period.

Each metric is a function ``(enterprise_id, unit, period_start, period_end, as_of) -> IndicatorValue`` where
``unit`` resolves to a SQL select of person ids. A metric reads the packages below this floor directly
(lms.training, quizzes, lms.offline, lms.hazards); where an enterprise has no training requirements, or quizzes
has no graded attempt, it reads the ledger and the organisation tables with its own set-based SQL. ``detail``
records the inputs and the method, and is frozen with the value when a campaign is calculated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, case, func, or_, select

from lms.core.db import db
from lms.hazards import report as hazard_report
from lms.ledger.models import KIND_CERTIFICATE, KIND_EXAM, TrainingRecord
from lms.offline import services as offline_services
from lms.org.models import PERSON_ACTIVE, Department, Enterprise, Person, PersonRole, ResponsibilityRole
from lms.training import coverage
from lms.training.models import RECUR_ONCE, Requirement
from lms.training.status import active_requirements
from quizzes.stats import exam_stats_for_people

# Statutory annual retraining (生产经营单位安全培训规定): 8 h, 20 h in high-risk industries.
ANNUAL_HOURS = Decimal(8)
ANNUAL_HOURS_HIGH_RISK = Decimal(20)
NEW_HIRE_GRACE_DAYS = 30
SPECIAL_OPERATIONS_ROLE = "特种作业人员"
MAX_LISTED = 50
FOUR = Decimal("0.0001")


@dataclass
class IndicatorValue:
    """A metric's value (None: no data, the indicator does not apply) and how it was obtained."""

    value: Decimal | None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Unit:
    """People evaluated together: a department subtree, a post, or a post within a department subtree."""

    enterprise_id: int
    department_id: int | None = None
    post_id: int | None = None

    def people(self, period_start: dt.date, period_end: dt.date) -> Select[Any]:
        """Return ``select(Person.id)`` of the people in the unit during the period (active or left during it)."""
        q = select(Person.id).where(
            Person.enterprise_id == self.enterprise_id,
            or_(Person.status == PERSON_ACTIVE, Person.left_on >= period_start),
            or_(Person.hire_date.is_(None), Person.hire_date <= period_end),
        )
        if self.department_id is not None:
            dept = db.session.get(Department, self.department_id)
            path = dept.path if dept is not None else "\x00"
            sub = select(Department.id).where(
                Department.enterprise_id == self.enterprise_id,
                or_(
                    Department.id == self.department_id,
                    Department.path.startswith(path + "/", autoescape=True),
                ),
            )
            q = q.where(Person.department_id.in_(sub))
        if self.post_id is not None:
            q = q.where(Person.post_id == self.post_id)
        return q


MetricFunc = Callable[[int, Unit, dt.date, dt.date, dt.date], IndicatorValue]


@dataclass(frozen=True)
class Metric:
    key: str
    label: Any
    unit: str  # ratio (0..1), count, score, hours
    func: MetricFunc
    mapping: dict[str, Any]  # a sensible default value→points mapping
    for_kind: str = "automatic"  # automatic / deduction / veto: where the metric is meant to be used


METRICS: dict[str, Metric] = {}


def metric(key: str, label: Any, unit: str, mapping: dict[str, Any], for_kind: str = "automatic") -> Callable:
    """Register a metric function under ``key``."""

    def deco(func: MetricFunc) -> MetricFunc:
        METRICS[key] = Metric(key, label, unit, func, mapping, for_kind)
        return func

    return deco


def compute(
    key: str, enterprise_id: int, unit: Unit, period_start: dt.date, period_end: dt.date, as_of: dt.date
) -> IndicatorValue:
    """Compute metric ``key`` for a unit; unknown metrics are an error the framework editor should have caught."""
    m = METRICS.get(key)
    if m is None:
        return IndicatorValue(None, {"error": f"unknown metric {key}"})
    result = m.func(enterprise_id, unit, period_start, period_end, as_of)
    result.detail.setdefault("metric", key)
    return result


# ---------------------------------------------------------------- helpers


def _training_applies(enterprise_id: int) -> bool:
    """Whether the enterprise has active training requirements to judge people against (else: the ledger)."""
    return bool(active_requirements(enterprise_id))


def _person_filter(unit: Unit, period_start: dt.date, period_end: dt.date) -> Any:
    return Person.id.in_(unit.people(period_start, period_end))


def _start(d: dt.date) -> dt.datetime:
    return dt.datetime.combine(d, dt.time.min)


def _end(d: dt.date) -> dt.datetime:
    """The exclusive end of day ``d``."""
    return dt.datetime.combine(d + dt.timedelta(days=1), dt.time.min)


def _ratio(num: Any, den: Any) -> Decimal | None:
    if not den:
        return None
    return (Decimal(num or 0) / Decimal(den)).quantize(FOUR, rounding=ROUND_HALF_UP)


def headcount(unit: Unit, period_start: dt.date, period_end: dt.date) -> int:
    """Return how many people the unit holds in the period."""
    people = unit.people(period_start, period_end).subquery()
    return int(db.session.scalar(select(func.count()).select_from(people)) or 0)


def annual_hours(enterprise_id: int) -> Decimal:
    """Return the statutory annual retraining hours for the enterprise's industry."""
    high = db.session.scalar(select(Enterprise.high_risk).where(Enterprise.id == enterprise_id))
    return ANNUAL_HOURS_HIGH_RISK if high else ANNUAL_HOURS


def _live() -> Any:
    return TrainingRecord.voided_at.is_(None)


# ---------------------------------------------------------------- people out of compliance (no requirements)


def overdue_people_sql(enterprise_id: int, people: Select[Any], as_of: dt.date) -> list[dict[str, Any]]:
    """Return the people who work without the training they need, by our own reading of the ledger.

    Used when the enterprise has no active training requirements. A person is out of compliance as of ``as_of`` when
    hired more than 30 days before and with no training on record at all (no pre-job training); or hired more
    than a year before with less than the annual retraining hours in the last 365 days; or holding the
    special-operations role with their latest certificate on record expired.
    """
    year_ago = as_of - dt.timedelta(days=365)
    annual = annual_hours(enterprise_id)
    ids = people.subquery()
    ever = (
        select(TrainingRecord.person_id, func.count().label("n"))
        .where(
            _live(), TrainingRecord.completed_at < _end(as_of), TrainingRecord.person_id.in_(select(ids.c.id))
        )
        .group_by(TrainingRecord.person_id)
        .subquery()
    )
    recent = (
        select(TrainingRecord.person_id, func.sum(TrainingRecord.hours).label("h"))
        .where(
            _live(),
            TrainingRecord.completed_at >= _end(year_ago),
            TrainingRecord.completed_at < _end(as_of),
            TrainingRecord.person_id.in_(select(ids.c.id)),
        )
        .group_by(TrainingRecord.person_id)
        .subquery()
    )
    certs = (
        select(TrainingRecord.person_id, func.max(TrainingRecord.valid_until).label("valid_until"))
        .where(
            _live(),
            TrainingRecord.kind == KIND_CERTIFICATE,
            TrainingRecord.valid_until.is_not(None),
            TrainingRecord.completed_at < _end(as_of),
            TrainingRecord.person_id.in_(select(ids.c.id)),
        )
        .group_by(TrainingRecord.person_id)
        .subquery()
    )
    special = (
        select(PersonRole.person_id)
        .join(ResponsibilityRole, ResponsibilityRole.id == PersonRole.role_id)
        .where(
            ResponsibilityRole.enterprise_id == enterprise_id,
            ResponsibilityRole.name == SPECIAL_OPERATIONS_ROLE,
        )
    )
    hired_long = or_(Person.hire_date.is_(None), Person.hire_date <= year_ago)
    no_training = and_(
        or_(Person.hire_date.is_(None), Person.hire_date <= as_of - dt.timedelta(days=NEW_HIRE_GRACE_DAYS)),
        ever.c.n.is_(None),
    )
    low_hours = and_(hired_long, func.coalesce(recent.c.h, 0) < annual)
    cert_expired = and_(Person.id.in_(special), certs.c.valid_until < as_of)
    q = (
        select(
            Person.id,
            Person.employee_no,
            Person.name,
            no_training.label("none"),
            low_hours.label("low"),
            cert_expired.label("cert"),
            func.coalesce(recent.c.h, 0).label("hours"),
        )
        .outerjoin(ever, ever.c.person_id == Person.id)
        .outerjoin(recent, recent.c.person_id == Person.id)
        .outerjoin(certs, certs.c.person_id == Person.id)
        .where(Person.id.in_(select(ids.c.id)), or_(no_training, low_hours, cert_expired))
        .order_by(Person.employee_no)
    )
    out = []
    for row in db.session.execute(q):
        reasons = []
        if row.none:
            reasons.append("no training on record")
        elif row.low:
            reasons.append(f"{Decimal(row.hours or 0):.1f} h in the last year, below {annual} h")
        if row.cert:
            reasons.append("special-operations certificate expired")
        out.append(
            {"person_id": row.id, "employee_no": row.employee_no, "name": row.name, "reasons": reasons}
        )
    return out


def _overdue_people(
    enterprise_id: int, unit: Unit, period_start: dt.date, period_end: dt.date, as_of: dt.date
) -> tuple[list[dict[str, Any]], str]:
    if _training_applies(enterprise_id):
        rows = coverage.veto_people(enterprise_id, as_of, _person_filter(unit, period_start, period_end))
        by_person: dict[Any, dict[str, Any]] = {}
        for r in _veto_rows(enterprise_id, rows):
            entry = by_person.setdefault(
                r["person_id"],
                {
                    "person_id": r["person_id"],
                    "employee_no": r.get("employee_no"),
                    "name": r.get("name"),
                    "reasons": [],
                },
            )
            entry["reasons"].append(f"{r.get('requirement')}: {r.get('status')}")
        return list(by_person.values()), "lms.training.coverage.veto_people"
    return overdue_people_sql(enterprise_id, unit.people(period_start, period_end), as_of), (
        "ledger: no pre-job training, annual hours below the statutory minimum, or special-operations "
        "certificate expired"
    )


def _veto_rows(enterprise_id: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep what the veto item means: working WITHOUT the required training (an initial, one-off requirement
    never met: pre-job training, three-level education, appointment training) or with a lapsed
    special-operations certificate. A lapsed annual retraining lowers coverage and on-time scores instead."""
    ids = set(
        db.session.scalars(
            select(Requirement.id).where(
                Requirement.enterprise_id == enterprise_id,
                or_(Requirement.recurrence == RECUR_ONCE, Requirement.kind == "certificate"),
            )
        )
    )
    return [r for r in rows if r.get("requirement_id") in ids]


# ---------------------------------------------------------------- the metrics


@metric(
    "training_coverage",
    _l("Training coverage (share of people compliant)"),
    "ratio",
    {"type": "linear", "zero": 0.6, "full": 1},
)
def training_coverage(
    enterprise_id: int, unit: Unit, period_start: dt.date, period_end: dt.date, as_of: dt.date
) -> IndicatorValue:
    """Share of the unit's people with no overdue required training as of the end of the period."""
    n = headcount(unit, period_start, period_end)
    if _training_applies(enterprise_id):
        share = coverage.coverage_share(enterprise_id, as_of, _person_filter(unit, period_start, period_end))
        return IndicatorValue(
            None if share is None else Decimal(str(share)).quantize(FOUR),
            {
                "method": "lms.training.coverage.coverage_share",
                "headcount": n,
                "as_of": as_of.isoformat(),
            },
        )
    overdue, source = _overdue_people(enterprise_id, unit, period_start, period_end, as_of)
    return IndicatorValue(
        _ratio(n - len(overdue), n),
        {
            "method": source,
            "headcount": n,
            "compliant": n - len(overdue),
            "overdue": len(overdue),
            "as_of": as_of.isoformat(),
        },
    )


@metric(
    "on_time_completion", _l("On-time completion rate"), "ratio", {"type": "linear", "zero": 0.5, "full": 1}
)
def on_time_completion(
    enterprise_id: int, unit: Unit, period_start: dt.date, period_end: dt.date, as_of: dt.date
) -> IndicatorValue:
    """Share of training due in the period completed by its due date (ledger: people trained in the period)."""
    people = unit.people(period_start, period_end)
    if _training_applies(enterprise_id):
        rate = coverage.on_time_rate(enterprise_id, as_of, Person.id.in_(people))
        return IndicatorValue(
            None if rate is None else Decimal(str(rate)).quantize(FOUR),
            {
                "method": "lms.training.coverage.on_time_rate: obligations due met, not late",
                "as_of": as_of.isoformat(),
            },
        )
    ids = people.where(or_(Person.hire_date.is_(None), Person.hire_date <= period_start)).subquery()
    total = db.session.scalar(select(func.count()).select_from(ids)) or 0
    trained = (
        db.session.scalar(
            select(func.count(func.distinct(TrainingRecord.person_id))).where(
                _live(),
                TrainingRecord.person_id.in_(select(ids.c.id)),
                TrainingRecord.completed_at >= _start(period_start),
                TrainingRecord.completed_at < _end(period_end),
            )
        )
        or 0
    )
    return IndicatorValue(
        _ratio(trained, total),
        {
            "method": "ledger: share of people employed at the start of the period with training completed in it",
            "people": total,
            "trained": trained,
        },
    )


@metric(
    "hours_per_head",
    _l("Training hours per head against the requirement"),
    "ratio",
    {"type": "linear", "zero": 0, "full": 1},
)
def hours_per_head(
    enterprise_id: int, unit: Unit, period_start: dt.date, period_end: dt.date, as_of: dt.date
) -> IndicatorValue:
    """Hours per head in the period divided by the required hours for that period (annual hours pro rata)."""
    people = unit.people(period_start, period_end)
    n = headcount(unit, period_start, period_end)
    hours = Decimal(
        db.session.scalar(
            select(func.coalesce(func.sum(TrainingRecord.hours), 0)).where(
                _live(),
                TrainingRecord.person_id.in_(people),
                TrainingRecord.completed_at >= _start(period_start),
                TrainingRecord.completed_at < _end(period_end),
            )
        )
        or 0
    )
    days = (period_end - period_start).days + 1
    required = (annual_hours(enterprise_id) * Decimal(min(days, 365)) / Decimal(365)).quantize(
        Decimal("0.01")
    )
    source = "ledger; required: statutory annual hours pro rata"
    if _training_applies(enterprise_id):
        res = coverage.hours_per_head(enterprise_id, period_start, period_end, Person.id.in_(people))
        if res.get("required_per_head"):
            # The requirements' hours due per head (whole cycle), pro rata for the period like the statutory figure.
            cycle = Decimal(str(res["required_per_head"]))
            required = (cycle * Decimal(min(days, 365)) / Decimal(365)).quantize(Decimal("0.01"))
            source = "ledger; required: lms.training.coverage.hours_per_head (hours due per head, pro rata)"
    per_head = (hours / n).quantize(Decimal("0.01")) if n else None
    value = _ratio(per_head, required) if per_head is not None and required else None
    return IndicatorValue(
        value,
        {
            "method": source,
            "headcount": n,
            "hours": str(hours),
            "hours_per_head": str(per_head) if per_head is not None else None,
            "required_per_head": str(required),
        },
    )


def _exam_stats(enterprise_id: int, unit: Unit, period_start: dt.date, period_end: dt.date) -> dict[str, Any]:
    people = unit.people(period_start, period_end)
    rate, avg = exam_stats_for_people(people, _start(period_start), _end(period_end))
    if rate is not None:
        return {
            "method": "quizzes.stats.exam_stats_for_people: best graded attempt per exam and person",
            "pass_rate": Decimal(str(rate)).quantize(FOUR),
            "average": Decimal(str(avg)).quantize(Decimal("0.01")) if avg is not None else None,
        }
    row = db.session.execute(
        select(
            func.count(),
            func.sum(case((TrainingRecord.passed.is_(True), 1), else_=0)),
            func.avg(TrainingRecord.score),
        ).where(
            _live(),
            TrainingRecord.kind == KIND_EXAM,
            TrainingRecord.person_id.in_(people),
            TrainingRecord.completed_at >= _start(period_start),
            TrainingRecord.completed_at < _end(period_end),
        )
    ).one()
    attempts, passed, avg = row
    return {
        "method": "ledger: exam records completed in the period",
        "attempts": int(attempts or 0),
        "passed": int(passed or 0),
        "pass_rate": _ratio(passed, attempts),
        "average": Decimal(str(avg)).quantize(Decimal("0.01")) if avg is not None else None,
    }


@metric("exam_pass_rate", _l("Exam pass rate"), "ratio", {"type": "linear", "zero": 0.6, "full": 1})
def exam_pass_rate(
    enterprise_id: int, unit: Unit, period_start: dt.date, period_end: dt.date, as_of: dt.date
) -> IndicatorValue:
    """Share of exam attempts in the period that passed."""
    stats = _exam_stats(enterprise_id, unit, period_start, period_end)
    value = stats.get("pass_rate")
    return IndicatorValue(
        None if value is None else Decimal(str(value)).quantize(FOUR),
        {k: (str(v) if isinstance(v, Decimal) else v) for k, v in stats.items()},
    )


@metric("exam_average_score", _l("Exam average score"), "score", {"type": "linear", "zero": 60, "full": 95})
def exam_average_score(
    enterprise_id: int, unit: Unit, period_start: dt.date, period_end: dt.date, as_of: dt.date
) -> IndicatorValue:
    """Average score of exam attempts in the period."""
    stats = _exam_stats(enterprise_id, unit, period_start, period_end)
    value = stats.get("average")
    return IndicatorValue(
        None if value is None else Decimal(str(value)).quantize(Decimal("0.01")),
        {k: (str(v) if isinstance(v, Decimal) else v) for k, v in stats.items()},
    )


@metric("attendance_rate", _l("Offline attendance rate"), "ratio", {"type": "linear", "zero": 0.6, "full": 1})
def attendance_rate(
    enterprise_id: int, unit: Unit, period_start: dt.date, period_end: dt.date, as_of: dt.date
) -> IndicatorValue:
    """Share of invitations to classroom sessions in the period that were attended."""
    people = unit.people(period_start, period_end)
    rate = offline_services.attendance_rate(enterprise_id, people, _start(period_start), _end(period_end))
    return IndicatorValue(
        None if rate is None else Decimal(str(rate)).quantize(FOUR),
        {"method": "lms.offline.services.attendance_rate: expected attendances of recorded sessions"},
    )


@metric(
    "missed_required_sessions",
    _l("Missed required classroom sessions"),
    "count",
    {"type": "linear", "zero": 5, "full": 0},
    for_kind="deduction",
)
def missed_required_sessions(
    enterprise_id: int, unit: Unit, period_start: dt.date, period_end: dt.date, as_of: dt.date
) -> IndicatorValue:
    """Required classroom sessions in the period that people of the unit missed."""
    people = unit.people(period_start, period_end)
    count = offline_services.missed_sessions_count(
        enterprise_id, people, _start(period_start), _end(period_end)
    )
    return IndicatorValue(
        Decimal(int(count or 0)),
        {"method": "lms.offline.services.missed_sessions_count: expected attendances not made"},
    )


@metric(
    "notice_ack_rate",
    _l("Safety notice acknowledgement rate"),
    "ratio",
    {"type": "linear", "zero": 0.5, "full": 1},
)
def notice_ack_rate(
    enterprise_id: int, unit: Unit, period_start: dt.date, period_end: dt.date, as_of: dt.date
) -> IndicatorValue:
    """Share of the notices published in the period to the unit's people that they acknowledged."""
    from lms.culture.models import Notice, NoticeAck

    people = unit.people(period_start, period_end)
    row = db.session.execute(
        select(
            func.count(),
            func.sum(
                case(
                    (
                        and_(NoticeAck.acknowledged_at.is_not(None), NoticeAck.acknowledged_at < _end(as_of)),
                        1,
                    ),
                    else_=0,
                )
            ),
        )
        .select_from(NoticeAck)
        .join(Notice, Notice.id == NoticeAck.notice_id)
        .where(
            Notice.enterprise_id == enterprise_id,
            NoticeAck.person_id.in_(people),
            Notice.published_at >= _start(period_start),
            Notice.published_at < _end(period_end),
        )
    ).one()
    total, acked = int(row[0] or 0), int(row[1] or 0)
    return IndicatorValue(
        _ratio(acked, total),
        {"method": "notices published in the period", "addressed": total, "acknowledged": acked},
    )


@metric(
    "overdue_people",
    _l("People with overdue required training or an expired special-operations certificate"),
    "count",
    {"type": "linear", "zero": 3, "full": 0},
    for_kind="veto",
)
def overdue_people(
    enterprise_id: int, unit: Unit, period_start: dt.date, period_end: dt.date, as_of: dt.date
) -> IndicatorValue:
    """How many of the unit's people work without the required training or with an expired certificate."""
    listed, source = _overdue_people(enterprise_id, unit, period_start, period_end, as_of)
    return IndicatorValue(
        Decimal(len(listed)), {"method": source, "as_of": as_of.isoformat(), "people": listed[:MAX_LISTED]}
    )


def metric_choices(for_kind: str | None = None) -> list[tuple[str, Any]]:
    """Return (key, label) of the registered metrics, optionally those meant for a kind of indicator."""
    return [
        (m.key, m.label)
        for m in METRICS.values()
        if for_kind is None or m.for_kind in (for_kind, "automatic")
    ]


# ---------------------------------------------------------------- hazards reported and rectified


def _local_window(
    enterprise_id: int, period_start: dt.date, period_end: dt.date
) -> tuple[dt.datetime, dt.datetime]:
    """The naive-UTC [start, end) of the enterprise's local days period_start … period_end."""
    from lms.core.timeutil import local_day_bounds

    ent = db.session.get(Enterprise, enterprise_id)
    return local_day_bounds(period_start, ent)[0], local_day_bounds(period_end, ent)[1]


def _whole_enterprise(unit: Unit) -> bool:
    return unit.department_id is None and unit.post_id is None


@metric(
    "hazards_per_100",
    _l("Hazards reported per 100 employees"),
    "count",
    {"type": "linear", "zero": 0, "full": 20},
)
def hazards_per_100(
    enterprise_id: int, unit: Unit, period_start: dt.date, period_end: dt.date, as_of: dt.date
) -> IndicatorValue:
    """Hazards reported in the period per 100 of the unit's people (the whole enterprise counts anonymous ones)."""
    start, end = _local_window(enterprise_id, period_start, period_end)
    people = None if _whole_enterprise(unit) else unit.people(period_start, period_end)
    hazards, _reporters = hazard_report.reported_counts(enterprise_id, start, end, people)
    staff = headcount(unit, period_start, period_end)
    value = _ratio(hazards * 100, staff)
    return IndicatorValue(
        value.quantize(Decimal("0.01")) if value is not None else None,
        {
            "method": "lms.hazards.report.reported_counts",
            "hazards": hazards,
            "headcount": staff,
            "anonymous_included": people is None,
        },
    )


@metric(
    "hazard_reporter_share",
    _l("Share of employees who reported a hazard"),
    "ratio",
    {"type": "linear", "zero": 0, "full": 0.5},
)
def hazard_reporter_share(
    enterprise_id: int, unit: Unit, period_start: dt.date, period_end: dt.date, as_of: dt.date
) -> IndicatorValue:
    """Share of the unit's people who reported at least one hazard under their name in the period."""
    start, end = _local_window(enterprise_id, period_start, period_end)
    _hazards, reporters = hazard_report.reported_counts(
        enterprise_id, start, end, unit.people(period_start, period_end)
    )
    staff = headcount(unit, period_start, period_end)
    return IndicatorValue(
        _ratio(reporters, staff),
        {
            "method": "lms.hazards.report.reported_counts (named reports)",
            "reporters": reporters,
            "headcount": staff,
        },
    )


@metric(
    "hazard_on_time_share",
    _l("Share of hazards rectified on time"),
    "ratio",
    {"type": "linear", "zero": 0.5, "full": 1},
)
def hazard_on_time_share(
    enterprise_id: int, unit: Unit, period_start: dt.date, period_end: dt.date, as_of: dt.date
) -> IndicatorValue:
    """Of the rectifications accepted in the period (of hazards the unit's people were responsible for), the share
    reported by the deadline then in force."""
    start, end = _local_window(enterprise_id, period_start, period_end)
    rows = hazard_report.accepted_rectifications(
        enterprise_id, start, end, unit.people(period_start, period_end)
    )
    on_time = sum(1 for _hazard, ok in rows if ok)
    return IndicatorValue(
        _ratio(on_time, len(rows)),
        {"method": "lms.hazards.report.accepted_rectifications", "accepted": len(rows), "on_time": on_time},
    )
