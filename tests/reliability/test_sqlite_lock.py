"""No 500 from SQLite's lock (issue 16): GET requests that write (a learner's first open of a lesson, the manager
dashboard bringing its kept status rows and trend up to date) run while other writers hold the lock, over HTTP
against gunicorn (several workers and threads) on a SQLite file. Every answer is below 500 and the server log
has no "database is locked".

Before the unit of work, a GET ran in a DEFERRED (read) transaction and then wrote: SQLite cannot turn a read
transaction into a write one while another connection writes (SQLITE_BUSY at once, no waiting), so some of
these answered 500.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from lms.core.db import db

from .conftest import PASSWORD, Browser
from .helpers import seed_exam, start_exam

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.sqlite_only,
    pytest.mark.skipif(
        os.environ.get("LMS_TEST_DATABASE_URL", "").startswith("postgresql"), reason="SQLite's write lock"
    ),
]

WRITERS = 20
OPENERS = 40
LESSONS_EACH = 3  # each opener opens three lessons for the first time, one after the other


def _seed_learning(n: int) -> dict[str, Any]:
    """An exam world of ``n`` learners, plus a course of text lessons every learner is enrolled in."""
    from courses import services as courses
    from lms.org.models import Person

    world = seed_exam(n)
    course = courses.create_course(
        world["enterprise_id"], title="有限空间作业安全", category="有限空间", hours=2
    )
    section = courses.add_section(course, "第一章")
    texts = [
        courses.add_lesson(section, "text", f"作业前须知{i}", body_markdown="## 作业前\n\n- 先通风\n- 再检测")
        for i in range(LESSONS_EACH)
    ]
    db.session.flush()
    courses.set_status(course, "published")
    for pid in world["person_ids"]:
        courses.enrol(course, db.session.get(Person, pid), source="assigned")
    db.session.commit()
    return {**world, "text_ids": [t.id for t in texts]}


def _sign_in_all(base: str, usernames: list[str], *, land: bool = True) -> list[Browser]:
    """Signed-in browsers; ``land=False``: without opening the landing page (a manager's is the dashboard)."""

    def sign_in(username: str) -> Browser:
        b = Browser(base)
        if land:
            b.login(username)
            return b
        status, _h, body = b.post_login(username, PASSWORD)
        assert status in (302, 303), (status, body[:300])
        return b

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(sign_in, usernames))


class Writers:
    """Each writer autosaves the answers of its open exam attempt (a short write transaction each, the hottest
    write after video heartbeats) until ``stop`` is set."""

    def __init__(self, browsers: list[Browser], world: dict[str, Any]):
        self.stop = threading.Event()
        self.statuses: Counter[int] = Counter()
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.browsers, self.world = browsers, world
        self.attempts = [start_exam(b, world["exam_id"]) for b in browsers]

    def _note(self, status: int, what: str) -> None:
        with self.lock:
            self.statuses[status] += 1
            if status >= 500:
                self.errors.append(f"{what}: {status}")

    def _autosave(self, b: Browser, attempt: tuple[int, list[int]]) -> None:
        attempt_id, aqs = attempt
        seq = 0
        while not self.stop.is_set():
            seq += 1
            status = b.request(
                "POST",
                f"/quizzes/attempts/{attempt_id}/answer",
                json_body={"aq": aqs[seq % len(aqs)], "answer": seq % 2 == 0, "seq": seq},
            )[0]
            self._note(status, "autosave")
            time.sleep(0.02)

    def run(self, pool: ThreadPoolExecutor) -> list[Any]:
        return [pool.submit(self._autosave, b, a) for b, a in zip(self.browsers, self.attempts, strict=True)]


def _assert_clean(live: Any, statuses: Counter[int], errors: list[str], writers: Writers) -> None:
    log = live.log_text()
    assert errors == [], errors[:10]
    assert writers.errors == [], writers.errors[:10]
    assert not [s for s in statuses if s >= 500], statuses
    assert sum(writers.statuses.values()) >= WRITERS, writers.statuses  # the writers did write meanwhile
    assert "database is locked" not in log, log[-3000:]


