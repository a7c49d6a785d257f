"""A host-wide bound on CPU-heavy work that must not starve everything else (issue 20: a sign-in rush).

A password check costs about 100 ms of CPU (scrypt). 5,000 people signing in within five minutes want more than
a core for that alone, and each gunicorn worker runs several at once in its threads: on a 2-core server the
exam's autosaves then wait seconds. ``slot("signin", slots=1, queue=2)`` lets at most ``slots`` such jobs run at
once on this host (all gunicorn workers together: one lock file per slot in the instance folder, taken with
``flock``), lets at most ``queue`` threads of one process hold or wait for a slot (the other threads stay free
for other requests), and waits at most ``wait`` seconds. When it cannot have a slot it raises ``Busy`` and the
caller answers "try again in a few seconds" instead of queueing without end.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

_lock = threading.Lock()
_inside: dict[str, int] = {}
POLL_SECONDS = 0.005


class Busy(Exception):
    """No slot could be had in time (or this process already has its share waiting)."""


@contextlib.contextmanager
def slot(name: str, *, slots: int, queue: int, wait: float, folder: Path) -> Iterator[None]:
    """Hold one of ``slots`` host-wide slots named ``name`` for the duration of the block, or raise Busy."""
    if slots <= 0:  # unbounded
        yield
        return
    with _lock:
        if _inside.get(name, 0) >= max(1, queue):
            raise Busy(name)
        _inside[name] = _inside.get(name, 0) + 1
    held = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + wait
        while held is None:
            for i in range(slots):
                fd = os.open(folder / f"{name}-{i}.lock", os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    os.close(fd)
                    continue
                held = fd
                break
            if held is None:
                if time.monotonic() >= deadline:
                    raise Busy(name)
                time.sleep(POLL_SECONDS)
        yield
    finally:
        if held is not None:
            fcntl.flock(held, fcntl.LOCK_UN)
            os.close(held)
        with _lock:
            _inside[name] -= 1
