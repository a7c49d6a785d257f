"""The course page and the menu every page shows: statements per request stay flat as a course grows.

Before this was measured the course page took one lazy load per section, one query for the required lessons
and one per lesson progress (10 statements for a one-section course, growing with sections); the "Notices"
menu badge is one Core count per page.
"""

from __future__ import annotations

import re

import pytest

from courses import progress as prog
from courses import services
from lms.core.db import db
from lms.culture import notices
from lms.culture.views import unacknowledged_badge_count
from tests.conftest import login
from tests.statements import TRANSACTION, recorded_statements

PAGE_CEILING = 4  # user (with its login session), the course with its enrolment, outline and progress, notices badge, bell


def _statements(client, url: str) -> tuple[int, bytes]:
    db.session.expunge_all()  # a fresh request: nothing already in the identity map
    with recorded_statements(skip=TRANSACTION) as seen:
        r = client.get(url)
    assert r.status_code == 200, r.data[:500]
    return len(seen), r.data


def _course(enterprise, make_course, sections: int, per_section: int):
    course, lessons = make_course(enterprise, duration=100.0, extra=("text",), publish=False)
    for s in range(1, sections):
        section = services.add_section(course, f"第{s + 1}章")
        for k in range(per_section):
            lessons.append(
                services.add_lesson(section, "text", f"第{s + 1}章 第{k + 1}节", body_markdown="x")
            )
    services.set_status(course, "published")
    return course, lessons


@pytest.mark.parametrize("sections", [1, 4])
def test_course_page_statements_do_not_grow_with_sections_or_progress(
    client, enterprise, make_person, make_course, sections
):
    person = make_person(enterprise)
    course, lessons = _course(enterprise, make_course, sections, per_section=3)
    enrolment, _ = services.enrol(course, person)
    for lesson in lessons[1:]:  # progress on every text lesson, the video untouched
        prog.open_lesson(enrolment, lesson)
    db.session.commit()
    login(client, person.user)
    n, page = _statements(client, f"/courses/{course.id}")
    assert n <= PAGE_CEILING
    # every lesson is listed under its own section, in order
    for lesson in lessons:
        assert lesson.title.encode() in page
    if sections > 1:
        assert (
            page.index("第2章 第1节".encode())
            < page.index("第2章 第3节".encode())
            < page.index("第4章 第1节".encode())
        )
    assert b"No lessons yet" not in page and "暂无课时".encode() not in page


def test_empty_section_and_not_enrolled(client, enterprise, make_person, make_course):
    person = make_person(enterprise)
    course, lessons = make_course(enterprise, duration=100.0, publish=False)
    services.add_section(course, "空章节")
    services.set_status(course, "published")
    db.session.commit()
    login(client, person.user)
    n, page = _statements(client, f"/courses/{course.id}")
    assert n <= PAGE_CEILING  # no enrolment: the same one statement, its progress empty
    assert "空章节".encode() in page and lessons[0].title.encode() in page


def test_notices_badge_counts_like_the_notices_service(client, enterprise, make_person, make_course):
    reader = make_person(enterprise)
    manager = make_person(enterprise, app_role="manager")
    assert unacknowledged_badge_count(reader.id) == 0 and unacknowledged_badge_count(None) == 0
    published = []
    for title in ("通知一", "通知二", "草稿"):
        n = notices.save_notice(
            enterprise.id, title=title, body_md="x", targets=[], audience_all=True, actor=manager.user
        )
        if title != "草稿":
            notices.publish_notice(n, manager.user)
            published.append(n)
    assert unacknowledged_badge_count(reader.id) == notices.unacknowledged_count(reader.id) == 2
    notices.acknowledge(published[0], reader.id)
    assert unacknowledged_badge_count(reader.id) == notices.unacknowledged_count(reader.id) == 1
    course, _ = make_course(enterprise, duration=100.0)
    db.session.commit()
    login(client, reader.user)
    _n, page = _statements(client, f"/courses/{course.id}")
    assert re.search(rb'<span class="badge badge-overdue">1</span>', page)
