"""xAPI: statements from the ledger, the export (endpoint and CLI), and the job that sends them to a real tiny LRS
on loopback that fails twice and then accepts."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from click.testing import CliRunner
from flask import current_app
from sqlalchemy import select

from lms.api.models import XapiDelivery
from lms.api.xapi import send_pending, statements
from lms.core.db import db
from lms.core.jobs import JobContext
from lms.ledger.services import record
from tests.api.conftest import auth


def _records(world):
    a0, a1 = world["people_a"][0], world["people_a"][1]
    record(
        a0,
        kind="course",
        topic="危化品安全",
        source="course_enrolment:1",
        hours=2,
        course_id=11,
        completed_at=dt.datetime(2026, 11, 2, 1),
    )
    record(
        a1,
        kind="exam",
        topic="年度考试",
        source="exam:5:person:1",
        hours=1,
        exam_id=5,
        score=86,
        passed=True,
        completed_at=dt.datetime(2026, 11, 2, 3),
    )
    record(
        a1,
        kind="offline",
        topic="消防演练",
        source="offline_session:7",
        hours=3,
        started_at=dt.datetime(2026, 11, 3, 1),
        completed_at=dt.datetime(2026, 11, 3, 4),
    )
    record(
        a0, kind="manual", topic="手工", source="manual:x", hours=1, completed_at=dt.datetime(2026, 11, 4, 1)
    )
    db.session.commit()


def test_statements_follow_xapi_and_are_stable(client, world):
    _records(world)
    r = client.get("/api/v1/xapi/statements", headers=auth(world["secret_a"]))
    items = r.json["items"]
    assert [s["verb"]["id"].rsplit("/", 1)[1] for s in items] == ["completed", "passed", "attended"]
    s = items[1]
    assert s["actor"]["account"] == {"homePage": s["actor"]["account"]["homePage"], "name": "A001"}
    assert s["actor"]["account"]["homePage"].endswith("/enterprises/APIA") and "mbox" not in s["actor"]
    assert s["result"]["score"] == {"raw": 86.0} and s["result"]["success"] is True
    assert s["object"]["definition"]["type"] == "http://adlnet.gov/expapi/activities/assessment"
    assert s["timestamp"] == "2026-11-02T11:00:00+08:00"
    again = client.get("/api/v1/xapi/statements", headers=auth(world["secret_a"])).json["items"]
    assert [x["id"] for x in again] == [x["id"] for x in items]  # the same record, the same statement id
    assert client.get("/api/v1/xapi/statements", headers=auth(world["secret_b"])).json["items"] == []
    cli = CliRunner().invoke(
        current_app.cli, ["xapi", "export", "--enterprise", "APIA"], catch_exceptions=False
    )
    assert [x["id"] for x in json.loads(cli.output)] == [x["id"] for x in items]


class _Lrs(BaseHTTPRequestHandler):
    received: list = []
    failures = 2
    auth: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).auth.append(
            (self.headers.get("Authorization"), self.headers.get("X-Experience-API-Version"))
        )
        if type(self).failures > 0:
            type(self).failures -= 1
            self.send_response(503)
            self.end_headers()
            return
        type(self).received.append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps([s["id"] for s in json.loads(body)]).encode())

    def log_message(self, *args):
        pass


def test_job_sends_with_retries_to_a_real_lrs_that_fails_twice(world, app):
    _records(world)
    _Lrs.received, _Lrs.failures, _Lrs.auth = [], 2, []
    server = HTTPServer(("127.0.0.1", 0), _Lrs)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config.update(
        XAPI_ENDPOINT=f"http://127.0.0.1:{server.server_address[1]}/xapi",
        XAPI_USER="lrs",
        XAPI_PASSWORD="secret",
        XAPI_BACKOFF=0.01,
        XAPI_ATTEMPTS=4,
    )
    try:
        result = send_pending(JobContext(0, eager=True), world["a"].id)
        assert result["sent"] == 3 and result["attempts"] == 3
        assert len(_Lrs.received) == 1 and len(_Lrs.received[0]) == 3
        assert {a for a in _Lrs.auth} == {("Basic bHJzOnNlY3JldA==", "1.0.3")}
        sent = db.session.scalars(
            select(XapiDelivery).where(XapiDelivery.enterprise_id == world["a"].id)
        ).all()
        assert len(sent) == 3 and all(d.sent_at is not None for d in sent)
        # Nothing new: nothing is sent again.
        assert send_pending(JobContext(0, eager=True), world["a"].id)["sent"] == 0
        assert len(_Lrs.received) == 1
        # A record voided after it was sent: one voiding statement that refers to the one sent.
        from lms.ledger.models import TrainingRecord
        from lms.ledger.services import void

        exam = db.session.scalar(select(TrainingRecord).where(TrainingRecord.source == "exam:5:person:1"))
        void(exam.id, reason="成绩录入错误", actor=None)
        assert send_pending(JobContext(0, eager=True), world["a"].id)["sent"] == 1
        [voiding] = _Lrs.received[1]
        assert voiding["verb"]["id"] == "http://adlnet.gov/expapi/verbs/voided"
        assert voiding["object"] == {"objectType": "StatementRef", "id": _Lrs.received[0][1]["id"]}
        assert send_pending(JobContext(0, eager=True), world["a"].id)["sent"] == 0
        # An LRS that keeps failing: the job fails after its attempts and the statements wait for the next run.
        record(
            world["people_a"][2],
            kind="course",
            topic="新课程",
            source="course_enrolment:2",
            hours=1,
            course_id=12,
            completed_at=dt.datetime(2026, 11, 5, 1),
        )
        _Lrs.failures = 10
        import pytest

        from lms.api.xapi import LrsError

        with pytest.raises(LrsError):
            send_pending(JobContext(0, eager=True), world["a"].id)
        ids, _ = statements(world["a"])
        assert len(ids) == 3  # the course, the attendance and the new course (the exam was voided)
    finally:
        server.shutdown()
        server.server_close()
        for k in ("XAPI_ENDPOINT", "XAPI_USER", "XAPI_PASSWORD", "XAPI_BACKOFF", "XAPI_ATTEMPTS"):
            app.config.pop(k, None)


def test_send_command_queues_the_job(world, app):
    """`lms xapi send` queues the job through enqueue (run at once in the tests' eager mode)."""
    from lms.core.jobs import Job

    _records(world)
    _Lrs.received, _Lrs.failures, _Lrs.auth = [], 1, []
    server = HTTPServer(("127.0.0.1", 0), _Lrs)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config.update(XAPI_ENDPOINT=f"http://127.0.0.1:{server.server_address[1]}", XAPI_BACKOFF=0.01)
    try:
        out = CliRunner().invoke(
            current_app.cli, ["xapi", "send", "--enterprise", "APIA"], catch_exceptions=False
        )
        assert "queued" in out.output
        job = db.session.scalars(select(Job).where(Job.kind == "xapi_send").order_by(Job.id.desc())).first()
        assert job.status == "done" and job.result["sent"] == 3 and job.result["attempts"] == 2
    finally:
        server.shutdown()
        server.server_close()
        for k in ("XAPI_ENDPOINT", "XAPI_BACKOFF"):
            app.config.pop(k, None)
    out = CliRunner().invoke(current_app.cli, ["xapi", "send", "--enterprise", "APIA"])
    assert out.exit_code != 0 and "LMS_XAPI_ENDPOINT" in out.output
