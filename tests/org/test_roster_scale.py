"""Roster import at scale: streamed sheets, chunked writes, still all or nothing and the same result.

The import checks every row before it writes anything, then writes in chunks of ``roster.CHUNK_ROWS``; these
tests make the chunks small so that a sheet of a few thousand rows spans many of them, and stream the sheet
(``STREAMING_THRESHOLD`` at 0) as a big upload is streamed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from sqlalchemy import func, select

from lms.core.db import db
from lms.core.sheets import readers
from lms.core.timeutil import today as local_today  # the enterprise's calendar day (Asia/Shanghai)
from lms.org import roster
from lms.org.models import Department, Person, PersonEvent, PersonRole, Post, ResponsibilityRole, User
from lms.org.roster import import_roster

HEADER = ["工号", "姓名", "部门", "岗位", "安全责任角色", "入职日期", "手机号", "状态"]
DEPTS = ["一车间/甲班", "一车间/乙班", "二车间", "设备动力部/电工班/一组", "安全环保部"]
POSTS = [
    ("操作工", "一线从业人员"),
    ("班组长", "班组长、一线从业人员"),
    ("焊工", "特种作业人员"),
    ("仓管员", ""),
]
NAMES = "王伟 李娜 张敏 刘强 陈静 杨洋 赵磊 黄艳 周杰 吴娟".split()


def _row(i: int, *, moved: bool = False) -> list[str]:
    post, roles = POSTS[i % len(POSTS)]
    dept = DEPTS[(i + (2 if moved and i % 3 == 0 else 0)) % len(DEPTS)]
    if moved and i % 5 == 0:
        roles = "特种设备作业人员" if roles else "一线从业人员"
    hired = "" if i % 13 == 0 else (dt.date(2012, 1, 1) + dt.timedelta(days=i)).isoformat()
    if i % 17 == 0 and hired:
        hired = hired.replace("-", "/")
    name = NAMES[i % len(NAMES)] + ("新" if moved and i % 11 == 0 else "")
    status = "离职" if (i % 29 == 0) != (moved and i % 7 == 0) else "在职"
    return [f"S{i:05d}", name, dept, post, roles, hired, "" if i % 19 == 0 else f"139{i:08d}", status]


def _csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


@pytest.fixture
def streamed(monkeypatch):
    monkeypatch.setattr(readers, "STREAMING_THRESHOLD", 0)  # stream every sheet, as a big upload is


def _counts(ent) -> dict[str, int]:
    of_ent = select(Person.id).where(Person.enterprise_id == ent.id)
    s = db.session
    return {
        "person": s.scalar(select(func.count()).select_from(Person).where(Person.enterprise_id == ent.id)),
        "user": s.scalar(select(func.count()).select_from(User).where(User.enterprise_id == ent.id)),
        "event": s.scalar(
            select(func.count()).select_from(PersonEvent).where(PersonEvent.person_id.in_(of_ent))
        ),
        "role": s.scalar(
            select(func.count()).select_from(PersonRole).where(PersonRole.person_id.in_(of_ent))
        ),
        "department": s.scalar(
            select(func.count()).select_from(Department).where(Department.enterprise_id == ent.id)
        ),
        "post": s.scalar(select(func.count()).select_from(Post).where(Post.enterprise_id == ent.id)),
    }


def _state(ent) -> dict[str, list[tuple]]:
    """Everything the import wrote for ``ent``, with ids replaced by names so enterprises compare."""
    s = db.session
    dept = dict(
        s.execute(select(Department.id, Department.path).where(Department.enterprise_id == ent.id)).all()
    )
    post = dict(s.execute(select(Post.id, Post.name).where(Post.enterprise_id == ent.id)).all())
    role = dict(
        s.execute(
            select(ResponsibilityRole.id, ResponsibilityRole.name).where(
                ResponsibilityRole.enterprise_id == ent.id
            )
        ).all()
    )
    people = {p.id: p for p in s.execute(select(Person).where(Person.enterprise_id == ent.id)).scalars()}
    emp = {pid: p.employee_no for pid, p in people.items()}

    def detail(kind: str, value) -> str:
        value = dict(value or {})
        names = {"department": dept, "post": post}.get(kind)
        for key in ("from", "to"):
            if names is not None and key in value:
                value[key] = names.get(value[key])
        if "role_id" in value:
            value["role_id"] = role[value["role_id"]]
        return json.dumps(value, ensure_ascii=False, sort_keys=True)

    code = ent.code.lower() + "-"
    return {
        "people": sorted(
            (
                p.employee_no,
                p.name,
                p.phone,
                p.hire_date,
                dept.get(p.department_id),
                post.get(p.post_id),
                p.status,
                p.left_on,
            )
            for p in people.values()
        ),
        "events": sorted(
            (emp[e.person_id], e.kind, e.on, detail(e.kind, e.detail))
            for e in s.scalars(select(PersonEvent).where(PersonEvent.person_id.in_(list(people))))
        ),
        "roles": sorted(
            (emp[r.person_id], role[r.role_id], r.since)
            for r in s.scalars(select(PersonRole).where(PersonRole.person_id.in_(list(people))))
        ),
        "users": sorted(
            (
                u.username.removeprefix(code),
                emp[u.person_id],
                u.display_name,
                u.app_role,
                u.is_enabled,
                u.must_change_password,
                u.password_hash,
            )
            for u in s.scalars(select(User).where(User.enterprise_id == ent.id))
        ),
    }


def test_late_bad_row_writes_nothing(enterprise, streamed, monkeypatch):
    monkeypatch.setattr(roster, "CHUNK_ROWS", 250)
    rows = [_row(i) for i in range(1, 3001)]
    rows[2990][5] = "2024-13-40"  # sheet row 2992 (header on 1)
    rows[2995][0] = "S00007"  # sheet row 2997: a duplicate of row 8
    result = import_roster(enterprise, io.BytesIO(_csv(rows)), "late.csv", dry_run=False)
    assert not result.committed
    assert [(e["row"], e["field"]) for e in result.errors] == [(2992, "hire_date"), (2997, "employee_no")]
    assert str(result.errors[1]["message"]) == "employee number S00007 also appears on row 8"
    assert "'2024-13-40'" in str(result.errors[0]["message"])
    assert (result.created, result.updated, result.unchanged) == (2998, 0, 0)  # the figures still cover all
    assert _counts(enterprise) == dict.fromkeys(("person", "user", "event", "role", "department", "post"), 0)


def test_chunked_import_writes_what_the_sheet_says(make_enterprise, streamed, monkeypatch):
    n = 2500
    monkeypatch.setattr(roster, "CHUNK_ROWS", 300)
    ent = make_enterprise()
    rows = [_row(i) for i in range(1, n + 1)]
    result = import_roster(ent, io.BytesIO(_csv(rows)), "r.csv", dry_run=False)
    assert result.errors == [] and result.committed
    assert (result.created, result.updated, result.unchanged) == (n, 0, 0)
    assert len(result.rows) == roster.PREVIEW_ROWS and result.rows[0]["employee_no"] == "S00001"
    today = local_today()
    state = _state(ent)
    expected_people, expected_events, expected_roles, expected_users = [], [], [], []
    for emp, name, dept, post, roles, hired, phone, status in rows:
        hire = dt.date.fromisoformat(hired.replace("/", "-")) if hired else None
        left = status == "离职"
        expected_people.append(
            (
                emp,
                name,
                phone or None,
                hire,
                dept,
                post,
                "left" if left else "active",
                today if left else None,
            )
        )
        expected_events.append((emp, "hired", hire or today, "{}"))
        expected_roles += [(emp, r, hire or today) for r in roles.split("、") if r]
        expected_users.append((emp.lower(), emp, name, "learner", not left, True, "!"))
    assert state == {
        "people": sorted(expected_people),
        "events": sorted(expected_events),
        "roles": sorted(expected_roles),
        "users": sorted(expected_users),
    }
    assert result.departments_created == DEPTS[1:] + DEPTS[:1]  # in the order the sheet names them
    assert _counts(ent)["department"] == 8 and _counts(ent)["post"] == len(POSTS)


def test_chunk_size_does_not_change_the_result(make_enterprise, streamed, monkeypatch):
    """Small chunks (many flushes and executemany statements) and one chunk give the same database."""
    first = [_row(i) for i in range(1, 1001)]
    changed = [_row(i, moved=True) for i in range(1, 1001)] + [_row(i) for i in range(1001, 1101)]
    results = {}
    for chunk in (40, 10**9):
        monkeypatch.setattr(roster, "CHUNK_ROWS", chunk)
        ent = make_enterprise()
        import_roster(ent, io.BytesIO(_csv(first)), "a.csv", dry_run=False)
        seen: list[int] = []

        def progress(done: int, total: int, seen: list[int] = seen) -> None:
            # No more ORM people in the session than one chunk holds (the old import held them all).
            seen.append(sum(isinstance(obj, Person) for obj in db.session.identity_map.values()))
            assert 0 < done <= total == 1100

        second = import_roster(ent, io.BytesIO(_csv(changed)), "b.csv", dry_run=False, on_progress=progress)
        assert second.errors == [] and second.committed
        again = import_roster(ent, io.BytesIO(_csv(changed)), "b.csv", dry_run=False)
        assert (again.created, again.updated, again.unchanged) == (0, 0, 1100)
        results[chunk] = (
            (second.created, second.updated, second.unchanged),
            second.departments_created,
            _state(ent),
        )
        if chunk == 40:
            assert len(seen) > 10 and max(seen) <= 40
    small, whole = results[40], results[10**9]
    updated = sum(_row(i, moved=True) != _row(i) for i in range(1, 1001))
    assert small[0] == whole[0] == (100, updated, 1000 - updated)
    assert small[1] == whole[1]
    assert small[2] == whole[2]
    kinds = {e[1] for e in small[2]["events"]}
    assert {"hired", "department", "role_added", "role_removed", "left", "returned"} <= kinds
    assert len(small[2]["people"]) == 1100


def test_dry_run_preview_is_capped_but_counts_everything(enterprise, streamed, monkeypatch):
    monkeypatch.setattr(roster, "PREVIEW_ROWS", 50)
    rows = [_row(i) for i in range(1, 1201)]
    result = import_roster(enterprise, io.BytesIO(_csv(rows)), "r.csv", dry_run=True)
    assert (result.created, result.errors, result.committed) == (1200, [], False)
    assert [r["row"] for r in result.rows] == list(range(2, 52))
    assert result.rows[1] == {
        "row": 3,
        "employee_no": "S00002",
        "name": NAMES[2],
        "department": DEPTS[2],
        "post": POSTS[2][0],
        "roles": ["特种作业人员"],
        "action": "create",
    }
    assert _counts(enterprise)["person"] == 0
