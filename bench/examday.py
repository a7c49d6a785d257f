"""Exam day: N learners of ``lms demo --size`` sit one exam at random moments within a window (issue 20).

Each taker (an asyncio task speaking HTTP over loopback to gunicorn, served as ``scripts/run`` serves it)
optionally signs in, opens "my exams", the exam's start page, starts, loads the paper, answers one question
every 10–40 s (``--time-scale`` compresses the think times for short runs) with an autosave each, submits and
reads the result. After each page it fetches the page's static files the way a browser with a cache does: a
file still fresh by its Cache-Control is not asked for again, a stale one is revalidated (If-None-Match /
If-Modified-Since, answered 304), a new one is fetched. Optionally a sign-in storm runs beside it.

Reported per request kind: count, errors, latency p50/p95/p99 (and p99 while arrivals still come, "the rush"),
the CPU time the worker thread spent on it (gunicorn hooks, bench/examday_gunicorn.py), and, sampled from /proc
once a second, the cores used by the machine, the gunicorn workers, PostgreSQL's backends of this database and
the load generator itself: what saturates. Afterwards the database is compared with what was sent
(bench/examday_tasks.py ``check``): every answer stored as sent, each attempt graded exactly once.

    scripts/bench --only examday [--takers 5000 --window 300 --database sqlite,postgresql --size L]
    .venv/bin/python -m bench.examday --takers 200 --window 60 --time-scale 0.05 --database sqlite

Bounded: at most 20,000 takers and 10,000 sign-ins, a window of at most an hour, a hard deadline after which
unfinished takers are cancelled (and reported); it only ever speaks to the gunicorn it started on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import http.cookies
import json
import os
import random
import re
import resource
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import (
    BIN,
    RESULTS,
    ROOT,
    Row,
    bench_env,
    bound_row,
    guarded,
    run_task,
    skipped,
    workdir,
)
from bench.examday_kinds import KINDS
from bench.server import free_port
from bench.sites import analyze, empty_database, lms_demo

TARGET_P99_MS = 500.0
MAX_TAKERS = 20_000
MAX_LOGINS = 10_000
MAX_WINDOW = 3600.0
CONNECTION_TRIES = (
    3  # a request whose connection was reset is sent again (as browsers do), at most this often
)
# A refused sign-in (429, busy) is tried again after its wait, as the page's script does, at most this often.
BUSY_RETRIES = 30
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
LINE_FORM = re.compile(r"<form [^>]*\bdata-line\b")
# What the sign-in page's script sends with the form (lms.org.auth.LINE_HEADER): refusals are then headers only.
SCRIPT_FORM = {"X-Sign-In-Line": "1"}
ASSET = re.compile(r'<(?:link|script|img)\b[^>]*?\b(?:href|src)="(/[^"]+)"')
SECTION = re.compile(r'<section class="card question" id="q-\d+" data-aq="(\d+)" data-type="([\w-]+)">')
OPTION = re.compile(r'<input type="radio" name="a-(\d+)" value="([^"]+)"[^>]*> <b>\w\.</b> ([^<]*)</label>')
ATTEMPT = re.compile(r"/quizzes/attempts/(\d+)")


@dataclasses.dataclass
class Options:
    takers: int = 5000
    window: float = 300.0
    size: str = "L"
    databases: tuple[str, ...] = ("sqlite", "postgresql")
    questions: int = 20
    think_min: float = 10.0
    think_max: float = 40.0
    time_scale: float = 1.0
    sign_in: int = 0  # takers who arrive by the sign-in page (the others come with a session)
    logins: int = 0  # more people who only sign in within the window (the sign-in storm)
    workers: int = 0  # 0: as gunicorn.conf.py (scripts/run): LMS_WORKERS or its default
    threads: int = 0  # 0: as gunicorn.conf.py (LMS_THREADS or its default)
    worker_class: str = ""  # "" = gunicorn's choice for --threads (gthread), as scripts/run
    gunicorn_args: str = ""  # more gunicorn flags, to try another setting (e.g. "--keep-alive 0")
    hash_slots: int = -1  # LMS_LOGIN_HASH_SLOTS for the server (-1: as configured, the product's default 0)
    access_log: bool = True  # scripts/run logs every request
    seed: int = 20
    reuse: bool = False  # keep the demo database of an earlier run (BENCH_REUSE=1 too)
    pg_database: str = ""  # default lms_bench_examday_<size>
    correct: float = 0.85  # share of answers given right (most pass, some do not)
    out: str = ""  # also write the whole report (JSON) here


QUICK = {
    "takers": 12,
    "window": 3.0,
    "size": "T",
    "databases": ("sqlite",),
    "time_scale": 0.004,
    "sign_in": 3,
}


def options_from(args: argparse.Namespace | None, quick: bool = False) -> Options:
    """Options from the command line (or the BENCH_EXAMDAY_* variables scripts/bench sets), quick sizes first."""
    opts = Options(**(QUICK if quick else {}))
    env = os.environ
    given: dict[str, Any] = {}
    for f in dataclasses.fields(Options):
        value = getattr(args, f.name, None) if args is not None else None
        if value is None:
            value = env.get(f"BENCH_EXAMDAY_{f.name.upper()}")
        if value is None or value == "":
            continue
        if f.name == "databases":
            value = tuple(_database(d) for d in str(value).split(",") if d)
        elif f.type in ("int", int):
            value = int(value)
        elif f.type in ("float", float):
            value = float(value)
        elif f.type in ("bool", bool):
            value = value if isinstance(value, bool) else str(value) not in ("0", "", "false", "no")
        given[f.name] = value
    opts = dataclasses.replace(opts, **given)
    conf = product_gunicorn_conf()
    opts.workers = opts.workers or conf["workers"]
    opts.threads = opts.threads or conf["threads"]
    if env.get("BENCH_REUSE") == "1":
        opts.reuse = True
    if not 1 <= opts.takers <= MAX_TAKERS or not 0 <= opts.logins <= MAX_LOGINS:
        raise SystemExit(f"takers must be 1–{MAX_TAKERS:,}, sign-ins 0–{MAX_LOGINS:,}")
    if not 0 <= opts.window <= MAX_WINDOW or opts.time_scale <= 0 or opts.sign_in > opts.takers:
        raise SystemExit("window 0–3600 s, a positive time scale, --sign-in at most --takers")
    return opts


def product_gunicorn_conf() -> dict[str, Any]:
    """The settings gunicorn.conf.py gives in this environment (what scripts/run serves with)."""
    scope: dict[str, Any] = {}
    saved = os.environ.get("LMS_THREADS")
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), scope)  # noqa: S102
    if saved is None:
        os.environ.pop("LMS_THREADS", None)  # the config sets it for the app; not for this process
    return scope


def _database(name: str) -> str:
    name = name.strip().lower()
    if name in ("postgres", "postgresql", "pg"):
        return "postgresql"
    if name == "sqlite":
        return "sqlite"
    raise SystemExit(f"unknown database {name!r} (sqlite or postgresql)")


# ------------------------------------------------------------------------------------------- the site


def run_step(name: str, args: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """``bench.examday_tasks.<name>(**args)`` in a fresh interpreter."""
    return run_task(name, args, env=env, module="bench.examday_tasks")


def site(database: str, opts: Options, log: Any) -> dict[str, Any]:
    """A database holding ``lms demo --size`` (size T: a tiny enterprise made here), reused with --reuse."""
    folder = workdir(f"examday-{database}-{opts.size}")
    marker = folder / "site.json"
    if opts.reuse and marker.exists():
        log(f"reusing {marker}")
        return json.loads(marker.read_text())
    url = empty_database(database, folder, opts.pg_database or f"lms_bench_examday_{opts.size.lower()}")
    env = bench_env(folder, url)
    t = time.time()
    run_task("schema", {"url": url}, env=env)
    if opts.size == "T":
        run_step("tiny_site", {"url": url, "people": max(200, opts.takers + opts.logins)}, env)
    else:
        lms_demo(opts.size, env)
    analyze(url)  # planner statistics after the bulk load, as an operator would
    log(f"site {database} {opts.size}: {time.time() - t:.0f} s")
    info = {"url": url, "env": env, "database": database, "size": opts.size}
    marker.write_text(json.dumps(info))
    return info


class Server:
    """gunicorn ``wsgi:app`` on 127.0.0.1 as scripts/run starts it (workers, --threads 4, --timeout 300, an
    access log), plus the hooks that account CPU per request kind."""

    def __init__(self, env: dict[str, str], opts: Options, folder: Path):
        self.env, self.opts, self.folder = env, opts, folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cpu_dir = folder / "cpu"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        self.cpu_dir.mkdir(parents=True, exist_ok=True)
        for f in self.cpu_dir.glob("*.json"):
            f.unlink()
        cmd = [
            str(BIN / "gunicorn"),
            "-c",
            str(ROOT / "bench" / "examday_gunicorn.py"),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--backlog",
            "4096",
            "--log-level",
            "warning",
        ]
        if self.opts.worker_class:
            cmd += ["--worker-class", self.opts.worker_class]
        cmd += shlex.split(self.opts.gunicorn_args)
        cmd += ["--access-logfile", str(self.folder / "access.log") if self.opts.access_log else "/dev/null"]
        log = open(self.folder / "gunicorn.log", "ab")
        self.proc = subprocess.Popen(
            [*cmd, "wsgi:app"],
            cwd=ROOT,
            env={
                **os.environ,
                **self.env,
                "LMS_TRUSTED_HOSTS": "127.0.0.1,localhost",
                "BENCH_EXAMDAY_CPU_DIR": str(self.cpu_dir),
                # workers and threads through gunicorn.conf.py, so that the app sees the same LMS_THREADS
                "LMS_WORKERS": str(self.opts.workers),
                "LMS_THREADS": str(self.opts.threads),
                **({"LMS_LOGIN_HASH_SLOTS": str(self.opts.hash_slots)} if self.opts.hash_slots >= 0 else {}),
            },
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        import urllib.error
        import urllib.request

        deadline = time.time() + 120
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with {self.proc.returncode}; see {self.folder}/gunicorn.log"
                )
            try:
                with urllib.request.urlopen(self.url + "/login?warmup=1", timeout=30):
                    break
            except urllib.error.HTTPError:
                break
            except OSError:
                if time.time() > deadline:
                    self.__exit__()
                    raise RuntimeError("gunicorn did not answer within 120 s") from None
                time.sleep(0.3)
        # every worker imports the app and renders a page once before the clock starts
        from concurrent.futures import ThreadPoolExecutor

        def hit(_: int) -> None:
            try:
                with urllib.request.urlopen(self.url + "/login?warmup=1", timeout=60):
                    pass
            except OSError:
                pass

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(hit, range(self.opts.workers * self.opts.threads * 3)))
        return self

    def pids(self) -> list[int]:
        """The master and its workers."""
        if self.proc is None:
            return []
        out = [self.proc.pid]
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.proc.pid:
                    out.append(int(d.name))
        return out

    def cpu_by_kind(self) -> dict[str, list[float]]:
        """Totals of the hooks' files: kind -> [requests, CPU seconds, wall seconds in the worker]."""
        total: dict[str, list[float]] = {}
        for f in self.cpu_dir.glob("worker-*.json"):
            try:
                data = json.loads(f.read_text())
            except (OSError, ValueError):
                continue
            for kind, (n, cpu, wall) in data.items():
                t = total.setdefault(kind, [0, 0.0, 0.0])
                t[0] += n
                t[1] += cpu
                t[2] += wall
        return total

    def __exit__(self, *exc: Any) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # workers finish, run worker_exit (the last CPU totals)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


