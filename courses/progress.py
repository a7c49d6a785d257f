"""Progress that can be trusted: the credit rules for heartbeats, lesson and course completion.

A player reports heartbeats (position, playing, rate) under a playback-session id of its own (one per tab).
Only the server's wall clock counts; the client's time is ignored. A heartbeat credits the stretch from the
previous heartbeat's position of the same session to the new one when it is continuous, that is
``new - old <= elapsed * min(rate, max_rate) + TOLERANCE``. A jump ahead (a seek) credits nothing and only
moves the anchor. A reported rate above the course's maximum is credited at most ``elapsed * max_rate``. Per
enrolment the wall-clock time already credited is remembered (``credited_wall_until``), so two tabs playing at
once cannot credit the same real time twice. Credited stretches are merged into ``[start, end]`` intervals; a
video lesson completes when they cover ``completion_threshold`` of its duration.

Watch time cannot run faster than the clock:

- Each playback session keeps a running budget: everything it ever credited is at most the wall time since
  it started × the course's maximum speed + one fixed ``SESSION_SLACK`` (for the network jitter of its first
  heartbeat). The per-heartbeat tolerance only decides "continuous or a jump"; it never adds up.
- A heartbeat sooner than ``MIN_INTERVAL`` after the session's previous one is answered without credit and
  writes nothing (the player never sends them that close: ``PLAYER_MIN_SPACING``); its stretch stays for the
  next heartbeat to credit.
- Unless the course allows skipping ahead, no anchor is ever ahead of what is credited (``furthest_position``):
  a new playback session, or a jump, beyond it is clamped back to it (reason ``ahead``), so playing on after
  a skip credits nothing until the learner returns.
- A new session gets the slack only when no other session of the enrolment credited within ``MAX_GAP``, so
  opening session after session does not collect slack.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm.attributes import get_history, set_committed_value

from lms.core import signals
from lms.core.db import db, utcnow
from lms.core.errors import Conflict, DomainError
from lms.core.i18n import translate_message
from lms.ledger import services as ledger
from lms.ledger.models import TrainingRecord
from lms.org.models import User

from .i18n import _
from .models import (
    COMPLETED,
    DOCUMENT,
    ENROLLED,
    IN_PROGRESS,
    LINK,
    NOT_STARTED,
    TEXT,
    VIDEO,
    Enrolment,
    Lesson,
    LessonProgress,
    PlaybackSession,
)

TOLERANCE = 2.0  # seconds of jitter when telling continuous play from a jump (never credited on its own)
SESSION_SLACK = 2.0  # seconds a playback session may credit beyond wall time × max speed, once for its life
MIN_INTERVAL = 1.5  # wall-clock seconds: a heartbeat sooner than this after the previous one credits nothing
PLAYER_MIN_SPACING = (
    2.0  # the player sends heartbeats at least this far apart (MIN_INTERVAL + network jitter)
)
PLAYER_INTERVAL = 10.0  # the player's regular heartbeat while playing
MAX_GAP = 60.0  # wall-clock seconds between two heartbeats beyond which the extra time counts for nothing
MAX_DOCUMENT_CREDIT = 1800.0  # at most this much study time for reading one document


# ------------------------------------------------------------------------------------------------ intervals


def merge_intervals(intervals: Iterable[Sequence[float]]) -> list[list[float]]:
    """Return the intervals sorted and merged (touching or overlapping ones become one)."""
    cleaned = sorted([float(a), float(b)] for a, b in intervals if float(b) > float(a))
    merged: list[list[float]] = []
    for start, end in cleaned:
        if merged and start <= merged[-1][1] + 1e-6:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [[round(a, 3), round(b, 3)] for a, b in merged]


def covered_seconds(intervals: Iterable[Sequence[float]]) -> float:
    """Return the total length of the merged intervals."""
    return round(sum(b - a for a, b in merge_intervals(intervals)), 3)


def add_interval(
    intervals: Iterable[Sequence[float]] | None, start: float, end: float
) -> tuple[list[list[float]], float]:
    """Add ``[start, end]``; return the merged intervals and how many seconds were newly covered."""
    before = list(intervals or [])
    merged = merge_intervals([*before, [start, end]])
    return merged, max(0.0, round(covered_seconds(merged) - covered_seconds(before), 3))


# ------------------------------------------------------------------------------------------------ progress rows


def _new_progress(enrolment: Enrolment, lesson: Lesson) -> LessonProgress:
    """A progress row for a lesson not opened yet (not added to the session)."""
    return LessonProgress(
        enrolment_id=enrolment.id,
        lesson_id=lesson.id,
        status=NOT_STARTED,
        intervals=[],
        credited_seconds=0.0,
        furthest_position=0.0,
        last_position=0.0,
    )


def progress_for(enrolment: Enrolment, lesson: Lesson, *, create: bool = True) -> LessonProgress | None:
    """Return the enrolment's progress row for ``lesson`` (created on demand)."""
    lp = db.session.scalar(
        select(LessonProgress).where(
            LessonProgress.enrolment_id == enrolment.id, LessonProgress.lesson_id == lesson.id
        )
    )
    if lp is None and create:
        lp = _new_progress(enrolment, lesson)
        db.session.add(lp)
        db.session.flush()
    return lp


