"""Frameworks, the campaign flow, automatic indicators, vetoes, freezing, notices: through services."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal as D

import pytest

from lms.core.db import db
from lms.core.errors import Conflict, DomainError, Forbidden
from lms.core.timeutil import today as local_today  # the enterprise's calendar day (Asia/Shanghai)
from lms.culture import campaigns, frameworks, indicators, lifecycle, notices, results, score_entry
from lms.culture.models import Indicator
from tests.culture.conftest import calculate_final, fill_manual, run_to_published

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_presets_are_valid_and_tagged(enterprise):
    culture = frameworks.install_preset(enterprise.id, "culture_aqt9004")
    post = frameworks.install_preset(enterprise.id, "demonstration_post")
    frameworks.validate_weights(culture)
    frameworks.validate_weights(post)
    tops = [i.name for i in culture.indicators if i.parent_id is None]
    assert tops[:7] == [
        "安全承诺",
        "行为规范与程序",
        "安全行为激励",
        "安全信息传播与沟通",
        "自主学习与改进",
        "安全事务参与",
        "审核与评估",
    ]
    leaves = [i for i in culture.indicators if i.kind != "group"]
    assert {i.layer for i in leaves} == {"理念文化", "制度文化", "行为文化", "物态文化"}
    vetoes = [i for i in post.indicators if i.kind == "veto"]
    assert len(vetoes) == 3 and any((i.config or {}).get("metric") == "overdue_people" for i in vetoes)
    assert frameworks.install_preset(enterprise.id, "demonstration_post").id == post.id  # idempotent


def test_weights_validation_names_the_level(enterprise):
    fw = frameworks.create_framework(enterprise.id, "自定义", "post")
    g = frameworks.save_indicator(fw, name="安全培训", kind="group", weight=100)
    frameworks.save_indicator(
        fw, name="覆盖率", kind="automatic", parent_id=g.id, weight=60, metric="training_coverage"
    )
    frameworks.save_indicator(fw, name="现场", kind="manual", parent_id=g.id, weight=30, scale_max=10)
    with pytest.raises(DomainError, match="安全培训.*90"):
        frameworks.validate_weights(fw)
    with pytest.raises(DomainError):
        frameworks.save_indicator(fw, name="x", kind="automatic", weight=10, metric="nope")
    with pytest.raises(DomainError):
        frameworks.save_indicator(fw, name="x", kind="manual", weight=0)


def test_full_campaign_flow_with_veto_and_award(world):
    c, ev = world["campaign"], world["evaluator"].user
    with pytest.raises(Conflict):
        lifecycle.calculate(c)
    lifecycle.start_self_assessment(c)
    unit_a = world["unit_a"]
    leader = world["leader_a"].user
    assert unit_a.leader_user_id == leader.id  # the 班组长 of the team fills the self-assessment
    snap = campaigns.campaign_snapshot(c)
    manual = [i for i in score_entry.scorable_indicators(snap) if i["kind"] == "manual"]
    score_entry.record_scores(
        c,
        unit_a,
        {manual[0]["id"]: (8, "自评")},
        actor=leader,
        files={manual[0]["id"]: [(io.BytesIO(PNG), "board.png")]},
    )
    with pytest.raises(DomainError):
        score_entry.record_scores(
            c,
            unit_a,
            {manual[0]["id"]: (8, None)},
            actor=leader,
            files={manual[0]["id"]: [(io.BytesIO(b"MZ\x90\x00evil"), "photo.jpg")]},
        )
    score_entry.submit_self_assessment(c, unit_a, leader)
    with pytest.raises(Forbidden):  # an evaluator cannot score during self-assessment
        score_entry.record_scores(c, unit_a, {manual[0]["id"]: (8, None)}, actor=ev)
    lifecycle.start_review(c)
    with pytest.raises(Forbidden):
        score_entry.record_scores(c, unit_a, {manual[0]["id"]: (8, None)}, actor=world["outsider_eval"].user)
    with pytest.raises(DomainError, match="scores missing"):
        lifecycle.calculate(c)
    with pytest.raises(DomainError):
        score_entry.record_scores(c, unit_a, {manual[1]["id"]: (11, None)}, actor=ev)
    fill_manual(c, ev, 10)
    score_entry.complete_review(c, unit_a, ev)
    lifecycle.calculate(c)
    a, b = world["unit_a"], world["unit_b"]
    assert not a.vetoed
    assert b.vetoed and "人员未经培训或特种作业证过期上岗" in b.veto_reasons  # 乙二 has no training at all
    auto = results.auto_values(b)
    overdue = next(v for v in auto.values() if v.metric == "overdue_people")
    assert overdue.value == 1 and overdue.detail["people"][0]["name"] == "乙二"
    assert a.rank == 1 and b.rank == 2
    assert a.score > D(90), a.breakdown
    # The quarter is not over: the results are provisional and cannot be published yet.
    assert c.provisional
    with pytest.raises(Conflict, match="provisional"):
        lifecycle.publish(c)
    calculate_final(world)
    assert not c.provisional
    lifecycle.publish(c)
    winners = lifecycle.award(c)
    assert [u.id for u in winners] == [a.id]
    lifecycle.close(c)
    assert c.status == "closed"


def test_automatic_values_are_frozen_after_publication(world, make_person):
    from lms.ledger import services as ledger

    c = run_to_published(world)
    b = world["unit_b"]
    before = (b.score, b.vetoed, dict(b.breakdown))
    # The ledger changes after publication: 乙二 is trained, a new untrained person joins team B.
    ledger.record(
        world["b2"],
        kind="offline",
        topic="补训",
        source="t:late",
        hours=30,
        completed_at=dt.datetime.combine(world["start"], dt.time(10)),
    )
    make_person(world["enterprise"], name="乙三", department="一车间/乙班", post="操作工")
    db.session.flush()
    with pytest.raises(Conflict):
        lifecycle.calculate(c)
    # Editing the framework is refused too, and the frozen values reproduce the published result.
    with pytest.raises(Conflict):
        frameworks.save_indicator(world["framework"], name="新指标", kind="manual", weight=5)
    again = lifecycle.reproduce(c, b)
    assert (again.score, again.vetoed) == before[:2]
    assert again.breakdown == before[2]
    lifecycle.award(c)
    lifecycle.close(c)
    assert lifecycle.reproduce(c, b).score == before[0]


def test_recalculation_before_publication_picks_up_new_data(world):
    from lms.ledger import services as ledger

    c = world["campaign"]
    lifecycle.start_self_assessment(c)
    lifecycle.start_review(c)
    fill_manual(c, world["evaluator"].user)
    lifecycle.calculate(c)
    assert world["unit_b"].vetoed
    ledger.record(
        world["b2"],
        kind="offline",
        topic="补训",
        source="t:late",
        hours=30,
        completed_at=dt.datetime.combine(world["start"], dt.time(10)),
    )
    lifecycle.calculate(c)
    assert not world["unit_b"].vetoed


def test_indicator_registry(world):
    ent = world["enterprise"]
    unit = indicators.Unit(ent.id, world["b1"].department_id, world["b1"].post_id)
    s, e = world["start"], world["end"]
    cov = indicators.compute("training_coverage", ent.id, unit, s, e, e)
    assert cov.value == D("0.5") and cov.detail["headcount"] == 2
    hours = indicators.compute("hours_per_head", ent.id, unit, s, e, e)
    assert hours.detail["hours_per_head"] == "10.00"
    exam = indicators.compute("exam_pass_rate", ent.id, unit, s, e, e)
    assert exam.value == 1
    avg = indicators.compute("exam_average_score", ent.id, unit, s, e, e)
    assert avg.value == D("90.00")
    assert exam.detail["method"].startswith("ledger:")  # no graded quiz attempt: the ledger's exam records
    att = indicators.compute("attendance_rate", ent.id, unit, s, e, e)
    assert att.detail["method"].startswith("lms.offline.services.attendance_rate")
    assert att.value is None  # no session was planned for them
    assert indicators.compute("notice_ack_rate", ent.id, unit, s, e, e).value is None
    assert set(indicators.METRICS) >= {
        "training_coverage",
        "on_time_completion",
        "hours_per_head",
        "exam_pass_rate",
        "exam_average_score",
        "attendance_rate",
        "missed_required_sessions",
        "notice_ack_rate",
        "overdue_people",
    }


def test_notices_acknowledgement_rate(world, make_person):
    ent, mgr = world["enterprise"], world["manager"].user
    from lms.org.services import ensure_department

    dept = ensure_department(ent.id, "一车间")
    n = notices.save_notice(
        ent.id,
        title="关于加强有限空间作业管理的通知",
        body_md="**注意**<script>alert(1)</script> [链接](javascript:alert(1))",
        targets=[("department", dept.id)],
        audience_all=False,
        actor=mgr,
    )
    assert "<script" not in n.body_html and "javascript:" not in n.body_html and "<strong>" in n.body_html
    assert notices.publish_notice(n, mgr) == 4  # 甲班长, 甲一, 乙一, 乙二
    assert notices.unacknowledged_count(world["b1"].id) == 1
    assert notices.acknowledge(n, world["b1"].id) is True
    assert notices.acknowledge(n, world["b1"].id) is False
    assert notices.unacknowledged_count(world["b1"].id) == 0
    assert notices.ack_stats([n.id])[n.id] == (4, 1)
    assert {p.name for p, _ in notices.recipients(n, pending_only=True)} == {"甲班长", "甲一", "乙二"}
    unit = indicators.Unit(ent.id, world["b1"].department_id, world["b1"].post_id)
    rate = indicators.compute("notice_ack_rate", ent.id, unit, world["start"], world["end"], world["end"])
    assert rate.value == D("0.5")
    rec = notices.record_publicity(
        n,
        held_on=local_today(),
        place="一车间宣传栏",
        note=None,
        actor=mgr,
        photo=(io.BytesIO(PNG), "board.png"),
    )
    assert rec.photo_file_id
    with pytest.raises(DomainError):
        notices.record_publicity(
            n,
            held_on=local_today(),
            place="x",
            note=None,
            actor=mgr,
            photo=(io.BytesIO(b"<html>"), "board.png"),
        )
    with pytest.raises(Conflict):
        notices.save_notice(ent.id, title="x", body_md="", targets=[], audience_all=True, actor=mgr, notice=n)


def test_notice_to_role_and_everyone(world):
    ent, mgr = world["enterprise"], world["manager"].user
    from lms.org.services import roles_by_name

    role = roles_by_name(ent.id)["班组长"]
    n = notices.save_notice(
        ent.id, title="班组长会议", body_md="", targets=[("role", role.id)], audience_all=False, actor=mgr
    )
    assert notices.publish_notice(n, mgr) == 2
    everyone = notices.save_notice(ent.id, title="全员", body_md="", targets=[], audience_all=True, actor=mgr)
    assert notices.publish_notice(everyone, mgr) == 7


def test_culture_index_and_trends(world, enterprise):
    c = run_to_published(world)
    assert results.trends(enterprise.id, "post")[-1]["campaign"].id == c.id
    assert results.culture_index(enterprise.id) is None
    fw = frameworks.install_preset(enterprise.id, "culture_aqt9004")
    cc = campaigns.create_campaign(
        enterprise.id,
        fw,
        name="年度安全文化评价",
        period_kind="year",
        year=world["start"].year,
        quarter=None,
        unit_kind="department",
        units=[(world["a1"].department_id, None)],
        evaluator_ids=[world["evaluator"].user.id],
        actor=world["manager"].user,
    )
    run_to_published({**world, "campaign": cc}, value=8)
    idx = results.culture_index(enterprise.id)
    assert idx["campaign"].id == cc.id and idx["index"] > 0
    assert {name for name, _ in idx["layers"]} == {"理念文化", "制度文化", "行为文化", "物态文化"}


def test_indicator_cannot_be_moved_below_itself(enterprise):
    fw = frameworks.create_framework(enterprise.id, "树", "culture")
    g = frameworks.save_indicator(fw, name="组", kind="group", weight=100)
    sub = frameworks.save_indicator(fw, name="子组", kind="group", parent_id=g.id, weight=100)
    with pytest.raises(DomainError):
        frameworks.save_indicator(fw, indicator=g, name="组", kind="group", parent_id=sub.id, weight=100)
    frameworks.delete_indicator(g)
    assert db.session.get(Indicator, sub.id) is None
