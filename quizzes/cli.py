"""``lms import-questions`` and ``lms exams close-overdue``."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from lms.core.cli import emit_json
from lms.core.db import db
from lms.core.errors import DomainError
from lms.org.models import Enterprise


@click.command("import-questions")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--enterprise", "code", required=True, help="Enterprise code, or PLATFORM for a shared bank.")
@click.option("--bank", "bank_name", required=True, help="Bank name (created when missing).")
@click.option("--dry-run", is_flag=True, help="Check the file and report; save nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_appcontext
def import_questions_cmd(file: str, code: str, bank_name: str, dry_run: bool, as_json: bool) -> None:
    """Import a question bank file (xlsx, xls, csv, Moodle XML, GIFT, Aiken): all or nothing."""
    from quizzes import banks, exchange

    try:
        if code.upper() == "PLATFORM":
            ent_id = None
        else:
            ent = db.session.scalar(select(Enterprise).where(Enterprise.code == code.upper()))
            if ent is None:
                raise DomainError(f"enterprise {code} not found")
            ent_id = ent.id
        bank = banks.ensure_bank(ent_id, bank_name)
        result = exchange.import_questions(
            bank, file, click.format_filename(file).split("/")[-1], dry_run=dry_run
        )
    except DomainError as exc:
        db.session.rollback()
        if as_json:
            emit_json(
                {
                    "created": 0,
                    "updated": 0,
                    "unchanged": 0,
                    "errors": [{"row": None, "field": None, "message": exc.message}],
                    "duplicates": [],
                    "committed": False,
                }
            )
        else:
            click.echo(f"refused: {exc.message}", err=True)
        sys.exit(2)
    if result.committed:
        db.session.commit()
    else:
        db.session.rollback()
    if as_json:
        emit_json(result.as_json())
    else:
        click.echo(
            f"{result.filename} ({result.format}): {result.created} to create, {result.updated} to update, "
            f"{result.unchanged} unchanged, {len(result.errors)} problems"
            + (" — saved" if result.committed else " — nothing saved")
        )
        for e in result.errors:
            click.echo(f"  row {e['row']}: {e['field']}: {e['message']}", err=True)
        for d in result.duplicates:
            click.echo(f"  row {d['row']}: duplicate of row {d['duplicate_of']}, imported once")
        for n in result.notes:
            click.echo(f"  row {n['row']}: {n['message']}")
        if dry_run:
            for q in result.rows:
                click.echo(f"  row {q['row']}: {q['type']}: {q['stem'][:60]} — {q['key_text']}")
    if result.errors:
        sys.exit(1)


@click.group("exams")
def exams_group() -> None:
    """Exams."""


@exams_group.command("close-overdue")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def close_overdue_cmd(as_json: bool) -> None:
    """Submit every open attempt left past its deadline (run it every minute or so)."""
    from quizzes import attempts

    n = attempts.close_overdue()
    db.session.commit()
    if as_json:
        emit_json({"submitted": n})
    else:
        click.echo(f"{n} overdue attempts submitted")


commands = [import_questions_cmd, exams_group]