def _check_lesson(enrolment: Enrolment, lesson: Lesson) -> None:
    if lesson.course_id != enrolment.course_id:
        raise DomainError(_("This lesson is not part of the course."))


def _start(enrolment: Enrolment, lp: LessonProgress, now: dt.datetime) -> None:
    if lp.opened_at is None:
        lp.opened_at = now
    if lp.status == NOT_STARTED:
        lp.status = IN_PROGRESS
    if enrolment.started_at is None:
        enrolment.started_at = now
    if enrolment.status == ENROLLED:
        enrolment.status = IN_PROGRESS


def open_lesson(enrolment: Enrolment, lesson: Lesson, *, now: dt.datetime | None = None) -> LessonProgress:
    """Note that the learner opened a lesson (starts the reading clock of a document)."""
    _check_lesson(enrolment, lesson)
    now = now or utcnow()
    lp = progress_for(enrolment, lesson)
    assert lp is not None
    _start(enrolment, lp, now)
    if lesson.kind == LINK:
        complete_lesson(enrolment, lesson, now=now)
    db.session.flush()
    return lp


@dataclass
class HeartbeatResult:
    """What a heartbeat did: seconds newly credited, coverage, and whether the lesson is now complete."""

    credited: float
    covered: float
    duration: float
    furthest: float
    completed: bool
    # started | credited | capped | budget | seek | ahead | other-tab | backwards | early
    reason: str
    position: float | None = (
        None  # where the server anchors this session (the player goes back there on "ahead")
    )
    waiting: object | None = None  # why the course is not recorded yet though every lesson is done

    @property
    def fraction(self) -> float:
        return min(1.0, self.covered / self.duration) if self.duration else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "credited": self.credited,
            "covered": self.covered,
            "duration": self.duration,
            "furthest": self.furthest,
            "completed": self.completed,
            "reason": self.reason,
            "fraction": round(self.fraction, 4),
            "position": self.position,
            "waiting": translate_message(self.waiting) if self.waiting is not None else None,
        }


def playback_token(session_id: str | None) -> str:
    """The playback-session id a player sent, as stored (trimmed, at most 64 characters)."""
    return (session_id or "").strip()[:64]


