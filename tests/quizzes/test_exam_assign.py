"""Assigning an exam to named people (issue 18): services, the trainer's page, the learner's "my exams"."""

import datetime as dt

import pytest
from sqlalchemy import select

from lms.core.db import db
from lms.core.errors import NotFound
from quizzes import assignments, exams
from quizzes.models import ExamAssignment
from tests.conftest import login


@pytest.fixture
def w(make_exam, make_person, enterprise, make_enterprise):
    exam = make_exam()
    other = make_enterprise()
    return {
        "exam": exam,
        "trainer": make_person(enterprise, app_role="trainer"),
        "zhang": make_person(enterprise, name="张三丰", department="二车间/乙班"),
        "li": make_person(enterprise, name="李四海", department="一车间/甲班"),
        "wang": make_person(enterprise, name="王五", department="一车间/丙班"),
        "other": other,
        "stranger": make_person(other, name="外企员工"),
        "other_trainer": make_person(other, app_role="trainer"),
        "other_exam": exams.create_exam(other.id, title="别家的考试"),
    }


def _rows(exam):
    return list(
        db.session.scalars(
            select(ExamAssignment).where(ExamAssignment.exam_id == exam.id).order_by(ExamAssignment.person_id)
        )
    )


def test_assign_is_idempotent_and_notifies(w):
    from lms.training.models import Notification

    exam = w["exam"]
    assert assignments.assign(exam, [w["zhang"], w["li"]], dt.date(2027, 1, 15), w["trainer"].user) == {
        "created": 2,
        "existing": 0,
    }
    assert assignments.assign(exam, [w["zhang"]], None, w["trainer"].user) == {"created": 0, "existing": 1}
    assert assignments.assign(exam, [w["zhang"]], dt.date(2027, 2, 1)) == {"created": 0, "existing": 1}
    rows = _rows(exam)
    assert [(r.person_id, r.due_on) for r in rows] == sorted(
        [(w["zhang"].id, dt.date(2027, 2, 1)), (w["li"].id, dt.date(2027, 1, 15))]
    )
    assert rows[0].assigned_by_id == w["trainer"].user.id and rows[0].assigned_at is not None
    assert [a.person.name for a in assignments.assigned_people(exam)] == ["李四海", "张三丰"]  # by department
    notes = list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == w["zhang"].user.id).order_by(Notification.id)
        )
    )
    assert len(notes) == 1 and exam.title in notes[0].title


def test_assign_refuses_another_enterprises_person_and_unassign(w):
    exam = w["exam"]
    with pytest.raises(NotFound):
        assignments.assign(exam, [w["zhang"], w["stranger"]], None, None)
    assert _rows(exam) == []
    assignments.assign(exam, [w["zhang"]], None, None)
    assignments.unassign(exam, w["zhang"])
    assert _rows(exam) == []
    with pytest.raises(NotFound):
        assignments.unassign(exam, w["zhang"])


def test_assign_by_name_and_by_department_on_the_page(client, w):
    exam = w["exam"]
    login(client, w["trainer"].user)
    page = client.get(f"/quizzes/exams/{exam.id}/assign?q=张三")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "张三丰" in html and 'name="person_ids"' in html
    assert "people-picker.js" in html
    assert f"/quizzes/exams/{exam.id}/assign" in client.get(f"/quizzes/exams/{exam.id}").get_data(
        as_text=True
    )

    r = client.post(
        f"/quizzes/exams/{exam.id}/assign", data={"person_ids": [str(w["zhang"].id)], "due_on": "2027-03-01"}
    )
    assert r.status_code == 302
    assert [(a.person_id, a.due_on) for a in _rows(exam)] == [(w["zhang"].id, dt.date(2027, 3, 1))]

    from lms.org.models import Department

    dept = db.session.scalar(
        select(Department).where(Department.enterprise_id == exam.enterprise_id, Department.path == "一车间")
    )
    r = client.post(f"/quizzes/exams/{exam.id}/assign", data={"departments": [str(dept.id)]})
    assert r.status_code == 302
    assigned = {a.person_id for a in _rows(exam)}
    assert {w["zhang"].id, w["li"].id, w["wang"].id} <= assigned
    assert w["stranger"].id not in assigned
    # again: nothing doubles, the due date stays
    client.post(f"/quizzes/exams/{exam.id}/assign", data={"departments": [str(dept.id)]})
    assert len(_rows(exam)) == len(assigned)
    assert db.session.scalar(
        select(ExamAssignment.due_on).where(ExamAssignment.person_id == w["zhang"].id)
    ) == dt.date(2027, 3, 1)

    html = client.get(f"/quizzes/exams/{exam.id}/assign").get_data(as_text=True)
    assert "张三丰" in html and "李四海" in html and "2027-03-01" in html

    r = client.post(f"/quizzes/exams/{exam.id}/assign/remove", data={"person_id": w["li"].id})
    assert r.status_code == 302
    assert w["li"].id not in {a.person_id for a in _rows(exam)}
    assert (
        client.post(f"/quizzes/exams/{exam.id}/assign/remove", data={"person_id": w["li"].id}).status_code
        == 404
    )
    assert client.post(f"/quizzes/exams/{exam.id}/assign/remove", data={}).status_code == 400


