"""Sitting an exam: the person's standing, starting an attempt (drawing its paper), saving answers,
submitting (by the learner, at the deadline, by the periodic sweep).

Attempt safety, in short:
- one open attempt per exam and person is a unique partial index; ``start_attempt`` inserts in a savepoint and, on
  a conflict, returns the attempt the concurrent request made;
- saves lock the attempt row, check it is open and within deadline + grace, and update an answer only when the
  sequence number is newer (a conditional UPDATE), so a stale save never overwrites a newer one;
- submitting is a conditional UPDATE ... WHERE status = 'open': only one request wins and grades.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from lms.core import signals
from lms.core.db import db, utcnow
from lms.core.errors import Conflict, DomainError, NotFound
from lms.org.models import Person, User
from quizzes import grading
from quizzes.exams import extension_for, rule_query
from quizzes.key_policy import withheld_questions
from quizzes.models import (
    GRADED,
    MODE_EXAM,
    MODE_PRACTICE,
    OPEN,
    PUBLISHED,
    RULE_FIXED,
    SUBMITTED,
    Attempt,
    AttemptAnswer,
    AttemptQuestion,
    Exam,
    ExamExtension,
    Question,
    QuestionVersion,
)
from quizzes.types import _, get_type

GRACE = dt.timedelta(seconds=5)


# ---------------------------------------------------------------- standing


def open_attempt(exam_id: int, person_id: int) -> Attempt | None:
    return db.session.scalar(
        select(Attempt).where(
            Attempt.exam_id == exam_id, Attempt.person_id == person_id, Attempt.status == OPEN
        )
    )


def attempts_used(exam_id: int, person_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Attempt)
            .where(Attempt.exam_id == exam_id, Attempt.person_id == person_id)
        )
        or 0
    )


def attempts_left(exam: Exam, person_id: int) -> int | None:
    """Attempts the person may still start (None: unlimited)."""
    if exam.mode == MODE_PRACTICE or exam.attempts_allowed is None:
        return None
    ext = extension_for(exam.id, person_id)
    allowed = exam.attempts_allowed + (ext.extra_attempts if ext else 0)
    return max(allowed - attempts_used(exam.id, person_id), 0)


def availability(exam: Exam, person_id: int, now: dt.datetime | None = None) -> str | None:
    """Why the person cannot start an attempt now (a message), or None."""
    now = now or utcnow()
    if exam.status != PUBLISHED:
        return _("This exam is not open.")
    if exam.open_at and now < exam.open_at:
        return _("This exam opens later.")
    if exam.close_at and now >= exam.close_at:
        return _("This exam has closed.")
    left = attempts_left(exam, person_id)
    if left is not None and left <= 0:
        return _("You have used all your attempts.")
    return None


def has_passed(exam_id: int, person_id: int) -> bool:
    """Whether the person has a graded, passed attempt of the exam."""
    return bool(
        db.session.scalar(
            select(func.count())
            .select_from(Attempt)
            .where(
                Attempt.exam_id == exam_id,
                Attempt.person_id == person_id,
                Attempt.status == GRADED,
                Attempt.passed.is_(True),
            )
        )
    )


def person_result(exam: Exam, person_id: int) -> dict[str, Any]:
    """The person's standing: attempts used and left, the counting attempt, whether passed."""
    counting = grading.counting_attempt(exam, person_id)
    used = attempts_used(exam.id, person_id)
    left = attempts_left(exam, person_id)
    return {
        "attempts_used": used,
        "attempts_left": left,
        "counting": counting,
        "passed": bool(counting and counting.passed),
        "score": counting.score if counting else None,
        "open": open_attempt(exam.id, person_id),
    }


def learner_exams(enterprise_id: int, person_id: int) -> list[dict[str, Any]]:
    """Published exams and practices of the enterprise with the person's standing in each."""
    exams = list(
        db.session.scalars(
            select(Exam)
            .where(Exam.enterprise_id == enterprise_id, Exam.status == PUBLISHED)
            .order_by(Exam.mode, Exam.close_at.is_(None), Exam.close_at, Exam.title)
        )
    )
    return [{"exam": e, **person_result(e, person_id), "problem": availability(e, person_id)} for e in exams]


