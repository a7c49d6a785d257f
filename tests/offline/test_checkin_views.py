"""QR check-in pages through the test client: the trainer's screen, the phone's scan → sign in → confirm, the
toolbox talk in two taps, and what an attacker tries (forged codes, a colleague, another enterprise, CSRF)."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from lms.core.db import db, utcnow
from lms.ledger.models import TrainingRecord
from lms.offline import checkin
from lms.offline.models import KIND_TOOLBOX, CheckIn, OfflineSession
from lms.org.services import ensure_department
from tests.conftest import TEST_PASSWORD, login


@pytest.fixture
def ent(enterprise):
    return enterprise


@pytest.fixture
def live_session(ent, make_session):
    """A session taking place now, check-in open."""
    now = utcnow().replace(second=0, microsecond=0)
    dept = ensure_department(ent.id, "一车间/甲班")
    s = make_session(
        ent,
        starts_at=now - dt.timedelta(minutes=5),
        ends_at=now + dt.timedelta(minutes=55),
        hours="1",
        targets={"department": [dept.id]},
    )
    checkin.open_checkin(s)
    return s


def code_path(s: OfflineSession) -> str:
    token = checkin.make_token(s, checkin.step_of(utcnow()))
    return f"/offline/c/{s.id}/{token}"


def scan(client, s: OfflineSession) -> str:
    """Open the code's URL as a phone does; return where it sends the phone (the confirm page with a grant)."""
    resp = client.get(code_path(s))
    assert resp.status_code == 302, resp.data[:300]
    return resp.headers["Location"]


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# ---------------------------------------------------------------- the trainer's screen


def test_trainer_screen_shows_the_code_url_and_the_live_list(client, login_as, live_session):
    login_as("trainer")
    page = client.get(f"/offline/{live_session.id}/checkin")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    url = re.search(r'data-checkin-url="([^"]+)"', html).group(1)
    assert url.startswith(f"http://lms.test/offline/c/{live_session.id}/")
    assert "<svg" in html and "checkin.js" in html
    state = client.get(f"/offline/{live_session.id}/checkin/live").get_json()
    # the same code, or the next one when the 30 s step turned between the two requests
    assert (
        state["open"]
        and state["svg"].startswith("<svg")
        and state["step"] - int(url.rsplit(".", 2)[1]) in (0, 1)
    )
    assert 1 <= state["seconds_left"] <= 30
    assert state["expected"] == 1 and state["missing"] == 1  # the trainer works in 一车间/甲班 too


def test_screen_and_live_list_are_not_for_learners_or_other_enterprises(
    client, login_as, live_session, make_enterprise
):
    login_as("learner")
    for path in ("", "/live"):
        assert client.get(f"/offline/{live_session.id}/checkin{path}").status_code == 404
    assert client.post(f"/offline/{live_session.id}/checkin/close").status_code == 404
    client.post("/logout")
    login_as("trainer", make_enterprise())
    assert client.get(f"/offline/{live_session.id}/checkin").status_code == 404
    assert client.post(f"/offline/{live_session.id}/checkin/close").status_code == 404
    assert live_session.checkin_open


def test_open_and_close_from_the_screen(client, login_as, ent, make_session):
    login_as("trainer")
    s = make_session(ent, starts_at=utcnow(), hours="1")
    page = client.get(f"/offline/{s.id}/checkin").get_data(as_text=True)
    assert "data-checkin-url" not in page
    client.post(f"/offline/{s.id}/checkin/open")
    assert s.checkin_open and s.status == "held"
    assert f'href="/offline/{s.id}/checkin"' in client.get(f"/offline/{s.id}").get_data(as_text=True)
    client.post(f"/offline/{s.id}/checkin/close")
    assert not s.checkin_open
    assert "data-checkin-url" not in client.get(f"/offline/{s.id}/checkin").get_data(as_text=True)


# ---------------------------------------------------------------- the phone


