"""The statutory training archive as a PDF whose Chinese text extracts."""

from __future__ import annotations

import datetime as dt
import io

from pypdf import PdfReader

from lms.training.archive import archive_pdf, archive_rows
from tests.training.helpers import rec


def test_archive_pdf_has_chinese(enterprise, make_person):
    p = make_person(enterprise, name="张建国", hire_date=dt.date(2024, 3, 1))
    rec(p, dt.date(2024, 3, 2), 24, topic="厂级安全教育", level="company", score=92, passed=True)
    rec(
        p,
        dt.date(2025, 5, 1),
        0,
        kind="certificate",
        topic="低压电工作业",
        category="特种作业操作证",
        certificate_no="T0001",
        valid_until=dt.date(2031, 5, 1),
    )
    rows = archive_rows(p.id)
    assert rows[0][1] == "厂级安全教育" and rows[0][4] == "厂级" and rows[0][6] == "92分 合格"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(archive_pdf(p))).pages)
    compact = text.replace(" ", "").replace("\n", "")
    for expected in ("安全生产教育和培训档案", "张建国", "厂级安全教育", "低压电工作业", "T0001"):
        assert expected in compact, expected
