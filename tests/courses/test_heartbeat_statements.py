"""SQL statements per video heartbeat: a ceiling that fails if per-object lookups come back.

A heartbeat is the hottest write of the product (every viewer, every few seconds). One credited heartbeat
needs: the login session (with the user), one joined query for lesson + course + enrolment (locked) + lesson
progress + playback session, and the UPDATEs of what changed (progress, enrolment, playback session). Before
this was measured it took 9 (lesson, course, enrolment, progress and playback session one by one).
Savepoint statements of the test transaction are not counted.
"""

from __future__ import annotations

import datetime as dt

import pytest

from courses import services
from courses.models import Enrolment, LessonProgress, PlaybackSession
from lms.core.db import db
from tests.conftest import login
from tests.statements import TRANSACTION, recorded_statements

CREDITED_CEILING = 5  # user + login session, lesson/course/enrolment/progress/playback, 3 UPDATEs


def _of(seen: list[str], verb: str, table: str | None = None) -> list[str]:
    return [
        s
        for s in seen
        if s.lstrip().upper().startswith(verb) and (table is None or table in s.split("WHERE")[0])
    ]


def _beat(client, lesson_id: int, position: float, *, playing: bool = True, session: str = "tab-1"):
    db.session.expunge_all()  # a fresh request: nothing already in the identity map
    with recorded_statements(skip=(*TRANSACTION, "COMMIT")) as seen:
        r = client.post(
            f"/courses/lessons/{lesson_id}/heartbeat",
            json={"session": session, "position": position, "playing": playing, "rate": 1},
        )
    assert r.status_code == 200, r.data[:500]
    return r.json, seen


def _shift_clock(enrolment_id: int, seconds: float) -> None:
    """Move this enrolment's playback anchors back in time, as if ``seconds`` of real time had passed."""
    delta = dt.timedelta(seconds=seconds)
    enrolment = db.session.get(Enrolment, enrolment_id)
    for ps in db.session.query(PlaybackSession).filter_by(enrolment_id=enrolment_id):
        ps.last_wall -= delta
        ps.started_at -= delta  # the session's running budget counts from its start
    if enrolment.credited_wall_until:
        enrolment.credited_wall_until -= delta
    db.session.commit()


@pytest.fixture
def watching(client, enterprise, make_person, make_course):
    person = make_person(enterprise)
    course, (video,) = make_course(enterprise, duration=600.0)
    enrolment, _ = services.enrol(course, person)
    db.session.commit()
    login(client, person.user)
    return enrolment.id, video.id


def test_credited_heartbeat_stays_under_the_statement_ceiling(client, watching):
    enrolment_id, video_id = watching
    _beat(client, video_id, 0)  # starts the playback session (creates rows: not the hot path)
    position = 0.0
    for _ in range(3):
        _shift_clock(enrolment_id, 10)
        position += 10
        out, seen = _beat(client, video_id, position)
        assert out["reason"] == "credited" and out["credited"] == pytest.approx(10)
        assert len(seen) <= CREDITED_CEILING, "\n".join(seen)
        # one locked read of the enrolment, never separate lookups of lesson, course and enrolment
        assert len(_of(seen, "SELECT")) <= 2, "\n".join(_of(seen, "SELECT"))
        assert len(_of(seen, "UPDATE", "course_lesson_progress")) == 1
        assert len(_of(seen, "UPDATE", "course_enrolment")) == 1
        assert len(_of(seen, "UPDATE", "course_playback_session")) == 1
    db.session.expunge_all()
    lp = db.session.query(LessonProgress).filter_by(enrolment_id=enrolment_id).one()
    enrolment = db.session.get(Enrolment, enrolment_id)
    assert lp.intervals == [[0.0, 30.0]] and lp.last_position == 30
    assert enrolment.credited_seconds == pytest.approx(30)


