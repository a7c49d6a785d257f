"""Record, void and query training records. Every feature that produces training writes through here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, text

from lms.core.db import db, utcnow
from lms.core.errors import DomainError, NotFound
from lms.ledger.models import KINDS, LEVELS, TrainingRecord
from lms.ledger.rules import check_fact
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


def _prepare(
    *,
    kind: str,
    topic: str,
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
) -> dict[str, Any]:
    """Check one fact of training and return its compared values, normalised as stored."""
    if kind not in KINDS:
        raise DomainError(f"unknown training kind {kind!r}", field="kind")
    if level is not None and level not in LEVELS:
        raise DomainError(f"unknown level {level!r}", field="level")
    hours_dec = _norm(hours if hours is not None else 0)
    if hours_dec < 0:
        raise DomainError("hours cannot be negative", field="hours")
    check_fact(kind, category, completed_at or utcnow(), valid_until)  # 特种作业操作证: at most 6 years
    return {
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


def _is_same(live: TrainingRecord, values: dict[str, Any]) -> bool:
    return all(_norm(getattr(live, k)) == values[k] for k in _COMPARED)


def _void_replaced(live: TrainingRecord, actor: User | None) -> None:
    live.voided_at = utcnow()
    live.voided_by_id = actor.id if actor else None
    live.void_reason = "replaced by a new record from the same source"


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
    values = _prepare(
        kind=kind,
        topic=topic,
        hours=hours,
        completed_at=completed_at,
        category=category,
        level=level,
        course_id=course_id,
        exam_id=exam_id,
        score=score,
        passed=passed,
        valid_until=valid_until,
        certificate_no=certificate_no,
    )
    session = db.session
    live = session.scalars(
        select(TrainingRecord)
        .where(TrainingRecord.source == source, TrainingRecord.person_id == person.id, TrainingRecord.voided_at.is_(None))
        .with_for_update()
    ).first()
    if live is not None and _is_same(live, values):
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
        _void_replaced(live, actor)
        session.flush()  # the live-source unique index must see the old row voided first
    session.add(new)
    session.flush()
    if live is not None:
        live.replaced_by_id = new.id
    return RecordResult(new, "replaced" if live is not None else "created")


@dataclass
class _Item:
    person_id: int
    enterprise_id: int
    source: str
    values: dict[str, Any]
    evidence: dict[str, Any] | None
    note: str | None


def _item(
    person: Person | None = None,
    *,
    source: str,
    person_id: int | None = None,
    enterprise_id: int | None = None,
    evidence: dict[str, Any] | None = None,
    note: str | None = None,
    **fact: Any,
) -> _Item:
    if person is not None:
        person_id, enterprise_id = person.id, person.enterprise_id
    if person_id is None or enterprise_id is None:
        raise TypeError("record_many: each item needs person, or person_id and enterprise_id")
    return _Item(person_id, enterprise_id, source, _prepare(**fact), evidence, note)


RECORD_CHUNK = 500


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    """One item of ``record_many``: ``created``, ``replaced`` or ``unchanged``, and the live record's id."""

    record_id: int
    outcome: str

    @property
    def record(self) -> TrainingRecord:
        """The live record (loaded on first use: a bulk import needs only the ids)."""
        rec = db.session.get(TrainingRecord, self.record_id)
        assert rec is not None
        return rec


def record_many(
    items: Iterable[Mapping[str, Any]],
    *,
    actor: User | None = None,
    chunk_size: int = RECORD_CHUNK,
) -> list[RecordOutcome]:
    """Record many facts of training at once; the outcome of each is what ``record`` would have given.

    Each item holds ``record``'s keyword arguments (``kind``, ``topic``, ``source``, ``hours`` …) and either
    ``person`` (a Person) or ``person_id`` and ``enterprise_id``. The items are taken in order, as if
    ``record(**item, actor=actor)`` were called for each: re-recording a source replaces its live record (the
    old row voided, ``replaced_by_id`` pointing at the new one), identical values leave it ``unchanged``, and
    the same source and person twice in one call behave as two calls. Per chunk of ``chunk_size`` items: one
    SELECT … FOR UPDATE of the live records, one UPDATE of the replaced ones (ORM, flushed first for the
    live-source unique index), one executemany INSERT of the new rows through the session (so session event
    listeners see the rows, each naming its person, enterprise and completion time). Like ``record``, this
    flushes and never commits, and sends no signal. A refused item (DomainError) leaves the chunks before it
    written: roll back, as after a failed ``record``.
    """
    results: list[RecordOutcome] = []
    chunk: list[_Item] = []
    keys: set[tuple[str, int]] = set()
    for raw in items:
        item = _item(**raw)
        key = (item.source, item.person_id)
        if key in keys or len(chunk) >= chunk_size:
            results += _record_chunk(chunk, actor)
            chunk, keys = [], set()
        chunk.append(item)
        keys.add(key)
    if chunk:
        results += _record_chunk(chunk, actor)
    return results


