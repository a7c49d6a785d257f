"""Setting up an exam: its settings, the paper's rules (fixed questions and draws), publishing, finding
exams, and the extra time or attempts granted to one person.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from lms.core.db import db, utcnow
from lms.core.errors import DomainError, NotFound
from lms.org.models import Person, User
from quizzes.banks import bank_scope, get_bank, get_question
from quizzes.models import (
    ARCHIVED,
    COUNTS_HIGHEST,
    COUNTS_LAST,
    DIFFICULTIES,
    DRAFT,
    MODE_EXAM,
    MODE_PRACTICE,
    PASS_PERCENT,
    PASS_POINTS,
    PUBLISHED,
    RULE_DRAW,
    RULE_FIXED,
    SHOW_AFTER_CLOSE,
    SHOW_AFTER_SUBMIT,
    SHOW_NEVER,
    STATUSES,
    Exam,
    ExamExtension,
    PaperRule,
    Question,
    QuestionBank,
)
from quizzes.types import TYPE_NAMES, _

EXAM_FIELDS = (
    "title",
    "description",
    "mode",
    "open_at",
    "close_at",
    "time_limit_minutes",
    "attempts_allowed",
    "pass_mark",
    "pass_mark_kind",
    "counts",
    "show_answers",
    "shuffle_questions",
    "shuffle_options",
    "course_id",
    "issue_certificate",
    "hours",
    "category",
)


def _check_exam(values: dict[str, Any]) -> None:
    if not (values.get("title") or "").strip():
        raise DomainError(_("A title is required."), field="title")
    if values.get("mode") not in (MODE_EXAM, MODE_PRACTICE):
        raise DomainError(_("Unknown mode."), field="mode")
    if values.get("pass_mark_kind") not in (PASS_POINTS, PASS_PERCENT):
        raise DomainError(_("Unknown pass mark kind."), field="pass_mark_kind")
    if values.get("counts") not in (COUNTS_HIGHEST, COUNTS_LAST):
        raise DomainError(_("Unknown counting rule."), field="counts")
    if values.get("show_answers") not in (SHOW_AFTER_SUBMIT, SHOW_AFTER_CLOSE, SHOW_NEVER):
        raise DomainError(_("Unknown answer visibility."), field="show_answers")
    limit = values.get("time_limit_minutes")
    if limit is not None and not 1 <= int(limit) <= 24 * 60:
        raise DomainError(_("The time limit must be between 1 and 1440 minutes."), field="time_limit_minutes")
    allowed = values.get("attempts_allowed")
    if allowed is not None and int(allowed) < 1:
        raise DomainError(_("At least one attempt must be allowed."), field="attempts_allowed")
    mark = Decimal(str(values.get("pass_mark") or 0))
    if mark < 0 or (values.get("pass_mark_kind") == PASS_PERCENT and mark > 100):
        raise DomainError(_("The pass mark must be between 0 and 100 percent."), field="pass_mark")
    if values.get("open_at") and values.get("close_at") and values["close_at"] <= values["open_at"]:
        raise DomainError(_("The exam must close after it opens."), field="close_at")
    if Decimal(str(values.get("hours") or 0)) < 0:
        raise DomainError(_("Hours cannot be negative."), field="hours")


def create_exam(enterprise_id: int, *, actor: User | None = None, **values: Any) -> Exam:
    """Create an exam (draft) with the given settings."""
    defaults = {
        "mode": MODE_EXAM,
        "pass_mark": Decimal("60"),
        "pass_mark_kind": PASS_PERCENT,
        "counts": COUNTS_HIGHEST,
        "show_answers": SHOW_AFTER_SUBMIT,
        "attempts_allowed": 1,
        "shuffle_questions": True,
        "shuffle_options": True,
        "hours": Decimal("0"),
        "issue_certificate": False,
    }
    merged = {**defaults, **{k: v for k, v in values.items() if k in EXAM_FIELDS}}
    _check_exam(merged)
    if merged["mode"] == MODE_PRACTICE:
        merged["attempts_allowed"] = None
    exam = Exam(
        enterprise_id=enterprise_id, status=DRAFT, created_by_id=actor.id if actor else None, **merged
    )
    exam.title = exam.title.strip()[:200]
    db.session.add(exam)
    db.session.flush()
    return exam


def update_exam(exam: Exam, **values: Any) -> Exam:
    merged = {k: getattr(exam, k) for k in EXAM_FIELDS}
    merged.update({k: v for k, v in values.items() if k in EXAM_FIELDS})
    _check_exam(merged)
    if merged["mode"] == MODE_PRACTICE:
        merged["attempts_allowed"] = None
    for k, v in merged.items():
        setattr(exam, k, v)
    db.session.flush()
    return exam


def rule_query(rule: PaperRule, enterprise_id: int) -> Any:
    q = (
        select(Question.id)
        .join(QuestionBank, QuestionBank.id == Question.bank_id)
        .where(Question.status == PUBLISHED, QuestionBank.status != ARCHIVED, bank_scope(enterprise_id))
    )
    if not rule.bank_id and rule.exam is not None and rule.exam.mode == MODE_EXAM:
        # Keys of a practice bank are shown in practice: an exam draws from one only by a rule that names it.
        q = q.where(QuestionBank.practice.is_(False))
    return narrow_by_rule(q, rule)


def narrow_by_rule(q: Any, rule: PaperRule) -> Any:
    """A question query narrowed to what a random rule names: its bank, type, category and difficulty."""
    if rule.bank_id:
        q = q.where(Question.bank_id == rule.bank_id)
    if rule.type:
        q = q.where(Question.type == rule.type)
    if rule.category:
        q = q.where(Question.category == rule.category)
    if rule.difficulty:
        q = q.where(Question.difficulty == rule.difficulty)
    return q


def rule_available(rule: PaperRule, enterprise_id: int) -> int:
    """How many published questions a rule may draw from."""
    if rule.kind == RULE_FIXED:
        return 1 if rule.question is not None and rule.question.status == PUBLISHED else 0
    return (
        db.session.scalar(select(func.count()).select_from(rule_query(rule, enterprise_id).subquery())) or 0
    )


def add_rule(
    exam: Exam,
    *,
    kind: str = RULE_DRAW,
    question_id: int | None = None,
    bank_id: int | None = None,
    type: str | None = None,
    category: str | None = None,
    difficulty: str | None = None,
    count: int = 1,
    points: Decimal | None = None,
) -> PaperRule:
    """Add a fixed question or a draw rule to the paper."""
    if kind not in (RULE_FIXED, RULE_DRAW):
        raise DomainError(_("Unknown rule kind."), field="kind")
    if kind == RULE_FIXED:
        if question_id is None:
            raise DomainError(_("Choose a question."), field="question_id")
        get_question(question_id, exam.enterprise_id)
        count = 1
    else:
        if bank_id is not None:
            get_bank(bank_id, exam.enterprise_id)
        if type and type not in TYPE_NAMES:
            raise DomainError(_("Unknown question type."), field="type")
        if difficulty and difficulty not in DIFFICULTIES:
            raise DomainError(_("Unknown difficulty."), field="difficulty")
        if not 1 <= int(count) <= 500:
            raise DomainError(_("Draw between 1 and 500 questions."), field="count")
    if points is not None and Decimal(points) <= 0:
        raise DomainError(_("Points must be above 0."), field="points")
    position = (
        db.session.scalar(select(func.max(PaperRule.position)).where(PaperRule.exam_id == exam.id)) or 0
    ) + 1
    rule = PaperRule(
        exam_id=exam.id,
        position=position,
        kind=kind,
        question_id=question_id if kind == RULE_FIXED else None,
        bank_id=bank_id if kind == RULE_DRAW else None,
        type=type or None,
        category=category or None,
        difficulty=difficulty or None,
        count=int(count),
        points=points,
    )
    db.session.add(rule)
    db.session.flush()
    db.session.refresh(exam)
    return rule


def delete_rule(exam: Exam, rule_id: int) -> None:
    rule = db.session.get(PaperRule, rule_id)
    if rule is None or rule.exam_id != exam.id:
        raise NotFound(_("Rule not found."))
    db.session.delete(rule)
    db.session.flush()
    db.session.refresh(exam)


def paper_problems(exam: Exam) -> list[str]:
    """What keeps the paper from being drawn (empty: every rule can be satisfied)."""
    problems = []
    if not exam.rules:
        problems.append(_("The paper has no questions yet."))
    for rule in exam.rules:
        available = rule_available(rule, exam.enterprise_id)
        if available < rule.count:
            problems.append(
                _(
                    "Rule %(n)d needs %(c)d questions but the bank has %(a)d.",
                    n=rule.position,
                    c=rule.count,
                    a=available,
                )
            )
    return problems


def publish_exam(exam: Exam) -> Exam:
    problems = paper_problems(exam)
    if problems:
        raise DomainError(" ".join(problems))
    exam.status = PUBLISHED
    db.session.flush()
    return exam


def set_exam_status(exam: Exam, status: str) -> Exam:
    if status == PUBLISHED:
        return publish_exam(exam)
    if status not in STATUSES:
        raise DomainError(_("Unknown status."), field="status")
    exam.status = status
    db.session.flush()
    return exam


def get_exam(exam_id: int, enterprise_id: int) -> Exam:
    exam = db.session.get(Exam, exam_id)
    if exam is None or exam.enterprise_id != enterprise_id:
        raise NotFound(_("Exam not found."))
    return exam


def find_exams(
    enterprise_id: int, *, published_only: bool = True, mode: str | None = MODE_EXAM
) -> list[Exam]:
    """The enterprise's exams (for a course's lesson picker: published exam-mode ones by default)."""
    q = select(Exam).where(Exam.enterprise_id == enterprise_id)
    if published_only:
        q = q.where(Exam.status == PUBLISHED)
    if mode:
        q = q.where(Exam.mode == mode)
    return list(db.session.scalars(q.order_by(Exam.title)))


# ---------------------------------------------------------------- extensions


def extension_for(exam_id: int, person_id: int) -> ExamExtension | None:
    return db.session.scalar(
        select(ExamExtension).where(ExamExtension.exam_id == exam_id, ExamExtension.person_id == person_id)
    )


def set_extension(
    exam: Exam,
    person: Person,
    *,
    extra_minutes: int = 0,
    extra_attempts: int = 0,
    note: str | None = None,
    actor: User | None = None,
) -> ExamExtension:
    """Grant (or change) a person's extra minutes and attempts for an exam."""
    if person.enterprise_id != exam.enterprise_id:
        raise NotFound(_("Person not found."))
    if extra_minutes < 0 or extra_attempts < 0 or extra_minutes > 24 * 60 or extra_attempts > 100:
        raise DomainError(_("Extra time and attempts must be zero or more."), field="extra_minutes")
    ext = extension_for(exam.id, person.id)
    if ext is None:
        ext = ExamExtension(exam_id=exam.id, person_id=person.id)
        db.session.add(ext)
    ext.extra_minutes, ext.extra_attempts, ext.note = extra_minutes, extra_attempts, note
    ext.granted_by_id, ext.granted_at = (actor.id if actor else None), utcnow()
    db.session.flush()
    return ext
