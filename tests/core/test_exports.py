"""Safe exports: formula injection neutralised, Excel-friendly csv and xlsx."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from lms.core.exports import csv_bytes, safe_cell, write_csv, write_xlsx, xlsx_bytes
from lms.core.sheets.tables import read_table

INJECTIONS = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\tx", "\r=1", '  =HYPERLINK("x")']


@pytest.mark.parametrize("value", INJECTIONS)
def test_safe_cell_neutralises_formulas(value: str) -> None:
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize(
    "value",
    [
        "张三",
        "GA1001",
        "a=b",
        "0012",
        "",
        42,
        -5,
        1.5,
        Decimal("-2.5"),
        dt.date(2026, 11, 12),
        dt.datetime(2026, 11, 12, 8, 30),
        True,
    ],
)
def test_safe_cell_leaves_other_values(value: object) -> None:
    assert safe_cell(value) == value


def test_safe_cell_none_and_objects() -> None:
    assert safe_cell(None) == ""

    class Thing:
        def __str__(self) -> str:
            return "=evil()"

    assert safe_cell(Thing()) == "'=evil()"


def _read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_bytes() -> None:
    data = csv_bytes(
        ["工号", "姓名", "备注"],
        [["0012", "张三", value] for value in INJECTIONS]
        + [[1001, None, dt.date(2026, 1, 2)], [1.5, dt.datetime(2026, 1, 2, 8, 30), 'say "hi", ok']],
    )
    rows = _read_csv(data)
    assert rows[0] == ["工号", "姓名", "备注"]
    assert [row[2] for row in rows[1 : 1 + len(INJECTIONS)]] == ["'" + value for value in INJECTIONS]
    assert rows[-2] == ["1001", "", "2026-01-02"]
    # A naive datetime is stored UTC: the export shows it in local time (Asia/Shanghai by default).
    assert rows[-1] == ["1.5", "2026-01-02 16:30", 'say "hi", ok']
    assert b"\r\n" in data


def test_write_csv_to_path_and_streams(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    write_csv(path, ["姓名"], [["=1"]])
    assert _read_csv(path.read_bytes()) == [["姓名"], ["'=1"]]

    binary = io.BytesIO()
    write_csv(binary, ["姓名"], [["李四"]])
    assert not binary.closed
    assert _read_csv(binary.getvalue()) == [["姓名"], ["李四"]]

    text = io.StringIO()
    write_csv(text, ["姓名"], [["王五"]])
    assert text.getvalue().startswith("\ufeff姓名")


def test_csv_export_reads_back_with_sheets() -> None:
    data = csv_bytes(["工号", "姓名"], [["GA1001", "张三"], ["0012", "李四"]])
    table = read_table(data, "export.csv", {"employee_no": ["工号"], "name": ["姓名"]})
    assert [row.values for row in table.rows] == [
        {"employee_no": "GA1001", "name": "张三"},
        {"employee_no": "0012", "name": "李四"},
    ]


def test_xlsx_injection_cells_are_text() -> None:
    data = xlsx_bytes(["工号", "备注"], [["GA1001", value] for value in INJECTIONS])
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    cells = [row[1] for row in ws.iter_rows(min_row=2)]
    # Some XML parsers read a bare \r back as \n (lxml keeps it); what matters is the apostrophe and the type.
    assert [cell.value.replace("\r", "\n") for cell in cells] == [
        "'" + v.replace("\r", "\n") for v in INJECTIONS
    ]
    assert {cell.data_type for cell in cells} == {"s"}


def test_xlsx_layout_and_types() -> None:
    when = dt.datetime(2026, 11, 12, 8, 30)
    rows = [
        ["0012", "张三", 90, when, None, Decimal("2.5")],
        ["GA1002", "一个名字很长很长的部门名称", 85.5, dt.date(2026, 11, 12), "x\x01y", 3],
    ]
    data = xlsx_bytes(
        ["工号", "部门", "成绩", "签到时间", "备注", "学时"], rows, sheet_title="签到", title="三车间签到"
    )
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["签到"]
    assert ws["A1"].value == "三车间签到" and ws["A1"].font.b
    assert [cell.value for cell in ws[2]] == ["工号", "部门", "成绩", "签到时间", "备注", "学时"]
    assert all(cell.font.b for cell in ws[2])
    assert ws.freeze_panes == "A3"
    assert ws["A3"].value == "0012" and ws["A3"].data_type == "s"
    assert ws["C3"].value == 90 and ws["C4"].value == 85.5
    assert ws["D3"].value == when + dt.timedelta(hours=8)  # stored UTC, written in local time
    assert ws["E3"].value is None
    assert ws["E4"].value == "xy"  # characters XML cannot carry are dropped, not an error
    assert ws["F3"].value == 2.5
    assert ws.column_dimensions["B"].width > ws.column_dimensions["A"].width


def test_write_xlsx_many_sheets_and_names(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    aware = dt.datetime(2026, 11, 12, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    write_xlsx(
        path,
        {
            "汇总": (["部门", "人数"], [["一车间", 12]]),
            "a/b:c?": (["时间"], [[aware]]),
            "x" * 40: (["n"], (i for i in range(0))),
            "汇总 ": (["n"], [[1]]),
        },
    )
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:2] == ["汇总", "a_b_c_"]
    assert len(wb.sheetnames[2]) == 31
    assert len(set(wb.sheetnames)) == 4
    assert wb["a_b_c_"]["A2"].value == dt.datetime(2026, 11, 12, 8, 30)
    assert wb["汇总"].freeze_panes == "A2"


def test_write_xlsx_to_stream_streams_rows() -> None:
    def rows():  # a generator: write_only never needs the whole export in memory
        for i in range(2000):
            yield [f"GA{i:04d}", i]

    buffer = io.BytesIO()
    write_xlsx(buffer, ["工号", "n"], rows())
    table = read_table(buffer.getvalue(), "export.xlsx", {"employee_no": ["工号"]})
    got = list(table.rows)
    assert len(got) == 2000 and got[-1].values == {"employee_no": "GA1999"}


def test_write_xlsx_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        write_xlsx(tmp_path / "x.xlsx", ["a", "b"])
