"""The training record ledger: every fact that a person was trained, whatever its source."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import Base, utcnow
from lms.org.models import Person

KIND_COURSE = "course"
KIND_EXAM = "exam"
KIND_OFFLINE = "offline"
KIND_CERTIFICATE = "certificate"
KIND_MANUAL = "manual"
KINDS = (KIND_COURSE, KIND_EXAM, KIND_OFFLINE, KIND_CERTIFICATE, KIND_MANUAL)

# Three-level pre-job education (三级安全教育).
LEVELS = ("company", "workshop", "team")


class TrainingRecord(Base):
    """One fact of training. Never edited in place: a correction voids the row and adds another.

    ``source`` names the producing object (``course_enrolment:12``, ``attempt:7``, ``offline_session:3``,
    ``manual:uuid``); ``lms.ledger.sources`` says what a source is in words. At most one live (not voided) row
    per source and person, so re-recording replaces.
    ``course_id`` and ``exam_id`` carry no foreign key: the ledger sits on a floor below courses and quizzes.
    """

    __tablename__ = "training_record"
    __table_args__ = (
        Index(
            "uq_training_record_live_source",
            "source",
            "person_id",
            unique=True,
            sqlite_where=text("voided_at IS NULL"),
            postgresql_where=text("voided_at IS NULL"),
        ),
        Index("ix_training_record_person_completed", "person_id", "completed_at"),
        Index("ix_training_record_enterprise_completed", "enterprise_id", "completed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    topic: Mapped[str] = mapped_column(String(300))
    category: Mapped[str | None] = mapped_column(String(100), index=True)
    level: Mapped[str | None] = mapped_column(String(16))  # company / workshop / team
    course_id: Mapped[int | None] = mapped_column(Integer, index=True)
    exam_id: Mapped[int | None] = mapped_column(Integer, index=True)
    hours: Mapped[Decimal] = mapped_column(Numeric(7, 2), default=Decimal("0"))
    # When the training began (UTC): with completed_at, the time the person spent in it. Two live records of a
    # person with hours may not overlap (a person is in one training at a time).
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    completed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    score: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))
    passed: Mapped[bool | None]
    valid_until: Mapped[dt.date | None]  # for external certificates
    certificate_no: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(120))
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    voided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    void_reason: Mapped[str | None] = mapped_column(String(300))
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("training_record.id", ondelete="SET NULL"))

    person: Mapped[Person] = relationship()
