"""SQLite: concurrent writers queue on the lock (BEGIN IMMEDIATE) instead of failing with "database is locked"."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, func, insert, select

from lms.core.db import READ, WRITE, make_engine, unit

pytestmark = pytest.mark.sqlite_only


def _hammer(url: str, immediate: bool, threads: int = 6, rounds: int = 15) -> tuple[int, list[str]]:
    engine = make_engine(url)
    meta = MetaData()
    counter = Table("counter", meta, Column("id", Integer, primary_key=True), Column("n", Integer))
    meta.create_all(engine)
    errors: list[str] = []

    def work() -> None:
        with unit(WRITE if immediate else READ):
            rounds_of_work()

    def rounds_of_work() -> None:
        for _ in range(rounds):
            try:
                with engine.begin() as conn:
                    # read then write: the classic upgrade-deadlock pattern under DEFERRED transactions
                    n = conn.execute(select(func.count()).select_from(counter)).scalar_one()
                    conn.execute(insert(counter).values(n=n))
            except Exception as exc:  # noqa: BLE001 - we count every failure
                errors.append(str(exc).splitlines()[0])

    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(counter)).scalar_one()
    engine.dispose()
    return total, errors


def test_concurrent_writers_queue(tmp_path):
    total, errors = _hammer(f"sqlite:///{tmp_path / 'w.sqlite3'}", immediate=True)
    assert errors == []
    assert total == 6 * 15


def test_wal_and_foreign_keys_are_on(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'p.sqlite3'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    engine.dispose()


def _holder(path, hold: threading.Event, release: threading.Event) -> threading.Thread:
    """A raw connection that takes the write lock, says so, and keeps it until ``release`` is set."""
    import sqlite3

    def run() -> None:
        raw = sqlite3.connect(path, isolation_level=None)
        raw.execute("BEGIN IMMEDIATE")
        hold.set()
        release.wait(10)
        raw.execute("COMMIT")
        raw.close()

    t = threading.Thread(target=run)
    t.start()
    assert hold.wait(5)
    return t


def test_writer_waits_for_the_lock_in_short_steps(tmp_path):
    """A queued writer gets the lock soon after it is released (SQLite's handler would sleep up to 100 ms)."""
    import time

    engine = make_engine(f"sqlite:///{tmp_path / 'q.sqlite3'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    hold, release = threading.Event(), threading.Event()
    t = _holder(tmp_path / "q.sqlite3", hold, release)
    threading.Timer(0.25, release.set).start()
    started = time.monotonic()
    with engine.begin() as conn:
        waited = time.monotonic() - started
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        # the connection's busy timeout is back for every other statement
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    t.join()
    # SQLite's own handler would look again only at 328 ms (after sleeps of 1, 2, 5 … 50, 100 ms)
    assert 0.24 <= waited < 0.25 + 0.04, waited
    engine.dispose()


def test_writer_gives_up_after_the_busy_timeout(tmp_path, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from lms.core import db as dbmod

    monkeypatch.setattr(dbmod, "BUSY_TIMEOUT_MS", 200)
    engine = make_engine(f"sqlite:///{tmp_path / 'g.sqlite3'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    hold, release = threading.Event(), threading.Event()
    t = _holder(tmp_path / "g.sqlite3", hold, release)
    try:
        with pytest.raises(OperationalError, match="locked"):
            with engine.begin() as conn:
                conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    finally:
        release.set()
        t.join()
    with engine.begin() as conn:  # the connection went back to the pool usable
        conn.exec_driver_sql("INSERT INTO t VALUES (2)")
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1
    engine.dispose()


def test_a_post_reads_its_user_outside_the_write_transaction(app, client, make_person, enterprise):
    """The user of a POST is read in a transaction ended before the request's own (write) statements begin."""
    from sqlalchemy import event as sa_event

    from lms.core.db import db
    from tests.conftest import login
    from tests.statements import recorded_statements, verb

    person = make_person(enterprise)
    db.session.commit()
    login(client, person.user)
    db.session.remove()
    seen: list[str] = []  # the session's own BEGIN and END, and the statements, in the order they came

    def on_begin(session, transaction, connection):  # noqa: ANN001
        seen.append("BEGIN")

    def on_end(session, transaction):  # noqa: ANN001
        if transaction.parent is None:
            seen.append("END")

    def label(statement: str) -> str:  # "login_session" for the user's read, else the first word
        user_read = verb(statement) == "SELECT" and "login_session" in statement.split("WHERE")[0]
        return "login_session" if user_read else verb(statement)

    sa_event.listen(db.session, "after_begin", on_begin)
    sa_event.listen(db.session, "after_transaction_end", on_end)
    try:
        with recorded_statements(skip=("SAVEPOINT", "RELEASE", "ROLLBACK"), into=seen):
            r = client.post("/logout")  # revokes the login session: a write after the user is known
    finally:
        sa_event.remove(db.session, "after_begin", on_begin)
        sa_event.remove(db.session, "after_transaction_end", on_end)
    seen = [label(s) for s in seen]  # (the session's "BEGIN" and "END" stay as they are)
    assert r.status_code in (302, 303), seen
    first_write = next(i for i, s in enumerate(seen) if s in ("UPDATE", "INSERT", "DELETE"))
    user_read = seen.index("login_session")
    assert seen[: user_read + 2] == ["BEGIN", "login_session", "END"], seen
    assert "BEGIN" in seen[user_read + 2 : first_write], seen
