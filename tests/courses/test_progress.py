"""The credit rules, as services without HTTP: seek-ahead, speed, two tabs, resume, completion."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from courses import progress as prog
from courses import services
from courses.models import COMPLETED
from lms.core import signals
from lms.core.db import db
from lms.core.errors import DomainError
from lms.ledger.models import TrainingRecord

T0 = dt.datetime(2026, 3, 2, 8, 0, 0)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture
def setup(enterprise, make_person, make_course):
    person = make_person(enterprise)
    course, lessons = make_course(enterprise, duration=100.0, max_playback_rate=1.5)
    enrolment, _ = services.enrol(course, person)
    return enrolment, lessons[0]


def play(enrolment, lesson, points, session="tab-a", rate=1.0):
    """Send heartbeats at (wall_seconds, position) points; return the last result."""
    result = None
    for wall, pos in points:
        result = prog.heartbeat(enrolment, lesson, session, pos, rate=rate, now=at(wall))
    return result


def test_merge_intervals():
    assert prog.merge_intervals([[10, 20], [0, 5], [4, 12], [30, 30], [25, 26]]) == [[0, 20], [25, 26]]
    merged, new = prog.add_interval([[0, 10]], 5, 15)
    assert merged == [[0, 15]] and new == 5
    assert prog.covered_seconds([[0, 10], [5, 12], [20, 21]]) == 13


def test_continuous_play_is_credited(setup):
    enrolment, lesson = setup
    r = play(enrolment, lesson, [(0, 0), (10, 10), (20, 20)])
    assert r.covered == 20 and r.reason == "credited"
    assert enrolment.credited_seconds == 20


def test_seek_ahead_credits_nothing(enterprise, make_person, make_course):
    # On a course that allows skipping ahead (where it does not, playing on after the jump credits nothing
    # either: tests/courses/test_watch_budget.py).
    course, (lesson,) = make_course(
        enterprise, duration=100.0, max_playback_rate=1.5, forward_seek_allowed=True
    )
    enrolment, _ = services.enrol(course, make_person(enterprise))
    play(enrolment, lesson, [(0, 0), (10, 10)])
    r = prog.heartbeat(enrolment, lesson, "tab-a", 80, now=at(12))  # jumped from 10 to 80 in 2 s
    assert r.reason == "seek" and r.credited == 0 and r.covered == 10
    # playing on from 80 is credited from the new anchor, the gap stays uncovered
    r = prog.heartbeat(enrolment, lesson, "tab-a", 90, now=at(22))
    assert r.covered == 20
    assert prog.progress_for(enrolment, lesson).intervals == [[0, 10], [80, 90]]
    assert r.furthest == 90


def test_speed_above_maximum_is_capped(setup):
    enrolment, lesson = setup
    # playing at 4× for 10 s (40 s of video) on a course that allows 1.5×
    r = play(enrolment, lesson, [(0, 0), (10, 40)], rate=4.0)
    assert r.reason == "capped"
    assert r.covered == pytest.approx(15.0)
    # the client claiming 1× while the position runs 4× is a jump: nothing
    r = prog.heartbeat(enrolment, lesson, "tab-a", 80, now=at(20), rate=1.0)
    assert r.credited == 0 and r.reason == "seek"


def test_allowed_speed_is_credited(setup):
    enrolment, lesson = setup
    r = play(enrolment, lesson, [(0, 0), (10, 15)], rate=1.5)
    assert r.covered == 15 and r.reason == "credited"


def test_two_tabs_do_not_double_count(setup):
    enrolment, lesson = setup
    prog.heartbeat(enrolment, lesson, "tab-a", 0, now=at(0))
    prog.heartbeat(enrolment, lesson, "tab-b", 50, now=at(0))
    for k in range(1, 7):  # both tabs play for a minute, heartbeats every 10 s
        prog.heartbeat(enrolment, lesson, "tab-a", 10 * k, now=at(10 * k))
        prog.heartbeat(enrolment, lesson, "tab-b", 50 + 10 * k, now=at(10 * k + 0.5))
    lp = prog.progress_for(enrolment, lesson)
    # one minute of real time credits at most a minute (× the allowed rate), not two
    assert lp.credited_seconds <= 60 * 1.5 + prog.TOLERANCE
    assert enrolment.credited_seconds == lp.credited_seconds
    assert lp.status != COMPLETED


def test_pause_then_resume(setup):
    enrolment, lesson = setup
    play(enrolment, lesson, [(0, 0), (10, 10)])
    r = prog.heartbeat(enrolment, lesson, "tab-a", 12, playing=False, now=at(12))
    assert r.covered == 12
    lp = prog.progress_for(enrolment, lesson)
    assert lp.last_position == 12  # the page resumes here after a reload
    # a reload starts a new playback session at the last position
    r = play(enrolment, lesson, [(300, 12), (310, 22)], session="tab-reloaded")
    assert r.covered == 22


def test_backwards_rewatch_is_not_counted_twice(setup):
    enrolment, lesson = setup
    play(enrolment, lesson, [(0, 0), (10, 10), (20, 20)])
    r = play(enrolment, lesson, [(21, 5), (31, 15)])
    assert r.covered == 20 and enrolment.credited_seconds == 20


def test_completion_threshold(enterprise, make_person, make_course):
    person = make_person(enterprise)
    course, (video,) = make_course(enterprise, duration=50.0, completion_threshold=0.9)
    enrolment, _ = services.enrol(course, person)
    points = [(w, w) for w in range(0, 41, 10)]  # 0..40 s
    r = play(enrolment, video, points)
    assert not r.completed and enrolment.status != COMPLETED
    r = prog.heartbeat(enrolment, video, "tab-a", 45, now=at(45))  # 45 / 50 = 90 %
    assert r.completed
    assert enrolment.status == COMPLETED
    rec = db.session.get(TrainingRecord, enrolment.record_id)
    assert rec.kind == "course" and rec.topic == course.title and rec.hours == 2
    assert rec.source == f"course_enrolment:{enrolment.id}" and rec.course_id == course.id


def test_exactly_one_record_even_if_completion_runs_twice(enterprise, make_person, make_course):
    person = make_person(enterprise)
    course, (video, text) = make_course(enterprise, duration=20.0, extra=("text",))
    enrolment, _ = services.enrol(course, person)
    received = []

    def listener(sender, **kw):
        received.append(kw["record"].id)

    signals.course_completed.connect(listener)
    try:
        play(enrolment, video, [(0, 0), (10, 10), (20, 20)])
        assert enrolment.status != COMPLETED  # the text lesson is still open
        prog.mark_read(enrolment, text)
        assert enrolment.status == COMPLETED
        prog.complete_lesson(enrolment, text)  # again
        prog.complete_course_if_done(enrolment)
        prog.complete_enrolment(enrolment)  # forced: replaces nothing, no second signal
        play(enrolment, video, [(30, 0), (40, 10)], session="again")
    finally:
        signals.course_completed.disconnect(listener)
    live = db.session.scalar(
        select(func.count(TrainingRecord.id)).where(
            TrainingRecord.person_id == person.id, TrainingRecord.voided_at.is_(None)
        )
    )
    assert live == 1
    assert len(received) == 1


def test_optional_lessons_are_not_needed(enterprise, make_person, make_course):
    person = make_person(enterprise)
    course, (video, text) = make_course(enterprise, duration=10.0, extra=("text",))
    services.update_lesson(text, title=text.title, required=False, body_markdown="x")
    enrolment, _ = services.enrol(course, person)
    play(enrolment, video, [(0, 0), (10, 10)])
    assert enrolment.status == COMPLETED


def test_document_needs_minimum_reading_time(enterprise, make_person, make_course):
    person = make_person(enterprise)
    course, (doc,) = make_course(enterprise, duration=None, extra=("document",), min_reading_seconds=30)
    enrolment, _ = services.enrol(course, person)
    prog.open_lesson(enrolment, doc, now=at(0))
    with pytest.raises(DomainError):
        prog.mark_read(enrolment, doc, now=at(10))
    prog.mark_read(enrolment, doc, now=at(31))
    assert enrolment.status == COMPLETED
    assert enrolment.credited_seconds == pytest.approx(31)


def test_exam_lesson_completes_on_exam_passed(enterprise, make_person, make_course):
    import types

    person = make_person(enterprise)
    course, (video, exam) = make_course(enterprise, duration=10.0, extra=("exam",))
    enrolment, _ = services.enrol(course, person)
    play(enrolment, video, [(0, 0), (10, 10)])
    assert enrolment.status != COMPLETED
    signals.exam_passed.send(
        types.SimpleNamespace(id=1), person=person, exam=types.SimpleNamespace(id=4242), record=None
    )
    assert enrolment.status == COMPLETED


def test_editing_a_published_course_keeps_progress(enterprise, make_person, make_course):
    person = make_person(enterprise)
    course, (video,) = make_course(enterprise, duration=100.0)
    enrolment, _ = services.enrol(course, person)
    play(enrolment, video, [(0, 0), (10, 10)])
    services.update_course(course, title="有限空间作业安全（2026版）", hours=3, completion_threshold=0.8)
    services.update_lesson(video, title="新标题", required=True)
    section = course.sections[0]
    services.add_lesson(section, "text", "补充阅读", body_markdown="新增内容")
    lp = prog.progress_for(enrolment, video)
    assert lp.credited_seconds == 10 and lp.intervals == [[0, 10]]
    with pytest.raises(DomainError):
        services.delete_lesson(video)


def test_heartbeat_needs_a_ready_video(enterprise, make_person, make_course):
    person = make_person(enterprise)
    course, (text,) = make_course(enterprise, duration=None, extra=("text",))
    enrolment, _ = services.enrol(course, person)
    with pytest.raises(DomainError):
        prog.heartbeat(enrolment, text, "tab", 5)
