"""Sign-in: which account a typed identifier names, and throttling that slows guessing without locking people out.

Identifiers. A user name is unique on the platform. An employee number (工号) or a phone number is unique only
within an enterprise, so it never signs anyone in by itself: every account that answers to it is a candidate, and
the password decides. When it fits exactly one candidate, that account signs in, so a person that another
enterprise adds with the same 工号 or phone changes nothing for the people who had it first. When it fits several
(or when there are too many candidates to try), the person is asked for the enterprise (its code, or a choice
among the enterprises whose accounts the password fitted).

Throttling. One counter per account, whatever identifier was typed: the first failures are free, the next ones
must wait a growing delay, and at ``max_failures`` the account is locked for a short time. Refused attempts (made
while a wait or a lock runs) are not checked and count for nothing, so they never extend it. A counter that has
been quiet for ``window`` forgets. Per address, failures within ``window`` above ``max_address`` refuse sign-ins
from that address (shared factory networks make this generous). A browser where an account signed in before
carries a signed device cookie (lms.org.auth); for that account it passes both the account's throttle and the
address's, until it has itself failed ``max_failures`` times within ``window``. Managers see and clear locks.

Bounded work (issue 20). A password check is 50–100 ms of CPU (werkzeug's scrypt, N=2^15, r=8, p=1). By default
at most half a worker's threads sign people in at once and at most half the host's cores hash at once
(lms.core.slots); a sign-in beyond that is answered "many people are signing in, try again in a few seconds"
(``SignInBusy``: 503 with Retry-After) and charged nothing, so a login storm never takes the threads and the CPU
that an exam's autosaves need. The hashing runs between two short transactions, never inside one, in a child
process at the host's idle priority (lms.core.idlecheck), pausing between checks when the host is busy
(lms.core.slots.paced).

A rush longer than the checks can serve waits in a line (``lms.core.slots.line_up``): every sign-in takes a
number; at most ``LINE_WINDOW`` per check slot beyond the last one done are let in, and the others are told,
before anything is read from the database, when to come back (Retry-After: the numbers before theirs times the
time between two sign-ins let through, from the sign-ins' and the checks' typical times on this host now) and
keep their number in the session, so coming back they go ahead of those who came after them; a turn far off is
asked again after half of it (``come_back_after``: the pace changes between a rush and after it, and every
asking is a request). A line whose end is further than ``line_longest`` gives no number and says when its end
will be near enough. The sign-in page's script waits and sends the form again by itself (lms/static/js/app.js,
``data-line``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text, update
from werkzeug.security import generate_password_hash

from lms.core import idlecheck
from lms.core.db import db, utcnow
from lms.core.errors import DomainError
from lms.core.i18n import Message, msg
from lms.core.slots import (
    Busy,
    charge,
    clock,
    default_queue,
    default_slots,
    hold,
    interval,
    line_done,
    line_up,
    paced,
    place,
    waiting,
)
from lms.org.models import PERSON_ACTIVE, Enterprise, LoginAttempt, Person, User
from lms.org.services import UNUSABLE_PASSWORD

# More candidates than this for one 工号 or phone are not all tried: the oldest accounts are (or the ones known on
# this device), and when none fits the person is asked for the enterprise.
MAX_CANDIDATES = 5


@dataclass(frozen=True)
class Policy:
    """The throttle's numbers (from the LMS_LOGIN_* settings)."""

    free_failures: int = 3
    max_failures: int = 10
    lock: dt.timedelta = dt.timedelta(minutes=10)
    max_delay: dt.timedelta = dt.timedelta(seconds=60)
    window: dt.timedelta = dt.timedelta(minutes=15)
    max_address: int = 20
    # Password checks at once on this host (default half the cores), threads of one process signing people in
    # (default half a worker's 4 threads), longest wait for a check's slot (lms.core.slots; 0 slots: unbounded).
    # A sign-in rush must not starve the other requests (issue 20).
    hash_slots: int = field(default_factory=default_slots)
    hash_queue: int = field(default_factory=lambda: default_queue(4))
    hash_wait: float = 10.0
    # The part of a core each check slot may spend on checks in a rush (LMS_LOGIN_HASH_SHARE). The checks run at
    # the host's idle priority (lms.core.idlecheck): they already get only the CPU nobody else wants, so by
    # default nothing more is held back.
    hash_share: float = 1.0
    # The longest a check waits at the host's idle priority before it is done in the worker's own thread
    # (LMS_LOGIN_IDLE_SECONDS; 0: always in the worker's thread, at normal priority).
    idle_seconds: float = 2.0
    # The longest wait in the line of sign-ins (seconds); beyond it nobody is given a number (LMS_LOGIN_LINE_SECONDS).
    line_longest: float = 900.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Policy:
        """Read the policy from the Flask config."""
        return cls(
            free_failures=int(config.get("LOGIN_FREE_FAILURES", 3)),
            max_failures=int(config.get("LOGIN_MAX_FAILURES_ACCOUNT", 10)),
            lock=dt.timedelta(minutes=float(config.get("LOGIN_LOCK_MINUTES", 10))),
            max_delay=dt.timedelta(seconds=float(config.get("LOGIN_MAX_DELAY_SECONDS", 60))),
            window=dt.timedelta(minutes=float(config.get("LOGIN_WINDOW_MINUTES", 15))),
            max_address=int(config.get("LOGIN_MAX_FAILURES_ADDRESS", 20)),
            hash_slots=int(config.get("LOGIN_HASH_SLOTS", default_slots())),
            hash_queue=int(config.get("LOGIN_HASH_QUEUE", default_queue(4))),
            hash_wait=float(config.get("LOGIN_HASH_WAIT_SECONDS", 10)),
            line_longest=float(config.get("LOGIN_LINE_SECONDS", 900)),
            hash_share=float(config.get("LOGIN_HASH_SHARE", 1.0)),
            idle_seconds=float(config.get("LOGIN_IDLE_SECONDS", 2.0)),
        )


