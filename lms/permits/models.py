"""Special operations (作业类型) with their needs per role, and permits (作业票) with the people checked."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import Base, TimestampMixin, utcnow

# What a person needs for a work (per role of the permit, or for every role).
NEED_REQUIREMENT = "requirement"  # a requirement of the training matrix, compliant on the day
NEED_SPECIAL_OPS = "special_ops"  # 特种作业操作证 of a category (a ledger certificate record)
NEED_SPECIAL_EQUIPMENT = "special_equipment"  # 特种设备作业人员证 of an item (a ledger certificate record)
NEED_INTERNAL = "internal"  # a certificate this system issued (certificates/), valid on the day
NEED_KINDS = (NEED_REQUIREMENT, NEED_SPECIAL_OPS, NEED_SPECIAL_EQUIPMENT, NEED_INTERNAL)

APPROVED = "approved"
REFUSED = "refused"
PERMIT_STATUSES = (APPROVED, REFUSED)


class PermitWork(TimestampMixin, Base):
    """One kind of special operation of an enterprise (动火作业 …), from a preset or added, editable."""

    __tablename__ = "permit_work"
    __table_args__ = (UniqueConstraint("enterprise_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(32))  # the preset's key (hot_work …) or custom-<n>
    name: Mapped[str] = mapped_column(String(60))
    citation: Mapped[str | None] = mapped_column(Text)
    roles: Mapped[str] = mapped_column(String(300))  # the roles a permit names, "|"-separated, in order
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    needs: Mapped[list[PermitNeed]] = relationship(
        back_populates="work", cascade="all, delete-orphan", order_by="PermitNeed.id"
    )

    @property
    def role_list(self) -> list[str]:
        return [r for r in (self.roles or "").split("|") if r]


class PermitNeed(Base):
    """What a person in ``role`` (None: in any role) needs for a work: a requirement or a certificate."""

    __tablename__ = "permit_need"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_id: Mapped[int] = mapped_column(ForeignKey("permit_work.id", ondelete="CASCADE"), index=True)
    role: Mapped[str | None] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(24))
    requirement_id: Mapped[int | None] = mapped_column(
        ForeignKey("training_requirement.id", ondelete="CASCADE"), index=True
    )
    # certificates: the text the certificate's operation (topic) or title must contain, e.g. 焊接与热切割
    match: Mapped[str | None] = mapped_column(String(200))

    work: Mapped[PermitWork] = relationship(back_populates="needs")
    requirement = relationship("Requirement")


class Permit(TimestampMixin, Base):
    """A saved check (作业票): the work, place and local time window, who checked and the result."""

    __tablename__ = "permit"
    __table_args__ = (Index("ix_permit_enterprise_checked_on", "enterprise_id", "checked_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    work_id: Mapped[int | None] = mapped_column(ForeignKey("permit_work.id", ondelete="SET NULL"), index=True)
    work_name: Mapped[str] = mapped_column(String(60))  # as it was named when checked
    place: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC
    ends_at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC
    status: Mapped[str] = mapped_column(String(16))  # approved / refused
    checked_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    checked_on: Mapped[dt.date] = mapped_column(
        Date
    )  # the enterprise's local day of the check (monthly counts)
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    checked_by_name: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)

    people: Mapped[list[PermitPerson]] = relationship(
        back_populates="permit", cascade="all, delete-orphan", order_by="PermitPerson.id"
    )


class PermitPerson(Base):
    """One person named on a permit, in a role, with the result and reasons as they were at the check."""

    __tablename__ = "permit_person"

    id: Mapped[int] = mapped_column(primary_key=True)
    permit_id: Mapped[int] = mapped_column(ForeignKey("permit.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"), index=True)
    employee_no: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(30))
    qualified: Mapped[bool] = mapped_column(Boolean)
    # [{"code", "reason": {"template", "params"}, "fix": {"template", "params"}}]
    reasons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    permit: Mapped[Permit] = relationship(back_populates="people")
