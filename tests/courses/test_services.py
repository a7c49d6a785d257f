"""Course services without HTTP: catalogue, authoring rules, enrolment, figures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from courses import progress as prog
from courses import services
from courses.models import DEFAULT_CATEGORIES
from lms.core.db import db
from lms.core.errors import DomainError
from lms.org.models import ADMIN, TRAINER, User


def test_default_categories_and_editing(enterprise):
    names = [c.name for c in services.categories(enterprise.id)]
    assert names == list(DEFAULT_CATEGORIES)
    services.add_category(enterprise.id, "职业健康")
    with pytest.raises(DomainError):
        services.add_category(enterprise.id, "职业健康")
    assert "职业健康" in [c.name for c in services.categories(enterprise.id)]


def test_markdown_is_sanitised():
    html = services.render_markdown(
        "# 标题\n\n**粗体** <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>"
    )
    assert "<strong>粗体</strong>" in html
    assert "<script" not in html and "javascript:" not in html and "onerror" not in html


def test_catalogue_shows_own_and_shared_courses(enterprise, make_enterprise, make_course):
    other = make_enterprise()
    own, _ = make_course(enterprise, title="本企业课程")
    shared, _ = make_course(None, title="平台共享课程")
    foreign, _ = make_course(other, title="别家课程")
    draft, _ = make_course(enterprise, title="草稿课程", publish=False)
    titles = [c.title for c in services.catalogue(enterprise.id)]
    assert "本企业课程" in titles and "平台共享课程" in titles
    assert "别家课程" not in titles and "草稿课程" not in titles
    assert [c.title for c in services.catalogue(enterprise.id, q="共享")] == ["平台共享课程"]
    trainer = User(app_role=TRAINER, enterprise_id=enterprise.id)
    admin = User(app_role=ADMIN)
    assert services.can_manage(own, trainer, enterprise.id)
    assert not services.can_manage(shared, trainer, enterprise.id)
    assert services.can_manage(shared, admin, enterprise.id)
    assert not services.can_manage(foreign, trainer, enterprise.id)
    assert draft and foreign


def test_enrol_rules(enterprise, make_enterprise, make_person, make_course):
    person = make_person(enterprise)
    course, _ = make_course(enterprise, self_enrol=False)
    with pytest.raises(DomainError):
        services.self_enrol(course, person)
    e1, created = services.enrol(course, person, source="assigned", due_on=dt.date(2026, 6, 30))
    e2, again = services.enrol(course, person, source="self")
    assert created and not again and e1 is e2 and e2.source == "assigned"
    outsider = make_person(make_enterprise())
    with pytest.raises(DomainError):
        services.enrol(course, outsider)
    draft, _ = make_course(enterprise, publish=False)
    with pytest.raises(DomainError):
        services.enrol(draft, person)


def test_people_for_department_subtree_post_and_role(enterprise, make_person):
    a = make_person(enterprise, department="一车间/甲班", post="操作工")
    b = make_person(enterprise, department="一车间/乙班", post="电工", roles=("特种作业人员",))
    c = make_person(enterprise, department="二车间", post="操作工", roles=("班组长",))
    from sqlalchemy import select

    from lms.org.models import Department, Post, ResponsibilityRole

    top = db.session.scalar(
        select(Department).where(Department.enterprise_id == enterprise.id, Department.path == "一车间")
    )
    assert {p.id for p in services.people_for(enterprise.id, department_ids=[top.id])} == {a.id, b.id}
    electrician = db.session.scalar(
        select(Post).where(Post.enterprise_id == enterprise.id, Post.name == "电工")
    )
    assert [p.id for p in services.people_for(enterprise.id, post_ids=[electrician.id])] == [b.id]
    lead = db.session.scalar(
        select(ResponsibilityRole).where(
            ResponsibilityRole.enterprise_id == enterprise.id, ResponsibilityRole.name == "班组长"
        )
    )
    assert [p.id for p in services.people_for(enterprise.id, role_ids=[lead.id])] == [c.id]
    assert services.people_for(enterprise.id) == []


def test_assign_counts_and_due_dates(enterprise, make_person, make_course):
    course, _ = make_course(enterprise)
    people = [make_person(enterprise) for _ in range(3)]
    services.enrol(course, people[0])
    counts = services.assign(course, people, due_on=dt.date(2026, 9, 1))
    assert counts == {"created": 2, "existing": 1}
    mine = services.my_enrolments(people[0].id)
    assert mine[0].due_on == dt.date(2026, 9, 1) and mine[0].source == "assigned"


def test_credited_hours_by_person(enterprise, make_person, make_course):
    course, (video,) = make_course(enterprise, duration=3600.0, max_playback_rate=1.0)
    person = make_person(enterprise)
    enrolment, _ = services.enrol(course, person)
    t0 = dt.datetime(2026, 1, 5, 9, 0)
    for k in range(0, 271):  # 45 minutes of heartbeats every 10 s
        prog.heartbeat(enrolment, video, "tab", 10 * k, now=t0 + dt.timedelta(seconds=10 * k))
    hours = services.credited_hours_by_person(enterprise.id)
    assert hours[person.id] == Decimal("1.0")
    assert services.credited_seconds_by_person(enterprise.id, course_ids=[course.id])[
        person.id
    ] == pytest.approx(2700)


def test_moving_sections_and_lessons(enterprise, make_course):
    course, _ = make_course(enterprise, duration=None, extra=("text", "link"), publish=False)
    first = course.sections[0]
    second = services.add_section(course, "第二章")
    services.move_section(second, "up")
    assert [s.title for s in sorted(course.sections, key=lambda s: s.position)] == ["第二章", "第一章"]
    text, link = sorted(first.lessons, key=lambda x: x.position)
    services.move_lesson(link, "up")
    assert [x.kind for x in services.ordered_lessons(course) if x.section_id == first.id] == ["link", "text"]
    services.move_lesson(link, "up")  # already first: nothing
    assert link.position == 0


def test_lesson_validation(enterprise, make_course):
    course, _ = make_course(enterprise, duration=None, extra=("text",), publish=False)
    section = course.sections[0]
    with pytest.raises(DomainError):
        services.add_lesson(section, "link", "外链", url="javascript:alert(1)")
    with pytest.raises(DomainError):
        services.add_lesson(section, "exam", "考试")
    with pytest.raises(DomainError):
        services.add_lesson(section, "podcast", "x")
    empty, _ = make_course(enterprise, duration=None, publish=False)
    with pytest.raises(DomainError):
        services.set_status(empty, "published")
