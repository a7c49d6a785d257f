"""Roster import: lms.org.roster.import_roster (dry run, commit) vs openpyxl / csv.reader over the same file."""

from __future__ import annotations

from typing import Any

from bench.common import (
    SMOKE,
    bound_row,
    drop_postgres,
    fresh_postgres,
    postgres_available,
    run_task,
    skipped,
    time_ratio,
    workdir,
)
from bench.data import roster_file

MAX_RATIO = 3.0
MEMORY_MB = 300


def run(quick: bool, log: Any) -> list[Any]:
    folder = workdir("roster")
    n = (300 if SMOKE else 2_000) if quick else 50_000
    n_mem = (600 if SMOKE else 5_000) if quick else 100_000
    rows = []
    pg = postgres_available()
    for fmt in ("xlsx", "csv"):
        path = roster_file(folder, n, fmt)
        raw = run_task(f"raw_{fmt}", {"path": str(path)})
        log(f"roster {fmt}: raw read {raw['seconds']:.2f} s")
        for dry in (True, False):
            db_file = folder / f"roster-{fmt}.sqlite3"
            for f in folder.glob(db_file.name + "*"):
                f.unlink()
            ours = run_task(
                "roster_import", {"url": f"sqlite:///{db_file}", "path": str(path), "dry_run": dry}
            )
            _check(ours, n, dry)
            what = "dry run" if dry else "commit"
            log(f"roster {fmt} {what} sqlite: {ours['seconds']:.2f} s, {ours['peak_mb']:.0f} MB")
            rows.append(
                time_ratio(
                    "roster",
                    f"{n:,} people {fmt}, {what}, SQLite",
                    ours["seconds"],
                    raw["seconds"],
                    MAX_RATIO,
                    peak_mb=round(ours["peak_mb"]),
                    raw_peak_mb=round(raw["peak_mb"]),
                )
            )
        if pg:
            url = fresh_postgres("lms_bench_roster")
            try:
                ours = run_task("roster_import", {"url": url, "path": str(path), "dry_run": False})
            finally:
                drop_postgres("lms_bench_roster")
            _check(ours, n, False)
            log(f"roster {fmt} commit postgres: {ours['seconds']:.2f} s")
            rows.append(
                time_ratio(
                    "roster",
                    f"{n:,} people {fmt}, commit, PostgreSQL",
                    ours["seconds"],
                    raw["seconds"],
                    MAX_RATIO,
                    peak_mb=round(ours["peak_mb"]),
                )
            )
        else:
            rows.append(
                skipped("roster", f"{n:,} people {fmt}, commit, PostgreSQL", "PostgreSQL not reachable")
            )
    # Memory: the whole import (parse, plan, write) of the bigger file, in its own process.
    for fmt in ("xlsx", "csv"):
        path = roster_file(folder, n_mem, fmt)
        db_file = folder / f"roster-mem-{fmt}.sqlite3"
        for f in folder.glob(db_file.name + "*"):
            f.unlink()
        ours = run_task("roster_import", {"url": f"sqlite:///{db_file}", "path": str(path), "dry_run": False})
        _check(ours, n_mem, False)
        raw = run_task(f"raw_{fmt}", {"path": str(path)})
        log(f"roster {fmt} {n_mem} commit: {ours['seconds']:.1f} s, peak {ours['peak_mb']:.0f} MB")
        rows.append(
            bound_row(
                "memory",
                f"roster import {n_mem:,} rows {fmt} (commit), peak RSS",
                round(ours["peak_mb"]),
                MEMORY_MB,
                "MB",
                raw_peak_mb=round(raw["peak_mb"]),
                seconds=round(ours["seconds"], 1),
            )
        )
    return rows


def _check(result: dict[str, Any], n: int, dry: bool) -> None:
    if result["errors"] or result["created"] != n or result["committed"] == dry:
        raise RuntimeError(f"roster import did not do the job: {result}")
