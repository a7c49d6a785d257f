"""Certificates: CertificateRenderer.render_many + zip vs a minimal reportlab canvas page (same font, a QR code)."""

from __future__ import annotations

import shutil
from typing import Any

from bench.common import SMOKE, run_task, time_ratio, workdir

MAX_RATIO = 2.0


def run(quick: bool, log: Any) -> list[Any]:
    n = (10 if SMOKE else 100) if quick else 1000
    folder = workdir("certs")
    out: dict[str, dict[str, Any]] = {}
    for side in ("certs_limit", "certs_ours"):
        target = folder / side
        shutil.rmtree(target, ignore_errors=True)
        out[side] = run_task(side, {"n": n, "out": str(target)})
        log(
            f"{side}: {out[side]['seconds']:.1f} s, {out[side]['files']} files, {out[side]['bytes'] // 1024} KiB"
        )
    ours, limit = out["certs_ours"], out["certs_limit"]
    rows = [
        time_ratio(
            "certificates",
            f"{n:,} PDFs + zip (renderer)",
            ours["seconds"],
            limit["seconds"],
            MAX_RATIO,
            font=ours["font"],
            peak_mb=round(ours["peak_mb"]),
            kib_per_pdf=round(ours["bytes"] / n / 1024, 1),
            limit_kib_per_pdf=round(limit["bytes"] / n / 1024, 1),
        )
    ]
    from bench import certs_job

    rows.extend(certs_job.run(quick, log, limit["seconds"], n))
    return rows
