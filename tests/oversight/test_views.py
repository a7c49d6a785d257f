"""Pages: the regulator's scope (404 outside it), roles (403), listing and lifting, the manager's banner, weights,
filters, exports, bad input, CSRF."""

from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest
from sqlalchemy import func, select

from lms.core.db import db, utcnow
from lms.core.timeutil import to_local
from lms.core.timeutil import today as local_today
from lms.org.models import RegulatorAssignment
from lms.oversight import services
from lms.oversight.models import Listing, RiskSnapshot, RiskWeight
from tests.conftest import login
from tests.training.helpers import rec, requirement

TODAY = local_today()
LONG_AGO = TODAY - dt.timedelta(days=400)


@pytest.fixture
def scene(make_enterprise, make_person, make_user):
    """A regulator over SEEN (chemicals, 滨江区) and ALSO (machinery, 临港区), not over HIDDEN."""
    seen = make_enterprise(name="被监管化工", industry="危险化学品")
    seen.region = "滨江区"
    also = make_enterprise(name="被监管机械", industry="机械制造")
    also.region = "临港区"
    hidden = make_enterprise(name="未分配企业", industry="危险化学品")
    hidden.region = "滨江区"
    for ent, late in ((seen, 2), (also, 0), (hidden, 1)):
        requirement(ent)
        p = make_person(ent, hire_date=LONG_AGO)
        rec(p, LONG_AGO + dt.timedelta(days=3), 8)
        for _ in range(late):
            make_person(ent, hire_date=LONG_AGO)
    reg = make_user("regulator")
    for ent in (seen, also):
        db.session.add(RegulatorAssignment(user_id=reg.id, enterprise_id=ent.id))
    db.session.flush()
    return {"seen": seen, "also": also, "hidden": hidden, "reg": reg}


def _deadline(days=14):
    return (dt.datetime.combine(TODAY + dt.timedelta(days=days), dt.time(17, 0))).strftime("%Y-%m-%dT%H:%M")


def test_ranking_lists_only_the_scope_sorted_by_risk_with_filters(client, scene):
    login(client, scene["reg"])
    page = client.get("/oversight/").get_data(as_text=True)
    assert "被监管化工" in page and "被监管机械" in page and "未分配企业" not in page
    codes = re.findall(r'data-enterprise="([^"]+)"', page)
    assert codes == [scene["seen"].code, scene["also"].code]  # the chemicals one: more late, high-risk
    page = client.get("/oversight/?region=临港区").get_data(as_text=True)
    assert re.findall(r'data-enterprise="([^"]+)"', page) == [scene["also"].code]
    page = client.get("/oversight/?industry=危险化学品").get_data(as_text=True)
    assert re.findall(r'data-enterprise="([^"]+)"', page) == [scene["seen"].code]
    # A region or industry outside the scope is no filter (and reveals nothing).
    page = client.get("/oversight/?region=不存在区").get_data(as_text=True)
    assert len(re.findall(r'data-enterprise="', page)) == 2
    assert "未分配企业" not in client.get("/oversight/?industry=危险化学品&region=滨江区").get_data(
        as_text=True
    )