class SignInRefused(DomainError):
    """Sign-in refused without checking the password (a wait, a lock, an address over its limit)."""

    status_code = 429

    def __init__(self, message: Message, wait: dt.timedelta):
        super().__init__(message)
        self.wait = wait


class SignInBusy(DomainError):
    """Too many sign-ins at this moment (lms.core.slots): nothing was checked or charged. ``turn``: the seconds to
    this browser's turn, as estimated now (said in the message); ``wait``: when to come back, to the hundredth (the
    turn, or part of a turn far off: ``come_back_after``), ``retry_after``: the same in whole seconds (Retry-After); ``ticket``:
    this browser's number in the line, to keep (None: no number was given); ``full``: the line gave no number (too
    long a wait)."""

    status_code = 503

    def __init__(self, turn: float = 5, ticket: Ticket | None = None, *, full: bool = False):
        self.turn = max(0.0, float(turn))
        seconds = max(1, math.ceil(turn))
        if full:
            message = msg(
                "Too many people are waiting to sign in at this moment. Try again in about %(seconds)s seconds.",
                seconds=seconds,
            )
        elif ticket is not None and turn > BUSY_RETRY_AFTER:
            message = msg(
                "Many people are signing in at this moment. Your turn comes in about %(seconds)s seconds.",
                seconds=seconds,
            )
        else:
            message = msg("Many people are signing in at this moment. Try again in a few seconds.")
        super().__init__(message)
        # A turn far off is estimated again on the way (see LINE_RECHECK); a full line's ``turn`` is already when
        # to come back.
        self.wait = self.turn if full else come_back_after(self.turn)
        self.retry_after = max(1, math.ceil(self.wait))
        self.ticket = ticket


class ChooseEnterprise(DomainError):
    """The identifier names accounts in several enterprises: ask which one (``choices``: code, name)."""

    def __init__(self, message: Message, choices: list[tuple[str, str]] | None = None):
        super().__init__(message, field="enterprise")
        self.choices = choices or []


