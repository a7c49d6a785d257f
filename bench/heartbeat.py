"""Video heartbeats from 1,000 simulated viewers vs a no-op POST with the product's session and CSRF checks.

Each viewer is a learner of BENCH-M with its own signed-in session and CSRF token, enrolled in the bench
course; wrk's 32 connections cycle through the viewers, each heartbeat's position advancing with the clock
so that it is credited as real playback. The no-op route exists only in bench/hello_app.py.

Measured on SQLite and, in a full run with a server at hand, on PostgreSQL (row locks instead of SQLite's
database lock). The no-op and the heartbeats are measured in alternating rounds with both servers up, so
that drifting load on a shared machine hits both sides alike. Before each heartbeat round the bench video's
progress is cleared, so that every round (and a run on a reused database, ``BENCH_REUSE=1``) credits new
playback like the first one instead of re-watching covered stretches.
``BENCH_HEARTBEAT_KINDS=sqlite`` (or ``postgres``) measures one database only.
"""

from __future__ import annotations

import importlib.util
import json
import os
from typing import Any

from bench import sites
from bench.common import SMOKE, Row, guarded, postgres_available, rate_ratio, run_task, skipped, workdir
from bench.server import NOOP_APP, served, wrk, wrk_available

MIN_RATIO = 0.5
VIEWERS = 1000
ROUNDS = 3  # alternating rounds of no-op and heartbeats, each seconds / ROUNDS long (after wrk's warm-up)
LABELS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


def run(quick: bool, log: Any) -> list[Row]:
    if not wrk_available():
        return [skipped("heartbeat", "heartbeats", "wrk is not installed")]
    if importlib.util.find_spec("courses.progress") is None:
        return [skipped("heartbeat", "heartbeats", "courses/progress.py not there yet")]
    seconds = (ROUNDS if SMOKE else 5) if quick else 15
    kinds = ["sqlite"] + (["postgres"] if postgres_available() and not quick else [])
    if os.environ.get("BENCH_HEARTBEAT_KINDS"):  # e.g. "postgres" to measure one database only
        kinds = [k for k in os.environ["BENCH_HEARTBEAT_KINDS"].split(",") if k in LABELS]
    rows: list[Row] = []
    for kind in kinds:
        rows += guarded(
            "heartbeat", f"heartbeats on {kind}", lambda kind=kind: _one_site(kind, seconds, log), log
        )
    return rows


def _combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Rounds of wrk as one: mean requests/s (rounds are equally long), median p99, summed error counts."""
    p99s = sorted(r["p99_ms"] for r in runs)
    return {
        "rps": sum(r["rps"] for r in runs) / len(runs),
        "p99_ms": p99s[len(p99s) // 2],
        **{k: sum(r[k] for r in runs) for k in ("bad_status", "other_status", "socket_errors", "requests")},
    }


def _rounds(runs: list[dict[str, Any]]) -> str:
    return " / ".join(str(round(r["rps"])) for r in runs)


def reset_progress(url: str, lesson_id: int) -> None:
    """Forget the playback of the bench video (sessions, progress, credited time of the bench course)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            course_id = conn.execute(
                text("SELECT course_id FROM course_lesson WHERE id = :id"), {"id": lesson_id}
            ).scalar_one()
            conn.execute(text("DELETE FROM course_playback_session WHERE lesson_id = :id"), {"id": lesson_id})
            conn.execute(text("DELETE FROM course_lesson_progress WHERE lesson_id = :id"), {"id": lesson_id})
            conn.execute(
                text(
                    "UPDATE course_enrolment SET credited_seconds = 0, credited_wall_until = NULL"
                    " WHERE course_id = :c AND status <> 'completed'"
                ),
                {"c": course_id},
            )
    finally:
        engine.dispose()


def _one_site(kind: str, seconds: int, log: Any) -> list[Row]:
    info = sites.site(kind, "M", log)
    if not info.get("video_lesson_id"):
        return [skipped("heartbeat", "heartbeats", "the bench course has no video lesson")]
    folder = workdir(f"heartbeat-{kind}")
    n = min(VIEWERS, info.get("enrolled") or VIEWERS)
    body = json.dumps({"session": "viewer-{i}", "position": 0, "playing": True, "rate": 1}).replace(
        '0, "playing"', '{pos}, "playing"'
    )
    beats, noops = folder / "heartbeats.txt", folder / "noops.txt"
    got = run_task(
        "bench_sessions",
        {
            "url": info["url"],
            "n": n,
            "enterprise_id": info["enterprise_id"],
            "out": str(beats),
            "line": f"POST\t/courses/lessons/{info['video_lesson_id']}/heartbeat\t{{cookie}}\t{{csrf}}\t{body}",
        },
        env=info["env"],
    )
    noops.write_text(
        beats.read_text().replace(f"/courses/lessons/{info['video_lesson_id']}/heartbeat", "/bench/noop")
    )
    log(f"{got['sessions']} viewers signed in ({kind})")
    # Both servers up at once, measured in alternation (no-op, heartbeats, no-op, …): on a shared machine the
    # load drifts within minutes, and interleaved rounds keep both sides under the same conditions.
    limits, ours_runs = [], []
    with (
        served(NOOP_APP, info["env"], f"noop-{kind}") as gn,
        served("wsgi:app", info["env"], f"heartbeat-{kind}") as gh,
    ):
        for _ in range(ROUNDS):
            limits.append(wrk(gn.url + "/", seconds=max(1, seconds // ROUNDS), requests_file=noops))
            # every round starts from no playback, so each measures the same mix of first and later beats
            reset_progress(info["url"], info["video_lesson_id"])
            ours_runs.append(wrk(gh.url + "/", seconds=max(1, seconds // ROUNDS), requests_file=beats))
    limit, ours = _combine(limits), _combine(ours_runs)
    log(
        f"no-op POST ({kind}): {limit['rps']:.0f} req/s ({_rounds(limits)}), "
        f"p99 {limit['p99_ms']:.0f} ms, non-200 {limit['bad_status'] + limit['other_status']}"
    )
    log(
        f"heartbeat ({kind}): {ours['rps']:.0f} req/s ({_rounds(ours_runs)}), "
        f"p99 {ours['p99_ms']:.0f} ms, non-200 {ours['bad_status'] + ours['other_status']}"
    )
    check = run_task(
        "heartbeat_check", {"url": info["url"], "lesson_id": info["video_lesson_id"]}, env=info["env"]
    )
    log(f"after the heartbeats ({kind}): {check}")
    errors = ours["bad_status"] + ours["other_status"] + ours["socket_errors"]
    limit_errors = limit["bad_status"] + limit["other_status"] + limit["socket_errors"]
    return [
        rate_ratio(
            "heartbeat",
            f"{got['sessions']:,} viewers, video heartbeats, M, {LABELS[kind]}",
            ours["rps"],
            limit["rps"],
            MIN_RATIO,
            extra_ok=errors == 0 and limit_errors == 0,
            note=f"p99 {ours['p99_ms']:.0f} ms vs {limit['p99_ms']:.0f} ms; {errors} errors"
            + (f"; no-op {limit_errors} errors" if limit_errors else ""),
            p99_ms=ours["p99_ms"],
            limit_p99_ms=limit["p99_ms"],
            viewers_recorded=check["playback_sessions"],
            credited_seconds=round(check["credited_seconds"]),
        )
    ]
