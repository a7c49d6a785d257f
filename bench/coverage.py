"""Coverage at XL (50,000 people, 2 million records): the dashboard and the csv exports vs one aggregate query."""

from __future__ import annotations

import importlib.util
import subprocess
from typing import Any

from bench import sites
from bench.common import Row, run_task, skipped, time_ratio

MAX_RATIO = 3.0
PAGE_TIMEOUT = 900  # seconds; a page slower than this is stopped and reported as such


def run(quick: bool, log: Any) -> list[Row]:
    if importlib.util.find_spec("lms.training.coverage") is None:
        return [skipped("coverage", "coverage dashboard", "lms/training not there yet")]
    size = "M" if quick else "XL"
    info = sites.site("sqlite", size, log)
    code = f"BENCH-{size}"
    hand = run_task("coverage_hand", {"url": info["url"], "code": code}, env=info["env"])
    log(
        f"hand-written aggregate: {hand['seconds']:.2f} s ({hand['groups']} departments, {hand['people']} people)"
    )
    paths = {
        "csv: coverage by department": "/training/coverage/department?format=csv",
        "csv: named list of everyone": "/training/list?format=csv",
        "dashboard": "/training/",
    }
    rows = []
    for label, path in paths.items():
        workload = f"{label}, {size} ({info.get('requirements', '?')} requirements), SQLite"
        try:
            got = run_task(
                "coverage_pages",
                {
                    "url": info["url"],
                    "username": info["manager"],
                    "password": info["password"],
                    "paths": [path],
                    "repeat": 1 if not quick else 3,
                },
                env=info["env"],
                timeout=PAGE_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            log(f"{label}: stopped after {PAGE_TIMEOUT} s")
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
        log(f"{label}: {r['seconds']:.2f} s (status {r['status']}, {r['bytes']} bytes)")
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
