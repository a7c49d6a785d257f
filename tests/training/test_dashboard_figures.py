"""The dashboard's figures (status computed once into a temporary table, trend from snapshots) equal a
brute-force computation: every person evaluated on their own, aggregated in Python; hours summed in Python
from the ledger. And the number of statements per page does not grow with the number of people."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal

from flask import template_rendered
from sqlalchemy import select

from lms.core.db import db
from lms.core.timeutil import today as local_today  # the enterprise's calendar day (Asia/Shanghai)
from lms.ledger.models import TrainingRecord
from lms.org.models import Department, Person, PersonRole, Post, ResponsibilityRole
from lms.org.services import roles_by_name
from lms.training import coverage
from lms.training.models import COMPLIANT, CoverageSnapshot, Exemption, Requirement
from lms.training.status import months_before, statuses
from tests.statements import recorded_statements
from tests.training.helpers import rec, requirement

D = dt.date
LATE = ("overdue", "expired")
DEPTS = ("一车间/甲班", "一车间/乙班", "二车间", "三车间/焊接班")
POSTS = ("操作工", "焊工", "电工")
CATS = ("法律法规", "有限空间", "应急救援", "用电安全")


def _random_enterprise(ent, make_person, rng: random.Random, n: int) -> list[Requirement]:
    roles = roles_by_name(ent.id)
    reqs = [
        requirement(ent, name="岗前", hours_required=Decimal(8), initial_days=60, grace_days=10),
        requirement(ent, name="年度", hours_required=Decimal(6), recurrence="calendar_year", grace_days=20),
        requirement(
            ent,
            name="演练",
            hours_required=Decimal(4),
            categories="|应急救援|有限空间|",
            recurrence="rolling",
            recurrence_months=12,
            grace_days=30,
            reminder_days=30,
        ),
        requirement(
            ent,
            name="特种证",
            kind="certificate",
            applies_to="role",
            role_id=roles["特种作业人员"].id,
            certificate_category="特种作业操作证",
            hours_required=0,
            initial_days=0,
            grace_days=15,
        ),
        requirement(ent, name="三级", kind="three_level", hours_required=0, initial_days=30),
        requirement(
            ent,
            name="课程",
            kind="course",
            course_id=7,
            recurrence="rolling",
            recurrence_months=6,
            hours_required=0,
        ),
    ]
    people = []
    for i in range(n):
        p = make_person(
            ent,
            department=rng.choice(DEPTS),
            post=rng.choice(POSTS),
            roles=("一线从业人员", "特种作业人员")[: rng.choice((1, 2))],
            hire_date=D(2024, 1, 1) + dt.timedelta(days=rng.randrange(0, 800)),
        )
        people.append(p)
        for _ in range(rng.randrange(0, 7)):
            when = D(2024, 6, 1) + dt.timedelta(days=rng.randrange(0, 750))
            roll = rng.random()
            if roll < 0.6:
                rec(p, when, rng.choice((1, 2, 4)), category=rng.choice(CATS))
            elif roll < 0.7:
                rec(
                    p,
                    when,
                    kind="certificate",
                    category="特种作业操作证",
                    valid_until=when + dt.timedelta(days=400),
                )
            elif roll < 0.85:
                rec(p, when, 1, level=rng.choice(("company", "workshop", "team")))
            else:
                rec(p, when, 1, kind="course", course_id=7)
        if i % 7 == 0:
            db.session.add(
                Exemption(
                    enterprise_id=ent.id,
                    person_id=p.id,
                    requirement_id=rng.choice(reqs).id,
                    reason="test",
                    valid_from=D(2024, 1, 1),
                )
            )
    db.session.flush()
    return reqs


def _brute(ent_id: int, as_of: dt.date) -> dict:
    """Each person on their own (one status query per person), grouped in Python."""
    people = db.session.scalars(select(Person).where(Person.enterprise_id == ent_id)).all()
    depts = {d.id: d.path for d in db.session.scalars(select(Department))}
    posts = {p.id: p.name for p in db.session.scalars(select(Post))}
    role_names = {r.id: r.name for r in db.session.scalars(select(ResponsibilityRole))}
    reqs = {
        r.id: r.name
        for r in db.session.scalars(select(Requirement).where(Requirement.enterprise_id == ent_id))
    }
    holds = defaultdict(set)
    for pr in db.session.scalars(select(PersonRole)):
        holds[pr.person_id].add(role_names[pr.role_id])
    rows = []
    for p in people:
        rows += [dict(r, person=p) for r in statuses(ent_id, as_of, person_filter=Person.id == p.id)]
    per_person = defaultdict(list)
    for r in rows:
        per_person[r["person"].id].append(r)

    def figures(groups):
        out = {}
        for key, pids in groups.items():
            n = len(pids)
            ok = sum(all(r["status"] in COMPLIANT for r in per_person[i]) for i in pids)
            late = sum(any(r["status"] in LATE for r in per_person[i]) for i in pids)
            soon = sum(any(r["status"] == "due_soon" for r in per_person[i]) for i in pids)
            out[key] = (n, ok, late, soon)
        return out

    by = {name: defaultdict(set) for name in ("department", "post", "role")}
    for pid, prs in per_person.items():
        person = prs[0]["person"]
        by["department"][depts.get(person.department_id, "—")].add(pid)
        by["post"][posts.get(person.post_id, "—")].add(pid)
        for role in holds[pid]:
            by["role"][role].add(pid)
    result = {name: figures(groups) for name, groups in by.items()}
    result["total"] = figures({"all": set(per_person)})["all"]
    req_rows = defaultdict(list)
    for r in rows:
        req_rows[reqs[r["requirement_id"]]].append(r["status"])
    result["requirement"] = {
        k: (
            len(v),
            sum(s in COMPLIANT for s in v),
            sum(s in LATE for s in v),
            sum(s == "due_soon" for s in v),
        )
        for k, v in req_rows.items()
    }
    result["late_n"] = sum(r["status"] in LATE for r in rows)
    result["expiring_n"] = sum(
        bool(r["status"] == "complete" and r["valid_until"])
        and as_of <= r["valid_until"] <= as_of + dt.timedelta(days=30)
        for r in rows
    )
    result["rows"] = rows
    return result


def _dashboard(client, url):
    seen = []

    def record(sender, template, context, **extra):
        if template.name == "training/dashboard.html":
            seen.append(context)

    template_rendered.connect(record)
    try:
        assert client.get(url).status_code == 200
    finally:
        template_rendered.disconnect(record)
    return seen[0]


def _shape(rows):
    return {r["label"]: (r["people"], r["compliant"], r["late"], r["due_soon"]) for r in rows}


def test_dashboard_equals_brute_force(client, enterprise, make_person):
    from tests.conftest import login

    rng = random.Random(20261129)
    mgr = make_person(enterprise, app_role="manager", hire_date=D(2019, 1, 1))
    _random_enterprise(enterprise, make_person, rng, 28)
    login(client, mgr.user)
    for as_of in (D(2025, 3, 15), D(2026, 1, 10), local_today()):
        ctx = _dashboard(client, f"/training/?as_of={as_of.isoformat()}")
        brute = _brute(enterprise.id, as_of)
        for by in ("department", "post", "role", "requirement"):
            assert _shape(ctx["data"][by]) == brute[by], (as_of, by)
        t = ctx["total"]
        assert (t["people"], t["compliant"], t["late"], t["due_soon"]) == brute["total"]
        assert ctx["late_n"] == brute["late_n"] and ctx["expiring_n"] == brute["expiring_n"]
        late = sorted((r["person_id"], r["requirement_id"]) for r in brute["rows"] if r["status"] in LATE)
        assert {(r["person_id"], r["requirement_id"]) for r in ctx["late"]} <= set(late)
        assert len(ctx["late"]) == min(15, len(late))
        # Trend: every month end equals the totals computed on their own.
        for label, share in ctx["trend"]:
            day = next(d for d in coverage.month_ends(as_of) if d.strftime("%y-%m") == label)
            b = _brute(enterprise.id, day)["total"] if label == ctx["trend"][-1][0] else None
            expect = (
                coverage.totals(enterprise.id, day)["share"] if b is None else (b[1] / b[0] if b[0] else None)
            )
            assert share == (expect or 0), (as_of, label)
    # A second request reads the closed months from the snapshots: same figures.
    first = _dashboard(client, "/training/?as_of=2026-01-10")["trend"]
    assert db.session.query(CoverageSnapshot).filter_by(enterprise_id=enterprise.id).count() >= 11
    assert _dashboard(client, "/training/?as_of=2026-01-10")["trend"] == first


def test_hours_done_equals_python_sum(enterprise, make_person):
    """hours_done of hours requirements against a plain Python sum over the live ledger."""
    rng = random.Random(7)
    reqs = _random_enterprise(enterprise, make_person, rng, 20)
    as_of = D(2026, 2, 10)
    hours_reqs = {r.id: r for r in reqs if r.kind == "hours"}
    records = db.session.scalars(
        select(TrainingRecord).where(
            TrainingRecord.enterprise_id == enterprise.id, TrainingRecord.voided_at.is_(None)
        )
    ).all()
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    for row in statuses(enterprise.id, as_of, list(hours_reqs)):
        req = hours_reqs[row["requirement_id"]]
        if req.recurrence == "rolling":
            start = dt.datetime.combine(months_before(as_of, req.recurrence_months), dt.time())
        elif req.recurrence == "calendar_year":
            start = dt.datetime(as_of.year, 1, 1)
        else:
            start = dt.datetime.combine(row["since"], dt.time())
        cats = req.category_list
        want = sum(
            (
                r.hours
                for r in records
                if r.person_id == row["person_id"]
                and start <= r.completed_at < end
                and (not cats or r.category in cats)
            ),
            Decimal(0),
        )
        assert Decimal(row["hours_done"] or 0) == want, (req.name, row)


def _statements(client, url):
    with recorded_statements() as seen:
        assert client.get(url).status_code == 200
    return len(seen)


def test_statements_per_page_flat_from_small_to_larger(client, make_enterprise, make_person):
    from tests.conftest import login

    counts = []
    for i, n in enumerate((8, 60)):
        ent = make_enterprise()
        mgr = make_person(ent, app_role="manager", hire_date=D(2019, 1, 1))
        _random_enterprise(ent, make_person, random.Random(i), n)
        dept = db.session.scalar(
            select(Department).where(Department.enterprise_id == ent.id, Department.path == "一车间")
        )
        login(client, mgr.user)
        pages = (
            "/training/",  # first: closed months computed and kept
            "/training/",  # then: closed months from the snapshots
            f"/training/?department={dept.id}",
            "/training/list?show=noncompliant",
            "/training/list?format=csv",
            "/training/coverage/role?format=csv",
        )
        counts.append(tuple(_statements(client, url) for url in pages))
        client.post("/logout")
    assert counts[0] == counts[1], counts
    assert counts[0][1] < counts[0][0]  # the snapshots save the closed months' queries
