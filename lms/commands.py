"""Our commands (database, enterprises, roster, demo, worker, users, jobs) and ``register_cli``, which the app
factory calls to attach them and each feature's to ``app.cli``. The ``lms`` command itself is ``lms.cli``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask.cli import with_appcontext

from certificates import cli as certificates_cli
from courses import cli as courses_cli
from lms.api import cli as api_cli
from lms.core import storage
from lms.core.cli import emit_json
from lms.core.db import db
from lms.hazards import cli as hazards_cli
from lms.offline import cli as offline_cli
from lms.oversight import cli as oversight_cli
from lms.permits import cli as permits_cli
from lms.training import cli as training_cli
from lms.training import notifications
from quizzes import cli as quizzes_cli

ROOT = Path(__file__).resolve().parents[1]
# Each feature's ``commands`` list (storage and notifications keep theirs beside their code).
FEATURE_CLI = [
    storage,
    courses_cli,
    quizzes_cli,
    offline_cli,
    training_cli,
    notifications,
    certificates_cli,
    hazards_cli,
    permits_cli,
    oversight_cli,
    api_cli,
]


def alembic_config(url: str | None = None) -> Any:
    """Return an Alembic config for ``migrations/`` bound to ``url`` (default: the configured database)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["database_url"] = url or db.url
    return cfg


def register_cli(app: Flask) -> None:
    """Attach our commands and each feature's to ``app.cli``."""
    for cmd in (db_group, enterprise_group, import_roster_cmd, demo_cmd, worker_cmd, user_group, jobs_group):
        app.cli.add_command(cmd)
    for module in FEATURE_CLI:
        for cmd in module.commands:
            app.cli.add_command(cmd)


# ---------------------------------------------------------------- database


@click.group("db")
def db_group() -> None:
    """Schema migrations (Alembic)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    from alembic import command

    command.upgrade(alembic_config(), revision)


@db_group.command("downgrade")
@click.argument("revision", default="-1")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION."""
    from alembic import command

    command.downgrade(alembic_config(), revision)


@db_group.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--autogenerate/--empty", default=True)
@with_appcontext
def db_revision(message: str, autogenerate: bool) -> None:
    """Create a revision named with today's date first."""
    import datetime as dt
    import secrets

    from alembic import command

    rev_id = dt.date.today().strftime("%Y%m%d") + "_" + secrets.token_hex(3)
    command.revision(alembic_config(), message=message, autogenerate=autogenerate, rev_id=rev_id)


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    """Show the current revision."""
    from alembic import command

    command.current(alembic_config())


# ---------------------------------------------------------------- enterprises and roster


@click.group("enterprise")
def enterprise_group() -> None:
    """Enterprises."""


@enterprise_group.command("create")
@click.argument("code")
@click.argument("name")
@click.option("--industry")
@click.option("--high-risk", is_flag=True)
@click.option("--password-policy", type=click.Choice(["random", "phone6"]), default="random")
@click.option("--time-zone", help="Where its people live, e.g. Asia/Urumqi (default: LMS_TIMEZONE)")
@with_appcontext
def enterprise_create(
    code: str, name: str, industry: str | None, high_risk: bool, password_policy: str, time_zone: str | None
) -> None:
    """Create an enterprise CODE called NAME."""
    from lms.core.errors import DomainError
    from lms.org.services import create_enterprise

    try:
        ent = create_enterprise(
            code,
            name,
            industry=industry,
            high_risk=high_risk,
            password_policy=password_policy,
            time_zone=time_zone,
        )
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(f"{ent.code}\t{ent.name}")


@enterprise_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def enterprise_list(as_json: bool) -> None:
    """List enterprises."""
    from sqlalchemy import select

    from lms.org.models import Enterprise

    rows = db.session.scalars(select(Enterprise).order_by(Enterprise.code)).all()
    if as_json:
        emit_json(
            [
                {
                    "code": e.code,
                    "name": e.name,
                    "industry": e.industry,
                    "high_risk": e.high_risk,
                    "time_zone": e.time_zone,
                }
                for e in rows
            ]
        )
        return
    for e in rows:
        click.echo(
            f"{e.code}\t{e.name}\t{e.industry or ''}\t{'high-risk' if e.high_risk else ''}\t{e.time_zone}"
        )


