"""Question banks, questions (with immutable versions), exams, paper rules, attempts and answers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import Base, TimestampMixin, utcnow

DRAFT, PUBLISHED, ARCHIVED = "draft", "published", "archived"
STATUSES = (DRAFT, PUBLISHED, ARCHIVED)
EASY, MEDIUM, HARD = "easy", "medium", "hard"
DIFFICULTIES = (EASY, MEDIUM, HARD)

MODE_EXAM, MODE_PRACTICE = "exam", "practice"
COUNTS_HIGHEST, COUNTS_LAST = "highest", "last"
SHOW_AFTER_SUBMIT, SHOW_AFTER_CLOSE, SHOW_NEVER = "after_submit", "after_close", "never"
PASS_POINTS, PASS_PERCENT = "points", "percent"

OPEN, SUBMITTED, GRADED, PENDING_REVIEW = "open", "submitted", "graded", "pending_review"
FINISHED = (SUBMITTED, GRADED, PENDING_REVIEW)

RULE_FIXED, RULE_DRAW = "fixed", "draw"


class QuestionBank(TimestampMixin, Base):
    """A set of questions of one enterprise, or a shared platform bank (``enterprise_id`` NULL)."""

    __tablename__ = "quiz_bank"
    __table_args__ = (UniqueConstraint("enterprise_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int | None] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # Multiple choice: all-or-nothing (False) or a share per correct option chosen, none if a wrong one is.
    partial_credit: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=PUBLISHED)
    # Marked for practice: its questions are practised (keys shown) even while a formal exam drawing from it is
    # open. Otherwise a question an open exam may draw is held back from practice and the mistake book.
    practice: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    questions: Mapped[list[Question]] = relationship(back_populates="bank", order_by="Question.id")


class Question(TimestampMixin, Base):
    """The editable question; attempts use a frozen ``QuestionVersion`` of it."""

    __tablename__ = "quiz_question"
    __table_args__ = (
        Index("ix_quiz_question_bank_pick", "bank_id", "status", "type", "category", "difficulty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("quiz_bank.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(20))
    stem: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    key: Mapped[Any] = mapped_column(JSON)
    category: Mapped[str | None] = mapped_column(String(100))
    difficulty: Mapped[str] = mapped_column(String(10), default=MEDIUM)
    points: Mapped[Decimal] = mapped_column(Numeric(7, 2), default=Decimal("1"))
    explanation: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=PUBLISHED)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)  # same stem and options → duplicate
    # Imported from Moodle: its name (::name::), per-option weights, per-answer feedback, the text format.
    name: Mapped[str | None] = mapped_column(String(255))
    weights: Mapped[Any] = mapped_column(JSON, nullable=True)
    feedback: Mapped[Any] = mapped_column(JSON, nullable=True)
    text_format: Mapped[str] = mapped_column(String(10), default="plain", server_default="plain")
    version: Mapped[int] = mapped_column(Integer, default=1)  # number of the current QuestionVersion
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    bank: Mapped[QuestionBank] = relationship(back_populates="questions")


class QuestionVersion(Base):
    """An immutable snapshot of a question as attempts saw it."""

    __tablename__ = "quiz_question_version"
    __table_args__ = (UniqueConstraint("question_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("quiz_question.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(20))
    stem: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    key: Mapped[Any] = mapped_column(JSON)
    explanation: Mapped[str | None] = mapped_column(Text)
    points: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    weights: Mapped[Any] = mapped_column(JSON, nullable=True)
    feedback: Mapped[Any] = mapped_column(JSON, nullable=True)
    text_format: Mapped[str] = mapped_column(String(10), default="plain", server_default="plain")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    question: Mapped[Question] = relationship()


class Exam(TimestampMixin, Base):
    """A timed assessment or an untimed practice, with its paper rules and settings.

    ``course_id`` has no foreign key: courses (same floor) link an exam, never the reverse.
    """

    __tablename__ = "exam"
    __table_args__ = (Index("ix_exam_enterprise_status", "enterprise_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(10), default=MODE_EXAM)
    open_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    close_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    time_limit_minutes: Mapped[int | None] = mapped_column(Integer)
    attempts_allowed: Mapped[int | None] = mapped_column(Integer, default=1)  # None: unlimited
    pass_mark: Mapped[Decimal] = mapped_column(Numeric(7, 2), default=Decimal("60"))
    pass_mark_kind: Mapped[str] = mapped_column(String(10), default=PASS_PERCENT)
    counts: Mapped[str] = mapped_column(String(10), default=COUNTS_HIGHEST)
    show_answers: Mapped[str] = mapped_column(String(16), default=SHOW_AFTER_SUBMIT)
    shuffle_questions: Mapped[bool] = mapped_column(Boolean, default=True)
    shuffle_options: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default=DRAFT)
    course_id: Mapped[int | None] = mapped_column(Integer, index=True)
    issue_certificate: Mapped[bool] = mapped_column(Boolean, default=False)
    hours: Mapped[Decimal] = mapped_column(Numeric(7, 2), default=Decimal("0"))
    category: Mapped[str | None] = mapped_column(String(100))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    rules: Mapped[list[PaperRule]] = relationship(
        back_populates="exam", order_by="PaperRule.position", cascade="all, delete-orphan"
    )


class PaperRule(Base):
    """One line of a paper: a fixed question, or ``count`` questions drawn by bank/type/category/difficulty."""

    __tablename__ = "exam_paper_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(10), default=RULE_DRAW)
    question_id: Mapped[int | None] = mapped_column(ForeignKey("quiz_question.id", ondelete="CASCADE"))
    bank_id: Mapped[int | None] = mapped_column(ForeignKey("quiz_bank.id", ondelete="CASCADE"))
    type: Mapped[str | None] = mapped_column(String(20))
    category: Mapped[str | None] = mapped_column(String(100))
    difficulty: Mapped[str | None] = mapped_column(String(10))
    count: Mapped[int] = mapped_column(Integer, default=1)
    points: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))  # per question; None: the question's own

    exam: Mapped[Exam] = relationship(back_populates="rules")
    question: Mapped[Question | None] = relationship()
    bank: Mapped[QuestionBank | None] = relationship()


class ExamExtension(Base):
    """Extra time and attempts granted to one person for one exam."""

    __tablename__ = "exam_extension"
    __table_args__ = (UniqueConstraint("exam_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    extra_minutes: Mapped[int] = mapped_column(Integer, default=0)
    extra_attempts: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(String(300))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    granted_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Attempt(Base):
    """One person's sitting of an exam. At most one open attempt per exam and person (a partial unique index)."""

    __tablename__ = "exam_attempt"
    __table_args__ = (
        UniqueConstraint("exam_id", "person_id", "number"),
        Index(
            "uq_exam_attempt_one_open",
            "exam_id",
            "person_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_exam_attempt_status_deadline", "status", "deadline"),
        Index("ix_exam_attempt_person", "person_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    deadline: Mapped[dt.datetime | None] = mapped_column(DateTime)  # None: untimed
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    auto_submitted: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=OPEN)
    score: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))
    max_score: Mapped[Decimal] = mapped_column(Numeric(7, 2), default=Decimal("0"))
    passed: Mapped[bool | None] = mapped_column(Boolean)
    # highest save seq accepted: written at submit; while open, attempts.attempt_seq reads it from the answers
    seq: Mapped[int] = mapped_column(Integer, default=0)

    exam: Mapped[Exam] = relationship()
    questions: Mapped[list[AttemptQuestion]] = relationship(
        back_populates="attempt", order_by="AttemptQuestion.position", cascade="all, delete-orphan"
    )


