"""A page of a named list (the dashboard's first 15 overdue rows) is the whole list's rows at that place, in
the list's order: department path (people without a department where the database sorts NULL), employee
number, requirement name. A page of kept rows is read department by department (``coverage._first_kept_sqlite``,
``_first_kept_postgres``: the people without a department first on SQLite, last on PostgreSQL, as each sorts
NULL); the whole list is the plain sorted query."""

from __future__ import annotations

import datetime as dt

from lms.core.db import db
from lms.org.timezone import enterprise_today
from lms.training import coverage, reading
from tests.statements import recorded_statements
from tests.training.helpers import rec, requirement

D = dt.date
LATE = ("overdue", "expired")


def _people(ent, make_person):
    depts = [None, "二车间", "一车间/甲班", None, "一车间", "三车间/焊接班"]
    people = [
        make_person(
            ent,
            department=depts[i % len(depts)],
            employee_no=f"E{(37 * i) % 100:03d}",
            hire_date=D(2020, 1, 1),
        )
        for i in range(18)
    ]
    requirement(ent, name="乙要求")
    requirement(ent, name="甲要求")
    for p in people[::5]:
        rec(p, enterprise_today(ent.id) - dt.timedelta(days=3), 8)  # complete: no late rows
    return people


def _pages_match(ent, day, person_filter=None):
    with recorded_statements() as seen:
        whole = _compare(ent, day, person_filter)
    if db.is_sqlite:  # the pages took the department-by-department path
        assert any("CROSS JOIN" in st for st in seen)
    else:  # the people of a department first, those without one only when a page reaches them
        assert any("FROM department JOIN person" in st for st in seen)
        assert any("person.department_id IS NULL" in st for st in seen)
    return whole


def _compare(ent, day, person_filter):
    with reading.read(ent.id, day, person_filter) as s:
        assert s.kept
        whole = coverage.named_list(ent.id, day, person_filter, statuses=LATE, source=s)
        assert len(whole) > 15
        for offset in (0, 1, 5, 11, len(whole) - 3, len(whole) + 2):
            for limit in (1, 7, 15):
                page = coverage.named_list(
                    ent.id, day, person_filter, statuses=LATE, limit=limit, offset=offset, source=s
                )
                assert page == whole[offset : offset + limit], (offset, limit)
    return whole


def test_a_page_is_the_whole_list_at_that_place(enterprise, make_person):
    _people(enterprise, make_person)
    whole = _pages_match(enterprise, enterprise_today(enterprise.id))
    assert any(r["department"] is None for r in whole) and any(r["department"] for r in whole)


def test_a_page_under_a_person_filter(enterprise, make_person):
    people = _people(enterprise, make_person)
    pf = coverage.combine(coverage.post_filter(people[0].post_id))
    _pages_match(enterprise, enterprise_today(enterprise.id), pf)
