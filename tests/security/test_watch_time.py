"""Watch time cannot run faster than the clock, through the real heartbeat route and the real clock.

Seen on the landed main: heartbeats every 50 ms, each claiming a little more than real time, completed a 60 s
lesson in 1.5 s (about 36× real time) and wrote a training record; ~800 heartbeats were accepted in 2 s.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import func, select

from courses import progress as prog
from courses import services
from courses.models import COMPLETED, Enrolment, LessonProgress, PlaybackSession
from lms.core.db import db
from lms.ledger.models import TrainingRecord
from tests.conftest import login
from tests.courses.conftest import make_course  # noqa: F401,F811 - the fixture


@pytest.fixture
def attacker(client, enterprise, make_person, make_course):  # noqa: F811
    person = make_person(enterprise)
    course, (video,) = make_course(enterprise, duration=60.0, max_playback_rate=1.5)
    enrolment, _ = services.enrol(course, person)
    db.session.commit()
    login(client, person.user)
    return person, enrolment.id, f"/courses/lessons/{video.id}/heartbeat"


def _state(person, enrolment_id):
    db.session.expire_all()
    lp = db.session.scalar(select(LessonProgress).where(LessonProgress.enrolment_id == enrolment_id))
    records = db.session.scalar(
        select(func.count(TrainingRecord.id)).where(TrainingRecord.person_id == person.id)
    )
    return lp, db.session.get(Enrolment, enrolment_id), records


def test_heartbeats_every_50ms_claiming_36x_do_not_complete_a_60s_lesson(client, attacker):
    person, enrolment_id, url = attacker
    start = time.monotonic()
    k = 0
    while time.monotonic() - start < 1.5:
        r = client.post(
            url, json={"session": "evil", "position": min(60, 1.8 * k), "playing": True, "rate": 1}
        )
        assert r.status_code == 200
        k += 1
        time.sleep(0.05)
    elapsed = time.monotonic() - start
    lp, enrolment, records = _state(person, enrolment_id)
    assert lp.status != COMPLETED and enrolment.status != COMPLETED and records == 0
    assert lp.credited_seconds <= elapsed * 1.5 + prog.SESSION_SLACK


def test_hundreds_of_heartbeats_in_two_seconds_are_not_credited(client, attacker):
    person, enrolment_id, url = attacker
    start, reasons, k = time.monotonic(), [], 0
    while time.monotonic() - start < 2.0:
        r = client.post(url, json={"session": "burst", "position": 0.01 * k, "playing": True, "rate": 1})
        reasons.append(r.json["reason"])
        k += 1
    elapsed = time.monotonic() - start
    assert len(reasons) > 20
    credited = [x for x in reasons if x not in ("early", "started")]
    assert len(credited) <= elapsed / prog.MIN_INTERVAL + 1, reasons
    lp, enrolment, records = _state(person, enrolment_id)
    assert lp.credited_seconds <= elapsed * 1.5 + prog.SESSION_SLACK


def test_a_new_playback_session_cannot_start_beyond_what_is_credited(client, attacker):
    person, enrolment_id, url = attacker
    r = client.post(url, json={"session": "fresh", "position": 55, "playing": True, "rate": 1})
    assert r.status_code == 200 and r.json["reason"] == "ahead" and r.json["position"] == 0
    lp, enrolment, records = _state(person, enrolment_id)
    assert lp.last_position == 0 and lp.furthest_position == 0  # the page resumes at the start, not at 55 s


def _let_time_pass(enrolment_id: int, seconds: float) -> None:
    """Move the stored wall-clock times of the enrolment's playback back (as if ``seconds`` had passed)."""
    delta = dt.timedelta(seconds=seconds)
    db.session.expire_all()
    for ps in db.session.scalars(select(PlaybackSession).where(PlaybackSession.enrolment_id == enrolment_id)):
        ps.started_at -= delta
        ps.last_wall -= delta
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment.credited_wall_until is not None:
        enrolment.credited_wall_until -= delta
    db.session.commit()


def test_spaced_heartbeats_each_claiming_the_slack_get_one_slack_in_all(client, attacker):
    """Heartbeats just far enough apart, each claiming max speed plus the 2 s that each heartbeat used to get
    afresh: the playback session's running budget gives the slack once, not once per heartbeat."""
    person, enrolment_id, url = attacker
    start = time.monotonic()
    assert (
        client.post(url, json={"session": "spaced", "position": 0, "playing": True}).json["reason"]
        == "started"
    )
    position = wall = 0.0
    for _ in range(12):
        _let_time_pass(enrolment_id, prog.MIN_INTERVAL)
        wall += prog.MIN_INTERVAL
        position = min(60.0, position + prog.MIN_INTERVAL * 1.5 + prog.TOLERANCE - 0.01)
        r = client.post(url, json={"session": "spaced", "position": position, "playing": True, "rate": 1.5})
        assert r.status_code == 200
    lp, enrolment, records = _state(person, enrolment_id)
    # without the running budget: 12 × 4.24 s ≈ 51 s credited for 18 s of wall time
    real = time.monotonic() - start  # the budget counts the real time the requests took, too
    assert real < 8, real  # else the bound below would not tell the two apart
    assert lp.credited_seconds <= (wall + real) * 1.5 + prog.SESSION_SLACK + 1e-6
    assert lp.status != COMPLETED and records == 0