# ------------------------------------------------------------------------------------------- sampling


def _proc_cpu(pid: int) -> float:
    """utime + stime of a process in seconds (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _accept_queue(port: int) -> int:
    """Connections the kernel has accepted for gunicorn's listening socket that no worker has taken yet."""
    needle = f":{port:04X} "
    try:
        with open("/proc/net/tcp") as fh:
            for line in fh:
                parts = line.split()
                # local address, state 0A (LISTEN); rx_queue of a listening socket is its accept queue
                if len(parts) > 4 and parts[1].endswith(needle.strip()) and parts[3] == "0A":
                    return int(parts[4].split(":")[1], 16)
    except OSError:
        pass
    return -1


def _machine_busy() -> float:
    """Busy CPU seconds of the whole machine since boot (all cores)."""
    parts = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(x) for x in parts]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class Sampler(threading.Thread):
    """Once a second: cores used by the machine, gunicorn (master + workers), PostgreSQL's backends of the
    bench database, and this load generator."""

    def __init__(self, server: Server, pg_url: str | None, started: float):
        super().__init__(daemon=True)
        self.server, self.started = server, started
        self.pg_url = pg_url.replace("postgresql+psycopg://", "postgresql://") if pg_url else None
        self.samples: list[dict[str, Any]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        conn = None
        if self.pg_url:
            import psycopg

            conn = psycopg.connect(self.pg_url, autocommit=True)
        prev: dict[str, Any] | None = None
        try:
            while not self.stop.is_set():
                now = time.perf_counter()
                workers = {pid: _proc_cpu(pid) for pid in self.server.pids()}
                pg = 0.0
                if conn is not None:
                    backends = conn.execute(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid()"
                    ).fetchall()
                    pg_cpu = {p: _proc_cpu(p) for (p,) in backends}
                else:
                    pg_cpu = {}
                me = os.times()
                backlog = _accept_queue(self.server.port)
                cur = {
                    "t": now,
                    "machine": _machine_busy(),
                    "workers": workers,
                    "pg": pg_cpu,
                    "self": me.user + me.system,
                }
                if prev is not None:
                    dt_ = now - prev["t"]
                    per_worker = {
                        p: (c - prev["workers"].get(p, c)) / dt_
                        for p, c in workers.items()
                        if p in prev["workers"]
                    }
                    pg = sum(c - prev["pg"].get(p, c) for p, c in pg_cpu.items()) / dt_
                    self.samples.append(
                        {
                            "at": round(now - self.started, 1),
                            "machine": (cur["machine"] - prev["machine"]) / dt_,
                            "gunicorn": sum(per_worker.values()),
                            "busiest_worker": max(per_worker.values(), default=0.0),
                            "postgresql": pg,
                            "load_generator": (cur["self"] - prev["self"]) / dt_,
                            "accept_queue": backlog,
                        }
                    )
                prev = cur
                self.stop.wait(1.0)
        finally:
            if conn is not None:
                conn.close()


class Autovacuum(threading.Thread):
    """autovacuum's stand-in where the server has it off (this machine's CI configuration does: conf.d sets
    ``autovacuum = off``), so that the run sees what a production PostgreSQL, autovacuum on by default, would.

    Without it the planner keeps the statistics of the moment the site was built, when the attempt tables were
    empty, and plans each autosave's lookup as a scan of every answer of the day (20 ms at 100,000 answers
    instead of 0.25 ms: bench/README.md, "PostgreSQL: what saturated"). Every ``naptime`` seconds (autovacuum's
    default, 60) it does what autovacuum would with its default thresholds: ANALYZE a table once more than 50 +
    10 % of its rows changed since the last analyze, VACUUM it once more than 50 + 20 % are dead. Its work runs
    in a backend of the bench database, so the sampler counts it as PostgreSQL's."""

    def __init__(self, pg_url: str, naptime: float = 60.0):
        super().__init__(daemon=True)
        self.pg_url = pg_url.replace("postgresql+psycopg://", "postgresql://")
        self.naptime = naptime
        self.stop = threading.Event()
        self.actions: list[tuple[float, str, str]] = []
        self.started = time.perf_counter()

    @staticmethod
    def needed(pg_url: str) -> bool:
        import psycopg

        with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            return conn.execute("SHOW autovacuum").fetchone()[0] == "off"

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.pg_url, autocommit=True) as conn:
            while not self.stop.wait(self.naptime):
                due = conn.execute(
                    "SELECT s.relname, s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0),"
                    " s.n_dead_tup > 50 + 0.2 * greatest(c.reltuples, 0)"
                    " FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"
                ).fetchall()
                for table, analyze, vacuum in due:
                    what = "VACUUM ANALYZE" if vacuum else "ANALYZE" if analyze else None
                    if what:
                        conn.execute(f'{what} "{table}"')
                        self.actions.append((round(time.perf_counter() - self.started, 1), what, table))


