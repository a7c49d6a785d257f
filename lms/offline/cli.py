"""Commands: ``lms offline new-session`` and ``lms import-attendance``."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from lms.core.db import db


@click.group("offline")
def offline_group() -> None:
    """Offline classroom sessions."""


@offline_group.command("new-session")
@click.option("--enterprise", "code", required=True, help="Enterprise code")
@click.option("--topic", required=True)
@click.option("--category", required=True)
@click.option("--start", "start", required=True, help='"YYYY-MM-DD HH:MM" in the enterprise\'s local time')
@click.option("--hours", required=True, help="Credit hours (学时)")
@click.option(
    "--level",
    default="其他",
    show_default=True,
    help="厂级 / 车间级 / 班组级 / 其他 (or company / workshop / team)",
)
@click.option("--end", "end", help='"YYYY-MM-DD HH:MM" (default: start + hours)')
@click.option("--instructor")
@click.option("--location")
@click.option("--capacity", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object")
@with_appcontext
def new_session_cmd(
    code: str,
    topic: str,
    category: str,
    start: str,
    hours: str,
    level: str,
    end: str | None,
    instructor: str | None,
    location: str | None,
    capacity: int | None,
    as_json: bool,
) -> None:
    """Schedule a session and print its id."""
    from lms.core.cli import emit_json
    from lms.core.errors import DomainError
    from lms.core.timeutil import iso_local, to_utc
    from lms.offline import services
    from lms.org.services import enterprise_by_code

    try:
        ent = enterprise_by_code(code)
        # Typed in the enterprise's local time; stored UTC.
        starts_at = to_utc(_parse_when(start, "--start"), ent)
        hours_dec = services.parse_hours(hours)
        ends_at = (
            to_utc(_parse_when(end, "--end"), ent)
            if end
            else starts_at + dt.timedelta(hours=float(hours_dec))
        )
        session = services.create_session(
            ent.id,
            topic=topic,
            category=category,
            starts_at=starts_at,
            ends_at=ends_at,
            hours=hours_dec,
            level=services.parse_level(level),
            instructor=instructor,
            location=location,
            capacity=capacity,
        )
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    if as_json:
        emit_json(
            {
                "id": session.id,
                "enterprise": ent.code,
                "topic": session.topic,
                "category": session.category,
                "level": session.level,
                "starts_at": iso_local(session.starts_at, ent),
                "ends_at": iso_local(session.ends_at, ent),
                "hours": str(session.hours),
                "status": session.status,
            }
        )
    else:
        click.echo(session.id)


def _parse_when(text: str, option: str) -> dt.datetime:
    from lms.core.errors import DomainError
    from lms.core.sheets.values import parse_datetime

    try:
        value = parse_datetime(text)
    except ValueError as exc:
        raise DomainError(f"{option}: {exc}") from None
    if value is None:
        raise DomainError(f"{option} is empty")
    return value


@click.command("import-attendance")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--session", "session_id", type=int, help="Session id (optional when the file names its sessions)"
)
@click.option("--enterprise", "code", help="Enterprise code (when --session is not given)")
@click.option("--dry-run", is_flag=True, help="Check only; write nothing")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object")
@click.option(
    "--skip-unresolved", is_flag=True, help="Leave out ambiguous and unknown rows instead of refusing"
)
@click.option(
    "--resolve",
    "resolves",
    multiple=True,
    metavar="ROW=EMPLOYEE_NO|skip",
    help="Resolve one row: the person's employee number, or skip (repeatable)",
)
@click.option("--reason", help="Why a locked session's attendance is changed")
@click.option(
    "--confirm-session",
    is_flag=True,
    help="The file names another session: confirm it is the sheet of --session all the same (kept on the import)",
)
@with_appcontext
def import_attendance_cmd(
    file: Path,
    session_id: int | None,
    code: str | None,
    dry_run: bool,
    as_json: bool,
    skip_unresolved: bool,
    resolves: tuple[str, ...],
    reason: str | None,
    confirm_session: bool,
) -> None:
    """Import a sign-in sheet FILE (xlsx, xls, csv) as a session's attendance: all rows or none."""
    from lms.core.cli import emit_json
    from lms.core.errors import DomainError
    from lms.core.timeutil import use_zone
    from lms.offline.attendance import import_attendance
    from lms.offline.models import OfflineSession
    from lms.org.models import Enterprise
    from lms.org.services import enterprise_by_code

    try:
        session = db.session.get(OfflineSession, session_id) if session_id else None
        if session_id and session is None:
            raise DomainError(f"no session {session_id}")
        if session is not None:
            ent = db.session.get(Enterprise, session.enterprise_id)
            if code and ent.code != code:
                raise DomainError(f"session {session_id} is not part of {code}")
        elif code:
            ent = enterprise_by_code(code)
        else:
            raise DomainError("give --session, or --enterprise when the file names its sessions")
        resolutions = _resolutions(ent.id, resolves)
        with use_zone(ent):  # the sheet's times are the enterprise's local time
            result = import_attendance(
                ent,
                file,
                file.name,
                session=session,
                dry_run=dry_run,
                resolutions=resolutions,
                skip_unresolved=skip_unresolved,
                reason=reason,
                confirm_session=confirm_session,
            )
    except DomainError as exc:
        db.session.rollback()
        if as_json:
            emit_json(
                {
                    "created": 0,
                    "updated": 0,
                    "unchanged": 0,
                    "refused": True,
                    "committed": False,
                    "errors": [{"row": None, "field": exc.field, "message": exc.message}],
                    "matched": [],
                    "ambiguous": [],
                    "unknown": [],
                    "duplicates": [],
                }
            )
            sys.exit(1)
        raise click.ClickException(exc.message) from exc
    if result.committed:
        db.session.commit()
    else:
        db.session.rollback()
    with use_zone(ent):
        data = result.as_json()
    _report(data, as_json)
    if result.errors or result.refused:
        sys.exit(1)


