"""An exam lesson links to its exam's start page by the quizzes endpoint's own name (no guessing)."""

from __future__ import annotations

from courses import services
from lms.core.db import db


def test_exam_lesson_links_to_the_exam_start(client, enterprise, make_person, make_course):
    from tests.conftest import login

    person = make_person(enterprise, app_role="learner")
    course, (_video, exam) = make_course(enterprise, duration=10.0, extra=("exam",))
    services.enrol(course, person)
    db.session.commit()
    login(client, person.user)
    page = client.get(f"/courses/lessons/{exam.id}").get_data(as_text=True)
    assert f'href="/quizzes/exams/{exam.exam_id}/start"' in page