def test_scan_sign_in_confirm_and_done(client, make_person, ent, live_session):
    p = make_person(ent)
    confirm = scan(client, live_session)
    assert confirm.startswith(f"/offline/c/{live_session.id}/confirm?g=")
    # not signed in: the sign-in page, which must bring the phone back to the check-in
    resp = client.get(confirm)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    nxt = parse_qs(urlsplit(resp.headers["Location"]).query)["next"][0]
    assert nxt == confirm
    resp = client.post(
        "/login?" + urlsplit(resp.headers["Location"]).query,
        data={"login": p.user.username, "password": TEST_PASSWORD},
    )
    assert resp.headers["Location"].endswith(confirm)
    page = client.get(confirm)
    assert page.status_code == 200 and p.name in page.get_data(as_text=True)
    grant = parse_qs(urlsplit(confirm).query)["g"][0]
    resp = client.post(f"/offline/c/{live_session.id}/confirm", data={"g": grant, "action": "in"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/offline/c/{live_session.id}/done")
    done = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert live_session.topic in done
    assert checkin.check_in_of(live_session, p) is not None


def test_replayed_code_for_a_second_check_in_is_refused(client, make_person, ent, live_session):
    p = make_person(ent)
    login(client, p.user)
    confirm = scan(client, live_session)
    grant = parse_qs(urlsplit(confirm).query)["g"][0]
    assert client.post(confirm.split("?")[0], data={"g": grant, "action": "in"}).status_code == 302
    again = client.post(confirm.split("?")[0], data={"g": grant, "action": "in"})
    assert again.status_code == 409 and "不能重复签到" in again.get_data(as_text=True)
    assert count(CheckIn) == 1
    # the same code for a check-out is refused too: check-out needs a later code
    out = client.post(confirm.split("?")[0], data={"g": grant, "action": "out"})
    assert out.status_code == 400 and checkin.check_in_of(live_session, p).checked_out_at is None


def test_expired_and_forged_codes_are_refused_with_a_message(client, live_session, make_person, ent):
    old = checkin.make_token(live_session, checkin.step_of(utcnow()) - 2)
    resp = client.get(f"/offline/c/{live_session.id}/{old}")
    assert resp.status_code == 400
    assert "二维码已过期" in resp.get_data(as_text=True) and "30" in resp.get_data(as_text=True)
    sid, step, mac = checkin.make_token(live_session, checkin.step_of(utcnow())).split(".")
    for forged in (f"{sid}.{step}.{'A' * 20}", f"{sid}.{int(step) + 3}.{mac}", "1.2.3", "x" * 200):
        resp = client.get(f"/offline/c/{live_session.id}/{forged}")
        assert resp.status_code == 400, forged
    # a grant made up by a script is refused as well, even when signed in
    login(client, make_person(ent).user)
    resp = client.post(
        f"/offline/c/{live_session.id}/confirm", data={"g": "eyJzIjoxfQ.abc.def", "action": "in"}
    )
    assert resp.status_code == 400 and count(CheckIn) == 0


def test_code_of_another_session_is_refused(client, make_person, ent, live_session, make_session):
    other = make_session(ent, topic="另一场", starts_at=live_session.starts_at, hours="1")
    checkin.open_checkin(other)
    token = checkin.make_token(other, checkin.step_of(utcnow()))
    resp = client.get(f"/offline/c/{live_session.id}/{token}")
    assert resp.status_code == 400
    assert "属于另一场培训" in resp.get_data(as_text=True)  # Chinese by default
    login(client, make_person(ent).user)
    grant = parse_qs(urlsplit(scan(client, other)).query)["g"][0]
    resp = client.post(f"/offline/c/{live_session.id}/confirm", data={"g": grant, "action": "in"})
    assert resp.status_code == 400 and count(CheckIn) == 0


def test_checking_in_a_colleague_checks_in_only_oneself(client, make_person, ent, live_session):
    me, colleague = make_person(ent), make_person(ent)
    login(client, me.user)
    confirm = scan(client, live_session)
    grant = parse_qs(urlsplit(confirm).query)["g"][0]
    client.post(
        confirm.split("?")[0],
        data={"g": grant, "action": "in", "person_id": colleague.id, "person": colleague.employee_no},
    )
    assert checkin.check_in_of(live_session, colleague) is None
    assert checkin.check_in_of(live_session, me) is not None
    assert (
        db.session.scalar(
            select(func.count()).select_from(TrainingRecord).where(TrainingRecord.person_id == colleague.id)
        )
        == 0
    )


def test_a_learner_of_another_enterprise_cannot_check_in(client, make_person, make_enterprise, live_session):
    stranger = make_person(make_enterprise())
    login(client, stranger.user)
    confirm = scan(client, live_session)
    page = client.get(confirm)
    assert page.status_code == 404
    assert "属于其他企业" in page.get_data(as_text=True)
    grant = parse_qs(urlsplit(confirm).query)["g"][0]
    resp = client.post(confirm.split("?")[0], data={"g": grant, "action": "in"})
    assert resp.status_code == 404 and count(CheckIn) == 0


def test_check_in_after_the_session_closed_is_refused(client, make_person, ent, live_session):
    p = make_person(ent)
    login(client, p.user)
    confirm = scan(client, live_session)
    checkin.close_checkin(live_session)
    grant = parse_qs(urlsplit(confirm).query)["g"][0]
    resp = client.post(confirm.split("?")[0], data={"g": grant, "action": "in"})
    assert resp.status_code == 400 and count(CheckIn) == 0
    assert client.get(code_path_after_close(live_session)).status_code == 400


def code_path_after_close(s: OfflineSession) -> str:
    return f"/offline/c/{s.id}/{s.id}.{checkin.step_of(utcnow())}.{'A' * 20}"


def test_confirm_form_needs_csrf(client, make_person, ent, live_session, app, monkeypatch):
    p = make_person(ent)
    login(client, p.user)
    confirm = scan(client, live_session)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    grant = parse_qs(urlsplit(confirm).query)["g"][0]
    resp = client.post(confirm.split("?")[0], data={"g": grant, "action": "in"})
    assert resp.status_code == 400 and count(CheckIn) == 0


# ---------------------------------------------------------------- toolbox talks


def test_team_leader_starts_a_toolbox_talk_in_two_taps(client, make_person, ent):
    leader = make_person(ent, post="班组长", roles=("班组长",))
    login(client, leader.user)
    mine = client.get("/offline/mine").get_data(as_text=True)  # tap one: 我的线下培训
    assert 'id="quick-toolbox"' in mine
    resp = client.post("/offline/toolbox")  # tap two: start now (10 minutes, own department)
    assert resp.status_code == 302
    talk = db.session.scalar(select(OfflineSession).where(OfflineSession.kind == KIND_TOOLBOX))
    assert resp.headers["Location"].endswith(f"/offline/{talk.id}/checkin")
    assert talk.checkin_open and talk.enterprise_id == ent.id
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "data-checkin-url" in page
    assert client.get("/offline/toolbox").status_code == 200


def test_learner_who_is_not_a_team_leader_cannot_start_a_talk(client, login_as):
    login_as("learner")
    assert client.post("/offline/toolbox").status_code == 403
    page = client.get("/offline/toolbox")
    assert page.status_code == 200 and 'id="start-toolbox"' not in page.get_data(as_text=True)
    assert 'id="quick-toolbox"' not in client.get("/offline/mine").get_data(as_text=True)
    assert count(OfflineSession) == 0


def test_another_team_leader_cannot_show_my_talk(client, make_person, ent):
    one = make_person(ent, roles=("班组长",))
    two = make_person(ent, roles=("班组长",))
    talk = checkin.create_toolbox_talk(one.user)
    login(client, two.user)
    assert client.get(f"/offline/{talk.id}/checkin").status_code == 404
    assert client.get(f"/offline/{talk.id}/checkin/live").status_code == 404
    assert client.post(f"/offline/{talk.id}/checkin/close").status_code == 404
    assert talk.checkin_open


def test_pages_in_english(client, make_person, ent, live_session):
    p = make_person(ent, roles=("班组长",))
    p.user.locale = "en"
    login(client, p.user)
    page = client.get(scan(client, live_session)).get_data(as_text=True)
    assert "Check in now" in page


def test_check_in_register_pdf_and_xlsx(client, login_as, make_person, ent, live_session):
    import io

    import openpyxl
    from pypdf import PdfReader

    here = make_person(ent, name="王建", employee_no="R1")
    make_person(ent, name="=HYPERLINK(1)", employee_no="R2")  # expected, missing: a formula-looking name
    checkin.check_in(live_session, here, checkin.step_of(utcnow()))
    login_as("learner")
    assert client.get(f"/offline/{live_session.id}/checkin/register.pdf").status_code == 404
    client.post("/logout")
    login_as("manager")
    pdf = client.get(f"/offline/{live_session.id}/checkin/register.pdf")
    assert pdf.status_code == 200 and pdf.data[:5] == b"%PDF-"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "扫码签到记录" in text and "王建" in text and "未到" in text
    xlsx = client.get(f"/offline/{live_session.id}/checkin/register.xlsx")
    rows = [
        r for r in openpyxl.load_workbook(io.BytesIO(xlsx.data)).worksheets[0].iter_rows(values_only=True)
    ]
    cells = [c for r in rows for c in r if isinstance(c, str)]
    assert "王建" in cells and "未到" in cells
    assert not any(c.startswith("=") for c in cells)  # the safe writer neutralises formulas


def test_calendar_shows_local_times_and_marks_toolbox_talks(client, login_as, ent, make_session, make_person):
    login_as("trainer")
    make_session(ent, topic="受限空间", starts_at=dt.datetime(2026, 11, 12, 6, 0))  # 14:00 in Shanghai
    leader = make_person(ent, roles=("班组长",))
    checkin.create_toolbox_talk(leader.user, now=dt.datetime(2026, 11, 13, 23, 50))  # 07:50 on the 14th
    page = client.get("/offline/?month=2026-11").get_data(as_text=True)
    assert "14:00 受限空间" in page and "06:00 受限空间" not in page
    assert "07:50 班前安全讲话" in page and "班前会" in page
