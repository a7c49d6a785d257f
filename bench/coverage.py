"""Coverage at XL (50,000 people, 2 million records): the dashboard and the csv exports vs one aggregate query.

Today's status rows are kept in a table (``lms.training.cache``): the nightly ``lms requirements refresh-status``
recomputes them whole; during the day a change recomputes only the people it touches, on the next page.
Measured, each against the hand-written aggregate of the same run:

* the whole recomputation (the nightly job: one status evaluation of everyone, stored);
* the dashboard once the rows and the trend's closed months are kept (best of 3);
* the dashboard right after 100 people got a new record (their rows recomputed within the request);
* the csv exports (coverage by department, the named list of everyone).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from typing import Any

from bench import sites
from bench.common import Row, postgres_available, run_task, skipped, time_ratio

MAX_RATIO = 3.0
PAGE_TIMEOUT = 900  # seconds; a page slower than this is stopped and reported as such
DB_LABEL = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


def _kinds() -> list[str]:
    kinds = ["sqlite"]
    if os.environ.get("BENCH_COVERAGE_POSTGRES", "1") == "1" and postgres_available():
        kinds.append("postgres")
    return kinds


def run(quick: bool, log: Any) -> list[Row]:
    if importlib.util.find_spec("lms.training.cache") is None:
        return [skipped("coverage", "coverage dashboard", "lms/training has no status cache")]
    rows: list[Row] = []
    for kind in _kinds() if not quick else ["sqlite"]:
        rows += _run_one(kind, quick, log)
    return rows


def _run_one(kind: str, quick: bool, log: Any) -> list[Row]:
    size = "M" if quick else "XL"
    info = sites.site(kind, size, log)
    code = f"BENCH-{size}"
    db = DB_LABEL[kind]
    hand = run_task("coverage_hand", {"url": info["url"], "code": code}, env=info["env"])
    log(
        f"[{db}] hand-written aggregate: {hand['seconds']:.2f} s "
        f"({hand['groups']} departments, {hand['people']} people)"
    )
    reqs = info.get("requirements", "?")
    rows: list[Row] = []
    refreshed = run_task(
        "coverage_refresh", {"url": info["url"], "code": code}, env=info["env"], timeout=PAGE_TIMEOUT
    )
    log(f"[{db}] whole recomputation: {refreshed['seconds']:.2f} s, {refreshed['rows']} rows")
    rows.append(
        Row(
            "coverage",
            f"nightly recomputation of today's status rows ({refreshed['rows']:,} rows), {size}, {db}",
            refreshed["seconds"],
            hand["seconds"],
            "s",
            "— (nightly job)",
            None,
            refreshed["seconds"] / hand["seconds"] if hand["seconds"] else None,
            "",
            {"peak_mb": round(refreshed["peak_mb"])},
        )
    )
    cases = [
        ("dashboard", "/training/", {"warmup": 1, "repeat": 3}),
        ("dashboard after 100 people got a record", "/training/", {"warmup": 1, "repeat": 3, "touch": 100}),
        ("csv: coverage by department", "/training/coverage/department?format=csv", {"repeat": 3}),
        ("csv: named list of everyone", "/training/list?format=csv", {"repeat": 1}),
    ]
    for label, path, opts in cases:
        workload = f"{label}, {size} ({reqs} requirements), {db}"
        try:
            got = run_task(
                "coverage_pages",
                {
                    "url": info["url"],
                    "username": info["manager"],
                    "password": info["password"],
                    "paths": [path],
                    **opts,
                },
                env=info["env"],
                timeout=PAGE_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            log(f"[{db}] {label}: stopped after {PAGE_TIMEOUT} s")
            rows.append(
                time_ratio(
                    "coverage",
                    workload,
                    float(PAGE_TIMEOUT),
                    hand["seconds"],
                    MAX_RATIO,
                    note=f"stopped after {PAGE_TIMEOUT} s: at least this",
                )
            )
            continue
        r = got[path]
        log(
            f"[{db}] {label}: {r['seconds']:.2f} s (all {r['all']}, status {r['status']}, {r['bytes']} bytes)"
        )
        note = "" if r["status"] == 200 else f"status {r['status']}"
        rows.append(
            time_ratio(
                "coverage",
                workload,
                r["seconds"] if r["status"] == 200 else None,
                hand["seconds"],
                MAX_RATIO,
                note=note,
                bytes=r["bytes"],
                lines=r["lines"],
                peak_mb=round(got["peak_mb"]),
            )
        )
    return rows
