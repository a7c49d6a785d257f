"""The hazard demo: every state, overdue and major ones, photos, idempotent."""

from __future__ import annotations

import datetime as dt
import random
from types import SimpleNamespace

from sqlalchemy import func, select

from lms.core.db import utcnow
from lms.hazards import demo, services
from lms.hazards.models import STATUSES, Hazard, HazardPhoto


def test_demo_covers_every_state_and_is_idempotent(session, enterprise, make_person, app):
    manager = make_person(enterprise, name="陆华", department="安全环保部", app_role="manager").user
    for dept in (
        "一车间/甲班",
        "二车间/乙班",
        "三车间/焊接班",
        "设备动力部/电工班",
        "仓储物流部",
        "总经理办公室",
    ):
        make_person(enterprise, department=dept)
    learner = make_person(enterprise, name="唐军杰", department="一车间/甲班").user
    ctx = SimpleNamespace(
        accounts={"manager": manager, "learner": learner},
        today=dt.date.today(),
        rng=random.Random(1),
        echo=print,
    )
    demo.load(enterprise, ctx)
    hazards = list(
        session.scalars(select(Hazard).where(Hazard.enterprise_id == enterprise.id).order_by(Hazard.id))
    )
    assert len(hazards) >= 12
    assert {h.status for h in hazards} == set(STATUSES)
    assert any(h.anonymous for h in hazards) and any(h.grade == "major" for h in hazards)
    now = utcnow()
    counts = services.hazard_counts([enterprise.id], now)[enterprise.id]
    assert counts["overdue"] >= 2 and counts["major_overdue"] >= 1 and counts["major_open"] >= 2
    assert session.scalar(select(func.count(HazardPhoto.id))) >= len(hazards)
    assert all(h.events[0].action == "report" for h in hazards)
    demo.load(enterprise, ctx)
    assert session.scalar(select(func.count(Hazard.id)).where(Hazard.enterprise_id == enterprise.id)) == len(
        hazards
    )
