"""Every absolute link, not only a certificate's QR code, ignores a forged Host header (issue 16).

The attack of tests/security/test_certificate_links.py, on the other pages that print an absolute URL: with
LMS_PUBLIC_URL unset, a request sent with ``Host: evil.example`` must not make the page show (or a cache keep) a
link to evil.example. Absolute links come from ``lms.core.urls.public_base`` alone.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lms.core.db import db
from tests.conftest import TEST_PASSWORD

EVIL = "evil.example"
ROOT = Path(__file__).parents[2]


@pytest.fixture
def no_public_url(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", None)
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", None)


def test_api_reference_never_shows_a_forged_host(client, no_public_url):
    page = client.get("/api/v1/docs", headers={"Host": EVIL})
    assert page.status_code == 200
    assert EVIL not in page.get_data(as_text=True)


def test_api_reference_uses_the_public_url(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://lms.example.cn")
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", None)
    page = client.get("/api/v1/docs", headers={"Host": EVIL}).get_data(as_text=True)
    assert EVIL not in page and "https://lms.example.cn/api/v1/people" in page


def test_new_api_key_page_never_shows_a_forged_host(client, enterprise, make_person, no_public_url):
    manager = make_person(enterprise, app_role="manager")
    db.session.commit()
    r = client.post(
        "/login", data={"login": manager.user.username, "password": TEST_PASSWORD}, headers={"Host": EVIL}
    )
    assert r.status_code == 302
    r = client.post(
        "/api/keys",
        data={"kind": "enterprise", "name": "人事同步", "scopes": ["people:read"], "rate_per_minute": "60"},
        headers={"Host": EVIL},
    )
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and re.search(r"lms_[0-9a-f]{8}_", page)  # the key was made and shown
    assert EVIL not in page


def test_no_code_builds_a_link_from_the_request_host():
    """Only lms/core/urls.py reads the request's host (and only when it is trusted)."""
    pattern = re.compile(r"request\.(host_url|url_root|host\b|base_url)|_external\s*=\s*True")
    found = []
    for package in ("lms", "courses", "quizzes", "certificates"):
        for path in (ROOT / package).rglob("*"):
            if (
                path.suffix not in (".py", ".html", ".txt")
                or path.relative_to(ROOT).as_posix() == "lms/core/urls.py"
            ):
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if pattern.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert found == []
