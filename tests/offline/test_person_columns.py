"""One list of the headers that name a person: the roster import and the attendance import read each of them,
and read it from the same column (issue 19: the two lists had drifted apart)."""

from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import select

from lms.core.db import db
from lms.core.sheets.tables import read_table
from lms.offline import attendance
from lms.org import roster
from lms.org.models import Person
from lms.org.sheet_columns import PERSON_COLUMNS

CANONICAL = {field: names[0] for field, names in PERSON_COLUMNS.items()}
VALUES = {"employee_no": "GA9001", "name": "周晓明", "department": "一车间/甲班"}
# Accepted by one import only before the lists became one ("Emp No" was written only in attendance's list, but
# reads as "EmpNo", which the roster had).
ONLY_ROSTER = {("employee_no", "ID")}
ONLY_ATTENDANCE = {
    ("employee_no", "人员编号"),
    ("employee_no", "Staff No"),
    ("name", "学员姓名"),
    ("department", "单位"),
    ("department", "班组"),
    ("department", "车间"),
}
EVERY_ALIAS = [(field, alias) for field, names in PERSON_COLUMNS.items() for alias in names]


def _sheet(headers: dict[str, str], extra_left: list[tuple[str, str]] = ()) -> bytes:
    """A sheet both imports can read: 序号, [extra columns], the person columns, 岗位, 签到时间."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["培训签到表"])  # a title row above the header, as real sheets have
    ws.append(
        ["序号", *(h for h, _v in extra_left), *(headers[f] for f in PERSON_COLUMNS), "岗位", "签到时间"]
    )
    ws.append([1, *(v for _h, v in extra_left), *(VALUES[f] for f in PERSON_COLUMNS), "操作工", "08:30"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_both_imports_use_the_one_list():
    for field, names in PERSON_COLUMNS.items():
        assert roster.FIELDS[field] is names and attendance.FIELDS[field] is names
    # Every alias either import accepted before is in the list, including those only one of them had.
    assert ONLY_ROSTER | ONLY_ATTENDANCE <= set(EVERY_ALIAS)


@pytest.mark.parametrize(("field", "alias"), EVERY_ALIAS, ids=[f"{f}:{a}" for f, a in EVERY_ALIAS])
def test_each_alias_reads_the_same_column_in_both_imports(field, alias):
    data = _sheet({**CANONICAL, field: alias})
    column = 1 + list(PERSON_COLUMNS).index(field)
    tables = {
        "roster": read_table(data, "sheet.xlsx", roster.FIELDS, roster.REQUIRED),
        "attendance": read_table(data, "sheet.xlsx", attendance.FIELDS, attendance.REQUIRED),
    }
    for which, table in tables.items():
        assert table.header_row == 2, which
        assert table.column_index[field] == column, which
        assert table.columns[field] == alias, which
        [row] = list(table.rows)
        assert {f: row.values[f] for f in PERSON_COLUMNS} == VALUES, which


def test_a_better_header_wins_over_one_to_its_left():
    """单位 (the company) left of 部门, 编号 left of 工号: the better name is read, in both imports."""
    data = _sheet(CANONICAL, extra_left=[("单位", "某化工有限公司"), ("ID", "7")])
    for fields, required in ((roster.FIELDS, roster.REQUIRED), (attendance.FIELDS, attendance.REQUIRED)):
        [row] = list(read_table(data, "sheet.xlsx", fields, required).rows)
        assert {f: row.values[f] for f in PERSON_COLUMNS} == VALUES


def test_roster_import_reads_headers_only_attendance_had(enterprise):
    headers = {"employee_no": "人员编号", "name": "学员姓名", "department": "单位"}
    result = roster.import_roster(enterprise, io.BytesIO(_sheet(headers)), "roster.xlsx", dry_run=True)
    assert not result.errors, result.errors
    [row] = result.rows
    assert (row["employee_no"], row["name"], row["department"], row["action"]) == (
        "GA9001",
        "周晓明",
        "一车间/甲班",
        "create",
    )


def test_attendance_import_reads_the_header_only_the_roster_had(roster_enterprise, make_session):
    person = db.session.scalar(
        select(Person)
        .where(Person.enterprise_id == roster_enterprise.id)
        .order_by(Person.employee_no)
        .limit(1)
    )
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["ID", "姓名", "签到时间"])
    ws.append([person.employee_no, person.name, "14:05"])
    buf = io.BytesIO()
    wb.save(buf)
    session = make_session(roster_enterprise)
    result = attendance.import_attendance(roster_enterprise, buf.getvalue(), "signin.xlsx", session=session)
    [line] = result.lines
    assert (line.employee_no, line.person_id, line.status) == (person.employee_no, person.id, "matched")
