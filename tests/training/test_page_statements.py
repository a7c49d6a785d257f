"""The pages of issue 20 run the same statements whatever the size of the enterprise: a learner's home, their
"My training", a course page and the manager's dashboard, with a small and a larger enterprise of the same shape.

Also: the learner's home reads each thing once (the person's unfinished enrolments with their courses, lessons
and progress in one statement, the requirements once, also for "next due"), and the dashboard's figures
share one scan per grouping (``coverage._by_requirement``, ``coverage._by_department_and_post``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from courses import services as cs
from lms.core.db import db
from lms.training import coverage, reading
from tests.conftest import login
from tests.statements import TRANSACTION, recorded_statements
from tests.training.helpers import rec, requirement

D = dt.date


def _statements(client, url: str) -> int:
    db.session.expunge_all()  # a fresh request: nothing already in the identity map
    with recorded_statements(skip=TRANSACTION) as seen:
        r = client.get(url)
    assert r.status_code == 200, (url, r.status_code, r.data[:300])
    return len(seen)


def make_course(ent, title: str):
    """A published course of a text and a video lesson (as ``tests/courses`` makes them, without the fixture)."""
    course = cs.create_course(ent.id, title=title, category="有限空间", hours=2)
    section = cs.add_section(course, "第一章")
    video = cs.add_lesson(section, "video", "视频：现场")
    video.duration = 100.0
    text = cs.add_lesson(section, "text", "文字：作业前", body_markdown="- 先通风")
    db.session.flush()
    cs.set_status(course, "published")
    return course, [video, text]


def _enterprise(make_enterprise, make_person, people: int):
    """An enterprise of ``people`` with two requirements, two assigned courses, a learner and a manager."""
    ent = make_enterprise()
    manager = make_person(ent, app_role="manager", hire_date=D(2019, 1, 1))
    learner = make_person(ent, department="一车间/甲班", roles=("一线从业人员",), hire_date=D(2020, 1, 1))
    everyone = [learner]
    for i in range(people):
        p = make_person(
            ent,
            department=("一车间/甲班", "二车间", "三车间/焊接班")[i % 3],
            roles=("一线从业人员", "特种作业人员")[: 1 + i % 2],
            hire_date=D(2020, 1, 1),
        )
        rec(p, D(2026, 1, 5), 4 + i % 6)
        everyone.append(p)
    requirement(ent, hours_required=Decimal(8), recurrence="calendar_year")
    requirement(ent, hours_required=Decimal(2), recurrence="once", name="三级安全教育")
    courses = []
    for title in ("有限空间作业安全", "动火作业安全"):
        course, lessons = make_course(ent, title)
        cs.assign(course, everyone, assigned_by=manager.user, due_on=D(2030, 1, 1))
        courses.append((course, lessons))
    enrolment = cs.enrolment_of(courses[0][0], learner.id)
    from courses import progress as prog

    prog.open_lesson(enrolment, courses[0][1][1])  # some progress on the text lesson of the first course
    db.session.commit()
    return ent, manager, learner, courses


def test_pages_run_the_same_statements_at_two_sizes(client, make_enterprise, make_person):
    counts = []
    for people in (4, 40):
        ent, manager, learner, courses = _enterprise(make_enterprise, make_person, people)
        login(client, learner.user)
        client.get("/")  # the learner's kept rows brought up to date once (a write unit), then read
        learner_pages = ("/", "/training/mine", f"/courses/{courses[0][0].id}")
        got = [_statements(client, url) for url in learner_pages]
        client.post("/logout")
        login(client, manager.user)
        client.get("/training/")  # closed months of the trend kept once
        got.append(_statements(client, "/training/"))
        client.post("/logout")
        counts.append(tuple(got))
    assert counts[0] == counts[1], counts


def test_learner_home_reads_each_thing_once(client, make_enterprise, make_person):
    ent, _manager, learner, courses = _enterprise(make_enterprise, make_person, 3)
    login(client, learner.user)
    client.get("/")
    one = _statements(client, "/")
    # A third course assigned costs the learner's home no statement: every course, its lessons in reading order
    # and the progress in each come in one statement.
    course, _ = make_course(ent, "高处作业安全")
    cs.assign(course, [learner], assigned_by=_manager.user, due_on=D(2030, 1, 1))
    db.session.commit()
    client.get("/")
    assert _statements(client, "/") == one
    page = client.get("/").data.decode()
    for title in ("有限空间作业安全", "动火作业安全", "高处作业安全"):
        assert title in page


def test_dashboard_figures_share_one_scan_per_grouping(make_enterprise, make_person):
    ent, _manager, _learner, _courses = _enterprise(make_enterprise, make_person, 12)
    as_of = D(2026, 6, 30)
    with reading.read(ent.id, as_of) as s:
        alone = {by: coverage.coverage(ent.id, by, as_of) for by in coverage.BY_CHOICES}
        total_alone = coverage.figures(ent.id, as_of)
        with recorded_statements() as seen:
            shared = {by: coverage.coverage(ent.id, by, as_of, source=s) for by in coverage.BY_CHOICES}
            total = coverage.figures(ent.id, as_of, source=s)
    assert shared == alone and total == total_alone
    # department and post from one statement, requirement and the figures' pairs from another, the roles; the
    # figures' people are the sum of the (department, post) groups: three in all
    assert len(seen) == 3, seen
    assert total["requirements"] == sum(r["people"] for r in shared["requirement"])
    assert sum(r["people"] for r in shared["department"]) == sum(r["people"] for r in shared["post"])
    assert sum(r["people"] for r in shared["department"]) == total["people"]


def test_dashboard_statements_built_once_serve_each_enterprise(make_enterprise, make_person):
    """A whole kept read's statements are built once, the enterprise bound at each run: two enterprises read in
    turn each get their own figures, the same as the general statements give over their live rows."""
    from lms.training import cache
    from lms.training.models import EXPIRED, OVERDUE
    from lms.training.status import status_query

    ents = [_enterprise(make_enterprise, make_person, n)[0] for n in (4, 9)]
    for ent in ents:  # valid 12 months after the records of January: rows expiring within 400 days
        requirement(ent, hours_required=Decimal(1), recurrence="rolling", recurrence_months=12, name="复训")
    db.session.commit()

    def everything(ent, day, source):
        return (
            {by: coverage.coverage(ent.id, by, day, source=source) for by in coverage.BY_CHOICES},
            coverage.figures(ent.id, day, source=source),
            coverage.named_list(ent.id, day, statuses=(OVERDUE, EXPIRED), count=True, source=source),
            coverage.named_list(ent.id, day, expiring_within=400, count=True, source=source),
            coverage.named_list(ent.id, day, expiring_within=400, limit=3, offset=1, source=source),
            coverage.named_list(ent.id, day, limit=4, source=source),
            coverage.named_list(ent.id, day, source=source),
        )

    seen = {}
    for ent in ents + ents:
        day = cache.today(ent.id)
        with reading.read(ent.id, day) as s:
            assert coverage._whole_kept(s) == ent.id
            kept = everything(ent, day, s)
        live = everything(ent, day, status_query(ent.id, day).subquery("live"))
        assert kept == live, ent.code
        assert kept[4] and kept[5], "the data must give expiring and listed rows"
        seen.setdefault(ent.id, kept)
        assert seen[ent.id] == kept
        if len(seen) == 2:
            built = coverage._built.cache_info().currsize
    assert coverage._built.cache_info().currsize == built  # the second round built nothing
    first, second = (seen[e.id] for e in ents)
    assert first[1]["people"] != second[1]["people"]