@dataclass(frozen=True)
class Throttle:
    """An account's throttle as it stands: consecutive failures, and the wait before the next check."""

    failures: int
    wait: dt.timedelta | None
    locked_until: dt.datetime | None


def delay_after(failures: int, policy: Policy) -> dt.timedelta:
    """Return the wait after ``failures`` consecutive failures: none, then 2 s, 4 s, 8 s … up to ``max_delay``."""
    if failures < policy.free_failures:
        return dt.timedelta(0)
    seconds = 2.0 ** min(failures - policy.free_failures + 1, 20)
    return min(dt.timedelta(seconds=seconds), policy.max_delay)


def account_throttle(user: User, policy: Policy, now: dt.datetime | None = None) -> Throttle:
    """Return the throttle of ``user`` at ``now``."""
    now = now or utcnow()
    last = user.last_failed_sign_in_at
    failures = user.failed_sign_ins or 0
    if last is None or now - last > policy.window:
        failures = 0
    locked = (
        user.sign_in_locked_until if user.sign_in_locked_until and user.sign_in_locked_until > now else None
    )
    if locked is not None:
        return Throttle(failures, locked - now, locked)
    if failures and last is not None:
        until = last + delay_after(failures, policy)
        if until > now:
            return Throttle(failures, until - now, None)
    return Throttle(failures, None, None)


def unknown_throttle(key: str, policy: Policy, now: dt.datetime | None = None) -> Throttle:
    """Return the throttle of an identifier no account answers to, as if it had one (from its failed attempts),
    so that the answers never tell a guesser which identifiers exist."""
    now = now or utcnow()
    failures, last = db.session.execute(
        select(func.count(), func.max(LoginAttempt.at)).where(
            LoginAttempt.login == key,
            LoginAttempt.user_id.is_(None),
            LoginAttempt.at >= now - policy.window,
            LoginAttempt.success.is_(False),
            LoginAttempt.refused.is_(False),
        )
    ).one()
    ghost = User(
        failed_sign_ins=failures or 0,
        last_failed_sign_in_at=last,
        sign_in_locked_until=last + policy.lock
        if last is not None and failures >= policy.max_failures
        else None,
    )
    return account_throttle(ghost, policy, now)


def register_failure(user: User, policy: Policy, now: dt.datetime | None = None) -> None:
    """Count one checked, failed attempt on ``user``; lock it briefly at ``max_failures``."""
    now = now or utcnow()
    failures = account_throttle(user, policy, now).failures + 1
    user.failed_sign_ins = failures
    user.last_failed_sign_in_at = now
    if failures >= policy.max_failures:
        user.sign_in_locked_until = now + policy.lock


def clear_throttle(user: User) -> None:
    """Forget an account's failures and lock (a manager's clear, or a successful sign-in)."""
    user.failed_sign_ins = 0
    user.last_failed_sign_in_at = None
    user.sign_in_locked_until = None


def address_wait(address: str, policy: Policy, now: dt.datetime | None = None) -> dt.timedelta | None:
    """Return how long ``address`` must wait (its checked failures within ``window`` reached the limit)."""
    now = now or utcnow()
    nth = db.session.scalar(
        select(LoginAttempt.at)
        .where(
            LoginAttempt.address == address[:64],
            LoginAttempt.at >= now - policy.window,
            LoginAttempt.success.is_(False),
            LoginAttempt.refused.is_(False),
        )
        .order_by(LoginAttempt.at.desc())
        .offset(max(policy.max_address - 1, 0))
        .limit(1)
    )
    if nth is None:
        return None
    wait = nth + policy.window - now
    return wait if wait > dt.timedelta(0) else None


