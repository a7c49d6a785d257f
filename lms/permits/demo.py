"""Demo permits: the eight presets, internal 受限空间 certificates, and saved permits in DEMO, one refused.

Idempotent: a second run changes nothing. The people are chosen from the demo's own training status (the read
lms.training gives every page), so the stories hold whatever day the demo is loaded: the learner GA1010 (or the
first compliant person) works in a confined space with a compliant watcher; a refused permit names someone whose
yearly retraining is not done and someone whose confined-space certificate has lapsed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from certificates import services as certificates
from certificates.models import KIND_MANUAL, Certificate
from lms.core.db import db
from lms.org.models import PERSON_ACTIVE, Enterprise, Person
from lms.permits import services
from lms.permits.models import APPROVED, REFUSED, Permit, PermitWork
from lms.permits.presets import ANNUAL, load_presets
from lms.training.models import COMPLIANT, OVERDUE, Requirement
from lms.training.status import statuses

CONFINED_TITLE = "受限空间作业安全培训合格证"
LEARNER_NO = "GA1010"


def _issue(person: Person, issued: dt.date, until: dt.date) -> None:
    certificates.issue(
        person,
        kind=KIND_MANUAL,
        source=f"permits-demo:confined-space:person:{person.id}",
        title=CONFINED_TITLE,
        hours=8,
        issued_on=issued,
        valid_until=until,
    )


def load(enterprise: Enterprise, ctx: Any) -> None:
    """Load the presets and the demo permits into ``enterprise``."""
    load_presets(enterprise)
    if db.session.scalar(select(Permit.id).where(Permit.enterprise_id == enterprise.id).limit(1)) is not None:
        return
    work = db.session.scalar(
        select(PermitWork).where(
            PermitWork.enterprise_id == enterprise.id, PermitWork.key == "confined_space"
        )
    )
    annual = db.session.scalar(
        select(Requirement).where(
            Requirement.enterprise_id == enterprise.id, Requirement.preset_key == ANNUAL
        )
    )
    if work is None or annual is None:
        return
    day = ctx.today
    rows = statuses(enterprise.id, day, requirement_ids=[annual.id])
    people = {
        p.id: p
        for p in db.session.scalars(
            select(Person).where(Person.enterprise_id == enterprise.id, Person.status == PERSON_ACTIVE)
        )
    }
    by_no = sorted((p for p in people.values()), key=lambda p: (p.employee_no, p.id))
    status_of = {r["person_id"]: r["status"] for r in rows}
    compliant = [p for p in by_no if status_of.get(p.id) in COMPLIANT and p.hire_date and p.hire_date < day]
    late = [p for p in by_no if status_of.get(p.id) == OVERDUE] or [
        p for p in by_no if p.id in status_of and status_of[p.id] not in COMPLIANT
    ]
    if len(compliant) < 6 or not late:
        return
    learner = next((p for p in compliant if p.employee_no == LEARNER_NO), None)
    # Not the demo accounts' own people (the manager and trainer sign the permits; they are not the workers).
    accounts = {u.person_id for u in ctx.accounts.values() if u.person_id}
    others = [p for p in compliant if p.employee_no != LEARNER_NO and p.id not in accounts]
    late = [p for p in late if p.id not in accounts] or late
    worker = learner or others.pop(0)
    held = set(db.session.scalars(select(Certificate.person_id).where(Certificate.title.like("%受限空间%"))))
    # whose certificate lapses: someone holding no other confined-space certificate (it would still count)
    lapsed = next((p for p in others if p.id not in held), others[1])
    others.remove(lapsed)
    watcher, second = others[0], others[1]
    overdue = late[0]
    for p in (worker, watcher, overdue, second):
        _issue(p, day - dt.timedelta(days=120), day + dt.timedelta(days=2 * 365))
    _issue(lapsed, day - dt.timedelta(days=3 * 365), day - dt.timedelta(days=20))  # lapsed 20 days ago

    manager = ctx.accounts["manager"]
    trainer = ctx.accounts["trainer"]
    start = dt.datetime.combine(day, dt.time(9, 0))
    services.save_permit(
        work,
        [(worker, "作业人员"), (watcher, "监护人")],
        place="二车间 T-201 储罐内部清理",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=8),
        status=APPROVED,
        actor=manager,
        note="罐内气体分析合格后方可进入；每2小时复测一次。",
    )
    services.save_permit(
        work,
        [(overdue, "作业人员"), (lapsed, "监护人")],
        place="污水处理站 集水井检修",
        starts_at=start + dt.timedelta(hours=1),
        ends_at=start + dt.timedelta(hours=5),
        status=REFUSED,
        actor=manager,
        note="作业人员年度再培训逾期、监护人受限空间证书已失效，不予批准；另行安排人员。",
    )
    services.save_permit(
        work,
        [(second, "作业人员"), (watcher, "监护人")],
        place="一车间 反应釜 R-103 内检",
        starts_at=start + dt.timedelta(days=1),
        ends_at=start + dt.timedelta(days=1, hours=6),
        status=APPROVED,
        actor=trainer,
    )
    hot = db.session.scalar(
        select(PermitWork).where(PermitWork.enterprise_id == enterprise.id, PermitWork.key == "hot_work")
    )
    if hot is not None:
        welder = _qualified_for(
            hot, "作业人员", [p for p in compliant if p not in (worker, watcher, lapsed, second)], day
        )
        if welder is not None:
            services.save_permit(
                hot,
                [(welder, "作业人员"), (watcher, "监护人")],
                place="罐区 管廊 DN150 管线补焊",
                starts_at=start + dt.timedelta(hours=2),
                ends_at=start + dt.timedelta(hours=6),
                status=APPROVED,
                actor=manager,
            )
    ctx.extra["permits"] = {
        "qualified": worker.employee_no,
        "overdue": overdue.employee_no,
        "lapsed": lapsed.employee_no,
    }


def _qualified_for(work: PermitWork, role: str, candidates: list[Person], day: dt.date) -> Person | None:
    """The first candidate holding a valid welding certificate (demo certificates are random), or None."""
    from lms.ledger.models import KIND_CERTIFICATE, TrainingRecord
    from lms.training.status import SPECIAL_OPERATIONS_CATEGORY

    ids = {c.id for c in candidates}
    holders = db.session.scalars(
        select(TrainingRecord.person_id)
        .where(
            TrainingRecord.kind == KIND_CERTIFICATE,
            TrainingRecord.category == SPECIAL_OPERATIONS_CATEGORY,
            TrainingRecord.topic.like("%焊接%"),
            TrainingRecord.voided_at.is_(None),
        )
        .order_by(TrainingRecord.person_id)
    ).all()
    for pid in dict.fromkeys(holders):
        if pid not in ids:
            continue
        person = db.session.get(Person, pid)
        if person is not None and services.check(work, [(person, role)], day).qualified:
            return person
    return None
