"""Pages through the test client: manager, learner, regulator (assigned or not), other enterprises."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from lms.core.db import db
from lms.core.timeutil import today as local_today  # the enterprise's calendar day (Asia/Shanghai)
from lms.org.models import RegulatorAssignment
from lms.training.models import Exemption, Notification, Requirement
from lms.training.reminders import send_reminders
from tests.conftest import login
from tests.training.helpers import rec, requirement

TODAY = local_today()


def test_manager_dashboard_presets_drilldown_export(client, enterprise, make_person, login_as):
    late = make_person(enterprise, name="王逾期", hire_date=TODAY - dt.timedelta(days=400))
    login_as("manager")
    assert client.get("/training/").status_code == 200
    resp = client.post("/training/requirements/presets")
    assert resp.status_code == 302
    assert db.session.query(Requirement).filter_by(enterprise_id=enterprise.id).count() >= 7
    page = client.get("/training/")
    assert page.status_code == 200 and "<svg" in page.get_data(as_text=True)
    listing = client.get("/training/list?show=late")
    assert "王逾期" in listing.get_data(as_text=True)
    dept_id = late.department_id
    assert "王逾期" in client.get(f"/training/list?show=late&department={dept_id}").get_data(as_text=True)
    for by in ("department", "post", "role", "requirement"):
        assert client.get(f"/training/coverage/{by}").status_code == 200
        x = client.get(f"/training/coverage/{by}?format=xlsx")
        assert x.status_code == 200 and x.data[:2] == b"PK"
    csv = client.get("/training/list?show=late&format=csv")
    assert csv.status_code == 200 and "王逾期" in csv.data.decode("utf-8-sig")
    person_page = client.get(f"/training/people/{late.id}")
    assert person_page.status_code == 200
    pdf = client.get(f"/training/people/{late.id}?format=pdf")
    assert pdf.status_code == 200 and pdf.data[:4] == b"%PDF"


def test_requirement_crud_and_exemption(client, enterprise, make_person, login_as):
    p = make_person(enterprise, employee_no="E900")
    login_as("manager")
    resp = client.post(
        "/training/requirements/new",
        data={
            "name": "有限空间作业培训",
            "kind": "hours",
            "applies_to": "everyone",
            "hours_required": "4",
            "categories": "有限空间",
            "recurrence": "calendar_year",
            "initial_days": "0",
            "grace_days": "0",
            "reminder_days": "30",
            "active": "y",
            "role_id": "",
            "post_id": "",
            "department_id": "",
            "course_id": "",
        },
    )
    assert resp.status_code == 302, resp.data[:2000]
    req = db.session.query(Requirement).filter_by(enterprise_id=enterprise.id, name="有限空间作业培训").one()
    assert req.categories == "有限空间"
    resp = client.post(
        f"/training/requirements/{req.id}/edit",
        data={
            "name": "有限空间作业培训",
            "kind": "hours",
            "applies_to": "role",
            "hours_required": "4",
            "recurrence": "once",
            "initial_days": "0",
            "grace_days": "0",
            "reminder_days": "30",
            "role_id": "",
            "post_id": "",
            "department_id": "",
            "course_id": "",
        },
    )
    assert resp.status_code == 200  # a role is needed: the form shows the error
    assert client.get("/training/requirements").status_code == 200
    resp = client.post(
        "/training/exemptions", data={"person": "E900", "requirement_id": req.id, "reason": "病假"}
    )
    assert resp.status_code == 302
    ex = db.session.query(Exemption).filter_by(person_id=p.id).one()
    assert client.post(f"/training/exemptions/{ex.id}/revoke").status_code == 302
    assert db.session.get(Exemption, ex.id).revoked_at is not None
    assert client.get("/training/exemptions?format=xlsx").data[:2] == b"PK"


def test_other_enterprise_objects_are_404(client, enterprise, make_enterprise, make_person, login_as):
    other = make_enterprise()
    stranger = make_person(other)
    req = requirement(other)
    login_as("manager")
    assert client.get(f"/training/people/{stranger.id}").status_code == 404
    assert client.get(f"/training/requirements/{req.id}/edit").status_code == 404
    assert client.get(f"/training/list?requirement={req.id}").status_code == 404
    assert client.get(f"/training/list?department={stranger.department_id}").status_code == 404


def test_learner_sees_own_training_and_notifications(client, enterprise, make_person):
    p = make_person(enterprise, hire_date=TODAY - dt.timedelta(days=20))
    requirement(enterprise, name="岗前培训", hours_required=Decimal(24), initial_days=30, reminder_days=14)
    rec(p, TODAY, 8)
    login(client, p.user)
    home = client.get("/")  # the learner's home is "what to do next" (issue 18), from the same status rows
    assert home.status_code == 200 and "岗前培训" in home.get_data(as_text=True)
    page = client.get("/training/mine").get_data(as_text=True)
    assert "岗前培训" in page and "8" in page
    send_reminders(TODAY, [enterprise.id])
    send_reminders(TODAY, [enterprise.id])  # idempotent
    assert db.session.query(Notification).filter_by(user_id=p.user.id).count() == 1
    assert "岗前培训" in client.get("/training/notifications").get_data(as_text=True)
    client.post("/training/notifications")
    assert db.session.query(Notification).filter_by(user_id=p.user.id, read_at=None).count() == 0
    assert client.get("/training/mine/archive?format=pdf").data[:4] == b"%PDF"
    assert client.get("/training/").status_code == 403
    assert client.get("/training/requirements").status_code == 403
    assert client.get(f"/training/people/{p.id}").status_code == 403


def test_regulator_assigned_vs_not(client, make_enterprise, make_person, make_user):
    seen = make_enterprise(name="被监管企业")
    hidden = make_enterprise(name="未分配企业")
    for ent in (seen, hidden):
        make_person(ent, name=f"{ent.code}员工", hire_date=TODAY - dt.timedelta(days=400))
        requirement(ent)
    reg = make_user("regulator")
    db.session.add(RegulatorAssignment(user_id=reg.id, enterprise_id=seen.id))
    db.session.flush()
    login(client, reg)
    page = client.get("/training/regulator").get_data(as_text=True)
    assert "被监管企业" in page and "未分配企业" not in page
    assert client.get(f"/training/regulator/{seen.id}").status_code == 200
    assert client.get(f"/training/regulator/{hidden.id}").status_code == 404
    assert client.get(f"/training/regulator/{hidden.id}/list").status_code == 404
    assert client.get(f"/training/regulator/{seen.id}/list").status_code == 404  # names not shared
    seen.share_names_with_regulator = True
    db.session.flush()
    listing = client.get(f"/training/regulator/{seen.id}/list")
    assert listing.status_code == 200 and f"{seen.code}员工" in listing.get_data(as_text=True)
    assert client.get(f"/training/regulator/{hidden.id}?format=csv").status_code == 404
    assert client.get("/training/").status_code == 403
    csv = client.get("/training/regulator?format=csv").data.decode("utf-8-sig")
    assert "被监管企业" in csv and "未分配企业" not in csv