def heartbeat(
    enrolment: Enrolment,
    lesson: Lesson,
    session_id: str,
    position: float,
    *,
    playing: bool = True,
    rate: float = 1.0,
    now: dt.datetime | None = None,
    found: tuple[LessonProgress | None, PlaybackSession | None] | None = None,
) -> HeartbeatResult:
    """Credit what was really played since this playback session's previous heartbeat (module docstring).

    ``found``: the lesson progress and this token's playback session (either None if there is none), when the
    caller already loaded them with the enrolment (the heartbeat view does, in one query).
    """
    _check_lesson(enrolment, lesson)
    if lesson.kind != VIDEO or not lesson.duration:
        raise DomainError(_("This lesson has no playable video yet."))
    token = playback_token(session_id)
    if not token:
        raise DomainError(_("A playback session id is required."))
    now = now or utcnow()
    course = enrolment.course
    duration = float(lesson.duration)
    position = min(max(0.0, float(position)), duration)
    try:
        rate = float(rate)
    except (TypeError, ValueError):
        rate = 1.0
    if not rate > 0:
        rate = 1.0
    max_rate = max(0.25, float(course.max_playback_rate or 1.0))

    if found is None:
        lp, ps = _progress_and_playback(enrolment, lesson, token)
    else:
        lp, ps = _ensure_progress(found[0], found[1], enrolment, lesson)
    # Unless skipping ahead is allowed, no anchor is ever beyond what is credited.
    frontier = None if course.forward_seek_allowed else float(lp.furthest_position or 0.0)
    if ps is not None and (now - ps.last_wall).total_seconds() < MIN_INTERVAL:
        delta = position - ps.last_position
        if delta > -0.5 and (delta <= _allowance(ps, now, rate, max_rate) or frontier is not None):
            # Too soon after the previous heartbeat: no credit and no write; the stretch stays for the next one
            # to credit. (A jump ahead where skipping is not allowed would only be clamped back to the anchor; a
            # jump back, or ahead where allowed, moves the anchor as at any time.)
            return _answer(lp, duration, "early", ps.last_position)
    _start(enrolment, lp, now)
    credited, reason = 0.0, "started"
    if ps is None:
        anchor = position
        if frontier is not None and anchor > frontier + 1e-6:
            anchor, reason = frontier, "ahead"
        recent = enrolment.credited_wall_until is not None and (
            (now - enrolment.credited_wall_until).total_seconds() < MAX_GAP
        )
        ps = PlaybackSession(
            enrolment_id=enrolment.id,
            lesson_id=lesson.id,
            token=token,
            started_at=now,
            last_wall=now,
            last_position=anchor,
            playing=playing,
            credited_seconds=0.0,
            # another session credited a moment ago (a reload, a second tab): no second helping of slack
            slack_seconds=0.0 if recent else SESSION_SLACK,
        )
        db.session.add(ps)
        position = anchor
    else:
        old = ps.last_position
        elapsed = min(MAX_GAP, max(0.0, (now - ps.last_wall).total_seconds()))
        delta = position - old
        if delta < -0.5:
            reason = "backwards"
        elif delta <= 0:
            reason = "credited"
        elif delta <= elapsed * min(rate, max_rate) + TOLERANCE:
            reason = "credited"
        elif rate > max_rate and delta <= elapsed * rate + TOLERANCE:
            reason = "capped"  # played faster than allowed: no more than max_rate × real time
        else:
            reason = "seek"
        anchor = position
        if reason in ("credited", "capped") and delta > 0:
            # Real time not yet credited to this enrolment by any tab.
            since = ps.last_wall
            other_tab = enrolment.credited_wall_until is not None and enrolment.credited_wall_until > since
            if other_tab:
                since = enrolment.credited_wall_until
            real = min(MAX_GAP, max(0.0, (now - since).total_seconds()))
            # jitter slack only for a single tab playing within the allowed speed
            slack = TOLERANCE if not other_tab and reason == "credited" else 0.0
            step = min(real * max_rate + slack, elapsed * max_rate + slack)
            budget = _budget(ps, now, max_rate)
            allowed = max(0.0, min(delta, step, budget))
            if allowed <= 1e-9:
                reason = "other-tab" if other_tab else "budget"
                allowed = 0.0
            elif allowed < delta - 1e-6 and reason == "credited":
                reason = "other-tab" if other_tab else ("budget" if budget < step else "capped")
            if allowed > 0:
                end = old + allowed
                ps.credited_seconds = (ps.credited_seconds or 0.0) + allowed
                merged, credited, covered = _add_and_cover(lp.intervals, old, end)
                if credited > 0:
                    # Only what is newly covered touches the progress and the enrolment: re-watching a
                    # stretch already credited rewrites neither (and leaves its real time to other tabs).
                    lp.intervals, lp.credited_seconds = merged, covered
                    lp.furthest_position = max(lp.furthest_position or 0.0, end)
                    enrolment.credited_seconds = (enrolment.credited_seconds or 0.0) + credited
                    enrolment.credited_wall_until = now
                if frontier is not None:
                    frontier = max(frontier, end)
        if frontier is not None and anchor > frontier + 1e-6:
            # what was not credited (a jump, a stretch beyond the budget) is not skipped over either
            anchor = frontier
        ps.last_wall, ps.last_position, ps.playing = now, anchor, playing
        position = anchor
    lp.last_position = position
    if lp.credited_seconds is None:
        lp.credited_seconds = covered_seconds(lp.intervals or [])
    completed = lp.status == COMPLETED
    waits = None
    if not completed and lp.credited_seconds >= float(course.completion_threshold or 0.9) * duration - 1e-6:
        complete_lesson(enrolment, lesson, now=now)
        completed = True
        if enrolment.status != COMPLETED:  # every lesson done, yet the course overlaps another training
            waits = settle_course(enrolment, now=now)
    else:
        _write_changes(ps, lp, enrolment)
    db.session.flush()  # what is left: a new playback session or progress row, a completion
    return HeartbeatResult(
        credited,
        lp.credited_seconds,
        duration,
        lp.furthest_position,
        completed,
        reason,
        round(position, 3),
        waits,
    )


