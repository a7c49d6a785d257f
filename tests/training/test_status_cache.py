"""Today's kept status rows (``training_status``) equal the live status query after every kind of change,
are recomputed per person when only people changed and whole when requirements, departments or the day
changed; pages read them; requirements set to issue certificates issue one per person and period."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import func, insert, select, update

from certificates.models import Certificate
from lms.core.db import db
from lms.core.timeutil import today as local_today  # the enterprise's calendar day (Asia/Shanghai)
from lms.ledger import services as ledger
from lms.ledger.models import TrainingRecord
from lms.org.models import Department, Person, PersonEvent, PersonRole
from lms.org.services import roles_by_name
from lms.training import cache, coverage, reading
from lms.training.models import Exemption, StatusDirty, StatusPerson, StatusState
from lms.training.services import save_requirement
from lms.training.status import status_query
from tests.training.helpers import insert_records_in_bulk, kept_status, live_status, rec, requirement
from tests.training.test_dashboard_figures import _random_enterprise

TODAY = local_today()


def _cached(ent_id):
    return kept_status(cache.source(ent_id))


def _live(ent_id):
    return live_status(ent_id, TODAY)


def _check(ent_id, expect_mode, people=None):
    db.session.flush()
    assert not cache.usable(ent_id, TODAY)
    done = cache.refresh(ent_id)
    assert done["mode"] == expect_mode, done
    if people is not None:
        assert done["people"] == people, done
    assert cache.usable(ent_id, TODAY)
    live = _live(ent_id)
    assert live, "the data set must give status rows"
    assert _cached(ent_id) == live
    # The per-person counts kept beside them agree with the rows.
    expect = {}
    for (pid, _req), row in live.items():
        n = expect.setdefault(pid, [0, 0, 0, 0])
        n[0] += 1
        n[1] += row[0] in ("complete", "exempt")
        n[2] += row[0] in ("overdue", "expired")
        n[3] += row[0] == "due_soon"
    kept = db.session.execute(
        select(
            StatusPerson.person_id,
            StatusPerson.n_req,
            StatusPerson.n_ok,
            StatusPerson.n_late,
            StatusPerson.n_due_soon,
        ).where(StatusPerson.enterprise_id == ent_id)
    ).all()
    assert {r[0]: list(r[1:]) for r in kept} == expect


def test_cache_equals_live_after_every_kind_of_change(enterprise, make_person):
    rng = random.Random(11)
    reqs = _random_enterprise(enterprise, make_person, rng, 24)
    people = db.session.scalars(
        select(Person).where(Person.enterprise_id == enterprise.id).order_by(Person.id)
    ).all()
    _check(enterprise.id, "whole")
    roles = roles_by_name(enterprise.id)
    special = roles["特种作业人员"].id
    held = set(db.session.scalars(select(PersonRole.person_id).where(PersonRole.role_id == special)))
    # c gains the role below, so c is someone who does not hold it yet (the rest keep id order).
    c = next(p for p in people if p.id not in held)
    a, b, d, e, f = [p for p in people if p is not c][:5]

    rec(a, TODAY, 6, category="应急救援")  # a record today
    _check(enterprise.id, "people", 1)
    victim = db.session.scalar(select(TrainingRecord).where(TrainingRecord.person_id == b.id).limit(1))
    if victim is not None:
        ledger.void(victim.id, reason="录入错误", actor=None)
        _check(enterprise.id, "people", 1)
    db.session.add(PersonRole(person_id=c.id, role_id=special, since=TODAY))
    _check(enterprise.id, "people", 1)
    d.post_id = f.post_id if f.post_id != d.post_id else None
    db.session.add(PersonEvent(person_id=d.id, kind="post", on=TODAY))
    _check(enterprise.id, "people", 1)
    db.session.add(
        Exemption(
            enterprise_id=enterprise.id,
            person_id=e.id,
            requirement_id=reqs[0].id,
            reason="病休",
            valid_from=TODAY,
        )
    )
    _check(enterprise.id, "people", 1)
    f.status, f.left_on = "left", TODAY - dt.timedelta(days=1)
    _check(enterprise.id, "people", 1)
    make_person(enterprise, hire_date=TODAY)  # hired today: person, event and role
    _check(enterprise.id, "people", 1)
    # A bulk insert naming its people marks only them.
    insert_records_in_bulk(enterprise.id, people[6:9], Decimal(2), dt.datetime.combine(TODAY, dt.time(8)))
    _check(enterprise.id, "people", 3)
    # A name or phone change changes no status: the cache stays usable.
    a.name, a.phone = "改名", "13900000000"
    db.session.flush()
    assert cache.usable(enterprise.id, TODAY)
    # Requirements and departments can change anyone's status: everything again.
    reqs[0].hours_required = Decimal(2)
    _check(enterprise.id, "whole")
    dept = db.session.scalar(select(Department).where(Department.enterprise_id == enterprise.id).limit(1))
    dept.name = dept.name + "新"
    _check(enterprise.id, "whole")
    # A bulk UPDATE through the session marks everything too.
    db.session.execute(update(Person).where(Person.id == b.id).values(hire_date=TODAY - dt.timedelta(days=3)))
    _check(enterprise.id, "whole")
    # A new day: everything again.
    db.session.execute(
        update(StatusState)
        .where(StatusState.enterprise_id == enterprise.id)
        .values(as_of=TODAY - dt.timedelta(days=1))
    )
    _check(enterprise.id, "whole")


def test_marks_are_written_in_the_changing_transaction_and_only_for_built_caches(enterprise, make_person):
    p = make_person(enterprise)
    requirement(enterprise, hours_required=Decimal(4))
    rec(p, TODAY, 1)
    db.session.flush()
    assert not cache.usable(enterprise.id, TODAY)  # never built
    assert db.session.scalar(select(func.count()).select_from(StatusDirty)) == 0
    cache.refresh(enterprise.id)
    db.session.commit()
    rec(p, TODAY, 1)
    db.session.commit()  # the mark is written before the commit, with the record
    assert db.session.scalar(select(StatusDirty.person_id)) == p.id
    db.session.rollback()
    # A change rolled back leaves a harmless mark at most; the cache is recomputed right.
    cache.refresh(enterprise.id)
    assert _cached(enterprise.id) == _live(enterprise.id)


def test_pages_read_the_cache_and_follow_changes(client, enterprise, make_person):
    from tests.conftest import login

    mgr = make_person(enterprise, app_role="manager")
    workers = [make_person(enterprise) for _ in range(4)]
    requirement(enterprise, name="岗前培训", hours_required=Decimal(4), initial_days=0)
    db.session.commit()
    login(client, mgr.user)
    page = client.get("/training/")
    assert page.status_code == 200
    state = db.session.get(StatusState, enterprise.id)
    assert state is not None and state.as_of == TODAY and state.rows == 5

    def figures():
        t = coverage.totals(enterprise.id, TODAY)
        live = coverage.totals(enterprise.id, TODAY, source=status_query(enterprise.id, TODAY).subquery())
        assert (t["people"], t["compliant"], t["late"]) == (live["people"], live["compliant"], live["late"])
        return t["compliant"]

    assert figures() == 0
    rec(workers[0], TODAY, 4)
    db.session.commit()
    assert not cache.usable(enterprise.id, TODAY)
    assert client.get("/training/").status_code == 200
    assert cache.usable(enterprise.id, TODAY) and figures() == 1
    # The learner's own page: from the cache when it holds them, computed when they changed since.
    assert client.post("/logout").status_code in (302, 303)
    login(client, workers[1].user)
    assert "岗前培训" in client.get("/training/mine").get_data(as_text=True)
    rec(workers[1], TODAY, 4)
    db.session.commit()
    rows = reading.person_rows(enterprise.id, workers[1].id, TODAY, prepare_kept=False)
    assert [r["status"] for r in rows] == ["complete"]
    # Their own page recomputes just them (the others waiting stay waiting) and reads the kept rows after.
    rec(workers[2], TODAY, 4)
    db.session.commit()
    assert not cache.usable_for_person(enterprise.id, workers[1].id, TODAY)
    resp = client.get("/training/mine")
    page = resp.get_data(as_text=True)
    assert "岗前培训" in page
    assert cache.usable_for_person(enterprise.id, workers[1].id, TODAY)
    assert not cache.usable_for_person(enterprise.id, workers[2].id, TODAY)
    kept = (
        db.session.execute(select(cache.ROWS.c.status).where(cache.ROWS.c.person_id == workers[1].id))
        .scalars()
        .all()
    )
    assert kept == ["complete"]
    assert db.session.get(StatusState, enterprise.id).rows == 5
    client.post("/logout")
    login(client, mgr.user)
    assert client.get("/training/").status_code == 200  # the dashboard recomputes the one still waiting
    assert cache.usable(enterprise.id, TODAY) and figures() == 3


def test_requirement_issues_one_certificate_per_person_and_period(enterprise, make_person):
    early, late = make_person(enterprise), make_person(enterprise)
    rec(early, TODAY, 8)
    req = save_requirement(
        enterprise.id,
        dict(
            name="年度安全再培训",
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
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0
    # Turning it on issues to those who already fulfil it (a job over the enterprise).
    save_requirement(
        enterprise.id,
        dict(
            name=req.name,
            kind="hours",
            applies_to="everyone",
            hours_required=8,
            recurrence="calendar_year",
            initial_days=30,
            grace_days=0,
            reminder_days=30,
            active=True,
            issue_certificate=True,
        ),
        req,
    )
    db.session.commit()
    [cert] = db.session.scalars(select(Certificate)).all()
    assert (cert.person_id, cert.requirement_id, cert.kind) == (early.id, req.id, "requirement")
    assert cert.valid_until == dt.date(TODAY.year, 12, 31) and cert.title == "年度安全再培训"
    assert cert.hours == Decimal(8)
    # Another person: 4 hours is not enough; 4 more fulfil it and issue theirs on commit.
    rec(late, TODAY, 4)
    db.session.commit()
    assert db.session.scalar(select(func.count()).where(Certificate.person_id == late.id)) == 0
    rec(late, TODAY, 4)
    db.session.commit()
    assert db.session.scalar(select(func.count()).where(Certificate.person_id == late.id)) == 1
    # More training in the same year is the same achievement: no second certificate.
    rec(late, TODAY, 2)
    db.session.commit()
    assert db.session.scalar(select(func.count()).where(Certificate.person_id == late.id)) == 1


def test_missing_trend_months_of_a_large_population_are_filled_by_a_job(
    client, enterprise, make_person, monkeypatch
):
    from lms.core.jobs import Job
    from tests.conftest import login
    from tests.training.test_dashboard_figures import _dashboard

    rng = random.Random(5)
    mgr = make_person(enterprise, app_role="manager", hire_date=dt.date(2019, 1, 1))
    _random_enterprise(enterprise, make_person, rng, 10)
    db.session.commit()
    login(client, mgr.user)
    monkeypatch.setattr(coverage, "INLINE_PERSON_MONTHS", 0)  # as if the enterprise were large
    first = _dashboard(client, "/training/?as_of=2026-01-10")["trend"]
    assert [share for _, share in first[:-1]] == [None] * 11 and first[-1][1] is not None
    [job] = db.session.scalars(select(Job).where(Job.kind == coverage.SNAPSHOT_JOB)).all()
    assert job.status == "done" and job.enterprise_id == enterprise.id
    second = _dashboard(client, "/training/?as_of=2026-01-10")["trend"]
    assert None not in [share for _, share in second]
    for (label, share), day in zip(second, coverage.month_ends(dt.date(2026, 1, 10)), strict=True):
        assert share == (coverage.totals(enterprise.id, day)["share"] or 0), label


def test_bulk_statements_mark_only_what_they_name(make_enterprise, make_person):
    mine, other = make_enterprise(), make_enterprise()
    for ent in (mine, other):
        make_person(ent)
        requirement(ent, hours_required=Decimal(4))
        cache.refresh(ent.id)
    db.session.flush()
    assert cache.usable(mine.id, TODAY) and cache.usable(other.id, TODAY)
    # New people inserted in bulk (a roster import): their enterprise is recomputed whole, not the other.
    db.session.execute(
        insert(Person),
        [
            dict(
                enterprise_id=mine.id, employee_no=f"B{i}", name=f"新人{i}", status="active", hire_date=TODAY
            )
            for i in range(3)
        ],
    )
    assert not cache.usable(mine.id, TODAY) and cache.usable(other.id, TODAY)
    assert cache.refresh(mine.id)["mode"] == "whole"
    assert _cached(mine.id) == _live(mine.id)
    # A bulk UPDATE by primary key marks those people only.
    someone = db.session.scalar(select(Person.id).where(Person.enterprise_id == mine.id).limit(1))
    db.session.execute(update(Person), [dict(id=someone, hire_date=TODAY - dt.timedelta(days=400))])
    assert cache.usable(other.id, TODAY)
    done = cache.refresh(mine.id)
    assert (done["mode"], done["people"]) == ("people", 1)
    assert _cached(mine.id) == _live(mine.id)
