"""Notices addressed to named people found by search; who must acknowledge; adding and removing someone."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lms.core.db import db
from lms.culture import notices
from lms.culture.models import Notice, NoticeAck
from tests.conftest import login


@pytest.fixture
def people(enterprise, make_enterprise, make_person):
    other = make_enterprise()
    return {
        "manager": make_person(enterprise, app_role="manager", name="经理", department="安全环保部"),
        "zhao": make_person(enterprise, name="赵六", employee_no="N001", department="四车间"),
        "qian": make_person(enterprise, name="钱七", employee_no="N002", department="四车间"),
        "sun": make_person(enterprise, name="孙八", employee_no="N003", department="五车间"),
        "stranger": make_person(other, name="赵外人", employee_no="N009", department="四车间"),
        "other": other,
    }


def _recipients(n):
    return db.session.scalars(
        select(NoticeAck.person_id).where(NoticeAck.notice_id == n.id).order_by(NoticeAck.person_id)
    ).all()


def test_notice_to_named_people_then_add_and_remove(client, people):
    p = people
    login(client, p["manager"].user)
    html = client.get("/culture/notices/new?q=赵").get_data(as_text=True)
    assert "赵六" in html and "赵外人" not in html
    r = client.post(
        "/culture/notices/new",
        data={
            "title": "受限空间作业提醒",
            "body": "请注意通风。",
            "person_ids": [p["zhao"].id, p["stranger"].id],
            "then": "publish",
        },
    )
    assert r.status_code == 302
    n = db.session.scalar(select(Notice).where(Notice.title == "受限空间作业提醒"))
    assert _recipients(n) == [p["zhao"].id]  # the other enterprise's person was dropped
    page = client.get(f"/culture/notices/{n.id}").get_data(as_text=True)
    assert "赵六" in page and "钱七" not in page
    # add 钱七 by search to the published notice
    found = client.get(f"/culture/notices/{n.id}?q=N00").get_data(as_text=True)
    assert f'value="{p["qian"].id}"' in found and f'value="{p["stranger"].id}"' not in found
    r = client.post(f"/culture/notices/{n.id}/recipients", data={"person_ids": [p["qian"].id]})
    assert r.status_code == 302
    assert _recipients(n) == sorted([p["zhao"].id, p["qian"].id])
    assert notices.unacknowledged_count(p["qian"].id) == 1
    # 赵六 acknowledges: he can no longer be removed; 钱七 can
    notices.acknowledge(n, p["zhao"].id)
    r = client.post(f"/culture/notices/{n.id}/recipients/remove", data={"person_id": p["zhao"].id})
    assert r.status_code == 302 and p["zhao"].id in _recipients(n)
    r = client.post(f"/culture/notices/{n.id}/recipients/remove", data={"person_id": p["qian"].id})
    assert r.status_code == 302 and _recipients(n) == [p["zhao"].id]
    assert notices.unacknowledged_count(p["qian"].id) == 0


def test_draft_keeps_named_people_and_publish_reaches_them(client, people):
    p = people
    login(client, p["manager"].user)
    client.post(
        "/culture/notices/new", data={"title": "草稿通知", "person_ids": [p["sun"].id], "then": "save"}
    )
    n = db.session.scalar(select(Notice).where(Notice.title == "草稿通知"))
    assert [(t.kind, t.ref_id) for t in n.targets] == [("person", p["sun"].id)]
    edit = client.get(f"/culture/notices/{n.id}/edit").get_data(as_text=True)
    assert "孙八" in edit and "checked" in edit
    assert "孙八" in notices.target_labels(n)
    assert notices.publish_notice(n, p["manager"].user) == 1
    assert _recipients(n) == [p["sun"].id]


def test_forged_people_and_other_enterprises_are_refused(client, app, people, make_person):
    p = people
    n = notices.save_notice(
        p["manager"].enterprise_id,
        title="通知",
        body_md="",
        targets=[("person", p["zhao"].id)],
        audience_all=False,
        actor=p["manager"].user,
    )
    notices.publish_notice(n, p["manager"].user)
    login(client, p["manager"].user)
    r = client.post(f"/culture/notices/{n.id}/recipients", data={"person_ids": [p["stranger"].id]})
    assert r.status_code == 302 and _recipients(n) == [p["zhao"].id]  # said, nothing added
    assert (
        client.post(
            f"/culture/notices/{n.id}/recipients/remove", data={"person_id": p["stranger"].id}
        ).status_code
        == 404
    )
    assert client.post(f"/culture/notices/{n.id}/recipients/remove", data={}).status_code == 400
    outsider = app.test_client()
    login(outsider, make_person(p["other"], app_role="manager").user)
    assert (
        outsider.post(f"/culture/notices/{n.id}/recipients", data={"person_ids": [p["sun"].id]}).status_code
        == 404
    )
    assert (
        outsider.post(
            f"/culture/notices/{n.id}/recipients/remove", data={"person_id": p["zhao"].id}
        ).status_code
        == 404
    )
    learner = app.test_client()
    login(learner, p["qian"].user)
    assert (
        learner.post(f"/culture/notices/{n.id}/recipients", data={"person_ids": [p["qian"].id]}).status_code
        == 403
    )
    assert _recipients(n) == [p["zhao"].id]


def test_forged_numbers_never_answer_500(client, people):
    p = people
    n = notices.save_notice(
        p["manager"].enterprise_id,
        title="通知二",
        body_md="",
        targets=[("person", p["zhao"].id)],
        audience_all=False,
        actor=p["manager"].user,
    )
    notices.publish_notice(n, p["manager"].user)
    login(client, p["manager"].user)
    huge = "9" * 20
    assert client.post(f"/culture/notices/{n.id}/recipients", data={"person_ids": [huge]}).status_code == 302
    assert (
        client.post(f"/culture/notices/{n.id}/recipients/remove", data={"person_id": huge}).status_code == 404
    )
    assert _recipients(n) == [p["zhao"].id]
