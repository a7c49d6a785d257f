"""Commands: ``lms hazards overdue`` (what the reminders would say) and ``lms hazards counts`` (what oversight reads)."""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import with_appcontext


@click.group("hazards")
def hazards_group() -> None:
    """Hazard reports and their rectification."""


def _enterprise(code: str):  # noqa: ANN202 - an Enterprise
    from lms.core.errors import DomainError
    from lms.org.services import enterprise_by_code

    try:
        return enterprise_by_code(code)
    except DomainError as exc:
        raise click.BadParameter(exc.message, param_hint="--enterprise") from None


def _as_of(text: str | None, ent: object) -> dt.datetime:
    """A local "YYYY-MM-DD HH:MM" (or a date: its end) of the enterprise as naive UTC; now without it."""
    from lms.core.db import utcnow
    from lms.core.timeutil import local_day_bounds, to_utc

    if not text:
        return utcnow()
    try:
        return to_utc(dt.datetime.strptime(text, "%Y-%m-%d %H:%M"), ent)  # type: ignore[return-value]
    except ValueError:
        pass
    try:
        return local_day_bounds(dt.date.fromisoformat(text), ent)[1]
    except ValueError:
        raise click.BadParameter(
            'use "YYYY-MM-DD" or "YYYY-MM-DD HH:MM" (local time)', param_hint="--as-of"
        ) from None


@hazards_group.command("overdue")
@click.option("--enterprise", "code", required=True, help="Enterprise code")
@click.option("--as-of", "as_of", help='"YYYY-MM-DD HH:MM" or "YYYY-MM-DD" in local time (default: now)')
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object")
@with_appcontext
def overdue_cmd(code: str, as_of: str | None, as_json: bool) -> None:
    """List the overdue hazards, most overdue first, and who is reminded."""
    from lms.core.cli import emit_json
    from lms.core.timeutil import format_local, use_zone
    from lms.hazards.services import overdue_hazards

    ent = _enterprise(code)
    when = _as_of(as_of, ent)
    rows = overdue_hazards(ent.id, when)
    with use_zone(ent):
        if as_json:
            emit_json({"enterprise": ent.code, "as_of": when, "overdue": rows})
            return
        if not rows:
            click.echo("no overdue hazard")
        for r in rows:
            flag = " escalated" if r["escalated"] else ""
            click.echo(
                f"{r['code']} {r['grade']} {r['days_overdue']}d late (deadline {format_local(r['deadline'])})"
                f"{flag}: {r['description'][:40]} — {r['place'] or '-'} — {r['department'] or '-'}"
            )


@hazards_group.command("counts")
@click.option("--enterprise", "codes", multiple=True, help="Enterprise code (repeatable; default: all)")
@click.option("--as-of", "as_of", help='"YYYY-MM-DD HH:MM" or "YYYY-MM-DD" in local time (default: now)')
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object")
@with_appcontext
def counts_cmd(codes: tuple[str, ...], as_of: str | None, as_json: bool) -> None:
    """Open, overdue, major open, major overdue and reported-in-30-days hazards per enterprise."""
    from sqlalchemy import select

    from lms.core.cli import emit_json
    from lms.core.db import db
    from lms.hazards.services import hazard_counts
    from lms.org.models import Enterprise

    ents = [_enterprise(c) for c in codes] or list(
        db.session.scalars(select(Enterprise).order_by(Enterprise.id))
    )
    when = _as_of(as_of, ents[0] if len(ents) == 1 else None)
    counts = hazard_counts([e.id for e in ents], when)
    if as_json:
        emit_json({"as_of": when, "enterprises": {e.code: counts[e.id] for e in ents}})
        return
    for e in ents:
        c = counts[e.id]
        click.echo(
            f"{e.code}: open {c['open']}, overdue {c['overdue']}, major open {c['major_open']}, "
            f"major overdue {c['major_overdue']}, reported in 30 days {c['reported_30d']}"
        )


commands = [hazards_group]