def test_first_opens_of_a_lesson_while_twenty_writers_write(live):
    with live.db():
        world = _seed_learning(WRITERS + OPENERS)
    browsers = _sign_in_all(live.base, world["usernames"])
    writers = Writers(browsers[:WRITERS], world)
    openers = browsers[WRITERS:]
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(OPENERS, timeout=60)

    def open_lessons(b: Browser) -> None:
        barrier.wait()
        for lesson_id in world["text_ids"]:
            status, _h, body = b.request("GET", f"/courses/lessons/{lesson_id}")
            with lock:
                statuses[status] += 1
                if status != 200:
                    errors.append(f"lesson {lesson_id}: {status} {body[:120]!r}")

    with ThreadPoolExecutor(max_workers=WRITERS + OPENERS) as pool:
        running = writers.run(pool)
        time.sleep(0.5)  # the writers are writing
        list(pool.map(open_lessons, openers))
        writers.stop.set()
        for f in running:
            f.result()
    _assert_clean(live, statuses, errors, writers)
    from courses.models import LessonProgress

    with live.db() as s:
        from sqlalchemy import func, select

        opened = s.scalar(
            select(func.count())
            .select_from(LessonProgress)
            .where(LessonProgress.lesson_id.in_(world["text_ids"]))
        )
        assert opened == OPENERS * LESSONS_EACH  # every first open was kept, once


def _seed_enterprise_of_a_thousand() -> dict[str, Any]:
    """BENCH-M (1,000 people, ~40 records each: the sized demo's generator), two requirements, 40 managers."""
    from decimal import Decimal

    from sqlalchemy import select
    from werkzeug.security import generate_password_hash

    from lms.demo import load_sized
    from lms.org.models import Enterprise, User
    from lms.training.models import Requirement

    load_sized("M", echo=lambda _m: None)
    ent = db.session.scalar(select(Enterprise).where(Enterprise.code == "BENCH-M"))
    for name, hours, cats in (("年度安全再培训", 8, None), ("有限空间专项", 2, "有限空间")):
        db.session.add(
            Requirement(
                enterprise_id=ent.id,
                name=name,
                kind="hours",
                applies_to="everyone",
                hours_required=Decimal(hours),
                categories=cats,
                recurrence="yearly",
                initial_days=30,
                grace_days=0,
                reminder_days=30,
                active=True,
            )
        )
    pw = generate_password_hash(PASSWORD, method="scrypt:1024:8:1")
    managers = [
        User(
            username=f"bench-m-mgr{i}-{uuid.uuid4().hex[:4]}",
            password_hash=pw,
            display_name=f"安全经理{i}",
            app_role="manager",
            enterprise_id=ent.id,
            must_change_password=False,
        )
        for i in range(OPENERS)
    ]
    db.session.add_all(managers)
    db.session.commit()
    return {"enterprise_id": ent.id, "managers": [m.username for m in managers]}


def test_dashboard_of_a_thousand_people_while_twenty_writers_write(live):
    with live.db():
        world = _seed_learning(WRITERS)
        big = _seed_enterprise_of_a_thousand()
    writers = Writers(_sign_in_all(live.base, world["usernames"]), world)
    managers = _sign_in_all(live.base, big["managers"], land=False)
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(OPENERS, timeout=60)

    def dashboard(b: Browser) -> None:
        barrier.wait()
        status, _h, body = b.request("GET", "/training/")
        with lock:
            statuses[status] += 1
            if status != 200:
                errors.append(f"dashboard: {status} {body[:120]!r}")

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=WRITERS + OPENERS) as pool:
        running = writers.run(pool)
        time.sleep(0.5)
        list(pool.map(dashboard, managers))
        writers.stop.set()
        for f in running:
            f.result()
    print(f"{OPENERS} dashboards of 1,000 people with {WRITERS} writers: {time.monotonic() - started:.1f} s")
    _assert_clean(live, statuses, errors, writers)