def test_ranking_export_is_the_scope(client, scene):
    login(client, scene["reg"])
    resp = client.get("/oversight/?format=xlsx")
    assert resp.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(resp.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert [r[1] for r in rows[1:]] == [scene["seen"].code, scene["also"].code]
    csv = client.get("/oversight/?format=csv").data.decode("utf-8-sig")
    assert "未分配企业" not in csv and "被监管化工" in csv
    assert client.get("/oversight/?format=pdf").status_code == 404


def test_enterprise_page_explains_the_score(client, scene):
    login(client, scene["reg"])
    ent = scene["seen"]
    resp = client.get(f"/oversight/{ent.id}")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    rows = re.findall(r'data-factor="([a-z_]+)"', page)
    assert rows == [f.key for f in services.FACTORS]
    contributions = [float(x) for x in re.findall(r"data-contribution><strong>([\d.]+)<", page)]
    total = float(re.search(r'data-figure="risk"[^>]*>([\d.]+)<', page).group(1))
    assert sum(contributions) == pytest.approx(total, abs=0.6)
    assert "<svg" in page and "http" not in re.sub(
        r'xmlns="http://www.w3.org/2000/svg"', "", page.split("<svg")[1]
    )
    # The coverage factor shows what the training coverage page shows: 1 of 3 compliant.
    assert "1 / 3" in page


def test_scope_outside_is_404_for_every_route(client, scene):
    login(client, scene["reg"])
    hidden = scene["hidden"]
    other_reg = db.session.get(type(scene["reg"]), scene["reg"].id)
    listing = services.list_enterprise(hidden, "他人挂牌", utcnow() + dt.timedelta(days=5), other_reg)
    db.session.flush()
    assert client.get(f"/oversight/{hidden.id}").status_code == 404
    assert client.get("/oversight/999999").status_code == 404
    assert (
        client.post(f"/oversight/{hidden.id}/list", data={"reason": "x", "deadline": _deadline()}).status_code
        == 404
    )
    assert (
        client.post(f"/oversight/{hidden.id}/listings/{listing.id}/lift", data={"note": "x"}).status_code
        == 404
    )
    # Through an enterprise in scope, a listing of another one is not found either.
    seen = scene["seen"]
    assert (
        client.post(f"/oversight/{seen.id}/listings/{listing.id}/lift", data={"note": "x"}).status_code == 404
    )
    assert client.post(f"/oversight/{hidden.id}/snapshot").status_code == 404
    assert listing.lifted_at is None
    assert (
        db.session.scalar(select(func.count()).select_from(Listing).where(Listing.enterprise_id == hidden.id))
        == 1
    )
    assert db.session.scalar(select(func.count()).select_from(RiskSnapshot)) == 0


@pytest.mark.parametrize("role", ["learner", "manager", "trainer", "evaluator"])
def test_enterprise_roles_cannot_reach_regulator_routes(client, scene, make_person, role):
    ent = scene["seen"]
    login(client, make_person(ent, app_role=role).user)
    for url in (
        "/oversight/",
        f"/oversight/{ent.id}",
        "/oversight/weights",
        f"/oversight/{ent.id}?format=csv",
    ):
        assert client.get(url).status_code == 403, url
    assert (
        client.post(f"/oversight/{ent.id}/list", data={"reason": "x", "deadline": _deadline()}).status_code
        == 403
    )
    assert client.post("/oversight/weights", data={"reset": "1"}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Listing)) == 0


def test_regulator_cannot_reach_the_enterprise_page(client, scene):
    login(client, scene["reg"])
    assert client.get("/oversight/supervision").status_code == 403


