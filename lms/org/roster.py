"""Roster import: a clerk's spreadsheet of people → departments, posts, people, roles, accounts.

Two steps, both through ``import_roster``: a dry run that reports every problem by row and field, and a
commit that writes everything or nothing, creating or updating people by employee number (importing the
same file twice changes nothing).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select

from lms.core.db import db
from lms.core.errors import ImportRefused
from lms.core.i18n import msg
from lms.core.sheets import normalize_employee_no, normalize_text, parse_date, read_table
from lms.org.models import PERSON_ACTIVE, PERSON_LEFT, Enterprise, Person, PersonEvent, PersonRole, User
from lms.org.services import UNUSABLE_PASSWORD, ensure_department, ensure_post, person_username, roles_by_name

FIELDS: dict[str, list[str]] = {
    "employee_no": [
        "工号",
        "员工编号",
        "员工号",
        "职工号",
        "编号",
        "Employee No",
        "Employee Number",
        "Employee ID",
        "EmpNo",
        "ID",
    ],
    "name": ["姓名", "员工姓名", "Name", "Full name"],
    "department": ["部门", "所属部门", "部门/班组", "车间/班组", "Department", "Dept"],
    "post": ["岗位", "职位", "工种", "Post", "Position", "Job"],
    "roles": [
        "安全责任角色",
        "安全生产责任角色",
        "责任角色",
        "角色",
        "Roles",
        "Role",
        "Responsibility roles",
    ],
    "hire_date": ["入职日期", "入职时间", "Hire date", "Hired", "Date hired"],
    "phone": ["手机号", "手机", "手机号码", "联系电话", "电话", "Phone", "Mobile"],
    "status": ["状态", "在职状态", "Status"],
}
REQUIRED = ("employee_no", "name")
ROLE_SPLIT = re.compile(r"[、，,;；/|\s]+")
STATUS_WORDS = {
    "在职": PERSON_ACTIVE,
    "active": PERSON_ACTIVE,
    "离职": PERSON_LEFT,
    "left": PERSON_LEFT,
    "已离职": PERSON_LEFT,
    "": PERSON_ACTIVE,
}
PHONE_RE = re.compile(r"^\+?\d{5,15}$")


@dataclass
class RosterResult:
    """What an import did or would do. ``errors`` rows are the spreadsheet's own row numbers."""

    filename: str
    dry_run: bool
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    departments_created: list[str] = field(default_factory=list)
    posts_created: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)  # per-row action for the preview
    committed: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.filename,
            "dry_run": self.dry_run,
            "committed": self.committed,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors,
            "departments_created": self.departments_created,
            "posts_created": self.posts_created,
        }


@dataclass
class _Row:
    row: int
    employee_no: str
    name: str
    department: str
    post: str
    roles: list[str]
    hire_date: dt.date | None
    phone: str | None
    status: str
    has: set[str]


def _parse_rows(table: Any, role_names: set[str], result: RosterResult) -> list[_Row]:
    parsed: list[_Row] = []
    seen: dict[str, int] = {}
    for r in table.rows:
        v = r.values
        errs: list[tuple[str, str]] = []
        emp = normalize_employee_no(v.get("employee_no", ""))
        name = normalize_text(v.get("name", ""))
        if not emp:
            errs.append(("employee_no", msg("employee number is empty")))
        elif len(emp) > 64:
            errs.append(("employee_no", msg("employee number is longer than 64 characters")))
        elif emp in seen:
            errs.append(
                (
                    "employee_no",
                    msg("employee number %(number)s also appears on row %(row)s", number=emp, row=seen[emp]),
                )
            )
        if not name:
            errs.append(("name", msg("name is empty")))
        roles = [x for x in ROLE_SPLIT.split(normalize_text(v.get("roles", ""))) if x]
        for role in roles:
            if role not in role_names:
                errs.append(
                    (
                        "roles",
                        msg(
                            "unknown role %(role)s (known: %(known)s)",
                            role=repr(role),
                            known="、".join(sorted(role_names)),
                        ),
                    )
                )
        hire: dt.date | None = None
        try:
            hire = parse_date(v.get("hire_date", ""))
        except ValueError as exc:
            errs.append(
                (
                    "hire_date",
                    msg(
                        "not a date: %(value)s (%(reason)s)", value=repr(v.get("hire_date")), reason=str(exc)
                    ),
                )
            )
        phone = re.sub(r"[\s-]", "", normalize_text(v.get("phone", ""))) or None
        if phone and phone.endswith(".0"):
            phone = phone[:-2]
        if phone and not PHONE_RE.match(phone):
            errs.append(("phone", msg("not a phone number: %(value)s", value=repr(v.get("phone")))))
        status_word = normalize_text(v.get("status", "")).lower()
        status = STATUS_WORDS.get(status_word)
        if status is None:
            errs.append(
                ("status", msg("status must be 在职 or 离职, not %(value)s", value=repr(v.get("status"))))
            )
        for f, m in errs:
            result.errors.append({"row": r.row, "field": f, "message": m})
        if emp and emp not in seen:
            seen[emp] = r.row
        if not errs:
            parsed.append(
                _Row(
                    r.row,
                    emp,
                    name,
                    normalize_text(v.get("department", "")),
                    normalize_text(v.get("post", "")),
                    roles,
                    hire,
                    phone,
                    status or PERSON_ACTIVE,
                    set(table.columns),
                )
            )
    return parsed


