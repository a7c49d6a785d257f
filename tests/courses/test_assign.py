"""Assigning a course to named people found by search, by department/post/role; who is assigned; removing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from courses import progress as prog
from courses import services
from courses.models import Enrolment
from lms.core.db import db
from lms.org.people_search import search_people
from tests.conftest import login


@pytest.fixture
def staff_setup(enterprise, make_enterprise, make_person, make_course):
    course, lessons = make_course(enterprise, duration=30.0, extra=("text",))
    trainer = make_person(enterprise, app_role="trainer", department="安全环保部", name="培训员甲")
    zhang = make_person(enterprise, name="张三丰", employee_no="A1001", department="二车间/乙班")
    li = make_person(enterprise, name="李四", employee_no="A1002", department="二车间/甲班")
    wang = make_person(enterprise, name="王五", employee_no="B2001", department="三车间")
    other = make_enterprise()
    stranger = make_person(other, name="张三外企", employee_no="A1003", department="二车间/乙班")
    return {
        "course": course,
        "lessons": lessons,
        "trainer": trainer,
        "zhang": zhang,
        "li": li,
        "wang": wang,
        "stranger": stranger,
        "other": other,
    }


def _assigned(course):
    return db.session.scalars(
        select(Enrolment.person_id)
        .where(Enrolment.course_id == course.id, Enrolment.source == "assigned")
        .order_by(Enrolment.person_id)
    ).all()


def test_search_service_matches_name_number_department_within_enterprise(enterprise, staff_setup):
    s = staff_setup
    assert [p.name for p in search_people(enterprise.id, "张")] == ["张三丰"]
    assert [p.name for p in search_people(enterprise.id, "a100")] == ["张三丰", "李四"]  # 工号, any case
    assert [p.name for p in search_people(enterprise.id, "二车间")] == ["张三丰", "李四"]
    assert [p.name for p in search_people(enterprise.id, "二车间 甲班")] == ["李四"]  # every word must match
    assert (
        search_people(enterprise.id, "%") == [] and search_people(enterprise.id, "_") == []
    )  # taken literally
    assert search_people(enterprise.id, "   ") == []
    assert [p.name for p in search_people(s["other"].id, "张")] == ["张三外企"]
    assert len(search_people(enterprise.id, "车间", limit=1)) == 1


def test_search_endpoint_is_staff_only_and_never_shows_another_enterprise(
    app, client, enterprise, staff_setup, make_person
):
    s = staff_setup
    login(client, s["trainer"].user)
    r = client.get("/org/people/search?q=张三", headers={"Accept": "application/json"})
    assert r.status_code == 200
    people = r.json["people"]
    assert [p["name"] for p in people] == ["张三丰"]  # 张三外企 of the other enterprise never appears
    assert people[0] == {
        "id": s["zhang"].id,
        "name": "张三丰",
        "employee_no": "A1001",
        "department": "二车间/乙班",
        "post": "操作工",
    }
    assert "phone" not in people[0]
    assert client.get("/org/people/search?q=A1003").json["people"] == []
    assert len(client.get("/org/people/search?q=a&limit=100000").json["people"]) <= 50
    learner = make_person(enterprise, name="学员")
    other_client = app.test_client()
    login(other_client, learner.user)
    assert other_client.get("/org/people/search?q=张").status_code in (403, 404)
    assert app.test_client().get("/org/people/search?q=张").status_code in (302, 401, 403)


def test_assign_named_people_and_a_department_then_remove(client, enterprise, staff_setup):
    s = staff_setup
    course = s["course"]
    login(client, s["trainer"].user)
    page = client.get(f"/courses/{course.id}/assign?q=张")  # the search without script
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "张三丰" in html and "张三外企" not in html
    assert f'name="person_ids" value="{s["zhang"].id}"' in html
    data = {"person_ids": [s["zhang"].id, s["li"].id], "due_on": "2030-06-30"}
    r = client.post(f"/courses/{course.id}/assign", data=data)
    assert r.status_code == 200 and "2 " in r.get_data(as_text=True)  # the preview names them
    assert _assigned(course) == []
    r = client.post(f"/courses/{course.id}/assign", data=data | {"confirm": "1"})
    assert r.status_code == 302
    assert _assigned(course) == sorted([s["zhang"].id, s["li"].id])
    listing = client.get(f"/courses/{course.id}/assign").get_data(as_text=True)
    assert "张三丰" in listing and "李四" in listing and "王五" not in listing
    # a department together with a named person: both counted, nobody twice
    from lms.org.models import Department

    dept = db.session.scalar(
        select(Department).where(Department.enterprise_id == enterprise.id, Department.path == "三车间")
    )
    r = client.post(
        f"/courses/{course.id}/assign",
        data={"departments": [dept.id], "person_ids": [s["zhang"].id], "confirm": "1"},
    )
    assert r.status_code == 302
    assert _assigned(course) == sorted([s["zhang"].id, s["li"].id, s["wang"].id])
    # remove 李四 (not started): the enrolment goes
    r = client.post(f"/courses/{course.id}/assign/remove", data={"person_id": s["li"].id})
    assert r.status_code == 302
    assert s["li"].id not in _assigned(course)
    assert services.enrolment_of(course, s["li"].id) is None
    # remove 张三丰 after he started: his progress stays as a self-enrolment without a due date
    enrolment = services.enrolment_of(course, s["zhang"].id)
    prog.open_lesson(enrolment, s["lessons"][0])
    db.session.flush()
    r = client.post(f"/courses/{course.id}/assign/remove", data={"person_id": s["zhang"].id})
    assert r.status_code == 302
    kept = services.enrolment_of(course, s["zhang"].id)
    assert kept is not None and kept.source == "self" and kept.due_on is None


def test_forged_ids_of_another_enterprise_are_ignored_or_refused(client, enterprise, staff_setup):
    s = staff_setup
    course = s["course"]
    login(client, s["trainer"].user)
    r = client.post(
        f"/courses/{course.id}/assign", data={"person_ids": [s["stranger"].id, "x", "-1"], "confirm": "1"}
    )
    assert r.status_code == 200  # nobody matches: the page says so, nothing enrolled
    assert _assigned(course) == []
    assert services.enrolment_of(course, s["stranger"].id) is None
    # the stranger enrolled in their own enterprise cannot be removed from here
    services.enrol(course, s["stranger"], source="assigned") if services.visible_to_enterprise(
        course, s["other"].id
    ) else None
    r = client.post(f"/courses/{course.id}/assign/remove", data={"person_id": s["stranger"].id})
    assert r.status_code == 404
    r = client.post(f"/courses/{course.id}/assign/remove", data={"person_id": s["wang"].id})
    assert r.status_code == 404  # not assigned
    assert client.post(f"/courses/{course.id}/assign/remove", data={}).status_code == 400


def test_assign_page_needs_csrf(app, client, staff_setup, monkeypatch):
    s = staff_setup
    login(client, s["trainer"].user)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    r = client.post(f"/courses/{s['course'].id}/assign/remove", data={"person_id": s["zhang"].id})
    assert r.status_code == 400
    html = client.get(f"/courses/{s['course'].id}/assign").get_data(as_text=True)
    assert 'name="csrf_token"' in html


def test_another_enterprise_cannot_open_the_assign_page(client, staff_setup, make_person):
    s = staff_setup
    outsider = make_person(s["other"], app_role="trainer")
    login(client, outsider.user)
    assert client.get(f"/courses/{s['course'].id}/assign").status_code == 404
    assert (
        client.post(f"/courses/{s['course'].id}/assign/remove", data={"person_id": s["zhang"].id}).status_code
        == 404
    )


def test_ids_too_large_for_the_column_are_refused_not_a_500(client, staff_setup):
    s = staff_setup
    login(client, s["trainer"].user)
    huge = "9" * 20
    r = client.post(f"/courses/{s['course'].id}/assign", data={"person_ids": [huge], "confirm": "1"})
    assert r.status_code == 200 and _assigned(s["course"]) == []
    assert client.post(f"/courses/{s['course'].id}/assign/remove", data={"person_id": huge}).status_code in (
        400,
        404,
    )
    assert client.get("/org/people/search?q=" + "张" * 500 + "&limit=" + huge).status_code == 200
