"""Status per person and requirement, with hand-checked dates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from lms.core.db import db
from lms.core.timeutil import today as local_today  # the enterprise's calendar day (Asia/Shanghai)
from lms.org.models import PersonEvent
from lms.org.services import ensure_department, ensure_post, move_person, roles_by_name, set_roles, set_status
from lms.training import services
from lms.training.models import Exemption, Subjection
from lms.training.status import status_query
from tests.training.helpers import rec, requirement, status_of

D = dt.date


def test_once_hours_not_started_in_progress_due_soon_overdue_complete(enterprise, make_person):
    p = make_person(enterprise, hire_date=D(2026, 1, 1))
    req = requirement(enterprise, hours_required=Decimal(24), initial_days=30, grace_days=5, reminder_days=10)
    # Due 2026-01-31; reminders from 01-21; overdue after 02-05.
    assert status_of(enterprise, p, req, D(2026, 1, 10))["status"] == "not_started"
    row = status_of(enterprise, p, req, D(2026, 1, 21))
    assert row["status"] == "due_soon" and row["due_on"] == D(2026, 1, 31)
    assert status_of(enterprise, p, req, D(2026, 2, 5))["status"] == "in_grace"  # past due, within grace
    assert status_of(enterprise, p, req, D(2026, 2, 6))["status"] == "overdue"
    rec(p, D(2026, 1, 3), 8)  # offline
    rec(p, D(2026, 1, 4), 6, kind="course", course_id=99)  # online counts the same
    row = status_of(enterprise, p, req, D(2026, 1, 10))
    assert (
        row["status"] == "in_progress"
        and row["hours_done"] == Decimal(14)
        and row["hours_due"] == Decimal(24)
    )
    rec(p, D(2026, 1, 9), 10, kind="manual")
    assert status_of(enterprise, p, req, D(2026, 1, 8))["status"] == "in_progress"  # as of the past
    row = status_of(enterprise, p, req, D(2026, 1, 10))
    assert row["status"] == "complete" and row["valid_until"] is None


def test_voided_records_do_not_count(enterprise, make_person):
    from lms.ledger import services as ledger

    p = make_person(enterprise, hire_date=D(2026, 1, 1))
    req = requirement(enterprise, hours_required=Decimal(8))
    r = rec(p, D(2026, 1, 3), 8)
    assert status_of(enterprise, p, req, D(2026, 1, 10))["status"] == "complete"
    ledger.void(r.id, reason="wrong person", actor=None)
    assert status_of(enterprise, p, req, D(2026, 1, 10))["status"] == "not_started"


def test_hours_before_subject_do_not_count_for_once(enterprise, make_person):
    p = make_person(enterprise, hire_date=D(2026, 3, 1))
    req = requirement(enterprise, hours_required=Decimal(8))
    rec(p, D(2026, 2, 1), 8)
    assert status_of(enterprise, p, req, D(2026, 3, 5))["status"] == "not_started"
    assert status_of(enterprise, p, req, D(2026, 2, 15)) is None  # not hired yet


def test_categories_filter(enterprise, make_person):
    p = make_person(enterprise, hire_date=D(2026, 1, 1))
    req = requirement(enterprise, hours_required=Decimal(4), categories="消防|用电")
    rec(p, D(2026, 1, 3), 4, category="法律法规")
    assert status_of(enterprise, p, req, D(2026, 1, 5))["status"] == "not_started"
    rec(p, D(2026, 1, 4), 4, category="用电")
    assert status_of(enterprise, p, req, D(2026, 1, 5))["status"] == "complete"


def test_course_rolling_complete_expired_with_grace(enterprise, make_person):
    p = make_person(enterprise, hire_date=D(2020, 1, 1))
    req = requirement(
        enterprise,
        kind="course",
        course_id=7,
        recurrence="rolling",
        recurrence_months=12,
        grace_days=10,
        hours_required=0,
    )
    rec(p, D(2025, 3, 10), 2, kind="exam", exam_id=1, course_id=7, passed=False)  # failed exam: nothing
    assert status_of(enterprise, p, req, D(2025, 4, 1))["status"] == "overdue"
    rec(p, D(2025, 3, 10), 2, kind="course", course_id=7)
    row = status_of(enterprise, p, req, D(2026, 3, 10))
    assert row["status"] == "complete" and row["valid_until"] == D(2026, 3, 10)
    row = status_of(enterprise, p, req, D(2026, 3, 15))
    assert row["status"] == "in_grace" and row["due_on"] == D(2026, 3, 10)  # lapsed, in grace
    assert status_of(enterprise, p, req, D(2026, 3, 21))["status"] == "expired"
    rec(p, D(2026, 4, 1), 2, kind="exam", exam_id=1, course_id=7, passed=True)  # a passed exam renews
    assert status_of(enterprise, p, req, D(2026, 4, 2))["status"] == "complete"


def test_calendar_year_window_and_previous_year_overdue(enterprise, make_person):
    p = make_person(enterprise, hire_date=D(2020, 1, 1))
    req = requirement(
        enterprise,
        hours_required=Decimal(8),
        recurrence="calendar_year",
        grace_days=31,
        reminder_days=60,
        initial_days=0,
    )
    rec(p, D(2025, 6, 1), 8)
    row = status_of(enterprise, p, req, D(2025, 6, 2))
    assert row["status"] == "complete" and row["valid_until"] == D(2025, 12, 31)
    # New year: the 2025 hours do not count for 2026; 2025 was met so 2026 is simply not started.
    assert status_of(enterprise, p, req, D(2026, 3, 1))["status"] == "not_started"
    assert status_of(enterprise, p, req, D(2026, 11, 15))["status"] == "due_soon"  # 60 days before year end
    # 2026 missed: in 2027 overdue after the 31 grace days.
    assert status_of(enterprise, p, req, D(2027, 1, 20))["status"] == "in_grace"
    row = status_of(enterprise, p, req, D(2027, 2, 5))
    assert row["status"] == "overdue" and row["due_on"] == D(2026, 12, 31)  # the missed year's end
    rec(p, D(2027, 2, 10), 8)
    assert status_of(enterprise, p, req, D(2027, 2, 11))["status"] == "complete"


def test_rolling_hours_window(enterprise, make_person):
    p = make_person(enterprise, hire_date=D(2018, 1, 1))
    req = requirement(
        enterprise, hours_required=Decimal(8), recurrence="rolling", recurrence_months=36, initial_days=0
    )
    rec(p, D(2022, 5, 1), 8)
    row = status_of(enterprise, p, req, D(2025, 4, 30))
    assert row["status"] == "complete" and row["valid_until"] == D(2025, 5, 1)
    assert status_of(enterprise, p, req, D(2025, 5, 2))["status"] == "expired"


def test_certificate_expiry(enterprise, make_person):
    p = make_person(enterprise, roles=("特种作业人员",), hire_date=D(2015, 1, 1))
    req = requirement(
        enterprise,
        kind="certificate",
        applies_to="role",
        role_id=roles_by_name(enterprise.id)["特种作业人员"].id,
        certificate_category="特种作业操作证",
        hours_required=0,
        grace_days=0,
        initial_days=0,
    )
    assert status_of(enterprise, p, req, D(2026, 1, 1))["status"] == "overdue"
    rec(p, D(2020, 5, 1), 0, kind="certificate", category="其他证书", valid_until=D(2030, 1, 1))
    assert status_of(enterprise, p, req, D(2026, 1, 1))["status"] == "overdue"  # wrong category
    rec(
        p,
        D(2020, 5, 1),
        0,
        kind="certificate",
        category="特种作业操作证",
        topic="低压电工作业",
        valid_until=D(2026, 5, 1),
        certificate_no="T123",
    )
    rec(
        p,
        D(2023, 5, 10),
        0,
        kind="certificate",
        category="特种作业操作证",
        topic="低压电工作业 复审",
        valid_until=D(2026, 5, 1),
    )  # reviewed within 3 years, else it lapses
    row = status_of(enterprise, p, req, D(2026, 1, 1))
    assert row["status"] == "complete" and row["valid_until"] == D(2026, 5, 1)
    assert status_of(enterprise, p, req, D(2026, 5, 2))["status"] == "expired"


def test_exemption_with_validity(enterprise, make_person, make_user):
    p = make_person(enterprise, hire_date=D(2020, 1, 1))
    req = requirement(enterprise, hours_required=Decimal(8))
    mgr = make_user("manager", enterprise)
    ex = services.grant_exemption(
        req, p, reason="长期病假", actor=mgr, valid_from=D(2026, 1, 1), valid_until=D(2026, 6, 30)
    )
    assert status_of(enterprise, p, req, D(2025, 12, 31))["status"] == "overdue"
    assert status_of(enterprise, p, req, D(2026, 3, 1))["status"] == "exempt"
    assert status_of(enterprise, p, req, D(2026, 7, 1))["status"] == "overdue"
    services.revoke_exemption(ex, actor=mgr)
    assert status_of(enterprise, p, req, D(2026, 3, 1))["status"] == "overdue"
    assert db.session.get(Exemption, ex.id).revoked_by_id == mgr.id


def test_three_level_new_hire_then_post_change(enterprise, make_person):
    p = make_person(enterprise, hire_date=D(2025, 1, 1))
    req = requirement(enterprise, kind="three_level", hours_required=0, initial_days=7, reminder_days=0)
    rec(p, D(2025, 1, 2), 8, level="company")
    rec(p, D(2025, 1, 3), 8, level="workshop")
    assert status_of(enterprise, p, req, D(2025, 1, 5))["status"] == "in_progress"
    assert status_of(enterprise, p, req, D(2025, 1, 9))["status"] == "overdue"
    rec(p, D(2025, 1, 4), 8, level="team")
    assert status_of(enterprise, p, req, D(2025, 1, 9))["status"] == "complete"
    # Change of post on 2026-03-01: workshop and team again, company level not needed.
    dept = ensure_department(enterprise.id, "二车间/乙班")
    move_person(p, department=dept, post=ensure_post(enterprise.id, "焊工", dept), on=D(2026, 3, 1))
    db.session.flush()
    assert status_of(enterprise, p, req, D(2026, 2, 28))["status"] == "complete"  # as of before the move
    row = status_of(enterprise, p, req, D(2026, 3, 2))
    assert row["status"] == "not_started" and row["since"] == D(2026, 3, 1) and row["due_on"] == D(2026, 3, 8)
    rec(p, D(2026, 3, 3), 4, level="workshop")
    rec(p, D(2026, 3, 4), 4, level="team")
    assert status_of(enterprise, p, req, D(2026, 3, 5))["status"] == "complete"


def test_three_level_return_after_long_absence(enterprise, make_person):
    p = make_person(enterprise, hire_date=D(2020, 1, 1))
    req = requirement(enterprise, kind="three_level", hours_required=0, initial_days=7, reminder_days=0)
    for level in ("company", "workshop", "team"):
        rec(p, D(2020, 1, 2), 8, level=level)
    set_status(p, "left", on=D(2023, 1, 1))
    set_status(p, "active", on=D(2023, 6, 1))  # back within a year: nothing to repeat
    db.session.flush()
    assert status_of(enterprise, p, req, D(2023, 6, 20))["status"] == "complete"
    set_status(p, "left", on=D(2024, 1, 1))
    set_status(p, "active", on=D(2025, 3, 1))  # more than a year away
    db.session.flush()
    assert status_of(enterprise, p, req, D(2025, 3, 20))["status"] == "overdue"


def test_subject_after_role_gain_and_post_change(enterprise, make_person):
    p = make_person(enterprise, hire_date=D(2020, 1, 1))
    roles = roles_by_name(enterprise.id)
    by_role = requirement(
        enterprise,
        applies_to="role",
        role_id=roles["安全生产管理人员"].id,
        hours_required=Decimal(32),
        initial_days=183,
    )
    welder = ensure_post(enterprise.id, "焊工")
    by_post = requirement(
        enterprise, applies_to="post", post_id=welder.id, hours_required=Decimal(4), initial_days=10
    )
    dept = ensure_department(enterprise.id, "三车间")
    by_dept = requirement(
        enterprise, applies_to="department", department_id=dept.id, hours_required=Decimal(2)
    )
    assert status_of(enterprise, p, by_role, D(2026, 2, 1)) is None
    set_roles(p, [roles["一线从业人员"], roles["安全生产管理人员"]], on=D(2026, 1, 10))
    move_person(
        p, department=ensure_department(enterprise.id, "三车间/焊接班"), post=welder, on=D(2026, 1, 20)
    )
    db.session.flush()
    row = status_of(enterprise, p, by_role, D(2026, 2, 1))
    assert (
        row["since"] == D(2026, 1, 10) and row["due_on"] == D(2026, 7, 12) and row["status"] == "not_started"
    )
    row = status_of(enterprise, p, by_post, D(2026, 1, 25))
    assert row["since"] == D(2026, 1, 20) and row["status"] == "due_soon"  # due 01-30, reminder 14 days
    assert status_of(enterprise, p, by_post, D(2026, 2, 1))["status"] == "overdue"
    assert status_of(enterprise, p, by_dept, D(2026, 2, 1))["since"] == D(
        2026, 1, 20
    )  # sub-department counts
    # History: a refresh opens rows; a later move closes the post's.
    services.refresh_subjections(enterprise.id, on=D(2026, 2, 1))
    move_person(p, department=dept, post=ensure_post(enterprise.id, "操作工"), on=D(2026, 3, 1))
    db.session.flush()
    services.refresh_subjections(enterprise.id, on=D(2026, 3, 1))
    rows = {
        (s.requirement_id, s.start_on, s.end_on)
        for s in db.session.query(Subjection).filter_by(person_id=p.id)
    }
    assert (by_post.id, D(2026, 1, 20), D(2026, 3, 1)) in rows
    assert (by_role.id, D(2026, 1, 10), None) in rows


def test_left_people_and_tracked_from(enterprise, make_person):
    p = make_person(enterprise, hire_date=D(2020, 1, 1))
    q = make_person(enterprise, hire_date=D(2026, 2, 1))
    req = requirement(enterprise, hours_required=Decimal(8), tracked_from=D(2026, 1, 1))
    assert status_of(enterprise, p, req, D(2026, 3, 1)) is None
    assert status_of(enterprise, q, req, D(2026, 3, 1)) is not None
    set_status(q, "left", on=D(2026, 4, 1))
    db.session.flush()
    assert status_of(enterprise, q, req, D(2026, 3, 1)) is not None
    assert status_of(enterprise, q, req, D(2026, 4, 2)) is None


def test_status_query_is_one_statement(enterprise, make_person):
    for _ in range(3):
        make_person(enterprise)
    requirement(enterprise)
    requirement(enterprise, kind="course", course_id=1, hours_required=0)
    rows = db.session.execute(status_query(enterprise.id, D(2026, 1, 1))).all()
    assert len(rows) == 6
    assert not db.session.execute(status_query(enterprise.id, D(2026, 1, 1), requirement_ids=[])).all()


def test_person_event_kinds_are_used(enterprise, make_person):
    p = make_person(enterprise, hire_date=D(2020, 1, 1))
    assert db.session.query(PersonEvent).filter_by(person_id=p.id, kind="hired").count() == 1


def test_without_hire_date_the_hired_event_starts_the_clock(enterprise, make_person):
    p = make_person(enterprise, hire_date=D(2026, 3, 1))
    p.hire_date = None  # entered without a hire date; the fixture's "hired" event is dated 2026-03-01
    db.session.flush()
    req = requirement(enterprise, hours_required=Decimal(24), initial_days=30)
    row = status_of(enterprise, p, req, D(2026, 3, 10))
    assert row["status"] == "not_started" and row["due_on"] == D(2026, 3, 31)


def test_past_as_of_reads_the_roles_post_and_department_held_then(enterprise, make_person):
    """A day in the past is evaluated with the organisation of that day, not today's projected backwards."""
    roles = roles_by_name(enterprise.id)
    leader = roles["班组长"]
    by_role = requirement(
        enterprise, applies_to="role", role_id=leader.id, hours_required=Decimal(8), initial_days=30
    )
    welder, fitter = ensure_post(enterprise.id, "焊工"), ensure_post(enterprise.id, "钳工")
    by_post = requirement(
        enterprise, applies_to="post", post_id=welder.id, hours_required=Decimal(4), initial_days=30
    )
    east = ensure_department(enterprise.id, "东区")
    by_dept = requirement(
        enterprise, applies_to="department", department_id=east.id, hours_required=Decimal(2)
    )
    a = make_person(enterprise, hire_date=D(2023, 1, 1))
    set_roles(a, [roles["一线从业人员"], leader], on=D(2024, 3, 1))
    set_roles(a, [roles["一线从业人员"]], on=D(2025, 9, 1))  # no longer a team leader
    b = make_person(enterprise, hire_date=D(2023, 1, 1))
    move_person(b, department=east, post=welder, on=D(2024, 1, 1))
    move_person(b, department=ensure_department(enterprise.id, "西区"), post=fitter, on=D(2025, 6, 1))
    db.session.flush()
    then, now = D(2025, 3, 1), local_today()
    row = status_of(enterprise, a, by_role, then)
    assert row is not None and row["since"] == D(2024, 3, 1) and row["status"] == "overdue"
    assert status_of(enterprise, a, by_role, now) is None
    assert status_of(enterprise, b, by_post, then)["since"] == D(2024, 1, 1)
    assert status_of(enterprise, b, by_dept, then) is not None
    assert status_of(enterprise, b, by_post, now) is None and status_of(enterprise, b, by_dept, now) is None
    # Before the first move b was on the post of their hire (操作工), in no department requirement.
    assert status_of(enterprise, b, by_post, D(2023, 6, 1)) is None
    # A role gained after the day does not apply on it (as before).
    set_roles(b, [roles["一线从业人员"], leader], on=D(2026, 1, 5))
    db.session.flush()
    assert status_of(enterprise, b, by_role, then) is None
    assert status_of(enterprise, b, by_role, now)["since"] == D(2026, 1, 5)
