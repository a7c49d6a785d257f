"""Video heartbeats from 1,000 simulated viewers vs a no-op POST with the product's session and CSRF checks.

Each viewer is a learner of BENCH-M with its own signed-in session and CSRF token, enrolled in the bench
course; wrk's 32 connections cycle through the viewers, each heartbeat's position advancing with the clock
so that it is credited as real playback. The no-op route exists only in bench/hello_app.py.
"""

from __future__ import annotations

import importlib.util
import json
from typing import Any

from bench import sites
from bench.common import Row, rate_ratio, run_task, skipped, workdir
from bench.server import Gunicorn, wrk, wrk_available

MIN_RATIO = 0.5
VIEWERS = 1000


def run(quick: bool, log: Any) -> list[Row]:
    if not wrk_available():
        return [skipped("heartbeat", "heartbeats", "wrk is not installed")]
    if importlib.util.find_spec("courses.progress") is None:
        return [skipped("heartbeat", "heartbeats", "courses/progress.py not there yet")]
    seconds = 5 if quick else 15
    info = sites.site("sqlite", "M", log)
    if not info.get("video_lesson_id"):
        return [skipped("heartbeat", "heartbeats", "the bench course has no video lesson")]
    folder = workdir("heartbeat")
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
    log(f"{got['sessions']} viewers signed in")
    logdir = workdir("logs")
    with Gunicorn(
        "bench.hello_app:create_noop_app()", info["env"], ready_path="/healthz", log=logdir / "noop.log"
    ) as g:
        limit = wrk(g.url + "/", seconds=seconds, requests_file=noops)
    log(
        f"no-op POST: {limit['rps']:.0f} req/s, p99 {limit['p99_ms']:.0f} ms, non-200 {limit['bad_status'] + limit['other_status']}"
    )
    with Gunicorn("wsgi:app", info["env"], ready_path="/healthz", log=logdir / "heartbeat.log") as g:
        ours = wrk(g.url + "/", seconds=seconds, requests_file=beats)
    log(
        f"heartbeat: {ours['rps']:.0f} req/s, p99 {ours['p99_ms']:.0f} ms, non-200 {ours['bad_status'] + ours['other_status']}"
    )
    check = run_task(
        "heartbeat_check", {"url": info["url"], "lesson_id": info["video_lesson_id"]}, env=info["env"]
    )
    log(f"after the heartbeats: {check}")
    errors = ours["bad_status"] + ours["other_status"] + ours["socket_errors"]
    limit_errors = limit["bad_status"] + limit["other_status"] + limit["socket_errors"]
    return [
        rate_ratio(
            "heartbeat",
            f"{got['sessions']:,} viewers, video heartbeats, M, SQLite",
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
