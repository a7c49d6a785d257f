"""Over HTTP against gunicorn: a worker killed (SIGKILL) while submissions are in flight leaves every attempt
whole (graded once with its answers, or still open with its saved answers); the same attendance sheet
committed by two trainers at the same moment gives one set of ledger records.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from .conftest import Browser, kill
from .helpers import seed_exam, start_exam

pytestmark = pytest.mark.reliability


def test_worker_killed_during_submissions_leaves_no_half_attempt(live):
    from quizzes.models import Attempt, AttemptGrading

    n = 40
    with live.db():
        world = seed_exam(n)
    browsers, attempts = [], []
    for username in world["usernames"]:
        b = Browser(live.base)
        b.login(username)
        attempt_id, aqs = start_exam(b, world["exam_id"])
        for seq, aq in enumerate(aqs[:3], start=1):
            assert (
                b.request(
                    "POST",
                    f"/quizzes/attempts/{attempt_id}/answer",
                    json_body={"aq": aq, "answer": True, "seq": seq},
                )[0]
                == 200
            )
        browsers.append(b)
        attempts.append(attempt_id)
    go = threading.Event()

    def submit(pair):
        b, attempt_id = pair
        go.wait()
        try:
            return b.request("POST", f"/quizzes/attempts/{attempt_id}/submit", data={}, timeout=30)[0]
        except Exception:  # noqa: BLE001 - the connection the killed worker held
            return "dropped"

    with ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(submit, pair) for pair in zip(browsers, attempts, strict=True)]
        go.set()
        time.sleep(0.05)
        for pid in live.worker_pids()[:2]:
            kill(pid)
        results = [f.result() for f in futures]
    assert "dropped" in results or len(set(results)) >= 1  # some may have been cut off; all must be whole
    time.sleep(1)
    with live.db() as s:
        for attempt_id in attempts:
            a = s.get(Attempt, attempt_id)
            gradings = s.scalar(
                select(func.count())
                .select_from(AttemptGrading)
                .where(AttemptGrading.attempt_id == attempt_id)
            )
            answers = [q.answer.answer for q in a.questions]
            assert answers.count(True) == 3, (attempt_id, a.status, answers)
            if a.status == "open":
                assert gradings == 0 and a.score is None and a.submitted_at is None
            else:
                assert a.status == "graded" and gradings == 1 and a.score == 3, (a.status, gradings, a.score)
    # The survivors (or the restarted workers) finish the job: submitting again grades the open ones once.
    for b, attempt_id in zip(browsers, attempts, strict=True):
        assert b.request("POST", f"/quizzes/attempts/{attempt_id}/submit", data={})[0] in (302, 303)
    with live.db() as s:
        assert {a.status for a in s.scalars(select(Attempt).where(Attempt.id.in_(attempts)))} == {"graded"}
        assert (
            s.scalar(
                select(func.count())
                .select_from(AttemptGrading)
                .where(AttemptGrading.attempt_id.in_(attempts))
            )
            == n
        )


def _multipart(field: str, filename: str, data: bytes, csrf: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def _upload(b: Browser, session_id: int, sheet: bytes) -> str:
    import urllib.request

    body, ctype = _multipart("file", "signin.xlsx", sheet, b.csrf)
    req = urllib.request.Request(
        f"{b.base}/offline/{session_id}/upload",
        data=body,
        method="POST",
        headers={"Content-Type": ctype, "X-CSRFToken": b.csrf},
    )
    import urllib.error

    try:
        with b.opener.open(req, timeout=60) as r:
            location = r.headers["Location"]
    except urllib.error.HTTPError as e:  # the redirect to the preview (redirects are not followed)
        assert e.code in (302, 303), e.code
        location = e.headers["Location"]
    assert "/uploads/" in location, location
    return location.replace(b.base, "")


def test_same_attendance_sheet_committed_by_two_trainers_at_once(live):
    from werkzeug.security import generate_password_hash

    from lms.ledger.models import TrainingRecord
    from lms.offline import services as offline
    from lms.org.models import Enterprise, Person, User

    from .conftest import PASSWORD

    with live.db() as s:
        code = f"A{uuid.uuid4().hex[:6]}"
        ent = Enterprise(code=code, name="签到并发企业")
        s.add(ent)
        s.flush()
        people = [
            Person(enterprise_id=ent.id, employee_no=f"{code}{i:03d}", name=f"签到{i}") for i in range(30)
        ]
        s.add_all(people)
        pw = generate_password_hash(PASSWORD, method="scrypt:1024:8:1")
        trainers = [
            User(
                username=f"{code.lower()}-t{i}",
                password_hash=pw,
                display_name=f"教员{i}",
                app_role="trainer",
                enterprise_id=ent.id,
                must_change_password=False,
            )
            for i in range(2)
        ]
        s.add_all(trainers)
        sess = offline.create_session(
            ent.id,
            topic="并发签到培训",
            starts_at=dt.datetime(2026, 5, 1, 9, 0),
            hours="2",
            category="有限空间",
        )
        s.commit()
        session_id, source, usernames = sess.id, sess.source, [t.username for t in trainers]
        person_ids = [p.id for p in people]
    wb = Workbook()
    wb.active.append(["工号", "姓名", "签到时间"])
    for i in range(30):
        wb.active.append([f"{code}{i:03d}", f"签到{i}", "2026-05-01 09:00"])
    out = io.BytesIO()
    wb.save(out)
    sheet = out.getvalue()

    browsers = []
    for username in usernames:
        b = Browser(live.base)
        b.login(username)
        browsers.append(b)
    previews = [_upload(b, session_id, sheet) for b in browsers]
    for b, preview in zip(browsers, previews, strict=True):
        status, _h, page = b.request("GET", preview)
        assert status == 200, (status, page[:300])
    barrier = threading.Barrier(2)

    def commit(pair):
        b, preview = pair
        barrier.wait()
        return b.request("POST", re.sub(r"/uploads/(\d+).*", r"/uploads/\1/commit", preview), data={})[0]

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = list(pool.map(commit, zip(browsers, previews, strict=True)))
    assert all(st < 500 for st in statuses), statuses
    assert "database is locked" not in live.log_text()
    with live.db() as s:
        rows = s.execute(
            select(TrainingRecord.person_id, func.count())
            .where(TrainingRecord.source == source, TrainingRecord.voided_at.is_(None))
            .group_by(TrainingRecord.person_id)
        ).all()
        assert dict(rows) == {pid: 1 for pid in person_ids}
