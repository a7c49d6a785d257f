"""A bound on CPU-heavy work that must not starve everything else (issue 20: a sign-in rush).

A password check costs 50–100 ms of CPU (scrypt, N=2^15, r=8, p=1: werkzeug's default) and 32 MiB of memory.
5,000 people signing in within five minutes want about a core for that alone, and each gunicorn worker would run
as many at once as it has threads: on a 2-core server the exam's autosaves then wait seconds for a thread and
for the CPU. Two bounds, used together by ``slot()``:

- ``place(name, queue=…)``: at most ``queue`` threads of this process inside (holding or waiting for a slot,
  or doing the rest of the work around it); the next one is refused at once. The other threads of the worker
  stay free for other requests, whatever the rush.
- ``hold(name, slots=…, wait=…, folder=…)``: at most ``slots`` such jobs at once on this host (all gunicorn
  workers together: one lock file per slot in ``folder``, taken with ``flock``, which the kernel releases when
  the holder's file closes, so a crashed worker frees its slot), waiting at most ``wait`` seconds.

When either cannot be had, ``Busy`` is raised and the caller answers "try again in a few seconds" instead of
queueing without end. Both are released on the way out of their block, whatever ends it.
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
    """No slot could be had in time (or this process already has its share inside)."""


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity, which a container's cpuset narrows), at least one."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def default_slots() -> int:
    """Half the usable cores, at least one: the other half stays for everything else (the exam's requests)."""
    return max(1, usable_cores() // 2)


def default_queue(threads: int) -> int:
    """Half a worker's threads, at least one: the other half always stays free for other requests."""
    return max(1, threads // 2)


def inside(name: str) -> int:
    """How many threads of this process are inside ``place(name)`` now."""
    with _lock:
        return _inside.get(name, 0)


@contextlib.contextmanager
def place(name: str, *, queue: int) -> Iterator[None]:
    """Be one of at most ``queue`` threads of this process inside the block named ``name``, or raise Busy."""
    with _lock:
        if _inside.get(name, 0) >= max(1, queue):
            raise Busy(name)
        _inside[name] = _inside.get(name, 0) + 1
    try:
        yield
    finally:
        with _lock:
            _inside[name] -= 1


@contextlib.contextmanager
def hold(name: str, *, slots: int, wait: float, folder: Path) -> Iterator[None]:
    """Hold one of ``slots`` host-wide slots named ``name`` for the block (0: unbounded), or raise Busy after
    ``wait`` seconds."""
    if slots <= 0:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    held = None
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
    try:
        yield
    finally:
        fcntl.flock(held, fcntl.LOCK_UN)
        os.close(held)


@contextlib.contextmanager
def slot(name: str, *, slots: int, queue: int, wait: float, folder: Path) -> Iterator[None]:
    """``place`` and ``hold`` together for the whole block (0 slots: unbounded, no place either)."""
    if slots <= 0:
        yield
        return
    with place(name, queue=queue), hold(name, slots=slots, wait=wait, folder=folder):
        yield
