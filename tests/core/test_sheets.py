"""Reading tabular uploads: samples, formats, hostile files, header detection, value parsing."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import xlwt
from openpyxl.styles import Font

from lms.core.errors import ImportRefused
from lms.core.sheets.formats import detect_format, inspect_ole_streams
from lms.core.sheets.headers import normalize_header
from lms.core.sheets.tables import is_footer_row, read_table, read_tables
from lms.core.sheets.values import (
    normalize_employee_no,
    normalize_text,
    parse_date,
    parse_datetime,
    parse_decimal,
)

SAMPLES = Path("/work/shared/samples")
ATTENDANCE = {
    "employee_no": ["工号", "员工编号", "Employee No", "employee number"],
    "name": ["姓名", "Name"],
    "department": ["部门", "Department"],
    "signed_at": ["签到时间", "Signed in at"],
    "score": ["成绩", "考核成绩", "Score"],
}
REQUIRED = ("employee_no", "name")
ROSTER = {
    "employee_no": ["工号", "Employee No"],
    "name": ["姓名", "Name"],
    "department": ["部门"],
    "post": ["岗位"],
    "hired_on": ["入职日期"],
    "phone": ["手机号", "手机"],
}


def _xlsx(path: Path, rows: list[list], *, merges: tuple[str, ...] = (), sheet: str = "Sheet1") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    for merged in merges:
        ws.merge_cells(merged)
    wb.save(path)
    return path


def _xls_bytes(rows: list[list], *, merge_department: bool = False) -> bytes:
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("签到")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    time_style = xlwt.easyxf(num_format_str="YYYY-MM-DD HH:MM")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, dt.datetime):
                ws.write(r, c, value, time_style)
            elif isinstance(value, dt.date):
                ws.write(r, c, value, date_style)
            else:
                ws.write(r, c, value)
    if merge_department:
        ws.write_merge(2, 4, 2, 2, "一车间")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _messages(exc_info: pytest.ExceptionInfo[ImportRefused]) -> str:
    return exc_info.value.message


# ---------------------------------------------------------------------------------------------- real samples


@pytest.mark.parametrize("streaming", [False, True])
def test_sample_signin_xlsx_with_title_rows_and_footer(streaming: bool) -> None:
    path = SAMPLES / "attendance" / "signin-workshop3-2026-11-12.xlsx"
    table = read_table(path, path.name, ATTENDANCE, REQUIRED, streaming=streaming)
    rows = list(table.rows)

    assert table.sheet == "签到表"
    assert table.header_row == 4
    assert table.columns == {
        "employee_no": "工号",
        "name": "姓名",
        "department": "部门",
        "signed_at": "签到时间",
        "score": "考核成绩",
    }
    assert table.extra_headers == ["序号", "岗位", "签名"]
    assert table.title is not None and "安全生产教育培训签到表" in table.title.splitlines()[0]
    assert "学时：3" in table.title
    assert len(rows) == 20
    assert [r.row for r in rows] == list(range(5, 25))
    assert all(not r.values["name"].startswith("培训讲师") for r in rows)
    assert table.footer == ["培训讲师：张建国 记录人：李秀英 审核：安全环保部"]
    by_no = {r.row: r for r in rows}
    assert by_no[7].values["employee_no"] == "GA1015"  # full-width ＧＡ１０１５
    assert by_no[9].values["name"] == "陶玉"  # ' 陶玉 '
    assert by_no[11].values["score"] == ""  # empty score
    assert by_no[19].values["score"] == "缺考"
    assert by_no[5].raw[:3] == ["1", "GA1008", "胡敏平"]
    assert parse_datetime(by_no[5].values["signed_at"]) == dt.datetime(2026, 11, 12, 13, 52)


def test_sample_gbk_csv() -> None:
    path = SAMPLES / "attendance" / "signin-workshop1-gbk.csv"
    table = read_table(path, path.name, ATTENDANCE, REQUIRED)
    rows = list(table.rows)
    assert table.sheet is None and table.header_row == 1
    assert len(rows) == 12
    assert rows[0].row == 2
    assert rows[0].values == {
        "employee_no": "GA1010",
        "name": "唐军杰",
        "department": "一车间",
        "signed_at": "2026-11-20 08:55",
        "score": "100",
    }


def test_sample_bom_csv_with_english_headers() -> None:
    path = SAMPLES / "attendance" / "signin-logistics-en.csv"
    table = read_table(path.read_bytes(), path.name, ATTENDANCE, REQUIRED)
    rows = list(table.rows)
    assert table.columns["employee_no"] == "Employee No"  # no BOM glued to the first header
    assert table.columns["signed_at"] == "Signed in at"
    assert len(rows) == 10
    assert rows[0].values["name"] == "冯伟"
    assert parse_datetime(rows[0].values["signed_at"]) == dt.datetime(2026, 11, 21, 9, 1)


def test_sample_roster() -> None:
    path = SAMPLES / "roster" / "employees.xlsx"
    table = read_table(path, path.name, ROSTER, REQUIRED)
    rows = list(table.rows)
    assert table.header_row == 1 and table.title is None
    assert len(rows) == 120
    assert rows[0].values["employee_no"] == "GA1001"
    assert parse_date(rows[0].values["hired_on"]) == dt.date(2025, 8, 15)
    assert rows[0].values["phone"] == "13173405194"
    assert table.extra_headers == ["安全责任角色"]


# ---------------------------------------------------------------------------------------------- xlsx


@pytest.mark.parametrize("streaming", [False, True])
def test_xlsx_merged_cells_footers_and_types(tmp_path: Path, streaming: bool) -> None:
    rows = [
        ["一车间安全培训签到表", None, None, None, None, None],
        [None] * 6,
        ["序号", "*工号(必填)", "姓名（必填）", "部门", "签到时间", "成绩"],
        [1, 1001, "张三", "一车间", dt.datetime(2026, 11, 12, 8, 30), 90],
        [2, 1002.0, "李四", None, dt.datetime(2026, 11, 12, 8, 31), 85.5],
        [3, "0012", "王五", None, dt.date(2026, 11, 12), None],
        [None] * 6,
        [4, "1004", "赵六", "审核部", None, 70],  # a department starting with 审核 is still data
        [5, None, None, None, None, None],  # pre-numbered template row
        ["培训讲师：王工", None, None, None, None, None],
        ["合计", None, "4人", None, None, None],
        ["Instructor: Wang", None, None, None, None, None],
    ]
    path = _xlsx(tmp_path / "signin.xlsx", rows, merges=("A1:F1", "D4:D6"))
    table = read_table(path, "signin.xlsx", ATTENDANCE, REQUIRED, streaming=streaming)
    got = list(table.rows)
    assert isinstance(table.rows, list) is not streaming
    assert table.title == "一车间安全培训签到表"
    assert table.header_row == 3
    assert table.columns["employee_no"] == "*工号(必填)"
    assert [r.row for r in got] == [4, 5, 6, 8]
    assert [r.values["employee_no"] for r in got] == ["1001", "1002", "0012", "1004"]
    assert [r.values["department"] for r in got] == ["一车间", "一车间", "一车间", "审核部"]
    assert got[0].values["signed_at"] == "2026-11-12 08:30"
    assert got[2].values["signed_at"] == "2026-11-12"
    assert got[1].values["score"] == "85.5"
    assert got[1].raw[3] == ""  # raw keeps the file's own (empty) merged cell
    assert table.footer == ["培训讲师：王工", "合计 4人", "Instructor: Wang"]


_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def _excel_style_xlsx() -> bytes:
    """An xlsx written the way Excel/WPS write them: shared and rich strings, styles with date formats,
    a cached formula result, an inline string, a stale <dimension>, and a vertical merge."""
    strings = ["三车间签到表", None, "姓名", "部门", "签到时间", "一车间", "李四", "制表人：王"]
    sst = "".join(
        "<si><r><t>工</t></r><r><rPr><b/></rPr><t>号</t></r></si>"
        if text is None
        else f"<si><t>{text}</t></si>"
        for text in strings
    )
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {_NS}><dimension ref="A1"/>'
        "<sheetData>"
        '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
        '<row r="3"><c r="A3" t="s"><v>1</v></c><c r="B3" t="s"><v>2</v></c><c r="C3" t="s"><v>3</v></c>'
        '<c r="D3" t="s"><v>4</v></c><c r="E3" t="inlineStr"><is><t>到场</t></is></c></row>'
        '<row r="4"><c r="A4"><v>1001</v></c><c r="B4" t="inlineStr"><is><t>张三</t></is></c>'
        '<c r="C4" t="s"><v>5</v></c><c r="D4" s="2"><v>46338.354166666664</v></c><c r="E4" t="b"><v>1</v></c></row>'
        '<row r="5"><c r="A5" t="str"><f>TEXT(12,"0000")</f><v>0012</v></c><c r="B5" t="s"><v>6</v></c>'
        '<c r="C5" s="0"/><c r="D5" s="1"><v>46338</v></c></row>'
        '<row r="7"><c r="A7" t="s"><v>7</v></c></row>'
        '</sheetData><mergeCells count="2"><mergeCell ref="A1:E1"/><mergeCell ref="C4:C5"/></mergeCells></worksheet>'
    )
    styles = (
        f'<styleSheet {_NS}><numFmts count="1"><numFmt numFmtId="176" formatCode="yyyy/m/d h:mm"/></numFmts>'
        '<fonts count="1"><font><sz val="11"/><name val="宋体"/></font></fonts>'
        '<fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1"><border/></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="176" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs></styleSheet>'
    )
    rels = "http://schemas.openxmlformats.org/package/2006/relationships"
    members = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.worksheet+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_CT}.sharedStrings+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{rels}"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<workbook {_NS} xmlns:r="{_REL}"><sheets>'
            '<sheet name="签到表" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{rels}">'
            f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
            f'<Relationship Id="rId3" Type="{_REL}/styles" Target="styles.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": sheet,
        "xl/sharedStrings.xml": f'<sst {_NS} count="{len(strings)}" uniqueCount="{len(strings)}">{sst}</sst>',
        "xl/styles.xml": styles,
    }
    return _zip({name: text.encode() for name, text in members.items()})


@pytest.mark.parametrize("streaming", [False, True])
def test_excel_style_xlsx(streaming: bool) -> None:
    fields = {**ATTENDANCE, "present": ["到场"]}
    table = read_table(_excel_style_xlsx(), "excel.xlsx", fields, REQUIRED, streaming=streaming)
    rows = list(table.rows)
    assert table.sheet == "签到表" and table.header_row == 3 and table.title == "三车间签到表"
    assert table.columns["employee_no"] == "工号"
    assert [r.row for r in rows] == [4, 5]
    assert rows[0].values == {
        "employee_no": "1001",
        "name": "张三",
        "department": "一车间",
        "signed_at": "2026-11-12 08:30",
        "present": "TRUE",
    }
    assert rows[1].values["employee_no"] == "0012"
    assert rows[1].values["signed_at"] == "2026-11-12"
    assert rows[1].values["department"] == "一车间"  # vertical merge filled, streamed or loaded
    assert table.footer == ["制表人：王"]


def test_xlsx_streaming_row_numbers_and_lazy_rows(tmp_path: Path) -> None:
    rows = [["工号", "姓名"], ["A1", "甲"], [None, None], [None, None], ["A2", "乙"]]
    path = _xlsx(tmp_path / "gaps.xlsx", rows)
    table = read_table(path, "gaps.xlsx", ATTENDANCE, REQUIRED, streaming=True)
    assert table.streaming and not isinstance(table.rows, list)
    assert [(r.row, r.values["name"]) for r in table.rows] == [(2, "甲"), (5, "乙")]


def test_xlsx_from_stream_is_left_open(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "s.xlsx", [["工号", "姓名"], ["A1", "甲"]])
    stream = io.BytesIO(b"junk" + path.read_bytes())
    stream.seek(4)  # uploads may hand over a stream that is not at offset 0
    table = read_table(stream, "s.xlsx", ATTENDANCE, REQUIRED)
    assert [r.values["employee_no"] for r in table.rows] == ["A1"]
    assert not stream.closed


def test_bilingual_and_decorated_headers(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "h.xlsx", [["工号/Employee No", "姓 名\n(Name)", "Score:"], ["1", "a", "2"]])
    table = read_table(path, "h.xlsx", ATTENDANCE, REQUIRED)
    assert set(table.columns) == {"employee_no", "name", "score"}


def test_hidden_sheet_skipped_and_all_sheets(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    lookup = wb.active
    lookup.title = "lists"
    lookup.append(["工号", "姓名"])
    lookup.append(["X", "hidden"])
    lookup.sheet_state = "hidden"
    notes = wb.create_sheet("说明")
    notes.append(["请按模板填写"])
    first = wb.create_sheet("一班")
    first.append(["工号", "姓名"])
    first.append(["A1", "甲"])
    second = wb.create_sheet("二班")
    second.append(["Employee No", "Name"])
    second.append(["B1", "乙"])
    path = tmp_path / "multi.xlsx"
    wb.save(path)

    table = read_table(path, "multi.xlsx", ATTENDANCE, REQUIRED)
    assert table.sheet == "一班"
    tables = read_tables(path, "multi.xlsx", ATTENDANCE, REQUIRED, all_sheets=True)
    assert [(t.sheet, [r.values["name"] for r in t.rows]) for t in tables] == [
        ("一班", ["甲"]),
        ("二班", ["乙"]),
    ]
    streamed = read_tables(path, "multi.xlsx", ATTENDANCE, REQUIRED, all_sheets=True, streaming=True)
    assert [[r.values["name"] for r in t.rows] for t in streamed] == [["甲"], ["乙"]]


def test_header_with_most_matches_wins(tmp_path: Path) -> None:
    rows = [["说明：工号必须填写", None, None], ["工号", "姓名", "部门"], ["1", "a", "b"]]
    path = _xlsx(tmp_path / "h.xlsx", rows)
    table = read_table(path, "h.xlsx", ATTENDANCE)
    assert table.header_row == 2
    assert table.title == "说明：工号必须填写"


def test_header_not_found(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "signin.xlsx", [["名单"], ["编号", "姓名"], ["1", "a"]])
    with pytest.raises(ImportRefused) as exc_info:
        read_table(path, "signin.xlsx", ATTENDANCE, REQUIRED)
    assert _messages(exc_info) == (
        'signin.xlsx: no header row with 工号/姓名 found in the first 30 rows of sheet "Sheet1" '
        "(closest row lacks 工号)"
    )


def test_header_below_row_30_is_not_found(tmp_path: Path) -> None:
    rows = [[f"line {i}"] for i in range(30)] + [["工号", "姓名"], ["1", "a"]]
    path = _xlsx(tmp_path / "deep.xlsx", rows)
    with pytest.raises(ImportRefused, match="first 30 rows"):
        read_table(path, "deep.xlsx", ATTENDANCE, REQUIRED)


def test_required_must_be_known_fields() -> None:
    with pytest.raises(ValueError):
        read_table(b"a,b\n", "x.csv", {"a": ["a"]}, ["nope"])


# ---------------------------------------------------------------------------------------------- xls


def test_xls_made_with_xlwt() -> None:
    data = _xls_bytes(
        [
            ["一车间签到表", None, None, None],
            ["工号", "姓名", "部门", "签到时间"],
            [1001.0, "张三", None, dt.datetime(2026, 11, 12, 8, 30)],
            ["0012", "李四", None, dt.date(2026, 11, 12)],
            ["1003", "王五", None, None],
            ["培训讲师：王工", None, None, None],
        ],
        merge_department=True,
    )
    assert detect_format(data) == "xls"
    table = read_table(data, "old.xls", ATTENDANCE, REQUIRED)
    rows = list(table.rows)
    assert table.sheet == "签到" and table.header_row == 2 and table.title == "一车间签到表"
    assert [r.values["employee_no"] for r in rows] == ["1001", "0012", "1003"]
    assert [r.values["department"] for r in rows] == ["一车间"] * 3
    assert rows[0].values["signed_at"] == "2026-11-12 08:30"
    assert rows[1].values["signed_at"] == "2026-11-12"
    assert table.footer == ["培训讲师：王工"]


def _encrypted_ooxml_like() -> bytes:
    """An OLE file whose only stream is called EncryptionInfo: the shape of a password-protected xlsx."""
    data = bytearray(_xls_bytes([["工号"]]))
    name = "Workbook".encode("utf-16-le")
    at = data.index(name)
    new = "EncryptionInfo".encode("utf-16-le") + b"\0\0"
    data[at : at + 64] = new.ljust(64, b"\0")
    data[at + 64 : at + 66] = len(new).to_bytes(2, "little")
    return bytes(data)


def test_encrypted_ooxml_is_refused() -> None:
    data = _encrypted_ooxml_like()
    with pytest.raises(ImportRefused, match="password-protected"):
        detect_format(data, "secret.xlsx")
    with pytest.raises(ImportRefused) as exc_info:
        read_table(data, "secret.xlsx", ATTENDANCE, REQUIRED)
    assert _messages(exc_info) == (
        "secret.xlsx is password-protected; save it without a password and upload again"
    )


def test_inspect_ole_streams() -> None:
    assert inspect_ole_streams([["Workbook"], ["\x05SummaryInformation"]]) == "xls"
    assert inspect_ole_streams([["Book"]]) == "xls"
    with pytest.raises(ImportRefused, match="password-protected"):
        inspect_ole_streams(
            [["EncryptionInfo"], ["EncryptedPackage"], ["\x06DataSpaces", "Version"]], "a.xlsx"
        )
    with pytest.raises(ImportRefused, match="not a spreadsheet"):
        inspect_ole_streams([["WordDocument"]], "a.doc")


def test_xls_with_filepass_is_refused() -> None:
    data = bytearray(_xls_bytes([["工号", "姓名"], ["1", "a"]]))
    at = data.index(b"\x5c\x00\x70\x00")  # WRITEACCESS record in the globals → FILEPASS
    data[at : at + 2] = b"\x2f\x00"
    with pytest.raises(ImportRefused, match="old.xls is password-protected"):
        read_table(bytes(data), "old.xls", ATTENDANCE, REQUIRED)


# ---------------------------------------------------------------------------------------------- csv


def test_gbk_semicolon_csv(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes('工号;姓名;部门\r\n１００１;张　三;一车间\r\n\r\n1002;"李;四";二车间\r\n'.encode("gbk"))
    table = read_table(path, "a.csv", ATTENDANCE, REQUIRED)
    rows = list(table.rows)
    assert [(r.row, r.values["employee_no"], r.values["name"]) for r in rows] == [
        (2, "1001", "张 三"),
        (4, "1002", "李;四"),
    ]


def test_bom_tab_csv_with_multiline_cell_keeps_start_line() -> None:
    data = '\ufeff签到表\n工号\t姓名\t备注\nA1\t甲\t"两\n行"\nA2\t乙\t\n'.encode()
    table = read_table(data, "a.txt", ATTENDANCE, REQUIRED)
    rows = list(table.rows)
    assert table.title == "签到表" and table.header_row == 2
    assert [(r.row, r.values["employee_no"]) for r in rows] == [(3, "A1"), (5, "A2")]
    assert rows[0].raw[2] == "两\n行"


def test_utf16_csv_from_excel_unicode_text() -> None:
    data = "工号\t姓名\r\nA1\t甲\r\n".encode("utf-16")
    table = read_table(data, "unicode.txt", ATTENDANCE, REQUIRED)
    assert [r.values["name"] for r in table.rows] == ["甲"]


def test_csv_streaming_and_stream_source() -> None:
    data = b"employee number,name\n" + b"".join(b"%d,n%d\n" % (i, i) for i in range(1000))
    stream = io.BytesIO(data)
    table = read_table(stream, "big.csv", ATTENDANCE, REQUIRED, streaming=True)
    assert not isinstance(table.rows, list)
    assert sum(1 for _ in table.rows) == 1000


def test_non_seekable_stream() -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes):
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    table = read_table(Pipe("工号,姓名\n1,a\n".encode()), "p.csv", ATTENDANCE, REQUIRED)
    assert [r.values["name"] for r in table.rows] == ["a"]


# ---------------------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< >>\nendobj\n",
            "report.xlsx",
            "report.xlsx is not a spreadsheet",
        ),
        (b"%PDF-1.4 plain ascii", "report.csv", "report.csv is not a spreadsheet (xlsx, xls or csv)"),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "photo.xlsx",
            "photo.xlsx is not a spreadsheet (xlsx, xls or csv)",
        ),
        (b"", "empty.csv", "empty.csv is empty"),
        (b"  \r\n", "blank.csv", "blank.csv is empty"),
        (b"\xef\xbb\xbf", "bom.csv", "bom.csv is empty"),
        ("工号,姓名\n1,a\x00\x01\x02".encode(), "bin.csv", "bin.csv is not a spreadsheet"),
        (b"\x80\x81\xff" * 10, "garbage.csv", "garbage.csv is not a spreadsheet"),
        (bytes(range(256)) * 4, "random.csv", "random.csv is not a spreadsheet"),
        (b"\xff\xfe" + bytes(range(0x20, 0x7F)) * 8, "utf16ish.csv", "utf16ish.csv is not a spreadsheet"),
        (b"<html><body><table><tr><td>x</td></tr></table></body></html>", "export.xls", "web page"),
    ],
)
def test_foreign_files_are_refused(content: bytes, filename: str, message: str) -> None:
    with pytest.raises(ImportRefused) as exc_info:
        read_table(content, filename, ATTENDANCE, REQUIRED)
    assert message in _messages(exc_info)


def test_empty_file_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "e.xlsx"
    path.write_bytes(b"")
    with pytest.raises(ImportRefused, match=r"^e\.xlsx is empty$"):
        read_table(path, "e.xlsx", ATTENDANCE)


def test_too_large() -> None:
    with pytest.raises(ImportRefused, match=r"^big\.csv is larger than 1 MB$"):
        read_table(b"a" * (2**20 + 1), "big.csv", ATTENDANCE, max_bytes=2**20)


def test_nul_after_the_head_is_refused() -> None:
    data = "工号,姓名\n".encode() + b"1,a\n" * 30_000 + b"\x00"
    with pytest.raises(ImportRefused, match="not a spreadsheet"):
        read_table(data, "late.csv", ATTENDANCE, REQUIRED)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def test_plain_zip_and_docx_are_refused() -> None:
    with pytest.raises(ImportRefused, match=r"^a\.xlsx is not a spreadsheet"):
        read_table(_zip({"notes.txt": b"hello"}), "a.xlsx", ATTENDANCE)
    docx = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"})
    with pytest.raises(ImportRefused, match="not a spreadsheet"):
        detect_format(docx, "b.xlsx")
    with pytest.raises(ImportRefused, match="OpenDocument"):
        detect_format(_zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"}), "c.ods")


@pytest.fixture(scope="module")
def zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            chunk = b"\0" * 2**20
            for _ in range(300):
                member.write(chunk)
    return buf.getvalue()


def test_zip_bomb_ratio_is_refused(zip_bomb: bytes) -> None:
    assert len(zip_bomb) < 2 * 2**20
    with pytest.raises(ImportRefused, match="zip bomb"):
        read_table(zip_bomb, "bomb.xlsx", ATTENDANCE)


def test_zip_bomb_total_size_is_refused(zip_bomb: bytes) -> None:
    with pytest.raises(ImportRefused, match="unpacks to 300 MB"):
        read_table(zip_bomb, "bomb.xlsx", ATTENDANCE, max_bytes=10 * 2**20)


def test_xml_entities_are_refused(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "ok.xlsx", [["工号", "姓名"], ["1", "a"]])
    with zipfile.ZipFile(path) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    sheet = members["xl/worksheets/sheet1.xml"]
    assert not sheet.startswith(b"<?xml")  # openpyxl writes no prolog
    members["xl/worksheets/sheet1.xml"] = (
        b'<?xml version="1.0"?>\n<!DOCTYPE worksheet [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>\n'
        + sheet.replace(b"<v>0</v>", b"<v>&lol2;</v>")
    )
    with pytest.raises(ImportRefused, match="document type declarations"):
        read_table(_zip(members), "lol.xlsx", ATTENDANCE)


def test_entities_after_a_long_comment_are_still_refused(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "ok.xlsx", [["工号", "姓名"], ["1", "a"]])
    with zipfile.ZipFile(path) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    padding = b"<!--" + b"x" * 100_000 + b"-->"  # pushes the DTD past the 64 KiB pre-scan
    members["xl/worksheets/sheet1.xml"] = (
        b'<?xml version="1.0"?>'
        + padding
        + b'<!DOCTYPE worksheet [<!ENTITY a "b">]>'
        + members["xl/worksheets/sheet1.xml"]
    )
    with pytest.raises(ImportRefused, match="document type declarations"):
        read_table(_zip(members), "lol.xlsx", ATTENDANCE)


def test_damaged_xlsx_is_refused(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "ok.xlsx", [["工号", "姓名"], ["1", "a"]])
    with zipfile.ZipFile(path) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    members["xl/workbook.xml"] = b"<not xml"
    with pytest.raises(ImportRefused, match="could not be read as an xlsx file"):
        read_table(_zip(members), "bad.xlsx", ATTENDANCE)


# ---------------------------------------------------------------------------------------------- detect_format


def test_detect_format_on_heads(tmp_path: Path) -> None:
    xlsx = (SAMPLES / "roster" / "employees.xlsx").read_bytes()
    assert detect_format(xlsx) == "xlsx"
    assert detect_format(xlsx[:2048]) == "xlsx"  # a truncated head is judged by its local headers
    openpyxl_made = _xlsx(tmp_path / "o.xlsx", [["a"]]).read_bytes()
    assert detect_format(openpyxl_made[:1024]) == "xlsx"
    xls = _xls_bytes([["工号"]])
    assert detect_format(xls) == "xls"
    assert detect_format(xls[:512]) == "xls"
    assert detect_format("工号,姓名\n".encode("gb18030")) == "csv"
    assert detect_format("工号,姓名\n".encode()[:-2] + "姓".encode()[:2]) == "csv"  # cut inside a character


def test_xlsx_with_extension_csv_is_read_as_xlsx(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "named-wrong.csv", [["工号", "姓名"], ["1", "a"]])
    table = read_table(path, path.name, ATTENDANCE, REQUIRED)
    assert table.sheet == "Sheet1"


def test_xlsx_with_styled_header_and_formula_values(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["工号", "姓名", "成绩"])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.append(["1", "a", "=1+1"])  # no cached value: reads as empty, never as formula text
    path = tmp_path / "f.xlsx"
    wb.save(path)
    row = next(iter(read_table(path, "f.xlsx", ATTENDANCE, REQUIRED).rows))
    assert row.values["score"] == ""


# ---------------------------------------------------------------------------------------------- normalisers


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("１００１", "1001"),
        (" 10 01 ", "1001"),
        (1001.0, "1001"),
        (1001, "1001"),
        ("1001.0", "1001"),
        ("0012", "0012"),
        ("0012.00", "0012"),
        ("1.3843894741E+10", "13843894741"),
        ("1.001e3", "1001"),
        ("ＧＡ１０１５", "GA1015"),
        ("GA\u200b1001", "GA1001"),
        ("A-01\u3000", "A-01"),
        (None, ""),
    ],
)
def test_normalize_employee_no(value: object, expected: str) -> None:
    assert normalize_employee_no(value) == expected


def test_normalize_text_and_header() -> None:
    assert normalize_text(None) == ""
    assert normalize_text("  张　三 \n 李 ") == "张 三 李"
    assert normalize_text("ＡＢＣ１２３") == "ABC123"
    assert normalize_text(1001.0) == "1001"
    assert normalize_text(dt.date(2026, 1, 2)) == "2026-01-02"
    assert normalize_header("*工号(必填)") == "工号"
    assert normalize_header("姓名（必填）：") == "姓名"
    assert normalize_header(" Employee  No. ") == "employeeno"
    assert normalize_header("签到\n时间") == "签到时间"
    assert normalize_header("【备注】说明") == "说明"


def test_footer_rule() -> None:
    assert is_footer_row(["培训讲师：王工", "", ""])
    assert is_footer_row(["Note: bring helmets"])
    assert is_footer_row(["合计", "", "20"])
    assert is_footer_row(["制表人：李", "", "审核：张"])
    assert not is_footer_row(["GA1001", "张三", "08:30"])
    assert not is_footer_row(["", "", "审核部"])
    assert not is_footer_row(["", "时间：08:30"], first_col=0)
    assert is_footer_row(["", "讲师：王"], first_col=1)


# ---------------------------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    "value",
    [
        dt.date(2026, 11, 12),
        dt.datetime(2026, 11, 12, 8, 30),
        46338,
        46338.75,
        "46338",
        "2026-11-12",
        "2026/11/12",
        "2026.11.12",
        "2026年11月12日",
        "２０２６年１１月１２日",
        "20261112",
        "2026-11-12 08:30",
        "2026-11-12T08:30:00",
        " 2026-11-12 ",
    ],
)
def test_parse_date_variants(value: object) -> None:
    assert parse_date(value) == dt.date(2026, 11, 12)


@pytest.mark.parametrize("value", ["", None, "   "])
def test_parse_date_empty(value: object) -> None:
    assert parse_date(value) is None


@pytest.mark.parametrize(
    "value", ["2026-13-01", "2026-02-30", "12/11/2026", "tomorrow", "08:30", "2026年11月"]
)
def test_parse_date_errors(value: str) -> None:
    with pytest.raises(ValueError, match=repr(value).replace("[", r"\[")):
        parse_date(value)


def test_parse_datetime() -> None:
    day = dt.date(2026, 11, 12)
    assert parse_datetime("2026-11-12 08:30") == dt.datetime(2026, 11, 12, 8, 30)
    assert parse_datetime("2026/11/12 8:05:09") == dt.datetime(2026, 11, 12, 8, 5, 9)
    assert parse_datetime("2026年11月12日 下午2:30") == dt.datetime(2026, 11, 12, 14, 30)
    assert parse_datetime("2026-11-12") == dt.datetime(2026, 11, 12)
    assert parse_datetime("08:30", default_date=day) == dt.datetime(2026, 11, 12, 8, 30)
    assert parse_datetime("8时30分", default_date=day) == dt.datetime(2026, 11, 12, 8, 30)
    assert parse_datetime(dt.time(13, 52), default_date=day) == dt.datetime(2026, 11, 12, 13, 52)
    assert parse_datetime(0.5, default_date=day) == dt.datetime(2026, 11, 12, 12, 0)
    assert parse_datetime(46338.354166666664) == dt.datetime(2026, 11, 12, 8, 30)
    assert parse_datetime(day) == dt.datetime(2026, 11, 12)
    assert parse_datetime("") is None
    assert parse_datetime("2026-11-12T08:30:00+08:00").utcoffset() == dt.timedelta(hours=8)
    with pytest.raises(ValueError, match="no date"):
        parse_datetime("08:30")
    with pytest.raises(ValueError, match="not a valid time"):
        parse_datetime("2026-11-12 25:00")


def test_parse_decimal() -> None:
    assert parse_decimal("85") == Decimal("85")
    assert parse_decimal(" ８５.５ ") == Decimal("85.5")
    assert parse_decimal(85.5) == Decimal("85.5")
    assert parse_decimal(0.1 + 0.2) == Decimal("0.3")
    assert parse_decimal(3) == Decimal(3)
    assert parse_decimal("1,234.5") == Decimal("1234.5")
    assert parse_decimal("90分") == Decimal("90")
    assert parse_decimal("2.5学时") == Decimal("2.5")
    assert parse_decimal("") is None and parse_decimal(None) is None
    for bad in ("缺考", "NaN", "inf", "1,2", "30分钟", True):
        with pytest.raises(ValueError):
            parse_decimal(bad)


def test_a_field_named_by_two_columns_takes_the_better_name(tmp_path: Path) -> None:
    """The names of a field are listed best first: 部门 over 单位 whatever their order; equals: the leftmost."""
    fields = {"employee_no": ["工号", "ID"], "name": ["姓名"], "department": ["部门", "车间", "单位"]}
    rows = [
        ["单位", "ID", "工号", "姓名", "车间", "部门"],
        ["某公司", "7", "1001", "张三", "一车间", "安全部"],
    ]
    table = read_table(_xlsx(tmp_path / "a.xlsx", rows), "a.xlsx", fields, ["name"])
    assert table.column_index == {"employee_no": 2, "name": 3, "department": 5}
    assert table.extra_headers == ["单位", "ID", "车间"]
    assert [r.values for r in table.rows] == [{"employee_no": "1001", "name": "张三", "department": "安全部"}]
    rows = [["车间", "单位", "姓名"], ["一车间", "某公司", "张三"]]
    table = read_table(_xlsx(tmp_path / "b.xlsx", rows), "b.xlsx", fields, ["name"])
    assert table.column_index["department"] == 0
    rows = [["部门", "部门", "姓名"], ["安全部", "一车间", "张三"]]
    table = read_table(_xlsx(tmp_path / "c.xlsx", rows), "c.xlsx", fields, ["name"])
    assert table.column_index["department"] == 0 and table.extra_headers == ["部门"]
