"""A confined-space scene on fixed dates: one qualified, one with the yearly retraining overdue, one whose
internal confined-space certificate lapsed, and a welder with a special-operations certificate."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from lms.core.db import db

DAY = dt.date(2026, 6, 15)  # the day of the work in most tests (a past day: status is computed for it)
CONFINED = "受限空间作业安全培训合格证"


@dataclass
class Scene:
    ent: Any
    work: Any  # 受限空间作业
    hot: Any  # 动火作业
    ok: Any
    overdue: Any
    lapsed: Any
    welder: Any
    manager: Any
    trainer: Any


def hours(person: Any, year: int, n: int = 10) -> None:
    from lms.ledger.services import record

    record(
        person,
        kind="offline",
        topic=f"{year}年度安全再培训",
        source=f"test-annual:{year}:{person.id}",
        hours=n,
        completed_at=dt.datetime(year, 3, 10, 2, 0),
        category="安全生产",
    )


def confined_cert(person: Any, issued: dt.date, until: dt.date | None) -> Any:
    from certificates.services import issue

    return issue(
        person,
        kind="manual",
        source=f"test-confined:{person.id}:{issued}",
        title=CONFINED,
        hours=8,
        issued_on=issued,
        valid_until=until,
    ).certificate


def special_ops(
    person: Any, topic: str, issued: dt.date, until: dt.date, number: str, reviewed: dt.date | None = None
) -> None:
    from lms.ledger.services import record
    from lms.training.status import SPECIAL_OPERATIONS_CATEGORY

    record(
        person,
        kind="certificate",
        topic=topic,
        source=f"test-special:{number}",
        category=SPECIAL_OPERATIONS_CATEGORY,
        certificate_no=number,
        valid_until=until,
        completed_at=dt.datetime.combine(issued, dt.time(1, 0)),
    )
    if reviewed is not None:
        record(
            person,
            kind="certificate",
            topic=f"{topic}（复审）",
            source=f"test-special-review:{number}",
            category=SPECIAL_OPERATIONS_CATEGORY,
            certificate_no=number,
            valid_until=until,
            completed_at=dt.datetime.combine(reviewed, dt.time(1, 0)),
        )


@pytest.fixture
def scene(enterprise: Any, make_person: Any) -> Scene:
    from sqlalchemy import select

    from lms.permits.models import PermitWork
    from lms.permits.presets import load_presets
    from lms.training.presets import apply_presets

    apply_presets(enterprise)
    load_presets(enterprise)
    work = db.session.scalar(
        select(PermitWork).where(
            PermitWork.enterprise_id == enterprise.id, PermitWork.key == "confined_space"
        )
    )
    hot = db.session.scalar(
        select(PermitWork).where(PermitWork.enterprise_id == enterprise.id, PermitWork.key == "hot_work")
    )
    ok = make_person(enterprise, name="秦合格", employee_no="P1001")
    overdue = make_person(enterprise, name="吴逾期", employee_no="P1002")
    lapsed = make_person(enterprise, name="郑过期", employee_no="P1003")
    welder = make_person(enterprise, name="焊工甲", employee_no="P1004")
    for p in (ok, lapsed, welder):
        hours(p, 2025)
        hours(p, 2026)
    hours(overdue, 2024)  # 2025 missed: overdue in 2026
    for p in (ok, overdue, welder):
        confined_cert(p, dt.date(2026, 1, 5), dt.date(2028, 1, 4))
    confined_cert(lapsed, dt.date(2023, 5, 1), dt.date(2026, 5, 31))
    special_ops(
        welder,
        "熔化焊接与热切割作业",
        dt.date(2022, 3, 1),
        dt.date(2028, 2, 28),
        "T320100000001",
        reviewed=dt.date(2025, 2, 20),
    )
    manager = make_person(enterprise, name="陆经理", employee_no="M0001", app_role="manager").user
    trainer = make_person(enterprise, name="戴培训", employee_no="M0002", app_role="trainer").user
    db.session.flush()
    return Scene(enterprise, work, hot, ok, overdue, lapsed, welder, manager, trainer)
