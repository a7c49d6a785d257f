"""Attendance commits in chunks (ledger.record_many), streamed sheets with merged cells, all or nothing."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from lms.core.db import db
from lms.core.sheets.tables import read_tables
from lms.ledger import services as ledger
from lms.ledger.models import TrainingRecord
from lms.offline import attendance as att
from lms.offline.attendance import FIELDS, REQUIRED, import_attendance
from lms.offline.models import Attendance, AttendanceUpload
from lms.org.models import Person

HEADERS = ["培训场次", "工号", "姓名", "签到时间", "成绩", "出勤"]


def _xlsx(rows, headers=HEADERS, title=None, merges=(), sheet="签到表") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    if title:
        ws.append([title])
    ws.append(headers)
    for row in rows:
        ws.append(row)
    for ref in merges:
        ws.merge_cells(ref)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _people(ent) -> list[Person]:
    return list(
        db.session.scalars(select(Person).where(Person.enterprise_id == ent.id).order_by(Person.employee_no))
    )


def _live(source: str) -> dict[int, TrainingRecord]:
    rows = db.session.scalars(
        select(TrainingRecord).where(TrainingRecord.source == source, TrainingRecord.voided_at.is_(None))
    ).all()
    assert len(rows) == len({r.person_id for r in rows})  # never two live rows for one person
    return {r.person_id: r for r in rows}


def _attendance(session_id: int) -> dict[int, Attendance]:
    rows = db.session.scalars(select(Attendance).where(Attendance.session_id == session_id)).all()
    return {a.person_id: a for a in rows}


def _count(source: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(TrainingRecord).where(TrainingRecord.source == source)
    )


def _sheet_rows(sessions, people, *, score=lambda i: str(60 + i % 40), absent=lambda i: i % 9 == 0):
    rows = []
    for s in sessions:
        for i, p in enumerate(people):
            rows.append(
                [
                    f"#{s.id}",
                    p.employee_no,
                    p.name,
                    s.starts_at.strftime("%Y-%m-%d %H:%M"),
                    "缺考" if i % 13 == 5 else score(i),
                    "缺席" if absent(i) else "出勤",
                ]
            )
    return rows


def _check_state(result, sessions, people, rows_by_session):
    """The ledger and the attendance rows say exactly what the last committed sheet says."""
    written = 0
    for s in sessions:
        expected = rows_by_session[s.id]  # person id -> sheet row
        live = _live(s.source)
        attendance = _attendance(s.id)
        assert set(attendance) == set(expected)
        attendees = {pid for pid, row in expected.items() if row[5] != "缺席"}
        assert set(live) == attendees
        for pid, row in expected.items():
            a = attendance[pid]
            assert a.absent == (row[5] == "缺席") and a.upload_id == result.upload_id
            if pid in attendees:
                rec = live[pid]
                assert a.record_id == rec.id and rec.kind == "offline" and rec.hours == s.hours
                # a record written by this upload names its row; an unchanged one keeps its first evidence
                assert rec.evidence["sheet"] == "签到表" and rec.evidence["upload_id"] <= result.upload_id
                if rec.evidence["upload_id"] == result.upload_id:
                    written += 1
                    assert rec.evidence["row"] == a.row
                if row[4] == "缺考":
                    assert rec.score is None and a.score_note == "缺考"
                else:
                    assert rec.score == Decimal(row[4]).quantize(Decimal("0.01"))
            else:
                assert a.record_id is None
    assert written == result.created + result.updated


def test_chunked_commit_creates_replaces_and_voids_like_before(roster_enterprise, make_session, monkeypatch):
    monkeypatch.setattr(att, "COMMIT_CHUNK", 7)  # many chunks, with a chunk boundary inside each session
    a = make_session(roster_enterprise, topic="有限空间作业安全", starts_at=dt.datetime(2026, 11, 12, 14, 0))
    b = make_session(roster_enterprise, topic="动火作业安全", starts_at=dt.datetime(2026, 11, 13, 9, 0))
    people = _people(roster_enterprise)[:50]
    rows = _sheet_rows([a, b], people)
    data = _xlsx(rows)

    preview = import_attendance(roster_enterprise, data, "big.xlsx")
    first = import_attendance(roster_enterprise, data, "big.xlsx", dry_run=False)
    assert first.committed, first.errors
    attendees = sum(1 for r in rows if r[5] != "缺席")
    assert (first.created, first.updated, first.unchanged, first.voided) == (attendees, 0, 0, 0)
    assert (preview.created, preview.updated, preview.unchanged) == (attendees, 0, 0)
    by_session = {
        s.id: {p.id: r for p, r in zip(people, rows[i * 50 : i * 50 + 50], strict=True)}
        for i, s in enumerate([a, b])
    }
    _check_state(first, [a, b], people, by_session)
    assert a.status == "recorded" and b.status == "recorded"

    # the same sheet again: everything unchanged, nothing doubled, records kept
    ids_before = {s.id: {pid: r.id for pid, r in _live(s.source).items()} for s in (a, b)}
    again = import_attendance(roster_enterprise, data, "big.xlsx", dry_run=False)
    assert (again.created, again.updated, again.unchanged, again.voided) == (0, 0, attendees, 0)
    assert {s.id: {pid: r.id for pid, r in _live(s.source).items()} for s in (a, b)} == ids_before
    assert _count(a.source) + _count(b.source) == attendees
    _check_state(again, [a, b], people, by_session)

    # a corrected sheet: new scores for some, some gone, some now absent, some absent now present
    kept = people[:40]
    corrected = _sheet_rows(
        [a, b], kept, score=lambda i: str(60 + i % 40 + (1 if i % 4 == 0 else 0)), absent=lambda i: i % 9 == 1
    )
    data2 = _xlsx(corrected)
    plan = import_attendance(roster_enterprise, data2, "fixed.xlsx")
    fixed = import_attendance(roster_enterprise, data2, "fixed.xlsx", dry_run=False)
    assert fixed.committed, fixed.errors
    assert (fixed.created, fixed.updated, fixed.unchanged, fixed.voided) == (
        plan.created,
        plan.updated,
        plan.unchanged,
        plan.voided,
    )
    assert fixed.created > 0 and fixed.updated > 0 and fixed.unchanged > 0 and fixed.voided > 0
    by_session2 = {
        s.id: {p.id: r for p, r in zip(kept, corrected[i * 40 : i * 40 + 40], strict=True)}
        for i, s in enumerate([a, b])
    }
    _check_state(fixed, [a, b], kept, by_session2)
    for s in (a, b):
        old = db.session.scalars(
            select(TrainingRecord).where(
                TrainingRecord.source == s.source, TrainingRecord.voided_at.is_not(None)
            )
        ).all()
        live = _live(s.source)
        replaced = [r for r in old if r.replaced_by_id]
        dropped = [r for r in old if not r.replaced_by_id]
        assert all(live[r.person_id].id == r.replaced_by_id for r in replaced)
        assert all(r.void_reason == "replaced by a new record from the same source" for r in replaced)
        assert all(r.void_reason == "not on the latest sign-in sheet" for r in dropped)
        assert all(r.person_id not in live for r in dropped)
        # created + replaced rows only: never a second live row
        assert _count(s.source) == len(live) + len(old)
    uploads = db.session.scalars(select(AttendanceUpload).order_by(AttendanceUpload.id)).all()
    assert [u.status for u in uploads] == ["superseded", "superseded", "committed"]
    assert uploads[-1].summary["created"] == fixed.created


def test_signal_after_a_chunked_commit(roster_enterprise, make_session, monkeypatch):
    from lms.core import signals

    monkeypatch.setattr(att, "COMMIT_CHUNK", 3)
    s = make_session(roster_enterprise)
    people = _people(roster_enterprise)[:10]
    rows = _sheet_rows([s], people)
    seen = []

    def listener(sender, **kw):
        # listeners run after the records are written: they can read them
        seen.append((sender, kw["person_ids"], sorted(_live(sender.source))))

    signals.attendance_recorded.connect(listener)
    try:
        assert import_attendance(roster_enterprise, _xlsx(rows), "a.xlsx", dry_run=False).committed
    finally:
        signals.attendance_recorded.disconnect(listener)
    want = sorted(p.id for p, r in zip(people, rows, strict=True) if r[5] != "缺席")
    assert seen == [(s, want, want)]


def test_a_failure_mid_commit_leaves_nothing(roster_enterprise, make_session, monkeypatch):
    monkeypatch.setattr(att, "COMMIT_CHUNK", 5)
    s = make_session(roster_enterprise)
    people = _people(roster_enterprise)[:20]
    data = _xlsx(_sheet_rows([s], people, absent=lambda i: False))
    db.session.commit()  # the fixtures stay; only what the import writes is undone below
    real = ledger.record_many
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(ledger, "record_many", failing)
    savepoint = db.session.begin_nested()
    with pytest.raises(RuntimeError):
        import_attendance(roster_enterprise, data, "a.xlsx", session=s, dry_run=False)
    savepoint.rollback()
    assert len(calls) == 3
    assert _count(s.source) == 0 and not _attendance(s.id)
    assert not db.session.scalar(select(func.count()).select_from(AttendanceUpload))
    monkeypatch.setattr(ledger, "record_many", real)
    result = import_attendance(roster_enterprise, data, "a.xlsx", session=s, dry_run=False)
    assert result.committed and result.created == 20 and len(_live(s.source)) == 20


def test_merged_cells_titles_and_footers_streamed(roster_enterprise, make_session):
    a = make_session(roster_enterprise, topic="消防演练", starts_at=dt.datetime(2026, 10, 9, 9))
    b = make_session(roster_enterprise, topic="动火作业安全", starts_at=dt.datetime(2026, 10, 10, 9))
    headers = ["培训场次", "姓名", "部门", "签到时间", "签名"]
    rows = [
        [f"#{a.id}", "冯伟", "一车间", "09:00", "冯伟"],  # 培训场次 merged over rows 3-5, 部门 over rows 3-4
        [None, "陆华", None, "09:01", "陆华"],
        [None, "钟霞", "三车间", "09:02", "钟霞"],
        [f"#{b.id}", "冯伟", "一车间", "09:00", "冯伟"],  # 培训场次 merged over rows 6-8
        [None, "冯伟", None, "", ""],  # the same 冯伟 (merged 一车间): a duplicate, prefilled and unsigned
        [None, "石冬", "三车间", "09:05", "石冬"],
        ["培训讲师：王工", None, None, None, None],
        ["合计 6 人", None, None, None, None],
    ]
    data = _xlsx(
        rows,
        headers=headers,
        title="培训签到表",
        merges=["A1:E1", "A3:A5", "C3:C4", "A6:A8", "C6:C7"],
    )
    streamed = read_tables(data, "m.xlsx", FIELDS, REQUIRED, all_sheets=True, streaming=True)
    loaded = read_tables(data, "m.xlsx", FIELDS, REQUIRED, all_sheets=True, streaming=False)
    assert [(r.row, r.values) for r in streamed[0].rows] == [(r.row, r.values) for r in loaded[0].rows]

    result = import_attendance(roster_enterprise, data, "merged.xlsx", dry_run=False)
    assert result.committed, result.errors
    emp = {p.id: p.employee_no for p in _people(roster_enterprise)}
    lines = {line.row: line for line in result.lines}
    assert set(lines) == {3, 4, 5, 6, 7, 8}  # the title, the header and the footers are not rows
    assert lines[4].department == "一车间" and emp[lines[4].person_id] == "GA1003"  # 陆华 (merged 部门)
    assert emp[lines[3].person_id] == "GA1042" and lines[6].person_id == lines[3].person_id
    assert lines[7].status == "duplicate" and lines[7].duplicate_of == "6"
    assert {emp[p] for p in _live(a.source)} == {"GA1042", "GA1003", emp[lines[5].person_id]}
    assert {emp[p] for p in _live(b.source)} == {"GA1042", emp[lines[8].person_id]}


def test_csv_with_bom_and_several_sessions(roster_enterprise, make_session, monkeypatch):
    monkeypatch.setattr(att, "COMMIT_CHUNK", 4)
    a = make_session(roster_enterprise, topic="消防演练", starts_at=dt.datetime(2026, 10, 9, 9))
    b = make_session(roster_enterprise, topic="动火作业安全", starts_at=dt.datetime(2026, 10, 10, 9))
    people = _people(roster_enterprise)[:9]
    lines = [",".join(HEADERS)] + [",".join(r) for r in _sheet_rows([a, b], people)]
    lines.append("记录人：李秀英,,,,,")
    data = ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")
    result = import_attendance(roster_enterprise, data, "bom.csv", dry_run=False)
    assert result.committed, result.errors
    assert result.created == 16 and len(result.absentees) == 2  # rows 0 of each session: 缺席
    assert len(_live(a.source)) == 8 and len(_live(b.source)) == 8
    assert len(_attendance(a.id)) == 9 and len(_attendance(b.id)) == 9
    gbk = ("\r\n".join(lines) + "\r\n").encode("gbk")
    again = import_attendance(roster_enterprise, gbk, "gbk.csv", dry_run=False)
    assert again.committed and again.unchanged == 16 and again.created == 0


def test_a_sheet_damaged_past_its_first_rows_is_refused(roster_enterprise, make_session):
    s = make_session(roster_enterprise)
    people = _people(roster_enterprise)[:30]
    good = _xlsx(_sheet_rows([s], people))
    src = zipfile.ZipFile(io.BytesIO(good))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                cut = [m.start() for m in re.finditer(rb"<row ", body)][20]
                body = body[:cut] + b"<row r=broken><c"  # the file ends mid-row, after twenty rows
            dst.writestr(info, body)
    result = import_attendance(roster_enterprise, out.getvalue(), "cut.xlsx", session=s, dry_run=False)
    assert result.refused and not result.committed and not result.lines
    assert "cut.xlsx" in result.errors[0]["message"]
    assert _count(s.source) == 0 and not _attendance(s.id)


def test_snapshot_listeners_see_the_bulk_records(
    roster_enterprise, make_session, make_enterprise, monkeypatch
):
    """The records go in with executemany through the session: the trend snapshots they change still go."""
    from lms.training.listeners import apply_pending
    from lms.training.models import CoverageSnapshot

    monkeypatch.setattr(att, "COMMIT_CHUNK", 4)
    other = make_enterprise()
    s = make_session(roster_enterprise, starts_at=dt.datetime(2026, 11, 12, 14, 0))
    apply_pending(db.session)  # what the fixtures changed
    for ent, month_end in (
        (roster_enterprise, dt.date(2026, 10, 31)),
        (roster_enterprise, dt.date(2026, 11, 30)),
        (other, dt.date(2026, 11, 30)),
    ):
        db.session.add(CoverageSnapshot(enterprise_id=ent.id, month_end=month_end))
    db.session.flush()
    people = _people(roster_enterprise)[:10]
    result = import_attendance(roster_enterprise, _xlsx(_sheet_rows([s], people)), "a.xlsx", dry_run=False)
    assert result.committed and result.created == 8
    apply_pending(db.session)  # as before commit
    left = db.session.execute(select(CoverageSnapshot.enterprise_id, CoverageSnapshot.month_end)).all()
    # a record completed on 12 November changes the November month end of its own enterprise only
    assert sorted(left) == sorted(
        [(roster_enterprise.id, dt.date(2026, 10, 31)), (other.id, dt.date(2026, 11, 30))]
    )
