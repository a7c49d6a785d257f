"""The training demo shows the statutory rules: pre-job training before the start, reviewed special-operations
certificates, and two people back after more than a year away (one retrained, one not yet)."""

from __future__ import annotations

import datetime as dt
import random
from types import SimpleNamespace

from sqlalchemy import select

from lms.core.db import db
from lms.core.timeutil import today as local_today  # the enterprise's calendar day (Asia/Shanghai)
from lms.org.models import Person
from lms.training import demo
from lms.training.models import Requirement
from lms.training.status import statuses


def test_demo_shows_the_statutory_rules(make_enterprise, make_person):
    ent = make_enterprise(industry="危险化学品")
    assert ent.high_risk
    for i in range(12):
        make_person(
            ent,
            employee_no=f"D{i:03d}",
            hire_date=dt.date(2019, 1 + i % 12, 10),
            roles=("特种作业人员",) if i % 3 == 0 else ("一线从业人员",),
        )
    today = local_today()
    ctx = SimpleNamespace(today=today, rng=random.Random(3), accounts={}, echo=lambda *_a: None)
    demo.load(ent, ctx)
    demo.load(ent, ctx)  # idempotent
    reqs = {
        r.preset_key: r
        for r in db.session.scalars(select(Requirement).where(Requirement.enterprise_id == ent.id))
    }
    rows = statuses(ent.id, today)
    prejob = [r for r in rows if r["requirement_id"] == reqs["new_hire_prejob"].id]
    assert prejob and sum(r["status"] == "complete" for r in prejob) >= len(prejob) // 2
    assert all(r["due_on"] >= today for r in rows if r["status"] == "due_soon")
    back = db.session.scalars(
        select(Person)
        .where(Person.enterprise_id == ent.id, Person.returned_on.is_not(None))
        .order_by(Person.employee_no)
    ).all()
    assert len(back) == 2
    three = {r["person_id"]: r["status"] for r in rows if r["requirement_id"] == reqs["three_level"].id}
    assert three[back[0].id] == "complete" and three[back[1].id] != "complete"
