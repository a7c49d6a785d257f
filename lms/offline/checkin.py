"""QR self check-in at classroom sessions and toolbox talks (班前会).

The trainer's screen shows a QR code that changes every ``STEP_SECONDS``: it encodes an absolute URL with a
token naming the session and the time step, signed with a key drawn from the application's secret and the
session's nonce (drawn anew each time check-in opens). A code is accepted during its own step and the next one
(so for 30 to 60 seconds), never before its step (a forged future code). Scanning it hands the phone a grant, a
signed note good for ``GRANT_SECONDS``, so that a person who must first sign in is not refused because the code
on the screen moved on meanwhile. Checking in records attendance exactly like a sign-in sheet does: an
attendance row and one training record with the session as its source (so a later sheet merges with it and
never doubles it); checking out with a later code records the real duration, and the credited hours are the
share of the planned time the person was there (never more than the session's hours).

Plain functions: they take models and plain values, flush and never commit.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from lms.core import signals
from lms.core.db import db, utcnow
from lms.core.errors import Conflict, DomainError, Forbidden
from lms.core.i18n import msg
from lms.core.timeutil import format_local
from lms.ledger import services as ledger
from lms.ledger.models import KIND_OFFLINE
from lms.offline.models import (
    HELD,
    KIND_TOOLBOX,
    LOCKED,
    PLANNED,
    RECORDED,
    TARGET_DEPARTMENT,
    Attendance,
    CheckIn,
    OfflineSession,
)
from lms.offline.services import audience, completed_at, create_session, ledger_level, started_at
from lms.org.models import ADMIN, MANAGER, TRAINER, Person, PersonRole, ResponsibilityRole, User

STEP_SECONDS = 30
ACCEPTED_STEPS = 2  # the code's own step and the one after it: 30 to 60 seconds
GRANT_SECONDS = 300  # time to sign in after scanning a fresh code
TEAM_LEADER_ROLE = "班组长"
TOOLBOX_MINUTES = (5, 10, 15)
TOOLBOX_DEFAULT_MINUTES = 10
TOOLBOX_CATEGORY = "班前会"
MINUTES_PER_CLASS_PERIOD = 45  # one 学时
EARLIEST_CHECK_IN = dt.timedelta(minutes=60)
RUNNERS = (TRAINER, MANAGER, ADMIN)

_EPOCH = dt.datetime(1970, 1, 1)


# ---------------------------------------------------------------- codes


def step_of(moment: dt.datetime) -> int:
    """Return the time step (of ``STEP_SECONDS``) of a naive UTC moment."""
    return int((moment - _EPOCH).total_seconds() // STEP_SECONDS)


def step_start(step: int) -> dt.datetime:
    """Return when a time step begins (naive UTC)."""
    return _EPOCH + dt.timedelta(seconds=step * STEP_SECONDS)


def _key() -> bytes:
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else bytes(secret)
    return hmac.new(secret, b"lms.offline.check-in.v1", hashlib.sha256).digest()


def _mac(session_id: int, nonce: str, step: int) -> str:
    digest = hmac.new(_key(), f"{session_id}:{nonce}:{step}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:15]).decode()


def make_token(session: OfflineSession, step: int) -> str:
    """Return the token of the code shown at ``step``: ``<session>.<step>.<signature>``."""
    if not session.checkin_nonce:
        raise DomainError(msg("check-in is not open for this session"))
    return f"{session.id}.{step}.{_mac(session.id, session.checkin_nonce, step)}"


@dataclass(frozen=True)
class Code:
    """A checked code: its session and time step."""

    session: OfflineSession
    step: int


class CheckInRefused(DomainError):
    """A code, a grant or a check-in refused, with the reason a person can read."""

    status_code = 400


class OtherEnterprise(CheckInRefused):
    """A code of another enterprise's session: refused like an object that is not there."""

    status_code = 404


def _parse(token: str) -> tuple[int, int, str]:
    parts = (token or "").strip().split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(parts[2]) != 20:
        raise CheckInRefused(msg("this is not a check-in code of this system"))
    return int(parts[0]), int(parts[1]), parts[2]


def _ensure_open(session: OfflineSession, now: dt.datetime) -> None:
    if session.status == LOCKED:
        raise CheckInRefused(msg("this session is locked: check-in is over"))
    if session.checkin_closed_at is not None:
        raise CheckInRefused(
            msg(
                "check-in for this session closed at %(when)s",
                when=format_local(session.checkin_closed_at, session),
            )
        )
    if session.checkin_opened_at is None:
        raise CheckInRefused(msg("check-in is not open for this session"))


