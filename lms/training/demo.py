"""Demo data for training: statutory presets, a few course and drill requirements, exemptions and backdated
ledger records so the dashboard shows a realistic mix (mostly compliant, some due soon, some overdue, a few
expired special-operations certificates). Idempotent: sources are fixed, so a re-run replaces, never doubles."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from courses.models import Course
from lms.core.db import db
from lms.core.errors import Conflict
from lms.core.timeutil import to_utc
from lms.ledger import services as ledger
from lms.org.models import PERSON_ACTIVE, Enterprise, Person, PersonRole, ResponsibilityRole
from lms.org.timezone import enterprise_today
from lms.training.models import Exemption, Requirement
from lms.training.presets import SPECIAL_OPERATIONS_CATEGORY, apply_presets
from lms.training.services import refresh_subjections

DRILL_KEY = "demo_drill"


def _at(day: dt.date, hour: int = 9) -> dt.datetime:
    """``hour`` o'clock local time of ``day``, stored UTC (the demo enterprises keep the default zone)."""
    return to_utc(dt.datetime(day.year, day.month, day.day, hour, 0))  # type: ignore[return-value]


def _ensure_requirement(ent: Enterprise, key: str, **values: Any) -> Requirement:
    req = db.session.scalar(
        select(Requirement).where(Requirement.enterprise_id == ent.id, Requirement.preset_key == key)
    )
    if req is None:
        req = Requirement(enterprise_id=ent.id, preset_key=key, active=True, **values)
        db.session.add(req)
        db.session.flush()
    return req


def _demo_requirements(ent: Enterprise) -> list[Requirement]:
    made = [
        _ensure_requirement(
            ent,
            DRILL_KEY,
            name="应急救援演练培训（每12个月）",
            kind="hours",
            applies_to="everyone",
            hours_required=Decimal(4),
            categories="应急救援",
            recurrence="rolling",
            recurrence_months=12,
            initial_days=60,
            grace_days=30,
            reminder_days=30,
            issue_certificate=True,  # fulfilling it issues a certificate (valid 12 months from the first hour)
            description="企业自定要求：依据《生产安全事故应急条例》第八条，生产经营单位应当定期组织应急救援预案演练。"
            "完成后颁发应急救援演练培训合格证。",
        )
    ]
    courses = db.session.scalars(
        select(Course)
        .where((Course.enterprise_id == ent.id) | Course.enterprise_id.is_(None))
        .order_by(Course.id)
        .limit(2)
    ).all()
    for c in courses:
        made.append(
            _ensure_requirement(
                ent,
                f"demo_course_{c.id}",
                name=f"完成课程：{c.title}",
                kind="course",
                applies_to="everyone",
                course_id=c.id,
                recurrence="rolling",
                recurrence_months=24,
                initial_days=90,
                grace_days=15,
                reminder_days=30,
                description="企业自定要求：全员每两年完成一次本课程（线上学习或考试合格）。",
            )
        )
    return made


