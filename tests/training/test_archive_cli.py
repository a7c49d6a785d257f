"""``lms archive``: a person's statutory archive from the command line, in the local time of the enterprise.

A classroom session that started at 10:30 local time shows 10:30 in the archive, whatever the format (csv,
xlsx, pdf), from the command line and from the web page alike, and for an enterprise in another zone too.
"""

from __future__ import annotations

import datetime as dt
import io
import json

import openpyxl
import pytest
from pypdf import PdfReader

from lms.core.db import db
from lms.core.exports import xlsx_bytes
from lms.ledger.models import TrainingRecord
from lms.offline.attendance import import_attendance
from lms.offline.models import OfflineSession
from tests.conftest import login


def _pdf_text(data: bytes) -> str:
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return text.replace(" ", "").replace("\n", "")


def _new_session(app, ent, start: str, *more: str) -> int:
    """Schedule a session through ``lms offline new-session`` (local time); return its id."""
    result = app.test_cli_runner().invoke(
        args=[
            "offline",
            "new-session",
            "--enterprise",
            ent.code,
            "--topic",
            "有限空间作业安全",
            "--category",
            "有限空间",
            "--start",
            start,
            "--hours",
            "1.5",
            *more,
            "--json",
        ]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["id"]


def _attend(
    app, ent, person, *, start: str = "2026-11-20 10:30", end: str = "2026-11-20 12:00"
) -> OfflineSession:
    """Schedule a session through ``lms offline new-session`` (local time) and record the person at it."""
    session = db.session.get(OfflineSession, _new_session(app, ent, start, "--end", end))
    sheet = xlsx_bytes(["工号", "姓名"], [[person.employee_no, person.name]])
    done = import_attendance(ent, sheet, "签到表.xlsx", session=session, dry_run=False)
    assert done.committed, done.errors
    db.session.flush()
    return session


def test_session_is_stored_utc_and_cli_json_has_offset(app, enterprise, make_person):
    p = make_person(enterprise, name="张建国")
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "offline",
            "new-session",
            "--enterprise",
            enterprise.code,
            "--topic",
            "消防演练",
            "--category",
            "消防",
            "--start",
            "2026-11-20 10:30",
            "--hours",
            "2",
            "--json",
        ]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["starts_at"] == "2026-11-20T10:30+08:00" and data["ends_at"] == "2026-11-20T12:30+08:00"
    s = db.session.get(OfflineSession, data["id"])
    assert s.starts_at == dt.datetime(2026, 11, 20, 2, 30)  # stored UTC
    assert p is not None


