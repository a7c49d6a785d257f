"""Frameworks of indicators, evaluation campaigns and their scores, safety notices and their receipts."""

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

# Framework kinds.
FRAMEWORK_CULTURE = "culture"  # enterprise safety culture (AQ/T 9004-2008)
FRAMEWORK_POST = "post"  # demonstration-post scorecard (安全示范岗)
FRAMEWORK_KINDS = (FRAMEWORK_CULTURE, FRAMEWORK_POST)

# Indicator kinds.
GROUP = "group"  # a node whose children carry the score
AUTOMATIC = "automatic"  # computed from the LMS, mapped to points
MANUAL = "manual"  # scored by evaluators on a scale, with evidence
DEDUCTION = "deduction"  # points taken off per occurrence
VETO = "veto"  # 一票否决: manual or automatic
INDICATOR_KINDS = (GROUP, AUTOMATIC, MANUAL, DEDUCTION, VETO)
WEIGHTED_KINDS = (GROUP, AUTOMATIC, MANUAL)  # the kinds whose weights sum to 100% per level

# The four layers of safety culture.
LAYERS = ("理念文化", "制度文化", "行为文化", "物态文化")

# Campaign steps, in order.
DRAFT = "draft"
SELF_ASSESSMENT = "self_assessment"
REVIEW = "review"
CALCULATED = "calculated"
PUBLISHED = "published"
AWARDED = "awarded"
CLOSED = "closed"
CAMPAIGN_STEPS = (DRAFT, SELF_ASSESSMENT, REVIEW, CALCULATED, PUBLISHED, AWARDED, CLOSED)
FROZEN_STEPS = (PUBLISHED, AWARDED, CLOSED)

# Units a campaign evaluates.
UNIT_POST = "post"
UNIT_DEPARTMENT = "department"  # a team or a department, with its sub-departments
UNIT_DEPARTMENT_POST = "department_post"
UNIT_KINDS = (UNIT_POST, UNIT_DEPARTMENT, UNIT_DEPARTMENT_POST)

STAGE_SELF = "self"
STAGE_REVIEW = "review"

DEFAULT_BANDS = [
    {"min": 90, "label": "示范岗"},
    {"min": 80, "label": "良好"},
    {"min": 60, "label": "合格"},
    {"min": 0, "label": "待改进"},
]


class Framework(TimestampMixin, Base):
    """A tree of weighted indicators, owned by an enterprise."""

    __tablename__ = "culture_framework"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default=FRAMEWORK_POST)
    preset: Mapped[str | None] = mapped_column(String(50))
    description: Mapped[str | None] = mapped_column(Text)
    max_points: Mapped[Decimal] = mapped_column(Numeric(7, 2), default=Decimal("100"))
    award_threshold: Mapped[Decimal] = mapped_column(Numeric(7, 2), default=Decimal("90"))
    bands: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    indicators: Mapped[list[Indicator]] = relationship(
        back_populates="framework",
        order_by="Indicator.sort_order, Indicator.id",
        cascade="all, delete-orphan",
    )


class Indicator(Base):
    """One indicator of a framework: a group, or a leaf scored automatically, manually, by deduction or veto.

    ``weight`` is the share (percent) of the parent's points; siblings of weighted kinds sum to 100.
    ``config`` by kind: automatic {metric, mapping: {type: linear, zero, full} | {type: bands, bands: [[min, pct]]}};
    manual {scale_max}; deduction {metric?, points_per, cap}; veto {metric?} (no metric: an evaluator decides).
    """

    __tablename__ = "culture_indicator"

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(
        ForeignKey("culture_framework.id", ondelete="CASCADE"), index=True
    )
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("culture_indicator.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str | None] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), default=MANUAL)
    weight: Mapped[Decimal] = mapped_column(Numeric(7, 2), default=Decimal("0"))
    layer: Mapped[str | None] = mapped_column(String(16))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    config: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    framework: Mapped[Framework] = relationship(back_populates="indicators")


class Campaign(TimestampMixin, Base):
    """One evaluation round (评价活动) of a framework over a period and a set of units."""

    __tablename__ = "culture_campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("culture_framework.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    period_kind: Mapped[str] = mapped_column(String(16), default="quarter")  # quarter / year
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)  # inclusive
    unit_kind: Mapped[str] = mapped_column(String(20), default=UNIT_DEPARTMENT_POST)
    status: Mapped[str] = mapped_column(String(20), default=DRAFT)
    award_threshold: Mapped[Decimal] = mapped_column(Numeric(7, 2), default=Decimal("90"))
    bands: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # The framework as it was when calculated, so a published result is reproducible whatever happens later.
    framework_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    calculated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Calculated before the period ended: the results are provisional (暂定) until calculated again after it.
    provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    awarded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    framework: Mapped[Framework] = relationship()
    units: Mapped[list[CampaignUnit]] = relationship(
        back_populates="campaign", order_by="CampaignUnit.id", cascade="all, delete-orphan"
    )
    evaluators: Mapped[list[CampaignEvaluator]] = relationship(cascade="all, delete-orphan")


