"""Write exports (csv, xlsx) that Excel opens correctly and that cannot smuggle formulas to the reader."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import IO, Any

from lms.core.timeutil import to_local, use_zone, zone

__all__ = ["csv_bytes", "safe_cell", "write_csv", "write_xlsx", "xlsx_bytes"]

# Characters that make Excel / LibreOffice / WPS start a formula (or DDE) when they lead a cell.
_FORMULA_TRIGGERS = ("=", "+", "-", "@")
_RAW_TRIGGERS = ("\t", "\r")
_XLSX_MAX_CELL_CHARS = 32767
_ILLEGAL_XML_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_WIDTH_SAMPLE_ROWS = 50
_MIN_WIDTH, _MAX_WIDTH = 8, 60


_PLAIN_TYPES = frozenset({int, float, Decimal, bool, dt.date, dt.datetime, dt.time, dt.timedelta})


def _safe_text(text: str) -> str:
    if text.startswith(_RAW_TRIGGERS) or text.lstrip().startswith(_FORMULA_TRIGGERS):
        return "'" + text
    return text


def safe_cell(value: Any) -> Any:
    """Return the value for a spreadsheet cell: text that would start a formula gets a leading apostrophe."""
    kind = type(value)
    if kind is str:  # the common case first (exports of a hundred thousand rows)
        return _safe_text(value)
    if kind in _PLAIN_TYPES:
        return value
    if value is None:
        return ""
    if isinstance(value, bool | int | float | Decimal | dt.date | dt.time | dt.timedelta):
        return value
    text = value if isinstance(value, str) else str(value)
    if text.startswith(_RAW_TRIGGERS) or text.lstrip().startswith(_FORMULA_TRIGGERS):
        return "'" + text
    return text


def _local(value: dt.datetime) -> dt.datetime:
    """A datetime as the reader's wall clock: naive ones are stored UTC (shown in the current enterprise's
    zone, see lms.core.timeutil); aware ones keep their own wall-clock time."""
    if value.tzinfo is not None:
        return value.replace(tzinfo=None)
    return to_local(value)  # type: ignore[return-value]


def _csv_text(value: Any) -> str:
    if type(value) is str:
        return _safe_text(value)
    if value is None:
        return ""
    value = safe_cell(value)
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        value = _local(value)
        return value.isoformat(sep=" ", timespec="seconds" if value.second else "minutes")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _write_csv_text(handle: IO[str], headers: Sequence[Any], rows: Iterable[Sequence[Any]]) -> None:
    writer = csv.writer(handle, dialect="excel")  # comma, double quotes, CRLF: what Excel expects
    writer.writerow([_csv_text(header) for header in headers])
    with use_zone(zone()):  # the reader's zone, looked up once for the whole file
        for row in rows:
            writer.writerow([_csv_text(value) for value in row])


def write_csv(
    path_or_stream: str | os.PathLike[str] | IO[bytes] | IO[str],
    headers: Sequence[Any],
    rows: Iterable[Sequence[Any]],
) -> None:
    """Write a UTF-8 csv with a BOM (so Excel shows Chinese) where every cell went through safe_cell."""
    if isinstance(path_or_stream, str | os.PathLike):
        with open(path_or_stream, "w", encoding="utf-8-sig", newline="") as handle:
            _write_csv_text(handle, headers, rows)
        return
    if isinstance(path_or_stream, io.TextIOBase):
        path_or_stream.write("\ufeff")
        _write_csv_text(path_or_stream, headers, rows)
        return
    text = io.TextIOWrapper(path_or_stream, encoding="utf-8-sig", newline="", write_through=True)  # type: ignore[arg-type]
    try:
        _write_csv_text(text, headers, rows)
        text.flush()
    finally:
        text.detach()  # leave the caller's stream open


def csv_bytes(headers: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """Return a UTF-8-BOM csv as bytes."""
    buffer = io.BytesIO()
    write_csv(buffer, headers, rows)
    return buffer.getvalue()


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in ("W", "F") else 1 for char in text)


def _width_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return "2026-01-01 00:00"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _sheet_name(name: str, taken: set[str]) -> str:
    cleaned = re.sub(r"[\[\]:*?/\\]", "_", str(name)).strip("'") or "Sheet"
    cleaned = cleaned[:31]
    candidate, counter = cleaned, 2
    while candidate.lower() in taken:
        suffix = f" ({counter})"
        candidate = cleaned[: 31 - len(suffix)] + suffix
        counter += 1
    taken.add(candidate.lower())
    return candidate


def _xlsx_value(value: Any) -> tuple[Any, bool]:
    """Return (value, is_text) ready for openpyxl: text cleaned of XML-illegal characters, naive datetimes."""
    if value is None or value == "":
        return None, False  # no cell at all, as Excel leaves it
    value = safe_cell(value)
    if isinstance(value, str):
        return _ILLEGAL_XML_RE.sub("", value)[:_XLSX_MAX_CELL_CHARS], True
    if isinstance(value, dt.datetime):
        return _local(value), False  # Excel has no time zones: the reader's wall-clock time
    if isinstance(value, dt.time) and value.tzinfo is not None:
        return value.replace(tzinfo=None), False
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return "", True
    return value, False


def _write_sheet(
    workbook: Any, name: str, headers: Sequence[Any], rows: Iterable[Sequence[Any]], title: str | None
) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    ws = workbook.create_sheet(title=name)
    rows = iter(rows)
    sample = list(itertools.islice(rows, _WIDTH_SAMPLE_ROWS))
    # Column widths must be set before the first row in a write-only sheet: guess from the header and the
    # first rows (CJK characters count double).
    for index, header in enumerate(headers, start=1):
        widths = [_display_width(str(header if header is not None else ""))]
        widths += [_display_width(_width_text(row[index - 1])) for row in sample if len(row) >= index]
        width = max(_MIN_WIDTH, min(_MAX_WIDTH, max(widths) + 2))
        ws.column_dimensions[get_column_letter(index)].width = width
    header_row = 2 if title else 1
    ws.freeze_panes = f"A{header_row + 1}"

    def text_cell(value: Any, font: Any = None) -> Any:
        cell = WriteOnlyCell(ws, value=value)
        if font is not None:
            cell.font = font
        cell.data_type = "s"  # never a formula, whatever the text
        return cell

    if title:
        ws.append([text_cell(_xlsx_value(title)[0], Font(bold=True, size=14))])
    bold = Font(bold=True)
    ws.append([text_cell(_xlsx_value(header)[0], bold) for header in headers])
    with use_zone(zone()):  # the reader's zone, looked up once for the whole sheet
        for row in itertools.chain(sample, rows):
            cells = []
            for value in row:
                value, is_text = _xlsx_value(value)
                cells.append(text_cell(value) if is_text else value)
            ws.append(cells)


def write_xlsx(
    path_or_stream: str | os.PathLike[str] | IO[bytes],
    sheets: Mapping[str, tuple[Sequence[Any], Iterable[Sequence[Any]]]] | Sequence[Any],
    rows: Iterable[Sequence[Any]] | None = None,
    *,
    title: str | None = None,
    sheet_title: str = "Sheet1",
) -> None:
    """Write an xlsx (streamed, write-only) from {sheet: (headers, rows)} or from headers and rows.

    Bold, frozen header row; column widths guessed from the header and the first rows; text cells are
    stored as strings and pass through safe_cell, so nothing is ever evaluated as a formula.
    """
    from openpyxl import Workbook

    if rows is not None:
        sheets = {sheet_title: (sheets, rows)}  # type: ignore[dict-item]
    elif not isinstance(sheets, Mapping):
        raise TypeError("write_xlsx needs {sheet: (headers, rows)} or headers and rows")
    workbook = Workbook(write_only=True)
    taken: set[str] = set()
    for name, (headers, sheet_rows) in sheets.items():  # type: ignore[union-attr]
        _write_sheet(workbook, _sheet_name(name, taken), list(headers), sheet_rows, title)
    if not taken:
        workbook.create_sheet(title=sheet_title)
    workbook.save(path_or_stream)


def xlsx_bytes(
    headers: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    *,
    sheet_title: str = "Sheet1",
    title: str | None = None,
) -> bytes:
    """Return a one-sheet xlsx as bytes."""
    buffer = io.BytesIO()
    write_xlsx(buffer, headers, rows, title=title, sheet_title=sheet_title)
    return buffer.getvalue()
