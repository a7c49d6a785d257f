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

A rush longer than the slots can serve needs a third piece, ``line_up(name, …)``: a host-wide line of numbers.
Whoever arrives takes the next number; at most a window of numbers beyond the last one done are let in, and the
others are told when to come back (the numbers before theirs times the line's interval, from the jobs' typical
times on this host now), keeping their number. Without it, 5,000 people told "try again in 5 seconds" sent
97,633 refused requests in one exam day's sign-in rush, and those retries, not the checks, took the cores
(bench/README, "Login storm"). The line is one small file (the next number, the last done and when, a job's
typical time, its time holding a slot and its CPU time in it, and when the next job may start), changed under
``flock``. On a busy host the jobs also pause between each other (``paced``, inside ``hold``): how long comes
from how much longer than their CPU they took (``_gap``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_lock = threading.Lock()
_inside: dict[str, int] = {}
_clock = threading.local()
POLL_SECONDS = 0.005
# How much one new job's time moves the line's typical one (an exponential moving average).
TYPICAL_WEIGHT = 0.2
# One job's time counts at most this many typical ones (a process's first requests, a pause): the typical time
# follows a slower host within a few jobs, but a few slow ones do not make everyone wait long.
OUTLIER = 1.5
# The waits told are this part of the estimate: coming back a little early costs a cheap refusal and a shorter
# wait; coming back late would leave the window empty while people wait outside it.
EARLY = 0.9
# The longest pause between two jobs of a line, and how hard it grows with how busy the host is (``_gap``).
MAX_GAP = 5.0
GAP_POWER = 3
# A line where nothing was done for this long (or twice the window's intervals, if longer) lets one more number in
# for each interval that passes: the numbers let in did not come back.
STALL_SECONDS = 5.0


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
    started = time.monotonic()
    deadline = started + wait
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
    got, cpu = time.monotonic(), time.thread_time()
    try:
        yield
    finally:
        fcntl.flock(held, fcntl.LOCK_UN)
        os.close(held)
        paused, _clock.paused = getattr(_clock, "paused", 0.0), 0.0  # ``pause`` waited: not the job's time
        _clock.waited = getattr(_clock, "waited", 0.0) + got - started + paused
        _clock.held = getattr(_clock, "held", 0.0) + time.monotonic() - got - paused
        _clock.cpu = getattr(_clock, "cpu", 0.0) + time.thread_time() - cpu


def charge(cpu: float) -> None:
    """Count ``cpu`` seconds that the job holding this thread's slot spent in another process (a password check in
    an idle-priority child, lms.core.idlecheck) as its CPU time."""
    _clock.cpu = getattr(_clock, "cpu", 0.0) + max(0.0, cpu)


@dataclass(frozen=True)
class Clock:
    """What this thread's ``hold``s took since the last ``clock()``: seconds holding their slots, of them on
    this thread's CPU, and waiting for the slots."""

    held: float
    cpu: float
    waited: float


def clock() -> Clock:
    """This thread's ``hold`` times since the last call (and start again from zero)."""
    times = Clock(getattr(_clock, "held", 0.0), getattr(_clock, "cpu", 0.0), getattr(_clock, "waited", 0.0))
    _clock.held = _clock.cpu = _clock.waited = 0.0
    return times


@dataclass(frozen=True)
class Turn:
    """A number in a line (``line_up``): ``wait`` seconds until it is likely let in; 0: in now. ``full``: the
    line gave no number (``number`` is -1): ``wait`` is then the seconds until a newcomer's wait would fit within
    the line's longest, at its pace now."""

    number: int
    wait: float
    full: bool = False


@dataclass
class _State:
    issued: int = 0  # the next number to give
    done: int = 0  # every number below it is done or let past (one above the highest number done)
    done_at: float = 0.0  # when a job last finished, or the line started (time.time())
    work: float = 0.0  # a job's typical time, but its waits for a slot (0: not timed yet)
    held: float = 0.0  # a job's typical time holding a slot (0: not timed yet)
    cpu: float = 0.0  # of which on its CPU (0: not timed yet)
    next_at: float = 0.0  # the next job may start its work in the slot from then (time.time(); ``pause``)


@contextlib.contextmanager
def _line(name: str, folder: Path) -> Iterator[_State]:
    """The line's state, read and written back under ``flock`` (held for a read and a write of a few bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"{name}.line", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            fields = os.pread(fd, 128, 0).decode("ascii").split()
            if len(fields) == 6:  # written before the pause was kept
                fields.append("0")
            issued, done, done_at, work, held, cpu, next_at = fields
            state = _State(
                int(issued), int(done), float(done_at), float(work), float(held), float(cpu), float(next_at)
            )
        except ValueError:  # a new or damaged file: an empty line
            state = _State()
        if not (
            0 <= state.done <= state.issued
            and all(0 <= t < 3600 for t in (state.work, state.held, state.cpu))
        ):
            state = _State()
        before = dataclasses.replace(state)
        yield state
        if state != before:
            line = (
                f"{state.issued} {state.done} {state.done_at:.6f} {state.work:.6f} {state.held:.6f} {state.cpu:.6f}"
                f" {state.next_at:.6f}"
            )
            os.pwrite(fd, line.ljust(128).encode("ascii"), 0)
    finally:
        os.close(fd)  # closing the file releases the flock


def _interval(state: _State, window: int, slots: int, share: float, default: float) -> float:
    """The time between two jobs let through: the window's jobs side by side; the slots' (a job holds one for part
    of its time; on a busy host that time includes waiting for CPU nobody else wants, as the password checks run at
    idle priority, lms.core.idlecheck: the line then lets them through as slowly as they get done); and the slots'
    CPU at most ``share`` of theirs (1: no cap beyond the kernel's); whichever is slowest. ``default`` before any
    job was timed."""
    if not state.work:
        return default
    slots = max(1, slots)
    return max(
        state.work / max(1, window),
        (state.held + _gap(state)) / slots,
        state.cpu / (slots * min(1.0, max(0.01, share))),
    )


def _gap(state: _State) -> float:
    """The pause between two jobs in a slot, from their typical times: none when a job gets its CPU as soon as it
    wants it; when it takes ``r`` times longer than its CPU (at idle priority: the host's cores are busy with
    others a part 1 - 1/r of the time), a pause that leaves the jobs a part 1/r**GAP_POWER of a core instead of
    the 1/r the kernel would give them. Measured (bench/README, "Login storm: checks at the host's idle
    priority"): checks back to back at idle priority took every idle moment of an exam's rush (half a core; each
    took 3-4 times its CPU) and the exam's autosave p99 went from 1.2 s to 4.5 s, though the exam's CPU per
    request did not change: idle time is what absorbs the exam's bursts. With r = 3 the pause leaves the checks a
    27th of a core (0.06 core in the rush, measured). At most ``MAX_GAP`` seconds."""
    if state.cpu <= 0 or state.held <= state.cpu:
        return 0.0
    ratio = state.held / state.cpu
    return min(MAX_GAP, state.cpu * (ratio**GAP_POWER - ratio))


def pause(name: str, *, folder: Path) -> float:
    """Within ``hold``, before the job's work: wait until the line ``name`` lets the next job start (``_gap`` after
    the last one ended), and return the seconds waited (counted as waiting for the slot, not as holding it)."""
    with _line(name, folder) as state:
        due = state.next_at
    slept = max(0.0, min(MAX_GAP, due - time.time()))
    if slept:
        time.sleep(slept)
    _clock.paused = getattr(_clock, "paused", 0.0) + slept
    return slept


@contextlib.contextmanager
def paced(name: str, *, folder: Path) -> Iterator[None]:
    """Within ``hold``, around the job's work: ``pause`` first, and when the work ends (before the slot is let go,
    so that the next holder sees it) set when the one after may start: ``_gap`` from now."""
    pause(name, folder=folder)
    try:
        yield
    finally:
        with _line(name, folder) as state:
            state.next_at = time.time() + _gap(state)


def line_up(
    name: str,
    *,
    number: int | None,
    window: int,
    slots: int,
    share: float = 1.0,
    default: float,
    longest: float,
    folder: Path,
    now: float | None = None,
) -> Turn:
    """Take a number in the host-wide line ``name`` (or come back with ``number``), and learn whether it is in:
    at most ``window`` numbers beyond the last one done are let in at once. Otherwise ``wait`` estimates when it
    will be: the numbers before it times the line's interval (``_interval``: from a job's typical times on this
    host now; ``default`` before one was timed), a little early. The estimate is made again from the line as it
    is whenever the number comes back, so a wrong one costs a cheap extra visit, never a lost place. A number that does not come back costs its followers nothing once
    any later one is done; when nothing is done for ``STALL_SECONDS`` (the window's numbers all gone), the window
    widens with the time that passes. A new number whose wait would be longer than ``longest`` seconds is not
    given (a ``full`` turn, told when the line's end will be near enough at its pace now): a flood cannot push
    everyone's turn without bound. A number not issued by this line (a line
    started again) is replaced by a new one."""
    now = time.time() if now is None else now
    with _line(name, folder) as state:
        if not state.work:  # not timed yet: the default interval, against which the first times count
            state.work, state.held = default * max(1, window), default * max(1, slots)
            state.cpu = state.held
        spacing = _interval(state, window, slots, share, default)
        stalled = max(STALL_SECONDS, 2 * window * spacing)  # nothing done for this long: numbers gone missing
        idle = max(0.0, now - state.done_at - stalled) if state.issued > state.done else 0.0
        allowed = window + int(idle / spacing)
        if number is None or not 0 <= number < state.issued:
            beyond = max(0, state.issued - state.done - allowed + 1) * spacing
            if beyond > longest:
                return Turn(-1, (beyond - longest) * EARLY, full=True)
            if state.issued == state.done:  # the line was empty: its clock starts now
                state.done_at = now
            number = state.issued
            state.issued += 1
        ahead = number - state.done  # numbers before it not yet done
        if ahead < allowed:
            return Turn(number, 0.0)
        return Turn(number, (ahead - allowed + 1) * spacing * EARLY)


def _fold(before: float, sample: float) -> float:
    """One more time into a typical one: an exponential moving average, one time counting at most ``OUTLIER``
    typical ones (a process's first requests, a pause)."""
    if not before:
        return sample
    return before + TYPICAL_WEIGHT * (min(sample, OUTLIER * before) - before)


def line_done(
    name: str, number: int, *, work: float, held: float, cpu: float, folder: Path, now: float | None = None
) -> None:
    """Number ``number`` of the line is done: its job took ``work`` seconds but its waits for a slot, ``held`` of
    them holding one, ``cpu`` of those on its CPU; all are folded into the line's typical times (all processes of
    the host together)."""
    now = time.time() if now is None else now
    with _line(name, folder) as state:
        if not 0 <= number < state.issued:
            return
        state.work = _fold(state.work, max(0.0, work))
        state.held = _fold(state.held, max(0.0, held))
        state.cpu = _fold(state.cpu, max(0.0, min(cpu, held)))
        state.done = max(state.done, number + 1)
        state.done_at = now


def interval(
    name: str, *, window: int, slots: int, share: float = 1.0, folder: Path, default: float
) -> float:
    """The line's time between two jobs let through (see ``_interval``)."""
    with _line(name, folder) as state:
        return _interval(state, window, slots, share, default)


def waiting(name: str, *, window: int, folder: Path) -> bool:
    """Whether numbers of the line ``name`` wait beyond its window now."""
    with _line(name, folder) as state:
        return state.issued - state.done > window


@contextlib.contextmanager
def slot(name: str, *, slots: int, queue: int, wait: float, folder: Path) -> Iterator[None]:
    """``place`` and ``hold`` together for the whole block (0 slots: unbounded, no place either)."""
    if slots <= 0:
        yield
        return
    with place(name, queue=queue), hold(name, slots=slots, wait=wait, folder=folder):
        yield
