"""Watch time cannot run faster than the clock: what an attacker with a learner's account tried, as services.

Seen on the landed main: heartbeats every 50 ms, each claiming a little more than real time, completed a 60 s
lesson in 1.5 s and wrote a training record (each heartbeat got a fresh 2 s of slack). The clock is passed in
as ``now=`` the way tests/courses/test_progress.py does.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from courses import progress as prog
from courses import services
from courses.models import COMPLETED, PlaybackSession
from lms.core.db import db
from lms.ledger.models import TrainingRecord

T0 = dt.datetime(2026, 3, 2, 8, 0, 0)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture
def lesson60(enterprise, make_person, make_course):
    person = make_person(enterprise)
    course, (video,) = make_course(enterprise, duration=60.0, max_playback_rate=1.5)
    enrolment, _ = services.enrol(course, person)
    return person, enrolment, video


def _records(person) -> int:
    return db.session.scalar(
        select(func.count(TrainingRecord.id)).where(
            TrainingRecord.person_id == person.id, TrainingRecord.voided_at.is_(None)
        )
    )


def test_heartbeats_every_50ms_claiming_more_than_real_time_do_not_complete_a_lesson(lesson60):
    person, enrolment, video = lesson60
    # 30 heartbeats in 1.5 s, each claiming 1.8 s of video more than the previous one (36× real time)
    for k in range(31):
        r = prog.heartbeat(enrolment, video, "tab", min(60.0, 1.8 * k), now=at(0.05 * k))
    lp = prog.progress_for(enrolment, video)
    assert lp.status != COMPLETED and not r.completed
    assert lp.credited_seconds <= 1.5 * 1.5 + prog.SESSION_SLACK
    assert enrolment.status != COMPLETED and _records(person) == 0


def test_many_heartbeats_in_two_seconds_are_not_each_credited(lesson60):
    person, enrolment, video = lesson60
    reasons = []
    position = 0.0
    for k in range(800):  # 800 heartbeats in 2 s, each a little further (1.1× real time)
        position = 0.0025 * k * 1.1
        reasons.append(prog.heartbeat(enrolment, video, "tab", position, now=at(0.0025 * k)).reason)
    lp = prog.progress_for(enrolment, video)
    assert reasons.count("early") >= 790
    assert reasons.count("credited") <= 2
    # at most what 2 s of real play at the maximum speed give, plus the session's one slack
    assert lp.credited_seconds <= 2 * 1.5 + prog.SESSION_SLACK


def test_the_slack_is_one_for_the_whole_session_not_one_per_heartbeat(lesson60):
    person, enrolment, video = lesson60
    # heartbeats just far enough apart, each claiming the per-heartbeat tolerance on top of the maximum speed
    position, wall = 0.0, 0.0
    prog.heartbeat(enrolment, video, "tab", 0, now=at(0))
    for _ in range(12):
        wall += prog.MIN_INTERVAL
        position += prog.MIN_INTERVAL * 1.5 + prog.TOLERANCE - 0.01
        prog.heartbeat(enrolment, video, "tab", min(position, 60.0), now=at(wall), rate=1.5)
    lp = prog.progress_for(enrolment, video)
    assert lp.credited_seconds <= wall * 1.5 + prog.SESSION_SLACK + 1e-6
    ps = db.session.scalar(select(PlaybackSession).where(PlaybackSession.enrolment_id == enrolment.id))
    assert ps.credited_seconds <= wall * 1.5 + prog.SESSION_SLACK + 1e-6
    assert lp.status != COMPLETED


def test_new_sessions_one_after_another_do_not_collect_slack(lesson60):
    person, enrolment, video = lesson60
    prog.heartbeat(enrolment, video, "s0", 0, now=at(0))
    wall = 0.0
    for k in range(1, 20):  # a fresh playback session for every heartbeat, always from the credited end
        lp = prog.progress_for(enrolment, video)
        start = lp.furthest_position
        prog.heartbeat(enrolment, video, f"s{k}", start, now=at(wall))
        wall += prog.MIN_INTERVAL
        claim = start + prog.MIN_INTERVAL * 1.5 + prog.TOLERANCE
        prog.heartbeat(enrolment, video, f"s{k}", claim, rate=1.5, now=at(wall))
    lp = prog.progress_for(enrolment, video)
    assert lp.credited_seconds <= wall * 1.5 + prog.SESSION_SLACK + 1e-6


def test_a_new_session_cannot_start_ahead_of_what_is_credited(lesson60):
    person, enrolment, video = lesson60
    for wall in (0, 10):
        prog.heartbeat(enrolment, video, "tab-a", wall, now=at(wall))
    # a fresh session that starts at 50 s: anchored back at the credited 10 s
    r = prog.heartbeat(enrolment, video, "tab-b", 50, now=at(20))
    assert r.reason == "ahead" and r.position == pytest.approx(10)
    # "playing on" from 50 credits nothing: it is a jump from the anchor
    r = prog.heartbeat(enrolment, video, "tab-b", 60, now=at(30))
    assert r.credited == 0
    lp = prog.progress_for(enrolment, video)
    assert lp.intervals == [[0, 10]] and lp.furthest_position == 10 and lp.last_position == pytest.approx(10)
    # honest play from the anchor is credited
    r = prog.heartbeat(enrolment, video, "tab-b", 20, now=at(40))
    assert r.credited == pytest.approx(10) and lp.intervals == [[0, 20]]


def test_skipping_ahead_inside_a_session_does_not_earn_the_rest(lesson60):
    person, enrolment, video = lesson60
    prog.heartbeat(enrolment, video, "tab", 0, now=at(0))
    prog.heartbeat(enrolment, video, "tab", 10, now=at(10))
    prog.heartbeat(enrolment, video, "tab", 50, now=at(12))  # the jump: nothing
    for wall in range(22, 80, 10):  # plays on from 50 to the end: still nothing, the anchor stays at 10
        r = prog.heartbeat(enrolment, video, "tab", min(60, 50 + wall - 12), now=at(wall))
        assert r.credited == 0
    lp = prog.progress_for(enrolment, video)
    assert lp.intervals == [[0, 10]] and enrolment.status != COMPLETED and _records(person) == 0


def test_where_skipping_is_allowed_a_new_session_starts_anywhere(enterprise, make_person, make_course):
    person = make_person(enterprise)
    course, (video,) = make_course(enterprise, duration=60.0, forward_seek_allowed=True)
    enrolment, _ = services.enrol(course, person)
    r = prog.heartbeat(enrolment, video, "tab", 30, now=at(0))
    assert r.reason == "started" and r.position == 30
    r = prog.heartbeat(enrolment, video, "tab", 40, now=at(10))
    assert r.credited == pytest.approx(10)
    assert prog.progress_for(enrolment, video).intervals == [[30, 40]]


def test_honest_play_at_the_maximum_speed_with_jitter_completes(lesson60):
    person, enrolment, video = lesson60
    prog.heartbeat(enrolment, video, "tab", 0, now=at(0.3))  # the first heartbeat arrived late
    position = 0.0
    for k in range(1, 5):  # every 10 s of the player's clock, 15 s of video; arrivals jitter ± 0.3 s
        position = min(60.0, 15.0 * k)
        prog.heartbeat(enrolment, video, "tab", position, rate=1.5, now=at(10 * k + (0.3 if k % 2 else -0.2)))
    lp = prog.progress_for(enrolment, video)
    assert lp.status == COMPLETED and enrolment.status == COMPLETED and _records(person) == 1


def test_a_long_pause_then_honest_play(lesson60):
    person, enrolment, video = lesson60
    prog.heartbeat(enrolment, video, "tab", 0, now=at(0))
    prog.heartbeat(enrolment, video, "tab", 10, now=at(10))
    prog.heartbeat(enrolment, video, "tab", 10, playing=False, now=at(11.6))
    prog.heartbeat(enrolment, video, "tab", 10, playing=True, now=at(600))
    r = prog.heartbeat(enrolment, video, "tab", 20, now=at(610))
    assert r.reason == "credited" and r.covered == pytest.approx(20)


def test_an_early_heartbeat_leaves_its_stretch_to_the_next(lesson60):
    person, enrolment, video = lesson60
    prog.heartbeat(enrolment, video, "tab", 0, now=at(0))
    prog.heartbeat(enrolment, video, "tab", 10, now=at(10))
    r = prog.heartbeat(enrolment, video, "tab", 11, playing=False, now=at(11))  # pause a second later
    assert r.reason == "early" and r.credited == 0 and r.covered == pytest.approx(10)
    r = prog.heartbeat(enrolment, video, "tab", 11, playing=False, now=at(13))  # the player's delayed resend
    assert r.covered == pytest.approx(11)
