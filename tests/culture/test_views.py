"""Pages by role: managers run campaigns and notices, assigned evaluators score, learners see published
results and their notices, other enterprises get 404."""

from __future__ import annotations

import io

from lms.core.db import db
from lms.culture import campaigns, frameworks, lifecycle, notices, score_entry
from tests.conftest import login
from tests.culture.conftest import calculate_final, fill_manual, run_to_published


def test_manager_pages_and_flow(client, world):
    login(client, world["manager"].user)
    c = world["campaign"]
    for url in (
        "/culture/",
        "/culture/frameworks",
        f"/culture/frameworks/{world['framework'].id}",
        "/culture/campaigns",
        "/culture/campaigns/new",
        f"/culture/campaigns/{c.id}",
        "/culture/notices",
        "/culture/notices/new",
    ):
        assert client.get(url).status_code == 200, url
    assert (
        client.post(f"/culture/campaigns/{c.id}/action", data={"action": "start_self_assessment"}).status_code
        == 302
    )
    assert c.status == "self_assessment"
    client.post(f"/culture/campaigns/{c.id}/action", data={"action": "start_review"})
    fill_manual(c, world["evaluator"].user)
    client.post(f"/culture/campaigns/{c.id}/action", data={"action": "calculate"})
    assert c.status == "calculated"
    resp = client.get(f"/culture/campaigns/{c.id}/results")
    assert resp.status_code == 200 and "<svg" in resp.text and world["unit_b"].label in resp.text
    # The quarter is not over: the results are provisional and publishing them is refused.
    client.post(f"/culture/campaigns/{c.id}/action", data={"action": "publish"})
    assert c.status == "calculated"
    calculate_final(world)
    db.session.commit()
    client.post(f"/culture/campaigns/{c.id}/action", data={"action": "publish"})
    assert c.status == "published"
    resp = client.get(f"/culture/campaigns/{c.id}/units/{world['unit_b'].id}")
    assert resp.status_code == 200 and "乙二" in resp.text  # who caused the veto, for staff


def test_framework_editing_by_form(client, world, enterprise):
    login(client, world["manager"].user)
    fw = frameworks.create_framework(enterprise.id, "新表", "post")
    db.session.commit()
    resp = client.post(
        f"/culture/frameworks/{fw.id}/indicators",
        data={
            "name": "培训覆盖率",
            "kind": "automatic",
            "parent_id": 0,
            "weight": "100",
            "layer": "",
            "metric": "training_coverage",
            "mapping_type": "bands",
            "bands": "1:100, 0.9:80",
        },
    )
    assert resp.status_code == 302
    from sqlalchemy import select

    from lms.culture.models import Indicator

    ind = db.session.scalar(select(Indicator).where(Indicator.framework_id == fw.id))
    assert ind.config["mapping"] == {
        "type": "bands",
        "bands": [[1.0, 100.0], [0.9, 80.0]],
        "lower_is_better": False,
    }
    assert client.get(f"/culture/frameworks/{fw.id}?edit={ind.id}").status_code == 200
    resp = client.post(
        f"/culture/frameworks/{fw.id}/indicators",
        data={
            "name": "x",
            "kind": "manual",
            "parent_id": 0,
            "weight": "0",
            "layer": "",
            "metric": "",
            "mapping_type": "linear",
        },
        follow_redirects=True,
    )
    assert "weight" in resp.text or "权重" in resp.text


