"""Smoke test of the benchmarks: ``bench.run --quick`` (small sizes) runs every section and every row measures.

What ``scripts/bench`` reports is judged in bench/README.md, not here (ratios on a machine running the test
suite at the same time mean nothing). This test keeps the benchmarks themselves working: a section that stops
producing rows, a row that is "not measured" for any reason but a missing tool, an HTTP row with errors, or an
exam storm that loses answers fails it. Rows that need wrk or PostgreSQL may be missing where those are missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.common import postgres_available

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ["roster", "video", "certs", "pages", "heartbeat", "exam", "coverage", "attendance"]
HTTP = {"pages", "heartbeat"}

pytestmark = [pytest.mark.sqlite_only, pytest.mark.xdist_group("bench-smoke")]


def test_quick_bench_measures_every_row(tmp_path):
    env = {
        **os.environ,
        "BENCH_TMP": str(tmp_path / "scratch"),
        "BENCH_RESULTS_DIR": str(tmp_path / "results"),
        "PYTHONPATH": str(ROOT),
        "BENCH_SMOKE": "1",  # the smallest sizes that run every row (bench.common.SMOKE)
    }
    for key in ("LMS_DATABASE_URL", "LMS_TEST_DATABASE_URL", "LMS_INSTANCE_DIR"):
        env.pop(key, None)
    proc = subprocess.run(
        # the exam day has its own tiny run (tests/stack/test_examday.py)
        [sys.executable, "-m", "bench.run", "--quick", "--only", ",".join(SECTIONS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads((tmp_path / "results" / "latest-quick.json").read_text())
    rows = data["rows"]
    by_section: dict[str, list[dict]] = {}
    for r in rows:
        by_section.setdefault(r["extra"].get("section"), []).append(r)
    assert set(by_section) >= set(SECTIONS), sorted(k for k in by_section if k)
    wrk = shutil.which("wrk") is not None
    postgres = postgres_available()
    for r in rows:
        if r["ours"] is None:  # a row that could not be measured: only for want of a tool or a server
            allowed = (r["extra"].get("section") in HTTP and not wrk) or (
                not postgres and "PostgreSQL not reachable" in r["note"]
            )
            assert allowed, f"not measured: {r['workload']} ({r['note']})"
            continue
        assert r["ours"] > 0, r
        if r["unit"] == "req/s" and r["limit"] is not None:
            assert r["limit"] > 0, r
    for r in by_section["exam"] + by_section["heartbeat"]:
        if r["ours"] is not None:
            assert "0 errors" in r["note"], r
    (exam,) = [r for r in by_section["exam"] if r["ours"] is not None]
    stored = re.search(r"([\d,]+)/([\d,]+) answers stored", exam["note"])
    assert stored and stored[1] == stored[2] and stored[1] != "0", exam  # every answer of the storm kept
