"""A sign-in rush is bounded (lms.core.slots, issue 20): at most LMS_LOGIN_HASH_SLOTS password checks at once on
the host, a few threads per process holding or waiting for one; past the wait the person is asked to try again
and nothing is charged to the account or the address."""

from __future__ import annotations

import fcntl
import os
import threading

import pytest
from sqlalchemy import func, select

from lms.core.config import instance_dir
from lms.core.db import db
from lms.core.slots import Busy, slot
from lms.org.models import LoginAttempt
from tests.conftest import TEST_PASSWORD


def _hold(folder, name: str, i: int = 0) -> int:  # noqa: ANN001
    """Take slot ``i`` as another process would (its own open file description)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"{name}-{i}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _release(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def test_slot_waits_then_refuses_and_bounds_threads(tmp_path):
    fd = _hold(tmp_path, "x")
    with pytest.raises(Busy):
        with slot("x", slots=1, queue=2, wait=0.05, folder=tmp_path):
            pass
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
    with pytest.raises(Busy):  # this process already has its one thread inside: refused at once
        with slot("x", slots=5, queue=1, wait=1, folder=tmp_path):
            pass
    leave.set()
    t.join(5)
    with slot("x", slots=1, queue=1, wait=0.05, folder=tmp_path):
        pass
    with slot("x", slots=0, queue=0, wait=0, folder=tmp_path):  # 0 slots: unbounded
        pass


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
    assert resp.status_code == 429
    page = resp.get_data(as_text=True)
    assert "当前登录人数较多" in page or "Many people are signing in" in page
    assert db.session.scalar(attempts) == 0  # nothing recorded: not a failure of the account or the address
    resp = client.post("/login", data={"login": person.user.username, "password": TEST_PASSWORD})
    assert resp.status_code in (302, 303)