def test_evaluator_assigned_scores_not_assigned_gets_404(client, world):
    c = world["campaign"]
    lifecycle.start_self_assessment(c)
    lifecycle.start_review(c)
    db.session.commit()
    unit = world["unit_a"]
    login(client, world["outsider_eval"].user)
    assert client.get(f"/culture/campaigns/{c.id}").status_code == 404
    assert client.get(f"/culture/campaigns/{c.id}/units/{unit.id}/score").status_code == 404
    assert client.post(f"/culture/campaigns/{c.id}/action", data={"action": "calculate"}).status_code == 403
    client.post("/logout")
    login(client, world["evaluator"].user)
    assert client.get(f"/culture/campaigns/{c.id}").status_code == 200
    resp = client.get(f"/culture/campaigns/{c.id}/units/{unit.id}/score")
    assert resp.status_code == 200
    manual = [
        i for i in score_entry.scorable_indicators(campaigns.campaign_snapshot(c)) if i["kind"] == "manual"
    ]
    data = {f"value_{i['id']}": "9" for i in manual}
    data[f"files_{manual[0]['id']}"] = (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "记录.pdf")
    resp = client.post(
        f"/culture/campaigns/{c.id}/units/{unit.id}/score",
        data={**data, "then": "submit"},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    assert unit.reviewed_at is not None
    att = score_entry.scores_of(unit)[(manual[0]["id"], "review")].attachments[0]
    assert client.get(f"/culture/campaigns/{c.id}/files/{att.id}").status_code == 200
    assert client.get("/culture/frameworks").status_code == 403


def test_learner_sees_published_results_and_notices_only(client, world):
    c = world["campaign"]
    learner = world["b1"].user
    login(client, learner)
    assert client.get(f"/culture/campaigns/{c.id}").status_code == 404  # draft: not for learners
    run_to_published(world)
    assert client.get(f"/culture/campaigns/{c.id}").status_code == 200
    assert client.get(f"/culture/campaigns/{c.id}/results").status_code == 200
    assert client.get(f"/culture/campaigns/{c.id}/report.pdf").status_code == 200
    assert client.get(f"/culture/campaigns/{c.id}/action").status_code == 405
    assert client.post(f"/culture/campaigns/{c.id}/action", data={"action": "close"}).status_code == 403
    assert client.get("/culture/notices/new").status_code == 403
    mgr = world["manager"].user
    mine = notices.save_notice(
        c.enterprise_id,
        title="致乙班",
        body_md="请签收",
        audience_all=False,
        targets=[("department", world["b1"].department_id)],
        actor=mgr,
    )
    other = notices.save_notice(
        c.enterprise_id,
        title="致甲班",
        body_md="x",
        audience_all=False,
        targets=[("department", world["a1"].department_id)],
        actor=mgr,
    )
    notices.publish_notice(mine, mgr)
    notices.publish_notice(other, mgr)
    db.session.commit()
    resp = client.get("/culture/notices")
    assert "致乙班" in resp.text and "致甲班" not in resp.text
    assert 'badge-overdue">1<' in resp.text  # the unread count in the menu
    assert client.get(f"/culture/notices/{other.id}").status_code == 404
    assert client.post(f"/culture/notices/{other.id}/ack").status_code == 404
    assert client.post(f"/culture/notices/{mine.id}/ack").status_code == 302
    assert notices.unacknowledged_count(world["b1"].id) == 0


def test_other_enterprise_gets_404(client, world, make_enterprise, make_person):
    c = run_to_published(world)
    n = notices.save_notice(
        c.enterprise_id, title="内部", body_md="", audience_all=True, targets=[], actor=world["manager"].user
    )
    notices.publish_notice(n, world["manager"].user)
    other = make_enterprise()
    boss = make_person(other, app_role="manager")
    db.session.commit()
    login(client, boss.user)
    for url in (
        f"/culture/campaigns/{c.id}",
        f"/culture/campaigns/{c.id}/results",
        f"/culture/campaigns/{c.id}/report.xlsx",
        f"/culture/frameworks/{world['framework'].id}",
        f"/culture/notices/{n.id}",
        f"/culture/campaigns/{c.id}/units/{world['unit_a'].id}",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/culture/campaigns/{c.id}/action", data={"action": "close"}).status_code == 404


def test_manager_publishes_notice_and_records_publicity(client, world):
    login(client, world["manager"].user)
    resp = client.post(
        "/culture/notices/new",
        data={
            "title": "节前安全检查通知",
            "body": "- 检查消防器材\n- 清理通道",
            "departments": [world["a1"].department_id],
            "then": "publish",
            "files": (io.BytesIO(b"%PDF-1.4 test"), "检查表.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    from sqlalchemy import select

    from lms.culture.models import Notice

    n = db.session.scalar(select(Notice).where(Notice.title == "节前安全检查通知"))
    assert n.status == "published" and len(n.attachments) == 1
    page = client.get(f"/culture/notices/{n.id}")
    assert page.status_code == 200 and "甲一" in page.text and "<li>检查消防器材</li>" in page.text
    resp = client.post(
        f"/culture/notices/{n.id}/publicity",
        data={
            "held_on": "2026-01-05",
            "place": "一车间宣传栏",
            "photo": (io.BytesIO(b"\xff\xd8\xff\xe0jpeg"), "板报.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302 and n.publicity[0].photo_file_id
    assert client.get(f"/culture/notices/{n.id}/files/{n.publicity[0].photo_file_id}").status_code == 200
    x = client.get(f"/culture/notices/{n.id}/pending.xlsx")
    assert x.status_code == 200 and x.data[:2] == b"PK"
