"""Demo data: past and planned classroom sessions of DEMO, attendance committed through the real importer.

Idempotent: a session is found again by its topic and start; an existing session is left as it is.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from lms.core.db import db
from lms.core.exports import xlsx_bytes
from lms.core.timeutil import to_local, to_utc
from lms.offline import services
from lms.offline.attendance import import_attendance
from lms.offline.models import LOCKED, OfflineSession
from lms.org.models import Department, Enterprise, Person, Post, ResponsibilityRole

DATA = Path(__file__).parent / "demo_data"


def _ids(model: Any, ent_id: int, names: list[str], attr: str = "name") -> list[int]:
    return list(
        db.session.scalars(
            select(model.id).where(model.enterprise_id == ent_id, getattr(model, attr).in_(names))
        )
    )


def _session(
    ent: Enterprise, topic: str, starts_at: dt.datetime, hours: str, **kw: Any
) -> tuple[OfflineSession, bool]:
    starts_at = to_utc(starts_at, ent)  # planned in the enterprise's local time; stored UTC
    found = db.session.scalar(
        select(OfflineSession).where(
            OfflineSession.enterprise_id == ent.id,
            OfflineSession.topic == topic,
            OfflineSession.starts_at == starts_at,
        )
    )
    if found is not None:
        return found, False
    targets = kw.pop("targets", None)
    hours_dec = Decimal(hours)
    s = services.create_session(
        ent.id,
        topic=topic,
        starts_at=starts_at,
        hours=hours_dec,
        ends_at=starts_at + dt.timedelta(hours=min(float(hours_dec), 8)),
        targets=targets,
        **kw,
    )
    return s, True


def _sheet(people: list[Person], day: dt.datetime, rng: random.Random, *, missed: int = 0) -> bytes:
    """A filled sign-in sheet of a session starting at ``day`` (stored UTC); the sheet shows local time."""
    rows = []
    local = to_local(day)
    for i, p in enumerate(people):
        signed = local - dt.timedelta(minutes=rng.randrange(1, 20))
        score: Any = rng.choice((70, 80, 85, 90, 95, 100))
        if i < missed:
            score = "缺考"
        rows.append(
            [
                p.employee_no,
                p.name,
                p.department.path if p.department else "",
                signed.strftime("%Y-%m-%d %H:%M"),
                score,
            ]
        )
    return xlsx_bytes(
        ["工号", "姓名", "部门", "签到时间", "考核成绩"],
        rows,
        sheet_title="签到表",
        title="安全教育培训签到表",
    )


def load(enterprise: Enterprise, ctx: Any) -> None:
    """Create DEMO's sessions and record their attendance from generated and bundled sheets."""
    ent = enterprise
    trainer = ctx.accounts.get("trainer")
    today = ctx.today
    people = list(
        db.session.scalars(
            select(Person)
            .where(Person.enterprise_id == ent.id, Person.status == "active")
            .order_by(Person.employee_no)
        )
    )
    depts = {
        d.path: d.id for d in db.session.scalars(select(Department).where(Department.enterprise_id == ent.id))
    }

    def at(days: int, hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour, minute))

    def record(s: OfflineSession, data: bytes | Path, name: str) -> None:
        result = import_attendance(
            ent, data, name, session=s, dry_run=False, skip_unresolved=True, actor=trainer
        )
        if not result.committed:
            raise RuntimeError(f"demo attendance for {s.topic} refused: {result.errors[:3]}")

    # 三级安全教育 for the people hired in the last fifteen months (厂级 → 车间级 → 班组级).
    start = at(-50, 8, 30)
    recent = [
        p
        for p in people
        if p.hire_date and start.date() - dt.timedelta(days=450) <= p.hire_date <= start.date()
    ]
    for offset, (level, label) in enumerate(
        (("company", "厂级"), ("workshop", "车间级"), ("team", "班组级"))
    ):
        s, new = _session(
            ent,
            f"新员工三级安全教育（{label}）",
            start + dt.timedelta(days=offset * 2),
            "24",
            category="三级安全教育",
            level=level,
            instructor="戴伟",
            location="公司培训中心",
            capacity=40,
        )
        if new and recent:
            record(s, _sheet(recent, s.starts_at, random.Random(s.topic)), f"三级教育-{label}.xlsx")

    # The bundled sample sheets, each in its own session (they name GA10xx people of the demo roster).
    samples = [
        (
            "有限空间作业安全",
            dt.datetime(2026, 11, 12, 14, 0),
            "3",
            "有限空间",
            "workshop",
            ["三车间"],
            "signin-workshop3-2026-11-12.xlsx",
        ),
        (
            "一车间岗位安全操作规程",
            dt.datetime(2026, 11, 20, 8, 30),
            "2",
            "岗位操作规程",
            "workshop",
            ["一车间"],
            "signin-workshop1-gbk.csv",
        ),
        (
            "仓储物流叉车与装卸安全",
            dt.datetime(2026, 11, 21, 9, 0),
            "2",
            "特种设备",
            "workshop",
            ["仓储物流部"],
            "signin-logistics-en.csv",
        ),
    ]
    for topic, when, hours, category, level, dept_paths, filename in samples:
        s, new = _session(
            ent,
            topic,
            when,
            hours,
            category=category,
            level=level,
            instructor="张建国",
            location="车间会议室",
            targets={"department": [depts[p] for p in dept_paths if p in depts]},
        )
        if new and when.date() <= today:
            record(s, DATA / filename, filename)

    # 消防演练 for everyone, two months ago: recorded and locked.
    s, new = _session(
        ent,
        "全员消防应急疏散演练",
        at(-62, 15),
        "2",
        category="消防安全",
        level="company",
        instructor="陆华",
        location="厂区东门集合点",
        targets={"department": [i for p, i in depts.items() if "/" not in p]},
    )
    if new:
        rng = random.Random(s.topic)
        record(s, _sheet([p for p in people if rng.random() < 0.85], s.starts_at, rng), "消防演练签到.xlsx")
        services.set_status(s, LOCKED, reason="演练结束，记录归档")

    # 动火作业 training for welders three weeks ago, two of them missed the test.
    welders = _ids(Post, ent.id, ["焊工"])
    s, new = _session(
        ent,
        "动火作业安全培训",
        at(-21, 9),
        "4",
        category="动火作业",
        level="team",
        instructor="江刚",
        location="三车间会议室",
        targets={"post": welders},
    )
    if new:
        group = [p for p in people if p.post_id in welders]
        record(s, _sheet(group[:-2], s.starts_at, random.Random(s.topic), missed=2), "动火作业签到.xlsx")

    # Planned: a confined-space drill for 三车间 and the team leaders, and a hot-work refresher.
    leaders = _ids(ResponsibilityRole, ent.id, ["班组长"])
    _session(
        ent,
        "有限空间应急救援演练",
        at(10, 14),
        "2",
        category="有限空间",
        level="workshop",
        instructor="廖华远",
        location="三车间储罐区",
        capacity=30,
        targets={"department": [depts["三车间"]] if "三车间" in depts else [], "role": leaders},
    )
    _session(
        ent,
        "动火作业安全培训（复训）",
        at(24, 9),
        "4",
        category="动火作业",
        level="team",
        instructor="江刚",
        location="三车间会议室",
        capacity=25,
        targets={"post": welders},
    )
    _voided_entry(ent, ctx, at(-30, 9))
    _toolbox_talks(ent, ctx, at)
    db.session.flush()


