"""``lms coverage``, ``lms requirements apply-presets``, ``lms reminders send``."""

from __future__ import annotations

import datetime as dt
import json

from lms.core.db import db
from lms.core.timeutil import today as local_today  # the enterprise's calendar day (Asia/Shanghai)
from lms.training.models import Notification, Requirement


def test_cli_presets_coverage_reminders(app, enterprise, make_person, tmp_path):
    enterprise.high_risk = True
    p = make_person(enterprise, roles=("主要负责人",), hire_date=local_today() - dt.timedelta(days=400))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["requirements", "apply-presets", "--enterprise", enterprise.code])
    assert result.exit_code == 0, result.output
    reqs = {r.preset_key: r for r in db.session.query(Requirement).filter_by(enterprise_id=enterprise.id)}
    assert reqs["principal_initial"].hours_required == 48 and reqs["employee_annual"].hours_required == 20
    assert reqs["new_hire_prejob"].hours_required == 72 and "第十三条" in reqs["new_hire_prejob"].description
    again = runner.invoke(args=["requirements", "apply-presets", "--enterprise", enterprise.code])
    assert "created 0" in again.output
    result = runner.invoke(
        args=["coverage", "--enterprise", enterprise.code, "--by", "requirement", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["by"] == "requirement" and any(
        r["requirement"] == "主要负责人初次安全培训" for r in data["rows"]
    )
    out = tmp_path / "c.xlsx"
    result = runner.invoke(
        args=[
            "coverage",
            "--enterprise",
            enterprise.code,
            "--by",
            "department",
            "--format",
            "xlsx",
            "--output",
            str(out),
        ]
    )
    assert result.exit_code == 0 and out.read_bytes()[:2] == b"PK"
    result = runner.invoke(
        args=[
            "coverage",
            "--enterprise",
            enterprise.code,
            "--by",
            "role",
            "--as-of",
            "2026-01-31",
            "--format",
            "csv",
        ]
    )
    assert "主要负责人" in result.output
    result = runner.invoke(args=["reminders", "send", "--enterprise", enterprise.code])
    assert result.exit_code == 0, result.output
    assert db.session.query(Notification).filter_by(user_id=p.user.id).count() >= 1
    bad = runner.invoke(args=["coverage", "--enterprise", "NOPE", "--by", "role"])
    assert bad.exit_code != 0
