"""A person's planned sessions (``person_upcoming``: the learner's home and "my sessions", issue 20) come from one
statement however many sessions are planned, and are the sessions whose ``audience_select`` holds the person."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from lms.core.db import db, utcnow
from lms.offline import services
from lms.offline.models import HELD, PLANNED, OfflineSession
from lms.org.models import Person
from lms.org.services import ensure_department, ensure_post, roles_by_name
from tests.statements import TRANSACTION, recorded_statements

NOW = utcnow().replace(microsecond=0)


def _by_audience(person: Person, now: dt.datetime) -> list[int]:
    """What ``person_upcoming`` answered before it was one statement: each planned session's audience asked."""
    planned = db.session.scalars(
        select(OfflineSession)
        .where(
            OfflineSession.enterprise_id == person.enterprise_id,
            OfflineSession.status == PLANNED,
            OfflineSession.starts_at >= now - dt.timedelta(days=1),
        )
        .order_by(OfflineSession.starts_at, OfflineSession.id)
        .limit(50)
    )
    return [
        s.id
        for s in planned
        if db.session.scalar(services.audience_select(s).where(Person.id == person.id)) is not None
    ]


def _statements(person: Person) -> int:
    db.session.expire_all()
    assert person.enterprise_id  # the person as the page has them, loaded
    with recorded_statements(skip=TRANSACTION) as seen:
        services.person_upcoming(person, now=NOW)
    return len(seen)


def test_one_statement_whatever_the_number_of_sessions(make_enterprise, make_person, make_session):
    ent = make_enterprise()
    p = make_person(ent, department="一车间/甲班", post="操作工", roles=("班组长",))
    dept, post = ensure_department(ent.id, "一车间"), ensure_post(ent.id, "操作工")
    role = roles_by_name(ent.id)["班组长"]
    make_session(ent, topic="第1场", starts_at=NOW + dt.timedelta(days=1), targets={"department": [dept.id]})
    one = _statements(p)
    for i in range(6):  # one of each kind of target, twice
        kind, target = [("department", dept.id), ("post", post.id), ("role", role.id)][i % 3]
        make_session(
            ent, topic=f"第{i + 2}场", starts_at=NOW + dt.timedelta(days=i + 2), targets={kind: [target]}
        )
    got = services.person_upcoming(p, now=NOW)
    assert [s.topic for s in got] == [f"第{i + 1}场" for i in range(7)]
    assert _statements(p) == one == 1


def test_same_sessions_as_each_audience(make_enterprise, make_person, make_session):
    ent, other = make_enterprise(), make_enterprise()
    # Paths that a careless prefix test would confuse: a sibling sharing the prefix without "/", LIKE's
    # wildcards (% and _) in a name, a case-only difference.
    paths = [
        "一车间",
        "一车间/甲班",
        "一车间/甲班/夜班",
        "一车间甲",
        "A_B",
        "AxB/c",
        "A%",
        "AB",
        "a_b/c",
        "二车间",
    ]
    depts = {path: ensure_department(ent.id, path) for path in paths}
    roles = roles_by_name(ent.id)
    people = [
        make_person(ent, department=path, post=post, roles=role)
        for path, post, role in [
            ("一车间", "班长", ("班组长",)),
            ("一车间/甲班", "操作工", ("一线从业人员",)),
            ("一车间/甲班/夜班", "操作工", ("特种作业人员", "一线从业人员")),
            ("一车间甲", "电工", ()),
            ("AxB/c", "电工", ("一线从业人员",)),
            ("A_B", "焊工", ()),
            ("AB", "焊工", ()),
            ("A%", "焊工", ()),
            ("二车间", None, ()),
            (None, "操作工", ("班组长",)),
        ]
    ]
    # Only the case differs from "A_B": not below it (as on PostgreSQL; SQLite's LIKE ignored ASCII case).
    lower = make_person(ent, department="a_b/c", post="电工")
    left = make_person(ent, department="一车间/甲班", post="操作工")
    left.status = "left"
    outsider = make_person(other, department="一车间/甲班", post="操作工")
    posts = {name: ensure_post(ent.id, name) for name in ("班长", "操作工", "电工", "焊工")}
    d, p, r = depts, posts, roles
    targets = [
        {"department": [d["一车间"].id]},
        {"department": [d["一车间/甲班"].id]},
        {"department": [d["A_B"].id]},
        {"department": [d["A%"].id]},
        {"department": [d["AB"].id, d["二车间"].id]},
        {"post": [p["电工"].id]},
        {"post": [p["操作工"].id, p["班长"].id]},
        {"role": [r["班组长"].id]},
        {"role": [r["特种作业人员"].id], "department": [d["一车间甲"].id]},
        {"department": [d["a_b/c"].id], "post": [p["焊工"].id], "role": [r["一线从业人员"].id]},
        {},  # no target: nobody
    ]
    for i, t in enumerate(targets):
        make_session(ent, topic=f"场次{i}", starts_at=NOW + dt.timedelta(hours=i + 1), targets=t)
    # Not planned, or started more than a day ago: never listed.
    make_session(ent, topic="昨天之前", starts_at=NOW - dt.timedelta(days=2), targets=targets[0])
    held = make_session(ent, topic="已举行", starts_at=NOW + dt.timedelta(days=1), targets=targets[0])
    held.status = HELD
    make_session(other, topic="别的企业", starts_at=NOW + dt.timedelta(days=1))
    db.session.flush()
    seen = set()
    for person in [*people, left, outsider]:
        got = [s.id for s in services.person_upcoming(person, now=NOW)]
        assert got == _by_audience(person, NOW), person.department_id
        seen.update(got)
    assert len(seen) == len(targets) - 1  # every targeted session has someone, the untargeted one nobody
    assert [s.topic for s in services.person_upcoming(lower, now=NOW)] == [
        "场次5",
        "场次9",
    ]  # post, department
    assert services.person_upcoming(left, now=NOW) == []
    assert services.person_upcoming(outsider, now=NOW) == []
