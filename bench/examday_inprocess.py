"""CPU per exam start and per paper, in-process (Flask test client, no HTTP server): issue 20, part 3.

    .venv/bin/python -m bench.examday_inprocess [--size T|M|L] [--people 60] [--database sqlite|postgresql]

Builds (or, with --reuse, keeps) the exam day's site, makes a fresh published 20-question exam and signed-in
sessions for ``--people`` learners (bench/examday_tasks.py ``setup``), then for each of them, in this process:
POST start, GET the paper (the page the exam day's takers load), each timed with ``time.process_time()`` and
its SQL statements counted. The first few people warm the process up and are not counted. Prints the median
and mean CPU milliseconds and statements of each.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from typing import Any

from bench.common import workdir
from bench.examday import Options, run_step, site

WARMUP = 5


def measure(url: str, people: list[dict[str, Any]], exam_id: int) -> dict[str, Any]:
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
    samples: dict[str, list[tuple[float, int]]] = {"start": [], "paper": []}
    for i, person in enumerate(people):
        client = app.test_client()
        client.set_cookie(cookie_name, person["cookies"][cookie_name])
        statements[0] = 0
        t = time.process_time()
        resp = client.post(f"/quizzes/exams/{exam_id}/start", data={"csrf_token": person["csrf"]})
        start_cpu, start_sql = time.process_time() - t, statements[0]
        m = re.search(r"/quizzes/attempts/(\d+)", resp.headers.get("Location", ""))
        if resp.status_code not in (302, 303) or not m:
            raise RuntimeError(f"start answered {resp.status_code} {resp.get_data()[:300]!r}")
        statements[0] = 0
        t = time.process_time()
        paper = client.get(f"/quizzes/attempts/{m.group(1)}")
        paper_cpu, paper_sql = time.process_time() - t, statements[0]
        if paper.status_code != 200 or paper.get_data().count(b'data-aq="') != 20:
            raise RuntimeError(f"paper answered {paper.status_code}")
        if i >= WARMUP:
            samples["start"].append((start_cpu * 1000, start_sql))
            samples["paper"].append((paper_cpu * 1000, paper_sql))
    out: dict[str, Any] = {"people": len(people) - WARMUP}
    for kind, values in samples.items():
        cpu = [v[0] for v in values]
        out[kind] = {
            "cpu_ms_median": round(statistics.median(cpu), 2),
            "cpu_ms_mean": round(statistics.fmean(cpu), 2),
            "statements": max(v[1] for v in values),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="T")
    parser.add_argument("--people", type=int, default=60)
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args(argv)
    opts = Options(takers=args.people + WARMUP, size=args.size, databases=(args.database,), reuse=args.reuse)

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
    result = measure(info["url"], people, setup["exam_id"])
    result.update(size=args.size, database=args.database, loadavg=os.getloadavg())
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