def _allowance(ps: PlaybackSession, now: dt.datetime, rate: float, max_rate: float) -> float:
    """How far a continuous heartbeat of this session may have moved since its previous one."""
    elapsed = min(MAX_GAP, max(0.0, (now - ps.last_wall).total_seconds()))
    return elapsed * min(rate, max_rate) + TOLERANCE


def _budget(ps: PlaybackSession, now: dt.datetime, max_rate: float) -> float:
    """What this playback session may still credit: wall time since it started × max speed + its slack − used."""
    started = ps.started_at or ps.last_wall
    wall = max(0.0, (now - started).total_seconds())
    return wall * max_rate + float(ps.slack_seconds or 0.0) - float(ps.credited_seconds or 0.0)


def _answer(lp: LessonProgress, duration: float, reason: str, position: float) -> HeartbeatResult:
    """A heartbeat's answer that changes nothing (an early heartbeat)."""
    covered = lp.credited_seconds if lp.credited_seconds is not None else covered_seconds(lp.intervals or [])
    return HeartbeatResult(
        0.0,
        covered,
        duration,
        lp.furthest_position or 0.0,
        lp.status == COMPLETED,
        reason,
        round(position, 3),
    )


def _write_changes(*objs: object) -> None:
    """Send the changed columns of these rows, each with one prepared UPDATE, and mark them clean.

    What the session's flush would send for a heartbeat (a few columns of the playback session, the progress
    and the enrolment), without the unit of work's bookkeeping: on the hottest write of the product that was
    half of the request's own CPU time. Rows not yet inserted, or with anything but plain columns changed, are
    left to the flush. Public API only: the changes are read from the attributes' history, and the rows are
    marked clean as the flush would (``_settle``).
    """
    conn = None
    for obj in objs:
        if obj is None:
            continue
        state = sa_inspect(obj)
        if not state.persistent or not state.modified:
            continue
        # as the flush: an attribute set to the value it had is not written
        unmodified = state.unmodified
        changed = tuple(
            sorted(
                key
                for key in state.mapper.attrs.keys()
                if key not in unmodified and get_history(obj, key).has_changes()
            )
        )
        if not changed:
            _settle(obj)
            continue
        prepared = _update_stmt(type(obj), changed)
        if prepared is None:
            continue
        stmt, defaulted = prepared
        conn = conn or db.session.connection()
        conn.execute(stmt, {"_pk": state.identity[0], **{f"v_{k}": state.dict.get(k) for k in changed}})
        _settle(obj, defaulted)  # as the flush does after its UPDATE


def _settle(obj: object, stale: tuple[str, ...] = ()) -> None:
    """Mark a row clean after its UPDATE was sent: the session forgets its changes and keeps its values.

    ``Session.expire`` is the public way to drop a row's pending changes (and its place among the modified
    rows, so that the next flush has nothing to do); the values it held, which are now the stored ones, are put
    back without history (``set_committed_value``). The ``stale`` ones (set by a column's onupdate) stay
    expired: read again only if asked.
    """
    state = sa_inspect(obj)
    held = {
        key: state.dict[key] for key in state.mapper.attrs.keys() if key in state.dict and key not in stale
    }
    db.session.expire(obj)
    for key, value in held.items():
        set_committed_value(obj, key, value)


@functools.cache
def _update_stmt(cls: type, keys: tuple[str, ...]) -> tuple[Any, tuple[str, ...]] | None:
    """UPDATE <table> SET <keys> WHERE id = :_pk, and the attributes its columns' onupdate defaults set.

    None when a key is not a plain column of the table (the flush handles those).
    """
    mapper = sa_inspect(cls)
    table = mapper.local_table
    values = {}
    for key in keys:
        prop = mapper.attrs.get(key)
        columns = getattr(prop, "columns", None)
        if not columns or len(columns) != 1 or columns[0].table is not table:
            return None
        values[columns[0].name] = bindparam(f"v_{key}", type_=columns[0].type)
    if len(mapper.primary_key) != 1:
        return None
    defaulted = tuple(
        mapper.get_property_by_column(c).key
        for c in table.columns
        if c.onupdate is not None and c.name not in values
    )
    return table.update().where(mapper.primary_key[0] == bindparam("_pk")).values(values), defaulted