def verify_token(session_id: int, token: str, *, now: dt.datetime | None = None) -> Code:
    """Return the session and step of a scanned code, or refuse it (``CheckInRefused`` says why)."""
    now = now or utcnow()
    token_session_id, step, mac = _parse(token)
    if token_session_id != session_id:
        raise CheckInRefused(msg("this code belongs to another session; scan the code shown at your session"))
    session = db.session.get(OfflineSession, session_id)
    if session is None or not session.checkin_nonce:
        raise CheckInRefused(msg("this is not a check-in code of this system"))
    if not hmac.compare_digest(mac, _mac(session.id, session.checkin_nonce, step)):
        # Forged, or a code of an earlier opening of the check-in (the nonce changed since).
        raise CheckInRefused(
            msg("this check-in code is not valid (it is forged or from an earlier check-in)")
        )
    _ensure_open(session, now)
    current = step_of(now)
    if step > current:
        raise CheckInRefused(
            msg("this check-in code is not valid (it is forged or from an earlier check-in)")
        )
    if current - step >= ACCEPTED_STEPS:
        raise CheckInRefused(
            msg(
                "this code has expired: the code changes every %(seconds)s seconds and is accepted for at most "
                "%(limit)s seconds; scan the code on the screen again",
                seconds=STEP_SECONDS,
                limit=STEP_SECONDS * ACCEPTED_STEPS,
            )
        )
    return Code(session, step)


def _grants() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="lms.offline.check-in.grant")


def make_grant(code: Code) -> str:
    """Return the grant handed to a phone that scanned a fresh code (signed, good for ``GRANT_SECONDS``)."""
    nonce = (code.session.checkin_nonce or "")[:8]
    return _grants().dumps({"s": code.session.id, "k": code.step, "n": nonce})


def verify_grant(session_id: int, grant: str, *, now: dt.datetime | None = None) -> Code:
    """Return the session and step of a grant, or refuse it (expired, forged, another session, closed)."""
    now = now or utcnow()
    try:
        data = _grants().loads(grant or "", max_age=GRANT_SECONDS)
    except SignatureExpired:
        raise CheckInRefused(
            msg(
                "more than %(minutes)s minutes passed since you scanned the code; scan the code on the screen again",
                minutes=GRANT_SECONDS // 60,
            )
        ) from None
    except BadSignature:
        raise CheckInRefused(msg("this is not a check-in code of this system")) from None
    if not isinstance(data, dict) or not isinstance(data.get("s"), int) or not isinstance(data.get("k"), int):
        raise CheckInRefused(msg("this is not a check-in code of this system"))
    if data["s"] != session_id:
        raise CheckInRefused(msg("this code belongs to another session; scan the code shown at your session"))
    session = db.session.get(OfflineSession, session_id)
    if session is None or not session.checkin_nonce or data.get("n") != session.checkin_nonce[:8]:
        raise CheckInRefused(
            msg("this check-in code is not valid (it is forged or from an earlier check-in)")
        )
    _ensure_open(session, now)
    return Code(session, data["k"])


# ---------------------------------------------------------------- the QR code


def qr_svg(text: str, *, size: int = 320) -> str:
    """Return a QR code of ``text`` as compact SVG (one path; reportlab's encoder, drawn here)."""
    from reportlab.graphics.barcode.qr import QrCodeWidget

    widget = QrCodeWidget(text, barLevel="M")
    qr = widget.qr
    qr.make()
    count = qr.getModuleCount()
    border = 4
    parts = []
    for r, row in enumerate(qr.modules):
        c = 0
        while c < count:
            if row[c]:
                start = c
                while c < count and row[c]:
                    c += 1
                parts.append(f"M{start + border} {r + border}h{c - start}v1h-{c - start}z")
            else:
                c += 1
    total = count + 2 * border
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {total} {total}" width="{size}" height="{size}" '
        f'shape-rendering="crispEdges" role="img"><rect width="{total}" height="{total}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(parts)}"/></svg>'
    )


# ---------------------------------------------------------------- who runs check-in


def is_team_leader(user: Any) -> bool:
    """Whether the account's person holds the 班组长 responsibility role of its enterprise."""
    person_id = getattr(user, "person_id", None)
    if not person_id:
        return False
    return bool(
        db.session.scalar(
            select(PersonRole.person_id)
            .join(ResponsibilityRole, ResponsibilityRole.id == PersonRole.role_id)
            .join(Person, Person.id == PersonRole.person_id)
            .where(
                PersonRole.person_id == person_id,
                ResponsibilityRole.name == TEAM_LEADER_ROLE,
                ResponsibilityRole.enterprise_id == Person.enterprise_id,
                Person.status == "active",
            )
        )
    )


