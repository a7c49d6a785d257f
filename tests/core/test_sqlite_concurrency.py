"""SQLite: concurrent writers queue on the lock (BEGIN IMMEDIATE) instead of failing with "database is locked"."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, func, insert, select

from lms.core.db import make_engine, write_intent

pytestmark = pytest.mark.sqlite_only


def _hammer(url: str, immediate: bool, threads: int = 6, rounds: int = 15) -> tuple[int, list[str]]:
    engine = make_engine(url)
    meta = MetaData()
    counter = Table("counter", meta, Column("id", Integer, primary_key=True), Column("n", Integer))
    meta.create_all(engine)
    errors: list[str] = []

    def work() -> None:
        write_intent.set(immediate)
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
