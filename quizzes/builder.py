"""Building a fixed paper by searching the bank, and the learner's view of a whole paper before publishing."""

from __future__ import annotations

import random
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from lms.core.db import db
from lms.core.errors import DomainError
from quizzes import attempts, banks, exams
from quizzes.models import (
    ARCHIVED,
    DIFFICULTIES,
    MODE_EXAM,
    PUBLISHED,
    RULE_FIXED,
    Exam,
    PaperRule,
    Question,
    QuestionBank,
)
from quizzes.types import TYPE_NAMES, _, public_question

PAGE_SIZE = 20


def search_questions(
    enterprise_id: int,
    *,
    text: str | None = None,
    type: str | None = None,
    category: str | None = None,
    difficulty: str | None = None,
    bank_id: int | None = None,
    exam: Exam | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> tuple[list[Question], int]:
    """Published questions of the banks the enterprise may use matching the filters; (page of rows, total).

    ``text`` matches the stem, the options' text and the category (every word, case-insensitive). For a formal
    exam, practice banks are left out unless named (their keys are shown in practice).
    """
    q = (
        select(Question)
        .join(QuestionBank, QuestionBank.id == Question.bank_id)
        .where(Question.status == PUBLISHED, QuestionBank.status != ARCHIVED, banks.bank_scope(enterprise_id))
    )
    if bank_id:
        q = q.where(Question.bank_id == bank_id)
    elif exam is not None and exam.mode == MODE_EXAM:
        q = q.where(QuestionBank.practice.is_(False))
    if type and type in TYPE_NAMES:
        q = q.where(Question.type == type)
    if difficulty and difficulty in DIFFICULTIES:
        q = q.where(Question.difficulty == difficulty)
    if category:
        q = q.where(Question.category == category)
    for word in [w.lower()[:100] for w in (text or "").split() if w][:6]:
        q = q.where(
            or_(
                func.lower(Question.stem).contains(word, autoescape=True),
                func.lower(func.coalesce(Question.category, "")).contains(word, autoescape=True),
                func.lower(func.coalesce(Question.name, "")).contains(word, autoescape=True),
            )
        )
    total = db.session.scalar(select(func.count()).select_from(q.subquery())) or 0
    page = max(1, int(page or 1))
    rows = db.session.scalars(
        q.options(joinedload(Question.bank))
        .order_by(Question.id)
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return list(rows), int(total)


def fixed_question_ids(exam: Exam) -> set[int]:
    """Questions already on the paper as fixed questions."""
    return {r.question_id for r in exam.rules if r.kind == RULE_FIXED and r.question_id is not None}


def add_fixed_questions(exam: Exam, question_ids: Iterable[int], *, points: Decimal | None = None) -> int:
    """Put the chosen questions on the paper (once each, in the order given); return how many were added.

    Each id is checked like a single fixed rule: a question of another enterprise's bank is NotFound.
    """
    have = fixed_question_ids(exam)
    added = 0
    for qid in dict.fromkeys(int(i) for i in question_ids):
        if qid in have:
            continue
        exams.add_rule(exam, kind=RULE_FIXED, question_id=qid, points=points)
        have.add(qid)
        added += 1
    if not added and not have:
        raise DomainError(_("Choose a question."), field="question_ids")
    return added


def sample_paper(exam: Exam, seed: int) -> list[dict[str, Any]]:
    """One paper as a learner could draw it (nothing is stored): each question's public view and points.

    The view is built by ``public_question`` from the current version, the same as an attempt shows, so that
    no key and no explanation reaches the page.
    """
    rng = random.Random(seed)
    drawn = attempts.draw_paper(exam, -1, rng)  # the same draw an attempt makes
    out = []
    for q, points in drawn:
        version = banks.current_version(q)
        out.append({"id": q.id, "view": public_question(version), "points": points})
    return out


def paper_points(exam: Exam) -> Decimal:
    """The total points of the paper as the rules stand (a fixed question's own points where the rule has none)."""
    total = Decimal(0)
    for r in exam.rules:
        if r.points is not None:
            total += Decimal(r.points) * r.count
        elif r.kind == RULE_FIXED and r.question is not None:
            total += Decimal(r.question.points or 0)
    return total


def rule_of_question(exam: Exam, question_id: int) -> PaperRule | None:
    """The fixed rule holding ``question_id``, if any."""
    return next((r for r in exam.rules if r.kind == RULE_FIXED and r.question_id == question_id), None)
