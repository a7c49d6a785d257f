"""A sign-in rush is bounded (lms.core.slots, issue 20), by default: at most LMS_LOGIN_HASH_SLOTS password checks at
once on the host (half the cores), at most LMS_LOGIN_HASH_QUEUE threads of a process signing people in (half its
threads); past that the person gets the sign-in page again with "try again in a few seconds" (503, Retry-After),
and nothing is charged to the account or the address. The checks run outside any transaction."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from lms.core.config import instance_dir, load_config
from lms.core.db import db
from lms.core.slots import Busy, default_slots, hold, inside, place, slot, usable_cores
from lms.org import signin
from lms.org.models import LoginAttempt, User
from tests.conftest import TEST_PASSWORD

BUSY_TEXT = ("当前登录人数较多", "Many people are signing in")


def _hold(folder, name: str, i: int = 0) -> int:  # noqa: ANN001
    """Take slot ``i`` as another process would (its own open file description)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"{name}-{i}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _release(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def test_bounded_by_default_and_sized_from_cores_and_threads(monkeypatch):
    monkeypatch.delenv("LMS_LOGIN_HASH_SLOTS", raising=False)
    monkeypatch.delenv("LMS_LOGIN_HASH_QUEUE", raising=False)
    monkeypatch.delenv("LMS_THREADS", raising=False)
    policy = signin.Policy.from_config(load_config())
    assert policy.hash_slots == default_slots() == max(1, usable_cores() // 2) >= 1
    assert policy.hash_queue == 2  # half of scripts/run's 4 threads
    monkeypatch.setenv("LMS_THREADS", "8")
    assert signin.Policy.from_config(load_config()).hash_queue == 4
    monkeypatch.setenv("LMS_THREADS", "1")
    assert signin.Policy.from_config(load_config()).hash_queue == 1
    monkeypatch.setenv("LMS_LOGIN_HASH_SLOTS", "0")  # still possible to turn off
    assert signin.Policy.from_config(load_config()).hash_slots == 0


def test_slot_waits_then_refuses_and_bounds_threads(tmp_path):
    fd = _hold(tmp_path, "x")
    t0 = time.monotonic()
    with pytest.raises(Busy):
        with slot("x", slots=1, queue=2, wait=0.2, folder=tmp_path):
            pass
    assert time.monotonic() - t0 >= 0.2  # it waited before giving up
    with slot("x", slots=2, queue=2, wait=0.05, folder=tmp_path):  # a second slot is free
        pass
    _release(fd)
    entered = threading.Event()
    leave = threading.Event()

    def holder() -> None:
        with slot("x", slots=1, queue=1, wait=1, folder=tmp_path):
            entered.set()
            leave.wait(5)

    t = threading.Thread(target=holder)
    t.start()
    assert entered.wait(5)
    t0 = time.monotonic()
    with pytest.raises(Busy):  # this process already has its one thread inside: refused at once
        with slot("x", slots=5, queue=1, wait=1, folder=tmp_path):
            pass
    assert time.monotonic() - t0 < 0.5
    leave.set()
    t.join(5)
    with slot("x", slots=1, queue=1, wait=0.05, folder=tmp_path):
        pass
    with slot("x", slots=0, queue=0, wait=0, folder=tmp_path):  # 0 slots: unbounded
        pass


def test_place_and_slot_are_released_on_exceptions(tmp_path):
    with pytest.raises(ZeroDivisionError):
        with slot("y", slots=1, queue=1, wait=0.05, folder=tmp_path):
            assert inside("y") == 1
            1 / 0  # noqa: B018
    assert inside("y") == 0
    with pytest.raises(KeyError):
        with place("y", queue=1), hold("y", slots=1, wait=0.05, folder=tmp_path):
            raise KeyError("boom")
    assert inside("y") == 0
    fd = os.open(tmp_path / "y-0.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the file lock is free again (no OSError)
    _release(fd)


def test_sign_in_rush_asks_to_try_again_and_charges_nothing(
    app, client, enterprise, make_person, monkeypatch
):
    person = make_person(enterprise)
    db.session.commit()
    monkeypatch.setitem(app.config, "LOGIN_HASH_SLOTS", 1)
    monkeypatch.setitem(app.config, "LOGIN_HASH_WAIT_SECONDS", 0.05)
    folder = instance_dir() / "locks"
    attempts = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.user_id == person.user.id)
    fd = _hold(folder, "signin")
    try:
        resp = client.post("/login", data={"login": person.user.username, "password": TEST_PASSWORD})
    finally:
        _release(fd)
    assert resp.status_code == 503
    # Let in by the line (it was empty) but no check slot in time: come back shortly, the number kept.
    assert resp.headers["Retry-After"] == "1"
    assert float(resp.headers["X-Sign-In-Wait"]) >= signin.BUSY_RETRY_DUE
    page = resp.get_data(as_text=True)
    assert any(t in page for t in BUSY_TEXT)
    assert 'name="login"' in page and person.user.username in page  # the form again, the name kept
    assert db.session.scalar(attempts) == 0  # nothing recorded: not a failure of the account or the address
    db.session.expire_all()
    user = db.session.get(User, person.user.id)
    assert (user.failed_sign_ins or 0, user.last_failed_sign_in_at) == (0, None)  # the claim was given back
    assert inside("signin") == 0
    resp = client.post("/login", data={"login": person.user.username, "password": TEST_PASSWORD})
    assert resp.status_code in (302, 303)


def test_busy_page_is_translated(app, client, enterprise, make_person, monkeypatch):
    person = make_person(enterprise)
    db.session.commit()
    monkeypatch.setitem(app.config, "LOGIN_HASH_SLOTS", 1)
    monkeypatch.setitem(app.config, "LOGIN_HASH_WAIT_SECONDS", 0.01)
    fd = _hold(instance_dir() / "locks", "signin")
    try:
        pages = {}
        for lang in ("zh", "en"):
            client.get(f"/language/{lang}")
            r = client.post("/login", data={"login": person.user.username, "password": TEST_PASSWORD})
            assert r.status_code == 503
            pages[lang] = r.get_data(as_text=True)
    finally:
        _release(fd)
    assert "当前登录人数较多，请几秒后再试。" in pages["zh"]
    assert "Many people are signing in at this moment. Try again in a few seconds." in pages["en"]


def test_an_exception_while_checking_frees_the_slot(app, enterprise, make_person, monkeypatch):
    """A hash the checker cannot read raises inside the slot: the slot and the place are free afterwards."""
    person = make_person(enterprise)
    person.user.password_hash = "scrypt:notanumber:8:1$salt$00"
    db.session.commit()
    policy = signin.Policy(hash_slots=1, hash_queue=1, hash_wait=0.05)
    with app.test_request_context():
        with pytest.raises(ValueError):
            signin.authenticate(person.user.username, "whatever", "10.9.9.9", policy=policy)
    assert inside("signin") == 0
    with slot("signin", slots=1, queue=1, wait=0.05, folder=instance_dir() / "locks"):
        pass


# ---------------------------------------------------------------- over HTTP, threads against a real gunicorn


@pytest.fixture(scope="module")
def server(app: Any):
    from tests.reliability.conftest import Live

    live = Live(workers=1, threads=4)  # LMS_THREADS unset: the default queue, 2 of the 4 threads
    live.env.pop("LMS_LOGIN_HASH_QUEUE", None)
    live.env.pop("LMS_THREADS", None)
    live.env.update(LMS_LOGIN_HASH_SLOTS="1", LMS_LOGIN_HASH_WAIT_SECONDS="3", LMS_LOGIN_MAX_FAILURES="10")
    live.start()
    try:
        yield live
    finally:
        live.close()


def _seed(live: Any, n: int) -> list[str]:
    from werkzeug.security import generate_password_hash

    from lms.org.models import Enterprise, Person
    from tests.reliability.conftest import PASSWORD

    with live.db():
        code = f"S{uuid.uuid4().hex[:6]}"
        ent = Enterprise(code=code, name="登录高峰")
        db.session.add(ent)
        db.session.flush()
        pw = generate_password_hash(PASSWORD, method="scrypt")  # the real cost
        names = []
        for i in range(n):
            p = Person(enterprise_id=ent.id, employee_no=f"{code}-{i}", name=f"学员{i}")
            db.session.add(p)
            db.session.flush()
            u = User(
                username=f"{code.lower()}-{i}",
                password_hash=pw,
                display_name=p.name,
                app_role="learner",
                enterprise_id=ent.id,
                person_id=p.id,
                must_change_password=False,
            )
            db.session.add(u)
            names.append(u.username)
        db.session.commit()
    return names


def _post_login(live: Any, username: str) -> tuple[int, dict[str, str], bytes, float, float]:
    from tests.reliability.conftest import PASSWORD, Browser

    b = Browser(live.base)
    b.request("GET", "/login")
    t0 = time.monotonic()
    status, headers, body = b.request("POST", "/login", data={"login": username, "password": PASSWORD})
    return status, headers, body, time.monotonic() - t0, time.monotonic()


def _nobody_holds_a_transaction(live: Any) -> bool:
    """Whether the database is free of write transactions now (SQLite: its write lock can be taken at once;
    PostgreSQL: no other session of this database is inside a transaction)."""
    if live.engine.dialect.name == "sqlite":
        conn = sqlite3.connect(live.engine.url.database, timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:  # "database is locked"
            return False
        finally:
            conn.close()
    with live.engine.connect() as conn:
        n = conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
            )
        )
        return n == 0


