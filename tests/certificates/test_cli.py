"""``lms certificates verify`` and ``lms certificates expire``."""

from __future__ import annotations

import datetime as dt

from certificates import services
from certificates.models import EXPIRED
from lms.core.timeutil import today as local_today  # the enterprise's calendar day (Asia/Shanghai)


def _issue(person, source, **kw):
    return services.issue(
        person, kind="manual", source=source, title="有限空间作业安全培训", **kw
    ).certificate


def test_verify_command(app, enterprise, make_person):
    runner = app.test_cli_runner()
    person = make_person(enterprise)
    cert = _issue(person, "cli-1")
    result = runner.invoke(args=["certificates", "verify", cert.number, cert.verification_code.lower()])
    assert result.exit_code == 0 and result.output.startswith("VALID") and cert.number in result.output

    result = runner.invoke(args=["certificates", "verify", cert.number, "AAAA"])
    assert result.exit_code == 1 and result.output.startswith("NOT FOUND")
    result = runner.invoke(args=["certificates", "verify", "NOPE-2026-000001", cert.verification_code])
    assert result.exit_code == 1 and result.output.startswith("NOT FOUND")

    services.set_valid_until(cert, local_today() - dt.timedelta(days=3))
    result = runner.invoke(args=["certificates", "verify", cert.number, cert.verification_code])
    assert result.exit_code == 1 and result.output.startswith("EXPIRED")

    services.revoke(cert, "x", actor=None)
    result = runner.invoke(args=["certificates", "verify", cert.number, cert.verification_code])
    assert result.exit_code == 1 and result.output.startswith("REVOKED")


def test_expire_command(app, enterprise, make_person):
    runner = app.test_cli_runner()
    person = make_person(enterprise)
    old = _issue(person, "cli-2", valid_until=local_today() - dt.timedelta(days=1))
    result = runner.invoke(args=["certificates", "expire"])
    assert result.exit_code == 0 and result.output.split()[0] != "0"
    from lms.core.db import db

    db.session.refresh(old)
    assert old.status == EXPIRED
