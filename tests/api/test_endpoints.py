"""The endpoints: bulk upsert through the roster import, external records into the archive, the same status and
coverage figures as the web pages, certificates, the OpenAPI document and its reference page, the key pages."""

from __future__ import annotations

import datetime as dt
import json
import re

from click.testing import CliRunner
from sqlalchemy import func, select

from lms.api.models import ApiKey
from lms.core.db import db
from lms.org.models import Person
from tests.api.conftest import auth
from tests.conftest import login

PEOPLE = [
    {
        "employee_no": "H001",
        "name": "张三",
        "department": "一车间/甲班",
        "post": "操作工",
        "roles": ["一线从业人员"],
        "hire_date": "2024-03-01",
        "phone": "13800000001",
        "status": "active",
    },
    {
        "employee_no": "H002",
        "name": "李四",
        "department": "二车间/乙班",
        "post": "电工",
        "roles": ["特种作业人员"],
        "hire_date": "2023-05-10",
        "phone": "13800000002",
        "status": "active",
    },
    {
        "employee_no": "A000",
        "name": "甲员工零改名",
        "department": "一车间/甲班",
        "post": "操作工",
        "roles": ["一线从业人员"],
        "hire_date": "2020-01-01",
        "phone": None,
        "status": "在职",
    },
]


def test_openapi_document_validates(client):
    from openapi_spec_validator import validate

    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.json
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    assert {
        "/api/v1/people",
        "/api/v1/people/bulk",
        "/api/v1/records",
        "/api/v1/xapi/statements",
        "/api/v1/certificates/verify",
    } <= set(doc["paths"])
    assert "ApiKey" in doc["components"]["securitySchemes"]


def test_reference_page_needs_nothing_from_the_internet(client):
    r = client.get("/api/v1/docs")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "/api/v1/people/bulk" in html and "BulkPeopleIn" in html
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?://", html)


def test_bulk_upsert_dry_run_then_commit_matches_the_roster_import(client, world, tmp_path):
    h = auth(world["secret_a"])
    r = client.post("/api/v1/people/bulk", headers=h, json={"people": PEOPLE, "dry_run": True})
    assert r.status_code == 200
    dry = r.json
    assert (dry["created"], dry["updated"], dry["committed"], dry["dry_run"]) == (2, 1, False, True)
    assert db.session.scalar(select(func.count()).where(Person.employee_no == "H001")) == 0
    r = client.post("/api/v1/people/bulk", headers=h, json={"people": PEOPLE})
    done = r.json
    assert r.status_code == 200 and done["committed"] and (done["created"], done["updated"]) == (2, 1)
    assert "二车间/乙班" in done["departments_created"] and "电工" in done["posts_created"]
    p = db.session.scalar(
        select(Person).where(Person.enterprise_id == world["a"].id, Person.employee_no == "H002")
    )
    assert (
        p.name == "李四"
        and p.hire_date == dt.date(2023, 5, 10)
        and [x.name for x in p.roles] == ["特种作业人员"]
    )
    # Again: nothing changes. The same result as `lms import-roster --json` of the same people in a file.
    again = client.post("/api/v1/people/bulk", headers=h, json={"people": PEOPLE}).json
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
    sheet = tmp_path / "roster.csv"
    sheet.write_text(
        "工号,姓名,部门,岗位,安全责任角色,入职日期,手机号,状态\n"
        + "\n".join(
            f"{x['employee_no']},{x['name']},{x['department']},{x['post']},{'、'.join(x['roles'])},{x['hire_date']},"
            f"{x['phone'] or ''},{'在职'}"
            for x in PEOPLE
        ),
        encoding="utf-8",
    )
    from flask import current_app

    cli = CliRunner().invoke(
        current_app.cli,
        ["import-roster", str(sheet), "--enterprise", "APIB", "--json"],
        catch_exceptions=False,
    )
    from_file = json.loads(cli.output)
    first_b = client.post(
        "/api/v1/people/bulk", headers=auth(world["secret_b"]), json={"people": PEOPLE, "dry_run": True}
    ).json
    assert set(first_b) == set(from_file)
    # B imported the file for real: the API's dry run of the same people now reports them unchanged, like the file.
    assert (first_b["created"], first_b["unchanged"]) == (0, 3)
    assert (from_file["created"], from_file["updated"]) == (3, 0)


