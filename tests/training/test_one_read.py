"""One read of training status (``lms.training.reading.read``) answers every reader, and the live
``status_query`` (the definition) recomputes what each of them shows: the rows themselves today (kept rows)
and on a past day (computed), then one figure per reader family (pages, exports, regulator, oversight,
culture indicators, certificates, reminders, notifications, API, the learner's page, permits)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections import defaultdict
from decimal import Decimal

import pytest
from sqlalchemy import select

from lms.api import keys
from lms.api.models import SCOPES
from lms.core.db import db
from lms.core.timeutil import today as local_today  # the enterprise's calendar day (Asia/Shanghai)
from lms.org.models import Person, RegulatorAssignment
from lms.training import cache, coverage, fulfilment, learner, notifications, reading, reminders
from lms.training.models import (
    COMPLETE,
    COMPLIANT,
    DUE_SOON,
    EXPIRED,
    IN_GRACE,
    OVERDUE,
    StatusDirty,
)
from lms.training.status import statuses
from tests.conftest import login
from tests.training.helpers import rec, requirement, status_key
from tests.training.test_dashboard_figures import _dashboard, _random_enterprise

TODAY = local_today()
PAST = TODAY - dt.timedelta(days=200)
LATE = (OVERDUE, EXPIRED)


@pytest.fixture
def site(enterprise, make_person):
    """A demo-like enterprise: every kind of requirement, people of several departments, posts and roles,
    records of every kind over two years, exemptions."""
    reqs = _random_enterprise(enterprise, make_person, random.Random(19), 30)
    manager = make_person(enterprise, app_role="manager")
    db.session.commit()
    return enterprise, reqs, manager


def _people(rows) -> dict[str, int]:
    """The dashboard's people figures, counted in Python from status rows."""
    per = defaultdict(list)
    for r in rows:
        per[r["person_id"]].append(r["status"])
    return {
        "people": len(per),
        "compliant": sum(all(s in COMPLIANT for s in v) for v in per.values()),
        "late": sum(any(s in LATE for s in v) for v in per.values()),
        "due_soon": sum(any(s == DUE_SOON for s in v) for v in per.values()),
    }


def _pairs(rows, wanted) -> set[tuple[int, int]]:
    return {(r["person_id"], r["requirement_id"]) for r in rows if r["status"] in wanted}


def _csv(resp) -> list[list[str]]:
    assert resp.status_code == 200, resp.data[:300]
    return list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))


def test_read_equals_status_query_today_and_a_past_day(site, make_enterprise, make_person):
    ent, reqs, _ = site
    for day, kept in ((TODAY, True), (PAST, False)):
        live = status_key(statuses(ent.id, day))
        assert live, "the data set must give status rows"
        with reading.read(ent.id, day) as s:
            assert s.kept is kept  # today: the kept rows (brought up to date by the read itself)
            assert status_key(s.all()) == live
        with reading.read(ent.id, day, materialise=True) as s:
            assert status_key(s.all()) == live
        pid = min(p for p, _ in live)
        assert status_key(reading.person_rows(ent.id, pid, day)) == {
            k: v for k, v in live.items() if k[0] == pid
        }
        req_id = reqs[1].id
        assert status_key(reading.rows(ent.id, day, requirement_ids=[req_id])) == {
            k: v for k, v in live.items() if k[1] == req_id
        }
        with reading.read(ent.id, day, requirement_ids=[req_id]) as s:  # per-person counts of those rows only
            counts = {r.person_id: r.n_req for r in db.session.execute(select(s.people()))}
        assert counts == {p: 1 for p, r in live if r == req_id}
        some = sorted({p for p, _ in live})[:5]
        assert status_key(reading.rows(ent.id, day, Person.id.in_(some))) == {
            k: v for k, v in live.items() if k[0] in some
        }
    # After a change, today's read recomputes the person marked and still equals the live query.
    person = db.session.get(Person, min(p for p, _ in status_key(statuses(ent.id, TODAY))))
    rec(person, TODAY, 8)
    db.session.commit()
    assert db.session.scalar(select(StatusDirty.person_id)) == person.id
    with reading.read(ent.id, TODAY) as s:
        assert s.kept and status_key(s.all()) == status_key(statuses(ent.id, TODAY))
    # Several enterprises at once: one kept, one not kept (read without preparing): the union of both.
    other = make_enterprise(code="ONE2", name="另一企业")
    requirement(other, name="年度", hours_required=Decimal(2))
    make_person(other)
    db.session.commit()
    with reading.read([ent.id, other.id], TODAY, prepare_kept=False) as s:
        assert not s.kept
        got = db.session.execute(select(s.c.enterprise_id, s.c.person_id, s.c.requirement_id)).all()
    assert {(e, p, r) for e, p, r in got} == {
        (ent.id, p, r) for p, r in status_key(statuses(ent.id, TODAY))
    } | {(other.id, p, r) for p, r in status_key(statuses(other.id, TODAY))}
    assert not cache.usable(other.id, TODAY)  # prepare_kept=False wrote nothing