def _voided_entry(ent: Enterprise, ctx: Any, when: dt.datetime) -> None:
    """An outside training entered twice for the demo learner, the copy voided by the manager: the archive
    shows it marked (who, when, why), never silently gone."""
    from lms.ledger import services as ledger
    from lms.ledger.models import TrainingRecord

    learner, manager = ctx.accounts.get("learner"), ctx.accounts.get("manager")
    person = learner.person if learner is not None else None
    if person is None or db.session.scalar(
        select(TrainingRecord.id).where(TrainingRecord.source == "manual:demo-duplicate")
    ):
        return
    start = to_utc(when, ent)
    for source in ("manual:demo-original", "manual:demo-duplicate"):
        if source == "manual:demo-duplicate":  # the copy is typed a day later by mistake, same content
            start = start + dt.timedelta(days=1)
        ledger.record(
            person,
            kind="manual",
            topic="外部培训：职业健康与劳动防护（区应急管理局组织）",
            source=source,
            hours=4,
            started_at=start,
            completed_at=start + dt.timedelta(hours=4),
            category="职业健康",
            actor=ctx.accounts.get("trainer"),
        )
    duplicate = db.session.scalar(
        select(TrainingRecord).where(TrainingRecord.source == "manual:demo-duplicate")
    )
    ledger.void(duplicate.id, reason="重复登记：与前一天的外部培训记录相同", actor=manager)


TOOLBOX_TOPICS = [
    "交接班安全确认",
    "劳动防护用品检查",
    "当班作业风险告知：反应釜投料",
    "雨季防滑防触电",
    "班前安全讲话",
]


def _toolbox_talks(ent: Enterprise, ctx: Any, at: Any) -> None:
    """The team leader's toolbox talks (班前会) of the last five working days, 07:50 each, with the team's QR
    check-ins and check-outs through the real services (one left early, a few missed)."""
    from lms.offline import checkin
    from lms.offline.models import KIND_TOOLBOX

    leader = ctx.accounts.get("teamleader")
    if leader is None or leader.person is None:
        return
    team = [
        p
        for p in db.session.scalars(
            select(Person)
            .where(
                Person.enterprise_id == ent.id,
                Person.department_id == leader.person.department_id,
                Person.status == "active",
            )
            .order_by(Person.employee_no)
        )
    ]
    rng = random.Random(2026_21)
    days = [d for d in range(-8, 0) if (ctx.today + dt.timedelta(days=d)).weekday() < 5][-5:]
    for topic, day in zip(TOOLBOX_TOPICS, days, strict=False):
        start = to_utc(at(day, 7, 50), ent)
        if db.session.scalar(
            select(OfflineSession.id).where(
                OfflineSession.enterprise_id == ent.id,
                OfflineSession.kind == KIND_TOOLBOX,
                OfflineSession.starts_at == start,
            )
        ):
            continue
        talk = checkin.create_toolbox_talk(leader, topic=topic, minutes=10, now=start)
        talk.checkin_opened_at = start - dt.timedelta(minutes=5)  # the code is up before the talk begins
        for i, person in enumerate(team):
            if rng.random() < 0.1:
                continue  # on leave, on another shift
            came = start - dt.timedelta(minutes=3) + dt.timedelta(seconds=rng.randrange(0, 360))
            checkin.check_in(talk, person, checkin.step_of(came), now=came, user=person_user(person))
            left = start + dt.timedelta(minutes=10, seconds=rng.randrange(0, 90))
            if i == 3:
                left = start + dt.timedelta(minutes=5)  # called away half-way: half the credit
            if rng.random() < 0.8 or i == 3:
                checkin.check_out(talk, person, checkin.step_of(left), now=left)
        checkin.close_checkin(talk, now=start + dt.timedelta(minutes=13))


def person_user(person: Person) -> Any:
    """The person's account, if any."""
    from lms.org.models import User

    return db.session.scalar(select(User).where(User.person_id == person.id))