def device_trusted(user_id: int, device: str | None, policy: Policy, now: dt.datetime | None = None) -> bool:
    """Whether ``device`` (where ``user_id`` signed in before) has failed for it fewer than ``max_failures``."""
    if not device:
        return False
    now = now or utcnow()
    failures = db.session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            LoginAttempt.user_id == user_id,
            LoginAttempt.device == device,
            LoginAttempt.at >= now - policy.window,
            LoginAttempt.success.is_(False),
            LoginAttempt.refused.is_(False),
        )
    )
    return (failures or 0) < policy.max_failures


def _identifier_filter(login: str) -> Any:
    from lms.core.sheets.values import normalize_employee_no

    employee_no = normalize_employee_no(login)
    return (Person.employee_no == employee_no) | (Person.phone == login)


def find_candidates(
    login: str, enterprise_code: str | None = None, *, known: Collection[int] = ()
) -> tuple[list[User], bool]:
    """Return the accounts that ``login`` may name (its user name, else every account with that 工号 or phone),
    and whether there were more than MAX_CANDIDATES (then only the ones ``known`` on this device, else the
    oldest: a person added later elsewhere never pushes out the one who had the number first).

    With ``enterprise_code``, only that enterprise's accounts.
    """
    login = (login or "").strip()
    if not login:
        return [], False
    user = db.session.scalar(select(User).where(func.lower(User.username) == login.lower()))
    if user is not None:
        return [user], False
    q = select(User).join(Person, User.person_id == Person.id).where(_identifier_filter(login))
    code = (enterprise_code or "").strip()
    if code:
        q = q.join(Enterprise, Enterprise.id == Person.enterprise_id).where(
            func.lower(Enterprise.code) == code.lower()
        )
    found = list(db.session.scalars(q.order_by(User.id).limit(MAX_CANDIDATES + 1)))
    if len(found) <= MAX_CANDIDATES:
        return found, False
    mine = list(db.session.scalars(q.where(User.id.in_(list(known))).order_by(User.id))) if known else []
    return (mine or found[:MAX_CANDIDATES]), True


def _wait_message(wait: dt.timedelta, *, address: bool = False) -> Message:
    seconds = max(1, math.ceil(wait.total_seconds()))
    if address:
        if seconds < 90:
            return msg("Too many failed sign-ins from this network. Try again in %(n)d seconds.", n=seconds)
        return msg(
            "Too many failed sign-ins from this network. Try again in %(n)d minutes.",
            n=math.ceil(seconds / 60),
        )
    if seconds < 90:
        return msg(
            "Too many failed sign-ins. Try again in %(n)d seconds, or ask your safety manager to clear the "
            "lock.",
            n=seconds,
        )
    return msg(
        "Too many failed sign-ins. Try again in %(n)d minutes, or ask your safety manager to clear the lock.",
        n=math.ceil(seconds / 60),
    )


def _attempt(
    key: str,
    address: str,
    *,
    user_id: int | None,
    device: str | None,
    success: bool = False,
    refused: bool = False,
) -> None:
    db.session.add(
        LoginAttempt(
            login=key, address=address, user_id=user_id, device=device, success=success, refused=refused
        )
    )


def _same(column: Any, value: Any) -> Any:
    return column.is_(None) if value is None else column == value


@dataclass(frozen=True)
class Claim:
    """A failure counted in advance on an account (before its password is checked), and the row it replaced."""

    user_id: int
    before: tuple[int, dt.datetime | None, dt.datetime | None]
    after: tuple[int, dt.datetime, dt.datetime | None]


