"""Offline sessions: scheduling, target audience, attendance figures, evidence and locked-session changes.

Plain functions: they take models and plain values, flush and never commit. The attendance upload itself
(parse, match, commit) lives in ``lms.offline.attendance``.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from sqlalchemy import Select, and_, bindparam, case, func, literal, or_, select, union
from sqlalchemy.orm import aliased

from lms.core.db import db, utcnow
from lms.core.errors import DomainError, Forbidden
from lms.core.storage import StoredFile, save_stream
from lms.offline.models import (
    LEVELS,
    LOCKED,
    PLANNED,
    RECORDED,
    STATUSES,
    TARGET_DEPARTMENT,
    TARGET_KINDS,
    TARGET_POST,
    TARGET_ROLE,
    Attendance,
    AttendanceUpload,
    OfflineEvidence,
    OfflineSession,
    OfflineSessionChange,
    OfflineSessionTarget,
)
from lms.org.models import ADMIN, MANAGER, Department, Person, PersonRole, Post, ResponsibilityRole, User

LEVEL_WORDS = {
    "company": "company",
    "厂级": "company",
    "公司级": "company",
    "厂(公司)级": "company",
    "一级": "company",
    "workshop": "workshop",
    "车间级": "workshop",
    "车间(工段、区、队)级": "workshop",
    "二级": "workshop",
    "team": "team",
    "班组级": "team",
    "三级": "team",
    "other": "other",
    "其他": "other",
    "": "other",
}
LEVEL_LABELS_ZH = {"company": "厂级", "workshop": "车间级", "team": "班组级", "other": "其他"}
EVIDENCE_MAX_BYTES = 30 * 2**20
_IMAGE_MAGICS = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


def parse_level(value: str | None) -> str:
    """Return the level code for 厂级 / 车间级 / 班组级 / 其他 or company / workshop / team / other."""
    key = (value or "").strip().lower().replace("（", "(").replace("）", ")")
    if key in LEVEL_WORDS:
        return LEVEL_WORDS[key]
    raise DomainError(f"unknown level {value!r} (use 厂级, 车间级, 班组级 or 其他)", field="level")


def parse_hours(value: Any) -> Decimal:
    """Return credit hours as a Decimal between 0 and 1000."""
    try:
        hours = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise DomainError(f"hours must be a number, not {value!r}", field="hours") from None
    if not hours.is_finite() or hours < 0 or hours > 1000:
        raise DomainError("hours must be between 0 and 1000", field="hours")
    return hours.quantize(Decimal("0.01"))


def ledger_level(session: OfflineSession) -> str | None:
    """Return the ledger's level for a session (None for "other")."""
    return session.level if session.level in ("company", "workshop", "team") else None


def completed_at(session: OfflineSession) -> dt.datetime:
    """Return when a session's training is done, in UTC like every stored time: its end, else ``hours`` after
    its start (a session typed without an end still began when it says)."""
    return session.ends_at or session.starts_at + dt.timedelta(hours=float(session.hours or 0))


def started_at(session: OfflineSession) -> dt.datetime:
    """Return when a session's training begins, in UTC: its start."""
    return session.starts_at


# ---------------------------------------------------------------- sessions


def create_session(
    enterprise_id: int,
    *,
    topic: str,
    starts_at: dt.datetime,
    hours: Decimal | float | int | str,
    category: str | None = None,
    level: str = "other",
    instructor: str | None = None,
    ends_at: dt.datetime | None = None,
    location: str | None = None,
    capacity: int | None = None,
    course_id: int | None = None,
    course_title: str | None = None,
    targets: dict[str, Iterable[int]] | None = None,
    note: str | None = None,
    actor: User | None = None,
) -> OfflineSession:
    """Schedule a session (status planned, or held when it already took place)."""
    session = OfflineSession(enterprise_id=enterprise_id, created_by_id=actor.id if actor else None)
    _apply_fields(
        session,
        topic=topic,
        starts_at=starts_at,
        hours=hours,
        category=category,
        level=level,
        instructor=instructor,
        ends_at=ends_at,
        location=location,
        capacity=capacity,
        course_id=course_id,
        course_title=course_title,
        note=note,
    )
    session.status = PLANNED
    db.session.add(session)
    db.session.flush()
    if targets:
        set_targets(session, targets)
    return session


