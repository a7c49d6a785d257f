"""The cells of each format (xlsx loaded or streamed, xls, csv in any common encoding) as rows of text,
with vertically merged cells filled from their top cell."""

from __future__ import annotations

import bisect
import codecs
import csv
import io
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lms.core.errors import ImportRefused
from lms.core.i18n import msg
from lms.core.sheets.formats import (
    CONTROL_RE,
    doctype_refusal,
    inspect_ole_streams,
    is_defused,
    not_spreadsheet,
    password_protected,
    text_encodings,
)
from lms.core.sheets.source import CHUNK, HEAD_BYTES, Source
from lms.core.sheets.values import cell_text, format_float, format_time

STREAMING_THRESHOLD = 2 * 2**20  # files above this are read with openpyxl read_only (bounded memory)


_CSV_DELIMITERS = ",;\t|"


@dataclass
class SheetData:
    name: str | None
    hidden: bool
    rows: Iterator[tuple[int, list[str]]]
    merged_fill: Any  # (row_no, 0-based col) -> top-left text of a vertical merge, or None


def xlsx_sheets(src: Source, streaming: bool) -> tuple[list[SheetData], Any]:
    """Return the sheets, and (when streaming) a callable that closes the workbook and its file."""
    import openpyxl

    # A file object, never the path: openpyxl refuses paths whose extension is not .xlsx/.xlsm.
    handle = src.open()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no default style", unsupported extensions: noise for users
            workbook = openpyxl.load_workbook(handle, read_only=streaming, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises many kinds on damaged files
        handle.close()
        if is_defused(exc):
            raise doctype_refusal(src.filename) from None
        raise ImportRefused(
            msg(
                "%(file)s could not be read as an xlsx file (%(error)s); "
                "open it in Excel, save it again and upload again",
                file=src.filename,
                error=type(exc).__name__,
            )
        ) from None
    sheets = []
    for ws in workbook.worksheets:
        hidden = getattr(ws, "sheet_state", "visible") != "visible"
        if streaming:
            ws.reset_dimensions()  # the stored dimension is often wrong (WPS, generators): read to the end
            merges = _StreamedMerges(ws)
            sheets.append(SheetData(ws.title, hidden, _read_only_rows(ws, src.filename, merges), merges.fill))
        else:
            rows, fill = _loaded_rows(ws)
            sheets.append(SheetData(ws.title, hidden, rows, fill))
    if not streaming:
        workbook.close()
        handle.close()
        return sheets, None

    def close() -> None:
        workbook.close()
        handle.close()

    return sheets, close


_MERGE_RE = re.compile(rb'<(?:[\w.-]+:)?mergeCell\b[^>]*?\bref="([A-Za-z]{1,3})(\d+):([A-Za-z]{1,3})(\d+)"')


class _StreamedMerges:
    """Vertical merges of a read-only sheet, so streamed rows get the same fill as fully loaded ones.

    <mergeCells> sits after <sheetData>, so the sheet part is scanned once as bytes (cheap next to parsing)
    before the rows are streamed; the top-left values are recorded as their rows go by.
    """

    def __init__(self, ws: Any):
        self.starts: dict[int, list[int]] = {}  # 1-based column -> sorted first rows of its merges
        self.ends: dict[int, list[int]] = {}
        self.sources: dict[int, list[int]] = {}  # 1-based row -> columns whose value is a merge source
        self.values: dict[tuple[int, int], str] = {}
        opener = getattr(ws, "_get_source", None)  # openpyxl internals: without them, no fill
        if opener is None:  # pragma: no cover
            return
        from openpyxl.utils import column_index_from_string

        ranges: set[tuple[int, int, int]] = set()
        tail = b""
        with opener() as part:
            while chunk := part.read(CHUNK):
                buffer = tail + chunk
                if b"mergeCell" in buffer:
                    for match in _MERGE_RE.finditer(buffer):
                        first_row, last_row = int(match.group(2)), int(match.group(4))
                        if last_row > first_row:
                            ranges.add(
                                (
                                    column_index_from_string(match.group(1).decode().upper()),
                                    first_row,
                                    last_row,
                                )
                            )
                tail = buffer[-256:]
        for col, first_row, last_row in sorted(ranges):
            self.starts.setdefault(col, []).append(first_row)
            self.ends.setdefault(col, []).append(last_row)
            self.sources.setdefault(first_row, []).append(col)

    def record(self, row_no: int, cells: list[str]) -> None:
        for col in self.sources.get(row_no, ()):
            if col <= len(cells) and cells[col - 1]:
                self.values[(row_no, col)] = cells[col - 1]

    def fill(self, row_no: int, col0: int) -> str | None:
        col = col0 + 1
        starts = self.starts.get(col)
        if not starts:
            return None
        index = bisect.bisect_right(starts, row_no) - 1
        if index < 0 or not starts[index] < row_no <= self.ends[col][index]:
            return None
        return self.values.get((starts[index], col))


def _read_only_rows(ws: Any, filename: str, merges: _StreamedMerges) -> Iterator[tuple[int, list[str]]]:
    try:
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = [value if type(value) is str else cell_text(value) for value in values]
            merges.record(number, cells)
            yield number, cells
    except ImportRefused:
        raise
    except Exception as exc:  # a damaged sheet part is found only while streaming
        if is_defused(exc):
            raise doctype_refusal(filename) from None
        raise ImportRefused(
            msg(
                "%(file)s: sheet %(sheet)s could not be read (%(error)s)",
                file=filename,
                sheet=repr(ws.title),
                error=type(exc).__name__,
            )
        ) from None


def _loaded_rows(ws: Any) -> tuple[Iterator[tuple[int, list[str]]], Any]:
    """Return the non-empty rows of a fully loaded sheet, and a filler for vertically merged cells."""
    # Walk the stored cells instead of iter_rows(): a stray value in row 1,048,576 would make
    # iter_rows() create every cell in between.
    by_row: dict[int, dict[int, Any]] = {}
    cells = getattr(ws, "_cells", None)
    if cells is None:  # pragma: no cover - openpyxl internals changed
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None:
                    by_row.setdefault(cell.row, {})[cell.column] = cell.value
    else:
        for (row_no, col_no), cell in cells.items():
            if cell.value is not None:
                by_row.setdefault(row_no, {})[col_no] = cell.value
    last_row = max(by_row, default=0)
    fill: dict[tuple[int, int], str] = {}
    for merged in ws.merged_cells.ranges:
        if merged.max_row <= merged.min_row:
            continue  # horizontal merges (titles) are not copied across columns
        top = cell_text(by_row.get(merged.min_row, {}).get(merged.min_col))
        if not top:
            continue
        for row_no in range(merged.min_row + 1, min(merged.max_row, last_row) + 1):
            fill[(row_no, merged.min_col)] = top

    def rows() -> Iterator[tuple[int, list[str]]]:
        for row_no in sorted(by_row):
            values = by_row[row_no]
            width = max(values)
            yield row_no, [cell_text(values.get(col)) for col in range(1, width + 1)]

    return rows(), (lambda row_no, col: fill.get((row_no, col + 1)))


def xls_sheets(src: Source) -> list[SheetData]:
    import olefile
    import xlrd

    data = src.read_all()
    try:
        ole = olefile.OleFileIO(data)
    except Exception:  # olefile raises assorted errors on damaged containers
        raise ImportRefused(
            msg("%(file)s is a damaged xls file; open it in Excel and save it again", file=src.filename)
        ) from None
    try:
        inspect_ole_streams(ole.listdir(streams=True, storages=False), src.filename)
    finally:
        ole.close()
    formatting = len(data) <= STREAMING_THRESHOLD  # merged-cell info needs formatting_info (more memory)
    book = None
    for with_formatting in (formatting, False) if formatting else (False,):
        try:
            book = xlrd.open_workbook(
                file_contents=data, formatting_info=with_formatting, on_demand=False, logfile=io.StringIO()
            )
            break
        except xlrd.XLRDError as exc:
            if "encrypt" in str(exc).lower():
                raise password_protected(src.filename) from None
            if with_formatting:
                continue
            raise ImportRefused(
                msg(
                    "%(file)s could not be read as an xls file (%(error)s)", file=src.filename, error=str(exc)
                )
            ) from None
        except NotImplementedError:
            continue
        except Exception as exc:  # xlrd raises assorted errors on damaged files
            if with_formatting:
                continue
            raise ImportRefused(
                msg(
                    "%(file)s could not be read as an xls file (%(error)s); open it in Excel and save it again",
                    file=src.filename,
                    error=type(exc).__name__,
                )
            ) from None
    assert book is not None
    sheets = []
    for sheet in book.sheets():
        fill: dict[tuple[int, int], str] = {}
        for rlo, rhi, clo, _chi in getattr(sheet, "merged_cells", ()) or ():
            if rhi - rlo > 1 and rlo < sheet.nrows and clo < sheet.ncols:
                top = _xls_cell_text(sheet.cell(rlo, clo), book.datemode)
                for row_no in range(rlo + 1, min(rhi, sheet.nrows)):
                    fill[(row_no + 1, clo)] = top
        rows = [
            (index + 1, [_xls_cell_text(cell, book.datemode) for cell in sheet.row(index)])
            for index in range(sheet.nrows)
        ]
        sheets.append(
            SheetData(
                sheet.name,
                sheet.visibility != 0,
                iter(rows),
                lambda row_no, col, _fill=fill: _fill.get((row_no, col)),
            )
        )
    return sheets


def _xls_cell_text(cell: Any, datemode: int) -> str:
    import xlrd

    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            value = xlrd.xldate.xldate_as_datetime(cell.value, datemode)
        except (xlrd.xldate.XLDateError, ValueError, OverflowError):
            return format_float(cell.value)
        if cell.value < 1:
            return format_time(value.time())
        return cell_text(value)
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return "TRUE" if cell.value else "FALSE"
    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return ""
    return cell_text(cell.value)


def _csv_encoding(src: Source) -> str:
    """Return the encoding that decodes the whole file (utf-8-sig/utf-8, then gb18030); refuse binary text."""
    for encoding in text_encodings(src.head(4)):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with src.open() as handle:
                while chunk := handle.read(CHUNK):
                    if encoding != "utf-16" and b"\x00" in chunk:
                        raise not_spreadsheet(src.filename)
                    text = decoder.decode(chunk)
                    if "\x00" in text or CONTROL_RE.search(text):
                        raise not_spreadsheet(src.filename)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise not_spreadsheet(src.filename)


def _sniff_delimiter(sample: str) -> str:
    sample = sample[: sample.rfind("\n") + 1] or sample  # whole lines only
    try:
        return csv.Sniffer().sniff(sample, delimiters=_CSV_DELIMITERS).delimiter
    except csv.Error:
        first_lines = "\n".join(line for line in sample.splitlines()[:10] if line.strip())
        counts = {delimiter: first_lines.count(delimiter) for delimiter in _CSV_DELIMITERS}
        best = max(counts, key=lambda delimiter: counts[delimiter])
        return best if counts[best] else ","


def csv_sheet(src: Source) -> SheetData:
    encoding = _csv_encoding(src)
    with src.open() as handle:
        sample = codecs.getincrementaldecoder(encoding)(errors="replace").decode(handle.read(HEAD_BYTES))
    delimiter = _sniff_delimiter(sample)

    def rows() -> Iterator[tuple[int, list[str]]]:
        handle = src.open()
        try:
            text = io.TextIOWrapper(handle, encoding=encoding, newline="")
            reader = csv.reader(text, dialect="excel", delimiter=delimiter)
            next_line = 1
            for record in reader:
                yield next_line, record
                next_line = reader.line_num + 1
        except csv.Error as exc:
            raise ImportRefused(
                msg(
                    "%(file)s: line %(line)s could not be read as csv (%(error)s)",
                    file=src.filename,
                    line=next_line,
                    error=str(exc),
                )
            ) from None
        finally:
            handle.close()

    return SheetData(None, False, rows(), lambda _r, _c: None)
