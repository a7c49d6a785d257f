"""Offline classroom sessions, their target audience, sign-in sheet uploads, attendance and evidence."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import Base, TimestampMixin, utcnow

PLANNED = "planned"
HELD = "held"
RECORDED = "recorded"
LOCKED = "locked"
STATUSES = (PLANNED, HELD, RECORDED, LOCKED)

# 三级安全教育 levels as the ledger names them, plus "other" (stored in the ledger as no level).
LEVELS = ("company", "workshop", "team", "other")

TARGET_DEPARTMENT = "department"
TARGET_POST = "post"
TARGET_ROLE = "role"
TARGET_KINDS = (TARGET_DEPARTMENT, TARGET_POST, TARGET_ROLE)

UPLOAD_PREVIEWED = "previewed"
UPLOAD_COMMITTED = "committed"
UPLOAD_SUPERSEDED = "superseded"

# What a session is: a classroom session, or a short toolbox talk (班前会) a team leader runs before a shift.
KIND_CLASSROOM = "classroom"
KIND_TOOLBOX = "toolbox"
SESSION_KINDS = (KIND_CLASSROOM, KIND_TOOLBOX)


class OfflineSession(TimestampMixin, Base):
    """A classroom session (线下培训). ``course_id`` has no foreign key: courses is a sibling feature."""

    __tablename__ = "offline_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    topic: Mapped[str] = mapped_column(String(300))
    course_id: Mapped[int | None] = mapped_column(Integer, index=True)
    course_title: Mapped[str | None] = mapped_column(String(300))
    category: Mapped[str | None] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16), default="other")
    instructor: Mapped[str | None] = mapped_column(String(100))
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    ends_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    location: Mapped[str | None] = mapped_column(String(200))
    hours: Mapped[Decimal] = mapped_column(Numeric(7, 2), default=Decimal("0"))
    capacity: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=PLANNED)
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16), default=KIND_CLASSROOM, server_default=KIND_CLASSROOM)
    # QR self check-in: open while opened and not closed. The nonce is drawn anew at each opening, so that a
    # code of an earlier opening (a photo kept from last week) is refused.
    checkin_nonce: Mapped[str | None] = mapped_column(String(32))
    checkin_opened_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    checkin_closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    targets: Mapped[list[OfflineSessionTarget]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="OfflineSessionTarget.id"
    )

    @property
    def source(self) -> str:
        """The ledger source of this session's records."""
        return f"offline_session:{self.id}"

    def target_ids(self, kind: str) -> list[int]:
        return [t.target_id for t in self.targets if t.kind == kind]

    @property
    def checkin_open(self) -> bool:
        """Whether people may check in (or out) by QR code now."""
        return self.checkin_opened_at is not None and self.checkin_closed_at is None


class OfflineSessionTarget(Base):
    """One part of a session's target audience: a department (with its subtree), a post or a role."""

    __tablename__ = "offline_session_target"
    __table_args__ = (UniqueConstraint("session_id", "kind", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("offline_session.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # department / post / role
    target_id: Mapped[int] = mapped_column(Integer)

    session: Mapped[OfflineSession] = relationship(back_populates="targets")


class AttendanceUpload(Base):
    """An uploaded sign-in sheet, kept as evidence: who uploaded it, when, what it held and how it was resolved."""

    __tablename__ = "attendance_upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("offline_session.id", ondelete="CASCADE"), index=True
    )
    stored_file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id", ondelete="CASCADE"))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=UPLOAD_PREVIEWED)
    committed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # row ref ("12" or "Sheet!12") -> person id, "skip" or "keep" (which duplicate row wins)
    resolutions: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The sheet named another session than this one and the trainer confirmed it in the preview:
    # {"named": [{"id", "topic"}], "session_id", "by_id", "by", "at"}.
    confirmation: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    stored_file = relationship("StoredFile")


class Attendance(Base):
    """One person on a session's committed sign-in sheet (absent=True: listed but marked absent)."""

    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("session_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("offline_session.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    score: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))
    passed: Mapped[bool | None] = mapped_column(Boolean)
    score_note: Mapped[str | None] = mapped_column(String(50))  # the word on the sheet: 缺考, 合格 …
    absent: Mapped[bool] = mapped_column(Boolean, default=False)
    signed_in_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("attendance_upload.id", ondelete="SET NULL"))
    row: Mapped[int | None] = mapped_column(Integer)
    sheet: Mapped[str | None] = mapped_column(String(100))
    record_id: Mapped[int | None] = mapped_column(Integer)  # the live training record written for it
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    person = relationship("Person")


class OfflineEvidence(Base):
    """A scan or photo of the signed paper sheet (image or PDF, checked by content)."""

    __tablename__ = "offline_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("offline_session.id", ondelete="CASCADE"), index=True)
    stored_file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # image / pdf
    note: Mapped[str | None] = mapped_column(String(300))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    stored_file = relationship("StoredFile")


class OfflineSessionChange(Base):
    """Who changed a locked session, when, and why."""

    __tablename__ = "offline_session_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("offline_session.id", ondelete="CASCADE"), index=True)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(50))  # edit / attendance / evidence / lock / unlock
    reason: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    changed_by = relationship("User")


class CheckIn(Base):
    """One person's QR self check-in at a session: when in, when out, with which codes (time steps)."""

    __tablename__ = "offline_check_in"
    __table_args__ = (UniqueConstraint("session_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("offline_session.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    checked_in_at: Mapped[dt.datetime] = mapped_column(DateTime)
    in_step: Mapped[int] = mapped_column(Integer)
    checked_out_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    out_step: Mapped[int | None] = mapped_column(Integer)
    address: Mapped[str | None] = mapped_column(String(64))

    person = relationship("Person")
