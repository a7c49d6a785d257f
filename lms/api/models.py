"""API keys, the calls made with them, their rate windows, and the xAPI statements sent to an LRS."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import Base, TimestampMixin, utcnow
from lms.org.models import User

SCOPES = ("people:read", "people:write", "records:read", "records:write", "status:read", "certificates:read")
READ_SCOPES = tuple(s for s in SCOPES if s.endswith(":read"))


class ApiKey(TimestampMixin, Base):
    """A key for the JSON API: of one enterprise, or of a regulator over a scope of enterprises.

    The secret is shown once when the key is made; only its SHA-256 is kept (the secret is 32 random bytes, so a
    slow hash adds nothing). ``prefix`` is the public part of the key, shown in lists and logs.
    """

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    # An enterprise's key; None for a regulator's key (its enterprises are in api_key_reach).
    enterprise_id: Mapped[int | None] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), index=True
    )
    regulator_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(200))  # space-separated
    rate_per_minute: Mapped[int] = mapped_column(Integer, default=120)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    regulator: Mapped[User | None] = relationship(foreign_keys=[regulator_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    @property
    def scope_list(self) -> list[str]:
        return [s for s in self.scopes.split() if s]


class ApiKeyEnterprise(Base):
    """An enterprise a regulator's key reaches (and only while the regulator is still assigned to it)."""

    __tablename__ = "api_key_reach"

    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_key.id", ondelete="CASCADE"), primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), primary_key=True
    )


class ApiRateWindow(Base):
    """Calls of a key in one minute (UTC, epoch minutes): the rate limit, shared by every worker."""

    __tablename__ = "api_rate_window"

    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_key.id", ondelete="CASCADE"), primary_key=True)
    minute: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    calls: Mapped[int] = mapped_column(Integer, default=0)


class ApiCall(Base):
    """One call made with a key (kept bounded: the oldest rows beyond ``LMS_API_LOG_ROWS`` are pruned)."""

    __tablename__ = "api_call"
    __table_args__ = (Index("ix_api_call_key_at", "api_key_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_key.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(300))
    status: Mapped[int] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    address: Mapped[str | None] = mapped_column(String(64))


class XapiDelivery(Base):
    """A statement sent (or to send) to the configured LRS: sent once, by its id, whatever the retries."""

    __tablename__ = "xapi_delivery"
    __table_args__ = (Index("ix_xapi_delivery_enterprise_sent", "enterprise_id", "sent_at"),)

    statement_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