def my_attempt(attempt_id: int, person_id: int | None) -> Attempt:
    """Load the acting person's own attempt, else NotFound (someone else's attempt is never said to exist)."""
    # The paper, the result and the state read every question with its version and answer: three statements
    # in all instead of two per question (issue 20).
    attempt = db.session.get(
        Attempt,
        attempt_id,
        options=[
            selectinload(Attempt.questions).options(
                selectinload(AttemptQuestion.version), selectinload(AttemptQuestion.answer)
            )
        ],
    )
    if attempt is None or person_id is None or attempt.person_id != person_id:
        raise NotFound(_("Attempt not found."))
    return attempt


# ---------------------------------------------------------------- the attempt


def _deadline(exam: Exam, started: dt.datetime, ext: ExamExtension | None) -> dt.datetime | None:
    ends = []
    if exam.time_limit_minutes and exam.mode == MODE_EXAM:
        ends.append(
            started + dt.timedelta(minutes=exam.time_limit_minutes + (ext.extra_minutes if ext else 0))
        )
    if exam.close_at:
        ends.append(exam.close_at + dt.timedelta(minutes=ext.extra_minutes if ext else 0))
    return min(ends) if ends else None


def draw_paper(
    exam: Exam, person_id: int, rng: random.Random, now: dt.datetime | None = None
) -> list[tuple[Question, Decimal]]:
    # Practice shows keys at once: it never offers a question an exam still open to the person may draw.
    held = withheld_questions(person_id, exam.enterprise_id, now) if exam.mode == MODE_PRACTICE else set()
    seen = set(
        db.session.scalars(
            select(AttemptQuestion.question_id)
            .join(Attempt)
            .where(Attempt.exam_id == exam.id, Attempt.person_id == person_id)
        )
    )
    chosen: list[tuple[Question, Decimal]] = []
    taken: set[int] = set()
    for rule in exam.rules:
        if rule.kind == RULE_FIXED:
            q = rule.question
            if q is None or q.status != PUBLISHED or q.id in taken or q.id in held:
                continue
            group = [q]
        else:
            drawable = [i for i in db.session.scalars(rule_query(rule, exam.enterprise_id)) if i not in taken]
            ids = [i for i in drawable if i not in held]
            fresh = [i for i in ids if i not in seen]
            old = [i for i in ids if i in seen]
            rng.shuffle(fresh)
            rng.shuffle(old)
            pick = (fresh + old)[
                : rule.count
            ]  # a retake draws questions not seen before where the bank allows
            # A practice short of questions because some are held back draws what it may (none: refused below).
            if len(pick) < rule.count and not (held and len(drawable) >= rule.count):
                raise DomainError(
                    _(
                        "The paper cannot be drawn: rule %(n)d needs %(c)d questions but %(a)d are "
                        "available. Tell your trainer.",
                        n=rule.position,
                        c=rule.count,
                        a=len(ids),
                    )
                )
            by_id = {q.id: q for q in db.session.scalars(select(Question).where(Question.id.in_(pick)))}
            group = [by_id[i] for i in pick]
        if exam.shuffle_questions:
            rng.shuffle(group)
        for q in group:
            taken.add(q.id)
            chosen.append((q, Decimal(rule.points) if rule.points is not None else Decimal(q.points)))
    if not chosen:
        if held:
            raise DomainError(
                _(
                    "No practice questions are available to you now: their answers are held back while an "
                    "exam that uses them is open to you."
                )
            )
        raise DomainError(_("The paper has no questions yet."))
    return chosen


