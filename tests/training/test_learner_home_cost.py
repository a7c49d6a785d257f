"""The learner's home (issue 20) reads the courses of the person's unfinished enrolments, their lessons in reading
order and the progress in each in one statement: what it shows of each course (the resume lesson, the share done,
the order) is what the one-course functions (``ordered_lessons``, ``resume_lesson``, ``enrolment_fraction``,
``my_enrolments``) say, and each person sees only their own courses in their own enterprise's day."""

from __future__ import annotations

import datetime as dt

from flask import url_for

from courses import progress as prog
from courses import services as cs
from courses.models import COMPLETED
from lms.core.db import db
from lms.core.timeutil import today as local_today
from lms.training import learner
from tests.conftest import login

TODAY = local_today()


def _course(ent, title: str, sections: int = 2):
    """A published course of ``sections`` sections of a video and a text lesson each."""
    course = cs.create_course(ent.id, title=title, category="有限空间", hours=2)
    lessons = []
    for s in range(sections):
        section = cs.add_section(course, f"第{s + 1}章")
        video = cs.add_lesson(section, "video", f"{title} 视频{s + 1}")
        video.duration = 100.0
        lessons += [video, cs.add_lesson(section, "text", f"{title} 文字{s + 1}", body_markdown="正文")]
    db.session.flush()
    cs.set_status(course, "published")
    return course, lessons


def _learner_with_courses(enterprise, make_person):
    p = make_person(enterprise, hire_date=TODAY - dt.timedelta(days=400))
    untouched, _ = _course(enterprise, "未开始的课程")
    middle, middle_lessons = _course(enterprise, "学了一半的课程", sections=3)
    done, done_lessons = _course(enterprise, "学完的课程", sections=1)
    no_lessons, gone = _course(enterprise, "课时都删了的课程", sections=1)
    cs.assign(untouched, [p], due_on=TODAY + dt.timedelta(days=40))
    cs.assign(middle, [p], due_on=TODAY - dt.timedelta(days=3))
    cs.assign(done, [p], due_on=TODAY + dt.timedelta(days=3))
    cs.enrol(no_lessons, p)
    for lesson in gone:  # its lessons removed after the learner enrolled: an empty section is left
        db.session.delete(lesson)
    e = cs.enrolment_of(middle, p.id)
    prog.open_lesson(e, middle_lessons[1])
    prog.mark_read(e, middle_lessons[1])
    prog.open_lesson(e, middle_lessons[3])  # left open in the second section
    prog.open_lesson(e, middle_lessons[2]).credited_seconds = 45  # some of the second section's video seen
    d = cs.enrolment_of(done, p.id)
    for lesson in done_lessons:
        prog.open_lesson(d, lesson)
    d.status = COMPLETED
    db.session.flush()
    return p


def test_course_items_are_what_the_one_course_functions_say(app, enterprise, make_person):
    p = _learner_with_courses(enterprise, make_person)
    with app.test_request_context("/"):
        got = learner._course_items(p, TODAY)
        expected = {}
        for e in cs.my_enrolments(p.id):
            if e.status == COMPLETED:
                continue
            lessons = cs.ordered_lessons(e.course)
            lesson = learner.resume_lesson(e)
            expected[e.course_id] = (
                e.course.title,
                prog.enrolment_fraction(e, [x for x in lessons if x.required] or lessons),
                url_for("courses.lesson", lesson_id=lesson.id)
                if lesson is not None
                else url_for("courses.course", course_id=e.course_id),
                lesson.title if lesson is not None else None,
            )
    assert list(got) == list(expected)  # my_enrolments' order: the nearest due date first, then the undated
    assert {k: (i.title, i.fraction, i.url, i.extra["lesson"]) for k, i in got.items()} == expected
    by_title = {i.title: i for i in got.values()}
    assert list(by_title) == [
        "学了一半的课程",
        "未开始的课程",
        "课时都删了的课程",
    ]  # the completed one is not there
    middle = by_title["学了一半的课程"]
    assert middle.extra["lesson"] == "学了一半的课程 视频2"  # the one last worked on, not yet complete
    assert 0 < middle.fraction < 1 and middle.status == "overdue" and middle.action == "continue"
    assert by_title["未开始的课程"].action == "start" and by_title["未开始的课程"].fraction == 0
    assert by_title["课时都删了的课程"].extra["lesson"] is None and by_title["课时都删了的课程"].fraction == 0


def test_each_learner_sees_only_their_own_courses(client, make_enterprise, make_person):
    a_ent, b_ent = make_enterprise(), make_enterprise(time_zone="Europe/London")
    a, b = make_person(a_ent), make_person(b_ent)
    a_course, _ = _course(a_ent, "甲厂的课程")
    b_course, _ = _course(b_ent, "乙厂的课程")
    cs.assign(a_course, [a], due_on=TODAY + dt.timedelta(days=3))
    cs.assign(b_course, [b], due_on=TODAY + dt.timedelta(days=3))
    db.session.commit()
    for person, own, other in ((a, "甲厂的课程", "乙厂的课程"), (b, "乙厂的课程", "甲厂的课程")):
        login(client, person.user)
        for lang in ("zh_CN", "en"):
            with client.session_transaction() as s:
                s["locale"] = lang
            html = client.get("/").get_data(as_text=True)
            assert own in html and other not in html
        client.post("/logout")


def test_a_third_course_costs_the_home_no_statement(client, enterprise, make_person):
    from tests.statements import TRANSACTION, recorded_statements

    p = _learner_with_courses(enterprise, make_person)
    db.session.commit()
    login(client, p.user)

    def statements() -> int:
        client.get("/")
        db.session.expunge_all()
        with recorded_statements(skip=TRANSACTION) as seen:
            assert client.get("/").status_code == 200
        return len(seen)

    before = statements()
    course, _ = _course(enterprise, "第三门课程")
    cs.assign(course, [p], due_on=TODAY + dt.timedelta(days=10))
    db.session.commit()
    assert statements() == before
    assert "第三门课程" in client.get("/").get_data(as_text=True)
