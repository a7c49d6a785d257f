"""Password checks at the host's idle priority (issue 20: a sign-in rush beside an exam).

A password check is 50–150 ms of CPU (scrypt). Run in the web worker's own thread it competes with the exam's
autosaves as an equal: on a 2-core server 5,000 sign-ins within five minutes took a core from the exam and its
autosave p99 went past seconds, and slowing the checks down by our own estimate of how busy the host was either
left too much to them or nearly stopped them (bench/README, "Login storm"). The kernel knows better: here the
checks run in small child processes of each web worker whose scheduling class is ``SCHED_IDLE`` (Linux; elsewhere
the lowest nice value), so they get only the CPU that nothing else wants this instant. An exam's request that
wakes takes the core from a check at once; between the exam's waves the checks run at full speed. That alone is
not enough (measured: checks filling every idle moment of an exam's rush still tripled its p99, idle time being
what absorbs its bursts), so on a busy host the checks also pause between each other (lms.core.slots.pause).

The checks are in separate processes, not threads: a thread at idle priority that the kernel stops while it holds
the interpreter's lock (for the few microseconds around its call into scrypt) would stop every other thread of the
worker with it. A child knows nothing of the application: it imports werkzeug's ``check_password_hash`` only, and
reads requests (a password and the hashes to try) from a pipe; it ends when the pipe closes (its worker ended).

``check(password, hashes, deadline=…)`` returns which hashes the password fits and the child's CPU time for it.
A child that cannot be started or dies is replaced once; if that fails too, the check runs in the caller's thread
(the sign-in works, at normal priority) and the failure is logged. A child that has not answered within the
deadline (a host kept busy by normal-priority work: a video being transcoded, a full test suite, an exam that
never pauses) is ended and the check is done in the caller's thread: at idle priority a check would otherwise
wait as long as the host stays busy (measured: two busy processes on two cores kept 200 sign-ins from ending).
"""

from __future__ import annotations

import json
import logging
import os
import select
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)

_HEADER = struct.Struct(">I")
# Longest request or answer a child accepts (a password and at most a few hashes; lms.org.signin tries at most 5).
_LARGEST = 1 << 16


@dataclass(frozen=True)
class Checked:
    """Which of the hashes the password fits, the CPU seconds the check took, and whether it ran at idle priority
    (False: in the caller's thread)."""

    fits: list[bool]
    cpu: float
    idle: bool


class _Late(Exception):
    """The child did not answer within the deadline."""


def _read_exact(stream, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            raise EOFError("the pipe closed")
        data += chunk
    return data


def _send(stream, value: object) -> None:
    payload = json.dumps(value).encode("utf-8")
    if len(payload) > _LARGEST:
        raise ValueError("request too large")
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def _receive(stream) -> object:
    (size,) = _HEADER.unpack(_read_exact(stream, _HEADER.size))
    if size > _LARGEST:
        raise ValueError("answer too large")
    return json.loads(_read_exact(stream, size))


def lower_priority() -> str:
    """Put the calling thread (in a child: the whole process) at the host's idle priority: ``SCHED_IDLE`` where the
    kernel has it, else the lowest nice value. Return which ("idle", "nice" or "" if neither could be set)."""
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            return "idle"
        except OSError:
            pass
    try:
        os.nice(19 - os.nice(0))
        return "nice"
    except OSError:
        return ""


def _serve() -> None:  # pragma: no cover - runs in the child process (tests drive it through ``check``)
    """The child's loop: one request at a time, until the pipe closes."""
    from werkzeug.security import check_password_hash

    lower_priority()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            request = _receive(stdin)
        except EOFError:
            return
        started = time.thread_time()
        password, hashes = request["password"], request["hashes"]
        fits = [bool(check_password_hash(h, password)) for h in hashes]
        _send(stdout, {"fits": fits, "cpu": time.thread_time() - started})


class _Child:
    """One child process serving checks, and its pipes."""

    def __init__(self) -> None:
        # -I: the child sees neither PYTHONPATH nor the current folder (it needs only the standard library and
        # werkzeug, from the same environment).
        self.process = subprocess.Popen(
            [sys.executable, "-I", os.path.abspath(__file__)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
            close_fds=True,
        )

    def check(self, password: str, hashes: list[str], deadline: float | None = None) -> Checked:
        assert self.process.stdin is not None and self.process.stdout is not None
        _send(self.process.stdin, {"password": password, "hashes": hashes})
        # Nothing is left in the reader's buffer between two answers: the pipe itself tells when one comes.
        if deadline is not None and not select.select([self.process.stdout], [], [], deadline)[0]:
            raise _Late(f"no answer within {deadline:g} s")
        answer = _receive(self.process.stdout)
        if not isinstance(answer, dict) or len(answer.get("fits", ())) != len(hashes):
            raise ValueError("a malformed answer")
        return Checked([bool(f) for f in answer["fits"]], float(answer["cpu"]), True)

    def close(self) -> None:
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
            self.process.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()


_lock = threading.Lock()
_free: list[_Child] = []
_owner = os.getpid()  # children started by another process (before a fork) are not ours to use


def _take() -> _Child:
    global _owner
    with _lock:
        if _owner != os.getpid():  # forked (a gunicorn worker): the parent's children and pipes are its own
            _free.clear()
            _owner = os.getpid()
        if _free:
            return _free.pop()
    return _Child()


def _give_back(child: _Child) -> None:
    with _lock:
        if _owner == os.getpid():
            _free.append(child)
            return
    child.close()


def _end(child: _Child | None) -> None:
    """Kill a child and reap it in the background: a child held back at idle priority on a busy host may take
    a while to be scheduled to die, and the sign-in must not wait for that."""
    if child is None:
        return
    try:
        child.process.kill()
    except OSError:
        pass
    threading.Thread(target=child.process.wait, name="idlecheck-reap", daemon=True).start()


def check(password: str, hashes: list[str], *, deadline: float | None = None) -> Checked:
    """Which of ``hashes`` (werkzeug's format) ``password`` fits, checked in a child process at idle priority.
    One child per check at once in this process (the callers bound how many run at once: lms.core.slots).

    ``deadline``: the longest wait for the child (seconds; None: no limit); past it the child is ended and the
    check done in the caller's thread. 0 or less: always in the caller's thread."""
    from werkzeug.security import check_password_hash

    for attempt in (1, 2) if deadline is None or deadline > 0 else ():
        child = None
        try:
            child = _take()
            answer = child.check(password, hashes, deadline)
        except _Late:
            _end(child)  # busy at idle priority: it would go on as long as the host stays busy
            log.info(
                "password check at idle priority not done within %g s: done in the worker's thread", deadline
            )
            break
        except (OSError, EOFError, ValueError, KeyError, TypeError, struct.error) as error:
            _end(child)
            log.warning("password check at idle priority failed (try %s of 2): %r", attempt, error)
            continue
        _give_back(child)
        return answer
    started = time.thread_time()
    fits = [bool(check_password_hash(h, password)) for h in hashes]
    return Checked(fits, time.thread_time() - started, False)


def children() -> list[int]:
    """The process ids of this process's idle children (for tests and diagnostics)."""
    with _lock:
        return [c.process.pid for c in _free] if _owner == os.getpid() else []


def close_all() -> None:
    """End this process's idle children (they also end by themselves when it does)."""
    with _lock:
        taken, _free[:] = list(_free), []
    for child in taken:
        child.close()


if __name__ == "__main__":  # pragma: no cover
    _serve()