def test_pages_and_exports(client, site):
    ent, _, manager = site
    login(client, manager.user)
    for day in (TODAY, PAST):
        live = statuses(ent.id, day)
        ctx = _dashboard(client, f"/training/?as_of={day.isoformat()}")
        total = ctx["total"]
        assert {k: total[k] for k in ("people", "compliant", "late", "due_soon")} == _people(live)
        assert _pairs(live, LATE) and total["late_requirements"] == len(_pairs(live, LATE))
        assert ctx["late_n"] == len(_pairs(live, LATE))
        # The named-list export: one line per person and requirement.
        rows = _csv(client.get(f"/training/list?format=csv&as_of={day.isoformat()}"))
        assert len(rows) - 1 == len(live)
        late = _csv(client.get(f"/training/list?format=csv&show=late&as_of={day.isoformat()}"))
        assert len(late) - 1 == len(_pairs(live, LATE))
        # Coverage by requirement (page export): people per requirement.
        by_req = coverage.coverage(ent.id, "requirement", day)
        per_req = defaultdict(int)
        for r in live:
            per_req[r["requirement_id"]] += 1
        assert {r["key"]: r["people"] for r in by_req} == dict(per_req)


def test_regulator_and_oversight(client, site, make_user):
    ent, _, _ = site
    from lms.oversight import services as oversight

    regulator = make_user("regulator")
    db.session.add(RegulatorAssignment(user_id=regulator.id, enterprise_id=ent.id))
    db.session.commit()
    login(client, regulator)
    for day in (TODAY, PAST):
        figures = _people(statuses(ent.id, day))
        table = _csv(client.get(f"/training/regulator?format=csv&as_of={day.isoformat()}"))
        (row,) = [r for r in table[1:] if r[0] == ent.code]
        assert (int(row[2]), int(row[3]), int(row[5])) == (
            figures["people"],
            figures["compliant"],
            figures["late"],
        )
    values = oversight.factor_values([ent.id], TODAY)[ent.id]
    figures = _people(statuses(ent.id, TODAY))
    assert values["coverage"].detail == f"{figures['compliant']} / {figures['people']}"
    assert values["overdue"].detail == f"{figures['late']} / {figures['people']}"


def test_culture_indicators(site):
    ent, _, _ = site
    for day in (TODAY, PAST):
        live = statuses(ent.id, day)
        figures = _people(live)
        assert coverage.coverage_share(ent.id, day) == pytest.approx(figures["compliant"] / figures["people"])
        ok, late = len(_pairs(live, COMPLIANT)), len(_pairs(live, LATE))
        assert coverage.on_time_rate(ent.id, day) == pytest.approx(ok / (ok + late))
        veto = coverage.veto_people(ent.id, day)
        assert veto and {(r["person_id"], r["requirement_id"]) for r in veto} == _pairs(live, LATE)


def test_certificates_reminders_and_notifications(site):
    ent, reqs, _ = site
    annual = reqs[1]
    annual.issue_certificate = True
    db.session.commit()
    live = statuses(ent.id, TODAY)
    done = fulfilment.issue_fulfilled(None, ent.id, None)
    assert done["fulfilled"] > 0
    assert done["fulfilled"] == len({(p, r) for p, r in _pairs(live, (COMPLETE,)) if r == annual.id})
    # Reminders: one per person and requirement due soon, in grace, overdue or expired (and managers' summary).
    live = statuses(ent.id, TODAY)
    events = reminders._events(ent.id, TODAY)
    got = {(e["person_id"], int(e["key"].split(":")[1])) for e in events if e["kind"] != "summary"}
    assert got and got == _pairs(live, (DUE_SOON, IN_GRACE, OVERDUE, EXPIRED))
    # Notifications: every requirement in grace, overdue or expired is told to its person.
    events = notifications._requirement_events(ent.id, TODAY)
    got = {
        (e["person_id"], int(e["key"].split(":")[1]))
        for e in events
        if e["key"].split(":")[2] in (IN_GRACE, OVERDUE, EXPIRED)
    }
    assert got and got == _pairs(live, (IN_GRACE, OVERDUE, EXPIRED))


def test_api_learner_and_permits(client, site):
    ent, _, manager = site
    from lms.permits import services as permits

    _key_row, secret = keys.create_key(
        name="HR", scopes=SCOPES, actor=manager.user, enterprise=ent, rate_per_minute=10_000
    )
    db.session.commit()
    h = {"Authorization": f"Bearer {secret}"}
    for day in (TODAY, PAST):
        live = statuses(ent.id, day)
        pid = min(r["person_id"] for r in live)
        mine = {r["requirement_id"]: r["status"] for r in live if r["person_id"] == pid}
        assert len(mine) > 1
        st = client.get(f"/api/v1/status/people/{pid}?as_of={day.isoformat()}", headers=h).json
        assert {r["requirement_id"]: r["status"] for r in st["requirements"]} == mine
        api = client.get(f"/api/v1/coverage/department?as_of={day.isoformat()}", headers=h).json
        assert {k: api["figures"][k] for k in ("people", "compliant", "late", "due_soon")} == _people(live)
        person = db.session.get(Person, pid)
        assert {r["requirement_id"]: r["status"] for r in learner.my_requirements(person, day)} == mine
        assert {k: r["status"] for k, r in permits._statuses(ent.id, pid, day).items()} == mine
