"""Question banks and their questions: which banks an enterprise sees, creating and editing them.

A change to a question's content makes a new version; attempts keep the version they drew.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select

from lms.core.db import db, utcnow
from lms.core.errors import Conflict, DomainError, NotFound
from quizzes.importers import fingerprint
from quizzes.models import (
    ARCHIVED,
    DIFFICULTIES,
    PUBLISHED,
    STATUSES,
    Question,
    QuestionBank,
    QuestionVersion,
)
from quizzes.types import TYPE_NAMES, _, get_type


def bank_scope(enterprise_id: int) -> Any:
    """The condition for banks an enterprise may use: its own and the shared platform banks."""
    return or_(QuestionBank.enterprise_id == enterprise_id, QuestionBank.enterprise_id.is_(None))


def visible_banks(enterprise_id: int) -> list[QuestionBank]:
    """The enterprise's banks and the shared ones, with their question counts in ``bank.question_count``."""
    counts = dict(
        db.session.execute(
            select(Question.bank_id, func.count())
            .where(Question.status != ARCHIVED)
            .group_by(Question.bank_id)
        ).all()
    )
    banks = list(
        db.session.scalars(
            select(QuestionBank)
            .where(bank_scope(enterprise_id))
            .order_by(QuestionBank.enterprise_id.is_(None), QuestionBank.name)
        )
    )
    for b in banks:
        b.question_count = counts.get(b.id, 0)  # type: ignore[attr-defined]
    return banks


def get_bank(bank_id: int, enterprise_id: int) -> QuestionBank:
    """Load a bank the enterprise may use (its own or shared), else NotFound."""
    bank = db.session.get(QuestionBank, bank_id)
    if bank is None or bank.enterprise_id not in (enterprise_id, None):
        raise NotFound(_("Question bank not found."))
    return bank


def can_edit_bank(bank: QuestionBank, user: Any) -> bool:
    """Enterprise banks are edited by their staff; shared platform banks by platform administrators only."""
    if bank.enterprise_id is None:
        return getattr(user, "app_role", None) == "admin"
    return True


def create_bank(
    enterprise_id: int | None,
    name: str,
    *,
    partial_credit: bool = False,
    description: str | None = None,
    practice: bool = False,
) -> QuestionBank:
    """Create a bank; names are unique within an enterprise."""
    name = (name or "").strip()
    if not name:
        raise DomainError(_("A name is required."), field="name")
    taken = db.session.scalar(
        select(QuestionBank.id).where(
            QuestionBank.enterprise_id.is_(None)
            if enterprise_id is None
            else QuestionBank.enterprise_id == enterprise_id,
            QuestionBank.name == name,
        )
    )
    if taken:
        raise Conflict(_("A bank with this name already exists."), field="name")
    bank = QuestionBank(
        enterprise_id=enterprise_id,
        name=name[:200],
        partial_credit=partial_credit,
        description=description,
        status=PUBLISHED,
        practice=bool(practice),
    )
    db.session.add(bank)
    db.session.flush()
    return bank


def ensure_bank(enterprise_id: int | None, name: str) -> QuestionBank:
    """Return the bank called ``name`` in the enterprise, creating it if needed."""
    found = db.session.scalar(
        select(QuestionBank).where(
            QuestionBank.enterprise_id.is_(None)
            if enterprise_id is None
            else QuestionBank.enterprise_id == enterprise_id,
            QuestionBank.name == name.strip(),
        )
    )
    return found or create_bank(enterprise_id, name)


def update_bank(
    bank: QuestionBank,
    *,
    name: str,
    partial_credit: bool,
    status: str,
    description: str | None = None,
    practice: bool | None = None,
) -> QuestionBank:
    """Change a bank's settings; ``practice`` None leaves the practice mark as it is."""
    if status not in STATUSES:
        raise DomainError(_("Unknown status."), field="status")
    if not (name or "").strip():
        raise DomainError(_("A name is required."), field="name")
    bank.name, bank.partial_credit, bank.status, bank.description = (
        name.strip()[:200],
        partial_credit,
        status,
        description,
    )
    if practice is not None:
        bank.practice = bool(practice)
    db.session.flush()
    return bank


