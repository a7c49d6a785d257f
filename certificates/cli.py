"""``lms certificates …``: verify a certificate, run the expiry sweep, render stale PDFs."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from lms.core.db import db


@click.group("certificates")
def certificates_group() -> None:
    """Certificates: verify, expire."""


@certificates_group.command("verify")
@click.argument("number")
@click.argument("code")
@with_appcontext
def verify_cmd(number: str, code: str) -> None:
    """Check certificate NUMBER with verification CODE (exit 0 only when valid)."""
    from certificates import services
    from certificates.models import EXPIRED, REVOKED

    cert = services.verify(number, code)
    if cert is None:
        click.echo("NOT FOUND: no certificate has this number and code.")
        sys.exit(1)
    status = cert.status_on(services._local_date(None))
    valid = cert.valid_until.isoformat() if cert.valid_until else "no expiry"
    summary = f"{cert.number}  {cert.title}  issued {cert.issued_on.isoformat()}  valid until {valid}"
    if status == REVOKED:
        click.echo(f"REVOKED: {summary}")
        sys.exit(1)
    if status == EXPIRED:
        click.echo(f"EXPIRED: {summary}")
        sys.exit(1)
    click.echo(f"VALID: {summary}")


@certificates_group.command("expire")
@with_appcontext
def expire_cmd() -> None:
    """Mark certificates past their validity as expired and forget old failed verifications (run daily)."""
    from certificates import services

    n = services.expire_due()
    services.prune_verify_failures()
    db.session.commit()
    click.echo(f"{n} certificates expired")


commands = [certificates_group]