def test_concurrent_sign_ins_over_the_bound_wait_or_get_the_busy_page(server):
    """4 people sign in at once into one worker of 4 threads while the host's only check slot is taken: 2 wait
    (the worker's 2 places), 2 are answered 503 at once; the other threads still answer; when the slot frees the
    2 waiting sign in. Nobody is charged a failure, and no transaction is open while they wait to hash."""
    names = _seed(server, 5)
    assert _nobody_holds_a_transaction(server), "before"
    fd = _hold(server.inst / "locks", "signin")
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(_post_login, server, u) for u in names[:4]]
            time.sleep(1.0)
            # Meanwhile the worker's free threads answer other requests, and nobody holds the database.
            t0 = time.monotonic()
            for _ in range(5):
                with urllib.request.urlopen(server.base + "/healthz", timeout=5) as r:
                    assert r.status == 200
            assert time.monotonic() - t0 < 2.5
            assert _nobody_holds_a_transaction(server)
            released = time.monotonic()
            _release(fd)
            fd = None
            results = [f.result(timeout=60) for f in futures]
    finally:
        if fd is not None:
            _release(fd)
    statuses = sorted(s for s, *_ in results)
    assert statuses == [302, 302, 503, 503], statuses
    for status, headers, body, took, ended in results:
        if status == 503:
            assert headers.get("Retry-After") == "1"  # third and fourth in line: a moment's wait
            assert any(t.encode() in body for t in BUSY_TEXT)
            assert ended < released and took < 1.0  # refused at once: the line lets 2 in at a time
        else:
            assert ended > released  # waited for the slot
    with server.db():
        users = db.session.scalars(select(User).where(User.username.in_(names[:4]))).all()
        assert [u.failed_sign_ins or 0 for u in users] == [0, 0, 0, 0]
        rows = db.session.execute(
            select(LoginAttempt.success, LoginAttempt.refused).where(
                LoginAttempt.user_id.in_([u.id for u in users])
            )
        ).all()
        assert sorted(rows) == [(True, False), (True, False)]  # the busy ones left no trace

    # A slot that does not free within the wait (3 s): the person waited, then gets the busy page; the failure
    # claimed before the check was given back. (The two sent away above never came back: a fresh line, else
    # their numbers would keep the window until the line's stall time.)
    (server.inst / "locks" / "signin.line").unlink()
    fd = _hold(server.inst / "locks", "signin")
    try:
        status, headers, body, took, _ended = _post_login(server, names[4])
    finally:
        _release(fd)
    assert status == 503 and headers.get("Retry-After") == "1"
    assert took >= 2.9
    with server.db():
        user = db.session.scalar(select(User).where(User.username == names[4]))
        assert (user.failed_sign_ins or 0, user.last_failed_sign_in_at) == (0, None)
        n = db.session.scalar(
            select(func.count()).select_from(LoginAttempt).where(LoginAttempt.user_id == user.id)
        )
        assert n == 0
    status, *_ = _post_login(server, names[4])
    assert status == 302
    assert "Traceback" not in server.log_text()


def test_a_browser_whose_session_ended_does_not_hash_inside_a_transaction(server):
    """Its cookie still names a user: reading that user opens the request's transaction (on PostgreSQL; SQLite
    reads it in a unit of its own). The sign-in still commits its claims and holds nothing while it waits for a
    check's slot and hashes."""
    from lms.core.db import utcnow
    from lms.org.models import LoginSession
    from tests.reliability.conftest import PASSWORD, Browser

    (name,) = _seed(server, 1)
    b = Browser(server.base)
    b.login(name)
    with server.db():
        db.session.execute(update(LoginSession).values(revoked_at=utcnow()))
        db.session.commit()
    assert b.request("GET", "/login")[0] == 200  # signed out: the sign-in page again
    fd = _hold(server.inst / "locks", "signin")
    out: dict[str, Any] = {}
    t = threading.Thread(
        target=lambda: out.update(r=b.request("POST", "/login", data={"login": name, "password": PASSWORD}))
    )
    try:
        t.start()
        time.sleep(1.0)
        assert _nobody_holds_a_transaction(server)
    finally:
        _release(fd)
        t.join(30)
    assert out["r"][0] == 302