def _records(ent: Enterprise, today: dt.date, rng: random.Random, course_ids: list[int]) -> int:
    people = db.session.scalars(
        select(Person)
        .where(Person.enterprise_id == ent.id, Person.status == PERSON_ACTIVE)
        .order_by(Person.employee_no)
    ).all()
    held: dict[int, dict[str, dt.date]] = {}
    for pid, name, since in db.session.execute(
        select(PersonRole.person_id, ResponsibilityRole.name, PersonRole.since)
        .join(ResponsibilityRole, ResponsibilityRole.id == PersonRole.role_id)
        .where(ResponsibilityRole.enterprise_id == ent.id)
    ):
        held.setdefault(pid, {})[name] = since
    high = ent.high_risk
    annual = Decimal(20 if high else 8)
    year_start = dt.date(today.year, 1, 1)
    n = 0

    def add(p: Person, tag: str, **kw: Any) -> None:
        nonlocal n
        kw.setdefault("topic", "安全培训")
        for _try in range(5):
            try:
                ledger.record(
                    p, source=f"demo:{ent.code}:{p.employee_no}:{tag}", evidence={"demo": True}, **kw
                )
                break
            except Conflict:  # the person sat in a demo classroom session then: a day earlier
                kw["completed_at"] = kw["completed_at"] - dt.timedelta(days=1)
        n += 1

    for p in people:
        r = random.Random(f"{ent.code}:{p.employee_no}")
        profile = r.random()  # < .72 compliant, < .84 due soon, else overdue
        hired = min(p.hire_date or dt.date(2015, 1, 1), today)
        for i, (level, topic) in enumerate(
            (
                ("company", "厂级安全教育：安全生产法律法规与企业安全制度"),
                ("workshop", "车间级安全教育：车间危险源辨识与应急处置"),
                ("team", "班组级安全教育：岗位安全操作规程与劳动防护用品"),
            )
        ):
            if profile > 0.95 and level == "team":
                continue  # a few never finished three-level education
            # Pre-job: the three levels in the days before the start (they count toward the pre-job hours);
            # a few were trained only after starting, which the pre-job requirement shows as overdue.
            late_start = 0.92 < profile <= 0.95
            day = hired + dt.timedelta(days=i + 1) if late_start else hired - dt.timedelta(days=3 - i)
            add(
                p,
                f"three-level-{level}",
                kind="offline",
                topic=topic,
                level=level,
                hours=24 if high else 8,
                completed_at=_at(min(day, today)),
                category="三级安全教育",
                score=rng.choice((85, 90, 95)),
                passed=True,
            )
        if profile < 0.84 or (today - year_start).days < 40:
            add(
                p,
                f"annual-{today.year - 1}",
                kind="offline",
                topic=f"{today.year - 1}年度安全再培训",
                hours=annual,
                completed_at=_at(dt.date(today.year - 1, r.randint(3, 11), r.randint(1, 28))),
                category="安全再培训",
            )
        days_this_year = (today - year_start).days
        if profile < 0.72 and days_this_year > 0:
            add(
                p,
                f"annual-{today.year}",
                kind="course",
                topic=f"{today.year}年度安全再培训（线上）",
                hours=annual,
                completed_at=_at(year_start + dt.timedelta(days=r.randint(0, days_this_year - 1))),
                category="安全再培训",
                course_id=course_ids[0] if course_ids else None,
            )
        elif profile < 0.84 and days_this_year > 0:
            add(
                p,
                f"annual-{today.year}",
                kind="offline",
                topic=f"{today.year}年度安全再培训（第一期）",
                hours=annual / 2,
                completed_at=_at(year_start + dt.timedelta(days=r.randint(0, days_this_year - 1))),
                category="安全再培训",
            )
        # Emergency drill every 12 months: in date, in grace (due soon) or missing (overdue).
        drill_age = (
            r.randint(20, 300) if profile < 0.72 else (r.randint(370, 390) if profile < 0.84 else None)
        )
        if drill_age is not None:
            add(
                p,
                "drill",
                kind="offline",
                topic="应急救援预案演练",
                hours=4,
                category="应急救援",
                completed_at=_at(today - dt.timedelta(days=drill_age)),
            )
        for c in course_ids:
            if profile < 0.8:
                add(
                    p,
                    f"course-{c}",
                    kind="course",
                    topic="线上课程",
                    hours=2,
                    course_id=c,
                    completed_at=_at(today - dt.timedelta(days=r.randint(10, 500))),
                )
        roles = held.get(p.id, {})
        for role in ("主要负责人", "安全生产管理人员"):
            if role in roles:
                since = min(roles[role], today)
                add(
                    p,
                    f"initial-{role}",
                    kind="offline",
                    topic=f"{role}安全生产知识和管理能力培训",
                    hours=48 if high else 32,
                    completed_at=_at(min(since + dt.timedelta(days=20), today)),
                    category="安全资格培训",
                    score=88,
                    passed=True,
                )
        if "特种作业人员" in roles:
            kind_of = r.random()
            if kind_of < 0.15:
                issued = today - dt.timedelta(days=6 * 365 + r.randint(20, 200))  # expired
            elif kind_of < 0.25:
                issued = today - dt.timedelta(days=6 * 365 - r.randint(5, 25))  # expires within 30 days
            else:
                issued = today - dt.timedelta(days=r.randint(60, 5 * 365))
            until = dt.date(issued.year + 6, issued.month, min(issued.day, 28))
            operation = r.choice(("低压电工作业", "熔化焊接与热切割作业"))
            number = f"T{r.randrange(10**11, 10**12)}"
            add(
                p,
                "special-ops-cert",
                kind="certificate",
                topic=operation,
                category=SPECIAL_OPERATIONS_CATEGORY,
                certificate_no=number,
                valid_until=until,
                completed_at=_at(issued),
            )
            review_on = issued + dt.timedelta(days=3 * 365 - r.randint(10, 60))
            if review_on <= today and r.random() < 0.85:  # most passed the 3-yearly review (复审) in time
                add(
                    p,
                    "special-ops-review-training",
                    kind="offline",
                    topic=f"{operation}复审前安全培训",
                    hours=8,
                    category=operation,  # review training of the certificate's own category
                    completed_at=_at(review_on - dt.timedelta(days=7)),
                )
                add(
                    p,
                    "special-ops-review",
                    kind="certificate",
                    topic=f"{operation}（复审）",
                    category=SPECIAL_OPERATIONS_CATEGORY,
                    certificate_no=number,
                    valid_until=until,
                    completed_at=_at(review_on),
                )
    return n


