"""Record, void and query training records. Every feature that produces training writes through here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from lms.core.db import db, utcnow
from lms.core.errors import DomainError, NotFound
from lms.ledger.models import KINDS, LEVELS, TrainingRecord
from lms.org.models import Person, User

_COMPARED = ("kind", "topic", "category", "level", "course_id", "exam_id", "hours", "completed_at", "score",
             "passed", "valid_until", "certificate_no")


@dataclass
class RecordResult:
    """What ``record`` did: ``created``, ``replaced`` (old row voided) or ``unchanged``."""

    record: TrainingRecord
    outcome: str


def _norm(value: Any) -> Any:
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    if isinstance(value, float):
        return Decimal(str(value)).quantize(Decimal("0.01"))
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value).quantize(Decimal("0.01"))
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0, tzinfo=None)
    return value


def record(
    person: Person,
    *,
    kind: str,
    topic: str,
    source: str,
    hours: Decimal | float | int = 0,
    completed_at: dt.datetime | None = None,
    category: str | None = None,
    level: str | None = None,
    course_id: int | None = None,
    exam_id: int | None = None,
    score: Decimal | float | None = None,
    passed: bool | None = None,
    valid_until: dt.date | None = None,
    certificate_no: str | None = None,
    evidence: dict[str, Any] | None = None,
    note: str | None = None,
    actor: User | None = None,
) -> RecordResult:
    """Record a fact of training for ``person`` from ``source``; re-recording the same source replaces it."""
    if kind not in KINDS:
        raise DomainError(f"unknown training kind {kind!r}", field="kind")
    if level is not None and level not in LEVELS:
        raise DomainError(f"unknown level {level!r}", field="level")
    hours_dec = _norm(hours if hours is not None else 0)
    if hours_dec < 0:
        raise DomainError("hours cannot be negative", field="hours")
    values = {
        "kind": kind,
        "topic": topic.strip()[:300],
        "category": category,
        "level": level,
        "course_id": course_id,
        "exam_id": exam_id,
        "hours": hours_dec,
        "completed_at": _norm(completed_at or utcnow()),
        "score": _norm(score) if score is not None else None,
        "passed": passed,
        "valid_until": valid_until,
        "certificate_no": certificate_no,
    }
    session = db.session
    live = session.scalars(
        select(TrainingRecord)
        .where(TrainingRecord.source == source, TrainingRecord.person_id == person.id, TrainingRecord.voided_at.is_(None))
        .with_for_update()
    ).first()
    if live is not None and all(_norm(getattr(live, k)) == values[k] for k in _COMPARED):
        return RecordResult(live, "unchanged")
    new = TrainingRecord(
        enterprise_id=person.enterprise_id,
        person_id=person.id,
        source=source,
        evidence=evidence,
        note=note,
        recorded_by_id=actor.id if actor else None,
        **values,
    )
    if live is not None:
        live.voided_at = utcnow()
        live.voided_by_id = actor.id if actor else None
        live.void_reason = "replaced by a new record from the same source"
        session.flush()  # the live-source unique index must see the old row voided first
    session.add(new)
    session.flush()
    if live is not None:
        live.replaced_by_id = new.id
    return RecordResult(new, "replaced" if live is not None else "created")


def void(record_id: int, *, reason: str, actor: User | None, enterprise_id: int | None = None) -> TrainingRecord:
    """Void a live record (it stays, marked, for the audit trail)."""
    if not reason or not reason.strip():
        raise DomainError("a reason is required to void a record", field="reason")
    rec = db.session.get(TrainingRecord, record_id)
    if rec is None or (enterprise_id is not None and rec.enterprise_id != enterprise_id):
        raise NotFound("record not found")
    if rec.voided_at is not None:
        raise DomainError("record already voided")
    rec.voided_at = utcnow()
    rec.voided_by_id = actor.id if actor else None
    rec.void_reason = reason.strip()[:300]
    db.session.flush()
    return rec


def void_source(source: str, *, reason: str, actor: User | None = None, keep_person_ids: set[int] | None = None) -> int:
    """Void every live record of ``source`` except those of ``keep_person_ids``; return how many."""
    q = select(TrainingRecord).where(TrainingRecord.source == source, TrainingRecord.voided_at.is_(None))
    n = 0
    for rec in db.session.scalars(q):
        if keep_person_ids and rec.person_id in keep_person_ids:
            continue
        rec.voided_at = utcnow()
        rec.voided_by_id = actor.id if actor else None
        rec.void_reason = reason[:300]
        n += 1
    db.session.flush()
    return n


def live_records(person_id: int, *, since: dt.datetime | None = None, until: dt.datetime | None = None) -> list[TrainingRecord]:
    """Return a person's live records, newest first."""
    q = select(TrainingRecord).where(TrainingRecord.person_id == person_id, TrainingRecord.voided_at.is_(None))
    if since is not None:
        q = q.where(TrainingRecord.completed_at >= since)
    if until is not None:
        q = q.where(TrainingRecord.completed_at < until)
    return list(db.session.scalars(q.order_by(TrainingRecord.completed_at.desc(), TrainingRecord.id.desc())))


def hours_total(person_id: int, *, since: dt.datetime | None = None, until: dt.datetime | None = None,
                categories: list[str] | None = None) -> Decimal:
    """Sum the hours of a person's live records in a window, optionally only some categories."""
    q = select(func.coalesce(func.sum(TrainingRecord.hours), 0)).where(
        TrainingRecord.person_id == person_id, TrainingRecord.voided_at.is_(None)
    )
    if since is not None:
        q = q.where(TrainingRecord.completed_at >= since)
    if until is not None:
        q = q.where(TrainingRecord.completed_at < until)
    if categories:
        q = q.where(TrainingRecord.category.in_(categories))
    return Decimal(db.session.scalar(q) or 0)
