"""Attendance cannot double-count: a sheet naming another session, and people already trained at that time."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from lms.core.db import db
from lms.core.errors import Conflict
from lms.ledger import services as ledger
from lms.ledger.models import TrainingRecord
from lms.offline.attendance import import_attendance
from lms.offline.models import AttendanceUpload
from lms.org.models import Person
from tests.conftest import login
from tests.offline.conftest import sample

XLSX3 = "signin-workshop3-2026-11-12.xlsx"
START = dt.datetime(2026, 11, 12, 6, 0)  # 14:00 in Shanghai, stored UTC
END = dt.datetime(2026, 11, 12, 9, 0)


def _live(source: str) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(TrainingRecord)
        .where(TrainingRecord.source == source, TrainingRecord.voided_at.is_(None))
    )


def _two_sessions(ent, make_session):
    first = make_session(ent, topic="有限空间作业安全", starts_at=START, ends_at=END)
    done = import_attendance(ent, sample(XLSX3), XLSX3, session=first, dry_run=False, skip_unresolved=True)
    assert done.committed and done.created == 18
    second = make_session(ent, topic="受限空间救援演练", starts_at=START, ends_at=END)
    return first, second


def test_sheet_naming_another_session_is_refused_without_confirmation(roster_enterprise, make_session):
    first, second = _two_sessions(roster_enterprise, make_session)
    preview = import_attendance(roster_enterprise, sample(XLSX3), XLSX3, session=second)
    assert [s.id for s in preview.named_sessions] == [first.id]
    named = [e for e in preview.errors if e.get("confirm")]
    assert named and f"#{first.id}" in named[0]["message"]
    refused = import_attendance(
        roster_enterprise, sample(XLSX3), XLSX3, session=second, dry_run=False, skip_unresolved=True
    )
    assert refused.refused and not refused.committed
    assert _live(second.source) == 0


def test_the_same_afternoon_never_counts_twice(roster_enterprise, make_session):
    """Reproduction: the sheet of session #4 committed to a new session #11 gave 18 people two records."""
    first, second = _two_sessions(roster_enterprise, make_session)
    preview = import_attendance(
        roster_enterprise, sample(XLSX3), XLSX3, session=second, confirm_session=True, skip_unresolved=True
    )
    assert not [e for e in preview.errors if e.get("confirm")]  # confirmed: no longer a problem
    overlaps = preview.rows("overlap")
    assert len(overlaps) == 18  # the preview lists every conflict
    assert "有限空间作业安全" in overlaps[0].message
    assert len([e for e in preview.errors if e["field"] == "time"]) == 18
    refused = import_attendance(
        roster_enterprise,
        sample(XLSX3),
        XLSX3,
        session=second,
        dry_run=False,
        confirm_session=True,
        skip_unresolved=True,
    )
    assert refused.refused and not refused.committed
    assert _live(second.source) == 0 and _live(first.source) == 18
    # re-uploading the sheet to its own session is no overlap (it replaces)
    again = import_attendance(
        roster_enterprise, sample(XLSX3), XLSX3, session=first, dry_run=False, skip_unresolved=True
    )
    assert again.committed and again.unchanged == 18


def test_a_column_naming_another_session(roster_enterprise, make_session):
    a = make_session(roster_enterprise, topic="消防演练", starts_at=dt.datetime(2026, 10, 9, 1))
    b = make_session(roster_enterprise, topic="动火作业安全", starts_at=dt.datetime(2026, 10, 10, 1))
    from lms.core.exports import xlsx_bytes

    data = xlsx_bytes(
        ["工号", "姓名", "培训场次"], [["GA1008", "胡敏平", f"#{a.id}"], ["GA1009", "钟霞", f"#{a.id}"]]
    )
    refused = import_attendance(roster_enterprise, data, "col.xlsx", session=b, dry_run=False)
    assert refused.refused and _live(a.source) == 0 and _live(b.source) == 0
    done = import_attendance(
        roster_enterprise, data, "col.xlsx", session=b, dry_run=False, confirm_session=True
    )
    assert done.committed and _live(b.source) == 2 and _live(a.source) == 0
    upload = db.session.get(AttendanceUpload, done.upload_id)
    assert upload.confirmation["named"] == [{"id": a.id, "topic": "消防演练"}]
    assert upload.confirmation["session_id"] == b.id and upload.confirmation["at"]


def test_manual_entry_over_a_classroom_session_is_refused(roster_enterprise, make_session):
    first, _second = _two_sessions(roster_enterprise, make_session)
    p = db.session.scalar(
        select(Person).where(Person.enterprise_id == roster_enterprise.id, Person.employee_no == "GA1008")
    )
    try:
        ledger.record(
            p,
            kind="manual",
            topic="外部培训",
            source="manual:x",
            hours=2,
            started_at=START + dt.timedelta(hours=1),
            completed_at=END + dt.timedelta(hours=1),
        )
    except Conflict as exc:
        assert "有限空间作业安全" in exc.message
    else:  # pragma: no cover
        raise AssertionError("an overlapping manual entry was recorded")


def test_preview_page_confirms_and_keeps_who(roster_enterprise, make_session, client, make_person):
    first, second = _two_sessions(roster_enterprise, make_session)
    trainer = make_person(roster_enterprise, app_role="trainer").user
    db.session.commit()
    login(client, trainer)
    with open(sample(XLSX3), "rb") as fh:
        r = client.post(
            f"/offline/{second.id}/upload",
            data={"file": (fh, XLSX3)},
            content_type="multipart/form-data",
        )
    assert r.status_code == 302, r.data
    up = db.session.scalar(select(AttendanceUpload).where(AttendanceUpload.session_id == second.id))
    page = client.get(f"/offline/{second.id}/uploads/{up.id}").get_data(as_text=True)
    assert f"/offline/{second.id}/uploads/{up.id}/confirm" in page
    r = client.post(f"/offline/{second.id}/uploads/{up.id}/confirm")
    assert r.status_code == 302
    db.session.refresh(up)
    assert up.confirmation["by_id"] == trainer.id and up.confirmation["named"][0]["id"] == first.id
    page = client.get(f"/offline/{second.id}/uploads/{up.id}").get_data(as_text=True)
    assert "GA1008" in page and f"/uploads/{up.id}/confirm" not in page
    r = client.post(f"/offline/{second.id}/uploads/{up.id}/commit", data={"skip_unresolved": "1"})
    assert _live(second.source) == 0  # the 18 overlaps refuse the commit


def test_the_command_needs_the_confirmation_too(app, roster_enterprise, make_session, tmp_path):
    import json

    a = make_session(roster_enterprise, topic="消防演练", starts_at=dt.datetime(2026, 10, 9, 1))
    b = make_session(roster_enterprise, topic="动火作业安全", starts_at=dt.datetime(2026, 10, 10, 1))
    db.session.commit()
    path = str(tmp_path / "col.xlsx")
    from lms.core.exports import xlsx_bytes

    with open(path, "wb") as fh:
        fh.write(xlsx_bytes(["工号", "姓名", "培训场次"], [["GA1008", "胡敏平", f"#{a.id}"]]))
    runner = app.test_cli_runner()
    res = runner.invoke(args=["import-attendance", path, "--session", str(b.id), "--json"])
    data = json.loads(res.output)
    assert res.exit_code == 1 and data["named_sessions"] == [{"id": a.id, "topic": "消防演练"}]
    res = runner.invoke(
        args=["import-attendance", path, "--session", str(b.id), "--json", "--confirm-session"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["committed"] and _live(b.source) == 1 and _live(a.source) == 0
