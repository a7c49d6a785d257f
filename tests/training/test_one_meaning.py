"""One meaning for every figure (issue 15): one definition per status word, due dates that agree with the
status, a trend that starts with the data, KPIs that say what they count, and the dashboard, the regulator and
course management recomputed from the named-list export. Every test here failed on the code before the change."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

from flask_babel import force_locale

from lms.core.db import db
from lms.org.models import RegulatorAssignment
from lms.training import coverage, services
from lms.training.status import statuses
from tests.conftest import login
from tests.training.helpers import rec, requirement, status_of

D = dt.date


# ---------------------------------------------------------------- due dates agree with the status word


def test_in_grace_after_a_lapse_shows_the_lapse_not_the_hire_date(enterprise, make_person):
    """Seen: 即将到期 with a due date in 2014 (the hire date) for review training that lapsed."""
    p = make_person(enterprise, hire_date=D(2014, 3, 1))
    req = requirement(
        enterprise,
        hours_required=Decimal(8),
        recurrence="rolling",
        recurrence_months=36,
        initial_days=0,
        grace_days=30,
    )
    rec(p, D(2023, 1, 10), 8)
    row = status_of(enterprise, p, req, D(2026, 1, 15))
    assert row["status"] == "in_grace" and row["due_on"] == D(2026, 1, 10)
    row = status_of(enterprise, p, req, D(2026, 3, 1))
    assert row["status"] == "expired" and row["due_on"] == D(2026, 1, 10)


def test_a_missed_earlier_year_is_due_at_that_years_end(enterprise, make_person):
    p = make_person(enterprise, hire_date=D(2020, 1, 1))
    req = requirement(
        enterprise, hours_required=Decimal(8), recurrence="calendar_year", initial_days=0, grace_days=0
    )
    rec(p, D(2024, 3, 1), 8)  # 2024 met, 2025 missed
    row = status_of(enterprise, p, req, D(2026, 6, 1))
    assert row["status"] == "overdue" and row["due_on"] == D(2025, 12, 31)


def test_every_status_word_agrees_with_its_due_date(enterprise, make_person):
    """The glossary's definitions, checked on every row of a mixed population at several days."""
    people = [make_person(enterprise, hire_date=D(2014 + i % 12, 1 + i % 12, 1 + i % 27)) for i in range(24)]
    reqs = [
        requirement(
            enterprise,
            hours_required=Decimal(8),
            recurrence="rolling",
            recurrence_months=36,
            grace_days=30,
            reminder_days=60,
        ),
        requirement(
            enterprise,
            hours_required=Decimal(8),
            recurrence="calendar_year",
            grace_days=31,
            reminder_days=60,
            initial_days=0,
        ),
        requirement(enterprise, hours_required=Decimal(24), initial_days=30, grace_days=10, reminder_days=14),
        requirement(enterprise, hours_required=Decimal(24), pre_job=True, initial_days=0, grace_days=7),
        requirement(
            enterprise,
            kind="course",
            course_id=5,
            hours_required=0,
            recurrence="rolling",
            recurrence_months=12,
            grace_days=20,
            reminder_days=30,
        ),
    ]
    for i, p in enumerate(people):
        for k in range(i % 4):
            rec(p, D(2019 + (i + k) % 8, 1 + (i * 5 + k) % 12, 3 + k), 4 + k)
        if i % 3 == 0:
            rec(p, D(2020 + i % 6, 2 + i % 10, 20), 0, kind="course", course_id=5)
    seen: set[str] = set()
    for as_of in (D(2024, 12, 15), D(2025, 1, 20), D(2026, 1, 15), D(2026, 7, 1), D(2026, 12, 20)):
        for row in statuses(enterprise.id, as_of):
            req = next(r for r in reqs if r.id == row["requirement_id"])
            s, due = row["status"], row["due_on"]
            seen.add(s)
            if s == "due_soon":
                assert due is not None and as_of <= due <= as_of + dt.timedelta(days=req.reminder_days), row
            elif s == "in_grace":
                assert due is not None and due < as_of <= due + dt.timedelta(days=req.grace_days + 1), row
            elif s in ("overdue", "expired"):
                assert due is not None and due < as_of, row
    assert {"due_soon", "in_grace", "overdue", "complete"} <= seen


