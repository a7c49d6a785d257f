"""Culture evaluation follows its own rules: veto grades 不合格, the evaluator sees what is coming, honest step
messages, and provisional results before the period ends."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from lms.core.db import db
from lms.core.errors import Conflict
from lms.culture import lifecycle, report, scoring
from tests.conftest import login
from tests.culture.conftest import after_period, calculate_final, fill_manual


def _to_review(world):
    c = world["campaign"]
    lifecycle.start_self_assessment(c)
    lifecycle.start_review(c)
    db.session.commit()
    return c


def test_a_vetoed_unit_is_graded_fail_whatever_its_score(world):
    c = _to_review(world)
    fill_manual(c, world["evaluator"].user, 10)  # full marks on every manual indicator
    lifecycle.calculate(c)
    b = world["unit_b"]
    assert b.vetoed and b.score >= Decimal(60), b.score  # a score that a band would call 合格 or better
    assert b.level == "不合格"
    assert world["unit_a"].level != "不合格"
    assert scoring.level_for(Decimal(99), [{"min": 0, "label": "合格"}], vetoed=True) == "不合格"
    assert "不合格" in [row[4] for row in report.ranking_rows(c)]


def test_evaluator_sees_automatic_indicators_and_the_coming_veto_before_scoring(client, world):
    c = _to_review(world)
    preview = lifecycle.indicator_preview(c, world["unit_b"])
    assert preview["vetoes"] and preview["values"]
    login(client, world["evaluator"].user)
    page = client.get(f"/culture/campaigns/{c.id}/units/{world['unit_b'].id}/score").get_data(as_text=True)
    assert "一票否决" in page and "不合格" in page  # the banner: this unit will fail whatever its score
    assert "乙二" in page  # who causes the veto
    assert "自动指标" in page  # the automatic indicators, as they stand today
    page = client.get(f"/culture/campaigns/{c.id}/units/{world['unit_a'].id}/score").get_data(as_text=True)
    assert "不合格" not in page


def test_starting_the_self_assessment_does_not_say_it_is_done(client, world):
    c = world["campaign"]
    login(client, world["manager"].user)
    resp = client.post(
        f"/culture/campaigns/{c.id}/action", data={"action": "start_self_assessment"}, follow_redirects=True
    )
    page = resp.get_data(as_text=True)
    assert c.status == "self_assessment"
    assert "已完成：自评" not in page and "已完成" not in page
    assert "自评已开始" in page


def test_results_before_the_period_ends_are_provisional(client, world):
    c = _to_review(world)
    fill_manual(c, world["evaluator"].user)
    lifecycle.calculate(c)
    assert c.provisional and c.status == "calculated"
    with pytest.raises(Conflict):
        lifecycle.publish(c)
    db.session.commit()
    login(client, world["manager"].user)
    for url in (
        f"/culture/campaigns/{c.id}",
        f"/culture/campaigns/{c.id}/results",
        f"/culture/campaigns/{c.id}/units/{world['unit_a'].id}",
    ):
        assert "暂定" in client.get(url).get_data(as_text=True), url
    pdf = client.get(f"/culture/campaigns/{c.id}/report.pdf").data
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace(" ", "")
    assert "暂定" in text
    # after the period, calculating again gives final results that can be published
    lifecycle.calculate(c, today=after_period(world))
    assert not c.provisional
    lifecycle.publish(c)
    assert c.status == "published"


def test_provisional_flag_follows_the_day_of_calculation(world):
    c = _to_review(world)
    fill_manual(c, world["evaluator"].user)
    calculate_final(world)
    assert not c.provisional
    lifecycle.calculate(c, today=world["end"])  # the last day of the period: not over yet
    assert c.provisional


def test_a_refused_step_is_shown_in_the_readers_language(client, world):
    """The services raise msg(): English text for JSON and the command line, Chinese on the page."""
    c = world["campaign"]
    with pytest.raises(Conflict) as refused:
        lifecycle.publish(c)
    assert refused.value.message == "cannot publish a campaign that is draft"
    login(client, world["manager"].user)
    page = client.post(
        f"/culture/campaigns/{c.id}/action", data={"action": "publish"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "评价活动处于 draft 状态，不能公示" in page and "cannot publish" not in page


def test_the_weight_problem_of_a_framework_is_shown_in_chinese(client, world, enterprise):
    from lms.culture import frameworks

    fw = frameworks.create_framework(enterprise.id, "半成品", "post")
    frameworks.save_indicator(fw, name="现场检查", kind="manual", weight=50)
    db.session.commit()
    login(client, world["manager"].user)
    page = client.get(f"/culture/frameworks/{fw.id}").get_data(as_text=True)
    assert "「半成品」下的权重合计为 50%，必须合计为 100%" in page and "must sum to" not in page