def _record_chunk(chunk: list[_Item], actor: User | None) -> list[RecordOutcome]:
    """Record items whose (source, person) pairs are all different."""
    session = db.session
    sources = sorted({item.source for item in chunk})
    person_ids = sorted({item.person_id for item in chunk})
    live: dict[tuple[str, int], TrainingRecord] = {}
    for rec in session.scalars(
        select(TrainingRecord)
        .where(
            TrainingRecord.source.in_(sources),
            TrainingRecord.person_id.in_(person_ids),
            TrainingRecord.voided_at.is_(None),
        )
        .with_for_update()
    ):
        live[(rec.source, rec.person_id)] = rec
    recorded_by_id = actor.id if actor else None
    outcomes: list[str | int] = []  # per item: the unchanged record's id, or the outcome of a new row
    rows: list[dict[str, Any]] = []
    replaced: list[tuple[TrainingRecord, int]] = []  # (old record, index of its new row)
    for item in chunk:
        old = live.get((item.source, item.person_id))
        if old is not None and _is_same(old, item.values):
            outcomes.append(old.id)
            continue
        if old is not None:
            _void_replaced(old, actor)
            replaced.append((old, len(rows)))
        outcomes.append("replaced" if old is not None else "created")
        rows.append(
            {
                "enterprise_id": item.enterprise_id,
                "person_id": item.person_id,
                "source": item.source,
                "evidence": item.evidence,
                "note": item.note,
                "recorded_by_id": recorded_by_id,
                "recorded_at": utcnow(),
                **item.values,
            }
        )
    ids: list[int] = []
    if rows:
        session.flush()  # the live-source unique index must see the old rows voided first
        table = TrainingRecord.__table__
        # The new rows get their ids first, in item order, as the database would give them; then one
        # executemany without RETURNING. SQLite cannot say in which order a multi-row INSERT … RETURNING
        # gives the ids (SQLAlchemy would insert row by row); on PostgreSQL that INSERT is one multi-row
        # VALUES whose thousands of placeholders psycopg binds slowly.
        if db.is_sqlite:
            # No AUTOINCREMENT: SQLite's next rowid is max + 1. Write transactions begin IMMEDIATE and hold
            # the database lock (a deferred one that another writer got ahead of fails to write: no clash).
            top = session.scalar(select(func.max(TrainingRecord.id))) or 0
            ids = list(range(top + 1, top + 1 + len(rows)))
        else:
            ids = sorted(
                session.scalars(
                    text(
                        "SELECT nextval(pg_get_serial_sequence('training_record', 'id'))"
                        " FROM generate_series(1, :n)"
                    ),
                    {"n": len(rows)},
                )
            )
        for row, rec_id in zip(rows, ids, strict=True):
            row["id"] = rec_id
        session.execute(insert(table), rows)
    for old, index in replaced:
        old.replaced_by_id = ids[index]
    out: list[RecordOutcome] = []
    new_rows = iter(ids)
    for outcome in outcomes:
        if isinstance(outcome, int):
            out.append(RecordOutcome(outcome, "unchanged"))
        else:
            out.append(RecordOutcome(next(new_rows), outcome))
    return out


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
    session = db.session
    # Ids first (tuples, not objects): a source may hold tens of thousands of live rows, most of them kept.
    ids = [
        rec_id
        for rec_id, person_id in session.execute(
            select(TrainingRecord.id, TrainingRecord.person_id).where(
                TrainingRecord.source == source, TrainingRecord.voided_at.is_(None)
            )
        )
        if not (keep_person_ids and person_id in keep_person_ids)
    ]
    voided_by_id = actor.id if actor else None
    for start in range(0, len(ids), RECORD_CHUNK):
        part = ids[start : start + RECORD_CHUNK]
        for rec in session.scalars(select(TrainingRecord).where(TrainingRecord.id.in_(part))):
            rec.voided_at = utcnow()
            rec.voided_by_id = voided_by_id
            rec.void_reason = reason[:300]
    session.flush()
    return len(ids)


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
