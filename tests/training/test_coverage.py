"""Coverage group-bys, drill-down, culture helpers, safe exports and the N+1 guard."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl

from lms.core.db import db
from lms.org.models import Department
from lms.org.services import roles_by_name
from lms.training import coverage
from tests.statements import recorded_statements
from tests.training.helpers import rec, requirement

D = dt.date
AS_OF = D(2026, 6, 1)


def _setup(ent, make_person):
    a = make_person(ent, name="甲", department="一车间/甲班", post="操作工", hire_date=D(2020, 1, 1))
    b = make_person(
        ent,
        name="乙",
        department="一车间/乙班",
        post="焊工",
        roles=("特种作业人员",),
        hire_date=D(2020, 1, 1),
    )
    c = make_person(ent, name="丙", department="二车间", post="操作工", hire_date=D(2020, 1, 1))
    hours = requirement(
        ent, name="年度再培训", hours_required=Decimal(8), recurrence="calendar_year", grace_days=0
    )
    cert = requirement(
        ent,
        name="特种作业操作证",
        kind="certificate",
        applies_to="role",
        hours_required=0,
        role_id=roles_by_name(ent.id)["特种作业人员"].id,
        certificate_category="特种作业操作证",
        initial_days=0,
    )
    rec(a, D(2025, 3, 1), 8)
    rec(a, D(2026, 3, 1), 8)
    rec(b, D(2025, 3, 1), 8)
    rec(b, D(2026, 3, 1), 8)
    # Issued for 6 years and reviewed after 3 (a certificate valid longer, or never reviewed, is not valid).
    rec(b, D(2020, 6, 21), kind="certificate", category="特种作业操作证", valid_until=D(2026, 6, 20))
    rec(
        b,
        D(2023, 6, 25),
        kind="certificate",
        category="特种作业操作证",
        topic="复审",
        valid_until=D(2026, 6, 20),
    )
    rec(c, D(2026, 3, 1), 4)  # 2025 missed: overdue
    return a, b, c, hours, cert


def test_group_bys_and_drilldown(enterprise, make_person):
    a, b, c, hours, cert = _setup(enterprise, make_person)
    t = coverage.totals(enterprise.id, AS_OF)
    assert (t["people"], t["compliant"], t["late"]) == (3, 2, 1)
    by_req = {r["label"]: r for r in coverage.coverage(enterprise.id, "requirement", AS_OF)}
    assert by_req["年度再培训"]["people"] == 3 and by_req["年度再培训"]["compliant"] == 2
    assert by_req["特种作业操作证"]["share"] == 1.0
    by_dept = {r["label"]: r for r in coverage.coverage(enterprise.id, "department", AS_OF)}
    assert by_dept["二车间"]["share"] == 0.0 and by_dept["一车间/甲班"]["share"] == 1.0
    by_post = {r["label"]: r for r in coverage.coverage(enterprise.id, "post", AS_OF)}
    assert by_post["操作工"]["people"] == 2 and by_post["操作工"]["compliant"] == 1
    by_role = {r["label"]: r for r in coverage.coverage(enterprise.id, "role", AS_OF)}
    assert by_role["特种作业人员"]["people"] == 1
    workshop = db.session.query(Department).filter_by(enterprise_id=enterprise.id, path="一车间").one()
    sub = coverage.totals(enterprise.id, AS_OF, coverage.department_filter(workshop))
    assert (sub["people"], sub["compliant"]) == (2, 2)
    late = coverage.named_list(enterprise.id, AS_OF, statuses=("overdue", "expired"))
    assert [(r["name"], r["requirement"]) for r in late] == [("丙", "年度再培训")]
    expiring = coverage.named_list(enterprise.id, AS_OF, expiring_within=30)
    assert [(r["name"], r["valid_until"]) for r in expiring] == [("乙", D(2026, 6, 20))]
    assert coverage.named_list(enterprise.id, AS_OF, requirement_id=cert.id, count=True) == 1
    # Month-end trend: in 2026-06-21 the certificate has expired.
    trend = {label: share for label, share, _ in coverage.trend(enterprise.id, D(2026, 7, 1), months=3)}
    assert trend["26-05"] == 2 / 3 and trend["26-07"] == 1 / 3


def test_culture_helpers(enterprise, make_person):
    a, b, c, hours, cert = _setup(enterprise, make_person)
    assert coverage.coverage_share(enterprise.id, AS_OF) == 2 / 3
    assert coverage.on_time_rate(enterprise.id, AS_OF) == 3 / 4
    h = coverage.hours_per_head(enterprise.id, D(2026, 1, 1), D(2026, 12, 31))
    assert h["people"] == 3 and h["hours_total"] == Decimal(20) and h["required_per_head"] == Decimal(8)
    veto = coverage.veto_people(enterprise.id, AS_OF, coverage.post_filter(c.post_id))
    assert [r["name"] for r in veto] == ["丙"]
    assert coverage.veto_people(enterprise.id, D(2026, 7, 1), special_operations_only=True)[0]["name"] == "乙"


def test_exports_are_formula_safe(client, enterprise, make_person, login_as):
    make_person(enterprise, name='=HYPERLINK("http://x")', hire_date=D(2020, 1, 1))
    requirement(enterprise, name="+cmd|' /C calc'!A0", hours_required=Decimal(8))
    login_as("manager")
    data = client.get("/training/list?format=csv").data.decode("utf-8-sig")
    assert "'=HYPERLINK" in data and "'+cmd" in data
    wb = openpyxl.load_workbook(io.BytesIO(client.get("/training/list?format=xlsx").data))
    values = [c.value for row in wb.active.iter_rows() for c in row if isinstance(c.value, str)]
    assert any(v.startswith("'=HYPERLINK") for v in values)
    assert not any(v.startswith("=") for v in values)
    for by in ("department", "requirement"):
        text = client.get(f"/training/coverage/{by}?format=csv").data.decode("utf-8-sig")
        assert "\n=" not in text and ",=" not in text


def _count_statements(client, url):
    with recorded_statements() as statements:
        resp = client.get(url)
    assert resp.status_code == 200
    return len(statements)


def test_no_n_plus_one(client, make_enterprise, make_person):
    from tests.conftest import login

    counts = []
    for n in (5, 50):
        ent = make_enterprise()
        mgr = make_person(ent, app_role="manager")
        for i in range(n):
            p = make_person(
                ent,
                department=("一车间/甲班", "二车间", "三车间/焊接班")[i % 3],
                roles=("一线从业人员", "特种作业人员")[: 1 + i % 2],
                hire_date=D(2020, 1, 1),
            )
            rec(p, D(2026, 1, 5), 4 + i % 6)
        requirement(ent, hours_required=Decimal(8), recurrence="calendar_year")
        requirement(
            ent,
            kind="certificate",
            applies_to="role",
            role_id=roles_by_name(ent.id)["特种作业人员"].id,
            certificate_category="特种作业操作证",
            hours_required=0,
        )
        login(client, mgr.user)
        counts.append(
            tuple(
                _count_statements(client, url)
                for url in (
                    "/training/",
                    "/training/list?show=noncompliant",
                    "/training/coverage/department",
                    f"/training/people/{p.id}",
                )
            )
        )
        client.post("/logout")
    assert counts[0] == counts[1], counts
