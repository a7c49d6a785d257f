"""Shared plumbing of the benchmarks: results, measured subprocesses, the machine, temporary databases.

Every measured step runs in its own Python process (``python -m bench.tasks NAME ARGS``) so that its peak
resident memory (VmHWM) belongs to that step alone and nothing warmed up by an earlier step helps it.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The test suite's smoke run (tests/stack/test_bench_smoke.py): --quick at the smallest sizes that still run
# every row (it keeps the benchmarks working; the figures of such a run mean nothing).
SMOKE = os.environ.get("BENCH_SMOKE") == "1"
PYTHON = (
    str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
)
BIN = Path(PYTHON).parent
RESULTS = Path(
    os.environ.get("BENCH_RESULTS_DIR") or ROOT / "bench" / "results"
)  # the smoke test sets its own
PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@dataclass
class Row:
    """One line of the table: our figure, the limit's figure from the same run, their ratio, the target."""

    bench: str
    workload: str
    ours: float | None
    limit: float | None
    unit: str  # "s" (lower is better) or "req/s" (higher is better)
    target: str  # e.g. "<= 3x", ">= 0.25x", "< 300 MB"
    met: bool | None
    ratio: float | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def time_ratio(
    bench: str,
    workload: str,
    ours: float | None,
    limit: float | None,
    max_ratio: float,
    note: str = "",
    **extra: Any,
) -> Row:
    """A row for durations: ratio = ours / limit, met when at most ``max_ratio``."""
    ratio = ours / limit if ours is not None and limit else None
    return Row(
        bench,
        workload,
        ours,
        limit,
        "s",
        f"<= {max_ratio:g}x",
        None if ratio is None else ratio <= max_ratio,
        ratio,
        note,
        extra,
    )


def rate_ratio(
    bench: str,
    workload: str,
    ours: float | None,
    limit: float | None,
    min_ratio: float | None,
    note: str = "",
    extra_ok: bool = True,
    **extra: Any,
) -> Row:
    """A row for throughputs: ratio = ours / limit, met when at least ``min_ratio`` (and ``extra_ok``).

    ``min_ratio`` None: a row that informs (a floor), with no target.
    """
    ratio = ours / limit if ours is not None and limit else None
    return Row(
        bench,
        workload,
        ours,
        limit,
        "req/s",
        "—" if min_ratio is None else f">= {min_ratio:g}x",
        None if ratio is None or min_ratio is None else (ratio >= min_ratio and extra_ok),
        ratio,
        note,
        extra,
    )


def bound_row(
    bench: str, workload: str, value: float | None, bound: float, unit: str, note: str = "", **extra: Any
) -> Row:
    """A row for an absolute bound (memory, p99): met when ``value`` is under ``bound``."""
    return Row(
        bench,
        workload,
        value,
        None,
        unit,
        f"< {bound:g} {unit}",
        None if value is None else value < bound,
        None,
        note,
        extra,
    )


def skipped(bench: str, workload: str, why: str) -> Row:
    """A row for something that could not be measured in this run."""
    return Row(bench, workload, None, None, "", "", None, None, f"not measured: {why}")


def guarded(bench: str, what: str, measure: Callable[[], list[Row]], log: Any) -> list[Row]:
    """The rows of ``measure()``, or one row saying why ``what`` was not measured.

    One database (or size) failing must not lose the other rows of the section.
    """
    try:
        return measure()
    except Exception as exc:
        log(f"{bench}: {what} failed: {exc!r}")
        return [skipped(bench, what, f"{exc.__class__.__name__}: {str(exc)[:150]}")]


# ------------------------------------------------------------------------------------------- subprocesses


def run_task(
    name: str,
    args: dict[str, Any],
    *,
    env: dict[str, str] | None = None,
    timeout: float = 3600,
    module: str = "bench.tasks",
) -> dict[str, Any]:
    """Run ``<module>.<name>(**args)`` (a task of bench.tasks or bench.examday_tasks) in a fresh interpreter;
    return its JSON result (+ peak_mb)."""
    full_env = {**os.environ, **(env or {})}
    full_env.setdefault("PYTHONPATH", str(ROOT))
    proc = subprocess.run(
        [PYTHON, "-m", module, name, json.dumps(args)],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = "\n".join((proc.stderr or proc.stdout).splitlines()[-25:])
        raise RuntimeError(f"task {name} failed (exit {proc.returncode}):\n{tail}")
    return json.loads(lines[-1])


def task_main(tasks: dict[str, Callable[..., dict[str, Any]]]) -> None:
    """Run the task named by argv[1] with the JSON keyword arguments of argv[2]; print its result as the last
    line of the output, where ``run_task`` reads it."""
    name, raw = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "{}"
    result = tasks[name](**json.loads(raw))
    sys.stdout.write("\n" + json.dumps(result, default=str) + "\n")
    sys.stdout.flush()


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB (VmHWM), for the task's own report."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = time.perf_counter() - self.start


# ------------------------------------------------------------------------------------------- machine


def machine() -> dict[str, Any]:
    """CPU model, cores, RAM, OS and tool versions of this run."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_mb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_mb = int(line.split()[1]) // 1024
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_mb": ram_mb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "wrk": shutil.which("wrk") is not None,
    }


# ------------------------------------------------------------------------------------------- databases


def postgres_available() -> bool:
    """Whether the bench PostgreSQL answers (BENCH_POSTGRES_URL, default postgres@127.0.0.1)."""
    try:
        import psycopg

        psycopg.connect(PG_ADMIN, connect_timeout=3).close()
        return True
    except Exception:
        return False


def fresh_postgres(name: str) -> str:
    """(Re)create database ``name`` and return its SQLAlchemy URL."""
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]
    return base.replace("postgresql://", "postgresql+psycopg://") + "/" + name


def drop_postgres(name: str) -> None:
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except Exception:
        pass


def workdir(name: str) -> Path:
    """A scratch folder under the system temp dir for one benchmark (kept until the run ends)."""
    base = Path(os.environ.get("BENCH_TMP") or tempfile.gettempdir()) / "lms-bench"
    path = base / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def bench_env(instance: Path, url: str, media: Path | None = None) -> dict[str, str]:
    """Environment of an LMS process pointed at ``url`` with its own instance folder."""
    env = {
        "LMS_INSTANCE_DIR": str(instance),
        "LMS_DATABASE_URL": url,
        "LMS_SECRET_KEY": "bench-secret-key-not-for-production",
        "LMS_MEDIA_DIR": str(media or instance / "media"),
        "PYTHONPATH": str(ROOT),
    }
    return env
