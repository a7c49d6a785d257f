"""The signed-in floor (issue 20): what every request pays stays as safe as before while it costs less.

The session cookie's signature is checked once per cookie text (lms.core.signed), yet an altered, expired or
re-keyed cookie is still refused; the security headers are added in one pass but a view's own are kept; a GET
passes CSRF without a token while a POST still needs one; the user is one statement and a revoked login session
signs the browser out at once.
"""

from __future__ import annotations

import time

import pytest
from flask import Response, g, request
from sqlalchemy import update

from lms.core.db import db, utcnow
from lms.core.signed import CookieSessionInterface
from tests.conftest import login
from tests.statements import TRANSACTION, recorded_statements


def _session_cookie(client, app) -> str:  # noqa: ANN001
    name = app.config["SESSION_COOKIE_NAME"]
    return next(c.value for c in client._cookies.values() if c.key == name)


def _open(app, iface: CookieSessionInterface, cookie: str):  # noqa: ANN001, ANN202
    headers = {"Cookie": f"{app.config['SESSION_COOKIE_NAME']}={cookie}"}
    with app.test_request_context("/", headers=headers):
        return iface.open_session(app, request)


@pytest.fixture
def signed_cookie(app, client, enterprise, make_person):  # noqa: ANN001, ANN201
    person = make_person(enterprise)
    db.session.commit()
    login(client, person.user)
    return _session_cookie(client, app)


def test_a_checked_cookie_is_read_again_without_its_signature_but_never_a_changed_one(app, signed_cookie):
    iface = CookieSessionInterface()
    first = _open(app, iface, signed_cookie)
    assert first.get("_user_id")
    again = _open(app, iface, signed_cookie)  # remembered: same content
    assert dict(again) == dict(first) and again is not first
    again["_flashes"] = [("x", "y")]  # a change to one request's session does not leak into the next
    assert "_flashes" not in _open(app, iface, signed_cookie)
    payload, stamp, sig = signed_cookie.rsplit(".", 2)
    # (not the last character: base64 leaves its low bits unused, so some changes there decode the same)
    forged_sig = ("A" if sig[0] != "A" else "B") + sig[1:]
    assert dict(_open(app, iface, f"{payload}.{stamp}.{forged_sig}")) == {}
    assert dict(_open(app, iface, f"{payload}x.{stamp}.{sig}")) == {}


def test_an_expired_cookie_is_refused_even_when_remembered(app, signed_cookie, monkeypatch):
    iface = CookieSessionInterface()
    assert _open(app, iface, signed_cookie).get("_user_id")
    lifetime = int(app.permanent_session_lifetime.total_seconds())
    later = time.time() + lifetime + 5
    monkeypatch.setattr(time, "time", lambda: later)
    assert dict(_open(app, iface, signed_cookie)) == {}


def test_a_new_secret_key_refuses_remembered_cookies(app, signed_cookie, monkeypatch):
    iface = CookieSessionInterface()
    assert _open(app, iface, signed_cookie).get("_user_id")
    monkeypatch.setattr(app, "secret_key", "another key entirely")
    assert dict(_open(app, iface, signed_cookie)) == {}


def test_the_app_uses_the_checked_cookie_interface(app):
    inner = getattr(app.session_interface, "inner", app.session_interface)  # (static files wrap it)
    assert isinstance(inner, CookieSessionInterface)


def test_security_headers_on_every_kind_of_answer_and_a_views_own_kept(app):
    with app.test_request_context("/"):
        html = app.process_response(Response("<p>x</p>", mimetype="text/html"))
        as_json = app.process_response(Response("{}", mimetype="application/json"))
        own = app.process_response(
            Response(
                "x",
                mimetype="text/html",
                headers={"content-security-policy": "default-src 'none'", "Cache-Control": "private"},
            )
        )
    for resp in (html, as_json, own):
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert resp.headers["Referrer-Policy"] == "same-origin"
        assert resp.headers["Permissions-Policy"]
    assert "default-src 'self'" in html.headers["Content-Security-Policy"]
    assert html.headers["Cache-Control"] == "no-store"
    assert "Cache-Control" not in as_json.headers
    assert own.headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert own.headers.getlist("Cache-Control") == ["private"]