# ---------------------------------------------------------------- the trend starts with the data


def test_the_monthly_chart_starts_with_the_first_month_with_data(enterprise, make_person):
    for _ in range(3):
        make_person(enterprise, hire_date=D(2026, 4, 10))
    requirement(enterprise, hours_required=Decimal(8), initial_days=30)
    points = coverage.trend(enterprise.id, D(2026, 6, 15))
    assert [label for label, _s, _p in points] == ["26-04", "26-05", "26-06"]
    assert all(share is not None for _l, share, _p in points)


# ---------------------------------------------------------------- the glossary


def test_one_glossary_defines_every_status_word_and_the_dashboard_links_it(enterprise, make_user, client):
    from lms.training import glossary

    words = {w for w, _label, _d in glossary.STATUS_WORDS}
    assert {"compliant", "in_grace", "due_soon", "overdue", "expired", "exempt"} <= words
    db.session.commit()
    login(client, make_user("manager", enterprise))
    dash = client.get("/training/").get_data(as_text=True)
    assert "/training/glossary" in dash
    page = client.get("/training/glossary").get_data(as_text=True)
    for word in ("合规", "宽限期内", "即将到期", "已逾期", "已过期", "豁免", "按人计数", "按要求项计数"):
        assert word in page


# ---------------------------------------------------------------- one function per figure


def _figure(page: str, name: str) -> int:
    m = re.search(rf'data-figure="{name}"[^>]*>\s*(\d+)', page)
    assert m, name
    return int(m.group(1))


def _population(ent, make_person):
    from courses.models import Course

    course = Course(enterprise_id=ent.id, title="危险化学品安全操作规程", status="published")
    db.session.add(course)
    db.session.flush()
    r_course = requirement(
        ent, name="必修：危化品操作规程", kind="course", course_id=course.id, hours_required=0
    )
    r_hours = requirement(ent, name="岗位安全培训8学时", hours_required=Decimal(8))
    ps = [make_person(ent, hire_date=D(2020, 1, 1)) for _ in range(6)]
    p1, p2, p3, p4, p5, p6 = ps
    rec(p1, D(2024, 3, 1), 0, kind="course", course_id=course.id)
    rec(p1, D(2024, 3, 2), 8)
    rec(p2, D(2024, 4, 1), 0, kind="course", course_id=course.id)  # hours missing
    rec(p4, D(2024, 5, 2), 8)  # course missing
    services.grant_exemption(r_course, p5, reason="外单位已培训", actor=None, valid_from=D(2024, 1, 1))
    rec(p5, D(2024, 6, 2), 8)
    rec(p6, D(2024, 7, 1), 2, kind="exam", course_id=course.id, exam_id=9, passed=True)
    rec(p6, D(2024, 7, 2), 8)
    return course, r_course, r_hours


