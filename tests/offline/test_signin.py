"""Sign-in sheets: the prefilled xlsx reads back; the PDF carries extractable Chinese text."""

from __future__ import annotations

import io

import openpyxl
import pypdf
from sqlalchemy import select

from lms.core.db import db
from lms.core.sheets.tables import read_table
from lms.offline import services, signin
from lms.offline.attendance import FIELDS
from lms.org.models import Department


def _session(roster_enterprise, make_session):
    s = make_session(roster_enterprise, instructor="张建国", location="三车间会议室")
    dept = db.session.scalar(
        select(Department).where(
            Department.enterprise_id == roster_enterprise.id, Department.path == "三车间"
        )
    )
    services.set_targets(s, {"department": [dept.id]})
    return s


def test_prefilled_xlsx_reads_back(roster_enterprise, make_session):
    s = _session(roster_enterprise, make_session)
    data = signin.signin_xlsx(s)
    table = read_table(data, "signin.xlsx", FIELDS, ("name",))
    people = services.audience(s)
    assert [r.values["employee_no"] for r in table.rows] == [p.employee_no for p in people]
    assert f"#{s.id}" in table.title and "有限空间作业安全" in table.title
    assert {"employee_no", "name", "department", "signed_in_at", "signature", "score"} <= set(table.columns)
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.active.title == f"#{s.id}"


def test_pdf_has_chinese_text_and_signature_column(roster_enterprise, make_session):
    s = _session(roster_enterprise, make_session)
    pdf = pypdf.PdfReader(io.BytesIO(signin.signin_pdf(s)))
    text = "".join(page.extract_text() for page in pdf.pages)
    assert "有限空间作业安全" in text and "签名" in text and "签到时间" in text
    assert "张建国" in text and "学时" in text
    first = services.audience(s)[0]
    assert first.name in text and first.employee_no in text


def test_blank_template_reads(app):
    data = signin.blank_template_xlsx()
    table = read_table(data, "t.xlsx", FIELDS, ("name",))
    assert list(table.rows) == []
    assert "签名" in table.columns.values()
