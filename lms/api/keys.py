"""API keys: make one (the secret shown once, kept as a hash), revoke it, find the key of a call, count its
calls against its rate limit, and log them. Plain services: they flush, the caller's unit commits."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import os
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, select

from lms.api.models import READ_SCOPES, SCOPES, ApiCall, ApiKey, ApiKeyEnterprise, ApiRateWindow
from lms.core.db import db, utcnow
from lms.core.errors import DomainError, NotFound
from lms.core.i18n import msg
from lms.org.models import REGULATOR, Enterprise, RegulatorAssignment, User

TOKEN_PREFIX = "lms_"
DEFAULT_RATE = 120  # calls per minute
MAX_RATE = 100_000
LOG_PRUNE_EVERY = 1_000  # one call in this many prunes the log


@dataclass(frozen=True)
class KeyInfo:
    """What a call needs to know about its key (plain values: it outlives the session that read it)."""

    id: int
    prefix: str
    enterprise_id: int | None
    regulator_id: int | None
    scopes: frozenset[str]
    rate_per_minute: int


def hash_token(token: str) -> str:
    """The stored form of a key's secret."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_scopes(scopes: Iterable[str], *, regulator: bool) -> list[str]:
    chosen = sorted(set(scopes))
    unknown = [s for s in chosen if s not in SCOPES]
    if unknown:
        raise DomainError(msg("unknown scope %(scope)s", scope=", ".join(unknown)), field="scopes")
    if not chosen:
        raise DomainError(msg("choose at least one scope"), field="scopes")
    if regulator and any(s not in READ_SCOPES for s in chosen):
        raise DomainError(msg("a regulator's key may only read"), field="scopes")
    return chosen


def create_key(
    *,
    name: str,
    scopes: Iterable[str],
    actor: User | None,
    enterprise: Enterprise | None = None,
    regulator: User | None = None,
    enterprise_ids: Iterable[int] = (),
    rate_per_minute: int = DEFAULT_RATE,
) -> tuple[ApiKey, str]:
    """Make a key of ``enterprise``, or of ``regulator`` over ``enterprise_ids``; return it and its secret.

    The secret is returned once and never stored: only its SHA-256 is.
    """
    name = (name or "").strip()[:100]
    if not name:
        raise DomainError(msg("name the key (who or what uses it)"), field="name")
    if (enterprise is None) == (regulator is None):
        raise DomainError(msg("a key belongs to one enterprise or to one regulator"))
    if not 1 <= int(rate_per_minute) <= MAX_RATE:
        raise DomainError(
            msg("the rate limit must be between 1 and %(max)s calls a minute", max=MAX_RATE),
            field="rate_per_minute",
        )
    chosen = _check_scopes(scopes, regulator=regulator is not None)
    reach: list[int] = []
    if regulator is not None:
        if regulator.app_role != REGULATOR:
            raise DomainError(msg("this account is not a regulator"))
        assigned = set(
            db.session.scalars(
                select(RegulatorAssignment.enterprise_id).where(RegulatorAssignment.user_id == regulator.id)
            )
        )
        reach = sorted(set(enterprise_ids))
        if not reach:
            raise DomainError(msg("choose the enterprises the key reaches"), field="enterprises")
        if any(e not in assigned for e in reach):
            raise DomainError(
                msg("a regulator's key reaches only enterprises the regulator oversees"), field="enterprises"
            )
    public = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}{public}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        enterprise_id=enterprise.id if enterprise is not None else None,
        regulator_id=regulator.id if regulator is not None else None,
        name=name,
        prefix=f"{TOKEN_PREFIX}{public}",
        secret_hash=hash_token(token),
        scopes=" ".join(chosen),
        rate_per_minute=int(rate_per_minute),
        created_by_id=actor.id if actor is not None else None,
    )
    db.session.add(key)
    db.session.flush()
    for ent_id in reach:
        db.session.add(ApiKeyEnterprise(api_key_id=key.id, enterprise_id=ent_id))
    db.session.flush()
    return key, token


def revoke_key(key: ApiKey, *, actor: User | None) -> ApiKey:
    """Revoke a key at once: its next call is refused."""
    if key.revoked_at is not None:
        raise DomainError(msg("this key is already revoked"))
    key.revoked_at = utcnow()
    key.revoked_by_id = actor.id if actor is not None else None
    db.session.flush()
    return key


def keys_of_enterprise(enterprise_id: int) -> list[ApiKey]:
    """An enterprise's keys, newest first."""
    return list(
        db.session.scalars(
            select(ApiKey).where(ApiKey.enterprise_id == enterprise_id).order_by(ApiKey.id.desc())
        )
    )


def regulator_keys() -> list[ApiKey]:
    """Every regulator's keys, newest first (a platform administrator's list)."""
    return list(
        db.session.scalars(select(ApiKey).where(ApiKey.regulator_id.is_not(None)).order_by(ApiKey.id.desc()))
    )


def key_enterprises(key_ids: Iterable[int]) -> dict[int, list[int]]:
    """The enterprises each regulator key names (key id -> enterprise ids, in id order)."""
    out: dict[int, list[int]] = {}
    ids = sorted(set(key_ids))
    if not ids:
        return out
    for kid, eid in db.session.execute(
        select(ApiKeyEnterprise.api_key_id, ApiKeyEnterprise.enterprise_id)
        .where(ApiKeyEnterprise.api_key_id.in_(ids))
        .order_by(ApiKeyEnterprise.api_key_id, ApiKeyEnterprise.enterprise_id)
    ):
        out.setdefault(kid, []).append(eid)
    return out


