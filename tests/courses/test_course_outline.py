"""The course page reads its sections, lessons and the learner's progress in one statement (issue 20): each
lesson under its own section in order, an empty section once, and only this learner's progress."""

from __future__ import annotations

import re

from courses import progress as prog
from courses import services
from lms.core.db import db
from tests.conftest import login
from tests.statements import TRANSACTION, recorded_statements

# user and login session, the course page (course, enrolment, outline, progress), the notices badge, the bell
STATEMENTS = 4


def _items(page: str) -> list[tuple[str, str, str]]:
    """(section, lesson title, state text) of each row of the page's lesson lists, in page order."""
    out = []
    for section in re.finditer(r"<h2>([^<]+)</h2>\s*<ol class=\"lesson-list\">(.*?)</ol>", page, re.S):
        rows = re.findall(r'<li class="lesson-item">(.*?)</li>', section[2], re.S)
        for row in rows:
            title = re.search(r'<a href="[^"]+">([^<]+)</a>|</span>\s*([^<\s][^<]*)', row)
            state = re.search(r'<span class="lesson-state">(.*?)</span>\s*$', row, re.S)
            text = re.sub(r"<[^>]+>", "", state[1]).strip() if state else ""
            out.append((section[1], (title[1] or title[2]).strip() if title else "", text))
        if not rows:
            empty = re.search(r'<li class="muted">([^<]+)</li>', section[2])
            out.append((section[1], "", empty[1] if empty else ""))
    return out


def _page(client, url: str) -> tuple[int, str]:
    db.session.expunge_all()
    with recorded_statements(skip=TRANSACTION) as seen:
        r = client.get(url)
    assert r.status_code == 200, r.data[:500]
    return len(seen), r.get_data(as_text=True)


def test_outline_with_an_empty_section_and_two_learners(app, enterprise, make_person, make_course):
    course, (video, text1) = make_course(enterprise, duration=100.0, extra=("text",), publish=False)
    services.add_section(course, "空章节")
    third = services.add_section(course, "第三章")
    extra = services.add_lesson(third, "text", "第三章 选学", body_markdown="x")
    extra.required = False
    services.set_status(course, "published")
    a, b, c = make_person(enterprise), make_person(enterprise), make_person(enterprise)
    ea, _ = services.enrol(course, a)
    eb, _ = services.enrol(course, b)
    prog.mark_read(ea, text1)  # a: the text read, the optional one opened, the video untouched
    prog.open_lesson(ea, extra)
    prog.mark_read(eb, extra)  # b: only the optional one, read
    db.session.commit()

    login(client_a := app.test_client(), a.user)
    n, page = _page(client_a, f"/courses/{course.id}")
    assert n <= STATEMENTS
    got = _items(page)
    assert [(s, t) for s, t, _ in got] == [
        ("第一章", video.title),
        ("第一章", text1.title),
        ("空章节", ""),
        ("第三章", "第三章 选学"),
    ]
    states = [state for _, _, state in got]
    assert states[0] == "" and states[1] in ("已完成", "Completed")
    assert states[2].startswith(("暂无课时", "No lessons yet"))
    assert states[3].endswith("%")  # opened, not done: a's own progress, not b's completion

    login(client_b := app.test_client(), b.user)
    _n, page = _page(client_b, f"/courses/{course.id}")
    states = [state for _, _, state in _items(page)]
    assert states[0] == "" and states[1] == "" and states[3] in ("已完成", "Completed")

    login(client_c := app.test_client(), c.user)  # not enrolled: every lesson listed, no state
    n, page = _page(client_c, f"/courses/{course.id}")
    assert n <= STATEMENTS
    got = _items(page)
    assert [t for _, t, _ in got] == [video.title, text1.title, "", "第三章 选学"]
    assert [s for _, _, s in got if s and not s.startswith(("暂无", "No lessons"))] == []


def test_a_course_without_sections_and_a_course_not_there(app, client, enterprise, make_person):
    trainer = make_person(enterprise, app_role="trainer")  # staff see their drafts
    course = services.create_course(enterprise.id, title="空课程", category="消防", hours=1)
    db.session.commit()
    login(client, trainer.user)
    n, page = _page(client, f"/courses/{course.id}")
    assert n <= STATEMENTS and "空课程" in page and _items(page) == []
    assert client.get(f"/courses/{course.id + 1000}").status_code == 404
    learner = make_person(enterprise)
    db.session.commit()
    login(other := app.test_client(), learner.user)
    assert other.get(f"/courses/{course.id}").status_code == 404  # a draft: not for learners
