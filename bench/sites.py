"""Benchmark databases made the way a user would: schema, ``lms demo --size``, then bench accounts and a course.

Prepared once per run and shared by the pages, heartbeat and exam benchmarks. ``BENCH_REUSE=1`` keeps the
databases of an earlier run (for iterating on one benchmark; the schema must not have changed since).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.common import (
    BIN,
    ROOT,
    bench_env,
    drop_postgres,
    fresh_postgres,
    postgres_available,
    run_task,
    workdir,
)

_cache: dict[tuple[str, str], dict[str, Any]] = {}
PG_NAMES = {"M": "lms_bench_m", "L": "lms_bench_l", "XL": "lms_bench_xl"}


def empty_database(kind: str, folder: Path, pg_name: str) -> str:
    """The URL of an empty database: a new SQLite file in ``folder``, or PostgreSQL ``pg_name`` made anew."""
    if kind == "sqlite":
        for f in folder.glob("lms.sqlite3*"):
            f.unlink()
        return f"sqlite:///{folder / 'lms.sqlite3'}"
    if not postgres_available():
        raise RuntimeError("PostgreSQL not reachable")
    if pg_name in ("test", "postgres"):
        raise RuntimeError(f"refusing to recreate the database {pg_name!r}")
    return fresh_postgres(pg_name)


def lms_demo(size: str, env: dict[str, str]) -> None:
    """``lms demo --size`` into the database of ``env``, as a user would run it."""
    proc = subprocess.run(
        [str(BIN / "lms"), "demo", "--size", size],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"lms demo --size {size} failed: {proc.stderr[-800:]}")


def analyze(url: str) -> None:
    """Planner statistics after a bulk load, as an operator would run after an import (PostgreSQL only)."""
    if not url.startswith("postgresql"):
        return
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("ANALYZE")


def site(kind: str, size: str, log: Any) -> dict[str, Any]:
    """Return {url, env, accounts…} for a database of ``kind`` (sqlite|postgres) holding ``lms demo --size``."""
    key = (kind, size)
    if key in _cache:
        return _cache[key]
    folder = workdir(f"site-{kind}-{size}")
    marker = folder / "site.json"
    if os.environ.get("BENCH_REUSE") == "1" and marker.exists():
        info = json.loads(marker.read_text())
        _cache[key] = info
        return info
    url = empty_database(kind, folder, PG_NAMES[size])
    env = bench_env(folder, url)
    t = time.time()
    run_task("schema", {"url": url}, env=env)
    lms_demo(size, env)
    log(f"lms demo --size {size} on {kind}: {time.time() - t:.0f} s")
    # XL serves the coverage benchmark only: no course (enrolling 50,000 people one by one takes long)
    info = run_task(
        "pages_setup",
        {"url": url, "size": size, "media": env["LMS_MEDIA_DIR"], "course": size != "XL"},
        env=env,
    )
    analyze(url)
    info.update(url=url, env=env, kind=kind, size=size, demo_seconds=round(time.time() - t, 1))
    marker.write_text(json.dumps(info))
    _cache[key] = info
    return info


def drop_all() -> None:
    """Drop the PostgreSQL databases made by this run (SQLite files stay in the temp folder)."""
    if os.environ.get("BENCH_REUSE") == "1":
        return
    for name in PG_NAMES.values():
        drop_postgres(name)  # WITH (FORCE): also ends backends still busy for stopped web workers
    for key in [k for k in _cache if k[0] == "postgres"]:
        del _cache[key]


def requests_file(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path
