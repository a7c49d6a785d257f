"""A trainer uploads a phone video through the browser and sees it become playable at two qualities; a
learner resumes it after a reload; an exam left running is submitted when time runs out."""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid

from sqlalchemy import text

from tests.e2e.conftest import sign_in
from tests.e2e.helpers import _engine, db_url, db_value
from tests.fixtures.videos import make_video

COURSE = "劳动防护用品正确使用"  # the demo learner is enrolled; no other journey changes it
EXAM = "有限空间作业安全考试"


def test_trainer_uploads_phone_video_learner_resumes(page, live_server, tmp_path):
    vp = page.viewport_name
    course_id = db_value(live_server, "SELECT id FROM course WHERE title = :t", t=COURSE)
    section_id = db_value(live_server, "SELECT min(id) FROM course_section WHERE course_id = :c", c=course_id)
    assert course_id and section_id
    sign_in(page, "trainer")
    title = f"手机拍摄示范-{vp}-{uuid.uuid4().hex[:4]}"
    page.goto(f"{page.base}/courses/sections/{section_id}/lessons/new")
    page.select_option("select[name=kind]", "video")
    page.fill("input[name=title]", title)
    page.uncheck("input[name=required]")  # optional: the learner's completion stays as it is
    page.click("main form:not([data-upload]) button[type=submit]")
    page.wait_for_load_state("networkidle")
    if "/edit" not in page.url:  # the new lesson's page may be the lesson itself
        lesson_id = db_value(live_server, "SELECT id FROM course_lesson WHERE title = :t", t=title)
        page.goto(f"{page.base}/courses/lessons/{lesson_id}/edit")
    lesson_id = int(re.search(r"/lessons/(\d+)/", page.url).group(1))
    # A phone video: landscape pixels with a 90° display rotation, as phones record them.
    clip = tmp_path / "phone.mp4"
    make_video(clip, seconds=8, size="1280x720", rotate=90)
    page.set_input_files("form[data-upload] input[type=file]", str(clip))
    page.shot("01-upload")
    page.click("main form[data-upload] button[type=submit]")
    deadline = time.time() + 90
    while time.time() < deadline:
        status = db_value(
            live_server,
            "SELECT status FROM course_video_asset WHERE lesson_id = :l ORDER BY id DESC",
            l=lesson_id,
        )
        if status in ("ready", "failed"):
            break
        time.sleep(1)
    assert status == "ready", f"the video ended {status}"
    page.goto(f"{page.base}/courses/lessons/{lesson_id}/edit")
    body = page.inner_text("main")
    assert "720p" in body and "360p" in body, body[:600]
    page.shot("02-ready")
    # The learner plays it, pauses, reloads: the player resumes where they stopped.
    page.context.clear_cookies()
    sign_in(page, "learner")
    page.goto(f"{page.base}/courses/lessons/{lesson_id}")
    video = page.locator("video")
    video.wait_for()
    assert page.locator(".quality button, .quality a").count() >= 2
    page.evaluate("v => { v.muted = true; return v.play(); }", video.element_handle())
    page.wait_for_function("() => document.querySelector('video').currentTime > 2.2", timeout=15_000)
    page.evaluate("v => v.pause()", video.element_handle())
    paused_at = page.evaluate("() => document.querySelector('video').currentTime")
    # Wait until the server has the pause heartbeat (a loaded machine may take a while), then reload.
    for _ in range(40):
        saved = db_value(
            live_server,
            "SELECT max(last_position) FROM course_lesson_progress WHERE lesson_id = :l",
            l=lesson_id,
        )
        if saved and saved > 1:
            break
        page.wait_for_timeout(250)
    assert saved and saved > 1, f"the pause heartbeat never reached the server (last position {saved})"
    w, h = page.evaluate(
        "() => [document.querySelector('video').videoWidth, document.querySelector('video').videoHeight]"
    )
    assert h > w, f"the phone video should play upright (portrait), got {w}x{h}"
    page.reload()
    page.wait_for_function("() => document.querySelector('video').readyState >= 1", timeout=15_000)
    page.wait_for_timeout(500)
    resumed = page.evaluate("() => document.querySelector('video').currentTime")
    assert abs(resumed - paused_at) < 1.5, f"paused at {paused_at:.1f}s, resumed at {resumed:.1f}s"
    page.shot("03-resumed")


def test_exam_runs_out_of_time(page, live_server):
    vp = page.viewport_name
    who = "learner" if vp == "desktop" else "evaluator"
    exam_id = db_value(live_server, "SELECT id FROM exam WHERE title = :t", t=EXAM)
    assert exam_id
    sign_in(page, who)
    page.goto(f"{page.base}/quizzes/exams/{exam_id}/start")
    if page.locator("main form button[type=submit]").count():
        page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/quizzes/attempts/\d+"))
    attempt_id = int(re.search(r"/attempts/(\d+)", page.url).group(1))
    # Bring the server's deadline close: the page's countdown follows the server, not the device clock.
    soon = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=6)
    with _engine(db_url(live_server)).begin() as conn:
        conn.execute(
            text("UPDATE exam_attempt SET deadline = :d WHERE id = :a"), {"d": soon, "a": attempt_id}
        )
    if vp == "desktop":
        # The page stays open: at zero it hands in what was saved.
        page.reload()
        page.wait_for_url(re.compile(rf"/attempts/{attempt_id}/result"), timeout=30_000)
    else:
        # The phone went to sleep: the learner comes back after the deadline and finds it submitted.
        page.goto(f"{page.base}/quizzes/")
        page.wait_for_timeout(8_000)
        page.goto(f"{page.base}/quizzes/attempts/{attempt_id}")
        page.wait_for_load_state("networkidle")
    page.shot("timeout")
    status = db_value(live_server, "SELECT status FROM exam_attempt WHERE id = :a", a=attempt_id)
    assert status in ("submitted", "graded", "pending_review"), status
