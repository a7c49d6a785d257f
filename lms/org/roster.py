"""Roster import: a clerk's spreadsheet of people → departments, posts, people, roles, accounts.

Two steps, both through ``import_roster``: a dry run that reports every problem by row and field, and a
commit that writes everything or nothing, creating or updating people by employee number (importing the
same file twice changes nothing).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import bindparam, select, text

from lms.core.db import db, utcnow
from lms.core.errors import ImportRefused
from lms.core.i18n import msg
from lms.core.sheets.tables import read_table
from lms.core.sheets.values import normalize_employee_no, normalize_text, parse_date
from lms.org.models import (
    PERSON_ACTIVE,
    PERSON_LEFT,
    Department,
    Enterprise,
    Person,
    PersonEvent,
    PersonRole,
    Post,
    User,
)
from lms.org.services import (
    UNUSABLE_PASSWORD,
    ensure_department,
    ensure_post,
    person_username,
    roles_by_name,
    set_leave,
    set_status,
    split_path,
)
from lms.org.sheet_columns import PERSON_COLUMNS
from lms.org.timezone import enterprise_today

FIELDS: dict[str, list[str]] = {
    **PERSON_COLUMNS,
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
    # 离岗 / 返岗 (still employed, away from the post): back after more than a year repeats workshop and team
    # education (《生产经营单位安全培训规定》第十七条).
    "away_from": ["离岗日期", "离岗时间", "Leave from", "Away from"],
    "returned_on": ["返岗日期", "返岗时间", "重新上岗日期", "Back on", "Returned on"],
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
PHONE_DROP = re.compile(r"[\s-]")
CHUNK_ROWS = 1_000  # rows written per flush / executemany
PREVIEW_ROWS = 1_000  # rows kept in RosterResult.rows (the preview page shows 500)


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
    rows: list[dict[str, Any]] = field(default_factory=list)  # per-row action, the first PREVIEW_ROWS rows
    committed: bool = False
    refused: bool = False  # the file could not be read at all (not a roster, a hostile sheet)

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


@dataclass(slots=True)
class _Row:
    """One valid row of the sheet; slots keep 100,000 of them small (the dedicated fields only)."""

    row: int
    employee_no: str
    name: str
    department: str
    post: str
    roles: tuple[str, ...]
    hire_date: dt.date | None
    phone: str | None
    status: str
    has: frozenset[str]  # the sheet's columns: one set shared by every row
    action: str = ""  # create / update / unchanged, once classified
    away_from: dt.date | None = None
    returned_on: dt.date | None = None


def _parse_rows(table: Any, role_names: set[str], result: RosterResult) -> Iterator[_Row]:
    """Yield the valid rows as the sheet is read; record the problems of the others in ``result.errors``."""
    seen: dict[str, int] = {}
    has = frozenset(table.columns)
    shared: dict[str, str] = {}  # department, post: a few distinct texts repeated on every row
    role_lists: dict[str, tuple[str, ...]] = {}
    dates: dict[str, dt.date | None] = {}  # parse_date depends on the text only
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
        roles_text = v.get("roles", "")
        roles = role_lists.get(roles_text)
        if roles is None:
            roles = role_lists[roles_text] = tuple(
                x for x in ROLE_SPLIT.split(normalize_text(roles_text)) if x
            )
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
        hire_text = v.get("hire_date", "")
        if hire_text in dates:
            hire = dates[hire_text]
        else:
            try:
                hire = dates[hire_text] = parse_date(hire_text)
            except ValueError as exc:
                errs.append(
                    (
                        "hire_date",
                        msg(
                            "not a date: %(value)s (%(reason)s)",
                            value=repr(v.get("hire_date")),
                            reason=str(exc),
                        ),
                    )
                )
        leave: dict[str, dt.date | None] = {}
        for key in ("away_from", "returned_on"):
            text = v.get(key, "")
            if text in dates:
                leave[key] = dates[text]
                continue
            try:
                leave[key] = dates[text] = parse_date(text)
            except ValueError as exc:
                errs.append(
                    (key, msg("not a date: %(value)s (%(reason)s)", value=repr(text), reason=str(exc)))
                )
        if leave.get("returned_on") and not leave.get("away_from"):
            errs.append(("returned_on", msg("a return date needs the leave date before it")))
        elif (
            leave.get("returned_on") and leave.get("away_from") and leave["returned_on"] < leave["away_from"]
        ):
            errs.append(("returned_on", msg("the return date is before the leave date")))
        phone = PHONE_DROP.sub("", normalize_text(v.get("phone", ""))) or None
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
            department = normalize_text(v.get("department", ""))
            post = normalize_text(v.get("post", ""))
            yield _Row(
                r.row,
                emp,
                name,
                shared.setdefault(department, department),
                shared.setdefault(post, post),
                roles,
                hire,
                phone,
                status or PERSON_ACTIVE,
                has,
                away_from=leave.get("away_from"),
                returned_on=leave.get("returned_on"),
            )


def import_roster(
    enterprise: Enterprise,
    source: str | Path | bytes | BinaryIO,
    filename: str,
    *,
    dry_run: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
) -> RosterResult:
    """Check a roster file and, unless ``dry_run`` or any row is wrong, apply it (all or nothing).

    The sheet is read as a stream and every row checked and classified before anything is written; only
    the rows to create or update are kept (compactly) for the commit, which writes them in chunks of
    ``CHUNK_ROWS``. ``result.rows`` previews the first ``PREVIEW_ROWS`` rows; the counts cover them all.
    """
    result = RosterResult(filename=filename, dry_run=dry_run)
    try:
        table = read_table(source, filename, FIELDS, REQUIRED)
    except ImportRefused as exc:
        result.errors.append({"row": None, "field": None, "message": exc.message})
        result.refused = True
        return result
    roles = roles_by_name(enterprise.id)
    session = db.session
    # What the classification compares, as plain rows (no ORM objects: a re-import of 100,000 people).
    people = {
        p.employee_no: p
        for p in session.execute(
            select(
                Person.id,
                Person.employee_no,
                Person.name,
                Person.department_id,
                Person.post_id,
                Person.hire_date,
                Person.phone,
                Person.status,
                Person.away_from,
                Person.returned_on,
            ).where(Person.enterprise_id == enterprise.id)
        )
    }
    held_lists: dict[int, list[int]] = {}
    for pid, rid in session.execute(
        select(PersonRole.person_id, PersonRole.role_id)
        .join(Person, Person.id == PersonRole.person_id)
        .where(Person.enterprise_id == enterprise.id)
    ):
        held_lists.setdefault(pid, []).append(rid)
    same_sets: dict[frozenset[int], frozenset[int]] = {}  # most people hold one of a few role sets
    held: dict[int, frozenset[int]] = {}
    for pid, rids in held_lists.items():
        key = frozenset(rids)
        held[pid] = same_sets.setdefault(key, key)
    del held_lists
    depts = {
        d.path: d
        for d in session.scalars(select(Department).where(Department.enterprise_id == enterprise.id))
    }
    posts = {p.name: p for p in session.scalars(select(Post).where(Post.enterprise_id == enterprise.id))}
    paths: dict[str, str] = {}  # department text -> normalised path
    new_depts: set[str] = set()
    new_posts: set[str] = set()
    wanted_roles: dict[tuple[str, ...], frozenset[int]] = {}
    to_apply: list[_Row] = []  # the rows a commit writes (none once a row is wrong)
    counts = {"create": 0, "update": 0, "unchanged": 0}
    for r in _parse_rows(table, set(roles), result):
        path = ""
        if r.department:
            path = paths.get(r.department)
            if path is None:
                path = paths[r.department] = "/".join(split_path(r.department))
            if path not in depts and path not in new_depts:
                new_depts.add(path)
                result.departments_created.append(path)
        if r.post and r.post not in posts and r.post not in new_posts:
            new_posts.add(r.post)
            result.posts_created.append(r.post)
        # Classify each row before writing anything so the dry run and the commit report the same figures.
        person = people.get(r.employee_no)
        if person is None:
            action = "create"
        else:
            dept = depts.get(path) if r.department else None
            post = posts.get(r.post) if r.post else None
            wanted = wanted_roles.get(r.roles)
            if wanted is None:
                wanted = wanted_roles[r.roles] = frozenset(roles[x].id for x in r.roles)
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
                and ("away_from" not in r.has or person.away_from == r.away_from)
                and ("returned_on" not in r.has or person.returned_on == r.returned_on)
                and ("roles" not in r.has or held.get(person.id, frozenset()) == wanted)
            )
            action = "unchanged" if same else "update"
        r.action = action
        counts[action] += 1
        if len(result.rows) < PREVIEW_ROWS:
            result.rows.append(
                {
                    "row": r.row,
                    "employee_no": r.employee_no,
                    "name": r.name,
                    "department": r.department,
                    "post": r.post,
                    "roles": list(r.roles),
                    "action": action,
                }
            )
        if result.errors:
            to_apply.clear()  # nothing will be written: keep nothing
        elif not dry_run and action != "unchanged":
            to_apply.append(r)
    result.created, result.updated, result.unchanged = counts["create"], counts["update"], counts["unchanged"]
    if dry_run or result.errors:
        return result
    _apply(enterprise, to_apply, people, held, roles, depts, posts, on_progress, sum(counts.values()))
    result.committed = True
    return result


def _apply(
    enterprise: Enterprise,
    rows: list[_Row],
    people: dict[str, Any],
    held: dict[int, frozenset[int]],
    roles: dict[str, Any],
    depts: dict[str, Any],
    posts: dict[str, Any],
    on_progress: Callable[[int, int], None] | None,
    total: int,
) -> None:
    """Write the rows to create or update, ``CHUNK_ROWS`` at a time, in the caller's transaction.

    Per chunk: the people to update are loaded and changed through the ORM as before (history events, roles,
    status through ``set_status``); the new people, their ``hired`` events, roles and accounts go in as one
    executemany INSERT per table (no ORM objects). Nothing of a chunk is kept after it, so memory does not
    grow with the sheet.
    """
    session = db.session
    today = enterprise_today(enterprise.id)
    done = total - len(rows)  # the unchanged rows
    by_text: dict[str, Any] = {}  # department text -> Department
    for start in range(0, len(rows), CHUNK_ROWS):
        chunk = rows[start : start + CHUNK_ROWS]
        _apply_chunk(enterprise, chunk, people, held, roles, depts, posts, today, by_text)
        done += len(chunk)
        if on_progress:
            on_progress(done, total)
        rows[start : start + CHUNK_ROWS] = [None] * len(chunk)  # type: ignore[list-item]  # release the rows
    session.flush()
    if on_progress:
        on_progress(total, total)


def _apply_chunk(
    enterprise: Enterprise,
    chunk: list[_Row],
    people: dict[str, Any],
    held: dict[int, frozenset[int]],
    roles: dict[str, Any],
    depts: dict[str, Any],
    posts: dict[str, Any],
    today: dt.date,
    by_text: dict[str, Any],
) -> None:
    session = db.session
    now = utcnow()  # the created_at / recorded_at of the chunk's new rows
    update_ids = [people[r.employee_no].id for r in chunk if r.action == "update"]
    persons: dict[int, Person] = {}
    users: dict[int | None, User] = {}
    if update_ids:
        persons = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(update_ids)))}
        users = {
            u.person_id: u
            for u in session.scalars(
                select(User).where(User.enterprise_id == enterprise.id, User.person_id.in_(update_ids))
            )
        }
    new_people: list[dict[str, Any]] = []
    new_rows: dict[str, _Row] = {}
    for r in chunk:
        dept = None
        if r.department:
            dept = by_text.get(r.department)  # the same text, the same department (split once per text)
            if dept is None:
                dept = by_text[r.department] = ensure_department(enterprise.id, r.department, depts)
        post = ensure_post(enterprise.id, r.post, dept, posts) if r.post else None
        if r.action == "create":
            new_people.append(
                {
                    "enterprise_id": enterprise.id,
                    "employee_no": r.employee_no,
                    "name": r.name,
                    "phone": r.phone,
                    "hire_date": r.hire_date,
                    "department_id": dept.id if dept else None,
                    "post_id": post.id if post else None,
                    "status": r.status,
                    "left_on": today if r.status == PERSON_LEFT else None,
                    "away_from": r.away_from,
                    "returned_on": r.returned_on,
                    "created_at": now,
                }
            )
            new_rows[r.employee_no] = r
            continue
        person = persons[people[r.employee_no].id]
        person.name = r.name
        for kind, target in (("department", dept), ("post", post)):  # a move, with its history
            attr, to = f"{kind}_id", target.id if target else None
            if kind in r.has and getattr(person, attr) != to:
                was = getattr(person, attr)
                session.add(
                    PersonEvent(person_id=person.id, kind=kind, on=today, detail={"from": was, "to": to})
                )
                setattr(person, attr, to)
        if "hire_date" in r.has:
            person.hire_date = r.hire_date
        if "phone" in r.has:
            person.phone = r.phone
        if "away_from" in r.has or "returned_on" in r.has:
            set_leave(
                person,
                r.away_from if "away_from" in r.has else person.away_from,
                r.returned_on if "returned_on" in r.has else person.returned_on,
            )
        if "status" in r.has and person.status != r.status:
            set_status(person, r.status, on=today)
        if "roles" in r.has:
            _sync_roles(person, r, held.get(person.id, frozenset()), roles, today)
        user = users.get(person.id)
        if user is not None and user.display_name != r.name:
            user.display_name = r.name
    session.flush()  # the updates
    if not new_people:
        return
    # The new people: one executemany INSERT per table, through the session (same transaction, and the
    # training listeners see the statements).
    person_table = Person.__table__
    if db.is_sqlite:
        returned = session.execute(
            person_table.insert().returning(person_table.c.employee_no, person_table.c.id), new_people
        )
        ids = {emp: pid for emp, pid in returned}
    else:
        # PostgreSQL: the ids drawn from the table's sequence first, then a plain (pipelined) executemany.
        # INSERT … RETURNING is sent as one multi-row VALUES whose thousands of placeholders psycopg parses
        # slowly, and reading the ids back by employee number leaves the plan to stale statistics.
        new_ids = session.scalars(
            text("SELECT nextval(pg_get_serial_sequence('person', 'id')) FROM generate_series(1, :n)"),
            {"n": len(new_people)},
        ).all()
        for values, pid in zip(new_people, new_ids, strict=True):
            values["id"] = pid
        session.execute(person_table.insert(), new_people)
        ids = {values["employee_no"]: values["id"] for values in new_people}
    events: list[dict[str, Any]] = []
    person_roles: list[dict[str, Any]] = []
    accounts: list[dict[str, Any]] = []
    for emp, r in new_rows.items():
        person_id = ids[emp]
        hired_on = r.hire_date or today
        events.append({"person_id": person_id, "kind": "hired", "on": hired_on, "recorded_at": now})
        for role_name in dict.fromkeys(r.roles):
            person_roles.append({"person_id": person_id, "role_id": roles[role_name].id, "since": hired_on})
        accounts.append(
            {
                "username": person_username(enterprise, emp),
                "password_hash": UNUSABLE_PASSWORD,
                "display_name": r.name,
                "app_role": "learner",
                "enterprise_id": enterprise.id,
                "person_id": person_id,
                "must_change_password": True,
                "is_enabled": r.status == PERSON_ACTIVE,
                "created_at": now,
            }
        )
    session.execute(PersonEvent.__table__.insert(), events)
    if person_roles:
        session.execute(PersonRole.__table__.insert(), person_roles)
    session.execute(User.__table__.insert(), accounts)


_REMOVE_ROLE = PersonRole.__table__.delete().where(
    PersonRole.person_id == bindparam("person_id"), PersonRole.role_id == bindparam("role_id")
)


def _sync_roles(
    person: Person, r: _Row, current: frozenset[int], roles: dict[str, Any], today: dt.date
) -> None:
    wanted = {roles[x].id for x in r.roles}
    session = db.session
    removed = sorted(current - wanted)
    if removed:
        # Rows that name the person: org's events (lms.org.events) then tell whose roles changed, not "anyone's".
        session.execute(_REMOVE_ROLE, [{"person_id": person.id, "role_id": rid} for rid in removed])
    for rid in removed:
        session.add(PersonEvent(person_id=person.id, kind="role_removed", on=today, detail={"role_id": rid}))
    for rid in wanted - current:
        session.add(PersonRole(person_id=person.id, role_id=rid, since=today))
        session.add(PersonEvent(person_id=person.id, kind="role_added", on=today, detail={"role_id": rid}))