def get_key(key_id: int) -> ApiKey:
    key = db.session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(msg("key not found"))
    return key


def find_key(token: str) -> KeyInfo | None:
    """The live key whose secret is ``token``; None for an unknown, malformed or revoked one."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    public, sep, _rest = token[len(TOKEN_PREFIX) :].partition("_")
    if not sep or len(public) != 8:
        return None
    key = db.session.scalar(select(ApiKey).where(ApiKey.prefix == TOKEN_PREFIX + public))
    if (
        key is None
        or not hmac.compare_digest(key.secret_hash, hash_token(token))
        or key.revoked_at is not None
    ):
        return None
    return KeyInfo(
        key.id,
        key.prefix,
        key.enterprise_id,
        key.regulator_id,
        frozenset(key.scope_list),
        key.rate_per_minute,
    )


def reachable_enterprise_ids(key: KeyInfo) -> list[int]:
    """The enterprises a key reaches now: its own; for a regulator, those named that it still oversees."""
    if key.enterprise_id is not None:
        return [key.enterprise_id]
    if key.regulator_id is None:
        return []
    return list(
        db.session.scalars(
            select(ApiKeyEnterprise.enterprise_id)
            .join(
                RegulatorAssignment,
                (RegulatorAssignment.enterprise_id == ApiKeyEnterprise.enterprise_id)
                & (RegulatorAssignment.user_id == key.regulator_id),
            )
            .join(User, (User.id == key.regulator_id) & User.is_enabled.is_(True))
            .where(ApiKeyEnterprise.api_key_id == key.id)
            .order_by(ApiKeyEnterprise.enterprise_id)
        )
    )


def count_call(key: KeyInfo, now: float | None = None) -> int:
    """Count a call of ``key``; return 0 when it is within the limit, else the seconds to wait before the next.

    A sliding window over two fixed minutes, in the database so that every worker counts the same calls: the
    calls of this minute plus those of the last one weighted by how much of it is still within 60 s. A refused
    call does not count (retrying after the answered wait succeeds; hammering does not extend the wait).
    """
    now = time.time() if now is None else now
    minute = int(now // 60)
    table = ApiRateWindow.__table__
    if db.is_sqlite:
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    stmt = insert(table).values(api_key_id=key.id, minute=minute, calls=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.api_key_id, table.c.minute], set_={"calls": table.c.calls + 1}
    ).returning(table.c.calls)
    calls = int(db.session.execute(stmt).scalar_one())
    if calls == 1:  # the first call of a minute clears the key's older windows: two rows a key at most
        db.session.execute(delete(table).where(table.c.api_key_id == key.id, table.c.minute < minute - 1))
    previous = (
        db.session.scalar(
            select(table.c.calls).where(table.c.api_key_id == key.id, table.c.minute == minute - 1)
        )
        or 0
    )
    limit = key.rate_per_minute
    into = (now % 60) / 60  # how far into this minute
    if previous * (1 - into) + calls <= limit:
        return 0
    db.session.execute(
        table.update()
        .where(table.c.api_key_id == key.id, table.c.minute == minute)
        .values(calls=table.c.calls - 1)
    )
    return retry_after(previous, calls - 1, limit, into)


def retry_after(previous: int, current: int, limit: int, into: float) -> int:
    """Seconds until one more call fits: later this minute as the last minute's weight falls, else next minute."""
    if current + 1 <= limit and previous > 0:
        needed = 1 - (limit - current - 1) / previous  # the fraction of this minute from which it fits
        if needed < 1:
            return max(1, math.ceil(60 * (needed - into) - 1e-9))
    later = max(0.0, 1 - (limit - 1) / current) if current else 0.0  # next minute, this one weighs current
    return max(1, math.ceil(60 * (1 - into) + 60 * later - 1e-9))


def touch(key: KeyInfo) -> None:
    """Note when the key was last used (shown on the keys page)."""
    db.session.execute(ApiKey.__table__.update().where(ApiKey.id == key.id).values(last_used_at=utcnow()))


def log_call(
    key_id: int, *, method: str, path: str, status: int, duration_ms: int, address: str | None
) -> None:
    """Keep one row for the call; now and then drop the oldest rows beyond ``LMS_API_LOG_ROWS`` (200,000)."""
    row = ApiCall(
        api_key_id=key_id,
        method=method[:8],
        path=path[:300],
        status=status,
        duration_ms=max(0, min(duration_ms, 2**31 - 1)),
        address=(address or "")[:64] or None,
    )
    db.session.add(row)
    db.session.flush()
    if row.id % LOG_PRUNE_EVERY == 0:
        keep = int(os.environ.get("LMS_API_LOG_ROWS") or 200_000)
        db.session.execute(delete(ApiCall).where(ApiCall.id <= row.id - keep))


def recent_calls(key_id: int, limit: int = 20) -> list[ApiCall]:
    return list(
        db.session.scalars(
            select(ApiCall).where(ApiCall.api_key_id == key_id).order_by(ApiCall.id.desc()).limit(limit)
        )
    )


def call_counts(key_ids: Iterable[int], since: dt.datetime) -> dict[int, int]:
    ids = sorted(set(key_ids))
    if not ids:
        return {}
    return dict(
        db.session.execute(
            select(ApiCall.api_key_id, func.count())
            .where(ApiCall.api_key_id.in_(ids), ApiCall.at >= since)
            .group_by(ApiCall.api_key_id)
        ).all()
    )
