"""A video lesson takes its file on the form that creates it; the processing status never says "98 % /
Converting" beside a ready video (the real ffmpeg pipeline on a lavfi test video)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from courses.models import Lesson, VideoAsset
from lms.core.db import db
from lms.core.jobs import Job
from tests.conftest import login
from tests.fixtures.videos import make_text_as_mp4, make_video

JSON = {"Accept": "application/json"}


@pytest.fixture
def trainer_course(client, enterprise, make_person, make_course):
    course, _ = make_course(enterprise, duration=None, extra=("text",), publish=False)
    trainer = make_person(enterprise, app_role="trainer")
    login(client, trainer.user)
    return course, course.sections[0]


def _new_video_lesson(client, section, path, title="现场示范视频", headers=JSON):
    with open(path, "rb") as fh:
        return client.post(
            f"/courses/sections/{section.id}/lessons/new",
            data={"kind": "video", "title": title, "required": "y", "video": (fh, path.name)},
            content_type="multipart/form-data",
            headers=headers,
        )


def test_new_video_lesson_takes_its_file_and_ends_ready_at_100(client, trainer_course, tmp_path):
    _course, section = trainer_course
    r = _new_video_lesson(client, section, make_video(tmp_path / "clip.mp4", seconds=2, size="320x180"))
    assert r.status_code == 200, r.data[:300]
    lesson = db.session.get(Lesson, r.json["lesson"])
    assert r.json["redirect"].endswith(f"/courses/lessons/{lesson.id}/edit")
    asset = db.session.get(VideoAsset, r.json["asset"])
    assert lesson.kind == "video" and asset.lesson_id == lesson.id and asset.status == "ready", asset.error
    job = db.session.get(Job, asset.job_id)
    # the job row ends with the video: 100 % and "Ready", not the converter's last "98 % / Converting"
    assert (job.status, job.progress, job.message) == ("done", 100, "Ready")
    state = client.get(f"/courses/videos/{asset.id}/status").json
    assert state["status"] == "ready" and state["progress"] == 100
    assert state["message"] and state["message"] != "Converting"
    page = client.get(f"/courses/lessons/{lesson.id}/edit").get_data(as_text=True)
    assert (
        "180p" in page and "data-video-status" not in page and "98%" not in page and "Converting" not in page
    )


def test_a_job_row_left_at_98_never_shows_beside_a_ready_video(client, trainer_course, tmp_path):
    _course, section = trainer_course
    r = _new_video_lesson(client, section, make_video(tmp_path / "clip.mp4", seconds=1, size="320x180"))
    asset = db.session.get(VideoAsset, r.json["asset"])
    # as the runner leaves it between its two commits, or for good when the worker dies in between
    db.session.execute(
        update(Job).where(Job.id == asset.job_id).values(status="running", progress=98, message="Converting")
    )
    db.session.flush()
    state = client.get(f"/courses/videos/{asset.id}/status").json
    assert (state["status"], state["progress"]) == ("ready", 100)
    page = client.get(f"/courses/lessons/{asset.lesson_id}/edit").get_data(as_text=True)
    assert "98" not in page.split("<main", 1)[-1] and "Converting" not in page


def test_processing_status_is_read_from_the_asset_and_translated(client, trainer_course, tmp_path):
    _course, section = trainer_course
    r = _new_video_lesson(client, section, make_video(tmp_path / "clip.mp4", seconds=1, size="320x180"))
    asset = db.session.get(VideoAsset, r.json["asset"])
    asset.status = "processing"
    db.session.execute(
        update(Job).where(Job.id == asset.job_id).values(status="running", progress=40, message="Converting")
    )
    db.session.flush()
    zh = client.get(f"/courses/videos/{asset.id}/status").json
    assert zh["progress"] == 40 and zh["message"] and zh["message"] != "Converting"  # Chinese by default
    page = client.get(f"/courses/lessons/{asset.lesson_id}/edit").get_data(as_text=True)
    assert "data-video-status" in page and zh["message"] in page and "Converting" not in page
    asset.status = "ready"  # a finished video whose job row still says 40 %
    db.session.flush()
    assert client.get(f"/courses/videos/{asset.id}/status").json["progress"] == 100


def test_without_script_the_form_posts_and_redirects(client, trainer_course, tmp_path):
    _course, section = trainer_course
    r = _new_video_lesson(
        client,
        section,
        make_video(tmp_path / "clip.mp4", seconds=1, size="320x180"),
        title="无脚本上传",
        headers={},
    )
    assert r.status_code == 302 and "/edit" in r.headers["Location"]
    lesson = db.session.scalar(select(Lesson).where(Lesson.title == "无脚本上传"))
    assert lesson.ready_video is not None


def test_a_file_that_is_not_a_video_is_refused_and_nothing_is_created(client, trainer_course, tmp_path):
    _course, section = trainer_course
    r = _new_video_lesson(client, section, make_text_as_mp4(tmp_path / "notes.mp4"), title="假视频")
    assert r.status_code == 400 and r.json["message"]
    assert db.session.scalar(select(Lesson).where(Lesson.title == "假视频")) is None


def test_new_lesson_without_a_file_and_of_other_kinds(client, trainer_course, make_enterprise):
    _course, section = trainer_course
    r = client.post(
        f"/courses/sections/{section.id}/lessons/new", data={"kind": "video", "title": "稍后上传"}
    )
    assert r.status_code == 302
    page = client.get(f"/courses/sections/{section.id}/lessons/new?kind=link").get_data(as_text=True)
    assert 'data-kind="link" >' in page or 'data-kind="link">' in page  # the chosen kind's part is shown
    assert 'data-kind="video" hidden' in page  # the others are hidden
    # fields of another kind are ignored: a link lesson keeps no exam, a forged exam id of another enterprise
    from quizzes import exams

    foreign = exams.create_exam(make_enterprise().id, title="外企考试")
    r = client.post(
        f"/courses/sections/{section.id}/lessons/new",
        data={"kind": "exam", "title": "伪造考试", "exam_id": str(foreign.id)},
    )
    assert db.session.scalar(select(Lesson).where(Lesson.title == "伪造考试")) is None
    r = client.post(
        f"/courses/sections/{section.id}/lessons/new",
        data={"kind": "link", "title": "法规链接", "url": "https://example.org/", "exam_id": "1"},
    )
    assert r.status_code == 302
    assert db.session.scalar(select(Lesson).where(Lesson.title == "法规链接")).exam_id is None


def test_another_enterprise_cannot_add_lessons(app, trainer_course, make_enterprise, make_person, tmp_path):
    _course, section = trainer_course
    other = app.test_client()
    login(other, make_person(make_enterprise(), app_role="trainer").user)
    r = _new_video_lesson(
        other, section, make_video(tmp_path / "clip.mp4", seconds=1, size="320x180"), title="越权"
    )
    assert r.status_code == 404
    assert db.session.scalar(select(Lesson).where(Lesson.title == "越权")) is None
