"""The commands (lms oversight snapshot, set-region) and the demo's part."""

from __future__ import annotations

import datetime as dt
import json
import random
from types import SimpleNamespace

from sqlalchemy import func, select

from lms.core.db import db
from lms.core.timeutil import today as local_today
from lms.oversight import demo, services
from lms.oversight.models import Listing, RiskSnapshot, RiskWeight
from tests.training.helpers import rec, requirement

TODAY = local_today()


def run(app, *args):
    return app.test_cli_runner().invoke(args=["oversight", *args], catch_exceptions=False)


def _months(ent_id):
    return sorted(
        set(db.session.scalars(select(RiskSnapshot.month).where(RiskSnapshot.enterprise_id == ent_id)))
    )


def test_snapshot_command(app, make_enterprise, make_person):
    a, b = make_enterprise(), make_enterprise()
    requirement(a)
    p = make_person(a, hire_date=TODAY - dt.timedelta(days=400))
    rec(p, TODAY - dt.timedelta(days=390), 8)
    res = run(app, "snapshot", "--enterprise", a.code, "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out == {"enterprises": [a.code], "months": [TODAY.strftime("%Y-%m")]}
    assert _months(a.id) == [TODAY.replace(day=1)] and _months(b.id) == []
    kept = db.session.scalar(
        select(RiskSnapshot).where(RiskSnapshot.enterprise_id == a.id, RiskSnapshot.factor == "coverage")
    )
    assert kept.value == 1.0 and kept.as_of == TODAY
    # A year of history for two enterprises: each month at its last day.
    first = services.months_back(TODAY, 2)[0]
    res = run(
        app,
        "snapshot",
        "--enterprise",
        a.code,
        "--enterprise",
        b.code,
        "--month",
        first.strftime("%Y-%m"),
        "--months",
        "3",
    )
    assert res.exit_code == 0, res.output
    assert _months(b.id) == services.months_back(first, 3)
    ends = set(db.session.scalars(select(RiskSnapshot.as_of).where(RiskSnapshot.enterprise_id == b.id)))
    assert ends == {services.month_end(m) for m in services.months_back(first, 3)}
    # Bad input: a clear message, nothing kept.
    before = db.session.scalar(select(func.count()).select_from(RiskSnapshot))
    for args, message in [
        (("--month", "2026/13"), "YYYY-MM"),
        (("--month", (TODAY + dt.timedelta(days=40)).strftime("%Y-%m")), "future"),
        (("--enterprise", "NOPE"), "NOPE"),
    ]:
        res = app.test_cli_runner().invoke(args=["oversight", "snapshot", *args])
        assert res.exit_code != 0 and message in res.output, res.output
    assert db.session.scalar(select(func.count()).select_from(RiskSnapshot)) == before


def test_set_region(app, enterprise):
    res = run(app, "set-region", enterprise.code, " 滨江区 ")
    assert res.exit_code == 0 and enterprise.region == "滨江区"
    run(app, "set-region", enterprise.code, "")
    assert enterprise.region is None
    res = app.test_cli_runner().invoke(args=["oversight", "set-region", "NOPE", "x"])
    assert res.exit_code != 0 and "NOPE" in res.output


def test_demo_presets_history_and_listing(make_enterprise, make_person, make_user):
    ents = {code: make_enterprise(code=code, industry="危险化学品") for code in ("DEMO", "ZJHG", "OTHER")}
    for ent in ents.values():
        requirement(ent)
        make_person(ent, hire_date=TODAY - dt.timedelta(days=400))
    reg = make_user("regulator")
    ctx = SimpleNamespace(
        today=TODAY, rng=random.Random(1), accounts={"regulator": reg}, echo=lambda *_a: None
    )
    demo.load(ents["DEMO"], ctx)
    demo.load(ents["DEMO"], ctx)  # idempotent
    assert ents["DEMO"].region and ents["ZJHG"].region and ents["OTHER"].region
    weights = services.weights_for(reg)
    assert all(w.custom for w in weights.values()) and weights["major_overdue"].weight == 20
    assert db.session.scalar(
        select(func.count()).select_from(RiskWeight).where(RiskWeight.user_id == reg.id)
    ) == len(services.FACTORS)
    months = services.months_back(TODAY, demo.HISTORY_MONTHS + 1)
    assert _months(ents["DEMO"].id) == months and _months(ents["ZJHG"].id) == months
    assert _months(ents["OTHER"].id) == []
    listings = services.listings_of(ents["ZJHG"].id)
    assert [x.is_open for x in listings] == [True, False]
    assert listings[0].deadline_at > listings[0].listed_at and listings[1].lift_note
    assert db.session.scalar(select(func.count()).select_from(Listing)) == 2