def test_archive_csv_shows_local_time(app, enterprise, make_person):
    p = make_person(enterprise, name="张建国", employee_no="GA1010")
    _attend(app, enterprise, p)
    rec = db.session.query(TrainingRecord).filter_by(person_id=p.id).one()
    assert rec.completed_at == dt.datetime(2026, 11, 20, 4, 0)  # the ledger is UTC
    result = app.test_cli_runner().invoke(
        args=["archive", "--enterprise", enterprise.code, "--person", "GA1010", "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("培训时间,培训内容")
    row = next(line for line in lines if "有限空间作业安全" in line)
    assert "2026-11-20 10:30" in row
    assert "02:30" not in result.output and "04:00" not in result.output


@pytest.mark.parametrize("fmt", ["xlsx", "pdf"])
def test_archive_files_show_local_time(app, enterprise, make_person, tmp_path, fmt):
    p = make_person(enterprise, name="李四", employee_no="GA1011")
    _attend(app, enterprise, p)
    out = tmp_path / f"a.{fmt}"
    result = app.test_cli_runner().invoke(
        args=[
            "archive",
            "--enterprise",
            enterprise.code,
            "--person",
            "GA1011",
            "--format",
            fmt,
            "--out",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    if fmt == "xlsx":
        ws = openpyxl.load_workbook(out).active
        cells = [str(c.value) for row in ws.iter_rows(min_row=2) for c in row if c.value is not None]
        assert any(c.startswith("2026-11-20 10:30") for c in cells), cells
        assert not any("02:30" in c for c in cells)
    else:
        text = _pdf_text(out.read_bytes())
        assert "2026-11-2010:30" in text and "02:30" not in text and "张建国" not in text and "李四" in text


def test_archive_needs_out_for_binary_and_a_known_person(app, enterprise, make_person):
    make_person(enterprise, employee_no="GA1012")
    db.session.commit()  # the command ends its read unit with a rollback
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["archive", "--enterprise", enterprise.code, "--person", "GA1012", "--format", "pdf"]
    )
    assert result.exit_code != 0 and "--out" in result.output
    result = runner.invoke(
        args=["archive", "--enterprise", enterprise.code, "--person", "NOPE", "--format", "csv"]
    )
    assert result.exit_code != 0 and "NOPE" in result.output


def test_web_page_pdf_and_cli_agree(app, client, enterprise, make_person, tmp_path):
    p = make_person(enterprise, name="王五", employee_no="GA1013")
    manager = make_person(enterprise, app_role="manager")
    _attend(app, enterprise, p)
    db.session.commit()
    login(client, manager.user)
    page = client.get(f"/training/people/{p.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "2026-11-20 10:30" in html and "02:30" not in html
    web_pdf = client.get(f"/training/people/{p.id}?format=pdf")
    assert web_pdf.status_code == 200 and "2026-11-2010:30" in _pdf_text(web_pdf.data)
    web_csv = client.get(f"/training/people/{p.id}?format=csv")
    out = tmp_path / "a.csv"
    cli_csv = app.test_cli_runner().invoke(
        args=[
            "archive",
            "--enterprise",
            enterprise.code,
            "--person",
            "GA1013",
            "--format",
            "csv",
            "--out",
            str(out),
        ]
    )
    assert cli_csv.exit_code == 0 and web_csv.data == out.read_bytes()  # one document
    web_xlsx = client.get(f"/training/people/{p.id}?format=xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(web_xlsx.data)).active
    assert any(str(c.value).startswith("2026-11-20 10:30") for row in ws.iter_rows(min_row=2) for c in row)


@pytest.mark.parametrize(
    ("zone", "utc"),
    [("Europe/Berlin", dt.datetime(2026, 11, 20, 9, 30)), ("Asia/Urumqi", dt.datetime(2026, 11, 20, 4, 30))],
)
def test_enterprise_in_another_zone(app, client, make_enterprise, make_person, zone, utc):
    ent = make_enterprise(time_zone=zone)
    p = make_person(ent, name="赵六", employee_no="GA1014")
    manager = make_person(ent, app_role="manager")
    session = _attend(app, ent, p)
    assert session.starts_at == utc
    db.session.commit()  # the command ends its read unit with a rollback
    result = app.test_cli_runner().invoke(
        args=["archive", "--enterprise", ent.code, "--person", "GA1014", "--format", "csv"]
    )
    assert "2026-11-20 10:30" in result.output
    login(client, manager.user)
    html = client.get(f"/training/people/{p.id}").get_data(as_text=True)
    assert "2026-11-20 10:30" in html
    assert "2026-11-2010:30" in _pdf_text(client.get(f"/training/people/{p.id}?format=pdf").data)


def test_session_without_an_end_still_shows_its_start(app, enterprise, make_person):
    """A session typed with a start and hours only (no end) took place from its start, not hours before it."""
    p = make_person(enterprise, employee_no="GA1015")
    session = db.session.get(OfflineSession, _new_session(app, enterprise, "2026-11-20 10:30"))
    session.ends_at = None  # as the web form leaves it when the end is not typed
    sheet = xlsx_bytes(["工号", "姓名"], [[p.employee_no, p.name]])
    assert import_attendance(enterprise, sheet, "签到表.xlsx", session=session, dry_run=False).committed
    db.session.commit()
    result = app.test_cli_runner().invoke(
        args=["archive", "--enterprise", enterprise.code, "--person", "GA1015", "--format", "csv"]
    )
    row = next(line for line in result.output.splitlines() if "有限空间作业安全" in line)
    assert row.startswith("2026-11-20 10:30"), row
