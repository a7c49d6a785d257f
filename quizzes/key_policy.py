"""When a key may be shown to a learner.

A key (with its explanation and per-answer feedback, and even whether an answer is right: for a true/false
question that is the key) reaches a learner only
- for an attempt, by the review policy of its exam (never / after submit / after close);
- in practice (a practice paper, the mistake book), for a question an exam still open to the learner may not
  draw (unless its bank is marked for practice), and, in the mistake book, that the policy of an exam the
  learner sat it in releases;
- never for a blank answer: checking nothing is not a way to read the key.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, or_, select, union

from lms.core.db import db, utcnow
from lms.org.models import Person
from quizzes.banks import bank_scope
from quizzes.exams import narrow_by_rule
from quizzes.models import (
    FINISHED,
    MODE_EXAM,
    MODE_PRACTICE,
    OPEN,
    PUBLISHED,
    RULE_FIXED,
    SHOW_AFTER_CLOSE,
    SHOW_AFTER_SUBMIT,
    Attempt,
    AttemptQuestion,
    Exam,
    ExamExtension,
    PaperRule,
    Question,
    QuestionBank,
)


def exams_open_to(person_id: int, enterprise_id: int, now: dt.datetime | None = None) -> list[Exam]:
    """Formal exams the person may still sit, now or once they open: published, not closed, attempts left."""
    now = now or utcnow()
    exams = list(
        db.session.scalars(
            select(Exam).where(
                Exam.enterprise_id == enterprise_id,
                Exam.mode == MODE_EXAM,
                Exam.status == PUBLISHED,
                or_(Exam.close_at.is_(None), Exam.close_at > now),
            )
        )
    )
    if not exams:
        return []
    ids = [e.id for e in exams]
    used = dict(
        db.session.execute(
            select(Attempt.exam_id, func.count())
            .where(Attempt.person_id == person_id, Attempt.exam_id.in_(ids))
            .group_by(Attempt.exam_id)
        ).all()
    )
    sitting = set(
        db.session.scalars(
            select(Attempt.exam_id).where(
                Attempt.person_id == person_id, Attempt.exam_id.in_(ids), Attempt.status == OPEN
            )
        )
    )
    extra = dict(
        db.session.execute(
            select(ExamExtension.exam_id, ExamExtension.extra_attempts).where(
                ExamExtension.person_id == person_id, ExamExtension.exam_id.in_(ids)
            )
        ).all()
    )
    return [
        e
        for e in exams
        if e.id in sitting
        or e.attempts_allowed is None
        or used.get(e.id, 0) < e.attempts_allowed + (extra.get(e.id) or 0)
    ]


def _rule_scope(rule: PaperRule, enterprise_id: int) -> Any:
    """Ids of every question a rule may draw, whatever its status today, outside banks marked for practice."""
    q = (
        select(Question.id)
        .join(QuestionBank, QuestionBank.id == Question.bank_id)
        .where(bank_scope(enterprise_id), QuestionBank.practice.is_(False))
    )
    if rule.kind == RULE_FIXED:
        return q.where(Question.id == rule.question_id)
    return narrow_by_rule(q, rule)


def withheld_questions(
    person_id: int,
    enterprise_id: int,
    now: dt.datetime | None = None,
    *,
    except_exam_id: int | None = None,
    among: list[int] | set[int] | None = None,
) -> set[int]:
    """Ids of the questions an exam open to the person may draw (banks marked for practice excepted);
    ``among``: only those of these ids."""
    if among is not None and not among:
        return set()
    parts = [
        _rule_scope(rule, exam.enterprise_id)
        if among is None
        else _rule_scope(rule, exam.enterprise_id).where(Question.id.in_(list(among)))
        for exam in exams_open_to(person_id, enterprise_id, now)
        if exam.id != except_exam_id
        for rule in exam.rules
        if rule.kind != RULE_FIXED or rule.question_id is not None
    ]
    if not parts:
        return set()
    return set(db.session.scalars(union(*parts)))


def _review_opens_at(exam: Exam) -> dt.datetime | None:
    """When an after-close exam's answers may be shown: at its close, or later if an extension runs past it."""
    if exam.close_at is None:
        return None
    longest = db.session.scalar(
        select(func.max(ExamExtension.extra_minutes)).where(ExamExtension.exam_id == exam.id)
    )
    return exam.close_at + dt.timedelta(minutes=longest or 0)


def answers_visible(attempt: Attempt, now: dt.datetime | None = None) -> bool:
    """Whether the exam's review policy lets the learner see this attempt's keys and explanations now."""
    if attempt.status == OPEN:
        return False
    exam = db.session.get(Exam, attempt.exam_id)
    if exam.mode == MODE_PRACTICE:
        return True
    if exam.show_answers == SHOW_AFTER_SUBMIT:
        return True
    if exam.show_answers == SHOW_AFTER_CLOSE:
        opens = _review_opens_at(exam)
        return opens is not None and (now or utcnow()) >= opens
    return False


def review_held_back(attempt: Attempt, now: dt.datetime | None = None) -> set[int]:
    """Question ids of an attempt whose keys stay hidden although its policy shows keys: another exam open to
    the learner may draw them (for a practice, any exam)."""
    exam = db.session.get(Exam, attempt.exam_id)
    person = db.session.get(Person, attempt.person_id)
    ids = {aq.question_id for aq in attempt.questions}
    return withheld_questions(
        person.id,
        person.enterprise_id,
        now,
        except_exam_id=None if exam.mode == MODE_PRACTICE else exam.id,
        among=ids,
    )


def released_questions(
    person_id: int, question_ids: list[int] | set[int], now: dt.datetime | None = None
) -> set[int]:
    """Of ``question_ids``, those whose key the person may practise with: a finished attempt of theirs that
    contains the question has a policy that shows keys now, and no exam open to them may draw it."""
    question_ids = list(question_ids)
    if not question_ids:
        return set()
    rows = db.session.execute(
        select(AttemptQuestion.question_id, Attempt)
        .join(Attempt, Attempt.id == AttemptQuestion.attempt_id)
        .where(
            Attempt.person_id == person_id,
            Attempt.status.in_(FINISHED),
            AttemptQuestion.question_id.in_(question_ids),
        )
    ).all()
    visible: dict[int, bool] = {}
    shown = set()
    for qid, attempt in rows:
        if attempt.id not in visible:
            visible[attempt.id] = answers_visible(attempt, now)
        if visible[attempt.id]:
            shown.add(qid)
    if not shown:
        return shown
    person = db.session.get(Person, person_id)
    return shown - withheld_questions(person_id, person.enterprise_id, now, among=shown)
