"""Fixtures for the culture tests: a small enterprise with two teams, the demonstration-post preset, a campaign."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from lms.core.db import db
from lms.core.timeutil import today as local_today  # the enterprise's calendar day (Asia/Shanghai)

TODAY = local_today()


def fill_manual(campaign: Any, actor: Any, value: Any = 9) -> None:
    """Give every manual indicator of every unit a review score."""
    from lms.culture import campaigns, score_entry

    snap = campaigns.campaign_snapshot(campaign)
    manual = [i for i in score_entry.scorable_indicators(snap) if i["kind"] == "manual"]
    for unit in campaign.units:
        score_entry.record_scores(
            campaign, unit, {i["id"]: (value, "现场检查记录") for i in manual}, actor=actor
        )
    db.session.commit()


@pytest.fixture
def world(enterprise: Any, make_person: Any) -> dict[str, Any]:
    """Two teams on the post 操作工; team B has a person with no training at all (veto)."""
    from lms.culture import campaigns, frameworks
    from lms.ledger import services as ledger

    manager = make_person(
        enterprise,
        name="陆经理",
        department="安全环保部",
        post="安全总监",
        app_role="manager",
        roles=("安全生产管理人员",),
    )
    evaluator = make_person(
        enterprise, name="罗评", department="三车间", post="班组长", app_role="evaluator", roles=("班组长",)
    )
    outsider_eval = make_person(
        enterprise, name="未分配", department="三车间", post="班组长", app_role="evaluator"
    )
    leader_a = make_person(
        enterprise, name="甲班长", department="一车间/甲班", post="操作工", roles=("班组长",)
    )
    a1 = make_person(enterprise, name="甲一", department="一车间/甲班", post="操作工")
    b1 = make_person(enterprise, name="乙一", department="一车间/乙班", post="操作工")
    b2 = make_person(enterprise, name="乙二", department="一车间/乙班", post="操作工")
    start, end = campaigns.period_bounds("quarter", *campaigns.quarter_of(TODAY))
    when = dt.datetime.combine(start, dt.time(9))
    for p in (leader_a, a1, b1):
        ledger.record(
            p,
            kind="offline",
            topic="年度再培训",
            source=f"t:annual:{p.id}",
            hours=20,
            completed_at=when,
            category="法律法规",
        )
        ledger.record(
            p,
            kind="exam",
            topic="季度考试",
            source=f"t:exam:{p.id}",
            hours=0,
            score=90,
            passed=True,
            completed_at=when,
        )
    fw = frameworks.install_preset(enterprise.id, "demonstration_post")
    post_id = a1.post_id
    campaign = campaigns.create_campaign(
        enterprise.id,
        fw,
        name="本季度示范岗",
        period_kind="quarter",
        year=start.year,
        quarter=campaigns.quarter_of(TODAY)[1],
        unit_kind="department_post",
        units=[(a1.department_id, post_id), (b1.department_id, post_id)],
        evaluator_ids=[evaluator.user.id, manager.user.id],
        actor=manager.user,
    )
    # Committed (to the test's outer transaction, rolled back at its end): an error page in a view rolls the
    # session back, which must not take the fixture's data with it.
    db.session.commit()
    return {
        "enterprise": enterprise,
        "manager": manager,
        "evaluator": evaluator,
        "outsider_eval": outsider_eval,
        "leader_a": leader_a,
        "a1": a1,
        "b1": b1,
        "b2": b2,
        "framework": fw,
        "campaign": campaign,
        "start": start,
        "end": end,
        "unit_a": campaign.units[0],
        "unit_b": campaign.units[1],
    }


def after_period(w: dict[str, Any]) -> dt.date:
    """The first day after the campaign's period: results calculated then are final, not provisional."""
    return w["end"] + dt.timedelta(days=1)


def calculate_final(w: dict[str, Any]) -> None:
    """Calculate the campaign as after its period ended (values as of today, as the tests always had them)."""
    from lms.culture import lifecycle

    lifecycle.calculate(w["campaign"], as_of=TODAY, today=after_period(w))


def run_to_published(w: dict[str, Any], value: Any = 9) -> Any:
    from lms.culture import lifecycle

    c = w["campaign"]
    lifecycle.start_self_assessment(c)
    lifecycle.start_review(c)
    fill_manual(c, w["evaluator"].user, value)
    # Publishing needs the period to be over (before, results are provisional): calculate as after it.
    calculate_final(w)
    lifecycle.publish(c)
    db.session.commit()
    return c


D = Decimal
