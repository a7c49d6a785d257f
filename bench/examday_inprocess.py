"""CPU per request of each exam-day kind, in-process (Flask test client, no HTTP server): issue 20.

    .venv/bin/python -m bench.examday_inprocess [--size T|M|L] [--people 60] [--database sqlite|postgresql]
        [--answers 20] [--profile start,paper,autosave [--profile-dir DIR]] [--reuse] [--pg-database NAME]

Builds (or, with --reuse, keeps) the exam day's site, makes a fresh published 20-question exam and signed-in
sessions for ``--people`` learners (bench/examday_tasks.py ``setup``), then for each of them, in this process,
what a taker's browser sends: the "my exams" page, the exam's start page, POST start, the paper, ``--answers``
autosaves (JSON with ``X-CSRFToken`` and a rising ``seq``, as exam.js sends them), submit and the result. Each
request is timed with ``time.process_time()`` and its SQL statements counted. The first few people warm the
process up and are not counted. Prints the median and mean CPU milliseconds and the statements of each kind.

``--profile KINDS`` runs those kinds under cProfile (the others not) and prints, per kind, the functions that
take the most time (cumulative and own) to stderr; CPU figures of profiled kinds are inflated by the profiler.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import statistics
import sys
import time
from typing import Any

from bench.common import workdir
from bench.examday import Options, run_step, site

WARMUP = 5
KINDS = ("my exams page", "start page", "start", "paper", "autosave", "submit", "result")
OPTION = re.compile(r'<input type="radio" name="a-(\d+)" value="(\d+)"')


def measure(
    url: str,
    people: list[dict[str, Any]],
    exam_id: int,
    *,
    answers: int = 20,
    profile: tuple[str, ...] = (),
    profile_dir: str = "",
) -> dict[str, Any]:
    from sqlalchemy import event

    from lms.app import create_app
    from lms.core.db import db

    app = create_app({"DATABASE_URL": url, "JOBS_MODE": "eager"})
    statements = [0]
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args: Any) -> None:
        statements[0] += 1

    cookie_name = app.config["SESSION_COOKIE_NAME"]
    samples: dict[str, list[tuple[float, int]]] = {k: [] for k in KINDS}
    profilers = {k: cProfile.Profile() for k in profile}

    def timed(kind: str, counted: bool, fn: Any) -> Any:
        prof = profilers.get(kind) if counted else None
        statements[0] = 0
        t = time.process_time()
        if prof is not None:
            prof.enable()
        try:
            resp = fn()
        finally:
            if prof is not None:
                prof.disable()
        cpu, sql = time.process_time() - t, statements[0]
        if counted:
            samples[kind].append((cpu * 1000, sql))
        return resp

    for i, person in enumerate(people):
        counted = i >= WARMUP
        client = app.test_client()
        client.set_cookie(cookie_name, person["cookies"][cookie_name])
        csrf = person["csrf"]
        page = timed("my exams page", counted, lambda c=client: c.get("/quizzes/"))
        if page.status_code != 200:
            raise RuntimeError(f"my exams answered {page.status_code}")
        page = timed("start page", counted, lambda c=client: c.get(f"/quizzes/exams/{exam_id}/start"))
        if page.status_code != 200:
            raise RuntimeError(f"start page answered {page.status_code}")
        resp = timed(
            "start",
            counted,
            lambda c=client, k=csrf: c.post(f"/quizzes/exams/{exam_id}/start", data={"csrf_token": k}),
        )
        m = re.search(r"/quizzes/attempts/(\d+)", resp.headers.get("Location", ""))
        if resp.status_code not in (302, 303) or not m:
            raise RuntimeError(f"start answered {resp.status_code} {resp.get_data()[:300]!r}")
        attempt = m.group(1)
        paper = timed("paper", counted, lambda c=client, a=attempt: c.get(f"/quizzes/attempts/{a}"))
        body = paper.get_data(as_text=True)
        if paper.status_code != 200 or body.count('data-aq="') != 20:
            raise RuntimeError(f"paper answered {paper.status_code}")
        choices: dict[str, list[str]] = {}
        for aq, value in OPTION.findall(body):
            choices.setdefault(aq, []).append(value)
        order = list(choices)
        for seq in range(1, answers + 1):
            aq = order[(seq - 1) % len(order)]
            payload = {"aq": int(aq), "answer": int(choices[aq][seq % len(choices[aq])]), "seq": seq}
            r = timed(
                "autosave",
                counted,
                lambda c=client, a=attempt, p=payload, k=csrf: c.post(
                    f"/quizzes/attempts/{a}/answer",
                    json=p,
                    headers={"X-CSRFToken": k, "Accept": "application/json"},
                ),
            )
            if r.status_code != 200 or r.json.get("stale"):
                raise RuntimeError(f"autosave answered {r.status_code} {r.get_data()[:300]!r}")
        r = timed(
            "submit",
            counted,
            lambda c=client, a=attempt, k=csrf: c.post(
                f"/quizzes/attempts/{a}/submit", data={"csrf_token": k}
            ),
        )
        if r.status_code not in (302, 303):
            raise RuntimeError(f"submit answered {r.status_code}")
        r = timed("result", counted, lambda c=client, a=attempt: c.get(f"/quizzes/attempts/{a}/result"))
        if r.status_code != 200:
            raise RuntimeError(f"result answered {r.status_code}")
    out: dict[str, Any] = {"people": len(people) - WARMUP, "answers": answers}
    for kind, values in samples.items():
        cpu = [v[0] for v in values]
        out[kind] = {
            "cpu_ms_median": round(statistics.median(cpu), 2),
            "cpu_ms_mean": round(statistics.fmean(cpu), 2),
            "statements": max(v[1] for v in values),
        }
    for kind, prof in profilers.items():
        if profile_dir:
            prof.dump_stats(os.path.join(profile_dir, kind.replace(" ", "-") + ".pstats"))
        for sort in ("cumulative", "tottime"):
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(sort).print_stats(30)
            print(f"\n===== {kind}: by {sort} ({len(samples[kind])} requests)", file=sys.stderr)
            print(buf.getvalue(), file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="T")
    parser.add_argument("--people", type=int, default=60)
    parser.add_argument("--answers", type=int, default=20, help="autosaves per person")
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--pg-database", default="", help="PostgreSQL database to (re)create")
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument(
        "--profile", default="", help=f"kinds to profile, comma-separated: {', '.join(KINDS)}"
    )
    parser.add_argument("--profile-dir", default="", help="also write <kind>.pstats files here")
    args = parser.parse_args(argv)
    profile = tuple(k.strip() for k in args.profile.split(",") if k.strip())
    unknown = [k for k in profile if k not in KINDS]
    if unknown:
        parser.error(f"unknown kinds {unknown}: choose from {', '.join(KINDS)}")
    opts = Options(
        takers=args.people + WARMUP,
        size=args.size,
        databases=(args.database,),
        reuse=args.reuse,
        pg_database=args.pg_database,
    )

    def log(message: str) -> None:
        print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    info = site(args.database, opts, log)
    folder = workdir(f"examday-{args.database}-{args.size}")
    people_file = folder / "inprocess-people.jsonl"
    setup = run_step(
        "setup",
        {
            "url": info["url"],
            "size": args.size,
            "questions": 20,
            "takers": opts.takers,
            "sign_in": 0,
            "logins": 0,
            "out": str(people_file),
        },
        info["env"],
    )
    people = [json.loads(line) for line in people_file.read_text().splitlines() if line.strip()]
    os.environ.update(info["env"])
    result = measure(
        info["url"],
        people,
        setup["exam_id"],
        answers=args.answers,
        profile=profile,
        profile_dir=args.profile_dir,
    )
    result.update(size=args.size, database=args.database, loadavg=os.getloadavg())
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
