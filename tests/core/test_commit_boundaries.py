"""Where a unit of work ends (CONTRIBUTING.md "The unit of work"): the request wrapper commits a write unit that
answers below 400 and rolls back the rest, views and services do not commit, a read unit never commits, and a
view that records a failure it answers with keeps it (``keep_on_error``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import abort
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from lms.core.db import db, keep_on_error
from lms.core.permissions import public
from lms.org.models import Enterprise, LoginSession
from tests.conftest import login

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("lms", "courses", "quizzes", "certificates")

# The top floor opens and ends units: the request wrapper, the job runner, the commands.
TOP_FLOOR = {
    "lms/app.py",
    "lms/core/db.py",
    "lms/core/jobs.py",
    "lms/commands.py",
    "lms/cli.py",
    "lms/demo.py",
}

# Every other commit, with its reason. A file that gains a commit fails the test below; one that loses one
# must say so here too, so that this list stays the list of what is left.
ALLOWED: dict[str, tuple[int, str]] = {
    "lms/org/signin.py": (
        1,
        "a sign-in commits its claims before the slow password checks, so that no transaction (on SQLite: the "
        "write lock) is held while hashing; the outcome is the request's unit",
    ),
    "lms/api/core.py": (
        4,
        "the API's call wrapper is the top floor of an API call: it counts the call against the key's limit in "
        "a unit of its own (kept under a 429), commits the call's work, and logs the call in a unit of its own",
    ),
    "lms/core/storage.py": (1, "the `storage sweep` command (a command is a top floor)"),
    "courses/jobs.py": (1, "a job shows 'processing' before its long step (a job's steps are its own units)"),
    "certificates/jobs.py": (
        1,
        "a bulk job commits each batch so that its progress shows and a failure keeps what was done",
    ),
    "lms/training/notifications.py": (1, "the `notify` command (a command is a top floor)"),
}

COMMIT = re.compile(r"\bsession(?:\(\))?\.commit\(\)")


def _top_floor(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return rel in TOP_FLOOR or name == "cli.py" or "/migrations/" in rel


def _commits() -> dict[str, int]:
    found: dict[str, int] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if _top_floor(rel):
                continue
            n = sum(
                1
                for line in path.read_text(encoding="utf-8").splitlines()
                if COMMIT.search(line.split("#")[0])
            )
            if n:
                found[rel] = n
    return found


def test_views_and_services_do_not_commit():
    found = _commits()
    gained = {f: n for f, n in found.items() if n > ALLOWED.get(f, (0, ""))[0]}
    assert not gained, (
        f"views and services do not commit: the request wrapper, the job runner and the commands do "
        f"(CONTRIBUTING.md, 'The unit of work'); a deliberate commit goes in ALLOWED with its reason: {gained}"
    )
    lost = {f: (n, found.get(f, 0)) for f, (n, _why) in ALLOWED.items() if found.get(f, 0) < n}
    assert not lost, f"fewer commits than ALLOWED says (allowed, found): update the list: {lost}"


# ---------------------------------------------------------------- the wrapper, with views of this test's own


@pytest.fixture
def probe(app):
    """Views that write an enterprise's name, then answer as told (added once to the test app)."""
    if "uow_probe" not in app.view_functions:

        @public
        def uow_probe(ent_id: int, how: str):
            ent = db.session.get(Enterprise, ent_id)
            ent.name = f"写过-{how}"
            db.session.flush()
            if how == "ok":
                return "ok"
            if how == "redirect":
                return "", 302, {"Location": "/"}
            if how == "answer-422":
                return "refused", 422
            if how == "abort-409":
                abort(409)
            if how == "raise":
                raise RuntimeError("the view failed")
            if how == "keep-429":
                keep_on_error()
                return "counted", 429
            if how == "keep-abort-429":
                keep_on_error()
                abort(429)
            raise AssertionError(how)

        @public
        def uow_read(ent_id: int):
            return db.session.get(Enterprise, ent_id).name

        first, app._got_first_request = app._got_first_request, False  # a test app that served requests
        try:
            app.add_url_rule("/_uow/<int:ent_id>/<how>", "uow_probe", uow_probe, methods=["POST"])
            app.add_url_rule("/_uow/<int:ent_id>", "uow_read", uow_read, methods=["GET"])
        finally:
            app._got_first_request = first
    return app


def _name_after(enterprise) -> str:
    db.session.rollback()  # what the request left uncommitted goes
    return db.session.scalar(select(Enterprise.name).where(Enterprise.id == enterprise.id))


@pytest.mark.parametrize("how", ["ok", "redirect"])
def test_a_write_unit_that_answers_below_400_is_committed_by_the_wrapper(probe, client, enterprise, how):
    db.session.commit()
    assert client.post(f"/_uow/{enterprise.id}/{how}").status_code in (200, 302)
    assert _name_after(enterprise) == f"写过-{how}"


@pytest.mark.parametrize(("how", "status"), [("answer-422", 422), ("abort-409", 409)])
def test_a_write_unit_that_answers_an_error_is_rolled_back(probe, client, enterprise, how, status):
    db.session.commit()
    before = enterprise.name
    assert client.post(f"/_uow/{enterprise.id}/{how}").status_code == status
    assert _name_after(enterprise) == before


def test_an_exception_rolls_the_unit_back(probe, client, enterprise):
    db.session.commit()
    before = enterprise.name
    with pytest.raises(RuntimeError):  # TESTING: Flask lets it through (else a 500 page)
        client.post(f"/_uow/{enterprise.id}/raise")
    assert _name_after(enterprise) == before


@pytest.mark.parametrize("how", ["keep-429", "keep-abort-429"])
def test_keep_on_error_commits_what_an_error_answer_recorded(probe, client, enterprise, how):
    db.session.commit()
    assert client.post(f"/_uow/{enterprise.id}/{how}").status_code == 429
    assert _name_after(enterprise) == f"写过-{how}"


def test_a_read_unit_never_commits(probe, client, enterprise):
    db.session.commit()
    commits: list[object] = []

    def count(session: Session) -> None:
        commits.append(session)

    event.listen(Session, "after_commit", count)
    try:
        r = client.get(f"/_uow/{enterprise.id}")
    finally:
        event.remove(Session, "after_commit", count)
    assert r.status_code == 200
    assert r.get_data(as_text=True) == enterprise.name
    # (signing the request's user in may end a read unit of its own; there is nobody signed in here)
    assert commits == []


# ---------------------------------------------------------------- real views


def test_a_post_view_that_does_not_commit_is_committed_by_the_wrapper(client, make_person, enterprise):
    """Sign-out ends the login session; the view has no commit of its own."""
    p = make_person(enterprise)
    login(client, p.user)
    with client.session_transaction() as s:
        token = s["_user_id"]
    assert client.post("/logout").status_code == 302
    db.session.rollback()
    ls = db.session.scalar(select(LoginSession).where(LoginSession.token == token))
    assert ls.revoked_at is not None


def test_a_failed_sign_in_is_kept_though_it_is_refused(client, make_person, enterprise):
    """The sign-in page keeps the failure it answers with (``keep_on_error``), including under a 429."""
    from lms.org.models import User

    p = make_person(enterprise)
    db.session.commit()
    statuses = [
        client.post("/login", data={"login": p.user.username, "password": "wrong"}).status_code
        for _ in range(8)
    ]
    assert 429 in statuses  # refused: throttled
    db.session.rollback()
    user = db.session.get(User, p.user.id)
    db.session.refresh(user)
    assert user.failed_sign_ins > 0 or user.sign_in_locked_until is not None