def _swap(user_id: int, old: tuple[Any, Any, Any], new: tuple[Any, Any, Any]) -> bool:
    """Set the throttle columns to ``new`` only if they still hold ``old`` (compare-and-set, one statement)."""
    result = db.session.execute(
        update(User)
        .where(
            User.id == user_id,
            User.failed_sign_ins == old[0],
            _same(User.last_failed_sign_in_at, old[1]),
            _same(User.sign_in_locked_until, old[2]),
        )
        .values(failed_sign_ins=new[0], last_failed_sign_in_at=new[1], sign_in_locked_until=new[2])
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def claim_attempt(user: User, policy: Policy, now: dt.datetime | None = None) -> Claim | None:
    """Count one failure on ``user`` before checking its password, atomically against the row as it was read.

    None when another attempt changed the row since (guesses sent in parallel): that attempt is refused, so
    concurrency never buys more guesses than the throttle allows. A correct password gives the claim back.
    """
    now = now or utcnow()
    before = (user.failed_sign_ins or 0, user.last_failed_sign_in_at, user.sign_in_locked_until)
    failures = account_throttle(user, policy, now).failures + 1
    after = (failures, now, now + policy.lock if failures >= policy.max_failures else before[2])
    return Claim(user.id, before, after) if _swap(user.id, before, after) else None


def release_claim(claim: Claim) -> None:
    """Give a claimed failure back (the attempt was not a failure of this account), unless the row moved on."""
    _swap(claim.user_id, claim.after, claim.before)


def _claim_or_wait(
    user: User, policy: Policy, now: dt.datetime, by_address: dt.timedelta | None, tries: int = 3
) -> Claim | SignInRefused:
    """Claim an attempt on ``user`` if its throttle (and the address's) allows one now; re-read the row when a
    parallel attempt moved it (a double click still signs in; parallel guesses get only what the throttle
    allows)."""
    wait: dt.timedelta = dt.timedelta(seconds=1)
    for _ in range(tries):
        throttle = account_throttle(user, policy, now)
        if throttle.wait is not None:
            return SignInRefused(_wait_message(throttle.wait), throttle.wait)
        if by_address is not None:
            return SignInRefused(_wait_message(by_address, address=True), by_address)
        claim = claim_attempt(user, policy, now)
        db.session.expire(user, ["failed_sign_ins", "last_failed_sign_in_at", "sign_in_locked_until"])
        if claim is not None:
            return claim
        wait = max(delay_after(throttle.failures + 1, policy), wait)
    return SignInRefused(_wait_message(wait), wait)


# Seconds a person is asked to wait when the host is busy with sign-ins and the line gave no number (Retry-After).
BUSY_RETRY_AFTER = 2
# Least seconds a person let in by the line is asked to wait when the threads or the check slot are still taken
# (else the line's interval twice).
BUSY_RETRY_DUE = 0.2
# Sign-ins let in at once per check slot: one checking, one reading or recording around its check.
LINE_WINDOW = 2
# A person whose turn is further off than LINE_RECHECK seconds is asked to come back after LINE_RECHECK_PART of
# it (at least LINE_RECHECK, at most LINE_RECHECK_LONGEST seconds) and told the turn again from the line's pace
# then, their place kept: the pace changes (a rush's checks run slower than after it), and people told the
# rush's long waits would come back late, leaving the line empty while they wait; but each time they ask is a
# request through the stack in the exam's rush (bench/README, "Login storm"). Asking again after half the turn
# costs a few requests for a turn of a quarter of an hour (a fixed 120 s cost eight) and comes back at most half
# the turn late.
LINE_RECHECK = 120.0
LINE_RECHECK_PART = 0.5
LINE_RECHECK_LONGEST = 600.0
# A number is kept this long beyond the longest line (the person may take a while to send the form again).
LINE_KEEP = 120.0
# The time between two sign-ins done in a rush before any was timed on this host (scrypt takes 50-100 ms of a
# core on a small server).
LINE_INTERVAL = 0.08


def come_back_after(turn: float) -> float:
    """The seconds after which a person whose turn is ``turn`` seconds away asks again (see LINE_RECHECK)."""
    if turn <= LINE_RECHECK:
        return turn
    return min(LINE_RECHECK_LONGEST, max(LINE_RECHECK, turn * LINE_RECHECK_PART))


@dataclass(frozen=True)
class Ticket:
    """A browser's number in the line of sign-ins and when it was given (``time.time()``), kept in its session."""

    number: int
    given: float

    def dump(self) -> list[float]:
        return [self.number, self.given]

    @classmethod
    def load(cls, value: object) -> Ticket | None:
        """The ticket a session holds, None for anything else (the session is signed: not forged, maybe old)."""
        if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int | float) for v in value):
            return cls(int(value[0]), float(value[1]))
        return None