def test_list_then_manager_sees_banner_then_lift(client, scene, make_person):
    ent = scene["seen"]
    login(client, scene["reg"])
    resp = client.post(
        f"/oversight/{ent.id}/list", data={"reason": "重大隐患逾期未整改", "deadline": _deadline(10)}
    )
    assert resp.status_code == 302
    listing = db.session.scalar(select(Listing).where(Listing.enterprise_id == ent.id))
    # Typed in the enterprise's local time (Asia/Shanghai), stored UTC.
    assert to_local(listing.deadline_at, ent) == dt.datetime.combine(
        TODAY + dt.timedelta(days=10), dt.time(17, 0)
    )
    assert listing.deadline_at != to_local(listing.deadline_at, ent)
    ranking = client.get("/oversight/").get_data(as_text=True)
    assert ranking.count('data-listed="1"') == 1
    page = client.get(f"/oversight/{ent.id}").get_data(as_text=True)
    assert 'data-listing="open"' in page and "重大隐患逾期未整改" in page
    assert (TODAY + dt.timedelta(days=10)).isoformat() + " 17:00" in page
    client.post("/logout")

    manager = make_person(ent, app_role="manager")
    login(client, manager.user)
    mine = client.get("/oversight/supervision").get_data(as_text=True)
    assert 'data-listing="open"' in mine and "重大隐患逾期未整改" in mine
    assert (TODAY + dt.timedelta(days=10)).isoformat() + " 17:00" in mine
    assert "/oversight/supervision" in client.get("/training/").get_data(as_text=True)  # in the menu
    # Another enterprise's manager sees nothing of it.
    client.post("/logout")
    login(client, make_person(scene["also"], app_role="manager").user)
    other = client.get("/oversight/supervision").get_data(as_text=True)
    assert 'data-listing="none"' in other and "重大隐患逾期未整改" not in other
    client.post("/logout")

    login(client, scene["reg"])
    assert (
        client.post(f"/oversight/{ent.id}/listings/{listing.id}/lift", data={"note": ""}).status_code == 302
    )
    assert listing.lifted_at is None  # no note, no lift
    client.post(f"/oversight/{ent.id}/listings/{listing.id}/lift", data={"note": "复查合格"})
    db.session.refresh(listing)
    assert listing.lifted_at is not None and listing.lift_note == "复查合格"
    page = client.get(f"/oversight/{ent.id}").get_data(as_text=True)
    assert 'data-listing="open"' not in page and "复查合格" in page
    client.post("/logout")
    login(client, manager.user)
    mine = client.get("/oversight/supervision").get_data(as_text=True)
    assert 'data-listing="none"' in mine and "复查合格" in mine


@pytest.mark.parametrize(
    "data, message",
    [
        ({"reason": "", "deadline": _deadline()}, "reason"),
        ({"reason": "原因", "deadline": "明天"}, "deadline as a date and time"),
        ({"reason": "原因", "deadline": ""}, "deadline as a date and time"),
        ({"reason": "原因", "deadline": "2020-01-01T10:00"}, "future"),
        ({"reason": "原因", "deadline": "2026-13-45T99:99"}, "deadline as a date and time"),
        ({"reason": "长" * 2001, "deadline": _deadline()}, "reason"),
    ],
)
def test_bad_listing_input_gives_a_message(client, scene, data, message):
    ent = scene["seen"]
    scene["reg"].locale = "en"
    login(client, scene["reg"])
    resp = client.post(f"/oversight/{ent.id}/list", data=data)
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    flashed = " ".join(re.findall(r'class="flash flash-error"[^>]*>([^<]*)<', page))
    assert re.search(message, flashed, re.I), flashed
    assert resp.status_code != 500
    assert db.session.scalar(select(func.count()).select_from(Listing)) == 0


def test_listing_twice_is_refused_with_a_message(client, scene):
    ent = scene["seen"]
    login(client, scene["reg"])
    client.post(f"/oversight/{ent.id}/list", data={"reason": "一", "deadline": _deadline()})
    resp = client.post(
        f"/oversight/{ent.id}/list", data={"reason": "二", "deadline": _deadline()}, follow_redirects=True
    )
    assert resp.status_code == 200
    assert (
        db.session.scalar(select(func.count()).select_from(Listing).where(Listing.enterprise_id == ent.id))
        == 1
    )


