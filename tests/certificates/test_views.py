"""Pages: public verification (valid / expired / revoked / not found, masked name, rate limit), downloads,
managers' list, revoke, reissue, template editor."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image

from certificates import services
from certificates.models import REVOKED, Certificate
from lms.core.db import db
from lms.core.timeutil import today as local_today  # the enterprise's calendar day (Asia/Shanghai)
from tests.conftest import login

from .helpers import complete_course, course, decode_qr, pdf_text


@pytest.fixture
def cert(enterprise, make_person):
    person = make_person(enterprise, name="张建国", employee_no="E77123")
    complete_course(person, course(9300, title="有限空间作业安全培训"), score=87.5)
    [c] = services.certificates_for_person(person.id)
    c.holder = person  # keeps the account made by make_person reachable
    return c


def _link(c: Certificate, number: str | None = None, code: str | None = None) -> str:
    return f"/certificates/verify/{number or c.number}/{code or c.verification_code}"


def test_verify_valid_shows_only_public_facts(client, cert):
    resp = client.get(_link(cert))
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "verify-valid" in html
    assert "张*国" in html and "张建国" not in html
    assert "有限空间作业安全培训" in html and cert.enterprise_name in html and "2026-03-05" in html
    assert "E77123" not in html and "87.5" not in html
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    assert cert.verification_code not in main  # (the language links repeat the visited path only)


def test_verify_not_found_for_altered_code_or_number(client, cert):
    code = cert.verification_code
    altered = code[:-1] + ("A" if code[-1] != "A" else "B")
    wrong_code = client.get(_link(cert, code=altered))
    seq = int(cert.number.rsplit("-", 1)[1])
    other_number = cert.number.rsplit("-", 1)[0] + f"-{seq + 500:06d}"
    wrong_number = client.get(_link(cert, number=other_number))
    for resp in (wrong_code, wrong_number):
        assert resp.status_code == 404
        html = resp.get_data(as_text=True)
        assert "verify-not-found" in html and "张" not in html.split("<main", 1)[1]

    def strip(resp):
        return resp.get_data(as_text=True).split("<main", 1)[1].split("</main>", 1)[0]

    assert strip(wrong_code) == strip(wrong_number)  # the same answer whichever was wrong


def test_verify_expired_and_revoked(client, cert):
    services.set_valid_until(cert, local_today() - dt.timedelta(days=1))
    assert "verify-expired" in client.get(_link(cert)).get_data(as_text=True)
    services.revoke(cert, "考试作弊", actor=None)
    html = client.get(_link(cert)).get_data(as_text=True)
    assert "verify-revoked" in html and "考试作弊" not in html


def test_verify_form_ignores_spaces_and_case(client, cert):
    assert client.get("/certificates/verify").status_code == 200
    code = " ".join(cert.verification_code[i : i + 4] for i in range(0, 26, 4)).lower()
    resp = client.post("/certificates/verify", data={"number": cert.number.lower(), "code": code})
    assert resp.status_code == 200 and "verify-valid" in resp.get_data(as_text=True)


def test_verify_rate_limited_per_address(client, cert, app):
    env = {"REMOTE_ADDR": "203.0.113.9"}
    for i in range(10):
        assert client.get(_link(cert, code=f"WRONG{i}"), environ_base=env).status_code == 404
    assert client.get(_link(cert), environ_base=env).status_code == 429  # even the right code now
    assert (
        client.post(
            "/certificates/verify", data={"number": cert.number, "code": "x"}, environ_base=env
        ).status_code
        == 429
    )
    assert client.get(_link(cert), environ_base={"REMOTE_ADDR": "203.0.113.10"}).status_code == 200


def test_qr_in_downloaded_pdf_opens_the_verify_page(client, cert, make_person, enterprise):
    login(client, cert.holder.user)
    resp = client.get(f"/certificates/{cert.id}/pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = pdf_text(resp.data)
    assert "张建国" in text and cert.number in text and "有限空间作业安全培训" in text
    [url] = decode_qr(resp.data)
    assert url.startswith("http://lms.test/")
    assert "verify-valid" in client.get(url.removeprefix("http://lms.test")).get_data(as_text=True)
    services.revoke(cert, "错误", actor=None)
    assert "verify-revoked" in client.get(url.removeprefix("http://lms.test")).get_data(as_text=True)


def test_learner_sees_only_own_certificates(client, cert, enterprise, make_person):
    other = make_person(enterprise, name="王五")
    login(client, other.user)
    assert client.get(f"/certificates/{cert.id}/pdf").status_code == 404
    html = client.get("/certificates/mine").get_data(as_text=True)
    assert cert.number not in html
    assert client.get("/certificates/").status_code == 403
    # Another learner's certificate page: 404 (never say it exists); learners may open their own (issue 16).
    assert client.get(f"/certificates/{cert.id}").status_code == 404
    client.post("/logout")
    login(client, cert.holder.user)
    html = client.get("/certificates/mine").get_data(as_text=True)
    assert cert.number in html
    assert client.get(f"/certificates/{cert.id}").status_code == 200


def test_staff_of_another_enterprise_gets_404(client, cert, make_enterprise, make_person):
    stranger = make_person(make_enterprise(), app_role="manager")
    login(client, stranger.user)
    assert client.get(f"/certificates/{cert.id}/pdf").status_code == 404
    assert client.get(f"/certificates/{cert.id}").status_code == 404
    assert cert.number not in client.get("/certificates/").get_data(as_text=True)


def test_manager_filters_revokes_and_reissues(client, cert, enterprise, make_person, login_as):
    soon = services.issue(
        make_person(enterprise, name="赵六"),
        kind="manual",
        source="soon",
        title="消防安全",
        valid_until=local_today() + dt.timedelta(days=10),
    ).certificate
    old = services.issue(
        make_person(enterprise, name="钱七"),
        kind="manual",
        source="old",
        title="用电安全",
        valid_until=local_today() - dt.timedelta(days=10),
    ).certificate
    login_as("manager")
    page = lambda **q: client.get("/certificates/", query_string=q).get_data(as_text=True)  # noqa: E731
    html = page()
    assert all(c.number in html for c in (cert, soon, old))
    html = page(q="赵六")
    assert soon.number in html and cert.number not in html
    html = page(q=cert.number)
    assert cert.number in html and soon.number not in html
    html = page(status="expired")
    assert old.number in html and cert.number not in html and soon.number not in html
    html = page(expiring=30)
    assert soon.number in html and old.number not in html and cert.number not in html

    resp = client.post(f"/certificates/{soon.id}/revoke", data={"reason": ""})
    assert resp.status_code == 302 and soon.status != REVOKED
    client.post(f"/certificates/{soon.id}/revoke", data={"reason": "信息有误"})
    db.session.refresh(soon)
    assert soon.status == REVOKED and soon.revoked_reason == "信息有误"
    assert soon.number in page(status="revoked") and cert.number not in page(status="revoked")

    resp = client.post(f"/certificates/{cert.id}/reissue")
    assert resp.status_code == 302
    db.session.refresh(cert)
    new = services.reissued_as(cert)
    assert cert.status == REVOKED and cert.revoked_reason == "reissued" and new is not None
    assert resp.headers["Location"].endswith(f"/certificates/{new.id}")
    detail = client.get(f"/certificates/{new.id}").get_data(as_text=True)
    assert cert.number in detail and "E77123" in detail
    assert client.get(f"/certificates/{cert.id}/pdf").status_code == 200  # staff may fetch a revoked one


def test_trainer_reads_but_cannot_revoke(client, cert, login_as):
    login_as("trainer")
    assert client.get("/certificates/").status_code == 200
    assert client.post(f"/certificates/{cert.id}/revoke", data={"reason": "x"}).status_code == 403
    assert client.get("/certificates/template").status_code == 403


def test_template_editor_and_preview(client, enterprise, login_as):
    login_as("manager")
    assert client.get("/certificates/template").status_code == 200
    png = io.BytesIO()
    Image.new("RGB", (300, 120), (10, 60, 120)).save(png, "PNG")
    resp = client.post(
        "/certificates/template",
        data={
            "title": "安全培训合格证书",
            "subtitle": "",
            "primary_color": "#aa0000",
            "accent_color": "#c9a227",
            "wording": "{name} 完成《{course}》",
            "issuer": "华安化工",
            "number_prefix": "HA",
            "landscape": "y",
            "logo": (io.BytesIO(png.getvalue()), "logo.png"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    tpl = services.get_template(enterprise.id)
    assert (
        tpl.title == "安全培训合格证书" and tpl.number_prefix == "HA" and tpl.logo_file_id and tpl.version > 1
    )
    resp = client.post(
        "/certificates/template",
        data={
            "title": "x",
            "primary_color": "#aa0000",
            "accent_color": "#c9a227",
            "wording": "w",
            "seal": (io.BytesIO(b"not an image"), "seal.png"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302 and services.get_template(enterprise.id).seal_file_id is None
    preview = client.get("/certificates/template/preview")
    assert preview.status_code == 200 and preview.mimetype == "application/pdf"
    text = pdf_text(preview.data)
    assert "安全培训合格证书" in text and "华安化工" in text and "张建国" in text
