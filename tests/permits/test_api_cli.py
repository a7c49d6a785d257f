"""GET /api/qualification, ``lms permits check`` and its exit codes, the monthly counts and the culture metric."""

from __future__ import annotations

import datetime as dt
import json

from lms.core.db import db
from lms.permits import services
from lms.permits.models import APPROVED, REFUSED, Permit
from tests.conftest import login
from tests.permits.conftest import DAY


def test_api_qualification(client, scene):
    login(client, scene.trainer)
    resp = client.get(
        f"/api/qualification?enterprise={scene.ent.code}&work=受限空间&date={DAY}&people=P1001,P1003:监护人"
    )
    assert resp.status_code == 200
    data = resp.get_json()
    assert data["qualified"] is False and data["work"] == "受限空间作业" and data["date"] == "2026-06-15"
    ok, lapsed = data["people"]
    assert (ok["employee_no"], ok["qualified"], ok["role"]) == ("P1001", True, "作业人员")
    assert (lapsed["qualified"], lapsed["role"]) == (False, "监护人")
    assert lapsed["reasons"][0]["code"] == "certificate_expired"
    assert "2026-05-31" in lapsed["reasons"][0]["reason"] and "过期" in lapsed["reasons"][0]["reason"]
    one = client.get(f"/api/qualification?work=confined_space&date={DAY}&people=P1001").get_json()
    assert one["qualified"] is True and one["enterprise"] == scene.ent.code


def test_api_bad_input_names_the_field(client, scene):
    login(client, scene.manager)
    for query, field in (
        ("work=受限空间&date=2026-02-30&people=P1001", "date"),
        ("work=潜水&people=P1001", "work"),
        ("work=受限空间&people=", "people"),
        ("work=受限空间&people=NOPE", "people"),
        ("work=受限空间&people=P1001:司机", "people"),
    ):
        resp = client.get(f"/api/qualification?{query}")
        assert resp.status_code == 400, query
        assert resp.get_json()["field"] == field, query


def test_api_another_enterprise_is_404(client, scene, make_enterprise):
    other = make_enterprise()
    login(client, scene.manager)
    resp = client.get(f"/api/qualification?enterprise={other.code}&work=受限空间&people=P1001")
    assert resp.status_code == 404 and resp.is_json


def test_api_needs_sign_in(client, scene):
    resp = client.get("/api/qualification?work=受限空间&people=P1001")
    assert resp.status_code == 401 and resp.is_json


def _run(app, *args):
    runner = app.test_cli_runner()
    return runner.invoke(args=["permits", "check", *args], catch_exceptions=False)


def test_cli_exit_codes(app, scene):
    code = scene.ent.code
    ok = _run(
        app, "--enterprise", code, "--work", "受限空间", "--person", "P1001", "--date", str(DAY), "--json"
    )
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.output)
    assert data["qualified"] is True and data["people"][0]["name"] == "秦合格"
    bad = _run(
        app,
        "--enterprise",
        code,
        "--work",
        "受限空间",
        "--person",
        "P1001",
        "--person",
        "P1002",
        "--date",
        str(DAY),
        "--json",
    )
    assert bad.exit_code == 1
    data = json.loads(bad.output)
    assert [p["qualified"] for p in data["people"]] == [True, False]
    assert data["people"][1]["reasons"][0]["code"] == "requirement_overdue"
    text = _run(
        app, "--enterprise", code, "--work", "受限空间", "--person", "P1003:监护人", "--date", str(DAY)
    )
    assert text.exit_code == 1 and "不合格" in text.output and "2026-05-31" in text.output
    for args in (
        ["--enterprise", "NOPE", "--work", "受限空间", "--person", "P1001"],
        ["--enterprise", code, "--work", "潜水", "--person", "P1001"],
        ["--enterprise", code, "--work", "受限空间", "--person", "NOBODY"],
        ["--enterprise", code, "--work", "受限空间", "--person", "P1001:司机"],
        ["--enterprise", code, "--work", "受限空间", "--person", "P1001", "--date", "2026-6-31"],
    ):
        result = _run(app, *args, "--json")
        assert result.exit_code == 2, (args, result.output)
        assert json.loads(result.output)["error"]
    missing = app.test_cli_runner().invoke(
        args=["permits", "check", "--enterprise", code, "--work", "受限空间"]
    )
    assert missing.exit_code == 2  # click: --person is required


def _permit(scene, status, people, checked_on):
    start = dt.datetime(2026, 6, 15, 9, 0)
    p = services.save_permit(
        scene.work,
        people,
        place="x",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        status=status,
        actor=scene.manager,
    )
    p.checked_on = checked_on
    db.session.flush()
    return p


def test_permit_counts_per_enterprise_and_month(scene, make_enterprise):
    _permit(scene, APPROVED, [(scene.ok, "作业人员")], dt.date(2026, 5, 31))
    _permit(scene, REFUSED, [(scene.lapsed, "作业人员")], dt.date(2026, 6, 1))
    _permit(scene, APPROVED, [(scene.ok, "作业人员")], dt.date(2026, 6, 30))
    _permit(scene, REFUSED, [(scene.overdue, "作业人员")], dt.date(2026, 7, 1))
    other = make_enterprise()
    counts = services.permit_counts([scene.ent.id, other.id], dt.date(2026, 5, 1), dt.date(2026, 6, 30))
    assert counts == {(scene.ent.id, "2026-05"): (1, 0), (scene.ent.id, "2026-06"): (2, 1)}
    assert services.permit_counts([], dt.date(2026, 1, 1), dt.date(2026, 12, 31)) == {}
    # recomputed another way: from the rows
    rows = db.session.query(Permit).filter(Permit.enterprise_id == scene.ent.id).order_by(Permit.id).all()
    june = [p for p in rows if p.checked_on.month == 6]
    assert counts[(scene.ent.id, "2026-06")] == (len(june), sum(p.status == REFUSED for p in june))


def test_culture_metric_is_registered_and_computed(scene):
    from lms.culture.indicators import METRICS, Unit, compute

    assert "permit_refusal_rate" in METRICS
    _permit(scene, REFUSED, [(scene.ok, "作业人员"), (scene.lapsed, "监护人")], dt.date(2026, 6, 15))
    _permit(scene, APPROVED, [(scene.ok, "作业人员")], dt.date(2026, 6, 16))
    value = compute(
        "permit_refusal_rate",
        scene.ent.id,
        Unit(scene.ent.id),
        dt.date(2026, 6, 1),
        dt.date(2026, 6, 30),
        dt.date(2026, 6, 30),
    )
    assert str(value.value) == "0.3333"  # 1 of 3 people named
    assert value.detail["permits_checked"] == 2 and value.detail["permits_refused"] == 1
    empty = compute(
        "permit_refusal_rate",
        scene.ent.id,
        Unit(scene.ent.id),
        dt.date(2025, 1, 1),
        dt.date(2025, 1, 31),
        dt.date(2025, 1, 31),
    )
    assert empty.value is None
