"""Grade attempts (automatic, by hand, regrade after a correction), keep the history, feed the ledger.

The ledger source is one per exam and person, ``exam:<exam_id>:person:<person_id>``, not one per attempt: the
record always reflects the attempt that counts (highest or last, per the exam), so a later better attempt
replaces the record instead of adding a second pass, and a regrade that turns a pass into a fail voids it.
The record's evidence names the attempt.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import selectinload

from lms.core import signals
from lms.core.db import db, utcnow
from lms.core.errors import DomainError
from lms.ledger import services as ledger
from lms.org.models import Person, User
from quizzes.models import (
    COUNTS_LAST,
    FINISHED,
    GRADED,
    MODE_EXAM,
    PASS_PERCENT,
    PENDING_REVIEW,
    Attempt,
    AttemptAnswer,
    AttemptGrading,
    AttemptQuestion,
    Exam,
    MistakeEntry,
    Question,
    QuestionBank,
    QuestionVersion,
)
from quizzes.types import _, get_type

CENT = Decimal("0.01")


def ledger_source(exam_id: int, person_id: int) -> str:
    """The ledger source of an exam's record for one person."""
    return f"exam:{exam_id}:person:{person_id}"


def passes(exam: Exam, score: Decimal, max_score: Decimal) -> bool:
    """Whether ``score`` reaches the exam's pass mark (points, or percent of ``max_score``)."""
    if exam.pass_mark_kind == PASS_PERCENT:
        if max_score <= 0:
            return False
        return score * 100 >= Decimal(exam.pass_mark) * max_score
    return score >= Decimal(exam.pass_mark)


def _load_questions(attempt: Attempt) -> list[AttemptQuestion]:
    return list(
        db.session.scalars(
            select(AttemptQuestion)
            .where(AttemptQuestion.attempt_id == attempt.id)
            .options(selectinload(AttemptQuestion.version), selectinload(AttemptQuestion.answer))
            .order_by(AttemptQuestion.position)
        )
    )


def _partial_by_question(question_ids: list[int]) -> dict[int, bool]:
    rows = db.session.execute(
        select(Question.id, QuestionBank.partial_credit)
        .join(QuestionBank)
        .where(Question.id.in_(question_ids))
    )
    return {qid: bool(p) for qid, p in rows}


def _latest_keys(question_ids: list[int]) -> dict[int, QuestionVersion]:
    rows = db.session.scalars(
        select(QuestionVersion)
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(Question.id.in_(question_ids), QuestionVersion.number == Question.version)
    )
    return {v.question_id: v for v in rows}


def grade_attempt(
    attempt: Attempt,
    *,
    reason: str,
    actor: User | None = None,
    latest_keys: bool = False,
    question_id: int | None = None,
) -> Attempt:
    """(Re)compute every answer's score and the attempt's total; record the grading; sync the ledger.

    With ``latest_keys`` the key of each question's current version is used where it still fits the version the
    attempt saw (same type and number of options): that is how a corrected question is regraded.
    """
    aqs = _load_questions(attempt)
    qids = [aq.question_id for aq in aqs]
    partial = _partial_by_question(qids)
    latest = _latest_keys(qids) if latest_keys else {}
    previous = attempt.score
    total = Decimal("0")
    max_score = Decimal("0")
    pending = False
    details: dict[str, Any] = {}
    wrong: list[int] = []
    for aq in aqs:
        ans = aq.answer
        version = aq.version
        qtype = get_type(version.type)
        key, weights = version.key, version.weights
        if question_id is None or aq.question_id == question_id:
            newer = latest.get(aq.question_id)
            if (
                newer is not None
                and newer.type == version.type
                and len(newer.options or []) == len(version.options or [])
            ):
                key, weights = newer.key, newer.weights
        max_score += aq.points
        if qtype.auto_graded or qtype.is_blank(ans.answer):
            # Weights (Moodle's fractions) give partial credit per option / accepted answer where the question has them.
            fraction = qtype.grade(ans.answer, key, partial.get(aq.question_id, False), weights)
            ans.score = (aq.points * Decimal(str(fraction))).quantize(CENT, ROUND_HALF_UP)
            ans.correct = fraction >= 1.0
            if not qtype.auto_graded:
                ans.graded_at = ans.graded_at or utcnow()
        elif ans.graded_at is None:
            pending = True
        if ans.correct is False:
            wrong.append(aq.question_id)
        total += ans.score or Decimal("0")
        details[str(aq.id)] = str(ans.score) if ans.score is not None else None
    attempt.score = total.quantize(CENT)
    attempt.max_score = max_score.quantize(CENT)
    exam = db.session.get(Exam, attempt.exam_id)
    if pending:
        attempt.status = PENDING_REVIEW
        attempt.passed = None
    else:
        attempt.status = GRADED
        attempt.passed = passes(exam, attempt.score, attempt.max_score)
    db.session.add(
        AttemptGrading(
            attempt_id=attempt.id,
            reason=reason,
            score=attempt.score,
            max_score=attempt.max_score,
            passed=attempt.passed,
            previous_score=previous,
            details=details,
            actor_id=actor.id if actor else None,
        )
    )
    db.session.flush()
    if reason in ("submit", "auto_submit"):
        _record_mistakes(attempt.person_id, wrong)
    if attempt.status == GRADED:
        sync_ledger(exam, attempt.person_id, actor=actor)
    return attempt