# ------------------------------------------------------------------------------------------- the takers


class StepFailed(Exception):
    pass


class Recorder:
    def __init__(self, started: float):
        self.started = started
        self.requests: list[tuple[str, float, float, bool]] = []  # kind, start (s), latency (ms), ok
        self.errors: list[str] = []
        self.cache_hits = 0
        self.retries: list[str] = []  # requests sent again after a connection reset
        self.sent: dict[int, dict[int, Any]] = {}
        self.finished = 0
        self.signed_in = 0
        self.loop_lag: list[tuple[float, float]] = []  # (s since start, ms late)
        self.sign_in_waits: list[tuple[float, int]] = []  # per person: s from the first POST to in, refusals
        self.told_waits: list[float] = []  # every refusal's X-Sign-In-Wait (s)

    def add(self, kind: str, t0: float, ok: bool, what: str = "") -> None:
        t1 = time.perf_counter()
        self.requests.append((kind, t0 - self.started, (t1 - t0) * 1000, ok))
        if not ok and len(self.errors) < 20:
            self.errors.append(f"{kind}: {what}"[:300])


class Learner:
    """One person's browser: cookies, CSRF token, an HTTP cache for static files."""

    def __init__(self, http: Any, rec: Recorder, person: dict[str, Any]):
        self.http, self.rec, self.person = http, rec, person
        self.cookies: dict[str, str] = dict(person.get("cookies") or {})
        self.csrf: str = person.get("csrf") or ""
        self.cache: dict[str, dict[str, Any]] = {}

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        h = {"User-Agent": "examday-bench", "Accept-Language": "zh-CN,zh;q=0.9"}
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        h.update(extra or {})
        return h

    def _keep_cookies(self, resp: Any) -> None:
        for raw in resp.headers.getall("Set-Cookie", []):
            jar = http.cookies.SimpleCookie()
            try:
                jar.load(raw)
            except http.cookies.CookieError:
                continue
            for name, morsel in jar.items():
                expired = morsel["max-age"] == "0" or "1970" in (morsel["expires"] or "")
                if expired or morsel.value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    async def send(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        expect: tuple[int, ...] = (200,),
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> tuple[int, Any, str]:
        import aiohttp

        for attempt in range(1, CONNECTION_TRIES + 1):
            t0 = time.perf_counter()
            try:
                async with self.http.request(
                    method, path, headers=self._headers(headers), allow_redirects=False, **kwargs
                ) as resp:
                    body = await resp.read()
                    self._keep_cookies(resp)
                    status, rheaders = resp.status, resp.headers
                break
            except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
                # A connection reset or closed before an answer: a browser sends the request again, and so does
                # exam.js after 3 s (start, autosave and submit are safe to repeat: one open attempt, seq, one
                # grading). Counted apart, never hidden; the last failure is an error.
                what = f"{method} {path}: {exc.__class__.__name__} {exc}"
                if attempt == CONNECTION_TRIES:
                    self.rec.add(kind, t0, False, what)
                    raise StepFailed(kind) from exc
                self.rec.retries.append(f"{kind}: {what}"[:300])
                await asyncio.sleep(3.0 if kind == "autosave" else 0.1)
            except Exception as exc:  # any other failure (refused, timed out) is an error row
                self.rec.add(kind, t0, False, f"{method} {path}: {exc.__class__.__name__} {exc}")
                raise StepFailed(kind) from exc
        ok = status in expect
        self.rec.add(kind, t0, ok, f"{method} {path}: HTTP {status} {body[:120]!r}")
        if not ok:
            raise StepFailed(kind)
        return status, rheaders, body.decode("utf-8", "replace")

    async def page(self, kind: str, path: str) -> str:
        """GET an HTML page, then its static files as a browser with a cache would."""
        _, _, text = await self.send(kind, "GET", path, headers={"Accept": "text/html"})
        m = CSRF_META.search(text)
        if m:
            self.csrf = m.group(1)
        assets = list(dict.fromkeys(ASSET.findall(text)))
        if assets:
            await asyncio.gather(*(self.static(a.replace("&amp;", "&")) for a in assets))
        return text

    async def static(self, url: str) -> None:
        entry = self.cache.get(url)
        now = time.monotonic()
        if entry and entry["fresh_until"] > now:
            self.rec.cache_hits += 1
            return
        headers = {"Accept": "*/*"}
        if entry and entry.get("etag"):
            headers["If-None-Match"] = entry["etag"]
        if entry and entry.get("last_modified"):
            headers["If-Modified-Since"] = entry["last_modified"]
        t0 = time.perf_counter()
        try:
            async with self.http.get(url, headers=self._headers(headers), allow_redirects=True) as resp:
                await resp.read()
                status, rh = resp.status, resp.headers
        except Exception as exc:  # counted; a missing stylesheet does not stop the exam
            self.rec.add("static files", t0, False, f"GET {url}: {exc.__class__.__name__} {exc}")
            return
        ok = status in (200, 304)
        self.rec.add("static files", t0, ok, f"GET {url}: HTTP {status}")
        if not ok:
            return
        cc = {
            p.strip().split("=", 1)[0].lower(): (p.split("=", 1)[1] if "=" in p else "")
            for p in (rh.get("Cache-Control") or "").split(",")
            if p.strip()
        }
        fresh = 0.0
        if "no-store" not in cc and "no-cache" not in cc and cc.get("max-age", "").isdigit():
            fresh = float(cc["max-age"])
        if "no-store" in cc:
            self.cache.pop(url, None)
            return
        entry = self.cache.setdefault(url, {})
        entry["fresh_until"] = now + fresh
        if rh.get("ETag"):
            entry["etag"] = rh["ETag"]
        if rh.get("Last-Modified"):
            entry["last_modified"] = rh["Last-Modified"]

    async def sign_in(self, enterprise: str) -> None:
        page = await self.page("sign-in page", "/login")
        # While people wait in the line, the page's script sends the form (lms/static/js/app.js, data-line) with
        # X-Sign-In-Line: a refusal is then the seconds to wait, without a page.
        script = SCRIPT_FORM if LINE_FORM.search(page) else {}
        first = time.perf_counter()
        for refused in range(BUSY_RETRIES):
            status, headers, text = await self.send(
                "sign-in",
                "POST",
                "/login",
                expect=(200, 302, 303, 429, 503) if script else (302, 303, 429, 503),
                headers=script,
                data={
                    "csrf_token": self.csrf,
                    "login": self.person["username"],
                    "password": self.person["password"],
                    "enterprise": enterprise,
                },
            )
            if status == 200 and not headers.get("Content-Type", "").startswith("application/json"):
                self.rec.add("sign-in", time.perf_counter(), False, "the sign-in page again, not signed in")
                raise StepFailed("sign-in")
            if status not in (429, 503):
                self.rec.signed_in += 1
                self.rec.sign_in_waits.append((time.perf_counter() - first, refused))
                return
            # "Many people are signing in: try again in a few seconds" (lms.core.slots): a person waits, retries
            kind, t0, latency, ok = self.rec.requests[-1]
            self.rec.requests[-1] = ("sign-in refused (busy)", t0, latency, ok)
            m = CSRF_META.search(text)
            if m:
                self.csrf = m.group(1)
            if text and LINE_FORM.search(text):
                # The page came back as the plain form's answer and its form is now the script's (people are
                # waiting): a browser's next try is the script's.
                script = SCRIPT_FORM
            try:  # the seconds to this browser's turn, as the page's script waits for them (lms/static/js/app.js)
                wait = float(headers.get("X-Sign-In-Wait") or headers.get("Retry-After") or "")
            except ValueError:
                wait = 2.0
            self.rec.told_waits.append(wait)
            await asyncio.sleep(wait)
        self.rec.add("sign-in", time.perf_counter(), False, f"still busy after {BUSY_RETRIES} tries")
        raise StepFailed("sign-in")

    async def sit(self, exam_id: int, opts: Options, rng: random.Random) -> None:
        await self.page("my exams page", "/quizzes/")
        await self.page("start page", f"/quizzes/exams/{exam_id}/start")
        _, headers, _ = await self.send(
            "start",
            "POST",
            f"/quizzes/exams/{exam_id}/start",
            expect=(302, 303),
            data={"csrf_token": self.csrf},
        )
        m = ATTEMPT.search(headers.get("Location", ""))
        if not m:
            self.rec.add("start", time.perf_counter(), False, f"no attempt in {headers.get('Location')!r}")
            raise StepFailed("start")
        attempt = int(m.group(1))
        paper = await self.page("paper", f"/quizzes/attempts/{attempt}")
        questions = [int(aq) for aq, _ in SECTION.findall(paper)]
        options: dict[int, list[tuple[str, str]]] = {}
        for aq, value, text in OPTION.findall(paper):
            options.setdefault(int(aq), []).append((value, text.strip()))
        if len(questions) != opts.questions or any(len(options.get(aq, ())) < 2 for aq in questions):
            self.rec.add("paper", time.perf_counter(), False, f"{len(questions)} questions on the paper")
            raise StepFailed("paper")
        sent = self.rec.sent.setdefault(attempt, {})
        for seq, aq in enumerate(questions, start=1):
            await asyncio.sleep(rng.uniform(opts.think_min, opts.think_max) * opts.time_scale)
            right = [v for v, t in options[aq] if t.startswith("通风")]
            value = int(right[0] if right and rng.random() < opts.correct else rng.choice(options[aq])[0])
            _, _, body = await self.send(
                "autosave",
                "POST",
                f"/quizzes/attempts/{attempt}/answer",
                json={"aq": aq, "answer": value, "seq": seq},
                headers={"X-CSRFToken": self.csrf, "Accept": "application/json"},
            )
            if json.loads(body).get("ok") is not True:
                self.rec.add("autosave", time.perf_counter(), False, body[:200])
                raise StepFailed("autosave")
            sent[aq] = value
        _, headers, _ = await self.send(
            "submit",
            "POST",
            f"/quizzes/attempts/{attempt}/submit",
            expect=(302, 303),
            data={"csrf_token": self.csrf},
        )
        if "/result" not in headers.get("Location", ""):
            self.rec.add("submit", time.perf_counter(), False, f"went to {headers.get('Location')!r}")
            raise StepFailed("submit")
        await self.page("result", f"/quizzes/attempts/{attempt}/result")
        self.rec.finished += 1


async def _watch_loop_lag(rec: Recorder, every: float = 0.05) -> None:
    """How late this generator's own event loop wakes up: a late loop adds its lag to every latency it
    measures, so a tail seen only here and not by the probe (another process) is the generator's."""
    while True:
        t0 = time.perf_counter()
        await asyncio.sleep(every)
        rec.loop_lag.append((t0 - rec.started, (time.perf_counter() - t0 - every) * 1000))


def _raise_fd_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(wanted, soft)), hard))