def import_roster(
    enterprise: Enterprise,
    source: str | Path | bytes | BinaryIO,
    filename: str,
    *,
    dry_run: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
) -> RosterResult:
    """Check a roster file and, unless ``dry_run`` or any row is wrong, apply it (all or nothing)."""
    result = RosterResult(filename=filename, dry_run=dry_run)
    try:
        table = read_table(source, filename, FIELDS, REQUIRED)
    except ImportRefused as exc:
        result.errors.append({"row": None, "field": None, "message": exc.message})
        return result
    roles = roles_by_name(enterprise.id)
    rows = _parse_rows(table, set(roles), result)
    session = db.session
    people = {
        p.employee_no: p for p in session.scalars(select(Person).where(Person.enterprise_id == enterprise.id))
    }
    held: dict[int, set[int]] = {}
    for pid, rid in session.execute(
        select(PersonRole.person_id, PersonRole.role_id)
        .join(Person, Person.id == PersonRole.person_id)
        .where(Person.enterprise_id == enterprise.id)
    ):
        held.setdefault(pid, set()).add(rid)
    from lms.org.models import Department, Post  # local: keeps the module's import list about the flow

    depts = {
        d.path: d
        for d in session.scalars(select(Department).where(Department.enterprise_id == enterprise.id))
    }
    posts = {p.name: p for p in session.scalars(select(Post).where(Post.enterprise_id == enterprise.id))}
    for r in rows:
        if r.department:
            from lms.org.services import split_path

            path = "/".join(split_path(r.department))
            if path not in depts and path not in result.departments_created:
                result.departments_created.append(path)
        if r.post and r.post not in posts and r.post not in result.posts_created:
            result.posts_created.append(r.post)
    # Classify each row before writing anything so the dry run and the commit report the same figures.
    plan: list[tuple[_Row, str]] = []
    for r in rows:
        person = people.get(r.employee_no)
        if person is None:
            plan.append((r, "create"))
            continue
        dept = depts.get("/".join(_split(r.department))) if r.department else None
        post = posts.get(r.post) if r.post else None
        same = (
            person.name == r.name
            and (
                "department" not in r.has
                or (person.department_id == (dept.id if dept else None) and (dept or not r.department))
            )
            and (
                "post" not in r.has
                or (person.post_id == (post.id if post else None) and (post or not r.post))
            )
            and ("hire_date" not in r.has or person.hire_date == r.hire_date)
            and ("phone" not in r.has or person.phone == r.phone)
            and ("status" not in r.has or person.status == r.status)
            and ("roles" not in r.has or held.get(person.id, set()) == {roles[x].id for x in r.roles})
        )
        plan.append((r, "unchanged" if same else "update"))
    for r, action in plan:
        setattr(
            result,
            {"create": "created", "update": "updated", "unchanged": "unchanged"}[action],
            getattr(result, {"create": "created", "update": "updated", "unchanged": "unchanged"}[action]) + 1,
        )
        result.rows.append(
            {
                "row": r.row,
                "employee_no": r.employee_no,
                "name": r.name,
                "department": r.department,
                "post": r.post,
                "roles": r.roles,
                "action": action,
            }
        )
    if dry_run or result.errors:
        return result
    _apply(enterprise, plan, people, held, roles, depts, posts, on_progress)
    result.committed = True
    return result


