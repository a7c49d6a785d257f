"""Start gunicorn on loopback for a benchmark and drive wrk against it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.common import BIN, ROOT, workdir

WORKERS = 2 * (os.cpu_count() or 1) + 1
WRK_SCRIPT = ROOT / "bench" / "wrk_report.lua"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """``with Gunicorn("wsgi:app", env) as g: g.url`` — 2×cores+1 sync workers on 127.0.0.1."""

    def __init__(
        self,
        app: str,
        env: dict[str, str],
        *,
        workers: int = WORKERS,
        ready_path: str = "/",
        log: Path | None = None,
    ):
        self.app, self.env, self.workers, self.ready_path = app, env, workers, ready_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Gunicorn:
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                # gunicorn's own defaults, not the project's gunicorn.conf.py (which the working directory
                # would load: 4 threads per worker, an access log): the wrk sections compare trees and apps
                # served alike, by sync workers (the exam day serves as scripts/run does, bench/examday.py)
                "--config",
                os.devnull,
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--worker-class",
                "sync",
                "--timeout",
                "120",
                "--backlog",
                "2048",
                "--log-level",
                "warning",
                self.app,
            ],
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"gunicorn {self.app} exited with {self.proc.returncode}"
                    + (f"; see {self.log}" if self.log else "")
                )
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=5):
                    break
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.3)
        else:
            self.__exit__()
            raise RuntimeError(f"gunicorn {self.app} did not answer within 90 s")
        self._warm()
        return self

    def _warm(self) -> None:
        """Wait until every worker has imported the app: rounds of concurrent requests until one is all quick."""
        from concurrent.futures import ThreadPoolExecutor

        def hit(_: int) -> float:
            t = time.perf_counter()
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=30):
                    pass
            except urllib.error.HTTPError:
                pass
            except OSError:
                return 99.0
            return time.perf_counter() - t

        deadline = time.time() + 90
        with ThreadPoolExecutor(self.workers * 3) as pool:
            while time.time() < deadline:
                if max(pool.map(hit, range(self.workers * 6))) < 0.5:
                    break
                time.sleep(0.5)

    def __exit__(self, *exc: Any) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # the master stops its own workers
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def wrk(
    url: str,
    *,
    seconds: int,
    connections: int = 32,
    threads: int = 2,
    requests_file: Path | None = None,
    cookie: str | None = None,
    warmup: int = 3,
) -> dict[str, Any]:
    """Run wrk with the reporting script (after ``warmup`` seconds of the same load, not counted); return
    requests/s, latency percentiles (ms) and status counts."""
    if warmup:
        wrk(
            url,
            seconds=warmup,
            connections=connections,
            threads=threads,
            requests_file=requests_file,
            cookie=cookie,
            warmup=0,
        )
    cmd = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(WRK_SCRIPT),
    ]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    env = {**os.environ}
    if requests_file:
        env["BENCH_REQUESTS"] = str(requests_file)
    else:
        env.pop("BENCH_REQUESTS", None)
    proc = subprocess.run([*cmd, url], capture_output=True, text=True, env=env, timeout=seconds + 120)
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON ") :])
    raise RuntimeError(
        f"wrk gave no report (exit {proc.returncode}): {proc.stdout[-500:]} {proc.stderr[-500:]}"
    )


NOOP_APP = "bench.hello_app:create_noop_app()"


def served(app: str, env: dict[str, str], log_name: str) -> Gunicorn:
    """``app`` ("wsgi:app" or ``NOOP_APP``) under gunicorn on a bench site, logging to logs/<log_name>.log."""
    return Gunicorn(app, env, ready_path="/healthz", log=workdir("logs") / f"{log_name}.log")
