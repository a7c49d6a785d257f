"""Requirements (the training matrix), exemptions, subjection history and in-app notifications."""

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
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import Base, TimestampMixin, utcnow

# What a requirement asks for.
KIND_COURSE = "course"  # a course completed (or its exam passed)
KIND_HOURS = "hours"  # hours (学时) in given categories within a period
KIND_CERTIFICATE = "certificate"  # an external certificate held and valid
KIND_THREE_LEVEL = (
    "three_level"  # 三级安全教育: company/workshop/team records after hire, post change or return
)
REQUIREMENT_KINDS = (KIND_COURSE, KIND_HOURS, KIND_CERTIFICATE, KIND_THREE_LEVEL)

# To whom it applies.
APPLIES_EVERYONE = "everyone"
APPLIES_ROLE = "role"
APPLIES_POST = "post"
APPLIES_DEPARTMENT = "department"
APPLIES_TO = (APPLIES_EVERYONE, APPLIES_ROLE, APPLIES_POST, APPLIES_DEPARTMENT)

# When it recurs.
RECUR_ONCE = "once"  # due within N days of becoming subject, then done for good
RECUR_ROLLING = "rolling"  # valid M months after completion, then due again
RECUR_CALENDAR_YEAR = "calendar_year"  # to be met within each calendar year (fixed window)
RECURRENCES = (RECUR_ONCE, RECUR_ROLLING, RECUR_CALENDAR_YEAR)

# Statuses of a person against a requirement.
NOT_STARTED = "not_started"
IN_PROGRESS = "in_progress"
COMPLETE = "complete"
DUE_SOON = "due_soon"
OVERDUE = "overdue"
EXPIRED = "expired"
EXEMPT = "exempt"
IN_GRACE = "in_grace"  # the due date has passed, the grace period has not: not compliant, not yet late
STATUSES = (NOT_STARTED, IN_PROGRESS, COMPLETE, DUE_SOON, IN_GRACE, OVERDUE, EXPIRED, EXEMPT)
COMPLIANT = (COMPLETE, EXEMPT)