def _signin_place(policy: Policy) -> contextlib.AbstractContextManager[None]:
    return place("signin", queue=policy.hash_queue) if policy.hash_slots > 0 else contextlib.nullcontext()


def _locks() -> Path:
    """The host's folder of the sign-in slots' lock files and the line's file."""
    from lms.core.config import instance_dir

    return instance_dir() / "locks"


def wait_in_line(policy: Policy, ticket: Ticket | None, now: float | None = None) -> Ticket | None:
    """This browser's place in the line of sign-ins (lms.core.slots.line_up): its ``ticket`` while it is not older
    than the longest line and ``LINE_KEEP``, else a new number. Raise ``SignInBusy`` carrying the ticket when the
    number is not let in yet (come back in the seconds it says), or without one when the line is full. None when
    sign-ins are unbounded (no slots)."""
    if policy.hash_slots <= 0:
        return None
    now = time.time() if now is None else now
    if ticket is not None and not (now - policy.line_longest - LINE_KEEP <= ticket.given <= now):
        ticket = None
    turn = line_up(
        "signin",
        number=ticket.number if ticket else None,
        window=_window(policy),
        slots=policy.hash_slots,
        share=policy.hash_share,
        default=LINE_INTERVAL,
        longest=policy.line_longest,
        folder=_locks(),
        now=now,
    )
    if turn.full:
        # No number: come back when the line's end is likely near enough (asked again on the way, as a far turn
        # is), but not before a tenth of the longest wait (a flood's browsers ask no more often than that).
        floor = max(BUSY_RETRY_AFTER, math.ceil(policy.line_longest / 10))
        raise SignInBusy(max(floor, come_back_after(turn.wait)), full=True)
    if ticket is None or ticket.number != turn.number:
        ticket = Ticket(turn.number, now)
    if turn.wait > 0:
        raise SignInBusy(turn.wait, ticket)
    return ticket


def line_waiting(policy: Policy) -> bool:
    """Whether people wait in the line of sign-ins now (more numbers given and not done than it lets in)."""
    return policy.hash_slots > 0 and waiting("signin", window=_window(policy), folder=_locks())


def authenticate(
    login: str,
    password: str,
    address: str,
    *,
    policy: Policy,
    enterprise_code: str | None = None,
    device: str | None = None,
    known: Collection[int] = (),
    ticket: Ticket | None = None,
) -> User:
    """Check a sign-in (see ``_authenticate``) within the bounds on sign-in work (lms.core.slots).

    First the line (``wait_in_line``): a sign-in whose number (``ticket``, kept by the browser, or a new one) is
    not let in yet is refused before anything is read, told when to come back. Then at most ``hash_queue``
    threads of this process sign people in at once: the next one is refused before anything is read. The password
    checks themselves wait for one of the host's ``hash_slots`` (at most ``hash_wait`` seconds). Refused any way, the
    person is asked to come back (``SignInBusy``, answered 503 with Retry-After, carrying the ticket to keep), and
    no account or address is charged a failure. A sign-in that was checked, whatever its outcome, is done in the
    line, and its times (all but its wait for a check's slot; its check, and the CPU of it) tell the line its
    pace.
    """
    ticket = wait_in_line(policy, ticket)
    try:
        with _signin_place(policy):
            clock()  # from now on
            started = time.monotonic()
            try:
                user = _authenticate(
                    login,
                    password,
                    address,
                    policy=policy,
                    enterprise_code=enterprise_code,
                    device=device,
                    known=known,
                )
            except Busy:
                raise  # not done: the number is kept for the next try
            except BaseException:
                _done_in_line(ticket, started)  # checked, whatever the outcome (a wrong password, an error)
                raise
            _done_in_line(ticket, started)
            return user
    except Busy:
        # Let in, but the threads or the slot were taken: come back in about two sign-ins' time, the number kept.
        raise SignInBusy(_due_again(policy) if ticket is not None else BUSY_RETRY_AFTER, ticket) from None


