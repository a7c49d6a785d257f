"""Risk weights per regulator account, monthly factor values per enterprise, listed supervision (挂牌督查)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, DateTime, Float, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import Base, utcnow
from lms.org.models import Enterprise, User


class RiskWeight(Base):
    """A regulator account's own weight (and saturation) for one factor; without a row the default applies.

    Weights belong to the account, not to a regulator organisation: the code has no regulator organisation
    (a regulator is an account with ``RegulatorAssignment`` rows), and two officers of one office may judge
    differently. The factor values themselves are the same for everybody.
    """

    __tablename__ = "oversight_risk_weight"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    factor: Mapped[str] = mapped_column(String(32), primary_key=True)
    weight: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    # For a count factor: the count at which the factor reaches its full weight (NULL: the default).
    full_at: Mapped[Decimal | None] = mapped_column(Numeric(9, 2))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class RiskSnapshot(Base):
    """The value of one factor for one enterprise in one month (the month's end, or the day it was taken).

    Raw values (a share, a count) are kept, not scores: each regulator's trend is scored with their own
    weights, so that tuning a weight re-scores the history the same way as today.
    """

    __tablename__ = "oversight_risk_snapshot"
    __table_args__ = (UniqueConstraint("enterprise_id", "month", "factor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    month: Mapped[dt.date] = mapped_column(Date)  # the first day of the month
    factor: Mapped[str] = mapped_column(String(32))
    value: Mapped[float | None] = mapped_column(Float)  # NULL: no data that month (nobody subject …)
    as_of: Mapped[dt.date] = mapped_column(Date)  # the enterprise-local day the value is of
    taken_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Listing(Base):
    """An enterprise under listed supervision (挂牌督查): listed with a reason and a deadline, lifted with a note.

    At most one listing of an enterprise is open at a time (a partial unique index).
    """

    __tablename__ = "oversight_listing"
    __table_args__ = (
        Index(
            "uq_oversight_listing_open",
            "enterprise_id",
            unique=True,
            sqlite_where=text("lifted_at IS NULL"),
            postgresql_where=text("lifted_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    deadline_at: Mapped[dt.datetime] = mapped_column(
        DateTime
    )  # UTC; typed and shown in the enterprise's zone
    listed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    listed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    lifted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    lift_note: Mapped[str | None] = mapped_column(Text)

    enterprise: Mapped[Enterprise] = relationship()
    listed_by: Mapped[User | None] = relationship(foreign_keys=[listed_by_id])
    lifted_by: Mapped[User | None] = relationship(foreign_keys=[lifted_by_id])

    @property
    def is_open(self) -> bool:
        return self.lifted_at is None