def test_heartbeat_writes_what_it_answers_and_the_column_defaults(client, watching):
    """The hot path writes its rows with prepared UPDATEs (courses.progress._write_changes), not the flush:
    what it writes is what it answers, the progress row's ``updated_at`` still moves, and nothing is left dirty."""
    enrolment_id, video_id = watching
    _beat(client, video_id, 0)
    lp = db.session.query(LessonProgress).filter_by(enrolment_id=enrolment_id).one()
    lp.updated_at = dt.datetime(2000, 1, 1)
    db.session.commit()
    _shift_clock(enrolment_id, 10)
    out, _seen = _beat(client, video_id, 10, session="tab-1")
    assert not db.session.dirty
    db.session.expunge_all()
    lp = db.session.query(LessonProgress).filter_by(enrolment_id=enrolment_id).one()
    ps = db.session.query(PlaybackSession).filter_by(enrolment_id=enrolment_id).one()
    enrolment = db.session.get(Enrolment, enrolment_id)
    assert lp.credited_seconds == pytest.approx(out["covered"]) == pytest.approx(10)
    assert lp.furthest_position == pytest.approx(out["furthest"]) and lp.last_position == 10
    assert lp.updated_at > dt.datetime(2000, 1, 2)
    assert ps.last_position == 10 and ps.playing is True
    assert enrolment.credited_seconds == pytest.approx(10) and enrolment.credited_wall_until is not None


def test_heartbeat_that_credits_nothing_rewrites_neither_intervals_nor_enrolment(client, watching):
    enrolment_id, video_id = watching
    _beat(client, video_id, 0)
    _shift_clock(enrolment_id, 10)
    _beat(client, video_id, 10)
    _shift_clock(enrolment_id, 5)
    # paused at the same position: only the playback anchor moves
    out, seen = _beat(client, video_id, 10, playing=False)
    assert out["credited"] == 0
    assert not _of(seen, "UPDATE", "course_enrolment"), seen
    assert not _of(seen, "UPDATE", "course_lesson_progress"), seen
    assert len(seen) <= CREDITED_CEILING - 2, "\n".join(seen)
    # re-watching what is already covered credits nothing: no new intervals, enrolment untouched
    _shift_clock(enrolment_id, 5)
    _beat(client, video_id, 0)  # backwards: moves the anchor
    _shift_clock(enrolment_id, 5)
    out, seen = _beat(client, video_id, 5)
    assert out["credited"] == 0 and out["covered"] == pytest.approx(10)
    assert not _of(seen, "UPDATE", "course_enrolment"), seen
    for s in _of(seen, "UPDATE", "course_lesson_progress"):
        assert "intervals" not in s and "credited_seconds" not in s, s
    db.session.expunge_all()
    assert db.session.get(Enrolment, enrolment_id).credited_seconds == pytest.approx(10)


def test_not_enrolled_and_unknown_lesson(client, enterprise, make_person, make_course):
    person = make_person(enterprise)
    course, (video,) = make_course(enterprise, duration=60.0)
    db.session.commit()
    login(client, person.user)
    r = client.post(f"/courses/lessons/{video.id}/heartbeat", json={"session": "s", "position": 1})
    assert r.status_code == 404 and r.json["reason"] == "not-enrolled"
    r = client.post("/courses/lessons/987654/heartbeat", json={"session": "s", "position": 1})
    assert r.status_code == 404


def test_two_tabs_over_http_credit_real_time_once(client, watching):
    enrolment_id, video_id = watching
    _beat(client, video_id, 0, session="tab-a")
    _beat(client, video_id, 300, session="tab-b")  # the second tab: its own playback session
    for k in range(1, 4):  # both play for 30 s of real time
        _shift_clock(enrolment_id, 10)
        _beat(client, video_id, 10 * k, session="tab-a")
        _beat(client, video_id, 300 + 10 * k, session="tab-b")
    db.session.expunge_all()
    enrolment = db.session.get(Enrolment, enrolment_id)
    lp = db.session.query(LessonProgress).filter_by(enrolment_id=enrolment_id).one()
    assert 0 < lp.credited_seconds <= 30 * 1.5 + 2 * 3  # never 60: the same real time is credited once
    assert enrolment.credited_seconds == pytest.approx(lp.credited_seconds)
    assert db.session.query(PlaybackSession).filter_by(enrolment_id=enrolment_id).count() == 2


def test_a_heartbeat_sooner_than_the_minimum_interval_writes_nothing(client, watching):
    """Hundreds of heartbeats a second cost a read each, never a write (and credit nothing)."""
    enrolment_id, video_id = watching
    _beat(client, video_id, 0)
    for k in range(1, 4):
        out, seen = _beat(client, video_id, 0.4 * k)
        assert out["reason"] == "early" and out["credited"] == 0
        assert not _of(seen, "UPDATE") and not _of(seen, "INSERT"), seen
        assert len(seen) <= CREDITED_CEILING - 3, "\n".join(seen)