async def exam_day(
    base: str, people: list[dict[str, Any]], exam_id: int, enterprise: str, opts: Options, rec: Recorder
) -> dict[str, Any]:
    """Every taker (and sign-in) at its random moment; returns what did not finish by the hard deadline."""
    import aiohttp

    assert base.startswith("http://127.0.0.1:"), "the exam day only speaks to its own server on loopback"
    _raise_fd_limit(len(people) + 1024)
    rng = random.Random(opts.seed)
    sitting = opts.questions * opts.think_max * opts.time_scale
    deadline = opts.window + sitting + 300  # generous: a server that falls behind is reported, not waited on
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=1.0)  # gunicorn's keep-alive is 2 s
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(
        base_url=base, connector=connector, cookie_jar=aiohttp.DummyCookieJar(), timeout=timeout
    ) as client:

        async def one(person: dict[str, Any], at: float, seed: int) -> None:
            await asyncio.sleep(at)
            learner = Learner(client, rec, person)
            try:
                if person.get("password"):
                    await learner.sign_in(enterprise)
                if person["takes"]:
                    await learner.sit(exam_id, opts, random.Random(seed))
            except StepFailed:
                pass

        tasks = [
            asyncio.create_task(one(p, rng.uniform(0, opts.window), rng.randrange(1 << 30))) for p in people
        ]
        lag_task = asyncio.create_task(_watch_loop_lag(rec))
        done, pending = await asyncio.wait(tasks, timeout=deadline)
        lag_task.cancel()
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
    return {"unfinished": len(pending), "deadline_s": deadline}


