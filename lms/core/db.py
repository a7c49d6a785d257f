"""Database engine, the thread-scoped session, the declarative ``Base``, and the unit of work.

The unit of work: the top floor (the request wrapper in ``lms.app``, the job runner, each CLI command) runs its
work as one *read* or *write* unit (``unit(READ)`` / ``unit(WRITE)``; without one, work is a write unit: jobs,
commands, scripts and tests write as they always did). The top floor also ends the unit: one commit (the
request wrapper: when the answer is below 400, or the view called ``keep_on_error()``), else a rollback, and a
rollback on any exception. Views, services and listeners do not commit and never choose the mode; one that
finds it must write in a read unit calls ``require_write()`` (or simply writes: the guard below does the same),
and the top floor runs the work again as a write unit before anything was answered.

SQLite is tuned for a small server: WAL, foreign keys, a busy timeout. A write unit begins every transaction
``BEGIN IMMEDIATE``, so writers queue on the lock (briefly, see ``_begin_immediate``) instead of failing with
"database is locked"; a read unit begins ``BEGIN`` (DEFERRED) so that readers never queue behind a writer. A
read transaction can never become a write one safely on SQLite (while another connection writes, the upgrade
fails at once with "database is locked", without waiting), hence the guard: in a read unit a statement that
would write a stored table is refused before it reaches the database (``WriteNeeded``), on every dialect so that
both databases take the same path.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

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

READ, WRITE = "read", "write"


class WriteNeeded(Exception):  # noqa: N818 - a request for a write unit, not an error of the work
    """Work running in a read unit was about to write: the top floor runs it again as a write unit."""


@dataclass
class Unit:
    """The unit of work in progress in this context: its mode, and whether it refused a write."""

    mode: str
    refused: bool = False
    keep: bool = False  # committed even when the answer is an error (``keep_on_error``)


_unit: contextvars.ContextVar[Unit | None] = contextvars.ContextVar("lms_unit", default=None)


def unit_mode() -> str:
    """The mode of the unit in progress (WRITE when none was opened: jobs, commands, scripts, tests)."""
    current = _unit.get()
    return current.mode if current is not None else WRITE


@contextlib.contextmanager
def unit(mode: str) -> Iterator[Unit]:
    """For the top floor: run the block as a ``mode`` unit (READ or WRITE); yield its state.

    It decides how the block's transactions begin; committing and rolling back stay with the caller.
    """
    assert mode in (READ, WRITE), mode
    state = Unit(mode)
    token = _unit.set(state)
    try:
        yield state
    finally:
        _unit.reset(token)


def require_write() -> None:
    """Say that the work must write from here on: in a read unit this stops it (``WriteNeeded``) so that the
    top floor runs it again as a write unit; in a write unit it does nothing."""
    current = _unit.get()
    if current is not None and current.mode == READ:
        current.refused = True
        raise WriteNeeded("this work writes: run it as a write unit")


def keep_on_error() -> None:
    """Say that what the unit wrote so far must be kept even though the answer will be an error.

    The top floor commits a write unit when its answer is below 400 and rolls it back otherwise; a view that
    records a failure it then answers with (a failed sign-in counted against the account and the address, an
    attempt refused with 429) calls this, and the unit is committed whatever the status of the answer, and
    also when an error handler turns an exception into the answer. An exception that nobody answers still
    rolls back, and so does a database error (the transaction is dead). Outside a unit (jobs, commands,
    tests calling a service) it does nothing: the caller commits.
    """
    current = _unit.get()
    if current is not None:
        current.keep = True


def kept() -> bool:
    """Whether the unit in progress must be committed whatever its answer (``keep_on_error``)."""
    current = _unit.get()
    return current is not None and current.keep


F = TypeVar("F", bound=Callable[..., Any])


def writes(view: F) -> F:
    """Mark a GET view that writes (as a rule, not only sometimes): its request is a write unit from its start.

    A view that writes only now and then (a lesson's first open) need not say so: the read unit it runs in
    stops at its first write and the request runs again as a write unit.
    """
    view._lms_unit = WRITE  # type: ignore[attr-defined]
    return view


def declared_unit(view: Callable[..., Any] | None) -> str | None:
    """The unit a view declared with ``writes`` (None: by the request's method)."""
    return getattr(view, "_lms_unit", None)


# A statement that writes a stored table (temporary tables, ``tmp_*`` by convention, are a reader's own).
_WRITES = re.compile(
    r"\s*(?:WITH\b.*?\)\s*)?(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)"
    r"\s+(?:\"?main\"?\.)?\"?(\w+)",
    re.IGNORECASE | re.DOTALL,
)


def _writes_stored_table(statement: str) -> bool:
    m = _WRITES.match(statement)
    return m is not None and not m.group(1).lower().startswith(("tmp_", "temp"))


def _guard_read_units(engine: Engine) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _refuse_writes_in_read_units(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        current = _unit.get()
        if current is not None and current.mode == READ and _writes_stored_table(statement):
            current.refused = True
            raise WriteNeeded(f"a read unit was about to write: {statement[:80]}")


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
        if unit_mode() == WRITE:
            _begin_immediate(conn)
        else:
            # Straight to the driver, as BEGIN IMMEDIATE is: every signed-in request begins one (its user), and
            # SQLAlchemy's statement machinery cost more than SQLite's BEGIN itself.
            conn.connection.dbapi_connection.execute("BEGIN")


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
        _guard_read_units(engine)
        return engine
    ping_idle = "pool_pre_ping" not in kwargs
    if url.startswith("postgresql"):
        # JIT compilation pays off for long analytical scans, not for a web application's statements: on the
        # status queries it cost seconds of compiling for milliseconds of work (the planner's estimates of
        # correlated subqueries are high). Off for our connections; the server's setting is left alone.
        connect_args = dict(kwargs.pop("connect_args", {}) or {})
        options = connect_args.get("options", "")
        if "jit" not in options:
            connect_args["options"] = (options + " -c jit=off").strip()
        kwargs["connect_args"] = connect_args
    engine = create_engine(url, **kwargs)
    if ping_idle:
        _ping_idle_connections(engine)
    _guard_read_units(engine)
    return engine


# A pooled connection idle longer than this is pinged before it is handed out (see below).
PING_AFTER_IDLE_SECONDS = 10.0


def _ping_idle_connections(engine: Engine) -> None:
    """``pool_pre_ping``, for the connections that may have gone stale: those idle for a while.

    SQLAlchemy's pre-ping sends a statement before every checkout, so every request paid a round trip and a
    query of the server (on PostgreSQL about 0.04 ms of our CPU a request, and the server's). What goes stale
    is a connection that sat idle (a server restart, a firewall's idle timeout); one handed back moments ago
    was just used. A connection that fails the ping is replaced, as with pre-ping; one that dies within the
    idle window fails its request, and SQLAlchemy then drops every pooled connection older than the failure.
    """
    from sqlalchemy import exc

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["lms_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("lms_idle_since")  # (none: a connection just made)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as err:
            raise exc.DisconnectionError(f"idle connection failed its ping: {err}") from err


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
