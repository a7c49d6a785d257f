"""Record, void and query training records. Every feature that produces training writes through here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, or_, select, text

from lms.core.db import db, utcnow
from lms.core.errors import Conflict, DomainError, NotFound
from lms.core.i18n import msg
from lms.core.timeutil import format_span
from lms.ledger.models import KIND_CERTIFICATE, KIND_MANUAL, KIND_OFFLINE, KINDS, LEVELS, TrainingRecord
from lms.ledger.rules import check_fact
from lms.org.models import Person, User

RECORD_CHUNK_PEOPLE = 500

_COMPARED = (
    "kind",
    "topic",
    "category",
    "level",
    "course_id",
    "exam_id",
    "hours",
    "started_at",
    "completed_at",
    "score",
    "passed",
    "valid_until",
    "certificate_no",
)
# Training that takes the person's time from its start to its end (a classroom session, training outside the
# system): without a recorded start, it began ``hours`` before it ended. Online records are a moment.
TIMED_KINDS = (KIND_OFFLINE, KIND_MANUAL)


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
    started_at: dt.datetime | None = None,
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
    done = _norm(completed_at or utcnow())
    start = _norm(started_at) if started_at is not None else None
    if start is not None and start > done:
        raise DomainError(msg("the training cannot end before it starts"), field="started_at")
    check_fact(kind, category, completed_at or utcnow(), valid_until)  # 特种作业操作证: at most 6 years
    return {
        "kind": kind,
        "topic": topic.strip()[:300],
        "category": category,
        "level": level,
        "course_id": course_id,
        "exam_id": exam_id,
        "hours": hours_dec,
        "started_at": start,
        "completed_at": done,
        "score": _norm(score) if score is not None else None,
        "passed": passed,
        "valid_until": valid_until,
        "certificate_no": certificate_no,
    }


def prepare_fact(**fact: Any) -> dict[str, Any]:
    """Check one fact of training (``record``'s keyword arguments) and return its values as they would be stored."""
    return _prepare(**fact)


def _is_same(live: TrainingRecord, values: dict[str, Any]) -> bool:
    return all(_norm(getattr(live, k)) == values[k] for k in _COMPARED)


def _void_replaced(live: TrainingRecord, actor: User | None) -> None:
    live.voided_at = utcnow()
    live.voided_by_id = actor.id if actor else None
    live.void_reason = "replaced by a new record from the same source"


# ------------------------------------------------------------------------------------------- overlaps


@dataclass(frozen=True, slots=True)
class Span:
    """A new fact of training as the overlap check sees it: whose, from which source, from when to when."""

    person_id: int
    source: str
    started_at: dt.datetime
    completed_at: dt.datetime
    topic: str = ""
    timed: bool = True  # its start was recorded (a classroom session, an entry with times), not derived


@dataclass(frozen=True, slots=True)
class Overlap:
    """A new span that overlaps another live record of the same person (``other_id`` None: another new span)."""

    span: Span
    other_id: int | None
    other_source: str
    other_topic: str
    other_started_at: dt.datetime
    other_completed_at: dt.datetime

    def message(self) -> str:
        """Say which two trainings overlap (English; ``|tr`` translates)."""
        return msg(
            "overlaps %(topic)s (%(when)s): a person attends one training at a time",
            topic=self.other_topic,
            when=format_span(self.other_started_at, self.other_completed_at),
        )


def extent(kind: str, hours: Any, started_at: dt.datetime | None, completed_at: dt.datetime) -> dt.datetime:
    """When a record's training began: its recorded start, else ``hours`` before its end (classroom and
    hand-entered training) or its completion (online: a moment)."""
    if started_at is not None:
        return started_at
    if kind in TIMED_KINDS:
        return completed_at - dt.timedelta(hours=float(hours or 0))
    return completed_at


def _overlap(a_start: dt.datetime, a_end: dt.datetime, b_start: dt.datetime, b_end: dt.datetime) -> bool:
    # Strict: a training that ends when the next begins does not overlap it; two moments never overlap.
    return a_start < b_end and b_start < a_end


def span_of(person_id: int, source: str, values: Mapping[str, Any]) -> Span | None:
    """The span of a prepared fact, or None when it takes no time (no hours, or an external certificate)."""
    if values["kind"] == KIND_CERTIFICATE or not values["hours"]:
        return None
    start = extent(values["kind"], values["hours"], values["started_at"], values["completed_at"])
    return Span(
        person_id,
        source,
        start,
        values["completed_at"],
        values.get("topic") or "",
        values["started_at"] is not None,
    )


def find_overlaps(spans: Iterable[Span], *, chunk_size: int = RECORD_CHUNK_PEOPLE) -> list[Overlap]:
    """Return every overlap of the new ``spans`` with each other and with the people's live records.

    Set-based: per chunk of people, one SELECT of their live records with hours that may reach into the window
    of the spans. A live record of the same source and person is the one a new span replaces: it never counts.
    A pair is checked when one of the two has a recorded start (a classroom session, an entry with times):
    records whose time is only derived from their hours (older entries, online moments) are not compared
    with each other.
    """
    spans = [s for s in spans if s is not None]
    out: list[Overlap] = []
    by_person: dict[int, list[Span]] = {}
    for s in spans:
        by_person.setdefault(s.person_id, []).append(s)
    for mine in by_person.values():  # new spans of one person against each other
        mine.sort(key=lambda x: (x.started_at, x.completed_at))
        for i, a in enumerate(mine):
            for b in mine[i + 1 :]:
                if b.started_at >= a.completed_at and b.started_at > a.started_at:
                    break
                if (
                    a.source != b.source
                    and (a.timed or b.timed)
                    and _overlap(a.started_at, a.completed_at, b.started_at, b.completed_at)
                ):
                    out.append(Overlap(b, None, a.source, a.topic, a.started_at, a.completed_at))
    people = sorted(by_person)
    for at in range(0, len(people), chunk_size):
        part = people[at : at + chunk_size]
        low = min(s.started_at for p in part for s in by_person[p])
        high = max(s.completed_at for p in part for s in by_person[p])
        any_timed = any(s.timed for p in part for s in by_person[p])
        # Records without a recorded start end after the window opens; how far back their hours reach is
        # worked out here (portable SQL has no "completed_at minus hours").
        q = select(
            TrainingRecord.id,
            TrainingRecord.person_id,
            TrainingRecord.source,
            TrainingRecord.topic,
            TrainingRecord.kind,
            TrainingRecord.hours,
            TrainingRecord.started_at,
            TrainingRecord.completed_at,
        ).where(
            TrainingRecord.person_id.in_(part),
            TrainingRecord.voided_at.is_(None),
            TrainingRecord.kind != KIND_CERTIFICATE,
            TrainingRecord.hours > 0,
            TrainingRecord.completed_at > low,
        )
        timed_rows = TrainingRecord.started_at < high
        q = q.where(or_(timed_rows, TrainingRecord.started_at.is_(None)) if any_timed else timed_rows)
        for rec_id, person_id, source, topic, kind, hours, started, completed in db.session.execute(q):
            completed = _norm(completed)
            timed = started is not None
            begun = extent(kind, hours, _norm(started) if timed else None, completed)
            for s in by_person[person_id]:
                if (
                    s.source != source
                    and (s.timed or timed)
                    and _overlap(s.started_at, s.completed_at, begun, completed)
                ):
                    out.append(Overlap(s, rec_id, source, topic, begun, completed))
    return out


def ensure_no_overlap(spans: Iterable[Span | None]) -> None:
    """Refuse new spans that overlap each other or a person's live records (Conflict names the first)."""
    found = find_overlaps([s for s in spans if s is not None])
    if found:
        first = found[0]
        person = db.session.get(Person, first.span.person_id)
        raise Conflict(
            msg(
                "%(name)s: %(topic)s (%(when)s) overlaps %(other)s (%(other_when)s): a person attends one "
                "training at a time",
                name=person.name if person else first.span.person_id,
                topic=first.span.topic,
                when=format_span(first.span.started_at, first.span.completed_at, person),
                other=first.other_topic,
                other_when=format_span(first.other_started_at, first.other_completed_at, person),
            )
        )


def record(
    person: Person,
    *,
    kind: str,
    topic: str,
    source: str,
    hours: Decimal | float | int = 0,
    completed_at: dt.datetime | None = None,
    started_at: dt.datetime | None = None,
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
    """Record a fact of training for ``person`` from ``source``; re-recording the same source replaces it.

    A fact with hours that overlaps another live record of the person (another source) is refused
    (``Conflict``): a person is in one training at a time, so the same afternoon never counts twice.
    """
    values = _prepare(
        kind=kind,
        topic=topic,
        hours=hours,
        completed_at=completed_at,
        started_at=started_at,
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
        .where(
            TrainingRecord.source == source,
            TrainingRecord.person_id == person.id,
            TrainingRecord.voided_at.is_(None),
        )
        .with_for_update()
    ).first()
    if live is not None and _is_same(live, values):
        return RecordResult(live, "unchanged")
    ensure_no_overlap([span_of(person.id, source, values)])
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
    listeners see the rows, each naming its person, enterprise and completion time), and one SELECT for the
    overlap check (``Conflict`` when a new fact overlaps another of the person's records). Like ``record``, this
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
    # The facts that make new rows may not overlap each other or the people's other live records.
    ensure_no_overlap(
        span_of(item.person_id, item.source, item.values)
        for item in chunk
        if not ((old := live.get((item.source, item.person_id))) is not None and _is_same(old, item.values))
    )
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


def void(
    record_id: int, *, reason: str, actor: User | None, enterprise_id: int | None = None
) -> TrainingRecord:
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


def void_source(
    source: str, *, reason: str, actor: User | None = None, keep_person_ids: set[int] | None = None
) -> int:
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


def live_records(
    person_id: int, *, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> list[TrainingRecord]:
    """Return a person's live records, newest first."""
    q = select(TrainingRecord).where(
        TrainingRecord.person_id == person_id, TrainingRecord.voided_at.is_(None)
    )
    if since is not None:
        q = q.where(TrainingRecord.completed_at >= since)
    if until is not None:
        q = q.where(TrainingRecord.completed_at < until)
    return list(db.session.scalars(q.order_by(TrainingRecord.completed_at.desc(), TrainingRecord.id.desc())))


def hours_total(
    person_id: int,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    categories: list[str] | None = None,
) -> Decimal:
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