def may_run(user: Any, session: OfflineSession) -> bool:
    """Whether ``user`` may open, show and close check-in of ``session`` (same enterprise assumed).

    Trainers and managers run any session; a team leader runs the toolbox talks they created.
    """
    if user.app_role in RUNNERS:
        return True
    return session.kind == KIND_TOOLBOX and session.created_by_id == user.id and is_team_leader(user)


# ---------------------------------------------------------------- opening and closing


def open_checkin(session: OfflineSession, *, now: dt.datetime | None = None) -> None:
    """Open check-in (a new nonce: codes of an earlier opening no longer work)."""
    now = now or utcnow()
    if session.status == LOCKED:
        raise Forbidden(msg("this session is locked: check-in cannot be opened"))
    if session.checkin_open:
        return
    session.checkin_nonce = secrets.token_hex(16)
    session.checkin_opened_at = now
    session.checkin_closed_at = None
    if session.status == PLANNED:
        session.status = HELD
    db.session.flush()


def close_checkin(session: OfflineSession, *, now: dt.datetime | None = None) -> None:
    """Close check-in: no more check-ins or check-outs; a session with check-ins becomes recorded."""
    now = now or utcnow()
    if not session.checkin_open:
        return
    session.checkin_closed_at = now
    has_any = db.session.scalar(select(CheckIn.id).where(CheckIn.session_id == session.id).limit(1))
    if has_any and session.status in (PLANNED, HELD):
        session.status = RECORDED
    db.session.flush()


# ---------------------------------------------------------------- hours


def planned_window(session: OfflineSession) -> tuple[dt.datetime, dt.datetime]:
    """Return the session's planned start and end (UTC)."""
    end = session.ends_at or session.starts_at + dt.timedelta(hours=float(session.hours or 0))
    return session.starts_at, max(end, session.starts_at)


