"""The PDF report extracts in Chinese; the xlsx export is formula-safe."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from pypdf import PdfReader

from lms.culture import report
from tests.culture.conftest import run_to_published


def test_pdf_report_has_chinese_text(app, world):
    c = run_to_published(world)
    with app.test_request_context():
        data = report.report_pdf(c)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert "本季度示范岗" in text
    assert world["unit_b"].label.replace("·", "") in text.replace("·", "")
    assert "安全培训" in text and "一票否决" in text or "人员未经培训" in text


def test_xlsx_export_is_formula_safe(app, world):
    c = world["campaign"]
    c.name = '=HYPERLINK("http://x")'
    world["unit_a"].label = "=1+1"
    c = run_to_published(world)
    with app.test_request_context():
        wb = load_workbook(io.BytesIO(report.report_xlsx(c)))
    values = [cell.value for ws in wb.worksheets for row in ws.iter_rows() for cell in row if cell.value]
    assert "'=1+1" in values
    assert not any(isinstance(v, str) and v.startswith("=") for v in values)
    assert (
        any(cell.data_type == "f" for ws in wb.worksheets for row in ws.iter_rows() for cell in row) is False
    )