# ------------------------------------------------------------------------------------------- the report


def _pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(p / 100 * len(values) + 0.5)) - 1))]


def summarise(
    rec: Recorder, cpu: dict[str, list[float]], samples: list[dict[str, Any]], opts: Options
) -> dict[str, Any]:
    kinds: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        rows = [r for r in rec.requests if r[0] == kind]
        if not rows and kind not in cpu:
            continue
        lat = [r[2] for r in rows]
        rush = [r[2] for r in rows if r[1] <= opts.window]
        n_cpu, cpu_s, wall_s = cpu.get(kind, [0, 0.0, 0.0])
        kinds[kind] = {
            "requests": len(rows),
            "errors": sum(1 for r in rows if not r[3]),
            "p50_ms": _pct(lat, 50),
            "p95_ms": _pct(lat, 95),
            "p99_ms": _pct(lat, 99),
            "rush_p99_ms": _pct(rush, 99),
            "max_ms": max(lat) if lat else None,
            "server_requests": int(n_cpu),
            "cpu_ms": cpu_s * 1000 / n_cpu if n_cpu else None,
            "worker_ms": wall_s * 1000 / n_cpu if n_cpu else None,
        }
    rush = [s for s in samples if s["at"] <= opts.window] or samples

    def avg(key: str, ss: list[dict[str, Any]]) -> float:
        return sum(s[key] for s in ss) / len(ss) if ss else 0.0

    def peak(key: str, ss: list[dict[str, Any]], width: int = 5) -> float:
        if not ss:
            return 0.0
        return max(avg(key, ss[i : i + width]) for i in range(max(1, len(ss) - width + 1)))

    cores = os.cpu_count() or 1
    load = {
        key: {"rush_avg": round(avg(key, rush), 2), "rush_peak5s": round(peak(key, rush), 2)}
        for key in ("machine", "gunicorn", "busiest_worker", "postgresql", "load_generator")
    }
    others = max(
        0.0,
        load["machine"]["rush_avg"]
        - sum(load[k]["rush_avg"] for k in ("gunicorn", "postgresql", "load_generator")),
    )
    load["others"] = {"rush_avg": round(others, 2)}
    if load["machine"]["rush_peak5s"] >= 0.9 * cores:
        verdict = (
            f"CPU: the machine at {load['machine']['rush_peak5s']:.2f} of {cores} cores in the busiest 5 s "
            f"(rush average: gunicorn {load['gunicorn']['rush_avg']:.2f}, PostgreSQL {load['postgresql']['rush_avg']:.2f}, "
            f"load generator {load['load_generator']['rush_avg']:.2f}, everything else {others:.2f})"
        )
    elif load["busiest_worker"]["rush_peak5s"] >= 0.9:
        verdict = (
            f"one gunicorn worker at {load['busiest_worker']['rush_peak5s']:.2f} core (the GIL): more workers "
            f"would help (machine {load['machine']['rush_peak5s']:.2f} of {cores})"
        )
    else:
        verdict = (
            f"not CPU (machine at most {load['machine']['rush_peak5s']:.2f} of {cores} cores): waiting — worker "
            f"threads ({opts.workers}×{opts.threads}), the database's locks, or the arrivals themselves"
        )
    return {"kinds": kinds, "load": load, "saturation": verdict, "samples": samples}


