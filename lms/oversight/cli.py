"""Commands: ``lms oversight snapshot`` (monthly factor values) and ``lms oversight set-region``."""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import with_appcontext

from lms.core.db import db


@click.group("oversight")
def oversight_group() -> None:
    """Risk ranking and listed supervision (the regulator's view)."""


def _month(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected YYYY-MM", param_hint="--month") from None


@oversight_group.command("snapshot")
@click.option("--month", "month", default=None, help="YYYY-MM (default: the current month, as of today)")
@click.option(
    "--months",
    type=click.IntRange(1, 36),
    default=1,
    show_default=True,
    help="Also the months before it (e.g. 12 to fill a year of history)",
)
@click.option("--enterprise", "codes", multiple=True, help="Enterprise code (repeatable; default: all)")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object")
@with_appcontext
def snapshot_cmd(month: str | None, months: int, codes: tuple[str, ...], as_json: bool) -> None:
    """Keep each enterprise's factor values for a month (its last day; today for the current month).

    Run it nightly or on the 1st of each month; taking a month again replaces what was kept for it. Each
    enterprise's month is its own local calendar.
    """
    from sqlalchemy import select

    from lms.core import timeutil
    from lms.core.cli import emit_json
    from lms.core.errors import DomainError
    from lms.org.models import Enterprise
    from lms.org.services import enterprise_by_code
    from lms.oversight import services

    try:
        if codes:
            ents = [enterprise_by_code(c) for c in codes]
        else:
            ents = list(db.session.scalars(select(Enterprise).order_by(Enterprise.code)))
        by_day: dict[dt.date, list[int]] = {}
        for e in ents:
            by_day.setdefault(timeutil.today(e), []).append(e.id)
        kept: list[str] = []
        for today, ids in sorted(by_day.items()):
            last = _month(month) if month else today.replace(day=1)
            if last > today:
                raise DomainError(f"--month {month} lies in the future")
            for first in services.months_back(last, months):
                services.take_snapshot(ids, first, today)
                kept.append(first.strftime("%Y-%m"))
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc.message)) from exc
    db.session.commit()
    done = sorted(set(kept))
    if as_json:
        emit_json({"enterprises": [e.code for e in ents], "months": done})
    else:
        click.echo(f"{len(ents)} enterprises, months {', '.join(done) or '-'}")


@oversight_group.command("set-region")
@click.argument("code")
@click.argument("region")
@with_appcontext
def set_region_cmd(code: str, region: str) -> None:
    """Set the administrative region (所属区域) of enterprise CODE ("" clears it)."""
    from lms.core.errors import DomainError
    from lms.org.services import enterprise_by_code

    try:
        ent = enterprise_by_code(code)
    except DomainError as exc:
        raise click.ClickException(str(exc.message)) from exc
    value = region.strip()[:100] or None
    ent.region = value
    db.session.commit()
    click.echo(f"{ent.code}: {value or '-'}")


commands = [oversight_group]
