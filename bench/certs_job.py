"""The certificates package's bulk job end to end (issue, render, zip, store), against the same minimal canvas."""

from __future__ import annotations

import importlib.util
import shutil
from typing import Any

from bench.common import run_task, skipped, time_ratio, workdir

MAX_RATIO = 2.0


def run(quick: bool, log: Any, limit_seconds: float, n: int) -> list[Any]:
    workload = f"{n:,} certificates: bulk job (issue + render + zip)"
    if importlib.util.find_spec("certificates.jobs") is None:
        return [skipped("certificates", workload, "certificates/jobs.py not there yet")]
    folder = workdir("certs-job")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        out = run_task(
            "certs_job",
            {"n": n, "url": f"sqlite:///{folder / 'lms.sqlite3'}", "media": str(folder / "media")},
        )
    except RuntimeError as exc:
        return [
            skipped("certificates", workload, f"the job failed to run: {str(exc).splitlines()[-1][:160]}")
        ]
    log(f"certs job: {out['seconds']:.1f} s, {out['status']}, {out.get('result')}")
    if out["status"] != "done" or (out.get("result") or {}).get("count") != n:
        return [
            skipped(
                "certificates",
                workload,
                f"job ended {out['status']}: {out.get('error') or out.get('result')}",
            )
        ]
    return [
        time_ratio(
            "certificates",
            workload + ", SQLite",
            out["seconds"],
            limit_seconds,
            MAX_RATIO,
            peak_mb=round(out["peak_mb"]),
        )
    ]
