"""Attendance import: the samples, matching rules, duplicates, 缺考, re-uploads, several sessions, hostile files."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from lms.core.db import db
from lms.core.exports import write_xlsx, xlsx_bytes
from lms.core.storage import StoredFile
from lms.ledger.models import TrainingRecord
from lms.offline import services
from lms.offline.attendance import import_attendance, resolve_session_ref
from lms.offline.models import Attendance, AttendanceUpload
from lms.org.models import Person
from tests.offline.conftest import sample

XLSX3 = "signin-workshop3-2026-11-12.xlsx"
GBK = "signin-workshop1-gbk.csv"
EN = "signin-logistics-en.csv"


def live(session) -> dict[str, TrainingRecord]:
    rows = db.session.scalars(
        select(TrainingRecord).where(
            TrainingRecord.source == session.source, TrainingRecord.voided_at.is_(None)
        )
    )
    return {r.person.employee_no: r for r in rows}


def person(ent, emp: str) -> Person:
    return db.session.scalar(select(Person).where(Person.enterprise_id == ent.id, Person.employee_no == emp))


def sheet(rows, headers=("工号", "姓名", "部门", "签到时间", "成绩"), **kw) -> bytes:
    return xlsx_bytes(list(headers), rows, **kw)


def test_workshop3_xlsx_sample(roster_enterprise, make_session):
    s = make_session(roster_enterprise)
    preview = import_attendance(roster_enterprise, sample(XLSX3), XLSX3, session=s)
    data = preview.as_json()
    assert not data["errors"]
    assert data["created"] == 18 and len(data["matched"]) == 18
    assert [(r["row"], r["employee_no"], r["name"]) for r in data["unknown"]] == [
        (24, "GA9999", "临时工刘某")
    ]
    dup = data["duplicates"][0]
    assert (dup["row"], dup["employee_no"], dup["duplicate_of"]) == (23, "GA1009", "6")
    matched = {r["employee_no"]: r for r in data["matched"]}
    assert "GA1015" in matched  # full-width ＧＡ１０１５ normalised
    assert matched["GA1063"]["score"] is None and matched["GA1063"]["score_note"] == "缺考"
    assert matched["GA1063"]["absent"] is False  # signed in, missed the test: hours still count
    assert matched["GA1017"]["name"] == "陶玉"
    assert db.session.scalar(select(func.count()).select_from(TrainingRecord)) == 0  # dry run wrote nothing

    refused = import_attendance(roster_enterprise, sample(XLSX3), XLSX3, session=s, dry_run=False)
    assert (
        refused.refused and not refused.committed and "ambiguous or unknown" in refused.errors[-1]["message"]
    )
    assert not live(s)

    done = import_attendance(
        roster_enterprise, sample(XLSX3), XLSX3, session=s, dry_run=False, skip_unresolved=True
    )
    assert done.committed and done.created == 18
    records = live(s)
    assert len(records) == 18
    assert records["GA1009"].score == Decimal("80.00")  # first of the duplicate rows counts
    assert records["GA1063"].score is None and records["GA1063"].hours == Decimal("3.00")
    assert records["GA1008"].kind == "offline" and records["GA1008"].category == "有限空间"
    assert records["GA1008"].evidence["upload_id"] == done.upload_id
    upload = db.session.get(AttendanceUpload, done.upload_id)
    assert upload.status == "committed" and db.session.get(StoredFile, upload.stored_file_id).size > 0
    assert s.status == "recorded"


@pytest.mark.parametrize("name,count", [(GBK, 12), (EN, 10)])
def test_csv_samples(roster_enterprise, make_session, name, count):
    s = make_session(roster_enterprise, topic="岗位安全操作规程", starts_at=dt.datetime(2026, 11, 20, 8, 30))
    result = import_attendance(roster_enterprise, sample(name), name, session=s, dry_run=False)
    assert result.committed and result.created == count, result.as_json()
    assert not result.unresolved and not result.rows("duplicate")
    # 冯伟 appears twice in the roster (GA1013 and GA1042): the employee number decides
    key = "GA1042" if name == GBK else "GA1013"
    assert key in live(s)


def test_all_samples_into_their_sessions(roster_enterprise, make_session):
    sessions = [
        make_session(roster_enterprise, topic=t, starts_at=when)
        for t, when in [
            ("有限空间作业安全", dt.datetime(2026, 11, 12, 14)),
            ("一车间安全教育", dt.datetime(2026, 11, 20, 8, 30)),
            ("仓储物流安全", dt.datetime(2026, 11, 21, 9)),
        ]
    ]
    for s, name in zip(sessions, (XLSX3, GBK, EN), strict=True):
        result = import_attendance(
            roster_enterprise, sample(name), name, session=s, dry_run=False, skip_unresolved=True
        )
        assert result.committed, result.errors
    assert [len(live(s)) for s in sessions] == [18, 12, 10]


def test_matching_by_name_and_department(roster_enterprise, make_session):
    s = make_session(roster_enterprise)
    data = sheet(
        [
            ["", "冯伟", "一车间", "", "90"],  # two 冯伟: the department tells them apart (GA1042)
            ["", "冯伟", "", "", "80"],  # two 冯伟, no department: ambiguous
            ["", "陆华", "", "", ""],  # unique name
            ["", "不存在", "", "", ""],  # unknown
            ["GA1003", "陆 华", "", "", ""],  # duplicate of the row of 陆华 (by number this time)
            ["GA1010", "别人", "", "", "合格"],  # number wins; the name difference is reported
        ],
        headers=("工号", "姓名", "部门", "签到时间", "成绩"),
    )
    result = import_attendance(roster_enterprise, data, "names.xlsx", session=s)
    rows = {line.row: line for line in result.lines}
    assert rows[2].status == "matched" and rows[2].person_id == person(roster_enterprise, "GA1042").id
    assert rows[3].status == "ambiguous"
    assert set(rows[3].candidates) == {person(roster_enterprise, e).id for e in ("GA1013", "GA1042")}
    assert rows[4].status == "matched" and rows[4].person_id == person(roster_enterprise, "GA1003").id
    assert rows[5].status == "unknown"
    assert rows[6].status == "duplicate" and rows[6].duplicate_of == "4"
    assert rows[7].status == "matched" and "differs" in rows[7].message and rows[7].passed is True

    # resolve: pick GA1013 for the ambiguous row, skip the unknown one
    resolutions = {"3": person(roster_enterprise, "GA1013").id, "5": "skip"}
    result = import_attendance(
        roster_enterprise, data, "names.xlsx", session=s, dry_run=False, resolutions=resolutions
    )
    assert result.committed, result.errors
    assert set(live(s)) == {"GA1042", "GA1013", "GA1003", "GA1010"}
    assert result.as_json()["skipped"][0]["row"] == 5


def test_absent_words_and_prefilled_rows(roster_enterprise, make_session):
    s = make_session(roster_enterprise)
    data = sheet(
        [
            ["GA1008", "胡敏平", "三车间", "13:50", "缺考"],
            ["GA1009", "钟霞", "三车间", "", "缺席"],
            ["GA1015", "石冬", "三车间", "", ""],  # prefilled, never signed in
            ["GA1016", "吴生", "三车间", "13:55", "absent"],
            ["GA1017", "陶玉", "三车间", "13:40", "88分"],
            ["GA1019", "范伟", "三车间", "13:40", "abc"],
        ]
    )
    result = import_attendance(roster_enterprise, data, "absent.xlsx", session=s)
    assert [e["row"] for e in result.errors] == [7] and result.errors[0]["field"] == "score"
    result = import_attendance(
        roster_enterprise, data, "absent.xlsx", session=s, dry_run=False, resolutions={"7": "skip"}
    )
    assert result.committed, result.errors
    assert set(live(s)) == {"GA1008", "GA1017"}
    assert live(s)["GA1017"].score == Decimal("88.00")
    rows = {
        a.person.employee_no: a
        for a in db.session.scalars(select(Attendance).where(Attendance.session_id == s.id))
    }
    assert rows["GA1009"].absent and rows["GA1015"].absent and rows["GA1016"].absent
    assert (
        rows["GA1008"].signed_in_at
        == dt.datetime(2026, 11, 12, 5, 50)  # 13:50 on the sheet, local; stored UTC
        and rows["GA1008"].score_note == "缺考"
    )


def test_reupload_same_corrected_and_removed(roster_enterprise, make_session):
    s = make_session(roster_enterprise)
    first = sheet(
        [
            ["GA1008", "胡敏平", "", "", "80"],
            ["GA1009", "钟霞", "", "", "90"],
            ["GA1015", "石冬", "", "", "70"],
        ]
    )
    r1 = import_attendance(roster_enterprise, first, "a.xlsx", session=s, dry_run=False)
    assert (r1.created, r1.updated, r1.unchanged) == (3, 0, 0)
    again = import_attendance(roster_enterprise, first, "a.xlsx", session=s)
    assert (again.created, again.updated, again.unchanged, again.voided) == (0, 0, 3, 0)  # the preview agrees
    r2 = import_attendance(roster_enterprise, first, "a.xlsx", session=s, dry_run=False)
    assert (r2.created, r2.updated, r2.unchanged, r2.voided) == (0, 0, 3, 0)
    assert (
        db.session.scalar(
            select(func.count()).select_from(TrainingRecord).where(TrainingRecord.source == s.source)
        )
        == 3
    )
    corrected = sheet([["GA1008", "胡敏平", "", "", "85"], ["GA1009", "钟霞", "", "", "90"]])
    preview = import_attendance(roster_enterprise, corrected, "b.xlsx", session=s)
    assert (preview.created, preview.updated, preview.unchanged, preview.voided) == (0, 1, 1, 1)
    r3 = import_attendance(roster_enterprise, corrected, "b.xlsx", session=s, dry_run=False)
    assert (r3.created, r3.updated, r3.unchanged, r3.voided) == (0, 1, 1, 1)
    records = live(s)
    assert set(records) == {"GA1008", "GA1009"} and records["GA1008"].score == Decimal("85.00")
    assert (
        db.session.scalar(select(func.count()).select_from(Attendance).where(Attendance.session_id == s.id))
        == 2
    )
    uploads = db.session.scalars(
        select(AttendanceUpload).where(AttendanceUpload.session_id == s.id).order_by(AttendanceUpload.id)
    ).all()
    assert [u.status for u in uploads] == ["superseded", "superseded", "committed"]
    # a changed session (more hours) replaces every record on the next upload
    services.update_session(
        s,
        topic=s.topic,
        starts_at=s.starts_at,
        hours="4",
        category=s.category,
        level="team",
        instructor=None,
        ends_at=None,
        location=None,
        capacity=None,
        course_id=None,
        course_title=None,
        note=None,
    )
    r4 = import_attendance(roster_enterprise, corrected, "b.xlsx", session=s, dry_run=False)
    assert (
        r4.updated == 2 and live(s)["GA1009"].hours == Decimal("4.00") and live(s)["GA1009"].level == "team"
    )


def test_attendance_signal(roster_enterprise, make_session):
    from lms.core import signals

    s = make_session(roster_enterprise)
    seen = []

    def listener(sender, **kw):
        seen.append((sender, kw["person_ids"]))

    signals.attendance_recorded.connect(listener)
    try:
        import_attendance(
            roster_enterprise, sheet([["GA1008", "胡敏平", "", "", ""]]), "a.xlsx", session=s, dry_run=False
        )
    finally:
        signals.attendance_recorded.disconnect(listener)
    assert seen == [(s, [person(roster_enterprise, "GA1008").id])]


def test_workbook_with_one_sheet_per_session(roster_enterprise, make_session):
    a = make_session(roster_enterprise, topic="消防演练", starts_at=dt.datetime(2026, 10, 9, 9))
    b = make_session(roster_enterprise, topic="动火作业安全", starts_at=dt.datetime(2026, 10, 10, 9))
    buf = io.BytesIO()
    headers = ["工号", "姓名", "成绩"]
    write_xlsx(
        buf,
        {
            f"#{a.id}": (headers, [["GA1008", "胡敏平", "90"], ["GA1009", "钟霞", "80"]]),
            "动火作业安全 2026-10-10": (headers, [["GA1015", "石冬", "70"]]),
        },
    )
    result = import_attendance(roster_enterprise, buf.getvalue(), "two.xlsx", dry_run=False)
    assert result.committed, result.errors
    assert set(live(a)) == {"GA1008", "GA1009"} and set(live(b)) == {"GA1015"}
    assert result.lines[0].ref == f"#{a.id}!2"
    assert resolve_session_ref(roster_enterprise.id, "消防演练") == a


def test_column_naming_the_session(roster_enterprise, make_session):
    a = make_session(roster_enterprise, topic="消防演练", starts_at=dt.datetime(2026, 10, 9, 9))
    b = make_session(roster_enterprise, topic="动火作业安全", starts_at=dt.datetime(2026, 10, 10, 9))
    data = sheet(
        [
            ["GA1008", "胡敏平", f"#{a.id}"],
            ["GA1009", "钟霞", "动火作业安全"],
            ["GA1015", "石冬", "不存在的培训"],
        ],
        headers=("工号", "姓名", "培训场次"),
    )
    result = import_attendance(roster_enterprise, data, "col.xlsx", dry_run=False)
    assert not result.committed and [e["row"] for e in result.errors] == [4]
    assert not live(a)  # all or nothing
    result = import_attendance(roster_enterprise, data, "col.xlsx", dry_run=False, resolutions={"4": "skip"})
    assert result.committed
    assert set(live(a)) == {"GA1008"} and set(live(b)) == {"GA1009"}


def test_prefilled_sheet_finds_its_session(roster_enterprise, make_session):
    from lms.offline import signin
    from lms.org.models import Department

    s = make_session(roster_enterprise)
    dept = db.session.scalar(
        select(Department).where(
            Department.enterprise_id == roster_enterprise.id, Department.path == "三车间"
        )
    )
    services.set_targets(s, {"department": [dept.id]})
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(signin.signin_xlsx(s)))
    ws = book.active
    ws["F3"], ws["G4"] = "13:55", "石冬"  # two people signed: a time, a signature
    buf = io.BytesIO()
    book.save(buf)
    result = import_attendance(
        roster_enterprise, buf.getvalue(), "prefilled.xlsx"
    )  # the title names the session
    assert not result.errors and result.sessions == [s]
    assert len(result.attendees) == 2 and len(result.absentees) == len(services.audience(s)) - 2
    assert {line.score_note for line in result.absentees} == {"未签到"}


def _zip_bomb() -> bytes:
    good = sheet([["GA1008", "胡敏平", "", "", ""]])
    src = zipfile.ZipFile(io.BytesIO(good))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info.filename, src.read(info))
        z.writestr("xl/media/padding.xml", b"<a>" + b"0" * (8 * 2**20) + b"</a>")
    return out.getvalue()


def _xxe() -> bytes:
    good = sheet([["GA1008", "胡敏平", "", "", ""]])
    src = zipfile.ZipFile(io.BytesIO(good))
    out = io.BytesIO()
    doctype = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.startswith("xl/worksheets/"):
                head, sep, rest = data.partition(b"?>")
                data = head + sep + doctype + rest
            z.writestr(info.filename, data)
    return out.getvalue()


def _encrypted_ooxml() -> bytes:
    """An OLE compound file holding EncryptionInfo / EncryptedPackage, as Excel saves a password-protected xlsx."""
    import olefile  # noqa: F401 - the reader uses it; the file below is built by hand

    return _ole_file(
        {"EncryptionInfo": b"\x04\x00\x04\x00" + b"\x00" * 60, "EncryptedPackage": b"\x00" * 4200}
    )


def _ole_file(streams: dict[str, bytes]) -> bytes:
    """Build a minimal OLE2 file (512-byte sectors; every stream ≥ 4096 bytes so no mini stream is needed)."""
    import struct

    sector = 512
    names = list(streams)
    data_sectors: list[list[int]] = []
    next_sector = 0
    body = b""
    for name in names:
        payload = streams[name].ljust(max(4096, len(streams[name])), b"\x00")
        payload += b"\x00" * (-len(payload) % sector)
        count = len(payload) // sector
        data_sectors.append(list(range(next_sector, next_sector + count)))
        next_sector += count
        body += payload
    dir_sector = next_sector
    fat_sector = dir_sector + 1
    total = fat_sector + 1
    fat = [0xFFFFFFFF] * (sector // 4)
    for chain in data_sectors:
        for i, sec in enumerate(chain):
            fat[sec] = chain[i + 1] if i + 1 < len(chain) else 0xFFFFFFFE
    fat[dir_sector] = 0xFFFFFFFE
    fat[fat_sector] = 0xFFFFFFFD

    def entry(
        name: str, kind: int, start: int, size: int, child: int = 0xFFFFFFFF, right: int = 0xFFFFFFFF
    ) -> bytes:
        encoded = (name + "\x00").encode("utf-16-le")
        e = encoded.ljust(64, b"\x00") + struct.pack("<HBB", len(encoded), kind, 1)
        e += struct.pack("<III", 0xFFFFFFFF, right, child) + b"\x00" * 16 + b"\x00" * 4 + b"\x00" * 16
        e += struct.pack("<IQ", start, size)
        return e.ljust(128, b"\x00")

    entries = entry("Root Entry", 5, 0xFFFFFFFE, 0, child=1)
    for i, name in enumerate(names):
        right = i + 2 if i + 1 < len(names) else 0xFFFFFFFF
        entries += entry(name, 2, data_sectors[i][0], len(streams[name].ljust(4096, b"\x00")), right=right)
    entries = entries.ljust(sector, b"\x00")
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + struct.pack("<HHHH", 0x3E, 3, 0xFFFE, 9)
    header += (
        struct.pack("<H", 6)
        + b"\x00" * 6
        + struct.pack("<IIIIIIII", 0, 1, dir_sector, 0, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE)
    )
    header += struct.pack("<I", 0)
    difat = [fat_sector] + [0xFFFFFFFF] * 108
    header += struct.pack("<109I", *difat)
    assert len(header) == 512 and total
    return header + body + entries + struct.pack(f"<{len(fat)}I", *fat)


HOSTILE = {
    "empty": (b"", "empty.xlsx", "empty"),
    "pdf": (b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", "report.xlsx", "not a spreadsheet"),
    "password": (None, "secret.xlsx", "password"),
    "zipbomb": (None, "bomb.xlsx", "refused"),
    "xxe": (None, "xxe.xlsx", "document type"),
    "binary": (bytes(range(256)) * 4, "signin.csv", "not a spreadsheet"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_files_refused(roster_enterprise, make_session, kind):
    s = make_session(roster_enterprise)
    data, name, words = HOSTILE[kind]
    if data is None:
        data = {"password": _encrypted_ooxml, "zipbomb": _zip_bomb, "xxe": _xxe}[kind]()
    result = import_attendance(roster_enterprise, data, name, session=s, dry_run=False)
    assert result.refused and not result.committed
    assert words in result.errors[0]["message"], result.errors
    assert not live(s) and not db.session.scalar(select(func.count()).select_from(AttendanceUpload))


def test_over_size_refused(roster_enterprise, make_session):
    s = make_session(roster_enterprise)
    data = sheet([["GA1008", "胡敏平", "", "", ""]])
    result = import_attendance(roster_enterprise, data, "big.xlsx", session=s, dry_run=False, max_bytes=1000)
    assert result.refused and "larger than" in result.errors[0]["message"]
    assert not live(s)


def test_locked_session_needs_a_manager_and_a_reason(roster_enterprise, make_session, make_person):
    from lms.offline.models import OfflineSessionChange

    s = make_session(roster_enterprise)
    data = sheet([["GA1008", "胡敏平", "", "", ""]])
    assert import_attendance(roster_enterprise, data, "a.xlsx", session=s, dry_run=False).committed
    services.set_status(s, "locked")
    trainer = make_person(roster_enterprise, app_role="trainer").user
    manager = make_person(roster_enterprise, app_role="manager").user
    more = sheet([["GA1008", "胡敏平", "", "", ""], ["GA1009", "钟霞", "", "", ""]])
    r = import_attendance(
        roster_enterprise, more, "b.xlsx", session=s, dry_run=False, actor=trainer, reason="x"
    )
    assert r.refused and "only a safety manager" in r.errors[0]["message"]
    r = import_attendance(roster_enterprise, more, "b.xlsx", session=s, dry_run=False, actor=manager)
    assert r.refused and "reason" in r.errors[0]["message"]
    r = import_attendance(
        roster_enterprise, more, "b.xlsx", session=s, dry_run=False, actor=manager, reason="补录漏签人员"
    )
    assert r.committed and set(live(s)) == {"GA1008", "GA1009"} and s.status == "locked"
    change = db.session.scalar(
        select(OfflineSessionChange).where(
            OfflineSessionChange.session_id == s.id, OfflineSessionChange.action == "attendance"
        )
    )
    assert change.reason == "补录漏签人员" and change.changed_by_id == manager.id


def test_attendance_rate_and_missed(roster_enterprise, make_session):
    from lms.org.models import Department

    dept = db.session.scalar(
        select(Department).where(
            Department.enterprise_id == roster_enterprise.id, Department.path == "三车间"
        )
    )
    s = make_session(roster_enterprise)
    services.set_targets(s, {"department": [dept.id]})
    audience = services.audience(s)
    ids = select(Person.id).where(Person.department_id == dept.id)
    since, until = dt.datetime(2026, 11, 1), dt.datetime(2026, 12, 1)
    assert services.attendance_rate(roster_enterprise.id, ids, since, until) is None  # not recorded yet
    import_attendance(roster_enterprise, sample(XLSX3), XLSX3, session=s, dry_run=False, skip_unresolved=True)
    hired_before = [p for p in audience if p.hire_date is None or p.hire_date <= s.starts_at.date()]
    present = set(live(s))
    expected_present = sum(1 for p in hired_before if p.employee_no in present)
    rate = services.attendance_rate(roster_enterprise.id, ids, since, until)
    assert rate == pytest.approx(expected_present / len(hired_before))
    assert (
        services.missed_sessions_count(roster_enterprise.id, ids, since, until)
        == len(hired_before) - expected_present
    )
    assert services.attendance_rate(roster_enterprise.id, ids, until, None) is None
    figures = services.session_figures(s)
    assert figures.attended == 18 and figures.audience == len(audience)
