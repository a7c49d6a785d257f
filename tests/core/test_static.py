"""Static files: content-hashed URLs served with a year-long immutable cache (lms.core.static, issue 20)."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest
from flask import url_for
from sqlalchemy import event
from sqlalchemy.orm import Session

from lms.core.static import IMMUTABLE, ContentHashes
from tests.statements import recorded_statements


def _hash_of(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def test_static_urls_carry_the_content_hash(app):
    with app.test_request_context("/"):
        core = url_for("static", filename="css/app.css")
        feature = url_for("quizzes.static", filename="quizzes/exam.js")
        missing = url_for("static", filename="css/no-such-file.css")
    assert core.endswith("/static/css/app.css?v=" + _hash_of(os.path.join(app.static_folder, "css/app.css")))
    bp = app.blueprints["quizzes"]
    assert feature.endswith(
        "/quizzes/static/quizzes/exam.js?v=" + _hash_of(os.path.join(bp.static_folder, "quizzes/exam.js"))
    )
    assert "v=" not in missing  # nothing to hash: the plain URL (a 404 as before)


def test_pages_link_hashed_static_files(client, login_as):
    login_as("learner")
    page = client.get("/quizzes/").get_data(as_text=True)
    links = re.findall(r'(?:href|src)="([^"]*/static/[^"]+)"', page)
    assert links and all(re.search(r"\?v=[0-9a-f]{12}$", u) for u in links), links


def test_current_hash_is_cached_for_a_year_and_revalidates(app, client):
    with app.test_request_context("/"):
        url = url_for("static", filename="css/app.css").replace("http://lms.test", "")
    resp = client.get(url)
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == IMMUTABLE == "public, max-age=31536000, immutable"
    assert "Expires" not in resp.headers
    body = Path(app.static_folder, "css/app.css").read_bytes()
    assert resp.get_data() == body
    again = client.get(url, headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304 and again.headers["Cache-Control"] == IMMUTABLE


def test_plain_and_old_hashes_are_still_served_but_revalidated(client):
    plain = client.get("/static/css/app.css")
    old = client.get("/static/css/app.css?v=000000000000")  # a page rendered before the file changed
    for resp in (plain, old):
        assert resp.status_code == 200
        assert "immutable" not in resp.headers["Cache-Control"]
        assert "no-cache" in resp.headers["Cache-Control"] and resp.headers.get("ETag")
    assert client.get("/static/css/nothing-here.css?v=000000000000").status_code == 404


@pytest.fixture
def statements(app):
    """Every SQL statement and every transaction begun by a session while the test runs."""
    seen: list[str] = []

    def on_begin(session, transaction, connection):
        seen.append("session begins a transaction")

    event.listen(Session, "after_begin", on_begin)
    try:
        with recorded_statements(into=seen):
            yield seen
    finally:
        event.remove(Session, "after_begin", on_begin)


def _no_session(resp) -> None:
    assert "Set-Cookie" not in resp.headers, resp.headers.get("Set-Cookie")
    assert "cookie" not in resp.headers.get("Vary", "").lower(), resp.headers.get("Vary")


def test_a_static_file_is_the_same_for_everyone_and_costs_no_sql(app, client, login_as, statements):
    """Signed in (a session cookie on every request): a static file neither reads nor writes the session,
    loads no user and runs no statement; a hashed URL is kept for a year, a plain one revalidates."""
    login_as("learner")
    with app.test_request_context("/"):
        urls = [
            url_for("static", filename="css/app.css").replace("http://lms.test", ""),
            url_for("quizzes.static", filename="quizzes/exam.js").replace("http://lms.test", ""),
        ]
    assert client.get("/training/mine").status_code == 200  # the session is live: a page loads the user
    statements.clear()
    for url in urls:
        hashed = client.get(url)
        assert hashed.status_code == 200 and hashed.headers["Cache-Control"] == IMMUTABLE, url
        _no_session(hashed)
        again = client.get(url, headers={"If-None-Match": hashed.headers["ETag"]})
        assert again.status_code == 304 and again.headers["Cache-Control"] == IMMUTABLE
        _no_session(again)
        plain = client.get(url.split("?")[0])
        assert plain.status_code == 200 and "immutable" not in plain.headers["Cache-Control"]
        assert (
            "no-cache" in plain.headers["Cache-Control"] and plain.headers["ETag"] == hashed.headers["ETag"]
        )
        _no_session(plain)
        revalidated = client.get(url.split("?")[0], headers={"If-None-Match": plain.headers["ETag"]})
        assert revalidated.status_code == 304 and not revalidated.get_data()
        _no_session(revalidated)
        assert client.head(url).status_code == 200
    assert statements == []
    page = client.get("/training/mine")  # pages still keep the session (and vary by it)
    assert page.status_code == 200 and "cookie" in page.headers.get("Vary", "").lower()
    assert statements, "the counter sees a page's statements"


def test_hash_follows_the_content(tmp_path):
    hashes = ContentHashes()
    f = tmp_path / "a.css"
    f.write_text("body { color: red }")
    first = hashes.of(str(f))
    assert first == _hash_of(str(f)) and hashes.of(str(f)) == first
    f.write_text("body { color: blue; }")
    os.utime(f, ns=(1, 1))  # even with an old modification time: the size changed
    second = hashes.of(str(f))
    assert second != first and second == _hash_of(str(f))
    f.write_text("body { color: blue, }")  # same size, new modification time
    os.utime(f, ns=(2_000_000_000, 2_000_000_000))
    assert hashes.of(str(f)) == _hash_of(str(f)) != second
    assert hashes.of(str(tmp_path / "gone.css")) is None


def test_every_page_names_its_icon(client):
    """A page without an icon makes the browser ask for /favicon.ico (a 404 and a console error every page)."""
    page = client.get("/login").get_data(as_text=True)
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    assert icon, "the page names no icon"
    got = client.get(icon[1])
    assert got.status_code == 200 and got.data.startswith(b"<svg")


def test_favicon_ico_leads_to_the_icon(client):
    """A photo or a PDF opened on its own has no page to name an icon: the browser asks /favicon.ico (a 404 in
    the console of the next page before)."""
    got = client.get("/favicon.ico")
    assert got.status_code == 301
    assert client.get(got.headers["Location"]).status_code == 200