class AttemptQuestion(Base):
    """A question frozen into an attempt: which version, where, in which option order, for how many points."""

    __tablename__ = "exam_attempt_question"
    __table_args__ = (UniqueConstraint("attempt_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("exam_attempt.id", ondelete="CASCADE"))
    question_version_id: Mapped[int] = mapped_column(ForeignKey("quiz_question_version.id"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("quiz_question.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    option_order: Mapped[list[int] | None] = mapped_column(JSON)  # original option indexes, as shown
    points: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)

    attempt: Mapped[Attempt] = relationship(back_populates="questions")
    version: Mapped[QuestionVersion] = relationship()
    answer: Mapped[AttemptAnswer] = relationship(
        back_populates="attempt_question", uselist=False, cascade="all, delete-orphan"
    )


class AttemptAnswer(Base):
    """The saved answer to one attempt question (created empty when the attempt starts)."""

    __tablename__ = "exam_attempt_answer"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_question_id: Mapped[int] = mapped_column(
        ForeignKey("exam_attempt_question.id", ondelete="CASCADE"), unique=True
    )
    answer: Mapped[Any] = mapped_column(JSON)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    saved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    score: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))
    correct: Mapped[bool | None] = mapped_column(Boolean)
    graded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    graded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    feedback: Mapped[str | None] = mapped_column(Text)

    attempt_question: Mapped[AttemptQuestion] = relationship(back_populates="answer")


class AttemptGrading(Base):
    """History of every grading of an attempt (the first one, hand grading, regrades after a correction)."""

    __tablename__ = "exam_attempt_grading"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("exam_attempt.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(30))  # submit, auto_submit, manual, regrade
    score: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))
    max_score: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    passed: Mapped[bool | None] = mapped_column(Boolean)
    previous_score: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {attempt_question_id: score}
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    graded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class MistakeEntry(Base):
    """A question a person answered wrong (错题本), until they answer it right in practice."""

    __tablename__ = "quiz_mistake"
    __table_args__ = (UniqueConstraint("person_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("quiz_question.id", ondelete="CASCADE"), index=True)
    wrong_count: Mapped[int] = mapped_column(Integer, default=1)
    last_wrong_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    mastered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    question: Mapped[Question] = relationship()


class ExamAssignment(Base):
    """An exam assigned to a named person, with an optional due date (the enterprise's local day)."""

    __tablename__ = "exam_assignment"
    __table_args__ = (
        UniqueConstraint("exam_id", "person_id"),
        Index("ix_exam_assignment_person_due", "person_id", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    assigned_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    exam: Mapped[Exam] = relationship()
    person: Mapped[Person] = relationship("Person")  # noqa: F821 (lms.org.models, a lower floor)
