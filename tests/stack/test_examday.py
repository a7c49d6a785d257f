"""The exam-day benchmark (bench/examday.py, issue 20) at a tiny scale: it runs end to end over gunicorn and its
integrity checks hold — every answer stored as sent, each attempt graded once, no HTTP error — and a browser
that honours the cache headers fetches each static file once.

Latencies are not judged here (the suite runs beside it); ``scripts/bench --only examday`` measures them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.sqlite_only, pytest.mark.xdist_group("bench-smoke")]


def test_tiny_exam_day_keeps_every_answer(tmp_path):
    pytest.importorskip("aiohttp")
    env = {**os.environ, "BENCH_TMP": str(tmp_path / "scratch"), "PYTHONPATH": str(ROOT)}
    for key in ("LMS_DATABASE_URL", "LMS_TEST_DATABASE_URL", "LMS_INSTANCE_DIR", "BENCH_REUSE"):
        env.pop(key, None)
    env = {k: v for k, v in env.items() if not k.startswith("BENCH_EXAMDAY_")}
    out = tmp_path / "examday.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.examday",
            "--quick",
            "--takers",
            "8",
            "--sign-in",
            "2",
            "--logins",
            "2",
            "--window",
            "2",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())
    check = report["check"]
    assert report["integrity_ok"], check
    assert report["takers_finished"] == 8 and report["unfinished"] == 0
    assert check["answers_sent"] == check["answers_stored_as_sent"] == 8 * 20, check
    assert check["graded_once"] == 8 and not check["not_graded_once"], check
    assert check["ledger_ok"], check
    assert report["signed_in"] == 4
    kinds = report["kinds"]
    for kind in ("my exams page", "start page", "start", "paper", "autosave", "submit", "result", "sign-in"):
        assert kinds[kind]["requests"] > 0 and kinds[kind]["errors"] == 0, (kind, kinds[kind])
    assert kinds["autosave"]["requests"] == 8 * 20
    assert kinds["submit"]["server_requests"] == 8  # the gunicorn hooks saw them: CPU per kind is measured
    assert kinds["autosave"]["cpu_ms"] > 0
    assert all(k["errors"] == 0 for k in kinds.values()), kinds
