"""Database engine, the request-scoped session and the declarative ``Base``.

SQLite is tuned for a small server: WAL, foreign keys, a busy timeout, and write transactions begun
IMMEDIATE so that concurrent writers queue on the lock instead of failing with "database is locked".
Requests that only read (GET/HEAD) begin DEFERRED so that readers never queue behind a writer.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import DateTime, MetaData, create_engine, event, func
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, scoped_session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# False while serving a request that should only read; see module docstring.
write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("lms_write_intent", default=True)


class Base(DeclarativeBase):
    """Declarative base of every model, with a constraint naming convention for Alembic."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    """Return the current UTC time as a naive datetime (the database stores UTC without zone)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class TimestampMixin:
    """A ``created_at`` column filled on insert."""

    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, server_default=func.now())


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (needed for IMMEDIATE and savepoints).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if write_intent.get():
            _begin_immediate(conn)
        else:
            conn.exec_driver_sql("BEGIN")


# Waiting for the write lock. SQLite's own busy handler sleeps 1, 2, 5, 10 … 100 ms between tries, so under
# load a queued writer goes on sleeping long after the lock is free (a video heartbeat holds it for about a
# millisecond). BEGIN IMMEDIATE is where our writers wait (in WAL mode, once it succeeds nothing else in the
# transaction waits for the lock), so it retries here in short steps instead (0.1 ms, growing to 0.5 ms; with
# steps of up to 2 ms the lock still stood idle between writers: 780 heartbeats/s against 1,000-1,030 with these,
# bench/README.md); every other statement keeps the connection's busy timeout.
BUSY_TIMEOUT_MS = 30000
_FIRST_WAIT, _LONGEST_WAIT = 0.0001, 0.0005


def _begin_immediate(conn: Any) -> None:
    dbapi_conn = conn.connection.dbapi_connection
    dbapi_conn.execute("PRAGMA busy_timeout=0")
    try:
        deadline = None
        wait = _FIRST_WAIT
        while True:
            try:
                dbapi_conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                now = time.monotonic()
                if deadline is None:
                    deadline = now + BUSY_TIMEOUT_MS / 1000
                elif now > deadline:  # a last try through SQLAlchemy, which raises its own error
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                    return
            time.sleep(wait)
            wait = min(wait * 1.5, _LONGEST_WAIT)
    finally:
        dbapi_conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def _is_busy(exc: Exception) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with the SQLite tuning applied where it is SQLite."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(url, **kwargs)
        _sqlite_setup(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if url.startswith("postgresql"):
        # JIT compilation pays off for long analytical scans, not for a web application's statements: on the
        # status queries it cost seconds of compiling for milliseconds of work (the planner's estimates of
        # correlated subqueries are high). Off for our connections; the server's setting is left alone.
        connect_args = dict(kwargs.pop("connect_args", {}) or {})
        options = connect_args.get("options", "")
        if "jit" not in options:
            connect_args["options"] = (options + " -c jit=off").strip()
        kwargs["connect_args"] = connect_args
    return create_engine(url, **kwargs)


class Database:
    """Holds the engine and a thread-scoped session (one per request, job or command)."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.url: str | None = None
        self._factory = sessionmaker(expire_on_commit=False)
        self.session = scoped_session(self._factory)

    def configure(self, url: str) -> Engine:
        """Point the database at ``url`` (idempotent for the same URL)."""
        if self.engine is not None and self.url == url:
            return self.engine
        if self.engine is not None:
            self.session.remove()
            self.engine.dispose()
        self.url = url
        self.engine = make_engine(url)
        self._factory.configure(bind=self.engine)
        return self.engine

    @property
    def is_sqlite(self) -> bool:
        return bool(self.url and self.url.startswith("sqlite"))

    def init_app(self, app: Any) -> None:
        """Bind to the app's DATABASE_URL and close the session at the end of each request."""
        self.configure(app.config["DATABASE_URL"])

        @app.teardown_appcontext
        def _remove_session(exc: BaseException | None) -> None:
            if exc is not None:
                self.session.rollback()
            self.session.remove()

    @contextlib.contextmanager
    def new_session(self) -> Iterator[Session]:
        """Yield an independent session (its own transaction), committed on success."""
        assert self.engine is not None
        session = Session(bind=self.engine, expire_on_commit=False)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


db = Database()