def test_dashboard_regulator_and_course_management_agree_with_the_named_list_export(
    enterprise, make_person, make_user, client
):
    course, r_course, _r_hours = _population(enterprise, make_person)
    manager = make_user("manager", enterprise)
    regulator = make_user("regulator")
    db.session.add(RegulatorAssignment(user_id=regulator.id, enterprise_id=enterprise.id))
    db.session.commit()

    login(client, manager)
    export = client.get("/training/list?format=csv").get_data(as_text=True).lstrip("\ufeff")
    table = list(csv.reader(io.StringIO(export)))
    header, rows = table[0], table[1:]
    from lms.training import glossary

    words: dict[str, str] = {}
    for locale in ("zh_CN", "en"):
        with force_locale(locale):
            words.update({str(label): code for code, label in glossary.STATUS_LABELS.items()})
    emp_i, req_i, st_i = header.index("工号"), header.index("培训要求"), header.index("状态")
    by_person: dict[str, list[str]] = {}
    for r in rows:
        by_person.setdefault(r[emp_i], []).append(words[r[st_i]])
    people = len(by_person)
    compliant = sum(1 for sts in by_person.values() if all(s in ("complete", "exempt") for s in sts))
    late_people = sum(1 for sts in by_person.values() if any(s in ("overdue", "expired") for s in sts))
    late_reqs = sum(1 for sts in by_person.values() for s in sts if s in ("overdue", "expired"))
    completions = sum(1 for r in rows if r[req_i] == r_course.name and words[r[st_i]] == "complete")
    assert (people, compliant, late_people, late_reqs, completions) == (6, 3, 3, 4, 3)

    dash = client.get("/training/").get_data(as_text=True)
    assert _figure(dash, "people") == people
    assert _figure(dash, "compliant") == compliant
    assert _figure(dash, "late-people") == late_people
    assert _figure(dash, "late-requirements") == late_reqs
    manage = client.get("/courses/manage").get_data(as_text=True)
    m = re.search(rf'data-completions="{course.id}"[^>]*>\s*(\d+)', manage)
    assert m and int(m.group(1)) == completions

    client.post("/logout")
    login(client, regulator)
    one = client.get(f"/training/regulator/{enterprise.id}").get_data(as_text=True)
    assert _figure(one, "people") == people
    assert _figure(one, "compliant") == compliant
    assert _figure(one, "late-people") == late_people
    assert _figure(one, "late-requirements") == late_reqs
    overview = client.get("/training/regulator").get_data(as_text=True)
    assert _figure(overview, "late-people") == late_people
    assert _figure(overview, "late-requirements") == late_reqs


def test_kpis_say_whether_they_count_people_or_requirements(enterprise, make_person, make_user, client):
    _population(enterprise, make_person)
    db.session.commit()
    login(client, make_user("manager", enterprise))
    dash = client.get("/training/").get_data(as_text=True)
    assert "逾期或过期人数" in dash and "项要求" in dash


# ---------------------------------------------------------------- no internal codes, percentages


def test_requirements_show_the_course_title_not_its_number(enterprise, make_person, make_user, client):
    course, r_course, _h = _population(enterprise, make_person)
    db.session.commit()
    login(client, make_user("manager", enterprise))
    page = client.get("/training/requirements").get_data(as_text=True)
    assert course.title in page and f"#{course.id}<" not in page and f"#{course.id} " not in page


def test_coverage_exports_say_percent(enterprise, make_person, make_user, client):
    _population(enterprise, make_person)
    db.session.commit()
    login(client, make_user("manager", enterprise))
    export = client.get("/training/coverage/requirement?format=csv").get_data(as_text=True).lstrip("\ufeff")
    header, *rows = list(csv.reader(io.StringIO(export)))
    i = header.index("覆盖率（%）")
    assert all(0 <= float(r[i]) <= 100 for r in rows) and any(float(r[i]) > 1 for r in rows)


def test_reminders_use_the_same_words_and_say_people_and_requirements(enterprise, make_person, make_user):
    from lms.training.models import Notification
    from lms.training.reminders import send_reminders

    _population(enterprise, make_person)
    manager = make_user("manager", enterprise)
    late = make_person(enterprise, hire_date=D(2026, 1, 1))
    requirement(enterprise, name="试用期满前培训", hours_required=Decimal(4), initial_days=10, grace_days=10)
    send_reminders(D(2026, 1, 15), [enterprise.id])
    titles = [n.title for n in db.session.query(Notification).filter_by(user_id=late.user.id)]
    assert any("宽限期内" in t for t in titles)
    summary = db.session.query(Notification).filter_by(user_id=manager.id, kind="summary").one()
    assert "人" in summary.title and "项要求" in summary.title


def test_culture_shows_the_coverage_rate_as_a_percentage(app):
    """Seen: the coverage indicator of a culture evaluation printed as 0.6429."""
    from decimal import Decimal as Dec

    from lms.culture.views import indicator_value

    coverage_indicator = {"kind": "automatic", "config": {"metric": "training_coverage"}}
    assert indicator_value(coverage_indicator, Dec("0.6429")) == "64.3%"
    assert indicator_value({"config": {"metric": "hazard_reports"}}, 3) == 3
    assert indicator_value(coverage_indicator, None) == "—"