@click.command("import-roster")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--enterprise", "code", required=True, help="Enterprise code")
@click.option("--dry-run", is_flag=True, help="Check only; write nothing")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object")
@with_appcontext
def import_roster_cmd(file: Path, code: str, dry_run: bool, as_json: bool) -> None:
    """Import a roster FILE (xlsx, xls, csv) into an enterprise: all rows or none."""
    from lms.core.errors import DomainError
    from lms.org.roster import import_roster
    from lms.org.services import enterprise_by_code

    try:
        ent = enterprise_by_code(code)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if as_json or not sys.stderr.isatty():
            return
        if bar is None:
            bar = click.progressbar(length=total, label="Importing", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    result = import_roster(ent, file, file.name, dry_run=dry_run, on_progress=progress)
    if bar is not None:
        bar.__exit__(None, None, None)
    if result.committed:
        db.session.commit()
    else:
        db.session.rollback()
    _report_import(result.as_json(), as_json)
    if result.errors:
        sys.exit(1)


def _report_import(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(data)
        return
    click.echo(
        f"created {data['created']}, updated {data['updated']}, unchanged {data['unchanged']}"
        + (" (dry run: nothing written)" if data.get("dry_run") else "")
    )
    for e in data["errors"]:
        where = f"row {e['row']}" if e.get("row") else "file"
        field = f" [{e['field']}]" if e.get("field") else ""
        click.echo(f"  {where}{field}: {e['message']}", err=True)
    if data["errors"]:
        click.echo("Refused: nothing was written.", err=True)


# ---------------------------------------------------------------- users


@click.group("user")
def user_group() -> None:
    """Accounts that are not people on a roster (platform admins, regulators)."""


@user_group.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "regulator", "manager", "trainer"]), required=True)
@click.option("--name", "display_name")
@click.option("--enterprise", "code")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def user_create(username: str, role: str, display_name: str | None, code: str | None, password: str) -> None:
    """Create an account."""
    from lms.org.models import User
    from lms.org.services import enterprise_by_code, hash_password, validate_new_password

    validate_new_password(password)
    ent = enterprise_by_code(code) if code else None
    db.session.add(
        User(
            username=username,
            password_hash=hash_password(password),
            display_name=display_name or username,
            app_role=role,
            enterprise_id=ent.id if ent else None,
            must_change_password=False,
        )
    )
    db.session.commit()
    click.echo(f"created {username}")


# ---------------------------------------------------------------- jobs


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty")
@with_appcontext
def worker_cmd(burst: bool) -> None:
    """Run an RQ worker for background jobs (needs LMS_REDIS_URL)."""
    from flask import current_app
    from redis import Redis
    from rq import Queue, Worker

    url = current_app.config.get("REDIS_URL")
    if not url:
        raise click.ClickException("LMS_REDIS_URL is not set: jobs run in-process, no worker needed")
    conn = Redis.from_url(url)
    Worker([Queue("lms", connection=conn)], connection=conn).work(burst=burst)


@click.group("jobs")
def jobs_group() -> None:
    """Background jobs."""


@jobs_group.command("list")
@click.option("--limit", default=20)
@with_appcontext
def jobs_list(limit: int) -> None:
    """Show recent jobs."""
    from sqlalchemy import select

    from lms.core.jobs import Job

    for j in db.session.scalars(select(Job).order_by(Job.id.desc()).limit(limit)):
        click.echo(f"{j.id}\t{j.kind}\t{j.status}\t{j.progress}%\t{j.error or j.message or ''}")


@jobs_group.command("sweep")
@click.option(
    "--max-age", default=4 * 60 + 15, show_default=True, help="Minutes a job may run before it is failed"
)
@with_appcontext
def jobs_sweep(max_age: int) -> None:
    """Fail jobs left running longer than --max-age minutes (their worker died), so they can be retried."""
    import datetime as dt

    from lms.core.jobs import sweep_stale

    ids = sweep_stale(dt.timedelta(minutes=max_age))
    db.session.commit()
    click.echo(f"{len(ids)} stale job(s) marked failed" + (f": {', '.join(map(str, ids))}" if ids else ""))


# ---------------------------------------------------------------- demo


@click.command("demo")
@click.option(
    "--size",
    type=click.Choice(["S", "M", "L", "XL"]),
    default="S",
    help="S: the demo enterprise (~120 people); M/L/XL: 1,000/10,000/50,000 generated people for benchmarks",
)
@click.option("--records/--no-records", default=True, help="Generate training records for sized demos")
@with_appcontext
def demo_cmd(size: str, records: bool) -> None:
    """Load the demo enterprise DEMO (idempotent) and print the demo logins."""
    from lms.demo import load_demo, load_sized

    if size == "S":
        logins = load_demo(echo=click.echo)
    else:
        logins = load_sized(size, with_records=records, echo=click.echo)
    db.session.commit()
    if size != "S" and not db.is_sqlite:
        # Planner statistics for the bulk load now, as an operator would after an import, rather than when
        # autovacuum gets to it: without them the first status computation plans for empty tables.
        from sqlalchemy import text

        db.session.execute(text("ANALYZE"))
        db.session.commit()
    from lms.core.jobs import wait_for_idle

    wait_for_idle()
    click.echo("")
    click.echo(f"Demo logins (password: {logins['password']}):")
    for username, what in logins["accounts"]:
        click.echo(f"  {username:<12} {what}")