def _exemptions(ent: Enterprise, ctx: Any) -> None:
    drill = db.session.scalar(
        select(Requirement).where(Requirement.enterprise_id == ent.id, Requirement.preset_key == DRILL_KEY)
    )
    if drill is None:
        return
    people = db.session.scalars(
        select(Person)
        .where(Person.enterprise_id == ent.id, Person.status == PERSON_ACTIVE)
        .order_by(Person.employee_no.desc())
        .limit(2)
    ).all()
    granter = ctx.accounts.get("manager") if ctx is not None else None
    for p, reason in zip(people, ("长期病假（医院证明）", "外派学习，返岗后补训"), strict=False):
        exists = db.session.scalar(
            select(Exemption.id).where(Exemption.person_id == p.id, Exemption.requirement_id == drill.id)
        )
        if exists is None:
            db.session.add(
                Exemption(
                    enterprise_id=ent.id,
                    person_id=p.id,
                    requirement_id=drill.id,
                    reason=reason,
                    valid_from=ctx.today - dt.timedelta(days=30) if ctx else enterprise_today(ent.id),
                    valid_until=None,
                    granted_by_id=granter.id if granter else None,
                )
            )


def _leave(ent: Enterprise, today: dt.date) -> None:
    """Two people back on their posts after more than a year away (离岗一年以上): one retrained, one not yet."""
    from lms.org.services import set_leave

    people = db.session.scalars(
        select(Person)
        .where(Person.enterprise_id == ent.id, Person.status == PERSON_ACTIVE)
        .order_by(Person.employee_no)
        .offset(3)
        .limit(2)
    ).all()
    back = today - dt.timedelta(days=10)
    for n, p in enumerate(people):
        set_leave(p, today - dt.timedelta(days=500), back)
        if n == 0:
            for i, (level, topic) in enumerate(
                (
                    ("workshop", "车间级安全教育（离岗一年以上返岗）"),
                    ("team", "班组级安全教育（离岗一年以上返岗）"),
                )
            ):
                ledger.record(
                    p,
                    kind="offline",
                    topic=topic,
                    level=level,
                    hours=8,
                    category="三级安全教育",
                    completed_at=_at(back - dt.timedelta(days=2 - i)),
                    source=f"demo:{ent.code}:{p.employee_no}:return-{level}",
                    evidence={"demo": True},
                )


def load(enterprise: Enterprise, ctx: Any) -> None:
    """Apply presets and load backdated records for DEMO and for ZJHG (the regulator's other enterprise)."""
    targets = [enterprise]
    zjhg = db.session.scalar(select(Enterprise).where(Enterprise.code == "ZJHG"))
    if zjhg is not None:
        targets.append(zjhg)
    for ent in targets:
        apply_presets(ent)
        extra = _demo_requirements(ent) if ent.id == enterprise.id else []
        course_ids = [r.course_id for r in extra if r.course_id]
        n = _records(ent, ctx.today, ctx.rng, course_ids)
        if ent.id == enterprise.id:
            _exemptions(ent, ctx)
            _leave(ent, ctx.today)
        db.session.flush()
        refresh_subjections(ent.id, ctx.today)
        if ent.id == enterprise.id:
            # People who fulfil the drill requirement get its certificate (commits do this for new records).
            from lms.training.fulfilment import issue_fulfilled

            issued = issue_fulfilled(None, ent.id, None)["fulfilled"]
            ctx.echo(f"  training {ent.code}: {issued} requirement certificates")
        ctx.echo(f"  training {ent.code}: {n} demo records")
