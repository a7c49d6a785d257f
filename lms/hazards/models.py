"""Hazard reports (隐患随手拍) and their rectification: settings, areas, categories, hazards, photos, events."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import Base, TimestampMixin, utcnow

# States of a hazard (one state machine: lms.hazards.services.TRANSITIONS).
REPORTED = "reported"  # 待评估: reported, not yet graded
ASSIGNED = "assigned"  # 整改中: graded and assigned to a department and person with a deadline
RECTIFIED = "rectified"  # 待验收: the responsible person reported the rectification
VERIFIED = "verified"  # 已验收: someone other than the rectifier checked it
CLOSED = "closed"  # 已销号
DISMISSED = "dismissed"  # 不予受理: not a hazard (a duplicate, a misunderstanding)
STATUSES = (REPORTED, ASSIGNED, RECTIFIED, VERIFIED, CLOSED, DISMISSED)
OPEN_STATUSES = (REPORTED, ASSIGNED, RECTIFIED)
# Overdue: still to be rectified after the deadline (a reported rectification waits only for verification).
OVERDUE_STATUSES = (ASSIGNED,)

GENERAL = "general"  # 一般隐患
MAJOR = "major"  # 重大隐患
GRADES = (GENERAL, MAJOR)

STAGE_REPORT = "report"
STAGE_RECTIFICATION = "rectification"
STAGES = (STAGE_REPORT, STAGE_RECTIFICATION)


class HazardSettings(Base):
    """An enterprise's hazard settings: anonymous reports, and whether a photo's GPS position is kept."""

    __tablename__ = "hazard_settings"

    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), primary_key=True
    )
    allow_anonymous: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    keep_location: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))


class HazardArea(TimestampMixin, Base):
    """A place of the enterprise where hazards are found (厂区、车间、仓库 …)."""

    __tablename__ = "hazard_area"
    __table_args__ = (UniqueConstraint("enterprise_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")


class HazardCategory(TimestampMixin, Base):
    """A kind of hazard (用电安全、消防安全 …); presets are created per enterprise and may be edited."""

    __tablename__ = "hazard_category"
    __table_args__ = (UniqueConstraint("enterprise_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")


class Hazard(Base):
    """One reported hazard and where it stands. Every change is also kept in ``HazardEvent``."""

    __tablename__ = "hazard"
    __table_args__ = (
        Index("ix_hazard_enterprise_status", "enterprise_id", "status"),
        Index("ix_hazard_enterprise_reported", "enterprise_id", "reported_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"))
    reported_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # Both empty for an anonymous report: nobody, not even the managers, can tell who reported it.
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    reporter_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("hazard_area.id", ondelete="SET NULL"))
    place: Mapped[str | None] = mapped_column(String(200))  # free text, or the detail within the area
    category_id: Mapped[int | None] = mapped_column(ForeignKey("hazard_category.id", ondelete="SET NULL"))
    description: Mapped[str] = mapped_column(Text)
    # From the first photo's EXIF, only when the enterprise keeps locations.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)

    status: Mapped[str] = mapped_column(String(16), default=REPORTED)
    grade: Mapped[str | None] = mapped_column(String(16))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL"), index=True
    )
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"), index=True)
    deadline: Mapped[dt.datetime | None] = mapped_column(DateTime)  # UTC
    graded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    graded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    # The five items of a 重大隐患's rectification plan (措施、责任、资金、时限、预案).
    plan_measures: Mapped[str | None] = mapped_column(Text)
    plan_responsibility: Mapped[str | None] = mapped_column(Text)
    plan_funds: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    plan_time_limit: Mapped[str | None] = mapped_column(Text)
    plan_contingency: Mapped[str | None] = mapped_column(Text)

    rectified_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    rectified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    rectification_note: Mapped[str | None] = mapped_column(Text)
    verified_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    verification_note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    area: Mapped[HazardArea | None] = relationship()
    category: Mapped[HazardCategory | None] = relationship()
    department = relationship("Department")
    assignee = relationship("Person", foreign_keys=[assignee_id])
    reporter = relationship("User", foreign_keys=[reporter_id])
    photos: Mapped[list[HazardPhoto]] = relationship(
        back_populates="hazard", cascade="all, delete-orphan", order_by="HazardPhoto.id"
    )
    events: Mapped[list[HazardEvent]] = relationship(
        back_populates="hazard", cascade="all, delete-orphan", order_by="HazardEvent.id"
    )

    @property
    def code(self) -> str:
        """The number people quote: YH-00042."""
        return f"YH-{self.id:05d}"

    def photos_of(self, stage: str) -> list[HazardPhoto]:
        return [p for p in self.photos if p.stage == stage]


class HazardPhoto(Base):
    """A photo of a hazard (as reported, or of its rectification): re-encoded JPEG without EXIF."""

    __tablename__ = "hazard_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazard.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    stored_file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id", ondelete="CASCADE"))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    hazard: Mapped[Hazard] = relationship(back_populates="photos")
    stored_file = relationship("StoredFile")


class HazardEvent(Base):
    """One step of a hazard's life: who did what, when, and the state, grade and deadline it left behind.

    The state of every hazard at any past moment is its last event at or before it (counts as of a date).
    """

    __tablename__ = "hazard_event"
    __table_args__ = (Index("ix_hazard_event_enterprise_at", "enterprise_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazard.id", ondelete="CASCADE"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    grade: Mapped[str | None] = mapped_column(String(16))
    deadline: Mapped[dt.datetime | None] = mapped_column(DateTime)
    note: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    hazard: Mapped[Hazard] = relationship(back_populates="events")
    actor = relationship("User")