def start_attempt(
    exam: Exam, person: Person, *, now: dt.datetime | None = None, rng: random.Random | None = None
) -> Attempt:
    """Return the person's open attempt, or start one: questions frozen, deadline set by the server.

    Concurrent starts make one attempt: the unique partial index on open attempts refuses the second insert,
    which then returns the attempt the first request made.
    """
    now = now or utcnow()
    if person.enterprise_id != exam.enterprise_id:
        raise NotFound(_("Exam not found."))
    existing = open_attempt(exam.id, person.id)
    if existing is not None:
        if not is_overdue(existing, now):
            return existing
        submit_attempt(existing, now=now, auto=True)
    problem = availability(exam, person.id, now)
    if problem:
        raise DomainError(problem)
    rng = rng or random.Random()
    paper = draw_paper(exam, person.id, rng, now)
    ext = extension_for(exam.id, person.id)
    number = (
        db.session.scalar(
            select(func.max(Attempt.number)).where(Attempt.exam_id == exam.id, Attempt.person_id == person.id)
        )
        or 0
    ) + 1
    # Only the ids of the current versions: the paper page loads the versions it shows (issue 20).
    version_ids = dict(
        db.session.execute(
            select(QuestionVersion.question_id, QuestionVersion.id)
            .join(Question, Question.id == QuestionVersion.question_id)
            .where(Question.id.in_([q.id for q, _p in paper]), QuestionVersion.number == Question.version)
        ).all()
    )
    try:
        with db.session.begin_nested():
            attempt = Attempt(
                exam_id=exam.id,
                person_id=person.id,
                number=number,
                started_at=now,
                deadline=_deadline(exam, now, ext),
                status=OPEN,
                seq=0,
                max_score=sum((p for _q, p in paper), Decimal("0")),
            )
            db.session.add(attempt)
            db.session.flush()
            rows = []
            for pos, (q, pts) in enumerate(paper, start=1):
                order = None
                if get_type(q.type).has_options:
                    order = list(range(len(q.options)))
                    if exam.shuffle_options:
                        rng.shuffle(order)
                rows.append(
                    {
                        "attempt_id": attempt.id,
                        "question_version_id": version_ids[q.id],
                        "question_id": q.id,
                        "position": pos,
                        "option_order": order,
                        "points": pts,
                        "flagged": False,
                    }
                )
            # Two statements for the whole paper (the ORM sent one INSERT per row on SQLite, 40 for 20
            # questions): the questions with their ids back (RETURNING, matched by position: asking for the
            # parameters' order makes SQLite go row by row again), then their empty answers.
            ids = db.session.execute(
                insert(AttemptQuestion).returning(AttemptQuestion.id, AttemptQuestion.position), rows
            ).all()
            db.session.execute(
                insert(AttemptAnswer),
                [
                    {"attempt_question_id": i, "answer": None, "seq": 0}
                    for i, _pos in sorted(ids, key=lambda r: r[1])
                ],
            )
            db.session.expire(attempt, ["questions"])
    except IntegrityError:
        # Another request started one in the meantime (unique open attempt / attempt number): use it.
        existing = open_attempt(exam.id, person.id)
        if existing is not None:
            return existing
        raise Conflict(_("Another attempt was started at the same time. Reload the page.")) from None
    return attempt


def is_overdue(attempt: Attempt, now: dt.datetime | None = None) -> bool:
    """Whether an open attempt is past its deadline and the grace period."""
    now = now or utcnow()
    return attempt.status == OPEN and attempt.deadline is not None and now > attempt.deadline + GRACE


def seconds_left(attempt: Attempt, now: dt.datetime | None = None) -> int | None:
    if attempt.deadline is None:
        return None
    return max(int((attempt.deadline - (now or utcnow())).total_seconds()), 0)


def close_if_overdue(attempt: Attempt, now: dt.datetime | None = None) -> bool:
    """Submit an open attempt left past its deadline with what was saved; return whether it did."""
    if is_overdue(attempt, now):
        submit_attempt(attempt, now=now, auto=True)
        return True
    return False


def attempt_question(attempt: Attempt, aq_id: int) -> AttemptQuestion:
    aq = db.session.execute(
        select(AttemptQuestion)
        .options(joinedload(AttemptQuestion.version))
        .where(AttemptQuestion.id == aq_id, AttemptQuestion.attempt_id == attempt.id)
    ).scalar_one_or_none()
    if aq is None:
        raise NotFound(_("Question not found."))
    return aq


def _lock_open(attempt: Attempt, now: dt.datetime, *, locked: bool = False) -> None:
    """Refuse unless the attempt is open and in time; ``locked``: the caller already loaded it FOR UPDATE."""
    if not locked:
        db.session.refresh(
            attempt, with_for_update=True
        )  # PostgreSQL: waits for a concurrent submit to finish
    if attempt.status != OPEN:
        raise Conflict(_("This attempt has been submitted; the answer was not saved."))
    if is_overdue(attempt, now):
        raise Conflict(
            _(
                "Time is up: answers can no longer be saved. Your attempt is submitted with the answers "
                "saved before the deadline."
            )
        )