def _resolutions(enterprise_id: int, resolves: tuple[str, ...]) -> dict[str, Any]:
    from sqlalchemy import select

    from lms.core.errors import DomainError
    from lms.core.sheets.values import normalize_employee_no
    from lms.org.models import Person

    out: dict[str, Any] = {}
    for item in resolves:
        ref, sep, value = item.partition("=")
        if not sep or not ref.strip() or not value.strip():
            raise DomainError(f"--resolve {item!r}: use ROW=EMPLOYEE_NO or ROW=skip")
        value = value.strip()
        if value.lower() == "skip":
            out[ref.strip()] = "skip"
            continue
        pid = db.session.scalar(
            select(Person.id).where(
                Person.enterprise_id == enterprise_id, Person.employee_no == normalize_employee_no(value)
            )
        )
        if pid is None:
            raise DomainError(f"--resolve {item!r}: no person with employee number {value}")
        out[ref.strip()] = pid
    return out


def _report(data: dict[str, Any], as_json: bool) -> None:
    from lms.core.cli import emit_json

    if as_json:
        emit_json(data)
        return
    state = (
        " (dry run: nothing written)"
        if data["dry_run"]
        else ("" if data["committed"] else " (nothing written)")
    )
    click.echo(
        f"created {data['created']}, updated {data['updated']}, unchanged {data['unchanged']}, "
        f"voided {data['voided']}; {data['attendees']} attendees{state}"
    )
    for key in ("ambiguous", "unknown", "duplicates", "skipped", "invalid"):
        for row in data[key]:
            click.echo(
                f"  row {row['ref']} [{key}] {row['employee_no']} {row['name']}: {row['message'] or ''}",
                err=True,
            )
    for w in data["warnings"]:
        click.echo(f"  warning{' row ' + str(w['row']) if w.get('row') else ''}: {w['message']}", err=True)
    for e in data["errors"]:
        where = f"row {e['row']}" if e.get("row") else "file"
        field = f" [{e['field']}]" if e.get("field") else ""
        click.echo(f"  {where}{field}: {e['message']}", err=True)
    if data["errors"]:
        click.echo("Refused: nothing was written.", err=True)


commands = [offline_group, import_attendance_cmd]