def _split(path: str) -> list[str]:
    from lms.org.services import split_path

    return split_path(path)


def _apply(
    enterprise: Enterprise,
    plan: list[tuple[_Row, str]],
    people: dict[str, Person],
    held: dict[int, set[int]],
    roles: dict[str, Any],
    depts: dict[str, Any],
    posts: dict[str, Any],
    on_progress: Callable[[int, int], None] | None,
) -> None:
    session = db.session
    today = dt.date.today()
    users = {
        u.person_id: u
        for u in session.scalars(
            select(User).where(User.enterprise_id == enterprise.id, User.person_id.is_not(None))
        )
    }
    total = len(plan)
    new_people: list[tuple[Person, _Row]] = []
    for i, (r, action) in enumerate(plan, 1):
        if action == "unchanged":
            continue
        dept = ensure_department(enterprise.id, r.department, depts) if r.department else None
        post = ensure_post(enterprise.id, r.post, dept, posts) if r.post else None
        if action == "create":
            person = Person(
                enterprise_id=enterprise.id,
                employee_no=r.employee_no,
                name=r.name,
                phone=r.phone,
                hire_date=r.hire_date,
                department_id=dept.id if dept else None,
                post_id=post.id if post else None,
                status=r.status,
                left_on=today if r.status == PERSON_LEFT else None,
            )
            session.add(person)
            new_people.append((person, r))
        else:
            person = people[r.employee_no]
            person.name = r.name
            if "department" in r.has and person.department_id != (dept.id if dept else None):
                session.add(
                    PersonEvent(
                        person_id=person.id,
                        kind="department",
                        on=today,
                        detail={"from": person.department_id, "to": dept.id if dept else None},
                    )
                )
                person.department_id = dept.id if dept else None
            if "post" in r.has and person.post_id != (post.id if post else None):
                session.add(
                    PersonEvent(
                        person_id=person.id,
                        kind="post",
                        on=today,
                        detail={"from": person.post_id, "to": post.id if post else None},
                    )
                )
                person.post_id = post.id if post else None
            if "hire_date" in r.has:
                person.hire_date = r.hire_date
            if "phone" in r.has:
                person.phone = r.phone
            if "status" in r.has and person.status != r.status:
                from lms.org.services import set_status

                set_status(person, r.status, on=today)
            if "roles" in r.has:
                _sync_roles(person, r, held.get(person.id, set()), roles, today)
            user = users.get(person.id)
            if user is not None and user.display_name != r.name:
                user.display_name = r.name
        if on_progress and (i % 500 == 0 or i == total):
            on_progress(i, total)
    session.flush()  # ids for the new people
    for person, r in new_people:
        hired_on = r.hire_date or today
        session.add(PersonEvent(person_id=person.id, kind="hired", on=hired_on))
        for role_name in dict.fromkeys(r.roles):
            session.add(PersonRole(person_id=person.id, role_id=roles[role_name].id, since=hired_on))
        session.add(
            User(
                username=person_username(enterprise, person.employee_no),
                password_hash=UNUSABLE_PASSWORD,
                display_name=person.name,
                app_role="learner",
                enterprise_id=enterprise.id,
                person_id=person.id,
                must_change_password=True,
                is_enabled=person.status == PERSON_ACTIVE,
            )
        )
    session.flush()
    if on_progress:
        on_progress(total, total)


def _sync_roles(person: Person, r: _Row, current: set[int], roles: dict[str, Any], today: dt.date) -> None:
    wanted = {roles[x].id for x in r.roles}
    session = db.session
    for rid in current - wanted:
        session.execute(
            PersonRole.__table__.delete().where(PersonRole.person_id == person.id, PersonRole.role_id == rid)
        )
        session.add(PersonEvent(person_id=person.id, kind="role_removed", on=today, detail={"role_id": rid}))
    for rid in wanted - current:
        session.add(PersonRole(person_id=person.id, role_id=rid, since=today))
        session.add(PersonEvent(person_id=person.id, kind="role_added", on=today, detail={"role_id": rid}))