class Requirement(TimestampMixin, Base):
    """What a role, a post, a department subtree or everyone in an enterprise must complete, and by when."""

    __tablename__ = "training_requirement"
    __table_args__ = (UniqueConstraint("enterprise_id", "preset_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    applies_to: Mapped[str] = mapped_column(String(16), default=APPLIES_EVERYONE)
    role_id: Mapped[int | None] = mapped_column(ForeignKey("responsibility_role.id", ondelete="CASCADE"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"))
    # course: course_id (no foreign key: courses sit on a floor beside, not below, the ledger's readers)
    course_id: Mapped[int | None] = mapped_column(Integer)
    # hours: hours_required in categories ("" or NULL = any category), "|"-separated
    hours_required: Mapped[Decimal] = mapped_column(Numeric(7, 2), default=Decimal("0"))
    categories: Mapped[str | None] = mapped_column(String(500))
    # certificate: the record's category and/or topic must match when given
    certificate_category: Mapped[str | None] = mapped_column(String(100))
    certificate_topic: Mapped[str | None] = mapped_column(String(300))
    recurrence: Mapped[str] = mapped_column(String(16), default=RECUR_ONCE)
    recurrence_months: Mapped[int | None] = mapped_column(Integer)
    initial_days: Mapped[int] = mapped_column(Integer, default=0)  # due within N days of becoming subject
    grace_days: Mapped[int] = mapped_column(Integer, default=0)
    reminder_days: Mapped[int] = mapped_column(Integer, default=30)
    # People who became subject before this date are not tracked (e.g. before the system went live).
    tracked_from: Mapped[dt.date | None] = mapped_column(Date)
    preset_key: Mapped[str | None] = mapped_column(String(64))  # statutory preset this row came from
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # 岗前: only training dated before the person started (plus grace_days, shown as "in grace") counts.
    pre_job: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Issue a certificate (certificates package) to each person who fulfils it, once per validity period.
    issue_certificate: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    @property
    def category_list(self) -> list[str]:
        return [c for c in (self.categories or "").split("|") if c]

    @property
    def hours(self) -> Decimal:
        """The hours a certificate of this requirement shows (hours requirements; 0 otherwise)."""
        if self.kind != KIND_HOURS:
            return Decimal("0")
        return self.hours_required or Decimal("0")


class Exemption(Base):
    """A person excused from a requirement, with the reason and who granted it."""

    __tablename__ = "training_exemption"
    __table_args__ = (Index("ix_training_exemption_person_requirement", "person_id", "requirement_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    requirement_id: Mapped[int] = mapped_column(ForeignKey("training_requirement.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(500))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    granted_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    requirement: Mapped[Requirement] = relationship()


class Subjection(Base):
    """History: ``person`` was subject to ``requirement`` from ``start_on`` until ``end_on`` (open: still)."""

    __tablename__ = "training_subjection"
    __table_args__ = (Index("ix_training_subjection_person", "person_id", "requirement_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    requirement_id: Mapped[int] = mapped_column(ForeignKey("training_requirement.id", ondelete="CASCADE"))
    start_on: Mapped[dt.date] = mapped_column(Date)
    end_on: Mapped[dt.date | None] = mapped_column(Date)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    requirement: Mapped[Requirement] = relationship()


class Notification(Base):
    """An in-app message (due soon, overdue, a summary for managers); ``key`` stops duplicates."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("user_id", "key"),
        Index("ix_notification_user_read", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    emailed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # {"msg": English template, "args": {...}, "body": …, "body_args": …}: shown in the reader's language
    # (lms.training.notifications); rows without it show ``title``.
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class CoverageSnapshot(Base):
    """Coverage totals at the end of a closed month, for the trend (past months are history).

    Filled by ``coverage.trend`` on first use; ``lms.training.listeners`` deletes the rows a change could
    alter (a record completed on or before the month end, an exemption, a requirement, the organisation).
    ``filter_key`` identifies the person filter (department subtree, role, post; "" = everyone).
    """

    __tablename__ = "training_coverage_snapshot"
    __table_args__ = (UniqueConstraint("enterprise_id", "filter_key", "month_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"))
    filter_key: Mapped[str] = mapped_column(String(40), default="")
    month_end: Mapped[dt.date] = mapped_column(Date)
    people: Mapped[int] = mapped_column(Integer, default=0)
    compliant: Mapped[int] = mapped_column(Integer, default=0)
    late: Mapped[int] = mapped_column(Integer, default=0)
    due_soon: Mapped[int] = mapped_column(Integer, default=0)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class StatusRow(Base):
    """The status of one person against one requirement as of ``StatusState.as_of`` (a cache).

    ``status.status_query`` is the truth; this table holds its rows for today so that dashboards read a table
    instead of evaluating the ledger. ``lms.training.cache`` fills it (whole enterprise once a day or after a
    change of requirements or departments; single people after a change of their records, roles, post…);
    ``lms.training.listeners`` marks what a change makes stale, in the same transaction as the change.
    """

    __tablename__ = "training_status"
    __table_args__ = (
        # valid_until last: the expiring rows' count is a range of this index alone.
        Index("ix_training_status_enterprise_status_valid_until", "enterprise_id", "status", "valid_until"),
        Index("ix_training_status_enterprise_requirement", "enterprise_id", "requirement_id", "status"),
    )

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    requirement_id: Mapped[int] = mapped_column(
        ForeignKey("training_requirement.id", ondelete="CASCADE"), primary_key=True
    )
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    hours_done: Mapped[Decimal | None] = mapped_column(Numeric(9, 2))
    hours_due: Mapped[Decimal | None] = mapped_column(Numeric(9, 2))
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    since: Mapped[dt.date | None] = mapped_column(Date)


class StatusState(Base):
    """Per enterprise: the day ``training_status`` was computed for (NULL: stale, recompute everything)."""

    __tablename__ = "training_status_state"

    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), primary_key=True
    )
    as_of: Mapped[dt.date | None] = mapped_column(Date)
    refreshed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    rows: Mapped[int] = mapped_column(Integer, default=0)


class StatusDirty(Base):
    """A person whose cached status rows are stale (their records, roles, post… changed since)."""

    __tablename__ = "training_status_dirty"

    person_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # no FK: the person may be gone
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)


class StatusPerson(Base):
    """Per person, today's counts over their ``training_status`` rows (what every coverage figure groups)."""

    __tablename__ = "training_status_person"
    __table_args__ = (Index("ix_training_status_person_enterprise", "enterprise_id"),)

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"))
    n_req: Mapped[int] = mapped_column(Integer, default=0)
    n_ok: Mapped[int] = mapped_column(Integer, default=0)
    n_late: Mapped[int] = mapped_column(Integer, default=0)
    n_due_soon: Mapped[int] = mapped_column(Integer, default=0)
