"""Statutory rules as the regulations say (issue 15): pre-job hours, special operations, high-risk industries,
leave and return. Every test here failed on the code before the change."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from flask import g

from lms.core.db import db
from lms.core.errors import DomainError
from lms.core.timeutil import today as local_today  # the enterprise's calendar day (Asia/Shanghai)
from lms.org.services import roles_by_name
from lms.training import coverage, presets
from lms.training.models import Requirement
from tests.conftest import login
from tests.training.helpers import rec, requirement, status_of

D = dt.date


def _prejob(ent, **kw):
    values = {"hours_required": Decimal(24), "pre_job": True, "initial_days": 0, "grace_days": 0}
    values.update(kw)
    return requirement(ent, **values)


# ---------------------------------------------------------------- 岗前 (pre-job)


def test_pre_job_counts_only_training_before_the_start(enterprise, make_person):
    req = _prejob(enterprise)
    before = make_person(enterprise, hire_date=D(2026, 3, 1))
    rec(before, D(2026, 2, 20), 24)
    after = make_person(enterprise, hire_date=D(2026, 3, 1))
    rec(after, D(2026, 3, 10), 24)  # trained after starting: not pre-job training
    assert status_of(enterprise, before, req, D(2026, 3, 15))["status"] == "complete"
    row = status_of(enterprise, after, req, D(2026, 3, 15))
    assert row["status"] == "overdue" and row["due_on"] == D(2026, 3, 1) and row["hours_done"] == 0


def test_no_allowance_marks_untrained_people_compliant(enterprise, make_person):
    """The statutory preset: 999 people at 0 hours days after hire are not compliant (no 30-day allowance)."""
    presets.apply_presets(enterprise)
    prejob = (
        db.session.query(Requirement)
        .filter_by(enterprise_id=enterprise.id, preset_key="new_hire_prejob")
        .one()
    )
    assert prejob.pre_job and prejob.initial_days == 0
    p = make_person(enterprise, hire_date=D(2026, 5, 20))
    row = status_of(enterprise, p, prejob, D(2026, 6, 1))
    assert row["status"] == "overdue"
    t = coverage.totals(enterprise.id, D(2026, 6, 1))
    assert t["compliant"] == 0


def test_pre_job_grace_period_is_in_grace_never_compliant(enterprise, make_person):
    req = _prejob(enterprise, grace_days=10)
    p = make_person(enterprise, hire_date=D(2026, 3, 1))
    q = make_person(enterprise, hire_date=D(2026, 3, 1))
    row = status_of(enterprise, p, req, D(2026, 3, 5))
    assert row["status"] == "in_grace" and row["due_on"] == D(2026, 3, 1)
    assert coverage.totals(enterprise.id, D(2026, 3, 5))["compliant"] == 0
    rec(p, D(2026, 3, 8), 24)  # within the grace days: counts
    assert status_of(enterprise, p, req, D(2026, 3, 9))["status"] == "complete"
    rec(q, D(2026, 3, 20), 24)  # after them: does not
    assert status_of(enterprise, q, req, D(2026, 3, 21))["status"] == "overdue"


def test_three_level_education_counts_toward_pre_job_hours(enterprise, make_person, make_user, client):
    req = _prejob(enterprise)
    p = make_person(enterprise, hire_date=D(2026, 3, 1))
    rec(p, D(2026, 2, 25), 8, level="company", topic="厂级安全教育")
    rec(p, D(2026, 2, 26), 8, level="workshop", topic="车间级安全教育")
    rec(p, D(2026, 2, 27), 8, level="team", topic="班组级安全教育")
    assert status_of(enterprise, p, req, D(2026, 3, 2))["status"] == "complete"
    presets.apply_presets(enterprise)
    db.session.commit()
    login(client, make_user("manager", enterprise))
    page = client.get("/training/requirements").get_data(as_text=True)
    assert "三级安全教育" in page and "计入岗前" in page


# ---------------------------------------------------------------- 特种作业


def _special(ent, make_person):
    role_id = roles_by_name(ent.id)["特种作业人员"].id
    p = make_person(ent, roles=("特种作业人员",), hire_date=D(2015, 1, 1))
    return p, role_id


def test_review_training_counts_only_the_certificates_own_category(enterprise, make_person):
    p, role_id = _special(enterprise, make_person)
    presets.apply_presets(enterprise)
    review = (
        db.session.query(Requirement)
        .filter_by(enterprise_id=enterprise.id, preset_key="special_ops_review")
        .one()
    )
    rec(
        p,
        D(2024, 1, 10),
        0,
        kind="certificate",
        category="特种作业操作证",
        topic="低压电工作业",
        valid_until=D(2030, 1, 9),
    )
    rec(p, D(2025, 3, 1), 8, category="消防安全")  # another subject: not review training
    assert status_of(enterprise, p, review, D(2025, 6, 1))["hours_done"] == 0
    rec(p, D(2025, 4, 1), 8, category="电工作业")
    row = status_of(enterprise, p, review, D(2025, 6, 1))
    assert row["hours_done"] == 8 and row["status"] == "complete"


def test_special_operations_certificate_validity_is_refused_with_a_clear_message(enterprise, make_person):
    p, _role = _special(enterprise, make_person)
    with pytest.raises(DomainError, match="6"):
        rec(p, D(2020, 1, 1), 0, kind="certificate", category="特种作业操作证", valid_until=D(2026, 6, 1))
    with pytest.raises(DomainError, match="发证|issue"):
        rec(p, D(2020, 1, 1), 0, kind="certificate", category="特种作业操作证", valid_until=D(2019, 12, 1))
    ok = rec(p, D(2020, 1, 1), 0, kind="certificate", category="特种作业操作证", valid_until=D(2025, 12, 31))
    assert ok.id
    # Other certificates keep their own validity.
    rec(p, D(2020, 1, 1), 0, kind="certificate", category="其他证书", valid_until=D(2035, 1, 1))


def test_a_missed_review_makes_the_certificate_lapse(enterprise, make_person):
    p, role_id = _special(enterprise, make_person)
    req = requirement(
        enterprise,
        kind="certificate",
        applies_to="role",
        role_id=role_id,
        hours_required=0,
        certificate_category="特种作业操作证",
        initial_days=0,
        grace_days=0,
    )
    rec(
        p,
        D(2021, 1, 10),
        0,
        kind="certificate",
        category="特种作业操作证",
        topic="焊接与热切割作业",
        valid_until=D(2027, 1, 9),
    )
    assert status_of(enterprise, p, req, D(2023, 12, 1))["status"] == "complete"
    row = status_of(enterprise, p, req, D(2024, 6, 1))  # no review by 2024-01-10
    assert row["status"] == "expired" and row["due_on"] == D(2024, 1, 10)
    rec(
        p,
        D(2023, 12, 1),
        0,
        kind="certificate",
        category="特种作业操作证",
        topic="焊接与热切割作业 复审",
        valid_until=D(2027, 1, 9),
    )
    row = status_of(enterprise, p, req, D(2024, 6, 1))
    assert row["status"] == "complete" and row["valid_until"] == D(2026, 12, 1)


# ---------------------------------------------------------------- high-risk industries


@pytest.mark.parametrize(
    "industry, high",
    [
        ("危险化学品", True),
        ("非煤矿山", True),
        ("煤矿", True),
        ("金属冶炼", True),
        ("烟花爆竹", True),
        ("建筑施工", True),
        ("道路运输", True),
        ("民用爆炸物品", True),
        ("机械制造", False),
        (None, False),
    ],
)
def test_high_risk_follows_the_industry(make_enterprise, industry, high):
    from lms.org.industry import is_high_risk

    assert is_high_risk(industry) is high
    assert make_enterprise(industry=industry).high_risk is high


def test_changing_the_industry_rederives_the_presets_and_says_what_changed(make_enterprise):
    ent = make_enterprise(industry="机械制造")
    presets.apply_presets(ent)
    by_key = {r.preset_key: r for r in db.session.query(Requirement).filter_by(enterprise_id=ent.id)}
    assert by_key["principal_initial"].hours_required == 32
    changes = presets.set_industry(ent, "危险化学品")
    assert ent.high_risk is True
    assert by_key["principal_initial"].hours_required == 48
    assert by_key["principal_annual"].hours_required == 16
    assert by_key["new_hire_prejob"].hours_required == 72
    assert by_key["employee_annual"].hours_required == 20
    changed = {c["key"]: (c["old"], c["new"]) for c in changes}
    assert changed["principal_initial"] == (Decimal(32), Decimal(48))
    assert changed["new_hire_prejob"] == (Decimal(24), Decimal(72))


def test_a_preset_edited_below_its_minimum_loses_the_statutory_badge(enterprise, make_user, client):
    presets.apply_presets(enterprise)
    req = (
        db.session.query(Requirement)
        .filter_by(enterprise_id=enterprise.id, preset_key="principal_initial")
        .one()
    )
    ok, reason = presets.statutory_check(req, enterprise)
    assert ok and reason is None
    req.hours_required = Decimal(20)
    ok, reason = presets.statutory_check(req, enterprise)
    assert not ok and "32" in reason
    db.session.commit()
    login(client, make_user("manager", enterprise))
    page = client.get("/training/requirements").get_data(as_text=True)
    row = page[page.index(req.name) :][:1500]
    assert "法定" not in row.split("</tr>")[0] or "低于法定" in row
    assert "低于法定最低" in row and "32" in row


# ---------------------------------------------------------------- leave and return


def test_back_after_a_year_away_repeats_workshop_and_team_education(enterprise, make_person):
    req = requirement(enterprise, kind="three_level", hours_required=0, initial_days=7)
    p = make_person(enterprise, hire_date=D(2020, 1, 1))
    for level in ("company", "workshop", "team"):
        rec(p, D(2020, 1, 2), 4, level=level)
    assert status_of(enterprise, p, req, D(2023, 1, 1))["status"] == "complete"
    p.away_from, p.returned_on = D(2024, 1, 1), D(2025, 3, 1)
    db.session.flush()
    assert status_of(enterprise, p, req, D(2024, 6, 1)) is None  # away: not subject
    row = status_of(enterprise, p, req, D(2025, 3, 20))
    assert row["status"] == "overdue" and row["since"] == D(2025, 3, 1)
    rec(p, D(2025, 3, 2), 4, level="workshop")
    rec(p, D(2025, 3, 3), 4, level="team")
    assert status_of(enterprise, p, req, D(2025, 3, 20))["status"] == "complete"
    short = make_person(enterprise, hire_date=D(2020, 1, 1))
    for level in ("company", "workshop", "team"):
        rec(short, D(2020, 1, 2), 4, level=level)
    short.away_from, short.returned_on = D(2024, 1, 1), D(2024, 6, 1)  # five months: nothing to repeat
    db.session.flush()
    assert status_of(enterprise, short, req, D(2024, 7, 1))["status"] == "complete"


def test_leave_and_return_dates_from_the_roster(enterprise):
    from lms.org.models import Person
    from lms.org.roster import import_roster

    csv = (
        "工号,姓名,部门,岗位,入职日期,离岗日期,返岗日期\n"
        "L001,李离岗,一车间/甲班,操作工,2018-01-01,2023-02-01,2024-05-01\n"
    ).encode()
    import_roster(enterprise, csv, "roster.csv", dry_run=False)
    p = db.session.query(Person).filter_by(enterprise_id=enterprise.id, employee_no="L001").one()
    assert (p.away_from, p.returned_on) == (D(2023, 2, 1), D(2024, 5, 1))


def test_leave_and_return_dates_in_the_person_form(enterprise, make_person, make_user, client):
    p = make_person(enterprise, hire_date=D(2019, 1, 1))
    db.session.commit()
    login(client, make_user("manager", enterprise))
    page = client.get(f"/org/people/{p.id}/edit").get_data(as_text=True)
    assert 'name="away_from"' in page and 'name="returned_on"' in page


def test_the_settings_page_derives_high_risk_and_shows_the_rederived_presets(
    make_enterprise, make_user, client
):
    ent = make_enterprise(industry="机械制造")
    presets.apply_presets(ent)
    db.session.commit()
    login(client, make_user("manager", ent))
    g.pop("csrf_token", None)  # the app context outlives requests in tests: a token of another client
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/org/settings").get_data(as_text=True)
    )
    page = client.post(
        "/org/settings",
        data={"industry": "烟花爆竹", "password_policy": "random", "csrf_token": token.group(1)},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert ent.high_risk is True
    assert "属于高危行业" in page and "32 → 48" in page and "24 → 72" in page
    req = db.session.query(Requirement).filter_by(enterprise_id=ent.id, preset_key="principal_initial").one()
    assert req.hours_required == 48


def test_three_level_education_before_the_start_counts_for_it(enterprise, make_person):
    """三级安全教育 is pre-job training: taken in the days before the start, it fulfils the requirement."""
    req = requirement(enterprise, kind="three_level", hours_required=0, initial_days=0)
    p = make_person(enterprise, hire_date=D(2026, 3, 1))
    for i, level in enumerate(("company", "workshop", "team")):
        rec(p, D(2026, 2, 25 + i), 8, level=level)
    assert status_of(enterprise, p, req, D(2026, 3, 2))["status"] == "complete"
    moved = make_person(enterprise, hire_date=D(2020, 1, 1))
    for level in ("company", "workshop", "team"):
        rec(moved, D(2020, 1, 2), 4, level=level)
    moved.away_from, moved.returned_on = D(2024, 1, 1), D(2025, 3, 1)
    rec(moved, D(2024, 6, 1), 4, level="workshop")  # during the absence, long before the return: not counted
    rec(moved, D(2025, 2, 27), 4, level="team")  # in the days before the return: counted
    db.session.flush()
    row = status_of(enterprise, moved, req, D(2025, 3, 5))
    assert row["status"] == "overdue"  # workshop level still missing
    rec(moved, D(2025, 2, 28), 4, level="workshop")
    assert status_of(enterprise, moved, req, D(2025, 3, 5))["status"] == "complete"


def test_a_manager_marks_a_requirement_pre_job(enterprise, make_user, client, make_person):
    db.session.commit()
    login(client, make_user("manager", enterprise))
    resp = client.post(
        "/training/requirements/new",
        data={
            "name": "外包人员岗前培训",
            "kind": "hours",
            "applies_to": "everyone",
            "hours_required": "16",
            "recurrence": "once",
            "initial_days": "30",
            "grace_days": "5",
            "reminder_days": "7",
            "active": "y",
            "pre_job": "y",
        },
    )
    assert resp.status_code in (302, 303)
    req = db.session.query(Requirement).filter_by(enterprise_id=enterprise.id, name="外包人员岗前培训").one()
    assert req.pre_job and req.initial_days == 0 and req.grace_days == 5
    page = client.get(f"/training/requirements/{req.id}/edit").get_data(as_text=True)
    assert 'name="pre_job"' in page and "checked" in page[page.index('name="pre_job"') - 200 :][:400]


def test_the_learner_is_told_pre_job_training_cannot_be_made_up_by_hours(enterprise, make_person, client):
    _prejob(enterprise, name="新员工岗前培训")
    p = make_person(enterprise, hire_date=local_today() - dt.timedelta(days=5))
    db.session.commit()
    login(client, p.user)
    page = client.get("/training/mine").get_data(as_text=True)
    assert "岗前培训只计上岗前" in page
