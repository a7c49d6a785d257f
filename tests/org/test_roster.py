"""Roster import: the sample as it is, re-import without change, refusals by row and field."""

from __future__ import annotations

import io
import json
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from lms.core.db import db
from lms.org.models import Department, Person, PersonEvent, PersonRole, User
from lms.org.roster import import_roster

SAMPLE = Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "roster" / "employees.xlsx"
if not SAMPLE.exists():  # the repository's own copy of the same file
    SAMPLE = Path(__file__).resolve().parents[2] / "lms" / "demo_data" / "roster.xlsx"


def _xlsx(rows: list[list[object]], title: str | None = None) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    if title:
        ws.append([title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=4)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_sample_imports_then_reimports_to_no_change(enterprise):
    first = import_roster(enterprise, SAMPLE, SAMPLE.name, dry_run=False)
    assert first.errors == []
    assert first.committed and first.created == 120 and first.updated == 0
    people = db.session.scalars(select(Person).where(Person.enterprise_id == enterprise.id)).all()
    assert len(people) == 120
    dai = next(p for p in people if p.employee_no == "GA1001")
    assert dai.name == "戴伟" and dai.department.path == "安全环保部" and dai.post.name == "安全管理员"
    assert [r.name for r in dai.roles] == ["安全生产管理人员"]
    assert (
        db.session.scalar(select(func.count()).select_from(User).where(User.enterprise_id == enterprise.id))
        == 120
    )
    events, roles = _count(PersonEvent), _count(PersonRole)
    again = import_roster(enterprise, SAMPLE, SAMPLE.name, dry_run=False)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 120)
    assert _count(PersonEvent) == events and _count(PersonRole) == roles


def test_dry_run_writes_nothing(enterprise):
    result = import_roster(enterprise, SAMPLE, SAMPLE.name, dry_run=True)
    assert result.created == 120 and not result.committed
    assert (
        db.session.scalar(
            select(func.count()).select_from(Person).where(Person.enterprise_id == enterprise.id)
        )
        == 0
    )


def test_broken_roster_refused_with_rows_and_nothing_written(enterprise):
    data = _xlsx(
        [
            ["工号", "姓名", "部门", "岗位", "安全责任角色", "入职日期", "手机号"],
            ["１００１", "张三", "一车间/甲班", "操作工", "一线从业人员", "2024-01-02", "13800000001"],
            ["1002", "", "一车间/甲班", "操作工", "一线从业人员", "2024-01-02", "13800000002"],
            ["1001", "李四", "一车间/乙班", "操作工", "一线从业人员", "2024-01-02", "13800000003"],
            ["1003", "王五", "二车间", "焊工", "焊接大师", "2024-13-40", "abc"],
        ],
        title="2026年员工花名册",
    )
    result = import_roster(enterprise, io.BytesIO(data), "broken.xlsx", dry_run=False)
    assert not result.committed
    got = {(e["row"], e["field"]) for e in result.errors}
    # Rows as Excel shows them: title on 1, header on 2, data from 3.
    assert (4, "name") in got
    assert (5, "employee_no") in got  # full-width １００１ is 1001: a duplicate of row 3
    assert {(6, "roles"), (6, "hire_date"), (6, "phone")} <= got
    assert (
        db.session.scalar(
            select(func.count()).select_from(Person).where(Person.enterprise_id == enterprise.id)
        )
        == 0
    )
    assert (
        db.session.scalar(
            select(func.count()).select_from(Department).where(Department.enterprise_id == enterprise.id)
        )
        == 0
    )


def test_update_moves_person_and_keeps_history(enterprise):
    header = ["Employee No", "Name", "Department", "Post", "Roles", "Hire date", "Phone"]
    import_roster(
        enterprise,
        io.BytesIO(
            _xlsx(
                [
                    header,
                    [1001.0, "张三", "一车间/甲班", "操作工", "一线从业人员", "2024-01-02", "13800000001"],
                ]
            )
        ),
        "a.xlsx",
        dry_run=False,
    )
    result = import_roster(
        enterprise,
        io.BytesIO(
            _xlsx(
                [
                    header,
                    [
                        "1001",
                        "张三",
                        "二车间/乙班",
                        "班组长",
                        "班组长、一线从业人员",
                        "2024-01-02",
                        "13800000001",
                    ],
                ]
            )
        ),
        "b.xlsx",
        dry_run=False,
    )
    assert (result.created, result.updated) == (0, 1)
    p = db.session.scalar(
        select(Person).where(Person.enterprise_id == enterprise.id, Person.employee_no == "1001")
    )
    db.session.refresh(p)
    assert p.department.path == "二车间/乙班" and p.post.name == "班组长"
    assert sorted(r.name for r in p.roles) == ["一线从业人员", "班组长"]
    kinds = [e.kind for e in db.session.scalars(select(PersonEvent).where(PersonEvent.person_id == p.id))]
    assert {"hired", "department", "post", "role_added"} <= set(kinds)


def test_not_a_spreadsheet_is_refused(enterprise):
    result = import_roster(enterprise, io.BytesIO(b"%PDF-1.4 not a sheet"), "roster.xlsx", dry_run=False)
    assert not result.committed and "roster.xlsx" in result.errors[0]["message"]


def test_cli_json_and_exit_codes(app, enterprise, tmp_path):
    db.session.commit()  # the command rolls back its own work; keep the fixture (the test's outer transaction still ends it)
    runner = app.test_cli_runner()
    ok = runner.invoke(
        args=["import-roster", str(SAMPLE), "--enterprise", enterprise.code, "--dry-run", "--json"]
    )
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.output)
    assert data["created"] == 120 and data["errors"] == [] and data["dry_run"] is True
    bad = tmp_path / "bad.csv"
    bad.write_text("工号,姓名\n,无工号\n", encoding="utf-8")
    refused = runner.invoke(args=["import-roster", str(bad), "--enterprise", enterprise.code, "--json"])
    assert refused.exit_code == 1
    body = json.loads(refused.output)
    assert body["errors"] == [{"row": 2, "field": "employee_no", "message": "employee number is empty"}]


def test_gbk_csv_roster(enterprise):
    text = "员工花名册\n工号,姓名,部门,岗位,安全责任角色,入职日期,手机号\n2001,赵六,三车间,焊工,特种作业人员,2023/5/6,13900000000\n"
    result = import_roster(enterprise, io.BytesIO(text.encode("gb18030")), "gbk.csv", dry_run=False)
    assert result.errors == [] and result.created == 1


@pytest.mark.parametrize("policy", ["random", "phone6"])
def test_first_passwords_follow_policy(make_enterprise, policy):
    from werkzeug.security import check_password_hash

    from lms.org.services import issue_first_passwords

    ent = make_enterprise(password_policy=policy)
    import_roster(ent, SAMPLE, SAMPLE.name, dry_run=False)
    people = db.session.scalars(
        select(Person).where(Person.enterprise_id == ent.id).order_by(Person.employee_no).limit(2)
    ).all()
    issued = issue_first_passwords(ent, people)
    assert len(issued) == 2
    for item in issued:
        user = db.session.scalar(select(User).where(User.person_id == item.person.id))
        assert user.must_change_password and user.password_hash.startswith("scrypt:")
        assert check_password_hash(user.password_hash, item.password)
        if policy == "phone6":
            assert item.password == item.person.phone[-6:]
    assert issue_first_passwords(ent, people) == []  # only once