def _add_and_cover(
    intervals: Iterable[Sequence[float]] | None, start: float, end: float
) -> tuple[list[list[float]], float, float]:
    """``add_interval`` that also returns the covered total: (merged, newly covered seconds, covered)."""
    before = list(intervals or [])
    merged = merge_intervals([*before, [start, end]])
    covered = round(sum(b - a for a, b in merged), 3)
    return merged, max(0.0, round(covered - covered_seconds(before), 3)), covered


@functools.cache
def _progress_and_playback_stmt() -> Select:
    """Built once: a heartbeat runs it every few seconds per viewer (bound parameters, one cached compile)."""
    return (
        select(LessonProgress, PlaybackSession)
        .outerjoin(
            PlaybackSession,
            and_(
                PlaybackSession.enrolment_id == LessonProgress.enrolment_id,
                PlaybackSession.lesson_id == LessonProgress.lesson_id,
                PlaybackSession.token == bindparam("token"),
            ),
        )
        .where(
            LessonProgress.enrolment_id == bindparam("enrolment_id"),
            LessonProgress.lesson_id == bindparam("lesson_id"),
        )
    )


def _progress_and_playback(
    enrolment: Enrolment, lesson: Lesson, token: str
) -> tuple[LessonProgress, PlaybackSession | None]:
    """The lesson progress (created on demand, not flushed) and this tab's playback session, in one query."""
    row = db.session.execute(
        _progress_and_playback_stmt(),
        {"enrolment_id": enrolment.id, "lesson_id": lesson.id, "token": token},
    ).first()
    if row is not None:
        return row[0], row[1]
    # The first heartbeat of this lesson (rare): no progress row yet; a playback session cannot exist
    # without one, but look it up rather than assume.
    ps = db.session.scalar(
        select(PlaybackSession).where(
            PlaybackSession.enrolment_id == enrolment.id,
            PlaybackSession.lesson_id == lesson.id,
            PlaybackSession.token == token,
        )
    )
    return _ensure_progress(None, ps, enrolment, lesson)


def _ensure_progress(
    lp: LessonProgress | None,
    ps: PlaybackSession | None,
    enrolment: Enrolment | None = None,
    lesson: Lesson | None = None,
) -> tuple[LessonProgress, PlaybackSession | None]:
    if lp is not None:
        return lp, ps
    assert enrolment is not None and lesson is not None
    lp = _new_progress(enrolment, lesson)
    db.session.add(lp)  # inserted by the heartbeat's flush
    return lp, ps


def mark_read(enrolment: Enrolment, lesson: Lesson, *, now: dt.datetime | None = None) -> LessonProgress:
    """Complete a text lesson, or a document lesson once its minimum reading time has passed."""
    _check_lesson(enrolment, lesson)
    now = now or utcnow()
    lp = progress_for(enrolment, lesson)
    assert lp is not None
    if lesson.kind not in (TEXT, DOCUMENT, LINK):
        raise DomainError(_("This lesson is completed by watching or by passing its exam."))
    _start(enrolment, lp, now)
    if lp.status == COMPLETED:
        return lp
    if lesson.kind == DOCUMENT:
        assert lp.opened_at is not None
        read = (now - lp.opened_at).total_seconds()
        need = int(enrolment.course.min_reading_seconds or 0)
        if read + 0.5 < need:
            raise DomainError(_("Keep reading: %(n)s seconds left.", n=int(need - read) + 1))
        enrolment.credited_seconds = (enrolment.credited_seconds or 0.0) + min(read, MAX_DOCUMENT_CREDIT)
    complete_lesson(enrolment, lesson, now=now)
    return lp


def complete_lesson(
    enrolment: Enrolment, lesson: Lesson, *, now: dt.datetime | None = None, actor: User | None = None
) -> TrainingRecord | None:
    """Mark a lesson complete; return the training record when that completes the course."""
    _check_lesson(enrolment, lesson)
    now = now or utcnow()
    lp = progress_for(enrolment, lesson)
    assert lp is not None
    _start(enrolment, lp, now)
    if lp.status != COMPLETED:
        lp.status, lp.completed_at = COMPLETED, now
        db.session.flush()
    return complete_course_if_done(enrolment, now=now, actor=actor)


def required_lessons(course_id: int) -> list[Lesson]:
    """The lessons that must be completed (every lesson if none is marked required)."""
    lessons = list(db.session.scalars(select(Lesson).where(Lesson.course_id == course_id)))
    return [x for x in lessons if x.required] or lessons