def test_bulk_upsert_is_all_or_nothing_with_row_errors(client, world):
    bad = PEOPLE + [
        {"employee_no": "H001", "name": "重复"},
        {"employee_no": "H009", "name": "王五", "roles": ["不存在的角色"]},
    ]
    r = client.post("/api/v1/people/bulk", headers=auth(world["secret_a"], "en"), json={"people": bad})
    assert r.status_code == 422
    out = r.json
    assert out["committed"] is False
    by_index = {(e["index"], e["field"]) for e in out["errors"]}
    assert (3, "employee_no") in by_index and (4, "roles") in by_index
    assert all(e["row"] == e["index"] + 2 for e in out["errors"])
    assert (
        db.session.scalar(select(func.count()).where(Person.employee_no.in_(["H001", "H002", "H009"]))) == 0
    )
    zh = client.post("/api/v1/people/bulk", headers=auth(world["secret_a"]), json={"people": bad}).json
    assert zh["errors"][0]["message"] != out["errors"][0]["message"]


def test_external_record_is_idempotent_appears_in_the_archive_and_is_voided_with_a_reason(client, world):
    from lms.training.archive import archive_records, archive_rows

    h = auth(world["secret_a"])
    body = {
        "external_id": "HR-2026-001",
        "employee_no": "A001",
        "topic": "外部机构：有限空间作业培训",
        "kind": "manual",
        "hours": "4",
        "category": "有限空间",
        "started_at": "2026-11-03T08:30:00",
        "completed_at": "2026-11-03T12:30:00+08:00",
    }
    r = client.post("/api/v1/records", headers=h, json=body)
    assert r.status_code == 201 and r.json["outcome"] == "created"
    rec = r.json["record"]
    assert (
        rec["completed_at"] == "2026-11-03T12:30:00+08:00"
        and rec["started_at"] == "2026-11-03T08:30:00+08:00"
    )
    assert rec["external_id"] == "HR-2026-001" and rec["hours"] == "4.00"
    r2 = client.post("/api/v1/records", headers=h, json=body)
    assert (
        r2.status_code == 200 and r2.json["outcome"] == "unchanged" and r2.json["record"]["id"] == rec["id"]
    )
    person = world["people_a"][1]
    archived = archive_records(person.id)
    assert [x.id for x in archived] == [rec["id"]]
    assert archived[0].completed_at == dt.datetime(2026, 11, 3, 4, 30)  # stored in UTC
    rows = archive_rows(person.id)
    assert any("有限空间作业培训" in str(cell) for row in rows for cell in row)
    listed = client.get("/api/v1/records?employee_no=A001&source=api", headers=h).json["items"]
    assert [x["id"] for x in listed] == [rec["id"]]
    assert client.get("/api/v1/records?employee_no=A001&since=2026-11-04", headers=h).json["items"] == []
    # Changed content under the same external id replaces the record (the old one is voided, not edited).
    r3 = client.post("/api/v1/records", headers=h, json={**body, "hours": "3.5"})
    assert r3.status_code == 201 and r3.json["outcome"] == "replaced"
    new_id = r3.json["record"]["id"]
    r4 = client.post(f"/api/v1/records/{new_id}/void", headers=h, json={"reason": "人事系统撤回"})
    assert r4.status_code == 200 and r4.json["void_reason"] == "人事系统撤回" and r4.json["voided_at"]
    again = client.post(f"/api/v1/records/{new_id}/void", headers=h, json={"reason": "again"})
    assert again.status_code == 409
    live = client.get("/api/v1/records?employee_no=A001", headers=h).json["items"]
    assert live == []
    voided = client.get("/api/v1/records?employee_no=A001&include_voided=true", headers=h).json["items"]
    assert [x["id"] for x in voided] == [rec["id"], new_id]
    assert len(archive_records(person.id)) == 2  # both stay in the archive, marked


