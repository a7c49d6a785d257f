"""Background jobs through one ``enqueue()``: RQ on Redis, in-process threads, or eagerly (tests).

Job state and progress live in the ``job`` table so the UI shows them the same way in every mode.
A job function takes a :class:`JobContext` first, then the JSON-able arguments given to ``enqueue``;
it uses ``db.session`` and may ``flush``; the runner commits (or rolls back and records the error).

The runner owns the unit of work (``lms.core.db``): a job is one write unit, committed when it returns and
rolled back when it raises. A long job whose steps should not hold SQLite's write lock while they only read
(evaluating a status over thousands of people) runs them as units of their own with ``ctx.unit(READ)`` /
``ctx.unit(WRITE)``: each commits at its end (in eager mode, inside the caller's transaction, they change
nothing).

SQLite note: progress is written on a separate connection only while the job holds no transaction of its
own, so a long step (ffmpeg, rendering) should commit what it read first; otherwise progress is written in
the job's own transaction and shows when it commits.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, event, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.utils import import_string

from lms.core.db import WRITE, Base, TimestampMixin, db, unit, utcnow

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


class Job(TimestampMixin, Base):
    """One background job and its visible state."""

    __tablename__ = "job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    func: Mapped[str] = mapped_column(String(200))
    args: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(String(300))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    enterprise_id: Mapped[int | None] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class JobContext:
    """Handed to a running job so it can report progress."""

    def __init__(self, job_id: int, eager: bool = False):
        self.job_id = job_id
        self.eager = eager

    @contextlib.contextmanager
    def unit(self, mode: str) -> Iterator[None]:
        """Run a step of the job as a ``mode`` unit of its own: what came before is committed first, the step
        is committed at its end. Eager (inside the caller's transaction): the step just runs."""
        if self.eager:
            yield
            return
        db.session.commit()
        with unit(mode):
            yield
            db.session.commit()

    def progress(self, percent: float, message: str | None = None) -> None:
        """Report ``percent`` (0–100) and an optional message."""
        values: dict[str, Any] = {"progress": max(0, min(100, int(percent)))}
        if message is not None:
            values["message"] = message[:300]
        stmt = update(Job).where(Job.id == self.job_id).values(**values)
        if self.eager or (db.is_sqlite and db.session().in_transaction()):
            db.session.execute(stmt)
            return
        try:
            with db.new_session() as s:
                s.execute(stmt)
        except Exception:  # progress is best effort; never fail the job for it
            log.exception("could not write progress of job %s", self.job_id)


_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_app: Any = None  # the Flask app jobs run in (set by create_app / lms worker)


def set_app(app: Any) -> None:
    """Remember the app whose context jobs run in."""
    global _app
    _app = app


def _mode() -> str:
    if _app is None:
        return "eager"
    return _app.config.get("JOBS_MODE", "thread")


def enqueue(
    func: Callable[..., Any] | str,
    *args: Any,
    kind: str | None = None,
    enterprise_id: int | None = None,
    created_by_id: int | None = None,
) -> Job:
    """Create a job row and run ``func(ctx, *args)`` in the background once the current transaction commits."""
    path = func if isinstance(func, str) else f"{func.__module__}.{func.__qualname__}"
    job = Job(
        kind=kind or path.rsplit(".", 1)[-1],
        func=path,
        args=list(args),
        enterprise_id=enterprise_id,
        created_by_id=created_by_id,
    )
    session = db.session()
    session.add(job)
    session.flush()
    if _mode() == "eager":
        _run_eager(job)
    else:
        session.info.setdefault("lms_pending_jobs", []).append(job.id)
    return job


def _run_eager(job: Job) -> None:
    job.status, job.started_at = RUNNING, utcnow()
    fn = import_string(job.func)
    savepoint = db.session.begin_nested()
    try:
        job.result = _jsonable(fn(JobContext(job.id, eager=True), *job.args))
        savepoint.commit()
        job.status, job.progress = DONE, 100
    except Exception as exc:  # the job's failure is data, shown in the UI
        savepoint.rollback()
        job.status, job.error = FAILED, _describe(exc)
    job.finished_at = utcnow()
    db.session.flush()


def _jsonable(value: Any) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    return {"value": value}


def _describe(exc: BaseException) -> str:
    from lms.core.storage import scrub_paths  # shown on pages: no absolute server path

    message = getattr(exc, "message", None) or str(exc) or exc.__class__.__name__
    return scrub_paths(str(message))[:2000]


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    pending = session.info.pop("lms_pending_jobs", None)
    if pending:
        for job_id in pending:
            _dispatch(job_id)


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    if not session.in_transaction():
        session.info.pop("lms_pending_jobs", None)


def _dispatch(job_id: int) -> None:
    mode = _mode()
    if mode == "rq":
        from redis import Redis
        from rq import Queue

        Queue("lms", connection=Redis.from_url(_app.config["REDIS_URL"])).enqueue(
            "lms.core.jobs.run_job", job_id, job_timeout=4 * 3600
        )
        return
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="lms-job")
    _executor.submit(_run_in_app, job_id)


