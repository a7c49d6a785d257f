"""Background jobs: state and progress in the database; eager (tests) and RQ on a real Redis."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from lms.core.db import db
from lms.core.jobs import DONE, FAILED, Job, enqueue, retry
from lms.org.models import Enterprise

REDIS_URL = os.environ.get("LMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def test_eager_job_runs_and_records_result(app):
    job = enqueue("tests.core.jobfuncs.add_numbers", 2, 3)
    assert job.status == DONE and job.progress == 100 and job.result == {"sum": 5}


def test_failed_job_keeps_error_and_rolls_back_its_work(app):
    job = enqueue("tests.core.jobfuncs.fail", "ffmpeg said no")
    assert job.status == FAILED and "ffmpeg said no" in job.error


def test_retry_of_failed_job(app):
    job = enqueue("tests.core.jobfuncs.fail", "boom")
    job.func = "tests.core.jobfuncs.add_numbers"
    job.args = [1, 1]
    retry(job)
    assert job.status == DONE and job.result == {"sum": 2}


def _redis_or_skip():
    try:
        from redis import Redis

        conn = Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        conn.ping()
        return conn
    except Exception:
        pytest.skip("Redis is not reachable")


def test_rq_job_runs_after_commit_on_a_real_worker(app, monkeypatch, client, make_person, enterprise):
    conn = _redis_or_skip()
    from rq import Queue, SimpleWorker

    conn.flushdb()
    monkeypatch.setitem(app.config, "JOBS_MODE", "rq")
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    job = enqueue("tests.core.jobfuncs.create_enterprise", "RQJOB")
    queue = Queue("lms", connection=conn)
    assert queue.count == 0  # nothing is sent before the transaction commits
    db.session.commit()
    assert queue.count == 1
    SimpleWorker([queue], connection=conn).work(burst=True)
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.status == DONE, job.error
    assert db.session.scalar(select(Enterprise.id).where(Enterprise.code == "RQJOB")) == job.result["id"]
    conn.flushdb()


def test_rolled_back_transaction_sends_nothing(app, monkeypatch):
    conn = _redis_or_skip()
    from rq import Queue

    conn.flushdb()
    monkeypatch.setitem(app.config, "JOBS_MODE", "rq")
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    enqueue("tests.core.jobfuncs.add_numbers", 1, 2)
    db.session.rollback()
    assert Queue("lms", connection=conn).count == 0


def test_job_status_visible_only_to_its_owner_or_managers(client, login_as, make_enterprise, make_person):
    other = make_enterprise()
    owner = make_person(other, app_role="trainer").user
    job = enqueue("tests.core.jobfuncs.add_numbers", 1, 2, created_by_id=owner.id, enterprise_id=other.id)
    db.session.flush()
    login_as("manager")
    assert client.get(f"/jobs/{job.id}", headers={"Accept": "application/json"}).status_code == 404