def _done_in_line(ticket: Ticket | None, started: float) -> None:
    """The sign-in of ``ticket`` is done: its times (all but its wait for a check's slot; its check, and the CPU
    of it) tell the line its pace."""
    if ticket is None:
        return
    took = clock()
    work = time.monotonic() - started - took.waited
    line_done("signin", ticket.number, work=work, held=took.held, cpu=took.cpu, folder=_locks())


def _window(policy: Policy) -> int:
    return LINE_WINDOW * max(1, policy.hash_slots)


def _due_again(policy: Policy) -> float:
    spacing = interval(
        "signin",
        window=_window(policy),
        slots=policy.hash_slots,
        share=policy.hash_share,
        folder=_locks(),
        default=LINE_INTERVAL,
    )
    return max(BUSY_RETRY_DUE, 2 * spacing)


def _check_passwords(tested: list[tuple[int, str]], password: str, policy: Policy) -> list[int]:
    """Return the accounts of ``tested`` whose hash ``password`` fits, holding one of the host's check slots."""
    with (
        hold("signin", slots=policy.hash_slots, wait=policy.hash_wait, folder=_locks()),
        # On a busy host the checks pause between each other (lms.core.slots._gap).
        paced("signin", folder=_locks()) if policy.hash_slots > 0 else contextlib.nullcontext(),
    ):
        usable = [(uid, h) for uid, h in tested if h != UNUSABLE_PASSWORD]
        # At the host's idle priority: the checks get only the CPU nobody else wants (an exam's requests first).
        # No usable hash: a dummy one is checked all the same, to even out the timing.
        checked = idlecheck.check(
            password, [h for _uid, h in usable] or [_DUMMY_HASH], deadline=policy.idle_seconds
        )
        if checked.idle:  # in a child: its CPU is not this thread's (hold() times this thread's itself)
            charge(checked.cpu)
        return [uid for (uid, _hash), fits in zip(usable, checked.fits, strict=False) if fits]


def _nothing_to_keep() -> bool:
    """Whether committing the session now would keep nothing of anyone else's: no transaction open, or (on
    PostgreSQL) one that has only read so far, e.g. the request's reading of a stale session cookie's user
    (lms.app reads it in a unit of its own on SQLite only). Then the sign-in may commit its claims before hashing."""
    session = db.session()
    if not session.in_transaction():
        return True
    if db.is_sqlite or session.new or session.dirty or session.deleted:
        return False
    # PostgreSQL gives a transaction an id at its first write: none yet, nothing written.
    return db.session.scalar(text("SELECT pg_current_xact_id_if_assigned() IS NULL")) is True