def _check_question(
    qtype: str,
    stem: str,
    options: list[str],
    key: Any,
    difficulty: str,
    points: Decimal,
    weights: Any = None,
    text_format: str = "plain",
) -> None:
    if qtype not in TYPE_NAMES:
        raise DomainError(_("Unknown question type."), field="type")
    if not (stem or "").strip():
        raise DomainError(_("The question text is required."), field="stem")
    if difficulty not in DIFFICULTIES:
        raise DomainError(_("Unknown difficulty."), field="difficulty")
    if points is None or Decimal(points) <= 0:
        raise DomainError(_("Points must be above 0."), field="points")
    if text_format not in ("plain", "html"):
        raise DomainError(_("Unknown text format."), field="text_format")
    problem = get_type(qtype).validate(options, key, weights)
    if problem:
        raise DomainError(problem, field="key")


def _snapshot(q: Question) -> QuestionVersion:
    v = QuestionVersion(
        question_id=q.id,
        number=q.version,
        type=q.type,
        stem=q.stem,
        options=list(q.options or []),
        key=q.key,
        explanation=q.explanation,
        points=q.points,
        weights=q.weights,
        feedback=q.feedback,
        text_format=q.text_format or "plain",
    )
    db.session.add(v)
    return v


def create_question(
    bank: QuestionBank,
    *,
    type: str,
    stem: str,
    options: list[str] | None = None,
    key: Any,
    category: str | None = None,
    difficulty: str = "medium",
    points: Decimal | int = 1,
    explanation: str | None = None,
    status: str = PUBLISHED,
    name: str | None = None,
    weights: Any = None,
    feedback: Any = None,
    text_format: str = "plain",
) -> Question:
    """Create a question and its first version."""
    options = [o.strip() for o in options or []] if get_type(type).has_options else []
    points = Decimal(str(points))
    _check_question(type, stem, options, key, difficulty, points, weights, text_format)
    q = Question(
        bank_id=bank.id,
        type=type,
        stem=stem.strip(),
        options=options,
        key=key,
        category=category or None,
        difficulty=difficulty,
        points=points,
        explanation=explanation or None,
        status=status,
        fingerprint=fingerprint(stem, options),
        name=(name or None) and name[:255],
        weights=weights,
        feedback=feedback or None,
        text_format=text_format or "plain",
        version=1,
        updated_at=utcnow(),
    )
    db.session.add(q)
    db.session.flush()
    _snapshot(q)
    db.session.flush()
    return q


_CONTENT = ("type", "stem", "options", "key", "explanation", "points", "weights", "feedback", "text_format")


def update_question(q: Question, **values: Any) -> bool:
    """Change a question; a change of content makes a new version (attempts keep the one they saw). Return changed."""
    merged = {
        k: getattr(q, k)
        for k in (
            "type",
            "stem",
            "options",
            "key",
            "category",
            "difficulty",
            "points",
            "explanation",
            "status",
            "name",
            "weights",
            "feedback",
            "text_format",
        )
    }
    merged.update({k: v for k, v in values.items() if k in merged})
    merged["text_format"] = merged["text_format"] or "plain"
    if not get_type(merged["type"]).has_options:
        merged["options"] = []
    merged["points"] = Decimal(str(merged["points"]))
    merged["category"] = merged["category"] or None
    merged["explanation"] = merged["explanation"] or None
    _check_question(
        merged["type"],
        merged["stem"],
        merged["options"],
        merged["key"],
        merged["difficulty"],
        merged["points"],
        merged["weights"],
        merged["text_format"],
    )
    if merged["status"] not in STATUSES:
        raise DomainError(_("Unknown status."), field="status")
    content_changed = any(comparable(getattr(q, k)) != comparable(merged[k]) for k in _CONTENT)
    changed = content_changed or any(
        getattr(q, k) != merged[k] for k in ("category", "difficulty", "status", "name")
    )
    if not changed:
        return False
    for k, v in merged.items():
        setattr(q, k, v)
    q.fingerprint = fingerprint(q.stem, q.options)
    q.updated_at = utcnow()
    if content_changed:
        q.version += 1
        db.session.flush()
        _snapshot(q)
    db.session.flush()
    return True


def comparable(value: Any) -> Any:
    """A stored value as compared for a change: numbers to the cent."""
    if isinstance(value, Decimal | float | int) and not isinstance(value, bool):
        return Decimal(str(value)).quantize(Decimal("0.01"))
    return value


def current_version(q: Question) -> QuestionVersion:
    return db.session.scalars(
        select(QuestionVersion).where(
            QuestionVersion.question_id == q.id, QuestionVersion.number == q.version
        )
    ).one()


def get_question(question_id: int, enterprise_id: int) -> Question:
    q = db.session.get(Question, question_id)
    if q is None or q.bank.enterprise_id not in (enterprise_id, None):
        raise NotFound(_("Question not found."))
    return q
