"""Journey 1: a new employee's first day.

The safety manager adds the person and hands out a one-time password; the employee signs in, must
change it, sees the required training, enrols in the demo course 有限空间作业安全 (a video lesson, two text
lessons and the exam 有限空间作业安全考试), cannot skip ahead in the video for credit, watches it to the end,
passes the exam (answers read from the live server's database, never from the page) with a reload in
the middle, and downloads the course certificate, whose PDF carries the employee's Chinese name.
Exactly one ledger record of kind course results.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import secrets
import time

from lms.core.timeutil import today as local_today  # the enterprise's calendar day (Asia/Shanghai)
from tests.e2e.conftest import SHOTS, sign_in
from tests.e2e.helpers import (
    Soft,
    accept_dialogs,
    answer,
    as_json,
    db_rows,
    db_value,
    is_answered,
    open_page,
    watch_server_errors,
)

COURSE = "有限空间作业安全"
EXAM = "有限空间作业安全考试"
NAMES = {"desktop": "韩晓东", "phone": "韩晓楠"}
NEW_PASSWORD = "Anquan2026ok"
JOURNEY = "test_new_employee_journey"


def _video(page, script: str):
    return page.evaluate(f"() => {{ const v = document.getElementById('video'); {script} }}")


def _lesson_progress(live_server, person_id: int, lesson_id: int):
    rows = db_rows(
        live_server,
        "SELECT lp.status, lp.credited_seconds, lp.furthest_position FROM course_lesson_progress lp "
        "JOIN course_enrolment e ON e.id = lp.enrolment_id WHERE e.person_id = :p AND lp.lesson_id = :l",
        p=person_id,
        l=lesson_id,
    )
    return rows[0] if rows else None


def _add_person(browser, live_server, vp: str, name: str) -> tuple[str, str, str]:
    """As the safety manager: add the person and reset the password; return (employee no, user, password)."""
    mgr = open_page(browser, live_server, vp, JOURNEY, "manager")
    try:
        sign_in(mgr, "manager")
        emp = f"E2E{vp[0].upper()}{secrets.randbelow(10**6):06d}"
        mgr.goto(mgr.base + "/org/people/new")
        mgr.fill("#employee_no", emp)
        mgr.fill("#name", name)
        mgr.fill("#department", "一车间/甲班")
        mgr.fill("#post", "操作工")
        mgr.select_option("#roles", label="一线从业人员")
        if vp == "desktop":  # the phone run leaves the optional hire date empty, as a busy manager would
            mgr.fill("#hire_date", local_today().isoformat())
        mgr.shot("01-add-person")
        mgr.click("main form.card button[type=submit]")
        mgr.wait_for_url(re.compile(r"/org/people/\d+$"))
        assert name in mgr.inner_text("main h1")
        mgr.click("main form[action$='/password'] button")  # confirm() is accepted
        mgr.wait_for_url(re.compile(r"/org/people/\d+/password$"))
        cells = mgr.locator("table.password-list tbody tr").first.locator("td")
        assert cells.nth(0).inner_text().strip() == emp
        username, password = cells.nth(2).inner_text().strip(), cells.nth(3).inner_text().strip()
        assert username and len(password) >= 8, mgr.inner_text("main")
        mgr.shot("02-one-time-password")
        return emp, username, password
    finally:
        mgr.context.close()


def _course_issues_certificates(browser, live_server, vp: str, course_id: int) -> None:
    """As the trainer: make sure the course awards a certificate (the demo course does not by default)."""
    tr = open_page(browser, live_server, vp, JOURNEY, "trainer")
    try:
        sign_in(tr, "trainer")
        tr.goto(f"{tr.base}/courses/{course_id}/edit")
        box = tr.locator("#issue_certificate")
        if not box.is_checked():
            box.check()
            tr.click("main form[enctype='multipart/form-data'] button[type=submit]")
            tr.wait_for_load_state("networkidle")
            assert "出错了" not in tr.inner_text("main")
        assert tr.locator("#issue_certificate").is_checked(), (
            "the course edit form did not keep the certificate flag"
        )
    finally:
        tr.context.close()


def test_new_employee_journey(page, browser, live_server, tmp_path):
    started = time.monotonic()
    vp = page.viewport_name
    base = page.base
    soft = Soft()
    accept_dialogs(page)
    errors = watch_server_errors(page)
    name = NAMES[vp]
    course_id = db_value(
        live_server, "SELECT id FROM course WHERE title = :t AND enterprise_id IS NOT NULL", t=COURSE
    )
    exam_id = db_value(live_server, "SELECT id FROM exam WHERE title = :t", t=EXAM)
    assert course_id and exam_id, "the demo course 有限空间作业安全 or its exam is missing"
    lessons = db_rows(
        live_server,
        "SELECT l.id, l.kind, l.title FROM course_lesson l JOIN course_section s ON s.id = l.section_id "
        "WHERE l.course_id = :c ORDER BY s.position, s.id, l.position, l.id",
        c=course_id,
    )
    kinds = [k for _id, k, _t in lessons]
    assert "video" in kinds and "exam" in kinds, f"the demo course needs a video and an exam lesson: {kinds}"
    video_id = next(i for i, k, _t in lessons if k == "video")
    _course_issues_certificates(browser, live_server, vp, course_id)

    # -- the manager adds the new employee and prints the one-time password
    emp, username, otp = _add_person(browser, live_server, vp, name)
    person_id = db_value(live_server, "SELECT id FROM person WHERE employee_no = :e", e=emp)

    # -- first sign-in: the password must be changed before anything else
    sign_in(page, username, otp)
    assert "/account/password" in page.url, f"first sign-in did not ask for a new password: {page.url}"
    page.shot("01-change-password")
    page.goto(base + "/training/mine")
    assert "/account/password" in page.url, "a new employee could skip the password change"
    page.fill("#current", otp)
    page.fill("#password", NEW_PASSWORD)
    page.fill("#confirm", NEW_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/account/password" not in page.url, page.inner_text("main")

    # -- what the new employee owes
    page.goto(base + "/training/mine")
    mine = page.inner_text("main")
    assert name in mine
    assert f"完成课程：{COURSE}" in mine, mine[:1500]
    dues = [dt.date.fromisoformat(d) for d in re.findall(r"应于 (\d{4}-\d{2}-\d{2}) 前完成", mine)]
    soft.check(
        all(d.year >= local_today().year - 1 for d in dues),
        f"[{vp}] /training/mine: a person added today without a hire date is shown due dates in the past "
        f"({sorted(set(dues))[:3]}), every requirement 已逾期 on the first day",
    )
    page.shot("02-my-training")

    # -- the course: enrol, then the video lesson
    page.click(f"main a[href='/courses/{course_id}']")
    page.wait_for_url(re.compile(rf"/courses/{course_id}$"))
    page.click("main form[action$='/enrol'] button")
    page.wait_for_load_state("networkidle")
    page.shot("03-enrolled")
    page.click("main a.button[href^='/courses/lessons/']")
    page.wait_for_url(re.compile(rf"/courses/lessons/{video_id}$"))
    page.wait_for_function("() => document.getElementById('video').readyState >= 1", timeout=15_000)
    duration = _video(page, "return v.duration;")
    assert 3 <= duration <= 30, f"unexpected demo video length {duration}"
    page.shot("04-video-lesson")
    player = page.locator("#player")
    msg_seek = player.get_attribute("data-msg-seek")

    # skipping ahead before watching anything: the player jumps back and nothing is credited
    pos = page.evaluate(
        "() => new Promise(r => { const v = document.getElementById('video'); v.currentTime = v.duration - 1;"
        " setTimeout(() => r(v.currentTime), 600); })"
    )
    assert pos < 1, f"the player let the learner skip ahead to {pos:.1f}s"
    soft.check(
        page.inner_text("#player-status") == msg_seek,
        f"[{vp}] player.js: after a refused seek the learner is not told why (status shows "
        f"{page.inner_text('#player-status')!r}, expected {msg_seek!r}): the next heartbeat's say(percent) "
        "overwrites the message at once",
    )
    # play (muted autoplay is allowed), then try to jump ahead while playing
    _video(page, "v.muted = true; return v.play();")
    page.wait_for_function("() => document.getElementById('video').currentTime > 1.2", timeout=10_000)
    pos = page.evaluate(
        "() => new Promise(r => { const v = document.getElementById('video');"
        " v.currentTime = v.duration - 0.5;"
        " setTimeout(() => r(v.currentTime), 400); })"
    )
    assert pos < duration - 2, f"the player let the learner skip ahead while playing (at {pos:.1f}s)"
    time.sleep(0.3)  # let the heartbeat of the refused seek land
    lp = _lesson_progress(live_server, person_id, video_id)
    assert lp is not None and lp.status != "completed", lp
    assert lp.credited_seconds < duration * 0.6 and lp.furthest_position < duration * 0.6, (
        f"seeking ahead was credited: {lp}"
    )
    # watch to the end
    page.wait_for_function("() => document.getElementById('video').ended", timeout=20_000)
    for _ in range(50):
        lp = _lesson_progress(live_server, person_id, video_id)
        if lp.status == "completed":
            break
        time.sleep(0.2)
    assert lp.status == "completed", f"the video lesson did not complete after watching it through: {lp}"
    time.sleep(0.5)
    status = page.inner_text("#player-status")
    soft.check(
        status in (player.get_attribute("data-msg-done"), player.get_attribute("data-msg-course-done")),
        f"[{vp}] player.js: at the end of the video the status shows {status!r}, not 'Lesson completed' "
        "(the 'ended' heartbeat's percent overwrites the message set by the 'pause' heartbeat)",
    )
    page.shot("05-video-watched")
    page.reload()
    assert page.locator("main h1 .badge-completed").is_visible(), (
        "the watched video lesson is not shown completed"
    )

    # -- the text lessons: "I have read this"
    exam_lesson_url = None
    for _ in range(len(lessons)):
        page.goto(f"{base}/courses/{course_id}")
        nxt = page.locator("main a.button[href^='/courses/lessons/']")
        assert nxt.count(), page.inner_text("main")
        page.click("main a.button[href^='/courses/lessons/']")
        page.wait_for_load_state("networkidle")
        done = page.locator("main form[action$='/done'] button")
        if not done.count():
            exam_lesson_url = page.url
            break
        done.click()
        page.wait_for_load_state("networkidle")
    assert exam_lesson_url, "never reached the exam lesson"
    page.shot("06-exam-lesson")

    # -- the exam: from the lesson if it links it, else from "my exams"
    link = page.locator(f"main a.button[href*='/quizzes/exams/{exam_id}']")
    if not soft.check(
        link.count(),
        f"[{vp}] {exam_lesson_url}: the exam lesson has no link to its exam (it says 请从“我的考试”页面进入考试). "
        "courses/views.py _exam_url() looks for endpoints quizzes.exam / exam_start / take / exam_detail; "
        "the "
        "start page is quizzes.start",
    ):
        page.goto(base + "/quizzes/")
        page.locator("main section.card", has=page.locator("h2", has_text=EXAM)).locator(
            "a.button"
        ).first.click()
    else:
        link.click()
    page.wait_for_url(re.compile(rf"/quizzes/exams/{exam_id}/start$"))
    page.click("main form[method=post] button[type=submit]")
    page.wait_for_url(re.compile(r"/quizzes/attempts/\d+$"))
    attempt_id = int(page.url.rsplit("/", 1)[1])
    keys = [
        (aq, qtype, as_json(key))
        for aq, qtype, key in db_rows(
            live_server,
            "SELECT aq.id, v.type, v.key FROM exam_attempt_question aq "
            "JOIN quiz_question_version v ON v.id = aq.question_version_id "
            "WHERE aq.attempt_id = :a ORDER BY aq.position",
            a=attempt_id,
        )
    ]
    assert keys and page.locator("section.question").count() == len(keys)
    keys = [(aq, t, [b[0] for b in k] if t == "fill_blank" else k) for aq, t, k in keys]
    half = len(keys) // 2
    for aq, qtype, key in keys[:half]:
        answer(page, aq, qtype, key)
    # scrolled down to a later question, the countdown must stay in sight
    page.locator(f"#q-{keys[-1][0]}").scroll_into_view_if_needed()
    page.wait_for_timeout(200)
    page.screenshot(path=str(SHOTS / f"{JOURNEY}-{vp}-07-exam-scrolled-viewport.png"))
    timer_seen = page.evaluate(
        "() => { const t = document.getElementById('timer'); if (!t) { return true; }"
        " const r = t.getBoundingClientRect();"
        " const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);"
        " return r.bottom > 0 && r.top < window.innerHeight && !!hit && t.contains(hit); }"
    )
    soft.check(
        timer_seen,
        f"[{vp}] /quizzes/attempts/{attempt_id}: once scrolled, the exam bar (title, timer, save state) is "
        "hidden under the site's top bar: both are position: sticky; top: 0 "
        "(quizzes/static/quizzes/exam.css .exam-bar "
        "z-index 5 < lms/static/css/app.css .topbar z-index 10)",
    )
    page.evaluate("window.scrollTo(0, 0)")
    page.shot("07-exam-half-answered")
    page.reload()  # mid-exam: the answers come back from the server
    for aq, qtype, key in keys[:half]:
        assert is_answered(page, aq, qtype, key), f"answer to question {aq} ({qtype}) lost on reload"
    assert page.locator(".navigator a.answered").count() == half
    for aq, qtype, key in keys[half:]:
        answer(page, aq, qtype, key)
    page.click("#submit-form button[type=submit]")  # confirm() is accepted
    page.wait_for_url(re.compile(rf"/quizzes/attempts/{attempt_id}/result$"))
    page.shot("08-exam-passed")
    assert page.locator("main .stat.ok").is_visible(), page.inner_text("main")[:800]
    assert "通过" in page.inner_text("main .stat.ok")
    passed, score, max_score = db_rows(
        live_server, "SELECT passed, score, max_score FROM exam_attempt WHERE id = :a", a=attempt_id
    )[0]
    assert passed and score == max_score, (passed, score, max_score)

    # -- the course is complete
    page.goto(f"{base}/courses/{course_id}")
    assert page.locator("main .badge-completed").first.is_visible()
    enrol_id, enrol_status = db_rows(
        live_server,
        "SELECT id, status FROM course_enrolment WHERE course_id = :c AND person_id = :p",
        c=course_id,
        p=person_id,
    )[0]
    assert enrol_status == "completed", enrol_status
    page.shot("09-course-completed")

    # -- my certificates: download the PDF, the Chinese name is in it
    page.goto(base + "/certificates/mine")
    row = page.locator("main table.data tbody tr", has_text=COURSE)
    soft.check(row.count() == 1, f"[{vp}] /certificates/mine lists {row.count()} certificates of {COURSE}")
    page.shot("10-my-certificates")
    if row.count():
        with page.expect_download() as dl:
            row.first.locator("a.button").click()
        pdf_path = tmp_path / "certificate.pdf"
        dl.value.save_as(pdf_path)
        from pypdf import PdfReader

        pdf = PdfReader(io.BytesIO(pdf_path.read_bytes()))
        text = "".join(p.extract_text() or "" for p in pdf.pages)
        assert name in text, f"the holder's name {name} is not in the certificate PDF text: {text[:400]!r}"
        soft.check(
            COURSE in text, f"[{vp}] the course title is not in the certificate PDF text: {text[:400]!r}"
        )

    # -- the ledger: exactly one live course record for the enrolment
    records = db_rows(
        live_server,
        "SELECT id, source, hours FROM training_record WHERE person_id = :p AND kind = 'course' "
        "AND voided_at IS NULL",
        p=person_id,
    )
    assert len(records) == 1 and records[0].source == f"course_enrolment:{enrol_id}", records
    soft.check(not errors, f"[{vp}] server errors during the journey: {errors}")
    elapsed = time.monotonic() - started
    soft.check(elapsed < 60, f"[{vp}] the journey took {elapsed:.0f}s")
    soft.done()