def _authenticate(
    login: str,
    password: str,
    address: str,
    *,
    policy: Policy,
    enterprise_code: str | None = None,
    device: str | None = None,
    known: Collection[int] = (),
) -> User:
    """Check a sign-in, recording the attempt; return the account or raise DomainError fit for the person.

    ``device`` and ``known``: the id of this browser's signed device cookie and the accounts that signed in on it.
    The slow scrypt checks run between two short transactions: the first reads the candidates and claims their
    failure in advance, the second records the outcome (on SQLite a write transaction holds the database lock,
    and many sign-ins at once must not queue behind each other's hashing).
    """
    key, addr = (login or "").strip().lower()[:64], (address or "unknown")[:64]
    device = (device or "")[:32] or None
    known = set(known) if device else set()
    now = utcnow()
    # Commit before hashing, unless the session already held a transaction with work in it (not ours to commit).
    split = _nothing_to_keep()
    candidates, more = find_candidates(login, enterprise_code, known=known)
    by_address = address_wait(addr, policy, now)
    tested: list[tuple[int, str]] = []
    claims: dict[int, Claim] = {}
    waits: list[SignInRefused] = []
    for user in candidates:
        trusted = user.id in known and device_trusted(user.id, device, policy, now)
        if not trusted:
            outcome = _claim_or_wait(user, policy, now, by_address)
            if isinstance(outcome, SignInRefused):
                waits.append(outcome)
                continue
            claims[user.id] = outcome
        tested.append((user.id, user.password_hash))
    if not candidates:
        ghost = unknown_throttle(key, policy, now) if key else Throttle(0, None, None)
        if ghost.wait is not None:
            waits.append(SignInRefused(_wait_message(ghost.wait), ghost.wait))
        elif by_address is not None:
            waits.append(SignInRefused(_wait_message(by_address, address=True), by_address))
    ids = [u.id for u in candidates]
    if split:
        db.session.commit()  # the claims hold; no transaction (and no lock) is open while hashing

    matched: list[int] = []
    if not waits or tested:
        try:
            matched = _check_passwords(tested, password, policy)
        except Busy:
            # No check slot in time: give the claims back, record nothing (authenticate asks to come back).
            for claim in claims.values():
                release_claim(claim)
            raise

    if not matched:
        if waits and not tested:  # everything was throttled: refuse unchecked, change nothing
            for uid in ids or [None]:
                _attempt(key, addr, user_id=uid, device=device, refused=True)
            raise min(waits, key=lambda w: w.wait)
        for uid, _hash in tested:
            if uid not in claims:  # a known device's failure counts on the account too
                user = db.session.get(User, uid)
                if user is not None:
                    register_failure(user, policy, utcnow())
            _attempt(key, addr, user_id=uid, device=device)
        if not candidates:
            _attempt(key, addr, user_id=None, device=device)
        if waits:  # a throttled candidate may be the one meant: say so rather than "wrong password"
            raise min(waits, key=lambda w: w.wait)
        if more:
            raise ChooseEnterprise(
                msg("This number belongs to people of several enterprises. Enter your enterprise code.")
            )
        raise DomainError(msg("Wrong user name or password."))
    for uid, claim in claims.items():
        if uid not in matched or len(matched) > 1:
            release_claim(claim)  # another enterprise's account with this 工号 is not a failure of this one
    if len(matched) > 1:
        rows = db.session.execute(
            select(Enterprise.code, Enterprise.name)
            .join(User, User.enterprise_id == Enterprise.id)
            .where(User.id.in_(matched))
            .distinct()
            .order_by(Enterprise.code)
        ).all()
        if len(rows) < 2 or enterprise_code:  # several accounts of one enterprise share a phone number
            raise DomainError(
                msg("Several accounts have this number. Sign in with your user name or employee number.")
            )
        raise ChooseEnterprise(
            msg("This number is used in several enterprises. Choose yours."), [(c, n) for c, n in rows]
        )
    user = db.session.get(User, matched[0])
    if (
        user is None
        or not user.is_enabled
        or (user.person is not None and user.person.status != PERSON_ACTIVE)
    ):
        if matched[0] in claims:
            release_claim(claims[matched[0]])
        _attempt(key, addr, user_id=matched[0], device=device, refused=True)
        raise DomainError(msg("This account is disabled."))
    _attempt(key, addr, user_id=user.id, device=device, success=True)
    clear_throttle(user)
    user.last_login_at = utcnow()
    return user


def locked_accounts(
    enterprise_id: int, policy: Policy, now: dt.datetime | None = None
) -> list[tuple[User, Throttle]]:
    """Return the enterprise's accounts with recent failures (locked, waiting or counting), most recent first."""
    now = now or utcnow()
    users = db.session.scalars(
        select(User)
        .where(
            User.enterprise_id == enterprise_id,
            User.failed_sign_ins > 0,
            (User.last_failed_sign_in_at >= now - policy.window) | (User.sign_in_locked_until > now),
        )
        .order_by(User.last_failed_sign_in_at.desc())
        .limit(500)
    ).all()
    return [(u, account_throttle(u, policy, now)) for u in users]


_DUMMY_HASH = generate_password_hash("not-a-password", method="scrypt")
