"""Commands: ``lms api create-key`` / ``revoke-key`` / ``keys`` and ``lms xapi export`` / ``send``."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from lms.core.db import db


def _enterprise(code: str) -> Any:
    from lms.core.errors import DomainError
    from lms.org.services import enterprise_by_code

    try:
        return enterprise_by_code(code)
    except DomainError as exc:
        raise click.ClickException(str(exc.message)) from exc


@click.group("api")
def api_group() -> None:
    """API keys."""


@api_group.command("create-key")
@click.option("--enterprise", "code", required=True, help="Enterprise code")
@click.option("--name", required=True, help="Who or what uses the key")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    help="people:read, people:write, records:read, records:write, "
    "status:read, certificates:read (default: all)",
)
@click.option("--rate", default=120, show_default=True, help="Calls a minute at most")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object")
@with_appcontext
def create_key_cmd(code: str, name: str, scopes: tuple[str, ...], rate: int, as_json: bool) -> None:
    """Make an API key of an enterprise and print its secret (once: only its hash is kept)."""
    from lms.api.keys import create_key
    from lms.api.models import SCOPES
    from lms.core.cli import emit_json
    from lms.core.errors import DomainError

    ent = _enterprise(code)
    try:
        key, secret = create_key(
            name=name, scopes=scopes or SCOPES, actor=None, enterprise=ent, rate_per_minute=rate
        )
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc.message)) from exc
    db.session.commit()
    if as_json:
        emit_json({"id": key.id, "prefix": key.prefix, "secret": secret, "scopes": key.scope_list})
    else:
        click.echo(f"{key.prefix} ({', '.join(key.scope_list)}): {secret}")
        click.echo("The secret is shown this once; only its hash is kept.", err=True)


@api_group.command("revoke-key")
@click.argument("prefix")
@with_appcontext
def revoke_key_cmd(prefix: str) -> None:
    """Revoke the key whose visible part is PREFIX (lms_xxxxxxxx)."""
    from sqlalchemy import select

    from lms.api.keys import revoke_key
    from lms.api.models import ApiKey

    key = db.session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None:
        raise click.ClickException(f"no key {prefix}")
    revoke_key(key, actor=None)
    db.session.commit()
    click.echo(f"{prefix} revoked")


@click.group("xapi")
def xapi_group() -> None:
    """xAPI statements (course completions, exam results, classroom attendance)."""


def _when(value: str | None, ent: Any) -> dt.datetime | None:
    from lms.core.timeutil import to_utc

    if not value:
        return None
    try:
        return to_utc(dt.datetime.fromisoformat(value), ent)
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO date or time: {value}") from exc


@xapi_group.command("export")
@click.option("--enterprise", "code", required=True, help="Enterprise code")
@click.option("--since", help="Completed at or after (ISO 8601; local time without an offset)")
@click.option("--until", help="Completed before")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout)"
)
@with_appcontext
def export_cmd(code: str, since: str | None, until: str | None, output: Path | None) -> None:
    """Print the statements as one JSON array."""
    from lms.api.xapi import statements
    from lms.core.timeutil import use_zone

    ent = _enterprise(code)
    with use_zone(ent):
        items, _last = statements(ent, since=_when(since, ent), until=_when(until, ent))
    db.session.rollback()
    text = json.dumps(items, ensure_ascii=False, indent=1)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"{len(items)} statements written to {output}", err=True)
    else:
        sys.stdout.write(text + "\n")


@xapi_group.command("send")
@click.option("--enterprise", "code", required=True, help="Enterprise code")
@with_appcontext
def send_cmd(code: str) -> None:
    """Queue a job that sends the statements not yet delivered to LMS_XAPI_ENDPOINT (retried with backoff)."""
    from lms.api.xapi import lrs_config
    from lms.core.jobs import enqueue

    ent = _enterprise(code)
    if lrs_config() is None:
        raise click.ClickException("LMS_XAPI_ENDPOINT is not set")
    job = enqueue("lms.api.xapi.send_pending", ent.id, kind="xapi_send", enterprise_id=ent.id)
    db.session.commit()
    click.echo(f"job {job.id} queued")


commands = [api_group, xapi_group]