def _grace(start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    return min(dt.timedelta(minutes=10), (end - start) / 10)


def credited_hours(session: OfflineSession, check_in: CheckIn) -> Decimal:
    """Return the hours a check-in earns: the session's hours times the share of the planned time the person
    was there (from check-in or the start, to check-out or the end, with a grace of a tenth of the planned time,
    at most ten minutes, at each end). Never more than the session's hours, whatever the times say."""
    hours = Decimal(session.hours or 0)
    start, end = planned_window(session)
    planned = (end - start).total_seconds()
    if planned <= 0 or hours <= 0:
        return hours.quantize(Decimal("0.01"))
    grace = _grace(start, end)
    came = check_in.checked_in_at if check_in.checked_in_at > start + grace else start
    left = check_in.checked_out_at or end
    left = end if left >= end - grace else left
    present = max(0.0, (min(left, end) - max(came, start)).total_seconds())
    if present >= planned:
        return hours.quantize(Decimal("0.01"))
    share = Decimal(str(present)) / Decimal(str(planned))
    return (hours * share).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def checkin_hours(session_ids: list[int]) -> dict[tuple[int, int], Decimal]:
    """Return the credited hours of every check-in of the sessions, by (session id, person id)."""
    if not session_ids:
        return {}
    sessions = {
        s.id: s for s in db.session.scalars(select(OfflineSession).where(OfflineSession.id.in_(session_ids)))
    }
    out = {}
    for ci in db.session.scalars(
        select(CheckIn).where(CheckIn.session_id.in_(session_ids)).order_by(CheckIn.id)
    ):
        out[(ci.session_id, ci.person_id)] = credited_hours(sessions[ci.session_id], ci)
    return out


def checkin_times(session_ids: list[int]) -> dict[tuple[int, int], dt.datetime]:
    """Return when each person checked in, by (session id, person id)."""
    if not session_ids:
        return {}
    rows = db.session.execute(
        select(CheckIn.session_id, CheckIn.person_id, CheckIn.checked_in_at).where(
            CheckIn.session_id.in_(session_ids)
        )
    )
    return {(sid, pid): at for sid, pid, at in rows}


# ---------------------------------------------------------------- checking in and out


def _record(session: OfflineSession, person: Person, check_in: CheckIn, actor: User | None) -> int:
    """Write (or re-write) the person's training record for the session; return its id."""
    result = ledger.record(
        person,
        kind=KIND_OFFLINE,
        topic=session.topic,
        source=session.source,
        hours=credited_hours(session, check_in),
        started_at=started_at(session),
        completed_at=completed_at(session),
        category=session.category,
        level=ledger_level(session),
        course_id=session.course_id,
        evidence={"check_in": check_in.id},
        actor=actor,
    )
    return result.record.id


def _ensure_person(session: OfflineSession, person: Person | None) -> Person:
    if person is None:
        raise CheckInRefused(
            msg("your account is not linked to a person of the enterprise, so it cannot check in")
        )
    if person.enterprise_id != session.enterprise_id:
        raise OtherEnterprise(
            msg("this code belongs to a session of another enterprise; you cannot check in with it")
        )
    if person.status != "active":
        raise CheckInRefused(msg("you are not an active employee of this enterprise"))
    return person


def check_in(
    session: OfflineSession,
    person: Person | None,
    step: int,
    *,
    now: dt.datetime | None = None,
    user: User | None = None,
    address: str | None = None,
) -> CheckIn:
    """Check ``person`` in with a code of ``step``: an attendance row and a training record, like a sheet row."""
    now = now or utcnow()
    person = _ensure_person(session, person)
    _ensure_open(session, now)
    start, end = planned_window(session)
    if now > end + _grace(start, end):
        raise CheckInRefused(
            msg("this session ended at %(when)s: check-in is over", when=format_local(end, session))
        )
    if now < start - EARLIEST_CHECK_IN:
        # Check-in opened by mistake days ahead must not credit a session nobody has attended yet.
        raise CheckInRefused(
            msg(
                "this session starts at %(when)s: check in at most %(minutes)s minutes before it starts",
                when=format_local(start, session),
                minutes=int(EARLIEST_CHECK_IN.total_seconds() // 60),
            )
        )
    # Two phones of one person at the same moment take turns (PostgreSQL row lock; SQLite's write lock).
    db.session.execute(select(Person.id).where(Person.id == person.id).with_for_update())
    found = db.session.scalar(
        select(CheckIn).where(CheckIn.session_id == session.id, CheckIn.person_id == person.id)
    )
    if found is not None:
        raise Conflict(
            msg(
                "you already checked in at %(when)s", when=format_local(found.checked_in_at, session, "%H:%M")
            )
        )
    ci = CheckIn(
        session_id=session.id,
        person_id=person.id,
        user_id=user.id if user else None,
        checked_in_at=now.replace(microsecond=0),
        in_step=step,
        address=(address or "")[:64] or None,
    )
    db.session.add(ci)
    db.session.flush()
    record_id = _record(session, person, ci, user)  # Conflict when it overlaps another training
    attendance = db.session.scalar(
        select(Attendance).where(Attendance.session_id == session.id, Attendance.person_id == person.id)
    )
    if attendance is None:
        attendance = Attendance(session_id=session.id, person_id=person.id)
        db.session.add(attendance)
    if attendance.absent or attendance.signed_in_at is None:
        attendance.signed_in_at = ci.checked_in_at
    attendance.absent = False
    if attendance.score_note == "未签到":
        attendance.score_note = None
    attendance.record_id = record_id
    attendance.recorded_at = now
    db.session.flush()
    signals.attendance_recorded.send(session, person_ids=[person.id], session=session)
    return ci


def check_out(
    session: OfflineSession,
    person: Person | None,
    step: int,
    *,
    now: dt.datetime | None = None,
    user: User | None = None,
) -> CheckIn:
    """Check ``person`` out with a code scanned after checking in; the record's hours follow the real time."""
    now = now or utcnow()
    person = _ensure_person(session, person)
    _ensure_open(session, now)
    db.session.execute(select(Person.id).where(Person.id == person.id).with_for_update())
    ci = db.session.scalar(
        select(CheckIn).where(CheckIn.session_id == session.id, CheckIn.person_id == person.id)
    )
    if ci is None:
        raise CheckInRefused(msg("you have not checked in at this session"))
    if ci.checked_out_at is not None:
        raise Conflict(
            msg("you already checked out at %(when)s", when=format_local(ci.checked_out_at, session, "%H:%M"))
        )
    if step <= ci.in_step:
        raise CheckInRefused(msg("to check out, scan the code on the screen again at the end of the session"))
    ci.checked_out_at = max(now.replace(microsecond=0), ci.checked_in_at)
    ci.out_step = step
    db.session.flush()
    record_id = _record(session, person, ci, user)
    attendance = db.session.scalar(
        select(Attendance).where(Attendance.session_id == session.id, Attendance.person_id == person.id)
    )
    if attendance is not None:
        attendance.record_id = record_id
    db.session.flush()
    signals.attendance_recorded.send(session, person_ids=[person.id], session=session)
    return ci


def check_in_of(session: OfflineSession, person: Person | None) -> CheckIn | None:
    """Return a person's check-in at a session, if any."""
    if person is None:
        return None
    return db.session.scalar(
        select(CheckIn).where(CheckIn.session_id == session.id, CheckIn.person_id == person.id)
    )


# ---------------------------------------------------------------- the live list


@dataclass
class LiveRow:
    check_in: CheckIn
    person: Person
    expected: bool
    hours: Decimal

    @property
    def minutes(self) -> int | None:
        """The real duration in minutes (None until checked out)."""
        if self.check_in.checked_out_at is None:
            return None
        return int((self.check_in.checked_out_at - self.check_in.checked_in_at).total_seconds() // 60)


@dataclass
class LiveList:
    rows: list[LiveRow]
    missing: list[Person]
    expected: int


def live_list(session: OfflineSession) -> LiveList:
    """Return who checked in (in order of arrival) and who of the expected people has not (present on a sheet
    counts as there)."""
    people = audience(session)
    if session.kind == KIND_TOOLBOX and session.created_by_id:
        # The team leader who gives the talk is there without scanning their own code.
        leader_id = db.session.scalar(select(User.person_id).where(User.id == session.created_by_id))
        people = [p for p in people if p.id != leader_id]
    expected_ids = {p.id for p in people}
    rows = []
    seen = set()
    for ci, person in db.session.execute(
        select(CheckIn, Person)
        .join(Person, Person.id == CheckIn.person_id)
        .where(CheckIn.session_id == session.id)
        .order_by(CheckIn.checked_in_at, CheckIn.id)
    ):
        seen.add(person.id)
        rows.append(LiveRow(ci, person, person.id in expected_ids, credited_hours(session, ci)))
    present_on_sheet = set(
        db.session.scalars(
            select(Attendance.person_id).where(
                Attendance.session_id == session.id, Attendance.absent.is_(False)
            )
        )
    )
    missing = [p for p in people if p.id not in seen and p.id not in present_on_sheet]
    return LiveList(rows, missing, len(people))


# ---------------------------------------------------------------- toolbox talks


def create_toolbox_talk(
    user: User,
    *,
    topic: str | None = None,
    minutes: int = TOOLBOX_DEFAULT_MINUTES,
    now: dt.datetime | None = None,
) -> OfflineSession:
    """Start a toolbox talk (班前会) now for the leader's own department, with check-in open."""
    now = now or utcnow()
    if user.app_role not in RUNNERS and not is_team_leader(user):
        raise Forbidden(msg("only team leaders, trainers and safety managers run toolbox talks"))
    try:
        minutes = int(minutes)
    except (TypeError, ValueError):
        raise DomainError(msg("a toolbox talk lasts 5 to 15 minutes"), field="minutes") from None
    if not 5 <= minutes <= 15:
        raise DomainError(msg("a toolbox talk lasts 5 to 15 minutes"), field="minutes")
    person = user.person
    enterprise_id = user.enterprise_id if person is None else person.enterprise_id
    if enterprise_id is None:
        raise DomainError(msg("your account belongs to no enterprise"))
    topic = (topic or "").strip() or "班前安全讲话"
    start = now.replace(second=0, microsecond=0)
    targets = {TARGET_DEPARTMENT: [person.department_id]} if person and person.department_id else None
    session = create_session(
        enterprise_id,
        topic=topic[:300],
        starts_at=start,
        ends_at=start + dt.timedelta(minutes=minutes),
        hours=(Decimal(minutes) / MINUTES_PER_CLASS_PERIOD).quantize(Decimal("0.01")),
        category=TOOLBOX_CATEGORY,
        level="team",
        instructor=(person.name if person else user.display_name)[:100],
        location=person.department.path[:200] if person and person.department else None,
        targets=targets,
        actor=user,
    )
    session.kind = KIND_TOOLBOX
    open_checkin(session, now=now)
    return session


def toolbox_talks(user: User, enterprise_id: int, *, limit: int = 20) -> list[OfflineSession]:
    """Return recent toolbox talks: a team leader's own, or all of the enterprise for trainers and managers."""
    q = select(OfflineSession).where(
        OfflineSession.enterprise_id == enterprise_id, OfflineSession.kind == KIND_TOOLBOX
    )
    if user.app_role not in RUNNERS:
        q = q.where(OfflineSession.created_by_id == user.id)
    return list(
        db.session.scalars(q.order_by(OfflineSession.starts_at.desc(), OfflineSession.id.desc()).limit(limit))
    )


def checkin_counts(session_ids: list[int]) -> dict[int, int]:
    """Return how many people checked in at each session."""
    from sqlalchemy import func

    if not session_ids:
        return {}
    return dict(
        db.session.execute(
            select(CheckIn.session_id, func.count())
            .where(CheckIn.session_id.in_(session_ids))
            .group_by(CheckIn.session_id)
        ).all()
    )
