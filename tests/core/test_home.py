"""The learner's home page is "what to do next": it reads the same status rows as "My training"."""

from __future__ import annotations

import datetime as dt
import re

from courses import progress as prog
from courses import services as courses
from lms.core.db import db
from lms.core.timeutil import today as local_today
from lms.training.learner import my_requirements, still_to_do
from tests.conftest import login
from tests.training.helpers import rec, requirement

TODAY = local_today()


def _course(ent, title="有限空间作业安全", lessons=3):
    course = courses.create_course(ent.id, title=title, category="有限空间", hours=2)
    section = courses.add_section(course, "第一章")
    made = [
        courses.add_lesson(section, "text", f"第{i + 1}课", body_markdown=f"正文 {i + 1}")
        for i in range(lessons)
    ]
    db.session.flush()
    courses.set_status(course, "published")
    return course, made


def _stat(html: str, label: str) -> int:
    m = re.search(r"<strong>(\d+)</strong><span>" + re.escape(label), html)
    assert m, f"no figure {label!r} in the page"
    return int(m.group(1))


def test_home_never_says_nothing_to_do_while_a_course_requirement_is_overdue(client, enterprise, make_person):
    """The bug of issue 18: "0 待完成" on home with an assigned course overdue."""
    p = make_person(enterprise, name="张逾期", hire_date=TODAY - dt.timedelta(days=400))
    course, lessons = _course(enterprise)
    requirement(enterprise, name="有限空间必修课", kind="course", course_id=course.id, initial_days=30)
    courses.assign(course, [p], due_on=TODAY - dt.timedelta(days=5))
    prog.open_lesson(courses.enrolment_of(course, p.id), lessons[0])
    prog.mark_read(courses.enrolment_of(course, p.id), lessons[0])
    prog.open_lesson(courses.enrolment_of(course, p.id), lessons[1])
    db.session.flush()

    rows = my_requirements(p)
    assert [r["status"] for r in rows] == ["overdue"]

    login(client, p.user)
    home = client.get("/")
    assert home.status_code == 200
    html = home.get_data(as_text=True)
    assert "先做这些" in html  # the urgent block comes first
    assert "有限空间必修课" in html and "已逾期" in html
    assert _stat(html, "待完成") >= still_to_do(rows) >= 1
    assert _stat(html, "已逾期") == 1  # the requirement and its enrolment are one item, not two
    # One button: continue the course at the lesson left open (the second), not the first.
    assert f'href="/courses/lessons/{lessons[1].id}"' in html
    assert "继续学习：第2课" in html
    assert 'role="progressbar"' in html

    # "My training" says the same (one status function for both pages).
    mine = client.get("/training/mine").get_data(as_text=True)
    assert re.search(r"<strong>1</strong><span>待完成", mine)
    assert "有限空间必修课" in mine


def test_an_overdue_assigned_course_without_a_requirement_is_on_home(client, enterprise, make_person):
    p = make_person(enterprise)
    course, lessons = _course(enterprise, title="动火作业安全")
    courses.assign(course, [p], due_on=TODAY - dt.timedelta(days=2))
    other, _ = _course(enterprise, title="用电安全常识")
    courses.assign(other, [p], due_on=TODAY + dt.timedelta(days=40))
    db.session.flush()
    login(client, p.user)
    html = client.get("/").get_data(as_text=True)
    assert _stat(html, "待完成") == 2 and _stat(html, "已逾期") == 1
    first, second = html.index("动火作业安全"), html.index("用电安全常识")
    assert first < html.index("接下来") < second  # overdue first, the rest after
    assert "开始学习" in html and f'href="/courses/lessons/{lessons[0].id}"' in html


def test_a_learner_who_owes_nothing_sees_that_and_what_is_due_next(client, enterprise, make_person):
    p = make_person(enterprise, hire_date=TODAY - dt.timedelta(days=100))
    requirement(
        enterprise,
        name="年度再培训",
        hours_required=2,
        recurrence="rolling",
        recurrence_months=12,
        initial_days=30,
    )
    rec(p, TODAY - dt.timedelta(days=60), hours=2)
    db.session.flush()
    login(client, p.user)
    html = client.get("/").get_data(as_text=True)
    assert _stat(html, "待完成") == 0
    assert "你目前没有待完成的培训" in html
    assert "下一项到期：年度再培训" in html
    assert (TODAY - dt.timedelta(days=60)).replace(year=TODAY.year + 1).isoformat()[:4] in html


def test_an_exam_closing_soon_is_urgent_with_a_start_button(client, enterprise, make_person):
    from quizzes.models import Exam

    p = make_person(enterprise)
    exam = Exam(
        enterprise_id=enterprise.id,
        title="有限空间考试",
        mode="exam",
        status="published",
        close_at=dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=3),
    )
    db.session.add(exam)
    db.session.flush()
    login(client, p.user)
    html = client.get("/").get_data(as_text=True)
    assert "有限空间考试" in html and "开始考试" in html
    assert f'href="/quizzes/exams/{exam.id}/start"' in html
    assert html.index("有限空间考试") > html.index("先做这些")


def test_home_shows_only_ones_own_things(client, enterprise, make_enterprise, make_person):
    other_ent = make_enterprise()
    stranger = make_person(other_ent)
    course, _ = _course(other_ent, title="别家的课程")
    courses.assign(course, [stranger], due_on=TODAY - dt.timedelta(days=1))
    p = make_person(enterprise)
    db.session.flush()
    login(client, p.user)
    html = client.get("/").get_data(as_text=True)
    assert "别家的课程" not in html
    assert _stat(html, "待完成") == 0


def test_staff_keep_their_own_home(client, login_as):
    login_as("manager")
    assert client.get("/").status_code == 302
    login_as("admin")
    assert client.get("/").status_code == 302


def test_home_in_english(client, enterprise, make_person):
    p = make_person(enterprise, hire_date=TODAY - dt.timedelta(days=400))
    course, _ = _course(enterprise)
    requirement(enterprise, name="Confined spaces", kind="course", course_id=course.id, initial_days=30)
    p.user.locale = "en"
    db.session.flush()
    login(client, p.user)
    html = client.get("/").get_data(as_text=True)
    assert "Do these first" in html and "Start the course" in html and "To do" in html
    assert "先做这些" not in html
