"""Demo: one API key of DEMO (HR sync and reporting scopes); its secret is printed once in the demo output."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from lms.api import keys
from lms.api.models import SCOPES, ApiKey
from lms.core.db import db
from lms.org.models import Enterprise

DEMO_KEY_NAME = "演示：人事系统夜间同步"


def load(enterprise: Enterprise, ctx: Any) -> None:
    """Make DEMO's demo key once (a second `lms demo` keeps it: its secret cannot be shown again)."""
    found = db.session.scalar(
        select(ApiKey).where(
            ApiKey.enterprise_id == enterprise.id, ApiKey.name == DEMO_KEY_NAME, ApiKey.revoked_at.is_(None)
        )
    )
    if found is not None:
        ctx.echo(
            f"API: the demo key {found.prefix}… exists (its secret was printed when it was made; "
            "revoke it on /api/keys and run `lms demo` again, or `lms api create-key`, for a new one)"
        )
        return
    key, secret = keys.create_key(
        name=DEMO_KEY_NAME,
        scopes=SCOPES,
        actor=ctx.accounts.get("manager"),
        enterprise=enterprise,
        rate_per_minute=600,
    )
    ctx.extra["api_key"] = secret
    ctx.echo(f"API: demo key of DEMO (shown once): {secret}")
    ctx.echo(
        "     try: curl -H 'Authorization: Bearer " + secret + "' http://localhost:5000/api/v1/people?limit=5"
    )