def _record_mistakes(person_id: int, question_ids: list[int]) -> None:
    if not question_ids:
        return
    now = utcnow()
    existing = {
        m.question_id: m
        for m in db.session.scalars(
            select(MistakeEntry).where(
                MistakeEntry.person_id == person_id, MistakeEntry.question_id.in_(question_ids)
            )
        )
    }
    new = []
    for qid in dict.fromkeys(question_ids):
        entry = existing.get(qid)
        if entry is None:
            new.append({"person_id": person_id, "question_id": qid, "wrong_count": 1, "last_wrong_at": now})
        else:
            entry.wrong_count += 1
            entry.last_wrong_at = now
            entry.mastered_at = None
    db.session.flush()
    if new:  # one INSERT for all (the ORM sent one per entry on SQLite: a submit with 15 wrong sent 15)
        db.session.execute(insert(MistakeEntry), new)


def counting_attempt(exam: Exam, person_id: int) -> Attempt | None:
    """The graded attempt that counts for ``person_id`` (highest score, or the last one, per the exam)."""
    q = select(Attempt).where(
        Attempt.exam_id == exam.id, Attempt.person_id == person_id, Attempt.status == GRADED
    )
    if exam.counts == COUNTS_LAST:
        q = q.order_by(Attempt.submitted_at.desc(), Attempt.number.desc())
    else:
        q = q.order_by(Attempt.score.desc(), Attempt.submitted_at.asc(), Attempt.number.asc())
    return db.session.scalars(q.limit(1)).first()


def sync_ledger(exam: Exam, person_id: int, *, actor: User | None = None) -> Any:
    """Make the person's ledger record for ``exam`` match the counting attempt; send ``exam_passed`` on change."""
    if exam.mode != MODE_EXAM:
        return None
    person = db.session.get(Person, person_id)
    source = ledger_source(exam.id, person_id)
    counting = counting_attempt(exam, person_id)
    if counting is None or not counting.passed:
        ledger.void_source(source, reason="the attempt that counts did not pass", actor=actor)
        return None
    result = ledger.record(
        person,
        kind="exam",
        topic=exam.title,
        source=source,
        hours=exam.hours or 0,
        completed_at=counting.submitted_at,
        category=exam.category,
        course_id=exam.course_id,
        exam_id=exam.id,
        score=counting.score,
        passed=True,
        evidence={
            "attempt_id": counting.id,
            "attempt_number": counting.number,
            "max_score": str(counting.max_score),
        },
        actor=actor,
    )
    if result.outcome != "unchanged":
        signals.exam_passed.send(counting, person=person, exam=exam, record=result.record)
    return result


# ---------------------------------------------------------------- by hand, and after a correction


def grade_answer(
    attempt_question: AttemptQuestion, score: Decimal, *, actor: User, feedback: str | None = None
) -> Attempt:
    """Grade a short answer by hand; when none is left pending, the attempt is graded (and may pass)."""
    attempt = attempt_question.attempt
    if attempt.status not in FINISHED:
        raise DomainError(_("The attempt is still open."))
    score = Decimal(str(score))
    if score < 0 or score > attempt_question.points:
        raise DomainError(
            _("The score must be between 0 and %(p)s.", p=attempt_question.points), field="score"
        )
    ans = attempt_question.answer
    ans.score, ans.correct = score.quantize(Decimal("0.01")), score >= attempt_question.points
    ans.graded_by_id, ans.graded_at, ans.feedback = actor.id, utcnow(), feedback or None
    db.session.flush()
    return grade_attempt(attempt, reason="manual", actor=actor)


def grading_queue(enterprise_id: int, exam_id: int | None = None) -> list[AttemptQuestion]:
    """Short answers waiting for a person to grade them."""
    q = (
        select(AttemptQuestion)
        .join(Attempt)
        .join(Exam)
        .join(AttemptAnswer)
        .where(
            Exam.enterprise_id == enterprise_id,
            Attempt.status == PENDING_REVIEW,
            AttemptAnswer.graded_at.is_(None),
        )
        .order_by(Attempt.submitted_at, AttemptQuestion.position)
    )
    if exam_id:
        q = q.where(Exam.id == exam_id)
    return [aq for aq in db.session.scalars(q) if not get_type(aq.version.type).auto_graded]


def regrade_exam(exam: Exam, *, actor: User | None = None, question_id: int | None = None) -> int:
    """Regrade finished attempts with the questions' current keys (after a correction); history is kept."""
    q = select(Attempt).where(Attempt.exam_id == exam.id, Attempt.status.in_((GRADED, PENDING_REVIEW)))
    if question_id is not None:
        q = q.where(
            Attempt.id.in_(
                select(AttemptQuestion.attempt_id).where(AttemptQuestion.question_id == question_id)
            )
        )
    n = 0
    for attempt in list(db.session.scalars(q)):
        grade_attempt(attempt, reason="regrade", actor=actor, latest_keys=True, question_id=question_id)
        n += 1
    return n
