"""Journey (issue 18): the learner follows the home page to finish what is overdue.

A trainer makes a short video course (a real ffmpeg lavfi clip through the real pipeline) and it is assigned to
the demo learner with a due date already past. The daily notifications job runs (``lms notify``). The learner's
home puts the course first with one button; the bell counts the unread notifications; the button opens the
video at the best rendition for the screen; watching it to the end completes the course; home no longer lists
it, and the notification leads back to it and is then read.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import text

from tests.e2e.conftest import sign_in
from tests.e2e.helpers import _engine, db_url, db_value, watch_server_errors
from tests.fixtures.videos import make_video


def _make_course(page, live_server, tmp_path, title: str) -> tuple[int, int]:
    """As the trainer: a course with one video lesson, published; return (course id, lesson id)."""
    sign_in(page, "trainer")
    page.goto(page.base + "/courses/new")
    page.fill("input[name=title]", title)
    page.fill("input[name=hours]", "1")
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    course_id = int(re.search(r"/courses/(\d+)/edit", page.url).group(1))
    section_id = db_value(live_server, "SELECT min(id) FROM course_section WHERE course_id = :c", c=course_id)
    page.goto(f"{page.base}/courses/sections/{section_id}/lessons/new")
    page.select_option("select[name=kind]", "video")
    page.fill("input[name=title]", "视频：逾期必修")
    page.click("main form:not([data-upload]) button[type=submit]")
    page.wait_for_load_state("networkidle")
    lesson_id = db_value(live_server, "SELECT id FROM course_lesson WHERE course_id = :c", c=course_id)
    if f"/lessons/{lesson_id}/edit" not in page.url:
        page.goto(f"{page.base}/courses/lessons/{lesson_id}/edit")
    clip = tmp_path / "overdue.mp4"
    make_video(clip, seconds=4, size="1280x720")
    page.set_input_files("form[data-upload] input[type=file]", str(clip))
    page.click("main form[data-upload] button[type=submit]")
    status, deadline = None, time.time() + 120
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
    page.goto(f"{page.base}/courses/{course_id}/edit")
    page.locator("form[action$='/status'] button").first.click()
    page.wait_for_load_state("networkidle")
    assert db_value(live_server, "SELECT status FROM course WHERE id = :c", c=course_id) == "published"
    page.context.clear_cookies()
    return course_id, lesson_id


def _assign_overdue(live_server, course_id: int) -> None:
    """Assign the course to the demo learner, due three days ago (as a trainer's assignment would store it)."""
    person_id = db_value(live_server, "SELECT person_id FROM user_account WHERE username = 'learner'")
    ent_id = db_value(live_server, "SELECT enterprise_id FROM person WHERE id = :p", p=person_id)
    due = dt.date.today() - dt.timedelta(days=3)
    with _engine(db_url(live_server)).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO course_enrolment (course_id, person_id, enterprise_id, due_on, source, status,"
                " credited_seconds, created_at) VALUES (:c, :p, :e, :d, 'assigned', 'enrolled', 0, :now)"
            ),
            {"c": course_id, "p": person_id, "e": ent_id, "d": due, "now": dt.datetime.utcnow()},
        )


def _free_the_learner_now(live_server) -> None:
    """The browser journeys share one demo: the check-in journey signs the learner in to a ten-minute toolbox
    talk that may still be running. A course finished inside it rightly waits until the talk is over
    (tests/courses/test_completion_waits.py); this journey is about the overdue course, so such a talk is
    voided here (as a trainer voids a record entered in error)."""
    person_id = db_value(live_server, "SELECT person_id FROM user_account WHERE username = 'learner'")
    now = dt.datetime.utcnow()
    with _engine(db_url(live_server)).begin() as conn:
        conn.execute(
            text(
                "UPDATE training_record SET voided_at = :now, void_reason = 'e2e: another journey left a talk'"
                " WHERE person_id = :p AND voided_at IS NULL AND started_at IS NOT NULL"
                " AND started_at <= :now AND completed_at >= :now"
            ),
            {"p": person_id, "now": now},
        )