class CampaignEvaluator(Base):
    """A user assigned to score a campaign."""

    __tablename__ = "culture_campaign_evaluator"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("culture_campaign.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)


class CampaignUnit(Base):
    """A unit evaluated in a campaign (a post, a department subtree, or a post within a department) and its result."""

    __tablename__ = "culture_campaign_unit"
    __table_args__ = (UniqueConstraint("campaign_id", "department_id", "post_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("culture_campaign.id", ondelete="CASCADE"), index=True
    )
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("post.id", ondelete="SET NULL"))
    label: Mapped[str] = mapped_column(String(300))
    leader_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    headcount: Mapped[int | None] = mapped_column(Integer)
    self_submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    score: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))
    level: Mapped[str | None] = mapped_column(String(30))
    vetoed: Mapped[bool] = mapped_column(Boolean, default=False)
    veto_reasons: Mapped[list[str] | None] = mapped_column(JSON)
    rank: Mapped[int | None] = mapped_column(Integer)
    awarded: Mapped[bool] = mapped_column(Boolean, default=False)
    # {indicator_id: {name, kind, fraction, points, max_points, value, source}} as calculated.
    breakdown: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    campaign: Mapped[Campaign] = relationship(back_populates="units")


class Score(Base):
    """A manual entry for a unit and an indicator at a stage (self-assessment or review)."""

    __tablename__ = "culture_score"
    __table_args__ = (UniqueConstraint("unit_id", "indicator_id", "stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("culture_campaign_unit.id", ondelete="CASCADE"), index=True
    )
    indicator_id: Mapped[int] = mapped_column(ForeignKey("culture_indicator.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(10))
    value: Mapped[Decimal] = mapped_column(Numeric(9, 2))  # scale value, occurrences, or 1/0 for a veto
    note: Mapped[str | None] = mapped_column(Text)
    scored_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    scored_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    attachments: Mapped[list[ScoreAttachment]] = relationship(cascade="all, delete-orphan")


class ScoreAttachment(Base):
    """Evidence (image or PDF) attached to a manual score."""

    __tablename__ = "culture_score_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    score_id: Mapped[int] = mapped_column(ForeignKey("culture_score.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id", ondelete="CASCADE"))

    file: Mapped[Any] = relationship("StoredFile")


class AutoValue(Base):
    """An automatic indicator's value for a unit, frozen with its inputs when calculated."""

    __tablename__ = "culture_auto_value"
    __table_args__ = (UniqueConstraint("unit_id", "indicator_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("culture_campaign_unit.id", ondelete="CASCADE"), index=True
    )
    indicator_id: Mapped[int] = mapped_column(ForeignKey("culture_indicator.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(50))
    value: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# ---------------------------------------------------------------- notices (安全信息发布)


class Notice(TimestampMixin, Base):
    """A safety notice published to departments, posts, roles or everyone; people acknowledge it (签收)."""

    __tablename__ = "notice"
    __table_args__ = (Index("ix_notice_enterprise_published", "enterprise_id", "published_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    body_md: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")  # sanitised
    audience_all: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft / published
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    targets: Mapped[list[NoticeTarget]] = relationship(cascade="all, delete-orphan")
    attachments: Mapped[list[NoticeAttachment]] = relationship(cascade="all, delete-orphan")
    publicity: Mapped[list[NoticePublicity]] = relationship(
        cascade="all, delete-orphan", order_by="NoticePublicity.held_on"
    )


class NoticeTarget(Base):
    """Who a notice is addressed to: a department (with its sub-departments), a post or a responsibility role."""

    __tablename__ = "notice_target"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # department / post / role
    ref_id: Mapped[int] = mapped_column(Integer)


class NoticeAck(Base):
    """A recipient of a published notice; ``acknowledged_at`` set when they sign for it."""

    __tablename__ = "notice_ack"
    __table_args__ = (Index("ix_notice_ack_person_ack", "person_id", "acknowledged_at"),)

    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class NoticeAttachment(Base):
    """A file attached to a notice."""

    __tablename__ = "notice_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id", ondelete="CASCADE"))

    file: Mapped[Any] = relationship("StoredFile")


class NoticePublicity(Base):
    """Offline publicity of a notice (a board, a meeting): date, place, photo."""

    __tablename__ = "notice_publicity"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"), index=True)
    held_on: Mapped[dt.date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    photo_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id", ondelete="SET NULL"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    photo: Mapped[Any] = relationship("StoredFile")