def test_csrf_lets_a_get_through_and_refuses_a_post_without_token(
    app, client, enterprise, make_person, monkeypatch
):
    person = make_person(enterprise)
    db.session.commit()
    login(client, person.user)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert client.get("/account").status_code == 200
    assert client.post("/logout").status_code == 400
    assert client.post("/logout", headers={"X-CSRFToken": "forged"}).status_code == 400
    assert client.get("/account").status_code == 200  # still signed in


def test_the_user_is_one_statement_and_a_revoked_session_signs_out_at_once(
    app, client, enterprise, make_person
):
    from lms.org.models import LoginSession

    person = make_person(enterprise)
    db.session.commit()
    login(client, person.user)
    with recorded_statements(skip=TRANSACTION) as seen:
        assert client.get("/account").status_code == 200
    user_reads = [s for s in seen if "login_session" in s]
    assert len(user_reads) == 1, seen
    db.session.execute(
        update(LoginSession).where(LoginSession.user_id == person.user.id).values(revoked_at=utcnow())
    )
    db.session.commit()
    r = client.get("/account")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_csrf_of_a_json_post_comes_from_its_header(app, client, enterprise, make_person, monkeypatch):
    """An autosave-like JSON POST: the X-CSRFToken header is checked; no token, or a forged one, is refused."""
    import re

    person = make_person(enterprise)
    db.session.commit()
    login(client, person.user)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    g.pop(
        "csrf_token", None
    )  # (the tests' app context outlives requests: a token of an earlier test's session)
    page = client.get("/account").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page) or re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', page
    )
    assert token, page[:300]
    body = {"x": 1}
    # /logout takes any body: refused without the header, or with a forged one, through the CSRF error page
    assert client.post("/logout", json=body).status_code == 400
    assert client.post("/logout", json=body, headers={"X-CSRFToken": token.group(1) + "x"}).status_code == 400
    r = client.post("/logout", json=body, headers={"X-CSRFToken": token.group(1)})
    assert r.status_code in (302, 303)


def _pinging_engine(url: str, monkeypatch):  # noqa: ANN001, ANN202
    from sqlalchemy import create_engine

    from lms.core import db as dbmod

    engine = dbmod.make_engine(url) if url.startswith("postgresql") else create_engine(url)
    if not url.startswith("postgresql"):
        dbmod._ping_idle_connections(engine)
    pings: list[int] = []
    real = engine.dialect.do_ping

    def counted(conn):  # noqa: ANN001, ANN202
        pings.append(1)
        return real(conn)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return engine, pings


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_pooled_connection_is_pinged_only_after_idling_and_replaced_when_dead(kind, tmp_path, monkeypatch):
    import os

    from sqlalchemy import text

    from lms.core import db as dbmod

    if kind == "postgresql":
        url = os.environ.get("LMS_TEST_DATABASE_URL", "")
        if not url.startswith("postgresql"):
            pytest.skip("PostgreSQL not configured")
    else:
        url = f"sqlite:///{tmp_path / 'ping.sqlite3'}"
    engine, pings = _pinging_engine(url, monkeypatch)
    try:
        for _ in range(3):  # used one after another: no ping (a new connection is not pinged either)
            with engine.connect() as conn:
                assert conn.execute(text("SELECT 1")).scalar() == 1
        assert pings == []
        monkeypatch.setattr(dbmod, "PING_AFTER_IDLE_SECONDS", 0.0)  # every connection counts as idle now
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            dead = conn.connection.dbapi_connection
        assert pings == [1]
        dead.close()  # the server went away while it sat in the pool
        with engine.connect() as conn:  # the ping fails, the connection is replaced, the work goes on
            assert conn.execute(text("SELECT 1")).scalar() == 1
            assert conn.connection.dbapi_connection is not dead
    finally:
        engine.dispose()
