"""A new notice to acknowledge is in the recipients' notifications at once (issue 18), not only after the
daily job; people added later are told too, nobody twice; signing for it marks the notification read."""

from __future__ import annotations

from sqlalchemy import select

from lms.core.db import db
from lms.culture import notices
from lms.culture.models import Notice
from lms.training.models import Notification
from lms.training.notifications import generate
from tests.conftest import login


def _notes(person, notice_id):
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Notification).where(
                Notification.user_id == person.user.id, Notification.key == f"notice:{notice_id}"
            )
        )
    )


def _notice(enterprise, department_id, actor):
    return notices.save_notice(
        enterprise.id,
        title="关于冬季防火的通知",
        body_md="注意防火",
        targets=[("department", department_id)],
        audience_all=False,
        actor=actor,
    )


def test_publishing_notifies_the_recipients_at_once(enterprise, make_person):
    manager = make_person(enterprise, name="陆经理", department="安全环保部", app_role="manager")
    a = make_person(enterprise, name="甲一", department="一车间")
    b = make_person(enterprise, name="乙一", department="一车间")
    other = make_person(enterprise, name="丙一", department="二车间")
    n = _notice(enterprise, a.department_id, manager.user)
    assert _notes(a, n.id) == []  # a draft tells nobody
    assert notices.publish_notice(n, manager.user) == 2
    for p in (a, b):
        (note,) = _notes(p, n.id)
        assert note.kind == "notice" and note.read_at is None
        assert note.link == f"/culture/notices/{n.id}"
        assert "关于冬季防火的通知" in note.title
    assert _notes(other, n.id) == []
    # the daily job finds them told already
    generate(None, [enterprise.id])
    assert len(_notes(a, n.id)) == 1
    # someone added later is told at once, the others not again
    c = make_person(enterprise, name="丁一", department="二车间")
    assert notices.add_recipients(n, [c, a]) == 1
    assert len(_notes(c, n.id)) == 1 and len(_notes(a, n.id)) == 1
    # signing for it: nothing left to do, the notification is read
    assert notices.acknowledge(n, a.id)
    assert _notes(a, n.id)[0].read_at is not None
    assert _notes(b, n.id)[0].read_at is None


def test_the_page_that_publishes_notifies(client, enterprise, make_person):
    manager = make_person(enterprise, name="陆经理", department="安全环保部", app_role="manager")
    learner = make_person(enterprise, name="甲一", department="一车间")
    db.session.commit()
    login(client, manager.user)
    resp = client.post(
        "/culture/notices/new",
        data={
            "title": "有限空间作业专项整治",
            "body": "作业前必须审批",
            "departments": [learner.department_id],
            "then": "publish",
        },
    )
    assert resp.status_code == 302, resp.text[:500]
    n = db.session.scalar(select(Notice).where(Notice.title == "有限空间作业专项整治"))
    assert n.status == "published"
    (note,) = _notes(learner, n.id)
    # the learner's bell counts it and the list shows it in the learner's language
    other = client.application.test_client()
    login(other, learner.user)
    page = other.get("/training/notifications").text
    assert "有限空间作业专项整治" in page
    other.get("/language/en?next=/")
    assert (
        "New safety notice to acknowledge: 有限空间作业专项整治" in other.get("/training/notifications").text
    )
