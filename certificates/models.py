"""Certificates, their per-enterprise templates and the number counter."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
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

from lms.core import timeutil
from lms.core.db import Base, TimestampMixin, utcnow
from lms.core.storage import StoredFile
from lms.org.models import Enterprise, Person

VALID = "valid"
EXPIRED = "expired"
REVOKED = "revoked"
STATUSES = (VALID, EXPIRED, REVOKED)

KIND_COURSE = "course"
KIND_EXAM = "exam"
KIND_REQUIREMENT = "requirement"
KIND_MANUAL = "manual"

REISSUED_REASON = "reissued"

DEFAULT_WORDING = (
    "{name}（工号 {employee_no}）于 {issued_on} 完成《{course}》培训，共 {hours} 学时，考核合格，特发此证。"
)


class CertificateTemplate(TimestampMixin, Base):
    """How an enterprise's certificates look; every change bumps ``version`` so PDFs regenerate."""

    __tablename__ = "certificate_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), unique=True)
    title: Mapped[str] = mapped_column(String(60), default="培训合格证书")
    subtitle: Mapped[str | None] = mapped_column(String(100), default="Certificate of Training")
    primary_color: Mapped[str] = mapped_column(String(7), default="#1f4e79")
    accent_color: Mapped[str] = mapped_column(String(7), default="#c9a227")
    wording: Mapped[str] = mapped_column(Text, default=DEFAULT_WORDING)
    issuer: Mapped[str | None] = mapped_column(String(200))  # empty: the enterprise's name
    number_prefix: Mapped[str | None] = mapped_column(String(16))  # empty: the enterprise's code
    landscape: Mapped[bool] = mapped_column(Boolean, default=True)
    logo_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id", ondelete="SET NULL"))
    seal_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id", ondelete="SET NULL"))
    signature_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    enterprise: Mapped[Enterprise] = relationship()
    logo_file: Mapped[StoredFile | None] = relationship(foreign_keys=[logo_file_id])
    seal_file: Mapped[StoredFile | None] = relationship(foreign_keys=[seal_file_id])
    signature_file: Mapped[StoredFile | None] = relationship(foreign_keys=[signature_file_id])


class CertificateCounter(Base):
    """The last number handed out per prefix and year (incremented inside the issuing transaction)."""

    __tablename__ = "certificate_counter"

    prefix: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class VerifyFailure(Base):
    """A failed public verification, for throttling guesses per client address (in the database: no node state).

    Kept apart from sign-in attempts so that mistyped codes never lock a factory's shared address out of signing in.
    """

    __tablename__ = "certificate_verify_failure"
    __table_args__ = (Index("ix_certificate_verify_failure_address_at", "address", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)


class Certificate(TimestampMixin, Base):
    """One issued certificate: a snapshot of who achieved what, verifiable by number and code.

    ``source`` names the achievement (``course:3:person:7``); with ``generation`` it is unique, so a re-sent
    signal never issues a second certificate, while a reissue (a new number for the same achievement) takes
    the next generation.
    """

    __tablename__ = "certificate"
    __table_args__ = (
        UniqueConstraint("source", "generation"),
        Index("ix_certificate_enterprise_status", "enterprise_id", "status"),
        Index("ix_certificate_enterprise_valid_until", "enterprise_id", "valid_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    verification_code: Mapped[str] = mapped_column(String(40))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(160))
    generation: Mapped[int] = mapped_column(Integer, default=1)
    kind: Mapped[str] = mapped_column(String(16))  # course / exam / requirement / manual
    course_id: Mapped[int | None] = mapped_column(Integer, index=True)
    exam_id: Mapped[int | None] = mapped_column(Integer, index=True)
    requirement_id: Mapped[int | None] = mapped_column(Integer, index=True)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("training_record.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(300))
    holder_name: Mapped[str] = mapped_column(String(100))
    employee_no: Mapped[str] = mapped_column(String(64))
    enterprise_name: Mapped[str] = mapped_column(String(200))
    hours: Mapped[Decimal] = mapped_column(Numeric(7, 2), default=Decimal("0"))
    score: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))
    issued_on: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=VALID)
    revoked_reason: Mapped[str | None] = mapped_column(String(300))
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reissued_from_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id", ondelete="SET NULL"))
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    pdf_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id", ondelete="SET NULL"))
    template_version: Mapped[int | None] = mapped_column(Integer)  # version of the template the PDF shows
    rendered_key: Mapped[str | None] = mapped_column(String(64))  # what the PDF was rendered from (hash)

    person: Mapped[Person] = relationship()
    pdf_file: Mapped[StoredFile | None] = relationship(foreign_keys=[pdf_file_id])

    def status_on(self, day: dt.date) -> str:
        """Return the status on ``day``: revoked wins; past ``valid_until`` it is expired."""
        if self.status == REVOKED:
            return REVOKED
        if self.valid_until is not None and self.valid_until < day:
            return EXPIRED
        return VALID

    @property
    def current_status(self) -> str:
        """Return the status today (expiry computed, whether or not the sweep has run)."""
        return self.status_on(timeutil.today(self))
