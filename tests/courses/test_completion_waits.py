"""A course finished while its learner is in another training waits, and is recorded once that is over.

Seen in the browser suite: the demo learner checked in by QR code to a ten-minute toolbox talk, then watched a
short video to its end. The course's record (a moment, 09:41) overlapped the talk (09:34–09:44), the ledger
refused it ("a person attends one training at a time"), the heartbeat answered 409 and the whole stretch was
lost: the lesson stayed "in progress" for good and nothing told the learner why. Now the watching is kept and
the lesson is done; the course waits with a reason, and the course and lesson pages record it once the other
training is over.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from courses import progress as prog
from courses import services
from courses.models import COMPLETED
from lms.core.db import db, utcnow
from lms.ledger import services as ledger
from lms.ledger.models import TrainingRecord

T0 = dt.datetime(2026, 3, 2, 1, 30, 0)  # 09:30 in Shanghai


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def _talk(person, start, minutes=10):
    """The person signed in to a toolbox talk from ``start`` (a classroom record with recorded times)."""
    return ledger.record(
        person,
        kind="offline",
        topic="班前安全讲话",
        source=f"offline_session:talk-{person.id}",
        hours=round(minutes / 60, 2),
        started_at=start,
        completed_at=start + dt.timedelta(minutes=minutes),
    ).record


def _course_records(enrolment):
    return db.session.scalars(
        select(TrainingRecord).where(
            TrainingRecord.source == f"course_enrolment:{enrolment.id}", TrainingRecord.voided_at.is_(None)
        )
    ).all()


def test_a_course_finished_during_a_talk_keeps_its_watching_and_waits(enterprise, make_person, make_course):
    person = make_person(enterprise)
    course, (video,) = make_course(enterprise, duration=20.0)
    enrolment, _ = services.enrol(course, person)
    _talk(person, at(-120))
    r = None
    for wall in (0, 10, 20):
        r = prog.heartbeat(enrolment, video, "tab-a", wall, now=at(wall))
    # the watching counts and the lesson is done; the course is not recorded inside the talk
    assert r.completed and r.covered == 20
    assert r.waiting is not None and "班前安全讲话" in str(r.as_dict()["waiting"])
    assert enrolment.status != COMPLETED and _course_records(enrolment) == []
    # still inside the talk: it still waits, and writes nothing
    assert prog.settle_course(enrolment, now=at(300)) is not None
    assert _course_records(enrolment) == []
    # once the talk is over, the course is recorded at that moment, once
    after = at(-120) + dt.timedelta(minutes=10, seconds=1)
    assert prog.settle_course(enrolment, now=after) is None
    assert enrolment.status == COMPLETED
    (rec,) = _course_records(enrolment)
    assert rec.completed_at == after and rec.hours == 2
    assert prog.settle_course(enrolment, now=after + dt.timedelta(minutes=1)) is None
    assert len(_course_records(enrolment)) == 1


def test_without_another_training_the_heartbeat_completes_at_once(enterprise, make_person, make_course):
    person = make_person(enterprise)
    course, (video,) = make_course(enterprise, duration=20.0)
    enrolment, _ = services.enrol(course, person)
    _talk(person, at(-1200))  # over ten minutes before
    for wall in (0, 10, 20):
        r = prog.heartbeat(enrolment, video, "tab-a", wall, now=at(wall))
    assert r.completed and r.waiting is None and r.as_dict()["waiting"] is None
    assert enrolment.status == COMPLETED and len(_course_records(enrolment)) == 1


def test_the_course_page_says_why_and_records_it_when_it_can(client, enterprise, make_person, make_course):
    from tests.conftest import login

    person = make_person(enterprise, app_role="learner")
    course, (video,) = make_course(enterprise, duration=20.0)
    enrolment, _ = services.enrol(course, person)
    talk = _talk(person, utcnow() - dt.timedelta(minutes=5))
    prog.complete_lesson(enrolment, video)  # the last lesson done during the talk
    assert enrolment.status != COMPLETED
    db.session.commit()
    login(client, person.user)

    for url in (f"/courses/{course.id}", f"/courses/lessons/{video.id}"):
        page = client.get(url).get_data(as_text=True)
        assert "课程将在另一项培训结束后计入" in page and "班前安全讲话" in page, url
    db.session.expire_all()
    assert db.session.get(type(enrolment), enrolment.id).status != COMPLETED

    ledger.void(talk.id, reason="登记错误", actor=None)  # the talk is gone: nothing overlaps any more
    db.session.commit()
    page = client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert "课程将在另一项培训结束后计入" not in page
    db.session.expire_all()
    done = db.session.get(type(enrolment), enrolment.id)
    assert done.status == COMPLETED and len(_course_records(done)) == 1
