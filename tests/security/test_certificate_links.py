"""Certificates point only where they should: a forged Host header never reaches a QR code or an absolute link.

Seen on the landed main: with LMS_PUBLIC_URL unset, ``GET /certificates/<id>/pdf`` sent with ``Host: evil.example``
made a genuine certificate whose QR code opened ``http://evil.example/certificates/verify/…``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from certificates import services
from lms.core.db import db
from tests.certificates.helpers import complete_course, course, decode_qr, pdf_text
from tests.conftest import TEST_PASSWORD, login

EVIL = "evil.example"


@pytest.fixture
def cert(enterprise, make_person):
    person = make_person(enterprise, name="孙证书", employee_no="E88001")
    complete_course(person, course(9400, title="动火作业安全培训"))
    [c] = services.certificates_for_person(person.id)
    c.holder = person
    db.session.commit()
    return c


@pytest.fixture
def no_public_url(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", None)
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", None)


def _login_at(client, user, host: str) -> None:
    """Sign in through the form with ``host`` as the Host header (cookies are kept per host)."""
    r = client.post(
        "/login", data={"login": user.username, "password": TEST_PASSWORD}, headers={"Host": host}
    )
    assert r.status_code == 302


def _pdf(client, cert, host: str | None = None):
    headers = {"Host": host} if host else {}
    return client.get(f"/certificates/{cert.id}/pdf", headers=headers)


def test_forged_host_never_reaches_the_qr_code(app, client, cert, no_public_url):
    _login_at(client, cert.holder.user, EVIL)
    resp = _pdf(client, cert, EVIL)
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    [url] = decode_qr(resp.data)
    assert EVIL not in url
    assert url.endswith(f"/certificates/verify/{cert.number}/{cert.verification_code}")
    assert EVIL.encode() not in resp.data and EVIL not in pdf_text(resp.data)
    # The same host asked again (or any other) gets the same, stored PDF: nothing depends on the header.
    _login_at(client, cert.holder.user, "another.example")
    again = _pdf(client, cert, "another.example")
    assert decode_qr(again.data) == [url]


def test_untrusted_host_is_refused_when_trusted_hosts_are_set(app, client, cert, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", None)
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", ["lms.test", "127.0.0.1", "localhost"])
    login(client, cert.holder.user)
    assert _pdf(client, cert, EVIL).status_code == 400
    resp = _pdf(client, cert, "lms.test")
    assert resp.status_code == 200
    [url] = decode_qr(resp.data)
    assert url == f"http://lms.test/certificates/verify/{cert.number}/{cert.verification_code}"


def test_public_url_wins_over_any_host(app, client, cert, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://lms.example.cn")
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", None)
    _login_at(client, cert.holder.user, EVIL)
    resp = _pdf(client, cert, EVIL)
    [url] = decode_qr(resp.data)
    assert url == f"https://lms.example.cn/certificates/verify/{cert.number}/{cert.verification_code}"


def test_trusted_hosts_setting_and_the_run_script_default(monkeypatch):
    from lms.core.config import load_config

    monkeypatch.setenv("LMS_TRUSTED_HOSTS", "lms.factory.cn, .intra.example")
    monkeypatch.setenv("LMS_PUBLIC_URL", "https://training.example.cn/")
    assert load_config()["TRUSTED_HOSTS"] == ["lms.factory.cn", ".intra.example", "training.example.cn"]
    monkeypatch.delenv("LMS_TRUSTED_HOSTS")
    assert load_config()["TRUSTED_HOSTS"] is None
    run = (Path(__file__).parents[2] / "scripts" / "run").read_text()
    assert 'LMS_TRUSTED_HOSTS="${LMS_TRUSTED_HOSTS:-127.0.0.1,localhost}"' in run


# ---------------------------------------------------------------- a learner's own certificate page


def test_learner_opens_own_certificate_page(client, cert, enterprise, make_person):
    login(client, cert.holder.user)
    resp = client.get(f"/certificates/{cert.id}")
    assert resp.status_code == 200  # was 403 while the PDF worked
    page = resp.get_data(as_text=True)
    assert cert.number in page and "动火作业安全培训" in page
    assert f"/certificates/{cert.id}/pdf" in page
    assert "/revoke" not in page and "/reissue" not in page  # the managers' actions are not offered
    assert f"/certificates/{cert.id}" in client.get("/certificates/mine").get_data(as_text=True)
    client.post("/logout")

    other = make_person(enterprise, name="周旁人")
    login(client, other.user)
    assert client.get(f"/certificates/{cert.id}").status_code == 404  # never say it exists


def test_learner_sees_own_revoked_certificate_without_a_download(client, cert):
    services.revoke(cert, "信息有误", actor=None)
    db.session.commit()
    login(client, cert.holder.user)
    resp = client.get(f"/certificates/{cert.id}")
    assert resp.status_code == 200
    assert f"/certificates/{cert.id}/pdf" not in resp.get_data(as_text=True)
    assert client.get(f"/certificates/{cert.id}/pdf").status_code == 404