def _run_in_app(job_id: int) -> None:
    with _app.app_context(), unit(WRITE):
        try:
            run_job(job_id)
        finally:
            db.session.remove()


def run_job(job_id: int) -> None:
    """Run one queued job to its end, recording the outcome (entry point for RQ and threads)."""
    if _app is not None and not _has_app_context():
        with _app.app_context():
            try:
                return run_job(job_id)
            finally:
                db.session.remove()
    session = db.session
    job = session.get(Job, job_id)
    if job is None or job.status not in (QUEUED, FAILED):
        return
    job.status, job.started_at, job.error = RUNNING, utcnow(), None
    session.commit()
    try:
        fn = import_string(job.func)
        result = fn(JobContext(job_id), *job.args)
        session.commit()
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(status=DONE, progress=100, result=_jsonable(result), finished_at=utcnow())
        )
        session.commit()
    except Exception as exc:
        log.error("job %s failed: %s", job_id, traceback.format_exc())
        session.rollback()
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(status=FAILED, error=_describe(exc), finished_at=utcnow())
        )
        session.commit()


def _has_app_context() -> bool:
    from flask import has_app_context

    return has_app_context()


def retry(job: Job) -> Job:
    """Queue a failed job again."""
    job.status, job.progress, job.error, job.message = QUEUED, 0, None, None
    db.session.flush()
    if _mode() == "eager":
        _run_eager(job)
    else:
        db.session.info.setdefault("lms_pending_jobs", []).append(job.id)
    return job


STALE_MESSAGE = (
    "The worker running this job stopped before it finished (no result after %d minutes); retry it."
)


def sweep_stale(max_age: dt.timedelta, now: dt.datetime | None = None) -> list[int]:
    """Mark jobs ``running`` since longer than ``max_age`` as failed (their worker died); return their ids.

    The update is conditional on the row still being running, so a job that finishes meanwhile keeps its result.
    """
    cutoff = (now or utcnow()) - max_age
    ids = list(db.session.scalars(select(Job.id).where(Job.status == RUNNING, Job.started_at < cutoff)))
    swept = []
    for job_id in ids:
        res = db.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == RUNNING)
            .values(
                status=FAILED, error=STALE_MESSAGE % (max_age.total_seconds() // 60), finished_at=utcnow()
            )
        )
        if res.rowcount == 1:
            swept.append(job_id)
    db.session.flush()
    if swept:
        from lms.core.signals import jobs_swept

        jobs_swept.send(None, job_ids=swept)  # features whose objects follow a job (videos) update them
    return swept


def wait_for_idle(timeout: float = 60) -> None:
    """Block until the in-process workers have nothing left (for the CLI and tests)."""
    global _executor
    with _executor_lock:
        ex, _executor = _executor, None
    if ex is not None:
        ex.shutdown(wait=True)
