"""``lms permits check``: may these people do this special operation on this day?

Exit status: 0 when everyone is qualified, 1 when someone is not, 2 on bad input (unknown enterprise, work,
person or role, a malformed date).
"""

from __future__ import annotations

import datetime as dt
import sys

import click
from flask.cli import with_appcontext

from lms.core.db import db


@click.group("permits")
def permits_group() -> None:
    """Qualification for hazardous work (特殊作业)."""


@permits_group.command("check")
@click.option("--enterprise", "code", required=True, help="Enterprise code")
@click.option(
    "--work", required=True, help="The work: 受限空间, 受限空间作业, its key (confined_space) or id"
)
@click.option(
    "--person",
    "people",
    multiple=True,
    required=True,
    metavar="工号[:ROLE]",
    help="A person by 工号, optionally with the role on the permit (repeatable; default role: the first)",
)
@click.option("--date", "day", help="YYYY-MM-DD (default: today in the enterprise's time zone)")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object")
@with_appcontext
def check_cmd(code: str, work: str, people: tuple[str, ...], day: str | None, as_json: bool) -> None:
    """Check people for a work on a day; exit 0 only when everyone is qualified."""
    from lms.core.cli import emit_json
    from lms.core.errors import DomainError
    from lms.core.timeutil import today, use_zone
    from lms.org.services import enterprise_by_code
    from lms.permits import services
    from lms.permits.views import _t, result_json

    try:
        ent = enterprise_by_code(code)
        on = today(ent)
        if day:
            try:
                on = dt.date.fromisoformat(day.strip())
            except ValueError:
                raise DomainError(f"--date: write it like 2026-12-05, not {day!r}", field="date") from None
        the_work = services.find_work(ent.id, work)
        entries = []
        for item in people:
            no, _sep, role = item.partition(":")
            person = services.person_by_employee_no(ent.id, no)
            if person is None:
                raise DomainError(f"--person: nobody with the 工号 {no} in {ent.code}", field="person")
            entries.append((person, services.check_role(the_work, role)))
        with use_zone(ent):
            result = services.check(the_work, entries, on)
            data = result_json(ent, result)
    except DomainError as exc:
        db.session.rollback()
        message = _t(exc.message)
        if as_json:
            emit_json({"error": message, "field": exc.field})
        else:
            click.echo(f"Error: {message}", err=True)
        sys.exit(2)
    db.session.commit()  # the status cache may have been brought up to date for these people
    if as_json:
        emit_json(data)
    else:
        click.echo(f"{data['work']} {data['date']}: {'合格' if data['qualified'] else '不合格'}")
        for p in data["people"]:
            click.echo(
                f"  {p['employee_no']} {p['name']} ({p['role']}): {'合格' if p['qualified'] else '不合格'}"
            )
            for r in p["reasons"]:
                click.echo(f"    - {r['reason']}  → {r['fix']}")
    sys.exit(0 if data["qualified"] else 1)


commands = [permits_group]
