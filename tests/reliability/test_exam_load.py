"""200 learners start, autosave and submit the same exam at once over HTTP against gunicorn (4 workers):
every attempt graded exactly once, no answer lost, no "database is locked", no 5xx.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from .conftest import Browser
from .helpers import seed_exam, start_exam

pytestmark = pytest.mark.reliability

LEARNERS = 200
ANSWERED = 3  # of 5 questions; each right answer is one point


def test_two_hundred_learners_submit_the_same_exam_at_once(live):
    from quizzes.models import Attempt, AttemptAnswer, AttemptGrading, AttemptQuestion

    with live.db():
        world = seed_exam(LEARNERS)
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(LEARNERS, timeout=120)

    def sign_in(username: str) -> Browser:
        b = Browser(live.base)
        b.login(username)
        return b

    # Sign in a few at a time (200 sign-ins at once hold SQLite's write lock through scrypt: reported), then sit.
    t_login = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        browsers = list(pool.map(sign_in, world["usernames"]))
    t_login = time.monotonic() - t_login

    def sit(b: Browser) -> None:
        username = b.base
        try:
            barrier.wait()  # everyone starts at the same moment
            attempt_id, aqs = start_exam(b, world["exam_id"])
            for seq, aq in enumerate(aqs[:ANSWERED], start=1):
                s, _h, body = b.request(
                    "POST",
                    f"/quizzes/attempts/{attempt_id}/answer",
                    json_body={"aq": aq, "answer": True, "seq": seq},
                )
                with lock:
                    statuses[s] += 1
                assert s == 200, (s, body[:200])
            s, _h, body = b.request("POST", f"/quizzes/attempts/{attempt_id}/submit", data={})
            with lock:
                statuses[s] += 1
            assert s in (302, 303), (s, body[:200])
        except Exception as exc:  # noqa: BLE001 - collected and asserted on
            with lock:
                errors.append(f"{username}: {exc!r}"[:300])

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=LEARNERS) as pool:
        list(pool.map(sit, browsers))
    elapsed = time.monotonic() - t0

    log = live.log_text()
    assert errors == [], errors[:5]
    assert not [s for s in statuses if s >= 500], statuses
    assert "database is locked" not in log and "Traceback" not in log, log[-3000:]
    with live.db() as s:
        attempts = s.scalars(select(Attempt).where(Attempt.exam_id == world["exam_id"])).all()
        assert len(attempts) == LEARNERS and len({a.person_id for a in attempts}) == LEARNERS
        assert {a.status for a in attempts} == {"graded"}
        assert {a.score for a in attempts} == {Decimal(ANSWERED)}
        gradings = dict(
            s.execute(
                select(AttemptGrading.attempt_id, func.count())
                .where(AttemptGrading.attempt_id.in_([a.id for a in attempts]))
                .group_by(AttemptGrading.attempt_id)
            ).all()
        )
        assert set(gradings.values()) == {1} and len(gradings) == LEARNERS
        answers = s.scalars(
            select(AttemptAnswer.answer)
            .join(AttemptQuestion)
            .join(Attempt)
            .where(Attempt.exam_id == world["exam_id"])
        ).all()
        assert Counter(map(repr, answers)) == {"True": LEARNERS * ANSWERED, "None": LEARNERS * (5 - ANSWERED)}
    print(f"sign-in {t_login:.1f}s; {LEARNERS} learners sat in {elapsed:.1f}s, statuses {dict(statuses)}")
