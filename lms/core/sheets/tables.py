"""Read an upload into header-mapped tables: `read_table` / `read_tables` (rows keyed by the caller's
canonical fields), skipping blank and footer lines."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from lms.core.errors import ImportRefused
from lms.core.i18n import msg
from lms.core.sheets import readers
from lms.core.sheets.formats import check_xlsx_archive, detect_format
from lms.core.sheets.headers import (
    HEADER_SCAN_ROWS,
    HeaderNotFound,
    field_aliases,
    find_header,
    header_refusal,
)
from lms.core.sheets.readers import SheetData, csv_sheet, xls_sheets, xlsx_sheets
from lms.core.sheets.source import Source
from lms.core.sheets.values import normalize_text


@dataclass
class SheetRow:
    row: int  # the spreadsheet's own 1-based row number (csv: 1-based line number where the record starts)
    values: dict[str, str]  # canonical field -> normalize_text() of the cell; '' when empty
    raw: list[str]  # all cells of the row as text (not normalised), at least as wide as the header


@dataclass
class Table:
    filename: str
    sheet: str | None
    header_row: int
    columns: dict[str, str]  # canonical field -> header text as found in the file
    extra_headers: list[str]  # non-empty header cells that matched no field (or a field already taken)
    rows: Iterator[SheetRow] | list[SheetRow]  # a list, or a one-shot iterator when streaming
    title: str | None = None  # non-blank rows above the header, one line per row
    column_index: dict[str, int] = field(default_factory=dict)  # canonical field -> 0-based column
    footer: list[str] = field(default_factory=list)  # skipped footer lines (filled as rows are consumed)
    streaming: bool = False


# Footer rule. After the data, sign-in sheets carry lines such as "培训讲师：王工", "记录人：李秀英",
# "合计 20 人" or "Instructor: Wang". A row is a footer (skipped, kept in Table.footer) when either
#   (a) its only non-empty cell lies in the table's first column (or left of it) and contains '：' or ':', or
#   (b) its first non-empty cell lies in the table's first column (or left of it) and starts with one of
#       _FOOTER_WORDS (case-insensitive).
# Both tests look only at the leftmost column so that a department such as "审核部" in a data row never
# triggers them.
_FOOTER_WORDS = (
    "合计",
    "总计",
    "小计",
    "备注",
    "说明",
    "讲师",
    "培训讲师",
    "授课",
    "制表",
    "审核",
    "审批",
    "记录人",
    "负责人",
    "instructor",
    "trainer",
    "total",
    "subtotal",
    "note",
    "remark",
    "prepared by",
    "recorded by",
    "approved by",
    "checked by",
)


def is_footer_row(cells: Sequence[str], first_col: int = 0) -> bool:
    """Return True for a footer line such as '培训讲师：王工' or '合计' (see the rule above)."""
    # (text.strip() is empty exactly when text.isspace(); the loops below stop at the first filled cell.)
    index = 0
    for text in cells:
        if text and not text.isspace():
            break
        index += 1
    else:
        return False
    if index > first_col:
        return False
    first = text.strip()
    if (":" in first or "：" in first) and not any(
        rest and not rest.isspace() for rest in cells[index + 1 :]
    ):
        return True
    return normalize_text(first).lower().startswith(_FOOTER_WORDS)


def _build_table(
    sheet: SheetData,
    filename: str,
    fields: dict[str, Sequence[str]],
    aliases: dict[str, dict[str, int]],
    required: Sequence[str],
    streaming: bool,
    on_done: Any = None,
) -> Table:
    buffered: list[tuple[int, list[str]]] = []
    for row_no, cells in sheet.rows:
        if row_no > HEADER_SCAN_ROWS:
            pending = (row_no, cells)
            break
        buffered.append((row_no, cells))
    else:
        pending = None
    header_index, mapping = find_header(buffered, aliases, required)
    header_no, header_cells = buffered[header_index]
    title_lines = []
    for _row_no, cells in buffered[:header_index]:
        line = " ".join(text.strip() for text in cells if text and text.strip())
        if line:
            title_lines.append(line)
    used = set(mapping.values())
    extra = [text.strip() for index, text in enumerate(header_cells) if text.strip() and index not in used]
    first_col = min(index for index, text in enumerate(header_cells) if text.strip())
    width = len(header_cells)
    footer: list[str] = []

    def data_rows() -> Iterator[SheetRow]:
        try:
            rest: Iterable[tuple[int, list[str]]] = buffered[header_index + 1 :]
            sources = [rest, [pending] if pending else [], sheet.rows]
            for source in sources:
                for row_no, cells in source:
                    row = _make_row(row_no, cells)
                    if row is not None:
                        yield row
        finally:
            if on_done is not None:
                on_done()

    columns = list(mapping.items())
    merged_fill = sheet.merged_fill

    def _make_row(row_no: int, cells: list[str]) -> SheetRow | None:
        for text in cells:  # the row's first filled cell (text.strip() is empty exactly when isspace())
            if text and not text.isspace():
                break
        else:
            return None
        if is_footer_row(cells, first_col):
            footer.append(" ".join(text.strip() for text in cells if text and text.strip()))
            return None
        raw = list(cells)
        if len(raw) < width:
            raw.extend([""] * (width - len(raw)))
        values = {}
        filled = False
        for name, index in columns:
            text = raw[index]
            if not text or text.isspace():
                text = merged_fill(row_no, index) or ""
            values[name] = text = normalize_text(text)
            if text:
                filled = True
        if not filled:
            return None  # pre-numbered template rows (only 序号 filled) or notes in unmapped columns
        return SheetRow(row=row_no, values=values, raw=raw)

    rows: Iterator[SheetRow] | list[SheetRow] = data_rows()
    if not streaming:
        rows = list(rows)
    return Table(
        filename=filename,
        sheet=sheet.name,
        header_row=header_no,
        columns={name: header_cells[index].strip() for name, index in mapping.items()},
        extra_headers=extra,
        rows=rows,
        title="\n".join(title_lines) or None,
        column_index=dict(mapping),
        footer=footer,
        streaming=streaming,
    )


def read_tables(
    source: str | os.PathLike[str] | bytes | IO[bytes],
    filename: str,
    fields: dict[str, Sequence[str]],
    required: Sequence[str] = (),
    *,
    all_sheets: bool = False,
    max_bytes: int = 50 * 2**20,
    streaming: bool | None = None,
) -> list[Table]:
    """Return the header-mapped tables of an uploaded spreadsheet; refuse foreign, hostile or headerless files.

    With streaming (default: files above 2 MiB) each Table.rows is a one-shot iterator that reads the file
    lazily: keep a caller-supplied stream open until the rows are consumed.
    """
    unknown = [name for name in required if name not in fields]
    if unknown:
        raise ValueError(f"required fields not in fields: {unknown}")
    aliases = field_aliases(fields)
    src = Source(source, filename, max_bytes)
    if src.size == 0:
        raise ImportRefused(msg("%(file)s is empty", file=filename))
    kind = detect_format(src.head(), filename)
    stream_rows = src.size > readers.STREAMING_THRESHOLD if streaming is None else streaming
    close_workbook = None
    if kind == "xlsx":
        check_xlsx_archive(src, max_bytes)
        sheets, close_workbook = xlsx_sheets(src, stream_rows)
    elif kind == "xls":
        sheets = xls_sheets(src)
        stream_rows = False  # xlrd has read everything already
    else:
        sheets = [csv_sheet(src)]

    # Visible sheets first: hidden ones usually hold lookup lists for drop-downs, and are read only when
    # no visible sheet has a header.
    tables: list[Table] = []
    misses: list[tuple[SheetData, tuple[int, dict[str, int]] | None]] = []
    holders = [1]  # this call, plus one per streaming table until its rows are consumed

    def release() -> None:
        holders[0] -= 1
        if holders[0] == 0 and close_workbook is not None:
            close_workbook()

    try:
        visible = [sheet for sheet in sheets if not sheet.hidden]
        hidden = [sheet for sheet in sheets if sheet.hidden]
        for group in (visible, hidden):
            for sheet in group:
                holders[0] += 1
                try:
                    tables.append(
                        _build_table(sheet, filename, fields, aliases, required, stream_rows, release)
                    )
                except HeaderNotFound as miss:
                    release()
                    misses.append((sheet, miss.best))
                    continue
                if not all_sheets:
                    break
            if tables:
                break
    finally:
        release()
    if not tables:
        raise header_refusal(filename, fields, required, misses)
    return tables


def read_table(
    source: str | os.PathLike[str] | bytes | IO[bytes],
    filename: str,
    fields: dict[str, Sequence[str]],
    required: Sequence[str] = (),
    *,
    all_sheets: bool = False,
    max_bytes: int = 50 * 2**20,
    streaming: bool | None = None,
) -> Table:
    """Return the first sheet (visible sheets first) that has a recognisable header."""
    return read_tables(
        source, filename, fields, required, all_sheets=False, max_bytes=max_bytes, streaming=streaming
    )[0]
