"""The permits demo: presets, internal confined-space certificates and saved permits (one refused), idempotent."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from sqlalchemy import func, select

from lms.permits import demo
from lms.permits.models import Permit, PermitWork
from tests.permits.conftest import DAY, hours


def test_demo_saves_permits_one_refused_and_is_idempotent(session, scene, make_person):
    for i in range(4):  # enough compliant people for the stories
        p = make_person(scene.ent, name=f"员工{i}", employee_no=f"P30{i}")
        hours(p, 2025)
        hours(p, 2026)
    ctx = SimpleNamespace(
        enterprise=scene.ent,
        accounts={"manager": scene.manager, "trainer": scene.trainer},
        today=DAY,
        extra={},
    )
    demo.load(scene.ent, ctx)
    permits = session.scalars(
        select(Permit).where(Permit.enterprise_id == scene.ent.id).order_by(Permit.id)
    ).all()
    assert [p.status for p in permits][:3] == ["approved", "refused", "approved"]
    refused = permits[1]
    assert [pp.qualified for pp in refused.people] == [False, False]
    codes = sorted(r["code"] for pp in refused.people for r in pp.reasons)
    assert codes[0] == "certificate_expired" and codes[1].startswith("requirement_")
    assert {pp.person_id for pp in permits[0].people}.isdisjoint(
        {scene.manager.person_id, scene.trainer.person_id}
    )
    assert (
        session.scalar(
            select(func.count()).select_from(PermitWork).where(PermitWork.enterprise_id == scene.ent.id)
        )
        == 8
    )
    assert ctx.extra["permits"]["overdue"] == "P1002"
    count = len(permits)
    demo.load(scene.ent, ctx)
    assert (
        session.scalar(select(func.count()).select_from(Permit).where(Permit.enterprise_id == scene.ent.id))
        == count
    )
    assert all(p.starts_at.date() >= dt.date(2026, 6, 15) for p in permits)