def test_status_and_coverage_are_the_figures_of_the_web_pages(client, world):
    from lms.ledger.services import record
    from lms.training import cache, coverage, reading
    from lms.training.services import save_requirement

    a = world["a"]
    save_requirement(
        a.id,
        dict(
            name="年度再培训",
            kind="hours",
            applies_to="everyone",
            hours_required=8,
            recurrence="calendar_year",
            initial_days=30,
            grace_days=0,
            reminder_days=30,
            active=True,
            issue_certificate=False,
        ),
    )
    today = cache.today(a.id)
    done = dt.datetime.combine(today, dt.time(2, 0))
    for p in world["people_a"][:3]:
        record(p, kind="manual", topic="年度培训", source=f"test:{p.id}", hours=8, completed_at=done)
    db.session.commit()
    h = auth(world["secret_a"])
    for by in ("department", "post", "role", "requirement"):
        api = client.get(f"/api/v1/coverage/{by}", headers=h).json
        direct = coverage.coverage(a.id, by, today)
        assert [(r["label"], r["people"], r["compliant"], r["late"], r["due_soon"]) for r in api["rows"]] == [
            (r["label"], r["people"], r["compliant"], r["late"], r["due_soon"]) for r in direct
        ]
    figures = client.get("/api/v1/coverage/role", headers=h).json["figures"]
    assert figures["people"] == 6 and figures["compliant"] == 3
    # The web page (the manager's coverage table export) shows the same counts.
    login(client, world["manager"].user)
    web = client.get("/training/coverage/department?format=csv").get_data(as_text=True)
    client.get("/logout")
    api_rows = client.get("/api/v1/coverage/department", headers=h).json["rows"]
    for row in api_rows:
        assert any(row["label"] in line and str(row["people"]) in line for line in web.splitlines())
    person = world["people_a"][0]
    st = client.get(f"/api/v1/status/people/{person.id}", headers=h).json
    assert [(r["requirement"], r["status"]) for r in st["requirements"]] == [("年度再培训", "complete")]
    rows = reading.person_rows(a.id, person.id, today)
    assert [r["status"] for r in rows] == ["complete"]


def test_certificates_list_and_verify(client, world):
    from certificates.services import issue_for_record
    from lms.ledger.services import record

    p = world["people_a"][0]
    rec = record(
        p,
        kind="course",
        topic="叉车司机培训",
        source="test:cert",
        hours=4,
        course_id=987654,
        completed_at=dt.datetime(2026, 11, 1, 2),
    ).record
    cert = issue_for_record(rec).certificate
    db.session.commit()
    items = client.get("/api/v1/certificates", headers=auth(world["secret_a"])).json["items"]
    assert [c["number"] for c in items] == [cert.number]
    ok = client.get(
        f"/api/v1/certificates/verify?number={cert.number}&code={cert.verification_code}",
        headers=auth(world["secret_a"]),
    ).json
    assert ok["valid"] is True and ok["certificate"]["holder_name"] == p.name
    wrong = client.get(
        f"/api/v1/certificates/verify?number={cert.number}&code=WRONG", headers=auth(world["secret_a"])
    ).json
    assert wrong == {"valid": False, "certificate": None}
    other = client.get(
        f"/api/v1/certificates/verify?number={cert.number}&code={cert.verification_code}",
        headers=auth(world["secret_b"]),
    ).json
    assert other == {"valid": False, "certificate": None}  # not an enterprise this key reaches