def _apply_fields(session: OfflineSession, **values: Any) -> None:
    topic = (values["topic"] or "").strip()
    if not topic:
        raise DomainError("a session needs a topic", field="topic")
    if values["starts_at"] is None:
        raise DomainError("a session needs a start date and time", field="starts_at")
    if values["ends_at"] is not None and values["ends_at"] < values["starts_at"]:
        raise DomainError("the session cannot end before it starts", field="ends_at")
    level = parse_level(values["level"]) if values["level"] not in LEVELS else values["level"]
    capacity = values["capacity"]
    if capacity is not None and capacity < 0:
        raise DomainError("capacity cannot be negative", field="capacity")
    session.topic = topic[:300]
    session.starts_at = values["starts_at"].replace(second=0, microsecond=0, tzinfo=None)
    session.ends_at = (
        values["ends_at"].replace(second=0, microsecond=0, tzinfo=None) if values["ends_at"] else None
    )
    session.hours = parse_hours(values["hours"])
    session.category = (values["category"] or "").strip()[:100] or None
    session.level = level
    session.instructor = (values["instructor"] or "").strip()[:100] or None
    session.location = (values["location"] or "").strip()[:200] or None
    session.capacity = capacity
    session.course_id = values["course_id"]
    session.course_title = (values["course_title"] or "").strip()[:300] or None
    session.note = (values["note"] or "").strip() or None


def update_session(
    session: OfflineSession,
    *,
    actor: User | None = None,
    reason: str | None = None,
    targets: dict[str, Iterable[int]] | None = None,
    **values: Any,
) -> OfflineSession:
    """Change a session's fields (a locked one only by a manager, with a reason)."""
    ensure_may_change(session, actor, reason, "edit", {"fields": sorted(values)})
    _apply_fields(session, **values)
    if targets is not None:
        set_targets(session, targets)
    db.session.flush()
    return session


def set_targets(session: OfflineSession, targets: dict[str, Iterable[int]]) -> None:
    """Replace the target audience with ``{"department": ids, "post": ids, "role": ids}`` of the enterprise."""
    models = {TARGET_DEPARTMENT: Department, TARGET_POST: Post, TARGET_ROLE: ResponsibilityRole}
    wanted: set[tuple[str, int]] = set()
    for kind, ids in targets.items():
        if kind not in TARGET_KINDS:
            raise DomainError(f"unknown target kind {kind!r}")
        ids = {int(i) for i in ids}
        if not ids:
            continue
        model = models[kind]
        found = set(
            db.session.scalars(
                select(model.id).where(model.id.in_(ids), model.enterprise_id == session.enterprise_id)
            )
        )
        if found != ids:
            raise DomainError("a target is not part of this enterprise", field=kind)
        wanted |= {(kind, i) for i in ids}
    current = {(t.kind, t.target_id): t for t in session.targets}
    for key, target in current.items():
        if key not in wanted:
            session.targets.remove(target)
    for kind, target_id in sorted(wanted - set(current)):
        session.targets.append(OfflineSessionTarget(kind=kind, target_id=target_id))
    db.session.flush()


def set_status(
    session: OfflineSession, status: str, *, actor: User | None = None, reason: str | None = None
) -> None:
    """Move a session to ``status``; locking and unlocking are for managers, unlocking needs a reason."""
    if status not in STATUSES:
        raise DomainError(f"unknown status {status!r}", field="status")
    if status == session.status:
        return
    manager = actor is None or actor.app_role in (MANAGER, ADMIN)
    if LOCKED in (status, session.status) and not manager:
        raise Forbidden("only a safety manager may lock or unlock a session")
    if session.status == LOCKED:
        ensure_may_change(session, actor, reason, "unlock", {"to": status})
    elif status == LOCKED:
        _log_change(session, actor, "lock", reason or "", {"from": session.status})
    session.status = status
    db.session.flush()


