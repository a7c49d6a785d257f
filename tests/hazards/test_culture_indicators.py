"""The three hazard metrics of lms.culture.indicators, each recomputed another way."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from lms.core.db import db
from lms.culture.indicators import METRICS, Unit, compute
from lms.hazards import services
from lms.hazards.models import Hazard
from lms.org.models import PERSON_ACTIVE, Person
from tests.hazards.conftest import photo

DAY = dt.timedelta(days=1)
# December 2026 in Shanghai, as culture periods are given: local dates
PERIOD = (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
START = dt.datetime(2026, 11, 30, 16, 0)  # 2026-12-01 00:00 Shanghai


def _world(h, make_person):
    extra = [make_person(h.ent, name=f"工人{i}") for i in range(5)]  # 10 people in all
    services.save_settings(h.ent.id, allow_anonymous=True, keep_location=False, actor=h.manager)

    def rep(user, at, **kw):
        return services.report(h.ent.id, user, description="x", area_id=h.area.id, now=at, **kw)

    def assign(hz, deadline, at):
        return services.assign(
            hz,
            h.manager,
            grade="general",
            department_id=h.assignee_person.department_id,
            assignee_id=h.assignee_person.id,
            deadline=deadline,
            now=at,
        )

    def fix(hz, at, accept_at):
        services.rectify(hz, h.assignee, note="ok", photos=[photo()], now=at)
        services.verify(hz, h.manager, passed=True, now=accept_at)

    rep(h.worker, START - dt.timedelta(minutes=1))  # 2026-11-30 23:59 local: not in December
    a = rep(h.worker, START + dt.timedelta(minutes=1))
    b = rep(h.worker, START + 3 * DAY)
    c = rep(extra[0].user, START + 4 * DAY)
    rep(extra[1].user, START + 5 * DAY, anonymous=True)
    assign(a, START + 5 * DAY, START + DAY)
    fix(a, START + 2 * DAY, START + 3 * DAY)  # on time
    assign(b, START + 4 * DAY, START + 3 * DAY + dt.timedelta(hours=1))
    fix(b, START + 6 * DAY, START + 7 * DAY)  # late
    assign(c, START + 9 * DAY, START + 5 * DAY)
    fix(c, START + 8 * DAY, START + 8 * DAY)  # on time
    db.session.flush()
    return extra


def test_metrics_are_registered():
    for key in ("hazards_per_100", "hazard_reporter_share", "hazard_on_time_share"):
        assert key in METRICS


def test_hazards_per_100(h, make_person):
    _world(h, make_person)
    value = compute("hazards_per_100", h.ent.id, Unit(h.ent.id), *PERIOD, PERIOD[1])
    # another way: count December's rows by their local date, and the active people
    local_dates = [
        r + dt.timedelta(hours=8)
        for r in db.session.scalars(select(Hazard.reported_at).where(Hazard.enterprise_id == h.ent.id))
    ]
    in_period = [d for d in local_dates if PERIOD[0] <= d.date() <= PERIOD[1]]
    people = db.session.scalar(
        select(func.count(Person.id)).where(Person.enterprise_id == h.ent.id, Person.status == PERSON_ACTIVE)
    )
    assert len(in_period) == 4 and people == 10
    assert value.value == Decimal(len(in_period) * 100) / people == Decimal("40")
    assert value.detail["anonymous_included"] is True


def test_hazard_reporter_share(h, make_person):
    extra = _world(h, make_person)
    value = compute("hazard_reporter_share", h.ent.id, Unit(h.ent.id), *PERIOD, PERIOD[1])
    # another way: the named reporters of December by hand: the worker and extra[0] (extra[1] was anonymous)
    named = {
        hz.reporter_person_id
        for hz in db.session.scalars(
            select(Hazard).where(Hazard.enterprise_id == h.ent.id, Hazard.anonymous.is_(False))
        )
        if hz.reported_at >= START
    }
    assert named == {h.worker.person_id, extra[0].id}
    assert value.value == Decimal("0.2000")
    # a department unit counts its own people only
    dept = Unit(h.ent.id, department_id=extra[0].department_id)
    assert compute("hazard_reporter_share", h.ent.id, dept, *PERIOD, PERIOD[1]).value is not None


def test_hazard_on_time_share(h, make_person):
    _world(h, make_person)
    value = compute("hazard_on_time_share", h.ent.id, Unit(h.ent.id), *PERIOD, PERIOD[1])
    # another way: walk each hazard's event log
    accepted = on_time = 0
    for hz in db.session.scalars(select(Hazard).where(Hazard.enterprise_id == h.ent.id).order_by(Hazard.id)):
        last_rectify = None
        for e in hz.events:
            if e.action == "rectify":
                last_rectify = e
            if e.action == "verify" and e.at >= START:
                accepted += 1
                on_time += last_rectify.at <= last_rectify.deadline
    assert (accepted, on_time) == (3, 2)
    assert value.value == (Decimal(on_time) / accepted).quantize(Decimal("0.0001"))
    # nobody of the unit responsible: no data
    unit = Unit(h.ent.id, department_id=h.manager.person.department_id)
    assert compute("hazard_on_time_share", h.ent.id, unit, *PERIOD, PERIOD[1]).value is None
