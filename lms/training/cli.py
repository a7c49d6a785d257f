"""``lms coverage``, ``lms requirements apply-presets|refresh-status|issue-certificates``, ``lms reminders send``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
from flask.cli import with_appcontext

from lms.core.db import db
from lms.org.timezone import enterprise_today


def _enterprise(code: str):  # noqa: ANN202
    from lms.core.errors import DomainError
    from lms.org.services import enterprise_by_code

    try:
        return enterprise_by_code(code)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc


@click.command("coverage")
@click.option("--enterprise", "code", required=True, help="Enterprise code")
@click.option("--by", type=click.Choice(["department", "post", "role", "requirement"]), required=True)
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "json"]), default="csv")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@with_appcontext
def coverage_cmd(code: str, by: str, as_of: dt.datetime | None, fmt: str, output: Path | None) -> None:
    """Print or write the coverage of an enterprise grouped BY."""
    from lms.core.exports import csv_bytes, xlsx_bytes
    from lms.training.coverage import coverage

    ent = _enterprise(code)
    day = as_of.date() if as_of else enterprise_today(ent.id)
    rows = coverage(ent.id, by, day)
    # The words of lms.training.glossary: every count here is of people (each person once per group).
    headers = [
        by,
        "people",
        "people_compliant",
        "coverage_pct",
        "people_overdue_or_expired",
        "people_due_soon",
    ]
    body = [
        [r["label"], r["people"], r["compliant"], round((r["share"] or 0) * 100, 1), r["late"], r["due_soon"]]
        for r in rows
    ]
    if fmt == "json":
        data = json.dumps(
            {
                "enterprise": ent.code,
                "as_of": day.isoformat(),
                "by": by,
                "rows": [dict(zip(headers, row, strict=True)) for row in body],
            },
            ensure_ascii=False,
        ).encode()
    elif fmt == "csv":
        data = csv_bytes(headers, body)
    else:
        if output is None:
            raise click.ClickException("--format xlsx needs --output FILE")
        data = xlsx_bytes(headers, body, sheet_title=f"coverage-{by}")
    if output is not None:
        output.write_bytes(data)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(data.decode("utf-8-sig"), nl=False)
        if fmt == "json":
            click.echo("")
    db.session.rollback()


@click.command("archive")
@click.option("--enterprise", "code", required=True, help="Enterprise code")
@click.option("--person", "employee_no", required=True, help="Employee number (工号)")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "pdf"]), default="csv")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write to FILE")
@with_appcontext
def archive_cmd(code: str, employee_no: str, fmt: str, out: Path | None) -> None:
    """Print or write a person's statutory training archive (the document of the web page), in local time."""
    from sqlalchemy import select

    from lms.core.sheets.values import normalize_employee_no
    from lms.org.models import Person
    from lms.training.archive import archive_file

    if fmt != "csv" and out is None:
        raise click.ClickException(f"--format {fmt} needs --out FILE")
    ent = _enterprise(code)
    person = db.session.scalar(
        select(Person).where(
            Person.enterprise_id == ent.id, Person.employee_no == normalize_employee_no(employee_no)
        )
    )
    if person is None:
        raise click.ClickException(f"no person {employee_no} in {ent.code}")
    data, _name = archive_file(person, fmt)
    db.session.rollback()
    if out is not None:
        out.write_bytes(data)
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(data.decode("utf-8-sig"), nl=False)


@click.group("requirements")
def requirements_group() -> None:
    """Training requirements."""


@requirements_group.command("apply-presets")
@click.option("--enterprise", "code", required=True)
@click.option("--overwrite", is_flag=True, help="Reset preset requirements to the statutory figures")
@with_appcontext
def apply_presets_cmd(code: str, overwrite: bool) -> None:
    """Create the statutory requirements an enterprise lacks (idempotent)."""
    from lms.training.presets import apply_presets
    from lms.training.services import refresh_subjections

    ent = _enterprise(code)
    counts = apply_presets(ent, overwrite=overwrite)
    refresh_subjections(ent.id)
    db.session.commit()
    click.echo(", ".join(f"{k} {v}" for k, v in counts.items()))


@requirements_group.command("refresh-status")
@click.option("--enterprise", "code", default=None, help="Only this enterprise (default: every one)")
@click.option("--whole", is_flag=True, help="Recompute everyone, not only the people changed since")
@with_appcontext
def refresh_status_cmd(code: str | None, whole: bool) -> None:
    """Bring today's kept status rows up to date (run nightly after midnight, before the first manager)."""
    from sqlalchemy import select

    from lms.org.models import Enterprise
    from lms.training.cache import refresh

    ents = (
        [_enterprise(code)]
        if code
        else list(db.session.scalars(select(Enterprise).order_by(Enterprise.code)))
    )
    for ent in ents:
        done = refresh(ent.id, whole=whole)
        db.session.commit()
        click.echo(f"{ent.code}: {done['mode']}, {done.get('rows', 0)} rows, {done['seconds']} s")


@requirements_group.command("issue-certificates")
@click.option("--enterprise", "code", required=True)
@with_appcontext
def issue_certificates_cmd(code: str) -> None:
    """Issue the certificates of requirements set to issue them, to everyone who fulfils them today."""
    from lms.training.fulfilment import issue_fulfilled

    ent = _enterprise(code)
    result = issue_fulfilled(None, ent.id, None)
    db.session.commit()
    click.echo(f"{ent.code}: {result['fulfilled']} fulfilled (certificates issued once per period)")


@click.group("reminders")
def reminders_group() -> None:
    """Training reminders."""


@reminders_group.command("send")
@click.option("--enterprise", "code", default=None, help="Only this enterprise")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
@with_appcontext
def reminders_send_cmd(code: str | None, as_of: dt.datetime | None) -> None:
    """Create in-app notifications for due-soon, overdue and expired training (and e-mail them if configured)."""
    from sqlalchemy import select

    from lms.org.models import Enterprise
    from lms.training.cache import refresh
    from lms.training.reminders import send_reminders
    from lms.training.services import refresh_subjections

    ids = [_enterprise(code).id] if code else list(db.session.scalars(select(Enterprise.id)))
    for ent_id in ids:
        refresh_subjections(ent_id)
        if as_of is None:
            refresh(ent_id)  # a nightly run also brings today's kept status rows up to date
    result = send_reminders(as_of.date() if as_of else None, ids)
    db.session.commit()
    click.echo(f"notifications {result['created']}, e-mails {result['emailed']}")


commands = [coverage_cmd, archive_cmd, requirements_group, reminders_group]
