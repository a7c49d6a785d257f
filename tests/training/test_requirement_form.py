"""The requirement form shows the fields of the chosen kind in a manager's words; the server clears the others."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from lms.core.db import db
from lms.org.models import ResponsibilityRole
from lms.training.models import Requirement
from lms.training.requirement_fields import for_kind

BASE = {
    "name": "",
    "applies_to": "everyone",
    "recurrence": "once",
    "initial_days": "30",
    "grace_days": "0",
    "reminder_days": "30",
    "active": "y",
    "role_id": "",
    "post_id": "",
    "department_id": "",
    "course_id": "",
}


def _req(enterprise, name):
    return db.session.scalar(
        select(Requirement).where(Requirement.enterprise_id == enterprise.id, Requirement.name == name)
    )


def test_for_kind_clears_fields_of_other_kinds_targets_and_recurrences():
    values = {
        "kind": "course",
        "applies_to": "post",
        "course_id": 5,
        "hours_required": Decimal("8"),
        "categories": "有限空间",
        "pre_job": True,
        "certificate_category": "电工作业",
        "certificate_topic": "x",
        "role_id": 3,
        "post_id": 4,
        "department_id": 7,
        "recurrence": "calendar_year",
        "recurrence_months": 12,
    }
    out = for_kind(values)
    assert out["course_id"] == 5 and out["post_id"] == 4
    assert out["hours_required"] == 0 and out["categories"] is None and out["pre_job"] is False
    assert out["certificate_category"] is None and out["certificate_topic"] is None
    assert out["role_id"] is None and out["department_id"] is None
    assert out["recurrence"] == "calendar_year" and out["recurrence_months"] is None
    cert = for_kind(values | {"kind": "certificate", "recurrence": "rolling"})
    assert (
        cert["course_id"] is None
        and cert["certificate_category"] == "电工作业"
        and cert["recurrence"] == "once"
    )
    assert values["hours_required"] == Decimal("8")  # the input is left as it was


def test_form_in_a_managers_words_with_parts_per_kind(client, login_as):
    login_as("manager")
    html = client.get("/training/requirements/new").get_data(as_text=True)
    assert 'data-when="kind:hours"' in html and 'data-when="kind:course"' in html
    assert 'data-when="applies_to:role"' in html and 'data-when="recurrence:rolling"' in html
    assert "kind-fields.js" in html
    en = client.get("/training/requirements/new?lang=en").get_data(as_text=True)
    assert en  # renders in either language


def test_switching_kind_leaves_nothing_of_the_old_kind(client, enterprise, login_as):
    login_as("manager")
    # a course requirement posted with the hours, categories and certificate fields of other kinds still filled
    role = db.session.scalar(
        select(ResponsibilityRole)
        .where(ResponsibilityRole.enterprise_id == enterprise.id)
        .order_by(ResponsibilityRole.id)
    )
    r = client.post(
        "/training/requirements/new",
        data=BASE
        | {
            "name": "证书要求",
            "kind": "certificate",
            "certificate_category": "电工作业",
            "hours_required": "12",
            "categories": "有限空间",
            "pre_job": "y",
            "applies_to": "role",
            "role_id": str(role.id),
            "recurrence": "rolling",
            "recurrence_months": "24",
        },
    )
    assert r.status_code == 302, r.data[:1500]
    req = _req(enterprise, "证书要求")
    assert (req.kind, req.certificate_category, req.role_id) == ("certificate", "电工作业", role.id)
    assert req.hours_required == 0 and req.categories is None and not req.pre_job
    assert req.recurrence == "once" and req.recurrence_months is None
    # edited into an hours requirement for everyone: the certificate and role fields are cleared
    r = client.post(
        f"/training/requirements/{req.id}/edit",
        data=BASE
        | {
            "name": "证书要求",
            "kind": "hours",
            "hours_required": "8",
            "certificate_category": "电工作业",
            "certificate_topic": "低压电工",
            "role_id": str(role.id),
            "recurrence": "calendar_year",
            "recurrence_months": "6",
        },
    )
    assert r.status_code == 302, r.data[:1500]
    db.session.refresh(req)
    assert req.kind == "hours" and req.hours_required == Decimal("8")
    assert req.certificate_category is None and req.certificate_topic is None
    assert req.applies_to == "everyone" and req.role_id is None
    assert req.recurrence == "calendar_year" and req.recurrence_months is None


def test_the_chosen_kinds_own_fields_are_still_required(client, enterprise, login_as):
    login_as("manager")
    r = client.post(
        "/training/requirements/new", data=BASE | {"name": "缺课程", "kind": "course", "hours_required": "4"}
    )
    assert r.status_code == 200  # the form again, with the error on the course
    assert _req(enterprise, "缺课程") is None


def test_another_enterprises_role_is_refused(client, enterprise, make_enterprise, login_as):
    other = make_enterprise()
    foreign = db.session.scalar(
        select(ResponsibilityRole)
        .where(ResponsibilityRole.enterprise_id == other.id)
        .order_by(ResponsibilityRole.id)
    )
    login_as("manager")
    r = client.post(
        "/training/requirements/new",
        data=BASE
        | {
            "name": "越权角色",
            "kind": "hours",
            "hours_required": "2",
            "applies_to": "role",
            "role_id": str(foreign.id),
        },
    )
    assert r.status_code == 200
    assert _req(enterprise, "越权角色") is None
