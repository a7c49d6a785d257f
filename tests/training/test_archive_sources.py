"""The archive is complete and readable: voided records stay, marked; no internal code reaches a person."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import openpyxl
from pypdf import PdfReader

from lms.core.db import db
from lms.core.exports import xlsx_bytes
from lms.ledger import services as ledger
from lms.ledger.models import TrainingRecord
from lms.ledger.sources import source_labels
from lms.offline import services as offline
from lms.offline.attendance import import_attendance
from lms.training.archive import HEADERS, archive_file, archive_rows
from tests.conftest import login
from tests.statements import recorded_statements

INTERNAL = re.compile(r"(course_enrolment|offline_session|exam|manual|demo|bench)\s*:|:person:|\bperson:\d")


def _person_with_history(enterprise, make_person):
    p = make_person(enterprise, name="张建国", employee_no="GA2001")
    manager = make_person(enterprise, name="王安全", app_role="manager").user
    trainer = make_person(enterprise, name="李培训", app_role="trainer").user
    session = offline.create_session(
        enterprise.id,
        topic="有限空间作业安全",
        starts_at=dt.datetime(2026, 11, 12, 6, 0),
        ends_at=dt.datetime(2026, 11, 12, 9, 0),
        hours="3",
    )
    sheet = xlsx_bytes(["工号", "姓名", "成绩"], [["GA2001", "张建国", "92"]])
    done = import_attendance(
        enterprise, sheet, "三车间签到表.xlsx", session=session, dry_run=False, actor=trainer
    )
    assert done.committed, done.errors
    ledger.record(
        p,
        kind="course",
        topic="危险化学品安全管理",
        source="course_enrolment:57",
        hours=2,
        completed_at=dt.datetime(2026, 10, 1, 2, 0),
        course_id=3,
    )
    ledger.record(
        p,
        kind="exam",
        topic="年度安全考试",
        source=f"exam:1:person:{p.id}",
        hours=0,
        completed_at=dt.datetime(2026, 10, 2, 2, 0),
        score=88,
        passed=True,
        evidence={"attempt_id": 9, "attempt_number": 2},
    )
    ledger.record(
        p,
        kind="manual",
        topic="外部消防培训",
        source="manual:0f3a",
        hours=4,
        completed_at=dt.datetime(2026, 9, 1, 8, 0),
        actor=trainer,
    )
    wrong = ledger.record(
        p,
        kind="offline",
        topic="厂级安全教育",
        source="demo:DEMO:GA2001:three-level-company",
        hours=24,
        completed_at=dt.datetime(2026, 3, 1, 4, 0),
        level="company",
    ).record
    ledger.void(wrong.id, reason="录入错误：重复登记", actor=manager)
    db.session.flush()
    return p, manager, session


def test_archive_names_every_source_and_keeps_voided_records(enterprise, make_person):
    p, manager, _session = _person_with_history(enterprise, make_person)
    rows = archive_rows(p.id)
    assert HEADERS[-2:] == ["来源", "记录状态"]
    sources = {row[1]: row[8] for row in rows}
    for text in sources.values():
        assert not INTERNAL.search(text), text
    assert (
        "有限空间作业安全" in sources["有限空间作业安全"]
        and "三车间签到表.xlsx" in sources["有限空间作业安全"]
    )
    assert "14:00" in sources["有限空间作业安全"]  # the session's local time
    assert "危险化学品安全管理" in sources["危险化学品安全管理"]
    assert "年度安全考试" in sources["年度安全考试"] and "2" in sources["年度安全考试"]
    assert "李培训" in sources["外部消防培训"]
    # the voided record stays, marked with who, when and why
    voided = [row for row in rows if row[1] == "厂级安全教育"]
    assert len(voided) == 1 and "已作废" in voided[0][9]
    assert "王安全" in voided[0][9] and "录入错误：重复登记" in voided[0][9]
    assert all(row[9] == "有效" for row in rows if row[1] != "厂级安全教育")


def test_pdf_csv_and_xlsx_carry_the_same_labels(enterprise, make_person):
    p, _manager, _session = _person_with_history(enterprise, make_person)
    pdf, _name = archive_file(p, "pdf")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).replace("\n", "")
    compact = text.replace(" ", "")
    assert "已作废" in compact and "录入错误" in compact and "三车间签到表" in compact
    assert "course_enrolment" not in compact and "demo:" not in compact
    assert "累计学时：9" in compact  # 3 + 2 + 4; the voided 24 hours are not counted
    data, _name = archive_file(p, "csv")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][-1] == "记录状态" and any("已作废" in r[-1] for r in rows[1:])
    assert not any(INTERNAL.search(r[8]) for r in rows[1:])
    data, _name = archive_file(p, "xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    cells = [str(c.value or "") for row in ws.iter_rows() for c in row]
    assert any("三车间签到表.xlsx" in c for c in cells) and not any("offline_session:" in c for c in cells)


def test_archive_page_shows_labels_and_voided(client, enterprise, make_person):
    p, manager, _session = _person_with_history(enterprise, make_person)
    db.session.commit()
    login(client, manager)
    page = client.get(f"/training/people/{p.id}").get_data(as_text=True)
    assert "三车间签到表.xlsx" in page and "录入错误：重复登记" in page and "王安全" in page
    assert "course_enrolment:" not in page and "demo:DEMO" not in page and "offline_session:" not in page


def test_labels_are_set_based(enterprise, make_person):
    """The labels of 3 or 30 records take the same number of queries (never one per record)."""
    people = [make_person(enterprise) for _ in range(10)]
    trainer = make_person(enterprise, app_role="trainer").user
    for n, person in enumerate(people):
        for k in range(3):
            ledger.record(
                person,
                kind="manual",
                topic=f"外部培训{k}",
                source=f"manual:{n}-{k}",
                hours=1,
                completed_at=dt.datetime(2026, 1, 1 + k, 1, 0),
                actor=trainer,
            )
            ledger.record(
                person,
                kind="exam",
                topic="考试",
                source=f"exam:{k}:person:{person.id}",
                completed_at=dt.datetime(2026, 2, 1 + k, 1, 0),
                evidence={"attempt_number": 1},
            )
    db.session.flush()
    records = (
        db.session.query(TrainingRecord).filter(TrainingRecord.person_id.in_([q.id for q in people])).all()
    )
    engine = db.session.get_bind()

    def count(subset):
        with recorded_statements(on=engine) as seen:
            labels = source_labels(subset)
        assert set(labels) == {r.id for r in subset}
        return len(seen)

    assert len(records) == 60
    assert count(records[:3]) == count(records) <= 2


def test_person_page_names_sources(client, enterprise, make_person):
    p, manager, _session = _person_with_history(enterprise, make_person)
    db.session.commit()
    login(client, manager)
    page = client.get(f"/org/people/{p.id}").get_data(as_text=True)
    assert "三车间签到表.xlsx" in page and "年度安全考试" in page
    assert "course_enrolment:" not in page and "offline_session:" not in page and ":person:" not in page
