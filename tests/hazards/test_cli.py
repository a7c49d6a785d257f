"""``lms hazards overdue`` and ``lms hazards counts``."""

from __future__ import annotations

import datetime as dt
import json

from lms.core.db import utcnow
from lms.hazards import services

DAY = dt.timedelta(days=1)


def test_overdue_and_counts(app, h):
    hz = services.report(
        h.ent.id, h.worker, description="漏电保护器失效", area_id=h.area.id, now=utcnow() - 9 * DAY
    )
    services.assign(
        hz,
        h.manager,
        grade="major",
        department_id=h.assignee_person.department_id,
        assignee_id=h.assignee_person.id,
        deadline=utcnow() - 2 * DAY,
        now=utcnow() - 9 * DAY,
    )
    runner = app.test_cli_runner()
    out = runner.invoke(args=["hazards", "overdue", "--enterprise", h.ent.code, "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert [r["code"] for r in data["overdue"]] == [hz.code] and data["overdue"][0]["escalated"]
    assert data["overdue"][0]["deadline"].endswith("+08:00")  # local time with its offset
    text = runner.invoke(args=["hazards", "overdue", "--enterprise", h.ent.code]).output
    assert hz.code in text and "escalated" in text
    out = runner.invoke(args=["hazards", "counts", "--enterprise", h.ent.code, "--json"])
    assert json.loads(out.output)["enterprises"][h.ent.code] == {
        "open": 1,
        "overdue": 1,
        "major_open": 1,
        "major_overdue": 1,
        "reported_30d": 1,
    }
    out = runner.invoke(
        args=[
            "hazards",
            "counts",
            "--enterprise",
            h.ent.code,
            "--as-of",
            (dt.date.today() - dt.timedelta(days=20)).isoformat(),
        ]
    )
    assert "open 0" in out.output
    bad = runner.invoke(args=["hazards", "overdue", "--enterprise", "NOPE"])
    assert bad.exit_code != 0 and "--enterprise" in bad.output
    bad = runner.invoke(args=["hazards", "counts", "--as-of", "yesterday"])
    assert bad.exit_code != 0 and "--as-of" in bad.output