def test_weights_page_saves_per_account_and_rescores(client, scene, make_user):
    login(client, scene["reg"])
    page = client.get("/oversight/weights").get_data(as_text=True)
    assert all(f'name="weight_{f.key}"' in page for f in services.FACTORS)
    form = {f"weight_{k}": str(w.weight) for k, w in services.default_weights().items()}
    form.update({f"full_at_{k}": str(w.full_at) for k, w in services.default_weights().items() if w.full_at})
    bad = client.post("/oversight/weights", data={**form, "weight_coverage": "abc"})
    assert bad.status_code == 400 and 'value="abc"' in bad.get_data(as_text=True)  # what was typed is kept
    form["weight_high_risk"] = "100"
    before = client.get(f"/oversight/{scene['also'].id}").get_data(as_text=True)
    assert client.post("/oversight/weights", data=form).status_code == 302
    assert db.session.scalar(
        select(func.count()).select_from(RiskWeight).where(RiskWeight.user_id == scene["reg"].id)
    ) == len(services.FACTORS)
    after = client.get(f"/oversight/{scene['seen'].id}").get_data(as_text=True)
    assert before != after
    client.post("/oversight/weights", data={"reset": "1"})
    assert db.session.scalar(select(func.count()).select_from(RiskWeight)) == 0


def test_snapshot_on_demand_fills_the_missing_months(client, scene):
    ent = scene["seen"]
    login(client, scene["reg"])
    page = client.get(f"/oversight/{ent.id}").get_data(as_text=True)
    assert f'action="/oversight/{ent.id}/snapshot"' in page
    assert client.post(f"/oversight/{ent.id}/snapshot").status_code == 302
    months = set(db.session.scalars(select(RiskSnapshot.month).where(RiskSnapshot.enterprise_id == ent.id)))
    assert months == set(services.months_back(TODAY, 12)[:-1])
    page = client.get(f"/oversight/{ent.id}").get_data(as_text=True)
    assert (
        len(re.findall(r"data-month=", page)) == 12 and f'action="/oversight/{ent.id}/snapshot"' not in page
    )


def test_forms_need_the_csrf_token(app, client, scene):
    ent = scene["seen"]
    login(client, scene["reg"])
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        resp = client.post(f"/oversight/{ent.id}/list", data={"reason": "x", "deadline": _deadline()})
        assert resp.status_code in (302, 400)
        assert db.session.scalar(select(func.count()).select_from(Listing)) == 0
        assert client.post("/oversight/weights", data={"reset": "1"}).status_code in (302, 400)
        assert client.post(f"/oversight/{ent.id}/snapshot").status_code in (302, 400)
        assert db.session.scalar(select(func.count()).select_from(RiskSnapshot)) == 0
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_snapshot_of_a_large_enterprise_runs_as_a_job(client, scene, monkeypatch):
    from lms.core.jobs import Job

    ent = scene["seen"]
    login(client, scene["reg"])
    monkeypatch.setattr(services, "INLINE_PERSON_MONTHS", 2)  # 3 people × 11 months is "large" here
    resp = client.post(f"/oversight/{ent.id}/snapshot", follow_redirects=True)
    assert resp.status_code == 200
    job = db.session.scalar(select(Job).where(Job.kind == services.SNAPSHOT_JOB, Job.enterprise_id == ent.id))
    assert job is not None and job.status == "done", job and (job.status, job.error)  # eager in tests
    months = set(db.session.scalars(select(RiskSnapshot.month).where(RiskSnapshot.enterprise_id == ent.id)))
    assert months == set(services.months_back(TODAY, 12)[:-1])


def test_who_reaches_the_enterprise_page_and_an_unassigned_regulator(client, scene, make_person, make_user):
    login(client, make_person(scene["seen"], app_role="learner").user)
    assert client.get("/oversight/supervision").status_code == 403
    client.post("/logout")
    lonely = make_user("regulator")
    login(client, lonely)
    page = client.get("/oversight/").get_data(as_text=True)
    assert "data-enterprise=" not in page and "被监管化工" not in page
    assert client.get(f"/oversight/{scene['seen'].id}").status_code == 404
    client.post("/logout")
    admin = make_user("admin", scene["seen"])
    login(client, admin)
    codes = re.findall(r'data-enterprise="([^"]+)"', client.get("/oversight/").get_data(as_text=True))
    assert {scene["seen"].code, scene["also"].code, scene["hidden"].code} <= set(codes)  # admins oversee all