def complete_course_if_done(
    enrolment: Enrolment, *, now: dt.datetime | None = None, actor: User | None = None
) -> TrainingRecord | None:
    """Complete the enrolment when all required lessons are complete: one ledger record, one signal."""
    if enrolment.status == COMPLETED:
        return None
    needed = {x.id for x in required_lessons(enrolment.course_id)}
    if not needed:
        return None
    done = set(
        db.session.scalars(
            select(LessonProgress.lesson_id).where(
                LessonProgress.enrolment_id == enrolment.id, LessonProgress.status == COMPLETED
            )
        )
    )
    if not needed <= done:
        return None
    if course_waits(enrolment, now=now) is not None:
        return None  # recorded later, once the other training is over (``settle_course``)
    return complete_enrolment(enrolment, now=now, actor=actor)


def _completion_span(enrolment: Enrolment, now: dt.datetime) -> ledger.Span | None:
    course = enrolment.course
    values = ledger.prepare_fact(
        kind="course", topic=course.title, hours=course.hours or Decimal(0), completed_at=now
    )
    return ledger.span_of(enrolment.person_id, f"course_enrolment:{enrolment.id}", values)


def course_waits(enrolment: Enrolment, *, now: dt.datetime | None = None) -> object | None:
    """Why the course cannot be recorded as completed at ``now``, or None.

    A person attends one training at a time (``ledger.ensure_no_overlap``): a course finished while the person
    is in a classroom session or toolbox talk they signed in to would overlap it. The lessons stay done, and
    the course is recorded once that training is over (the course and lesson pages try again,
    ``settle_course``). The reason is a translatable message.
    """
    try:
        ledger.ensure_no_overlap([_completion_span(enrolment, now or utcnow())])
    except Conflict as exc:
        return exc.message
    return None


def settle_course(enrolment: Enrolment, *, now: dt.datetime | None = None) -> object | None:
    """Record the course when all its required lessons are done and nothing overlaps it (a completion that
    had to wait); return why it still waits, or None. Writes only when it records."""
    if enrolment.status == COMPLETED:
        return None
    now = now or utcnow()
    needed = {x.id for x in required_lessons(enrolment.course_id)}
    done = {lp.lesson_id for lp in enrolment.progress if lp.status == COMPLETED}
    if not needed or not needed <= done:
        return None
    waits = course_waits(enrolment, now=now)
    if waits is None:
        complete_enrolment(enrolment, now=now)
    return waits


def complete_enrolment(
    enrolment: Enrolment, *, now: dt.datetime | None = None, actor: User | None = None
) -> TrainingRecord:
    """Write the course's training record (source = the enrolment, so it never doubles) and send the signal."""
    now = now or utcnow()
    course = enrolment.course
    person = enrolment.person
    result = ledger.record(
        person,
        kind="course",
        topic=course.title,
        category=course.category,
        hours=course.hours or Decimal(0),
        course_id=course.id,
        source=f"course_enrolment:{enrolment.id}",
        completed_at=now,
        evidence={
            "enrolment_id": enrolment.id,
            "credited_seconds": round(enrolment.credited_seconds or 0, 1),
        },
        actor=actor,
    )
    first = enrolment.status != COMPLETED
    enrolment.status, enrolment.completed_at, enrolment.record_id = COMPLETED, now, result.record.id
    db.session.flush()
    if first and result.outcome != "unchanged":
        signals.course_completed.send(enrolment, person=person, course=course, record=result.record)
    return result.record


# ------------------------------------------------------------------------------------------------ figures


def lesson_fraction(lesson: Lesson, lp: LessonProgress | None, threshold: float) -> float:
    """How far a lesson is toward completion, 0..1."""
    if lp is None:
        return 0.0
    if lp.status == COMPLETED:
        return 1.0
    if lesson.kind == VIDEO and lesson.duration:
        return min(0.99, (lp.credited_seconds or 0) / (max(0.01, threshold) * lesson.duration))
    return 0.0


def enrolment_fraction(
    enrolment: Enrolment,
    lessons: list[Lesson] | None = None,
    progress: dict[int, LessonProgress] | None = None,
) -> float:
    """The share of the required work done (1.0 once the course is completed)."""
    if enrolment.status == COMPLETED:
        return 1.0
    if lessons is None:
        lessons = required_lessons(enrolment.course_id)
    if not lessons:
        return 0.0
    if progress is None:
        progress = {lp.lesson_id: lp for lp in enrolment.progress}
    threshold = float(enrolment.course.completion_threshold or 0.9)
    return sum(lesson_fraction(x, progress.get(x.id), threshold) for x in lessons) / len(lessons)