def _run_notify(live_server) -> str:
    lms = str(Path(sys.executable).parent / "lms")
    out = subprocess.run([lms, "notify"], env=live_server["env"], check=True, capture_output=True, text=True)
    return out.stdout


def test_learner_follows_home_to_finish_what_is_overdue(page, live_server, tmp_path):
    vp = page.viewport_name
    errors = watch_server_errors(page)
    title = f"逾期必修课-{vp}-{uuid.uuid4().hex[:4]}"
    course_id, lesson_id = _make_course(page, live_server, tmp_path, title)
    _assign_overdue(live_server, course_id)
    _free_the_learner_now(live_server)
    said = _run_notify(live_server)
    assert "notifications created:" in said
    assert _run_notify(live_server).strip() == "notifications created: 0"  # again: nothing twice

    sign_in(page, "learner")
    page.goto(page.base + "/")
    urgent = page.locator("section#todo .todo-list").first
    card = urgent.locator("article.todo-item", has_text=title)
    card.wait_for()
    assert "已逾期" in card.inner_text()
    assert page.locator("h2", has_text="先做这些").count() == 1
    # The demo's own: an overdue course and an exam closing this week, first too.
    assert urgent.locator("article.todo-item", has_text="消防安全知识考试（本周截止）").count() == 1
    assert urgent.locator("article.todo-item[data-kind=course]").count() >= 2
    bell = page.locator("a.bell .bell-count")
    assert bell.is_visible() and int(bell.inner_text().rstrip("+")) >= 1
    no_sideways = page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert no_sideways, "the home page scrolls sideways"
    page.shot("01-home-overdue")

    card.locator("a.button").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/courses/lessons/{lesson_id}")
    player = page.locator("#player")
    player.wait_for()
    # The best rendition for the screen: a desktop player (about 900 px wide) takes 720p, a 390 px phone 360p.
    quality = player.get_attribute("data-quality")
    assert quality == ("720p" if vp == "desktop" else "360p"), quality
    assert page.locator(".quality button").count() == 2
    page.shot("02-lesson")
    beats: list[str] = []  # what the player sent and heard: the evidence when watching does not complete

    def _on_response(resp):
        if resp.url.endswith("/heartbeat"):
            try:
                sent = resp.request.post_data
                beats.append(f"{time.monotonic():.2f} {resp.status} sent={sent} got={resp.text()}")
            except Exception as exc:  # noqa: BLE001 - evidence only
                beats.append(f"{time.monotonic():.2f} {resp.status} ({exc})")

    page.on("response", _on_response)
    video = page.locator("video")
    page.evaluate("v => { v.muted = true; return v.play(); }", video.element_handle())
    page.wait_for_function("() => document.querySelector('video').ended", timeout=30_000)
    status = None
    for _ in range(60):
        status = db_value(
            live_server,
            "SELECT e.status FROM course_enrolment e JOIN user_account u ON u.person_id = e.person_id"
            " WHERE u.username = 'learner' AND e.course_id = :c",
            c=course_id,
        )
        if status == "completed":
            break
        page.wait_for_timeout(500)
    assert status == "completed", (
        f"watching the video to its end left the course {status}; heartbeats: " + "\n".join(beats)
    )
    page.shot("03-watched")

    page.goto(page.base + "/")
    assert page.locator("article.todo-item", has_text=title).count() == 0
    page.shot("04-home-after")

    # The notification of the overdue course leads back to it, and is read afterwards.
    page.locator("a.bell").click()
    page.wait_for_load_state("networkidle")
    note = page.locator("li.note", has_text=title).first
    note.wait_for()
    assert "已逾期" in note.inner_text()
    page.shot("05-notifications")
    note.locator("a.note-title").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/courses/{course_id}")
    unread = db_value(
        live_server,
        "SELECT count(*) FROM notification n JOIN user_account u ON u.id = n.user_id"
        " WHERE u.username = 'learner' AND n.key LIKE :k AND n.read_at IS NULL",
        k=f"course:{course_id}:overdue:%",
    )
    assert unread == 0
    assert not errors, errors
