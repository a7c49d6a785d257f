"""Attendance import: lms.offline.attendance.import_attendance (parse + match + commit) vs openpyxl / csv.reader.

The enterprise is BENCH-L (10,000 people, 400,000 records, from ``lms demo --size L``), copied per run; the
sheets carry a 培训场次 column so 100,000 rows are ten sessions of 10,000 attendees.
"""

from __future__ import annotations

import importlib.util
import shutil
from typing import Any

from bench import sites
from bench.common import SMOKE, Row, bench_env, bound_row, run_task, skipped, time_ratio, workdir

MAX_RATIO = 3.0
MEMORY_MB = 300


def run(quick: bool, log: Any) -> list[Row]:
    if importlib.util.find_spec("lms.offline.attendance") is None:
        return [skipped("attendance", "attendance import", "lms/offline/attendance.py not there yet")]
    size = "M" if quick else "L"
    info = sites.site("sqlite", size, log)
    src = info["url"].removeprefix("sqlite:///")
    folder = workdir("attendance")
    rows: list[Row] = []
    for n in ((200, 400) if SMOKE else (1_000, 2_000)) if quick else (10_000, 100_000):
        for fmt in ("xlsx", "csv"):
            db_file = folder / f"att-{n}-{fmt}.sqlite3"
            for f in folder.glob(db_file.name + "*"):
                f.unlink()
            shutil.copyfile(src, db_file)
            url = f"sqlite:///{db_file}"
            env = bench_env(folder, url)
            sheet = folder / f"signin-{n}.{fmt}"
            sheet.unlink(missing_ok=True)
            setup = run_task(
                "attendance_setup",
                {"url": url, "code": f"BENCH-{size}", "rows": n, "people": 10_000, "path": str(sheet)},
                env=env,
            )
            raw = run_task(f"raw_{fmt}", {"path": str(sheet)})
            for dry in (True, False):
                got = run_task(
                    "attendance_import",
                    {"url": url, "code": f"BENCH-{size}", "path": str(sheet), "dry_run": dry},
                    env=env,
                )
                what = "dry run" if dry else "commit"
                summary = got["summary"]
                log(
                    f"attendance {n} {fmt} {what}: {got['seconds']:.1f} s, {got['peak_mb']:.0f} MB, {summary}"
                )
                ok = summary["attendees"] == n and not summary["errors"] and (dry or got["committed"])
                rows.append(
                    time_ratio(
                        "attendance",
                        f"{n:,} rows {fmt} ({len(setup['sessions'])} session{'s' if len(setup['sessions']) > 1 else ''}), {what}, SQLite",
                        got["seconds"],
                        raw["seconds"],
                        MAX_RATIO,
                        note="" if ok else f"did not import cleanly: {got['first_errors'][:1]}",
                        peak_mb=round(got["peak_mb"]),
                        raw_peak_mb=round(raw["peak_mb"]),
                    )
                )
                if n >= 100_000 or (quick and n == (400 if SMOKE else 2_000)):
                    if not dry:
                        rows.append(
                            bound_row(
                                "memory",
                                f"attendance import {n:,} rows {fmt} (commit), peak RSS",
                                round(got["peak_mb"]),
                                MEMORY_MB,
                                "MB",
                                raw_peak_mb=round(raw["peak_mb"]),
                            )
                        )
            db_file.unlink(missing_ok=True)
    return rows
