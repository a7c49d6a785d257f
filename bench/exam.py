"""Exam storm: learners start a 50-question exam, autosave every answer, submit — vs as many no-op POSTs.

The load generator is a pool of 32 Python threads (one learner's whole sitting at a time each), speaking HTTP
to gunicorn as the exam page's JavaScript does: POST start (form + CSRF), GET the paper, one JSON POST per
answer with X-CSRFToken and a rising sequence number, POST submit. The limit replays the same number of POSTs
against the no-op route of bench/hello_app.py with the same sessions. Done when nothing failed and every
answer is stored.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import re
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench import sites
from bench.common import SMOKE, Row, guarded, postgres_available, rate_ratio, run_task, skipped, workdir
from bench.server import NOOP_APP, served

MIN_RATIO = 0.5
QUESTIONS = 50
CONCURRENCY = 32
AQ_RE = re.compile(r'data-aq="(\d+)"')


class Conn:
    """One learner's HTTP connection (a new TCP connection per request: gunicorn's sync workers close them)."""

    def __init__(self, base: str, cookie: str, csrf: str):
        u = urllib.parse.urlsplit(base)
        self.host, self.port, self.cookie, self.csrf = u.hostname, u.port, cookie, csrf

    def send(
        self, method: str, path: str, body: bytes | None = None, ctype: str | None = None
    ) -> tuple[int, Any, bytes]:
        c = http.client.HTTPConnection(self.host, self.port, timeout=60)
        headers = {"Cookie": self.cookie, "X-CSRFToken": self.csrf, "Accept": "application/json, text/html"}
        if ctype:
            headers["Content-Type"] = ctype
        try:
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            return r.status, r.headers, r.read()
        finally:
            c.close()


def _parse_lines(text: str) -> list[tuple[str, str]]:
    out = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 4:
            out.append((parts[2], parts[3]))
    return out


def storm(base: str, sessions: list[tuple[str, str]], exam_id: int | None) -> dict[str, Any]:
    """Run every learner's sitting (or, with exam_id None, the same count of no-op POSTs); return counts and rate."""
    errors: list[str] = []
    posts = 0
    lock = threading.Lock()

    def one(cookie_csrf: tuple[str, str]) -> None:
        nonlocal posts
        conn = Conn(base, *cookie_csrf)
        n = 0
        try:
            if exam_id is None:
                for i in range(QUESTIONS + 2):
                    status, _, _ = conn.send(
                        "POST", "/bench/noop", json.dumps({"seq": i}).encode(), "application/json"
                    )
                    n += 1
                    if status != 200:
                        raise RuntimeError(f"no-op {status}")
                return
            form = urllib.parse.urlencode({"csrf_token": conn.csrf}).encode()
            status, headers, _ = conn.send(
                "POST", f"/quizzes/exams/{exam_id}/start", form, "application/x-www-form-urlencoded"
            )
            n += 1
            loc = headers.get("Location", "")
            m = re.search(r"/quizzes/attempts/(\d+)", loc)
            if status not in (302, 303) or not m:
                raise RuntimeError(f"start {status} {loc}")
            attempt = m.group(1)
            status, _, body = conn.send("GET", f"/quizzes/attempts/{attempt}")
            aqs = AQ_RE.findall(body.decode("utf-8", "replace"))
            if status != 200 or len(aqs) != QUESTIONS:
                raise RuntimeError(f"paper {status}, {len(aqs)} questions")
            for seq, aq in enumerate(aqs, start=1):
                payload = json.dumps({"aq": int(aq), "answer": 0, "seq": seq}).encode()
                status, _, body = conn.send(
                    "POST", f"/quizzes/attempts/{attempt}/answer", payload, "application/json"
                )
                n += 1
                if status != 200 or json.loads(body).get("ok") is not True:
                    raise RuntimeError(f"answer {status} {body[:120]!r}")
            status, headers, _ = conn.send(
                "POST", f"/quizzes/attempts/{attempt}/submit", form, "application/x-www-form-urlencoded"
            )
            n += 1
            if status not in (302, 303) or "/result" not in headers.get("Location", ""):
                raise RuntimeError(f"submit {status}")
        except Exception as exc:  # counted, reported
            with lock:
                errors.append(str(exc)[:200])
        finally:
            with lock:
                posts += n

    t = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(one, sessions))
    seconds = time.perf_counter() - t
    return {
        "seconds": seconds,
        "posts": posts,
        "rps": posts / seconds,
        "errors": len(errors),
        "first_errors": errors[:3],
    }


def run(quick: bool, log: Any) -> list[Row]:
    if importlib.util.find_spec("quizzes.attempts") is None or not hasattr(
        importlib.import_module("quizzes.attempts"), "start_attempt"
    ):
        return [skipped("exam", "exam storm", "quizzes not there yet")]
    kinds = ["sqlite"] + (["postgres"] if postgres_available() and not quick else [])
    rows: list[Row] = []
    for kind in kinds:
        rows += guarded("exam", f"exam storm on {kind}", lambda kind=kind: [_storm_on(kind, quick, log)], log)
    return rows


def _storm_on(kind: str, quick: bool, log: Any) -> Row:
    learners = (10 if SMOKE else 40) if quick else 500
    info = sites.site(kind, "M", log)
    folder = workdir(f"exam-{kind}")
    setup = run_task(
        "exam_setup", {"url": info["url"], "code": "BENCH-M", "questions": QUESTIONS}, env=info["env"]
    )
    lines = folder / "sessions.txt"
    run_task(
        "bench_sessions",
        {
            "url": info["url"],
            "n": learners,
            "enterprise_id": info["enterprise_id"],
            "out": str(lines),
            "line": "POST\t/\t{cookie}\t{csrf}\t",
        },
        env=info["env"],
    )
    sessions = _parse_lines(lines.read_text())
    with served(NOOP_APP, info["env"], f"exam-noop-{kind}") as g:
        limit = storm(g.url, sessions, None)
    log(
        f"no-op storm ({kind}): {limit['posts']} POSTs in {limit['seconds']:.1f} s = {limit['rps']:.0f}/s, errors {limit['errors']}"
    )
    with served("wsgi:app", info["env"], f"exam-{kind}") as g:
        ours = storm(g.url, sessions, setup["exam_id"])
    log(
        f"exam storm ({kind}): {ours['posts']} POSTs in {ours['seconds']:.1f} s = {ours['rps']:.0f}/s, errors {ours['errors']} "
        f"{ours['first_errors']}"
    )
    check = run_task("exam_check", {"url": info["url"], "exam_id": setup["exam_id"]}, env=info["env"])
    log(f"after the storm ({kind}): {check}")
    complete = check["answers_stored"] == len(sessions) * QUESTIONS and ours["errors"] == 0
    return rate_ratio(
        "exam",
        f"exam storm: {len(sessions)} learners x {QUESTIONS} autosaved answers + start + submit, "
        f"M, {'SQLite' if kind == 'sqlite' else 'PostgreSQL'}",
        ours["rps"],
        limit["rps"],
        MIN_RATIO,
        extra_ok=complete,
        note=f"{ours['errors']} errors, {check['answers_stored']:,}/{len(sessions) * QUESTIONS:,} answers stored, "
        f"{ours['seconds']:.0f} s vs {limit['seconds']:.0f} s",
        attempts=check["attempts"],
        first_errors=ours["first_errors"],
    )