def markdown(report: dict[str, Any]) -> str:
    def ms(v: float | None) -> str:
        return "—" if v is None else (f"{v:,.0f} ms" if v >= 10 else f"{v:.1f} ms")

    lines = [
        "| kind | requests | errors | p50 | p95 | p99 | p99 in the rush | CPU per request | time in worker |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, k in report["kinds"].items():
        if kind == "other":
            continue
        lines.append(
            f"| {kind} | {k['requests']:,} | {k['errors']:,} | {ms(k['p50_ms'])} | {ms(k['p95_ms'])} | "
            f"{ms(k['p99_ms'])} | {ms(k['rush_p99_ms'])} | {ms(k['cpu_ms'])} | {ms(k['worker_ms'])} |"
        )
    probe = report.get("probe")
    if probe:
        lines.append(
            "Probe (another process, 4 plain requests a second): "
            + "; ".join(
                f"{label} p50 {ms(p['p50_ms'])}, p99 {ms(p['p99_ms'])}, p99 in the rush {ms(p['rush_p99_ms'])}"
                for label, p in probe.items()
            )
        )
    series = report.get("seconds_series") or []
    if series:
        worst = max(series, key=lambda s: s["p99_ms"] or 0)
        lines.append(
            f"Worst 5 s (from {worst['at']:.0f} s): p99 {ms(worst['p99_ms'])}, probe max {ms(worst['probe_max_ms'])}, "
            f"generator loop lag max {ms(worst['loop_lag_max_ms'])}, accept queue max {worst['accept_queue_max']}, "
            f"machine {worst['machine']} cores (gunicorn {worst['gunicorn']}, generator {worst['load_generator']}); "
            f"whole run: loop lag max {ms(max((s['loop_lag_max_ms'] or 0) for s in series))}, "
            f"accept queue max {max((s['accept_queue_max'] or 0) for s in series)}"
        )
    sp = report.get("sign_in_people") or {}
    if sp.get("people"):
        lines.append(
            f"People signing in: {sp['people']:,}, {sp['refused_at_least_once']:,} asked to try again at least once "
            f"(mean {sp['refusals_mean']} times); from the first try to signed in: p50 "
            f"{sp['seconds_to_signed_in_p50']:.1f} s, p95 {sp['seconds_to_signed_in_p95']:.1f} s, "
            f"longest {sp['seconds_to_signed_in_max']:.1f} s; refusals by the wait they told: "
            + ", ".join(f"{k} {v:,}" for k, v in (sp.get("refusals_by_told_wait") or {}).items())
        )
    gcp = report.get("generator_gc")
    if gcp:
        lines.append(
            f"Generator's garbage collection: {gcp['collections']:,} runs ({gcp['full_collections']} full), "
            f"longest {ms(gcp['max_ms'])}, {gcp['total_ms'] / 1000:.1f} s in all"
        )
    return "\n".join(lines)


class _GcPauses:
    """The generator's own garbage-collection pauses while it runs (a long one freezes every taker's clock at
    once and looks like a slow server). Objects alive before the run are frozen out of the collector's scans."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._t0 = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.pauses.append((info["generation"], (time.perf_counter() - self._t0) * 1000))

    def __enter__(self) -> _GcPauses:
        import gc

        gc.collect()
        gc.freeze()  # the people, the options, the imported modules: never scanned again
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: Any) -> None:
        import gc

        gc.callbacks.remove(self._callback)
        gc.unfreeze()

    def summary(self) -> dict[str, Any]:
        full = [ms for gen, ms in self.pauses if gen == 2]
        return {
            "collections": len(self.pauses),
            "full_collections": len(full),
            "max_ms": round(max((ms for _, ms in self.pauses), default=0.0), 1),
            "total_ms": round(sum(ms for _, ms in self.pauses), 1),
        }


def _start_probe(url: str, out: Path, opts: Options) -> subprocess.Popen[bytes]:
    """The independent probe (bench/examday_probe.py): the login page and one static file, 4 a second."""
    import urllib.request

    with urllib.request.urlopen(url + "/login", timeout=60) as resp:
        page = resp.read().decode("utf-8", "replace")
    statics = [a.replace("&amp;", "&") for a in ASSET.findall(page) if a.startswith("/static/")]
    paths = ["/login?probe=1", *(statics[:1] or [])]
    seconds = opts.window + opts.questions * opts.think_max * opts.time_scale + 60
    return subprocess.Popen(
        [sys.executable, "-m", "bench.examday_probe", url, str(out), str(seconds), *paths], cwd=ROOT
    )


def _read_probe(path: Path, started_unix: float) -> list[tuple[float, str, float, int]]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue
        rows.append((r["t"] - started_unix, r["path"], r["ms"], r["status"]))
    return rows


def _probe_summary(rows: list[tuple[float, str, float, int]], opts: Options) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, keep in (
        ("page", lambda p: not p.startswith("/static/")),
        ("static", lambda p: p.startswith("/static/")),
    ):
        lat = [r[2] for r in rows if keep(r[1])]
        rush = [r[2] for r in rows if keep(r[1]) and r[0] <= opts.window]
        out[label] = {
            "requests": len(lat),
            "errors": sum(1 for r in rows if keep(r[1]) and r[3] not in (200, 304)),
            "p50_ms": _pct(lat, 50),
            "p99_ms": _pct(lat, 99),
            "rush_p99_ms": _pct(rush, 99),
            "max_ms": max(lat) if lat else None,
        }
    return out


def per_second(
    rec: Recorder, samples: list[dict[str, Any]], probe: list[tuple[float, str, float, int]], width: int = 5
) -> list[dict[str, Any]]:
    """Every `width` seconds: requests sent, their p99 as the generator saw it, the probe's worst, the
    generator's worst loop lag, the longest accept queue and the cores in use: where the tail comes from."""
    end = max([r[1] for r in rec.requests] + [0.0])
    out = []
    t = 0.0
    while t <= end:
        lat = [r[2] for r in rec.requests if t <= r[1] < t + width]
        pr = [r[2] for r in probe if t <= r[0] < t + width]
        lag = [ms for at, ms in rec.loop_lag if t <= at < t + width]
        ss = [s for s in samples if t <= s["at"] < t + width]
        out.append(
            {
                "at": t,
                "requests": len(lat),
                "p99_ms": _pct(lat, 99),
                "probe_max_ms": max(pr) if pr else None,
                "loop_lag_max_ms": round(max(lag), 1) if lag else None,
                "accept_queue_max": max((s.get("accept_queue", -1) for s in ss), default=None),
                "machine": round(sum(s["machine"] for s in ss) / len(ss), 2) if ss else None,
                "gunicorn": round(sum(s["gunicorn"] for s in ss) / len(ss), 2) if ss else None,
                "load_generator": round(sum(s["load_generator"] for s in ss) / len(ss), 2) if ss else None,
            }
        )
        t += width
    return out


def one_database(database: str, opts: Options, log: Any) -> dict[str, Any]:
    """Build (or reuse) the site, run the exam day on it, check the database; return the whole report."""
    info = site(database, opts, log)
    folder = workdir(f"examday-{database}-{opts.size}")
    people_file = folder / "people.jsonl"
    setup = run_step(
        "setup",
        {
            "url": info["url"],
            "size": opts.size,
            "questions": opts.questions,
            "takers": opts.takers,
            "sign_in": opts.sign_in,
            "logins": opts.logins,
            "out": str(people_file),
        },
        info["env"],
    )
    people = [json.loads(line) for line in people_file.read_text().splitlines() if line.strip()]
    log(
        f"examday {database}: exam {setup['exam_id']}, {opts.takers} takers ({opts.sign_in} signing in) "
        f"+ {opts.logins} sign-ins over {opts.window:.0f} s, think {opts.think_min:g}–{opts.think_max:g} s "
        f"× {opts.time_scale:g}, gunicorn {opts.workers}×{opts.threads}"
    )
    with Server(info["env"], opts, folder) as server:
        before = server.cpu_by_kind()
        started = time.perf_counter()
        rec = Recorder(started)
        sampler = Sampler(server, info["url"] if database == "postgresql" else None, started)
        sampler.start()
        autovacuum = (
            Autovacuum(info["url"]) if database == "postgresql" and Autovacuum.needed(info["url"]) else None
        )
        if autovacuum is not None:
            log(
                "the server has autovacuum off: the bench does its work by its default thresholds, every 60 s"
            )
            autovacuum.start()
        probe_file = folder / "probe.jsonl"
        probe_file.unlink(missing_ok=True)
        started_unix = time.time()
        probe = _start_probe(server.url, probe_file, opts)
        pauses = _GcPauses()
        try:
            with pauses:
                outcome = asyncio.run(
                    exam_day(server.url, people, setup["exam_id"], setup["enterprise_code"], opts, rec)
                )
        finally:
            sampler.stop.set()
            sampler.join(timeout=10)
            if autovacuum is not None:
                autovacuum.stop.set()
                autovacuum.join(timeout=120)
            probe.terminate()
            probe.wait(timeout=30)
        seconds = time.perf_counter() - started
    after = server.cpu_by_kind()  # the workers wrote their last totals on exit
    cpu = {k: [v[i] - before.get(k, [0, 0.0, 0.0])[i] for i in range(3)] for k, v in after.items()}
    sent_file = folder / "sent.json"
    sent_file.write_text(json.dumps(rec.sent))
    check = run_step(
        "check", {"url": info["url"], "exam_id": setup["exam_id"], "sent": str(sent_file)}, info["env"]
    )
    report = summarise(rec, cpu, sampler.samples, opts)
    report["seconds_series"] = per_second(rec, sampler.samples, _read_probe(probe_file, started_unix))
    report["probe"] = _probe_summary(_read_probe(probe_file, started_unix), opts)
    report["generator_gc"] = pauses.summary()
    waits = rec.sign_in_waits
    report["sign_in_people"] = {
        "people": len(waits),
        "refused_at_least_once": sum(1 for _, n in waits if n),
        "refusals_mean": round(sum(n for _, n in waits) / len(waits), 2) if waits else None,
        "seconds_to_signed_in_p50": _pct([w for w, _ in waits], 50),
        "seconds_to_signed_in_p95": _pct([w for w, _ in waits], 95),
        "seconds_to_signed_in_max": max((w for w, _ in waits), default=None),
        # Refusals by the wait they told: the last ones before a turn are the short ones.
        "refusals_by_told_wait": {
            label: sum(1 for t in rec.told_waits if low <= t < high)
            for label, low, high in (
                ("under 1 s", 0, 1),
                ("1-10 s", 1, 10),
                ("10-60 s", 10, 60),
                ("60 s or more", 60, float("inf")),
            )
        },
    }
    takers_done = rec.finished
    integrity_ok = (
        outcome["unfinished"] == 0
        and takers_done == opts.takers
        and check["answers_stored_as_sent"] == check["answers_sent"] == opts.takers * opts.questions
        and check["graded_once"] == opts.takers
        and check["ledger_ok"]
    )
    report.update(
        database=database,
        options=dataclasses.asdict(opts),
        exam_id=setup["exam_id"],
        seconds=round(seconds, 1),
        takers_finished=takers_done,
        signed_in=rec.signed_in,
        unfinished=outcome["unfinished"],
        static_cache_hits=rec.cache_hits,
        connection_retries=len(rec.retries),
        first_retries=rec.retries[:5],
        first_errors=rec.errors[:10],
        autovacuum=(
            "the server's"
            if autovacuum is None
            else {"stand_in": True, "actions": len(autovacuum.actions), "first": autovacuum.actions[:20]}
        )
        if database == "postgresql"
        else None,
        check=check,
        integrity_ok=integrity_ok,
        when=time.strftime("%Y-%m-%d %H:%M:%S"),
        loadavg=os.getloadavg(),
    )
    log(f"examday {database}: {seconds:.0f} s, {takers_done}/{opts.takers} takers finished; check {check}")
    return report


def rows_of(report: dict[str, Any]) -> list[Row]:
    o = report["options"]
    db_name = "SQLite" if report["database"] == "sqlite" else "PostgreSQL"
    scene = f"{o['takers']:,} takers over {o['window']:.0f} s, {o['size']}, {db_name}"
    if o["time_scale"] != 1:
        scene += f", think ×{o['time_scale']:g}"
    if o["sign_in"] or o["logins"]:
        scene += f", {o['sign_in'] + o['logins']:,} sign-ins"
        if o.get("hash_slots", -1) >= 0:
            scene += f" (hash slots {o['hash_slots']})"
    rows = []
    for kind, k in report["kinds"].items():
        if kind == "other" or not k["requests"]:
            continue

        def ms(v: float | None) -> str:
            return "—" if v is None else f"{v:.1f}"

        rows.append(
            bound_row(
                "examday",
                f"{kind}: p99, {scene}",
                k["p99_ms"],
                TARGET_P99_MS,
                "ms",
                note=f"{k['requests']:,} requests, {k['errors']} errors, p50 {ms(k['p50_ms'])} / p95 {ms(k['p95_ms'])} ms, "
                f"rush p99 {ms(k['rush_p99_ms'])} ms, CPU {ms(k['cpu_ms'])} ms/request",
                **{key: k[key] for key in ("requests", "errors", "rush_p99_ms", "cpu_ms", "worker_ms")},
            )
        )
    c = report["check"]
    rows.append(
        Row(
            "examday",
            f"integrity: answers stored as sent, each attempt graded once, {scene}",
            float(c["answers_stored_as_sent"]),
            float(o["takers"] * o["questions"]),
            "answers",
            "all, 0 errors",
            report["integrity_ok"] and all(k["errors"] == 0 for k in report["kinds"].values()),
            None,
            f"{report['takers_finished']:,}/{o['takers']:,} takers finished, {c['graded_once']:,} graded once, "
            f"{sum(k['errors'] for k in report['kinds'].values())} errors, "
            f"{report['connection_retries']} sent again after a connection reset; saturation: {report['saturation']}",
            {"check": c, "load": report["load"], "first_errors": report["first_errors"]},
        )
    )
    return rows


def save_report(report: dict[str, Any], opts: Options) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = Path(opts.out) if opts.out else RESULTS / f"examday-{report['database']}-latest.json"
    path.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    return path


def run(quick: bool, log: Any) -> list[Row]:
    """The section of scripts/bench (bench.run): every chosen database."""
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        return [skipped("examday", "exam day", "aiohttp is not installed (scripts/setup dev)")]
    opts = options_from(None, quick)
    rows: list[Row] = []
    for database in opts.databases:

        def measure(database: str = database) -> list[Row]:
            report = one_database(database, opts, log)
            path = save_report(report, dataclasses.replace(opts, out=""))
            print(
                f"\nExam day on {database} ({path}):\n{markdown(report)}\nSaturation: {report['saturation']}\n"
            )
            return rows_of(report)

        rows += guarded("examday", f"exam day on {database}", measure, log)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (size T, 12 takers, 3 s, SQLite)")
    args = parser.parse_args(argv)
    opts = options_from(args, args.quick)

    def log(message: str) -> None:
        print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    ok = True
    for database in opts.databases:
        report = one_database(database, opts, log)
        path = save_report(report, opts if len(opts.databases) == 1 else dataclasses.replace(opts, out=""))
        print(f"\nExam day on {database} ({path}):\n{markdown(report)}")
        print(f"Saturation: {report['saturation']}")
        print(f"Check: {json.dumps(report['check'], ensure_ascii=False)}")
        if report["connection_retries"]:
            print(
                f"Sent again after a connection reset: {report['connection_retries']}: {report['first_retries']}"
            )
        if report["first_errors"]:
            print("First errors:\n  " + "\n  ".join(report["first_errors"]))
        ok = ok and report["integrity_ok"]
    return 0 if ok else 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The exam day's options (also on scripts/bench, which passes them as BENCH_EXAMDAY_* variables)."""
    g = parser.add_argument_group("exam day (--only examday)")
    g.add_argument("--takers", type=int, help="learners who sit the exam (default 5,000; at most 20,000)")
    g.add_argument("--window", type=float, help="seconds within which they start (default 300)")
    g.add_argument("--size", choices=["T", "S", "M", "L", "XL"], help="lms demo --size (default L; T: tiny)")
    g.add_argument("--database", dest="databases", help="sqlite, postgresql or both (default both)")
    g.add_argument("--questions", type=int, help="questions per paper (default 20)")
    g.add_argument("--time-scale", dest="time_scale", type=float, help="think times × this (default 1)")
    g.add_argument("--think-min", dest="think_min", type=float, help="shortest think time, s (default 10)")
    g.add_argument("--think-max", dest="think_max", type=float, help="longest think time, s (default 40)")
    g.add_argument(
        "--sign-in", dest="sign_in", type=int, help="takers who sign in by password first (default 0)"
    )
    g.add_argument("--logins", type=int, help="more people who only sign in within the window (default 0)")
    g.add_argument("--workers", type=int, help="gunicorn workers (default: gunicorn.conf.py, as scripts/run)")
    g.add_argument("--threads", type=int, help="gunicorn threads per worker (default: gunicorn.conf.py)")
    g.add_argument("--gunicorn-args", dest="gunicorn_args", help='more gunicorn flags, e.g. "--keep-alive 0"')
    g.add_argument(
        "--worker-class", dest="worker_class", help="gunicorn worker class (default: as scripts/run)"
    )
    g.add_argument(
        "--hash-slots",
        dest="hash_slots",
        type=int,
        help="LMS_LOGIN_HASH_SLOTS of the server: password checks at once (default: as configured; 0 unbounded)",
    )
    g.add_argument("--pg-database", dest="pg_database", help="PostgreSQL database to (re)create")
    g.add_argument(
        "--reuse", action="store_true", default=None, help="keep the demo database of an earlier run"
    )
    g.add_argument("--seed", type=int, help="random seed of arrivals and answers")
    g.add_argument("--out", help="write the report (JSON) here")


if __name__ == "__main__":
    sys.exit(main())