def test_manager_makes_a_key_shown_once_and_revokes_it(client, world):
    login(client, world["manager"].user)
    page = client.get("/api/keys")
    assert page.status_code == 200
    r = client.post(
        "/api/keys",
        data={
            "kind": "enterprise",
            "name": "人事夜间同步",
            "scopes": ["people:read", "people:write"],
            "rate_per_minute": "60",
        },
    )
    assert r.status_code == 200
    secret = re.search(r"(lms_[0-9a-f]{8}_[A-Za-z0-9_\-]{20,})", r.get_data(as_text=True)).group(1)
    key = db.session.scalar(select(ApiKey).where(ApiKey.name == "人事夜间同步"))
    assert key.enterprise_id == world["a"].id and key.scope_list == ["people:read", "people:write"]
    assert secret not in client.get("/api/keys").get_data(as_text=True)  # never shown again
    client.get("/logout")
    assert client.get("/api/v1/people", headers=auth(secret)).status_code == 200
    login(client, world["manager"].user)
    # A manager of A cannot revoke B's key; a regulator's key made by a manager is refused.
    assert client.post(f"/api/keys/{world['key_b'].id}/revoke").status_code == 404
    assert (
        client.post(
            "/api/keys",
            data={
                "kind": "regulator",
                "name": "x",
                "regulator_id": world["regulator"].id,
                "scopes": ["status:read"],
                "enterprises": [world["a"].id],
            },
        ).status_code
        == 403
    )
    assert client.post(f"/api/keys/{key.id}/revoke").status_code == 302
    client.get("/logout")
    assert client.get("/api/v1/people", headers=auth(secret)).status_code == 401


def test_learner_cannot_open_the_key_pages(client, world, make_person):
    learner = make_person(world["a"])
    db.session.commit()
    login(client, learner.user)
    assert client.get("/api/keys").status_code == 403


def test_bulk_upsert_keeps_awkward_values_as_they_are(client, world):
    people = [
        {
            "employee_no": "合计",
            "name": "王|五; 六",
            "department": "三车间/焊接班",
            "post": "焊工, 二级",
            "roles": ["特种作业人员", "一线从业人员"],
        },
        {"employee_no": "备注:1", "name": "赵\t六", "phone": "138-0000-0003"},
    ]
    r = client.post("/api/v1/people/bulk", headers=auth(world["secret_a"]), json={"people": people})
    assert r.status_code == 200 and r.json["created"] == 2, r.json
    got = {
        p.employee_no: p
        for p in db.session.scalars(select(Person).where(Person.employee_no.in_(["合计", "备注:1"])))
    }
    assert got["合计"].name == "王|五; 六" and got["合计"].post.name == "焊工, 二级"
    assert sorted(x.name for x in got["合计"].roles) == ["一线从业人员", "特种作业人员"]
    assert got["备注:1"].name == "赵 六" and got["备注:1"].phone == "13800000003"


def test_archive_names_the_source_of_an_api_record(client, world):
    from lms.ledger.models import TrainingRecord
    from lms.ledger.sources import source_labels

    r = client.post(
        "/api/v1/records",
        headers=auth(world["secret_a"]),
        json={
            "external_id": "HR-77",
            "employee_no": "A003",
            "topic": "外部培训",
            "completed_at": "2026-11-01T10:00:00",
        },
    )
    rec = db.session.get(TrainingRecord, r.json["record"]["id"])
    assert "HR-77" in source_labels([rec])[rec.id]
    assert "api:" not in source_labels([rec])[rec.id]


def test_document_answers_400_with_errors_never_422(client):
    doc = client.get("/api/v1/openapi.json").json
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if path == "/api/v1/people/bulk":
                assert op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith(
                    "RosterResultOut"
                )
                continue
            assert "422" not in op["responses"], (path, method)
            assert op["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith(
                "ErrorOut"
            )


def test_key_page_is_in_the_managers_menu(client, world):
    login(client, world["manager"].user)
    html = client.get("/api/keys").get_data(as_text=True)
    assert 'href="/api/keys"' in html
