"""gunicorn config of the exam-day benchmark: per request kind, the CPU time its thread spent in the worker.

``gunicorn -c bench/examday_gunicorn.py …``: the product's gunicorn.conf.py plus these hooks. Each worker
writes its running totals (requests, CPU seconds, wall seconds per kind) to
``$BENCH_EXAMDAY_CPU_DIR/worker-<pid>.json`` at most once a second and when it exits. ``time.thread_time()``
is the CPU of the thread that served the request, so the figure holds for gthread workers (several requests
at once in one process) as for sync ones.
"""

from __future__ import annotations

import json
import os
import threading
import time

from bench.examday_kinds import classify

# The product's settings first (workers, threads, keep-alive: gunicorn.conf.py, as scripts/run serves), then
# the bench's hooks below; flags on the command line still win.
_PRODUCT_CONF = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "gunicorn.conf.py")
with open(_PRODUCT_CONF) as _fh:
    exec(compile(_fh.read(), _PRODUCT_CONF, "exec"))  # noqa: S102 - our own config file

_lock = threading.Lock()
_totals: dict[str, list[float]] = {}
_last_dump = [0.0]


def _dump(worker_pid: int) -> None:
    folder = os.environ.get("BENCH_EXAMDAY_CPU_DIR")
    if not folder:
        return
    path = os.path.join(folder, f"worker-{worker_pid}.json")
    with _lock:
        data = json.dumps({k: list(v) for k, v in _totals.items()})
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(data)
    os.replace(tmp, path)


def pre_request(worker, req):  # noqa: ANN001, ANN201
    req.bench_started = (time.thread_time(), time.perf_counter())


def post_request(worker, req, environ, resp):  # noqa: ANN001, ANN201
    started = getattr(req, "bench_started", None)
    if started is None:
        return
    cpu, wall = time.thread_time() - started[0], time.perf_counter() - started[1]
    kind = classify(req.method, f"{req.path}?{req.query or ''}")
    now = time.monotonic()
    with _lock:
        t = _totals.setdefault(kind, [0, 0.0, 0.0])
        t[0] += 1
        t[1] += cpu
        t[2] += wall
        due = now - _last_dump[0] >= 1.0
        if due:
            _last_dump[0] = now
    if due:
        _dump(os.getpid())


def worker_exit(server, worker):  # noqa: ANN001, ANN201
    _dump(os.getpid())