def lock_own_attempt(attempt_id: int, person_id: int | None, enterprise_id: int | None) -> Attempt:
    """The acting person's attempt in the acting enterprise, locked for an answer (one statement), else NotFound.

    For the autosave: what ``my_attempt`` and ``save_answer``'s lock would read in three statements.
    """
    row = db.session.execute(
        select(Attempt, Exam.enterprise_id)
        .join(Exam, Exam.id == Attempt.exam_id)
        .where(Attempt.id == attempt_id)
        .with_for_update(of=Attempt)
        .execution_options(populate_existing=True)
    ).first()
    if row is None or person_id is None or row[0].person_id != person_id or row[1] != enterprise_id:
        raise NotFound(_("Attempt not found."))
    return row[0]


def save_answer(
    attempt: Attempt,
    aq_id: int,
    answer: Any,
    seq: int,
    *,
    now: dt.datetime | None = None,
    locked: bool = False,
) -> dict[str, Any]:
    """Save one answer if ``seq`` is newer than the saved one; refuse after the deadline (plus grace).

    ``locked``: the attempt was loaded by ``lock_own_attempt`` in this transaction (its row is current and held).
    """
    now = now or utcnow()
    _lock_open(attempt, now, locked=locked)
    aq = attempt_question(attempt, aq_id)
    try:
        value = get_type(aq.version.type).coerce_answer(answer, len(aq.version.options or []))
    except (TypeError, ValueError):
        raise DomainError(_("This answer cannot be saved.")) from None
    seq = int(seq)
    res = db.session.execute(
        update(AttemptAnswer)
        .where(AttemptAnswer.attempt_question_id == aq.id, AttemptAnswer.seq < seq)
        .values(answer=value, seq=seq, saved_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.seq < seq)
        .values(seq=seq)
        .execution_options(synchronize_session=False)
    )
    # The row is locked, so its new seq is known without reading it back.
    set_committed_value(attempt, "seq", max(attempt.seq or 0, seq))
    db.session.expire(aq)
    return {"ok": True, "stale": res.rowcount == 0, "seq": attempt.seq, "saved_at": now.isoformat() + "Z"}


def set_flag(attempt: Attempt, aq_id: int, flagged: bool, *, now: dt.datetime | None = None) -> None:
    _lock_open(attempt, now or utcnow())
    aq = attempt_question(attempt, aq_id)
    aq.flagged = bool(flagged)
    db.session.flush()


def submit_attempt(
    attempt: Attempt, *, now: dt.datetime | None = None, auto: bool = False, actor: User | None = None
) -> bool:
    """Submit and grade an open attempt once; a second (concurrent or repeated) submit does nothing.

    Return whether this call submitted it.
    """
    now = now or utcnow()
    submitted_at = min(now, attempt.deadline + GRACE) if auto and attempt.deadline else now
    res = db.session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.status == OPEN)
        .values(status=SUBMITTED, submitted_at=submitted_at, auto_submitted=auto)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(attempt)
    if res.rowcount != 1:
        return False
    grading.grade_attempt(attempt, reason="auto_submit" if auto else "submit", actor=actor)
    exam = db.session.get(Exam, attempt.exam_id)
    signals.exam_submitted.send(attempt, person=db.session.get(Person, attempt.person_id), exam=exam)
    return True


def close_overdue(now: dt.datetime | None = None, *, limit: int = 1000) -> int:
    """Submit every open attempt past its deadline (the periodic sweep); return how many."""
    now = now or utcnow()
    ids = list(
        db.session.scalars(
            select(Attempt.id)
            .where(Attempt.status == OPEN, Attempt.deadline.is_not(None), Attempt.deadline < now - GRACE)
            .limit(limit)
        )
    )
    n = 0
    for attempt_id in ids:
        attempt = db.session.get(Attempt, attempt_id)
        if attempt is not None and submit_attempt(attempt, now=now, auto=True):
            n += 1
    return n