def ensure_may_change(
    session: OfflineSession,
    actor: User | None,
    reason: str | None,
    action: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Allow a change of a locked session only to a manager (or the command line) with a reason, and log it."""
    if session.status != LOCKED:
        return
    if actor is not None and actor.app_role not in (MANAGER, ADMIN):
        raise Forbidden("this session is locked; only a safety manager may change it")
    if not (reason or "").strip():
        raise DomainError("this session is locked; give a reason for the change", field="reason")
    _log_change(session, actor, action, reason or "", detail)


def _log_change(
    session: OfflineSession, actor: User | None, action: str, reason: str, detail: dict[str, Any] | None
) -> None:
    db.session.add(
        OfflineSessionChange(
            session_id=session.id,
            changed_by_id=actor.id if actor else None,
            action=action,
            reason=reason.strip()[:2000] or "—",
            detail=detail,
        )
    )


def session_changes(session: OfflineSession) -> list[OfflineSessionChange]:
    """Return the logged changes of a session, newest first."""
    return list(
        db.session.scalars(
            select(OfflineSessionChange)
            .where(OfflineSessionChange.session_id == session.id)
            .order_by(OfflineSessionChange.at.desc(), OfflineSessionChange.id.desc())
        )
    )


def sessions_in_month(enterprise_id: int, year: int, month: int) -> list[OfflineSession]:
    """Return the enterprise's sessions starting in a month (of its local calendar), in order."""
    from lms.core.timeutil import to_utc
    from lms.org.timezone import enterprise_zone_name

    tz = enterprise_zone_name(enterprise_id)
    start = to_utc(dt.datetime(year, month, 1), tz)
    end = to_utc(dt.datetime(year + (month == 12), month % 12 + 1, 1), tz)
    return list(
        db.session.scalars(
            select(OfflineSession)
            .where(
                OfflineSession.enterprise_id == enterprise_id,
                OfflineSession.starts_at >= start,
                OfflineSession.starts_at < end,
            )
            .order_by(OfflineSession.starts_at, OfflineSession.id)
        )
    )


# ---------------------------------------------------------------- audience and attendance


def audience_select(session: OfflineSession) -> Select[Any]:
    """Return a SELECT of the ids of the active people in a session's target audience (none if no target)."""
    conds = []
    dept_ids = session.target_ids(TARGET_DEPARTMENT)
    if dept_ids:
        paths = list(db.session.scalars(select(Department.path).where(Department.id.in_(dept_ids))))
        sub = select(Department.id).where(
            Department.enterprise_id == session.enterprise_id,
            or_(
                *[
                    or_(Department.path == p, Department.path.startswith(p + "/", autoescape=True))
                    for p in paths
                ]
            ),
        )
        conds.append(Person.department_id.in_(sub))
    post_ids = session.target_ids(TARGET_POST)
    if post_ids:
        conds.append(Person.post_id.in_(post_ids))
    role_ids = session.target_ids(TARGET_ROLE)
    if role_ids:
        conds.append(Person.id.in_(select(PersonRole.person_id).where(PersonRole.role_id.in_(role_ids))))
    q = select(Person.id).where(Person.enterprise_id == session.enterprise_id, Person.status == "active")
    return q.where(or_(*conds)) if conds else q.where(literal(False))


def audience(session: OfflineSession) -> list[Person]:
    """Return the people of the target audience, by department and employee number."""
    return list(
        db.session.scalars(
            select(Person)
            .where(Person.id.in_(audience_select(session)))
            .outerjoin(Department, Department.id == Person.department_id)
            .order_by(Department.path, Person.employee_no)
        )
    )


def attendances(session: OfflineSession) -> list[Attendance]:
    """Return the committed attendance of a session (attendees first, then those marked absent)."""
    return list(
        db.session.scalars(
            select(Attendance)
            .join(Person, Person.id == Attendance.person_id)
            .where(Attendance.session_id == session.id)
            .order_by(Attendance.absent, Person.employee_no)
        )
    )


@dataclass
class SessionFigures:
    """Attendance figures of one session."""

    audience: int
    attended: int  # everyone recorded as present
    attended_in_audience: int
    absentees: list[Person]  # in the audience, not present
    rate: float | None  # attended_in_audience / audience


def session_figures(session: OfflineSession) -> SessionFigures:
    """Return the audience, attendees, absentees and attendance rate of a session."""
    present = set(
        db.session.scalars(
            select(Attendance.person_id).where(
                Attendance.session_id == session.id, Attendance.absent.is_(False)
            )
        )
    )
    people = audience(session)
    in_audience = [p for p in people if p.id in present]
    absentees = [p for p in people if p.id not in present]
    rate = len(in_audience) / len(people) if people else None
    return SessionFigures(len(people), len(present), len(in_audience), absentees, rate)


def _expected_pairs(enterprise_id: int, since: dt.datetime | None, until: dt.datetime | None) -> Any:
    """Return a subquery (session_id, person_id, starts_at) of who was expected at recorded sessions."""
    S = OfflineSession
    T = OfflineSessionTarget
    D = aliased(Department)
    PD = aliased(Department)
    conds = [S.enterprise_id == enterprise_id, S.status.in_((RECORDED, LOCKED))]
    if since is not None:
        conds.append(S.starts_at >= since)
    if until is not None:
        conds.append(S.starts_at < until)
    by_dept = (
        select(S.id.label("session_id"), Person.id.label("person_id"))
        .join(T, and_(T.session_id == S.id, T.kind == TARGET_DEPARTMENT))
        .join(D, D.id == T.target_id)
        .join(PD, and_(PD.enterprise_id == D.enterprise_id, or_(PD.id == D.id, PD.path.like(D.path + "/%"))))
        .join(Person, Person.department_id == PD.id)
        .where(*conds)
    )
    by_post = (
        select(S.id.label("session_id"), Person.id.label("person_id"))
        .join(T, and_(T.session_id == S.id, T.kind == TARGET_POST))
        .join(Person, Person.post_id == T.target_id)
        .where(*conds)
    )
    by_role = (
        select(S.id.label("session_id"), PersonRole.person_id.label("person_id"))
        .join(T, and_(T.session_id == S.id, T.kind == TARGET_ROLE))
        .join(PersonRole, PersonRole.role_id == T.target_id)
        .where(*conds)
    )
    return union(by_dept, by_post, by_role).subquery("expected")


def _expected_counts(
    enterprise_id: int, person_ids_select: Any, since: dt.datetime | None, until: dt.datetime | None
) -> tuple[int, int]:
    expected = _expected_pairs(enterprise_id, since, until)
    S = OfflineSession
    present = (
        select(Attendance.id)
        .where(
            Attendance.session_id == expected.c.session_id,
            Attendance.person_id == expected.c.person_id,
            Attendance.absent.is_(False),
        )
        .exists()
    )
    q = (
        select(func.count(), func.coalesce(func.sum(case((present, 1), else_=0)), 0))
        .select_from(expected)
        .join(S, S.id == expected.c.session_id)
        .join(Person, Person.id == expected.c.person_id)
        .where(
            Person.id.in_(person_ids_select),
            Person.enterprise_id == enterprise_id,
            # people hired after the session, or gone before it, were not expected there
            or_(Person.hire_date.is_(None), Person.hire_date <= S.starts_at),
            or_(Person.left_on.is_(None), Person.left_on >= S.starts_at),
        )
    )
    total, attended = db.session.execute(q).one()
    return int(total or 0), int(attended or 0)


def attendance_rate(
    enterprise_id: int, person_ids_select: Any, since: dt.datetime | None, until: dt.datetime | None
) -> float | None:
    """Return the share of expected attendances that happened, over recorded sessions starting in [since, until).

    Expected: each person of ``person_ids_select`` (a SELECT of person ids, or a list) in the target audience
    of a recorded or locked session, employed on its date. None when nobody was expected.
    """
    total, attended = _expected_counts(enterprise_id, person_ids_select, since, until)
    return attended / total if total else None


def missed_sessions_count(
    enterprise_id: int, person_ids_select: Any, since: dt.datetime | None, until: dt.datetime | None
) -> int:
    """Return how many (person, session) attendances were expected in [since, until) and did not happen."""
    total, attended = _expected_counts(enterprise_id, person_ids_select, since, until)
    return total - attended


def person_sessions(person_id: int) -> list[tuple[OfflineSession, Attendance]]:
    """Return a person's offline sessions (attended or marked absent), newest first."""
    rows = db.session.execute(
        select(OfflineSession, Attendance)
        .join(Attendance, Attendance.session_id == OfflineSession.id)
        .where(Attendance.person_id == person_id)
        .order_by(OfflineSession.starts_at.desc())
    )
    return [(s, a) for s, a in rows]


def person_upcoming(person: Person, *, now: dt.datetime | None = None) -> list[OfflineSession]:
    """Return planned sessions whose audience includes ``person``: of the enterprise's first 50 planned sessions
    from a day ago on, those whose ``audience_select`` holds the person (one statement, however many)."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            _upcoming_of_person(),
            {
                "enterprise_id": person.enterprise_id,
                "person_id": person.id,
                "since": now - dt.timedelta(days=1),
            },
        )
    )


@functools.cache
def _upcoming_of_person() -> Select[Any]:
    """``person_upcoming``'s statement (``enterprise_id``, ``person_id`` and ``since`` bound), built once.

    The audience test of ``audience_select`` for one person, set-based over the sessions and their targets (was
    one statement per session, issue 20): the person is active in the session's enterprise and their department
    is a targeted one or below it (same path, or the path followed by "/"), or their post is targeted, or they
    hold a targeted role.
    """
    S, T = OfflineSession, OfflineSessionTarget
    targeted, own = aliased(Department), aliased(Department)
    first = (
        select(S.id)
        .where(
            S.enterprise_id == bindparam("enterprise_id"),
            S.status == PLANNED,
            S.starts_at >= bindparam("since"),
        )
        .order_by(S.starts_at, S.id)
        .limit(50)
        .correlate(None)  # the enterprise's first 50, not the outer session's
    )
    by_department = (
        select(own.id)
        .join(targeted, targeted.id == T.target_id)
        .where(
            own.id == Person.department_id,
            own.enterprise_id == S.enterprise_id,
            or_(
                own.path == targeted.path,
                func.substr(own.path, 1, func.length(targeted.path) + 1) == targeted.path + "/",
            ),
        )
        .correlate_except(own, targeted)  # the session, its target and the person come from outside
        .exists()
    )
    by_role = (
        select(PersonRole.person_id)
        .where(PersonRole.person_id == Person.id, PersonRole.role_id == T.target_id)
        .correlate_except(PersonRole)
        .exists()
    )
    targeted_here = (
        select(T.id)
        .where(
            T.session_id == S.id,
            or_(
                and_(T.kind == TARGET_DEPARTMENT, by_department),
                and_(T.kind == TARGET_POST, T.target_id == Person.post_id),
                and_(T.kind == TARGET_ROLE, by_role),
            ),
        )
        .exists()
    )
    return (
        select(S)
        .join(
            Person,
            and_(
                Person.id == bindparam("person_id"),
                Person.enterprise_id == S.enterprise_id,
                Person.status == "active",
            ),
        )
        .where(S.id.in_(first), targeted_here)
        .order_by(S.starts_at, S.id)
    )


# ---------------------------------------------------------------- evidence


def evidence_kind(head: bytes) -> str | None:
    """Return "image" or "pdf" from a file's first bytes (never its name), None for anything else."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(_IMAGE_MAGICS) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    return None


def add_evidence(
    session: OfflineSession,
    stream: IO[bytes],
    filename: str,
    *,
    actor: User | None = None,
    note: str | None = None,
    reason: str | None = None,
) -> OfflineEvidence:
    """Attach a scan or photo of the signed sheet; refuse anything that is not an image or a PDF by content."""
    ensure_may_change(session, actor, reason, "evidence", {"file": filename})
    head = stream.read(16)
    kind = evidence_kind(head)
    if kind is None:
        raise DomainError(f"{filename} is not an image (PNG, JPEG, GIF, WebP) or a PDF", field="file")
    rest = stream.read(EVIDENCE_MAX_BYTES)
    data = head + rest
    if stream.read(1):
        raise DomainError(f"{filename} is larger than {EVIDENCE_MAX_BYTES // 2**20} MB", field="file")
    if kind == "image":
        _check_image(data, filename)
    content_type = "application/pdf" if kind == "pdf" else _image_type(head)
    stored = save_stream(
        io.BytesIO(data),
        filename,
        purpose="signin-scan",
        enterprise_id=session.enterprise_id,
        uploaded_by_id=actor.id if actor else None,
        content_type=content_type,
    )
    evidence = OfflineEvidence(
        session_id=session.id,
        stored_file_id=stored.id,
        kind=kind,
        note=(note or "").strip()[:300] or None,
        uploaded_by_id=actor.id if actor else None,
    )
    db.session.add(evidence)
    db.session.flush()
    return evidence


def _image_type(head: bytes) -> str:
    if head.startswith(b"\x89PNG"):
        return "image/png"
    if head.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if head.startswith(b"GIF"):
        return "image/gif"
    return "image/webp"


def _check_image(data: bytes, filename: str) -> None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > 100_000_000:
                raise DomainError(f"{filename} has too many pixels", field="file")
            image.verify()
    except DomainError:
        raise
    except Exception:  # noqa: BLE001 - Pillow raises many kinds on damaged files
        raise DomainError(f"{filename} is a damaged image", field="file") from None


def evidence_of(session: OfflineSession) -> list[OfflineEvidence]:
    """Return a session's scans and photos, newest first."""
    return list(
        db.session.scalars(
            select(OfflineEvidence)
            .where(OfflineEvidence.session_id == session.id)
            .order_by(OfflineEvidence.uploaded_at.desc())
        )
    )


def stored_file(file_id: int, enterprise_id: int) -> StoredFile | None:
    """Return a stored file of the enterprise (None otherwise)."""
    stored = db.session.get(StoredFile, file_id)
    return stored if stored is not None and stored.enterprise_id == enterprise_id else None


# ---------------------------------------------------------------- what a record's source is


def source_labels(records: Any) -> dict[int, str]:
    """Name classroom records by their session (topic, local time) and the sign-in sheet they came from.

    Set-based for a list of records: one query for the sessions, one for the sheets (never one per record).
    """
    from flask_babel import gettext as _

    from lms.core.timeutil import format_span

    session_ids = {int(r.source.split(":", 1)[1]) for r in records if r.source.split(":", 1)[1].isdigit()}
    upload_ids = {int(u) for r in records if str(u := (r.evidence or {}).get("upload_id") or "").isdigit()}
    sessions: dict[int, tuple[str, Any, Any]] = {}
    if session_ids:
        for sid, topic, starts, ends in db.session.execute(
            select(
                OfflineSession.id, OfflineSession.topic, OfflineSession.starts_at, OfflineSession.ends_at
            ).where(OfflineSession.id.in_(sorted(session_ids)))
        ):
            sessions[sid] = (topic, starts, ends)
    sheets: dict[int, str] = {}
    if upload_ids:
        sheets = dict(
            db.session.execute(  # type: ignore[arg-type]
                select(AttendanceUpload.id, StoredFile.original_name)
                .join(StoredFile, StoredFile.id == AttendanceUpload.stored_file_id)
                .where(AttendanceUpload.id.in_(sorted(upload_ids)))
            ).all()
        )
    out: dict[int, str] = {}
    for r in records:
        key = r.source.split(":", 1)[1]
        found = sessions.get(int(key)) if key.isdigit() else None
        topic, starts, ends = found or (r.topic, r.started_at, r.completed_at)
        label = _("Classroom session 《%(topic)s》, %(when)s", topic=topic, when=format_span(starts, ends))
        evidence = r.evidence or {}
        sheet = (
            sheets.get(int(evidence["upload_id"])) if str(evidence.get("upload_id") or "").isdigit() else None
        )
        if sheet and evidence.get("row"):
            label += _("; sign-in sheet %(file)s, row %(row)s", file=sheet, row=evidence["row"])
        elif sheet:
            label += _("; sign-in sheet %(file)s", file=sheet)
        out[r.id] = label
    return out


def _register_source_labels() -> None:
    from lms.ledger import sources

    sources.register("offline_session", source_labels)


_register_source_labels()
