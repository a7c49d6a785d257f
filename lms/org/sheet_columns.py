"""The column headers that name a person in an uploaded sheet: one list for every import (roster, attendance …).

Each field lists its header names best first: when a sheet has two columns for one field (a 单位 column left of
部门), the better name wins (``lms.core.sheets.headers``). An importer adds its own fields beside these.
"""

from __future__ import annotations

PERSON_COLUMNS: dict[str, list[str]] = {
    "employee_no": [
        "工号",
        "员工编号",
        "员工号",
        "职工号",
        "人员编号",
        "编号",
        "Employee No",
        "Employee Number",
        "Employee ID",
        "EmpNo",
        "Emp No",
        "Staff No",
        "ID",
    ],
    "name": ["姓名", "员工姓名", "学员姓名", "Name", "Full name"],
    "department": [
        "部门",
        "所属部门",
        "Department",
        "Dept",
        "部门/班组",
        "车间/班组",
        "车间",
        "班组",
        "单位",
    ],
}