def test_another_enterprise_is_refused(client, w):
    exam = w["exam"]
    login(client, w["trainer"].user)
    # a forged id of another enterprise's person
    r = client.post(f"/quizzes/exams/{exam.id}/assign", data={"person_ids": [str(w["stranger"].id)]})
    assert r.status_code == 404
    r = client.post(
        f"/quizzes/exams/{exam.id}/assign", data={"person_ids": [str(w["zhang"].id), str(w["stranger"].id)]}
    )
    assert r.status_code == 404
    assert _rows(exam) == []
    assert client.post(f"/quizzes/exams/{exam.id}/assign", data={"person_ids": ["9" * 20]}).status_code == 400
    assert (
        client.post(
            f"/quizzes/exams/{exam.id}/assign/remove", data={"person_id": w["stranger"].id}
        ).status_code
        == 404
    )
    # another enterprise's exam
    other_exam = w["other_exam"]
    assert client.get(f"/quizzes/exams/{other_exam.id}/assign").status_code == 404
    assert (
        client.post(
            f"/quizzes/exams/{other_exam.id}/assign", data={"person_ids": [str(w["zhang"].id)]}
        ).status_code
        == 404
    )
    assert _rows(other_exam) == []

    client.post("/logout")
    login(client, w["other_trainer"].user)
    assert client.get(f"/quizzes/exams/{exam.id}/assign").status_code == 404
    assignments.assign(exam, [w["zhang"]], None, None)
    db.session.commit()  # a refused request rolls its unit back
    r = client.post(f"/quizzes/exams/{exam.id}/assign/remove", data={"person_id": w["zhang"].id})
    assert r.status_code == 404
    assert len(_rows(exam)) == 1


def test_learner_cannot_reach_the_page(client, w):
    exam = w["exam"]
    login(client, w["zhang"].user)
    assert client.get(f"/quizzes/exams/{exam.id}/assign").status_code == 403
    assert (
        client.post(f"/quizzes/exams/{exam.id}/assign", data={"person_ids": [str(w["zhang"].id)]}).status_code
        == 403
    )
    assert (
        client.post(f"/quizzes/exams/{exam.id}/assign/remove", data={"person_id": w["zhang"].id}).status_code
        == 403
    )
    assert _rows(exam) == []


def test_csrf_required(app, client, w, monkeypatch):
    exam = w["exam"]
    login(client, w["trainer"].user)
    assignments.assign(exam, [w["zhang"]], None, None)
    db.session.commit()  # a refused request rolls its unit back
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    r = client.post(f"/quizzes/exams/{exam.id}/assign", data={"person_ids": [str(w["li"].id)]})
    assert r.status_code == 400
    r = client.post(f"/quizzes/exams/{exam.id}/assign/remove", data={"person_id": w["zhang"].id})
    assert r.status_code == 400
    assert [a.person_id for a in _rows(exam)] == [w["zhang"].id]
    html = client.get(f"/quizzes/exams/{exam.id}/assign").get_data(as_text=True)
    assert 'name="csrf_token"' in html


def test_my_exams_shows_the_assigned_exam_first_with_its_due_date(client, w, make_exam):
    exam = w["exam"]
    make_exam(title="AAA 先建的考试")
    assignments.assign(exam, [w["zhang"]], dt.date(2027, 4, 30), None)
    login(client, w["zhang"].user)
    html = client.get("/quizzes/").get_data(as_text=True)
    assert "2027-04-30" in html
    assert html.index(exam.title) < html.index("AAA 先建的考试")
    # someone not assigned sees no due date
    client.post("/logout")
    login(client, w["li"].user)
    html = client.get("/quizzes/").get_data(as_text=True)
    assert exam.title in html and "2027-04-30" not in html
