"""Certificate numbers (``PREFIX-YYYY-000123``) and verification codes.

Numbers come from a ``certificate_counter`` row incremented with a plain UPDATE inside the issuing
transaction: on PostgreSQL the UPDATE holds the row lock until commit, on SQLite writers are serialised,
so two transactions never read the same ``last``; the unique index on ``certificate.number`` is the backstop.
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from certificates.models import CertificateCounter
from lms.core.db import db

CODE_BYTES = 16  # 128 bits
_PREFIX_CLEAN = re.compile(r"[^A-Z0-9]+")
NUMBER_RE = re.compile(r"^[A-Z0-9]{1,16}-\d{4}-\d{6,}$")


def clean_prefix(value: str | None, fallback: str = "CERT") -> str:
    """Return ``value`` as a number prefix: upper-case letters and digits only, at most 16."""
    cleaned = _PREFIX_CLEAN.sub("", (value or "").upper())[:16]
    return cleaned or fallback


def format_number(prefix: str, year: int, seq: int) -> str:
    """Return the printed number, e.g. ``GA-2026-000123``."""
    return f"{prefix}-{year:04d}-{seq:06d}"


def next_number(prefix: str, year: int) -> str:
    """Allocate the next number of ``prefix`` in ``year`` within the current transaction."""
    session = db.session
    for _attempt in range(3):
        stmt = (
            update(CertificateCounter)
            .where(CertificateCounter.prefix == prefix, CertificateCounter.year == year)
            .values(last=CertificateCounter.last + 1)
            .execution_options(synchronize_session=False)
        )
        if session.execute(stmt).rowcount:
            last = session.scalar(
                select(CertificateCounter.last)
                .where(CertificateCounter.prefix == prefix, CertificateCounter.year == year)
                .execution_options(populate_existing=True)
            )
            return format_number(prefix, year, int(last))
        try:
            with session.begin_nested():
                session.add(CertificateCounter(prefix=prefix, year=year, last=1))
            return format_number(prefix, year, 1)
        except IntegrityError:  # another transaction created the row first: increment it instead
            continue
    raise RuntimeError(f"could not allocate a certificate number for {prefix}-{year}")


def new_code() -> str:
    """Return a fresh verification code: 128 random bits in base32 (26 characters, no padding)."""
    return base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode("ascii").rstrip("=")


def normalize_code(value: str | None) -> str:
    """Return a typed code without spaces, hyphens or case differences."""
    return re.sub(r"[\s\-]+", "", value or "").upper()


def normalize_number(value: str | None) -> str:
    """Return a typed number trimmed and upper-cased."""
    return re.sub(r"\s+", "", value or "").upper()


def codes_match(stored: str, given: str) -> bool:
    """Compare a stored and a typed code in constant time."""
    return hmac.compare_digest(normalize_code(stored).encode(), normalize_code(given).encode())
