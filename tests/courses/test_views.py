"""Course pages through the test client: learners, trainers, another enterprise; media delivery."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from courses import services
from courses.models import COMPLETED, Course, Enrolment, Lesson, PlaybackSession, VideoAsset
from lms.core.db import db
from lms.ledger.models import TrainingRecord
from tests.conftest import login
from tests.fixtures.videos import make_video


@pytest.fixture
def video_course(enterprise, make_course, tmp_path):
    """A published course with a real (tiny) processed video and a text lesson."""
    course, (text,) = make_course(enterprise, duration=None, extra=("text",), publish=False, self_enrol=True)
    video = services.add_lesson(course.sections[0], "video", "现场视频")
    with open(make_video(tmp_path / "v.mp4", seconds=2, size="320x180"), "rb") as fh:
        asset = services.add_video(video, fh, "v.mp4")
    assert asset.status == "ready", asset.error
    services.set_status(course, "published")
    return course, video, text, asset


def test_learner_pages(client, enterprise, make_person, video_course):
    course, video, text, asset = video_course
    learner = make_person(enterprise)
    login(client, learner.user)
    assert (
        "我的学习".encode() in client.get("/courses/my").data or client.get("/courses/my").status_code == 200
    )
    page = client.get("/courses/catalogue?q=有限空间")
    assert page.status_code == 200 and course.title.encode() in page.data
    assert client.get("/courses/catalogue?category=消防安全").data.count(course.title.encode()) == 0
    # not enrolled: no media
    media_url = f"/courses/media/{asset.token}/180p"
    assert client.get(media_url).status_code == 404
    assert client.post(f"/courses/{course.id}/enrol").status_code == 302
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.person_id == learner.id))
    assert enrolment.source == "self"
    assert client.get(f"/courses/{course.id}").status_code == 200
    page = client.get(f"/courses/lessons/{video.id}")
    assert page.status_code == 200
    assert b"data-heartbeat-url" in page.data and asset.token.encode() in page.data
    assert b"<script>" not in page.data  # CSP: no inline script
    whole = client.get(media_url)
    assert whole.status_code == 200 and whole.mimetype == "video/mp4"
    part = client.get(media_url, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.data) == 100
    assert part.headers["Content-Range"].startswith("bytes 0-99/")
    etag = whole.headers["ETag"]
    assert client.get(media_url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(f"/courses/media/{asset.token}/poster").status_code == 200
    assert client.get(f"/courses/media/{asset.token}/original").status_code == 404  # staff only
    assert client.get(f"/courses/media/{asset.token}x/180p").status_code == 404


def test_heartbeats_and_completion_over_http(client, enterprise, make_person, video_course):
    course, video, text, asset = video_course
    learner = make_person(enterprise)
    services.enrol(course, learner, source="assigned")
    login(client, learner.user)
    url = f"/courses/lessons/{video.id}/heartbeat"
    r = client.post(url, json={"session": "s1", "position": 0, "playing": True, "rate": 1})
    assert r.status_code == 200 and r.json["reason"] == "started"
    # 1.9 s of video needs 1.9 s of real time: move the playback session's clock back (heartbeats closer
    # together than the player's interval, as these two were, are answered without credit)
    for ps in db.session.scalars(select(PlaybackSession)):
        ps.last_wall -= dt.timedelta(seconds=2)
        ps.started_at -= dt.timedelta(seconds=2)
    db.session.commit()
    r = client.post(url, json={"session": "s1", "position": 1.9, "playing": False, "rate": 1})
    assert r.json["completed"] is True and r.json["course_completed"] is False
    assert client.get(f"/courses/lessons/{text.id}").status_code == 200
    r = client.post(f"/courses/lessons/{text.id}/done")
    assert r.status_code == 302
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.person_id == learner.id))
    assert enrolment.status == COMPLETED
    records = db.session.scalars(select(TrainingRecord).where(TrainingRecord.person_id == learner.id)).all()
    assert len(records) == 1 and records[0].kind == "course"
    assert client.post(f"/courses/lessons/{text.id}/done").status_code == 302
    assert (
        len(db.session.scalars(select(TrainingRecord).where(TrainingRecord.person_id == learner.id)).all())
        == 1
    )
    my = client.get("/courses/my")
    assert my.status_code == 200 and course.title.encode() in my.data


def test_heartbeat_needs_csrf_header(app, client, enterprise, make_person, video_course, monkeypatch):
    course, video, text, asset = video_course
    learner = make_person(enterprise)
    services.enrol(course, learner)
    login(client, learner.user)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    from flask import g

    g.pop("csrf_token", None)  # the test app keeps one app context (and g) across requests
    page = client.get(f"/courses/lessons/{video.id}")
    token = re.search(rb'name="csrf-token" content="([^"]+)"', page.data).group(1).decode()
    url = f"/courses/lessons/{video.id}/heartbeat"
    assert client.post(url, json={"session": "s", "position": 0}).status_code == 400
    r = client.post(url, json={"session": "s", "position": 0}, headers={"X-CSRFToken": token})
    assert r.status_code == 200, r.data.decode()[-1500:]


def test_other_enterprise_sees_nothing(client, enterprise, make_enterprise, make_person, video_course):
    course, video, text, asset = video_course
    insider = make_person(enterprise)
    services.enrol(course, insider)
    other = make_enterprise()
    for role in ("learner", "trainer"):
        outsider = make_person(other, app_role=role)
        login(client, outsider.user)
        assert client.get(f"/courses/{course.id}").status_code == 404
        assert client.get(f"/courses/lessons/{video.id}").status_code == 404
        assert client.get(f"/courses/media/{asset.token}/180p").status_code == 404
        assert client.get(f"/courses/media/{asset.token}/poster").status_code == 404
        assert course.title.encode() not in client.get("/courses/catalogue").data
        if role == "trainer":
            assert client.get(f"/courses/{course.id}/edit").status_code == 404
            assert client.get(f"/courses/{course.id}/progress").status_code == 404
        client.post("/logout")


def test_learner_cannot_author(client, enterprise, make_person, video_course):
    course, *_ = video_course
    learner = make_person(enterprise)
    login(client, learner.user)
    assert client.get("/courses/manage").status_code == 403
    assert client.get(f"/courses/{course.id}/edit").status_code == 403
    assert client.post(f"/courses/{course.id}/status", data={"status": "archived"}).status_code == 403


def test_draft_course_hidden_from_learners(client, enterprise, make_person, make_course):
    course, _ = make_course(enterprise, publish=False)
    learner = make_person(enterprise)
    login(client, learner.user)
    assert client.get(f"/courses/{course.id}").status_code == 404


def test_trainer_authoring_journey(client, enterprise, make_person, tmp_path):
    trainer = make_person(enterprise, app_role="trainer", department="安全环保部")
    worker = make_person(enterprise, department="一车间/甲班")
    make_person(enterprise, department="二车间")
    login(client, trainer.user)
    assert client.get("/courses/manage").status_code == 200
    assert client.get("/courses/new").status_code == 200
    r = client.post(
        "/courses/new",
        data={
            "title": "安全用电基础",
            "category": "用电安全",
            "hours": "1.5",
            "max_playback_rate": "1.5",
            "completion_threshold": "90",
            "min_reading_seconds": "30",
            "self_enrol": "y",
        },
    )
    assert r.status_code == 302
    course = db.session.scalar(select(Course).where(Course.title == "安全用电基础"))
    assert course.enterprise_id == enterprise.id and course.completion_threshold == pytest.approx(0.9)
    section = course.sections[0]
    for title, kind in (("触电急救", "text"), ("用电规范", "text")):
        r = client.post(
            f"/courses/sections/{section.id}/lessons/new",
            data={
                "kind": kind,
                "title": title,
                "required": "y",
                "body_markdown": "**注意**<script>x()</script>",
            },
        )
        assert r.status_code == 302
    lessons = sorted(section.lessons, key=lambda x: x.position)
    assert "<script>" not in lessons[0].body_html and "<strong>注意</strong>" in lessons[0].body_html
    client.post(f"/courses/lessons/{lessons[1].id}/change", data={"action": "up"})
    db.session.expire_all()
    assert [x.title for x in services.ordered_lessons(course)] == ["用电规范", "触电急救"]
    r = client.post(
        f"/courses/sections/{section.id}/lessons/new",
        data={"kind": "video", "title": "视频", "required": "y"},
    )
    video = db.session.scalar(select(Lesson).where(Lesson.course_id == course.id, Lesson.kind == "video"))
    src = make_video(tmp_path / "up.mp4", seconds=1, size="320x180")
    with open(src, "rb") as fh:
        r = client.post(
            f"/courses/lessons/{video.id}/video",
            data={"file": (fh, "手机视频.mp4")},
            headers={"Accept": "application/json"},
            content_type="multipart/form-data",
        )
    assert r.status_code == 200 and r.json["redirect"].endswith(f"/courses/lessons/{video.id}/edit")
    asset = db.session.get(VideoAsset, r.json["asset"])
    assert asset.status == "ready"
    assert client.get(f"/courses/lessons/{video.id}/edit").status_code == 200
    assert client.get(f"/courses/videos/{asset.id}/status").json["status"] == "ready"
    assert client.get(f"/courses/media/{asset.token}/180p").status_code == 200  # staff may watch
    assert client.post(f"/courses/{course.id}/status", data={"status": "published"}).status_code == 302
    assert course.status == "published"
    # assign by department (subtree): preview, then confirm
    from lms.org.models import Department

    dept = db.session.scalar(
        select(Department).where(Department.enterprise_id == enterprise.id, Department.path == "一车间")
    )
    r = client.post(f"/courses/{course.id}/assign", data={"departments": [dept.id], "due_on": "2026-12-31"})
    assert r.status_code == 200 and worker.name.encode() in r.data
    r = client.post(
        f"/courses/{course.id}/assign",
        data={"departments": [dept.id], "due_on": "2026-12-31", "confirm": "1"},
    )
    assert r.status_code == 302
    enrolled = db.session.scalars(select(Enrolment).where(Enrolment.course_id == course.id)).all()
    assert [e.person_id for e in enrolled] == [worker.id] and enrolled[0].source == "assigned"
    page = client.get(f"/courses/{course.id}/progress")
    assert page.status_code == 200 and worker.name.encode() in page.data
    x = client.get(f"/courses/{course.id}/progress.xlsx")
    assert x.status_code == 200
    ws = load_workbook(io.BytesIO(x.data)).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert any(worker.name in (v or "") for row in values for v in row if isinstance(v, str))
    assert client.get("/courses/categories").status_code == 200
    # a lesson with progress can't be deleted
    services.enrol(course, worker)
    from courses import progress as prog

    prog.open_lesson(enrolled[0], lessons[0])
    r = client.post(f"/courses/lessons/{lessons[0].id}/change", data={"action": "delete"})
    assert db.session.get(Lesson, lessons[0].id) is not None


def test_every_page_renders(client, enterprise, make_person, make_course):
    course, lessons = make_course(enterprise, duration=30.0, extra=("text", "document", "link", "exam"))
    trainer = make_person(enterprise, app_role="trainer", department="安全环保部")
    learner = make_person(enterprise)
    services.enrol(course, learner, source="assigned")
    login(client, trainer.user)
    section = course.sections[0]
    urls = [
        "/courses/manage",
        "/courses/manage?status=draft",
        f"/courses/{course.id}/edit",
        f"/courses/{course.id}/assign",
        f"/courses/{course.id}/progress",
        "/courses/categories",
        f"/courses/{course.id}",
    ]
    urls += [
        f"/courses/sections/{section.id}/lessons/new?kind={k}"
        for k in ("video", "document", "text", "exam", "link")
    ]
    urls += [f"/courses/lessons/{x.id}/edit" for x in lessons] + [f"/courses/lessons/{x.id}" for x in lessons]
    for url in urls:
        assert client.get(url).status_code == 200, url
    client.post("/logout")
    login(client, learner.user)
    for url in ["/courses/my", "/courses/catalogue", f"/courses/{course.id}"] + [
        f"/courses/lessons/{x.id}" for x in lessons if x.kind != "link"
    ]:
        assert client.get(url).status_code == 200, url
    link = next(x for x in lessons if x.kind == "link")
    r = client.get(f"/courses/lessons/{link.id}/open")
    assert r.status_code == 302 and r.headers["Location"] == link.url
    doc = next(x for x in lessons if x.kind == "document")
    r = client.post(f"/courses/lessons/{doc.id}/done")  # too early: flashed, not completed
    assert r.status_code == 302
    from courses import progress as prog

    assert prog.progress_for(services.enrolment_of(course, learner.id), doc).status != COMPLETED
