"""The commands: lms offline new-session, lms import-attendance."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from lms.core.db import db
from lms.ledger.models import TrainingRecord
from lms.offline.models import OfflineSession
from tests.offline.conftest import sample


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args), catch_exceptions=False)


def new_session(app, ent, *extra):
    res = run(
        app,
        "offline",
        "new-session",
        "--enterprise",
        ent.code,
        "--topic",
        "有限空间作业安全",
        "--category",
        "有限空间",
        "--start",
        "2026-11-12 14:00",
        "--hours",
        "3",
        *extra,
    )
    assert res.exit_code == 0, res.output
    return int(res.output.strip())


def test_new_session_prints_id_and_json(app, roster_enterprise):
    sid = new_session(app, roster_enterprise, "--level", "班组级")
    s = db.session.get(OfflineSession, sid)
    # 17:00 local (the sheet's and the command's time) is stored as 09:00 UTC.
    assert s.level == "team" and str(s.hours) in ("3", "3.00") and s.ends_at.hour == 9
    res = run(
        app,
        "offline",
        "new-session",
        "--enterprise",
        roster_enterprise.code,
        "--topic",
        "消防演练",
        "--category",
        "消防安全",
        "--start",
        "2026-12-01 09:00",
        "--hours",
        "2",
        "--level",
        "workshop",
        "--json",
    )
    data = json.loads(res.output)
    assert data["level"] == "workshop" and data["id"] > sid
    bad = app.test_cli_runner().invoke(
        args=[
            "offline",
            "new-session",
            "--enterprise",
            roster_enterprise.code,
            "--topic",
            "x",
            "--category",
            "y",
            "--start",
            "2026-13-01 09:00",
            "--hours",
            "2",
        ]
    )
    assert bad.exit_code != 0
    bad = app.test_cli_runner().invoke(
        args=[
            "offline",
            "new-session",
            "--enterprise",
            roster_enterprise.code,
            "--topic",
            "x",
            "--category",
            "y",
            "--start",
            "2026-12-01 09:00",
            "--hours",
            "2",
            "--level",
            "部门级",
        ]
    )
    assert bad.exit_code != 0 and "level" in bad.output


def test_import_attendance_json_and_exit_codes(app, roster_enterprise):
    sid = new_session(app, roster_enterprise)
    path = str(sample("signin-workshop3-2026-11-12.xlsx"))
    res = run(app, "import-attendance", path, "--session", str(sid), "--dry-run", "--json")
    data = json.loads(res.output)
    assert res.exit_code == 0
    assert {
        "created",
        "updated",
        "unchanged",
        "errors",
        "matched",
        "ambiguous",
        "unknown",
        "duplicates",
    } <= set(data)
    assert data["created"] == 18 and data["errors"] == []
    assert {"row", "employee_no", "name"} <= set(data["unknown"][0]) and data["unknown"][0]["row"] == 24
    assert data["duplicates"][0]["row"] == 23
    # a real run with an unknown row refuses…
    res = run(app, "import-attendance", path, "--session", str(sid), "--json")
    assert res.exit_code == 1 and json.loads(res.output)["errors"]
    assert db.session.scalar(select(func.count()).select_from(TrainingRecord)) == 0
    # …unless told to skip it
    res = run(app, "import-attendance", path, "--session", str(sid), "--json", "--skip-unresolved")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["committed"] and data["created"] == 18 and data["skipped"][0]["row"] == 24
    # again: nothing changes
    res = run(app, "import-attendance", path, "--session", str(sid), "--json", "--skip-unresolved")
    data = json.loads(res.output)
    assert (data["created"], data["updated"], data["unchanged"]) == (0, 0, 18)
    # resolve the unknown row by employee number instead
    res = run(app, "import-attendance", path, "--session", str(sid), "--json", "--resolve", "24=GA1110")
    assert json.loads(res.output)["created"] == 1
    # human output
    res = run(app, "import-attendance", path, "--session", str(sid), "--dry-run")
    assert res.exit_code == 0 and "unchanged" in res.output


def test_import_attendance_refusals(app, roster_enterprise, tmp_path):
    sid = new_session(app, roster_enterprise)
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"%PDF-1.4 not a sheet")
    res = run(app, "import-attendance", str(fake), "--session", str(sid), "--json")
    data = json.loads(res.output)
    assert res.exit_code == 1 and data["refused"] and "not a spreadsheet" in data["errors"][0]["message"]
    res = run(
        app, "import-attendance", str(sample("signin-logistics-en.csv")), "--session", "999999", "--json"
    )
    assert res.exit_code == 1
    res = run(app, "import-attendance", str(sample("signin-logistics-en.csv")), "--session", str(sid))
    assert res.exit_code == 0
