"""Read tabular uploads (xlsx, xls, csv) into header-mapped rows, refusing hostile or foreign files.

Pure module: no Flask, no database. The format is decided by the content, never by the file name.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import datetime as dt
import io
import os
import re
import struct
import unicodedata
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from lms.core.errors import ImportRefused
from lms.core.i18n import msg

__all__ = [
    "HEADER_SCAN_ROWS",
    "SheetRow",
    "Table",
    "cell_text",
    "detect_format",
    "inspect_ole_streams",
    "is_footer_row",
    "normalize_employee_no",
    "normalize_header",
    "normalize_text",
    "parse_date",
    "parse_datetime",
    "parse_decimal",
    "read_table",
    "read_tables",
]

HEADER_SCAN_ROWS = 30
STREAMING_THRESHOLD = 2 * 2**20  # files above this are read with openpyxl read_only (bounded memory)
MAX_UNCOMPRESSED_TOTAL = 2**30
MAX_COMPRESSION_RATIO = 200
RATIO_CHECK_MIN_SIZE = 2**20  # a member smaller than this cannot be a bomb, whatever its ratio
MAX_ZIP_MEMBERS = 10_000
XML_SCAN_BYTES = 64 * 2**10
HEAD_BYTES = 64 * 2**10
_CHUNK = 2**20

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
# Signatures of common non-spreadsheet files that people rename to .xlsx / .csv.
# (Other binaries carry NUL or control bytes and are refused by the text check.)
_FOREIGN_MAGICS = (
    b"%PDF",
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"Rar!",
    b"7z\xbc\xaf\x27\x1c",
    b"\x1f\x8b",
    b"{\\rtf",
    b"\x7fELF",
)
_CSV_DELIMITERS = ",;\t|"
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x19\x1b-\x1f\x7f]")
_ZERO_WIDTH_RE = re.compile("[\u200b-\u200d\u2060\ufeff]")
_WS_RE = re.compile(r"\s+")


def _not_spreadsheet(filename: str) -> ImportRefused:
    return ImportRefused(msg("%(file)s is not a spreadsheet (xlsx, xls or csv)", file=filename))


def _password_protected(filename: str) -> ImportRefused:
    return ImportRefused(
        msg("%(file)s is password-protected; save it without a password and upload again", file=filename)
    )


# --------------------------------------------------------------------------------------------------------------
# Data classes
# --------------------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------------------
# Text normalisation
# --------------------------------------------------------------------------------------------------------------


def _format_float(value: float) -> str:
    if value != value or value in (float("inf"), float("-inf")):
        return ""
    if value.is_integer():
        return str(int(value))
    return f"{value:.15g}"  # Excel shows at most 15 significant digits; hides binary noise like 0.1+0.2


def _format_time(value: dt.time) -> str:
    return value.isoformat(timespec="minutes" if value.second == 0 else "seconds")


def cell_text(value: Any) -> str:
    """Return a cell value as text: 1001 / 1001.0 → '1001', dates as ISO, None → ''."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _format_float(value)
    if isinstance(value, Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return str(int(value))
        return str(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.replace(tzinfo=None).isoformat(
            sep=" ", timespec="minutes" if value.second == 0 else "seconds"
        )
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return _format_time(value)
    if isinstance(value, dt.timedelta):
        total = int(value.total_seconds())
        sign = "-" if total < 0 else ""
        hours, rest = divmod(abs(total), 3600)
        return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return str(value)


def normalize_text(value: Any) -> str:
    """Return NFKC text (full-width → half-width), stripped, inner whitespace runs collapsed; None → ''."""
    text = value if type(value) is str else cell_text(value)
    if not text:
        return ""
    if not text.isascii():  # ASCII is its own NFKC form
        text = unicodedata.normalize("NFKC", text)
    if text.isprintable():
        # Printable text holds no zero-width character and no whitespace but ' ' (every other character
        # that _WS_RE or _ZERO_WIDTH_RE matches is a control, format or separator character).
        return (_WS_RE.sub(" ", text) if "  " in text else text).strip()
    text = _ZERO_WIDTH_RE.sub("", text)
    return _WS_RE.sub(" ", text).strip()


_INTEGRAL_DECIMAL_RE = re.compile(r"^(\d+)\.0+$")
_SCIENTIFIC_RE = re.compile(r"^\d+(?:\.\d+)?[eE]\+?\d+$")


def normalize_employee_no(value: Any) -> str:
    """Return an employee number as text: NFKC, no spaces, '1001.0' → '1001', leading zeros of text kept."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, float):
        return _format_float(value) if value.is_integer() else normalize_employee_no(repr(value))
    text = value if type(value) is str else cell_text(value)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    if text.isprintable():  # no zero-width character, no whitespace but ' ' (see normalize_text)
        if " " in text:
            text = text.replace(" ", "")
    else:
        text = _WS_RE.sub("", _ZERO_WIDTH_RE.sub("", text))
    if "." not in text and "e" not in text and "E" not in text:
        return text  # neither pattern below can match
    match = _INTEGRAL_DECIMAL_RE.match(text)
    if match:
        return match.group(1)
    if _SCIENTIFIC_RE.match(text):
        # Excel turns long numeric ids into 1.3843894741E+10 when a csv is saved from a number cell.
        number = Decimal(text)
        if number == number.to_integral_value():
            return str(int(number))
    return text


_BRACKETED_RE = re.compile(r"\([^)]*\)|\[[^\]]*\]|【[^】]*】|〔[^〕]*〕|<[^>]*>|《[^》]*》")
_HEADER_DROP_RE = re.compile(r"[\s*:：_.]+")


def normalize_header(text: Any) -> str:
    """Return a header key: NFKC, lowercase, no spaces / '*' / ':' / '_' / '.' / bracketed notes like '(必填)'."""
    value = normalize_text(text).lower()
    value = _BRACKETED_RE.sub("", value)
    return _HEADER_DROP_RE.sub("", value)


def _header_keys(text: str) -> list[str]:
    """Return the keys a header cell may match: the whole text, then its parts in bilingual '工号/Employee No'."""
    keys = [normalize_header(text)]
    if re.search(r"[/|\n]", text):
        keys.extend(normalize_header(part) for part in re.split(r"[/|\n]", text))
    return [key for key in keys if key]


# --------------------------------------------------------------------------------------------------------------
# Value parsing
# --------------------------------------------------------------------------------------------------------------

_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_MAX_EXCEL_SERIAL = 2958466  # 9999-12-31
_DATE_RE = r"(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
_COMPACT_DATE_RE = r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})"
_TIME_RE = (
    r"(?P<ampm1>上午|下午|晚上|中午|am|pm)?\s*"
    r"(?P<H>\d{1,2})\s*[:时点]\s*(?P<M>\d{1,2})"
    r"(?:\s*[:分]\s*(?P<S>\d{1,2})(?:[.,](?P<f>\d{1,6}))?\s*秒?)?\s*分?"
    r"\s*(?P<ampm2>am|pm)?"
)
_DATETIME_FULL_RES = [
    re.compile(rf"^{date}(?:(?:\s*T\s*|\s*)(?:{_TIME_RE}))?$", re.I) for date in (_DATE_RE, _COMPACT_DATE_RE)
]
_TIME_ONLY_RE = re.compile(rf"^{_TIME_RE}$", re.I)
_SERIAL_RE = re.compile(r"^\d{5}(?:\.\d+)?$")
_DATE_EXAMPLE = "use e.g. 2026-11-12"


def _from_excel_serial(serial: float, original: Any) -> dt.datetime:
    if not 0 < serial < _MAX_EXCEL_SERIAL:
        raise ValueError(f"{original!r} is not a valid Excel date number")
    base = _EXCEL_EPOCH + dt.timedelta(days=1) if serial < 60 else _EXCEL_EPOCH  # Excel's 1900-02-29 bug
    return base + dt.timedelta(seconds=round(serial * 86400))


def _time_from_match(match: re.Match[str], original: Any) -> dt.time:
    hour, minute = int(match.group("H")), int(match.group("M"))
    second = int(match.group("S") or 0)
    micro = int((match.group("f") or "0").ljust(6, "0"))
    marker = (match.group("ampm1") or match.group("ampm2") or "").lower()
    if marker in ("下午", "晚上", "pm") and hour < 12:
        hour += 12
    elif marker in ("上午", "am") and hour == 12:
        hour = 0
    try:
        return dt.time(hour, minute, second, micro)
    except ValueError:
        raise ValueError(f"{original!r} is not a valid time (use e.g. 08:30)") from None


def _parse_datetime_text(text: str, original: Any) -> tuple[dt.date, dt.time | None] | dt.time:
    """Parse date[+time] text into (date, time|None), or a bare time."""
    match = _DATETIME_FULL_RES[0].match(text) or _DATETIME_FULL_RES[1].match(text)
    if match:
        try:
            day = dt.date(int(match.group("y")), int(match.group("m")), int(match.group("d")))
        except ValueError:
            raise ValueError(f"{original!r} is not a valid date ({_DATE_EXAMPLE})") from None
        time = _time_from_match(match, original) if match.group("H") is not None else None
        return day, time
    match = _TIME_ONLY_RE.match(text)
    if match:
        return _time_from_match(match, original)
    try:
        parsed = dt.datetime.fromisoformat(text)  # ISO forms with seconds fractions or a UTC offset
    except ValueError:
        raise ValueError(f"{original!r} is not a recognised date ({_DATE_EXAMPLE})") from None
    return parsed.date(), parsed.timetz()


def parse_date(value: Any) -> dt.date | None:
    """Return a date from a date/datetime, an Excel serial number or common date text; '' → None."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a date")
    if isinstance(value, int | float | Decimal):
        return _from_excel_serial(float(value), value).date()
    text = normalize_text(value)
    if not text:
        return None
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        # The common YYYY-MM-DD first. A 10-character text with dashes there is, for fromisoformat, only
        # that form, which the patterns below read the same way; anything it refuses goes through them.
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    if _SERIAL_RE.match(text):
        return _from_excel_serial(float(text), value).date()
    parsed = _parse_datetime_text(text, value)
    if isinstance(parsed, dt.time):
        raise ValueError(f"{value!r} is a time, not a date ({_DATE_EXAMPLE})")
    return parsed[0]


def parse_datetime(value: Any, default_date: dt.date | None = None) -> dt.datetime | None:
    """Return a datetime from a datetime/date/time, an Excel serial number or text; a bare time takes default_date."""

    def on_default(time: dt.time) -> dt.datetime:
        if default_date is None:
            raise ValueError(f"{value!r} has a time but no date")
        return dt.datetime.combine(default_date, time)

    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(0))
    if isinstance(value, dt.time):
        return on_default(value)
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a date and time")
    if isinstance(value, int | float | Decimal):
        serial = float(value)
        if 0 <= serial < 1:
            return on_default((dt.datetime.min + dt.timedelta(seconds=round(serial * 86400))).time())
        return _from_excel_serial(serial, value)
    text = normalize_text(value)
    if not text:
        return None
    if re.match(r"^\d{5}(?:\.\d+)?$|^0?\.\d+$", text):
        return parse_datetime(float(text), default_date)
    parsed = _parse_datetime_text(text, value)
    if isinstance(parsed, dt.time):
        return on_default(parsed)
    day, time = parsed
    return dt.datetime.combine(day, time or dt.time(0))


_THOUSANDS_RE = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_DECIMAL_SUFFIXES = ("学时", "课时", "分")  # points and training hours: the units these sheets carry


def parse_decimal(value: Any) -> Decimal | None:
    """Return a Decimal from a number or numeric text ('85', '1,234.5', '85分', '２.５'); '' → None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(_format_float(value) or "NaN")
    else:
        text = normalize_text(value)
        if not text:
            return None
        for suffix in _DECIMAL_SUFFIXES:
            if text.endswith(suffix):
                text = text[: -len(suffix)].strip()
                break
        if _THOUSANDS_RE.match(text):
            text = text.replace(",", "")
        if not re.match(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$", text):
            raise ValueError(f"{value!r} is not a number")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a number")
    return number


# --------------------------------------------------------------------------------------------------------------
# Format detection
# --------------------------------------------------------------------------------------------------------------


def _zip_local_names(head: bytes) -> tuple[list[str], bool]:
    """Walk local file headers of a (possibly truncated) zip; return the names and whether the walk ended cleanly."""
    names: list[str] = []
    pos = 0
    while pos + 30 <= len(head):
        if head[pos : pos + 4] != b"PK\x03\x04":
            return names, head[pos : pos + 4] in (b"PK\x01\x02", b"PK\x05\x06")
        flags, _method = struct.unpack_from("<HH", head, pos + 6)
        comp_size = struct.unpack_from("<I", head, pos + 18)[0]
        name_len, extra_len = struct.unpack_from("<HH", head, pos + 26)
        name = head[pos + 30 : pos + 30 + name_len].decode("utf-8", "replace")
        names.append(name)
        if flags & 0x08 and comp_size == 0:  # sizes are in a data descriptor after the data: cannot skip
            return names, False
        pos += 30 + name_len + extra_len + comp_size
    return names, False


def _classify_zip_names(
    names: Iterable[str], filename: str, content_types: bytes | None = None
) -> str | None:
    """Return 'xlsx' when the member names are those of a workbook, None when undecided; raise when foreign."""
    lower = {name.lower() for name in names}
    if "xl/workbook.bin" in lower:
        raise ImportRefused(
            msg(
                "%(file)s is an Excel binary workbook (xlsb); save it as xlsx and upload again", file=filename
            )
        )
    if "mimetype" in lower or "content.xml" in lower:
        raise ImportRefused(
            msg("%(file)s is an OpenDocument file; save it as xlsx and upload again", file=filename)
        )
    has_ct = "[content_types].xml" in lower
    if has_ct and "xl/workbook.xml" in lower:
        return "xlsx"
    if content_types is not None and re.search(
        rb"sheet\.main\+xml|template\.main\+xml|macroEnabled\.main", content_types
    ):
        return "xlsx"
    ooxml_prefixes = ("xl/", "docprops/", "_rels/", "[content_types].xml", "customxml/")
    if lower and any(name.startswith(("word/", "ppt/", "visio/")) for name in lower):
        raise _not_spreadsheet(filename)
    if any(name.startswith("xl/") for name in lower):
        return "xlsx"
    if lower and not any(name.startswith(ooxml_prefixes) for name in lower):
        raise _not_spreadsheet(filename)
    return None


def inspect_ole_streams(streams: Iterable[Sequence[str]], filename: str = "the file") -> str:
    """Return 'xls' for an OLE directory listing with a Workbook/Book stream; refuse encrypted OOXML and others."""
    top = {path[0].lower() for path in streams if path}
    if {"encryptioninfo", "encryptedpackage"} & top:
        raise _password_protected(filename)
    if "workbook" in top or "book" in top:
        return "xls"
    raise _not_spreadsheet(filename)


def _implausible_text(text: str) -> bool:
    """Return True for decoded bytes that are not text: control characters, or many unassigned/private chars."""
    if "\x00" in text or _CONTROL_RE.search(text):
        return True
    sample = text[:4096]
    odd = sum(1 for char in sample if unicodedata.category(char) in ("Cn", "Co", "Cs"))
    return odd > max(2, len(sample) // 100)


def _looks_like_markup(text: str) -> bool:
    start = text.lstrip("\ufeff \t\r\n")[:1024].lower()
    return start.startswith("<") and any(
        tag in start for tag in ("<html", "<table", "<?xml", "<!doctype", "<workbook", "<meta")
    )


def _decode_head(head: bytes) -> str | None:
    """Decode the first bytes of a text file as utf-16 (BOM), utf-8 or gb18030; None when none fits."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8-sig", "gb18030"]
    for encoding in candidates:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            return decoder.decode(head, final=False)  # a multibyte char cut at the end is not an error
        except UnicodeDecodeError:
            continue
    return None


def detect_format(head: bytes, filename: str = "the file") -> str:
    """Return 'xlsx', 'xls' or 'csv' from the first bytes (or all) of a file; raise ImportRefused otherwise."""
    if not head or not head.strip(b" \t\r\n"):
        raise ImportRefused(msg("%(file)s is empty", file=filename))
    if head.startswith(_ZIP_MAGICS):
        try:
            with zipfile.ZipFile(io.BytesIO(head)) as archive:
                names = archive.namelist()
                content_types = None
                for info in archive.infolist():
                    if info.filename.lower() == "[content_types].xml" and info.file_size < 2**20:
                        content_types = archive.read(info)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError, ValueError):
            names, complete = _zip_local_names(head)
            kind = _classify_zip_names(names, filename)
            if kind is None and complete:
                raise _not_spreadsheet(filename) from None
            return "xlsx"  # tentative: read_tables checks the whole archive before opening it
        if _classify_zip_names(names, filename, content_types) == "xlsx":
            return "xlsx"
        raise _not_spreadsheet(filename)
    if head.startswith(_OLE_MAGIC):
        try:
            import olefile

            ole = olefile.OleFileIO(head)
        except Exception:  # a truncated head: read_tables inspects the whole file
            return "xls"
        try:
            return inspect_ole_streams(ole.listdir(streams=True, storages=False), filename)
        finally:
            ole.close()
    if head.startswith(_FOREIGN_MAGICS):
        raise _not_spreadsheet(filename)
    text = _decode_head(head)
    if text is None:
        raise _not_spreadsheet(filename)
    if _implausible_text(text):
        raise _not_spreadsheet(filename)
    if _looks_like_markup(text):
        raise ImportRefused(
            msg(
                "%(file)s is a web page or XML file with a spreadsheet name; open it in Excel, "
                "save it as xlsx and upload again",
                file=filename,
            )
        )
    if not text.strip():
        raise ImportRefused(msg("%(file)s is empty", file=filename))
    return "csv"


# --------------------------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------------------------


class _NonClosing(io.RawIOBase):
    """A seekable view of a caller's stream from `start`; closing it never closes the stream."""

    def __init__(self, stream: IO[bytes], start: int = 0):
        self._stream = stream
        self._start = start
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            target = self._start + offset
        elif whence == io.SEEK_CUR:
            target = self._start + self._pos + offset
        else:
            target = self._stream.seek(0, io.SEEK_END) + offset
        self._pos = self._stream.seek(max(target, self._start)) - self._start
        return self._pos

    def readinto(self, buffer: Any) -> int:
        self._stream.seek(self._start + self._pos)  # other views may have moved the shared stream
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


class _Source:
    """A re-openable view of the upload: a path, bytes, or a caller's seekable stream."""

    def __init__(self, source: Any, filename: str, max_bytes: int):
        self.filename = filename
        self.path: str | None = None
        self.data: bytes | None = None
        self.stream: IO[bytes] | None = None
        self.start = 0
        limit_mb = f"{max_bytes / 2**20:g}"
        if isinstance(source, bytes | bytearray | memoryview):
            self.data = bytes(source)
            self.size = len(self.data)
        elif isinstance(source, str | os.PathLike):
            self.path = os.fspath(source)
            self.size = os.path.getsize(self.path)
        elif hasattr(source, "read"):
            if getattr(source, "seekable", lambda: False)():
                self.stream = source
                self.start = source.tell()
                self.size = source.seek(0, io.SEEK_END) - self.start
                source.seek(self.start)
            else:
                self.data = source.read(max_bytes + 1)
                self.size = len(self.data)
        else:
            raise TypeError(f"cannot read a spreadsheet from {type(source).__name__}")
        if self.size > max_bytes:
            raise ImportRefused(msg("%(file)s is larger than %(mb)s MB", file=filename, mb=limit_mb))

    def open(self) -> IO[bytes]:
        """Return a binary file positioned at the start; closing it never closes the caller's stream."""
        if self.path is not None:
            return open(self.path, "rb")  # closed by the caller
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.stream is not None
        return io.BufferedReader(_NonClosing(self.stream, self.start), buffer_size=_CHUNK)

    def head(self, size: int = HEAD_BYTES) -> bytes:
        with self.open() as handle:
            return handle.read(size)

    def read_all(self) -> bytes:
        if self.data is not None:
            return self.data
        with self.open() as handle:
            return handle.read()


# --------------------------------------------------------------------------------------------------------------
# xlsx
# --------------------------------------------------------------------------------------------------------------

_XML_TRICK_PATTERNS = [
    pattern
    for word in (b"<!DOCTYPE", b"<!ENTITY")
    for pattern in (word, word.decode().encode("utf-16-le"), word.decode().encode("utf-16-be"))
]


def _doctype_refusal(filename: str) -> ImportRefused:
    return ImportRefused(f"{filename} contains XML document type declarations; refused")


def _is_defused(exc: Exception) -> bool:
    """Return True when defusedxml (which openpyxl uses when installed) stopped a DTD/entity trick."""
    from defusedxml.common import DefusedXmlException

    seen: BaseException | None = exc
    for _depth in range(10):  # openpyxl wraps parse errors in ValueError("Unable to read workbook")
        if seen is None:
            return False
        if isinstance(seen, DefusedXmlException):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _check_xlsx_archive(src: _Source, max_bytes: int) -> None:
    """Refuse zip bombs, DTD/entity tricks and zips that are not workbooks before openpyxl sees the file."""
    name = src.filename
    try:
        with src.open() as handle, zipfile.ZipFile(handle) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_ZIP_MEMBERS:
                raise ImportRefused(f"{name} has too many parts to be a spreadsheet")
            content_types = None
            for info in infos:
                if info.filename.lower() == "[content_types].xml":
                    with archive.open(info) as member:
                        content_types = member.read(XML_SCAN_BYTES)
            if _classify_zip_names([i.filename for i in infos], name, content_types) != "xlsx":
                raise _not_spreadsheet(name)
            total = sum(info.file_size for info in infos)
            if total > min(20 * max_bytes, MAX_UNCOMPRESSED_TOTAL):
                raise ImportRefused(f"{name} unpacks to {total // 2**20} MB, which is too large; refused")
            for info in infos:
                ratio = info.file_size / max(info.compress_size, 1)
                if info.file_size >= RATIO_CHECK_MIN_SIZE and ratio > MAX_COMPRESSION_RATIO:
                    raise ImportRefused(f"{name} is compressed suspiciously well (a zip bomb?); refused")
            for info in infos:
                if info.is_dir() or not info.filename.lower().endswith((".xml", ".rels", ".vml")):
                    continue
                with archive.open(info) as member:
                    start = member.read(XML_SCAN_BYTES)
                if any(pattern in start for pattern in _XML_TRICK_PATTERNS):
                    raise _doctype_refusal(name)
    except ImportRefused:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        EOFError,
        NotImplementedError,
        RuntimeError,
    ) as exc:
        raise ImportRefused(f"{name} is a damaged or unsupported xlsx file ({exc})") from None


def _xlsx_sheets(src: _Source, streaming: bool) -> tuple[list[_SheetData], Any]:
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
        if _is_defused(exc):
            raise _doctype_refusal(src.filename) from None
        raise ImportRefused(
            f"{src.filename} could not be read as an xlsx file ({type(exc).__name__}); "
            "open it in Excel, save it again and upload again"
        ) from None
    sheets = []
    for ws in workbook.worksheets:
        hidden = getattr(ws, "sheet_state", "visible") != "visible"
        if streaming:
            ws.reset_dimensions()  # the stored dimension is often wrong (WPS, generators): read to the end
            merges = _StreamedMerges(ws)
            sheets.append(
                _SheetData(ws.title, hidden, _read_only_rows(ws, src.filename, merges), merges.fill)
            )
        else:
            rows, fill = _loaded_rows(ws)
            sheets.append(_SheetData(ws.title, hidden, rows, fill))
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
            while chunk := part.read(_CHUNK):
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
        if _is_defused(exc):
            raise _doctype_refusal(filename) from None
        raise ImportRefused(
            f"{filename}: sheet {ws.title!r} could not be read ({type(exc).__name__})"
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


# --------------------------------------------------------------------------------------------------------------
# xls
# --------------------------------------------------------------------------------------------------------------


def _xls_sheets(src: _Source) -> list[_SheetData]:
    import olefile
    import xlrd

    data = src.read_all()
    try:
        ole = olefile.OleFileIO(data)
    except Exception:  # olefile raises assorted errors on damaged containers
        raise ImportRefused(
            f"{src.filename} is a damaged xls file; open it in Excel and save it again"
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
                raise _password_protected(src.filename) from None
            if with_formatting:
                continue
            raise ImportRefused(f"{src.filename} could not be read as an xls file ({exc})") from None
        except NotImplementedError:
            continue
        except Exception as exc:  # xlrd raises assorted errors on damaged files
            if with_formatting:
                continue
            raise ImportRefused(
                f"{src.filename} could not be read as an xls file ({type(exc).__name__}); "
                "open it in Excel and save it again"
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
            _SheetData(
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
            return _format_float(cell.value)
        if cell.value < 1:
            return _format_time(value.time())
        return cell_text(value)
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return "TRUE" if cell.value else "FALSE"
    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return ""
    return cell_text(cell.value)


# --------------------------------------------------------------------------------------------------------------
# csv
# --------------------------------------------------------------------------------------------------------------


def _csv_encoding(src: _Source) -> str:
    """Return the encoding that decodes the whole file (utf-8-sig/utf-8, then gb18030); refuse binary text."""
    head = src.head(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8-sig", "gb18030"]
    for encoding in candidates:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with src.open() as handle:
                while chunk := handle.read(_CHUNK):
                    if encoding != "utf-16" and b"\x00" in chunk:
                        raise _not_spreadsheet(src.filename)
                    text = decoder.decode(chunk)
                    if "\x00" in text or _CONTROL_RE.search(text):
                        raise _not_spreadsheet(src.filename)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise _not_spreadsheet(src.filename)


def _sniff_delimiter(sample: str) -> str:
    sample = sample[: sample.rfind("\n") + 1] or sample  # whole lines only
    try:
        return csv.Sniffer().sniff(sample, delimiters=_CSV_DELIMITERS).delimiter
    except csv.Error:
        first_lines = "\n".join(line for line in sample.splitlines()[:10] if line.strip())
        counts = {delimiter: first_lines.count(delimiter) for delimiter in _CSV_DELIMITERS}
        best = max(counts, key=lambda delimiter: counts[delimiter])
        return best if counts[best] else ","


def _csv_sheet(src: _Source) -> _SheetData:
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
                f"{src.filename}: line {next_line} could not be read as csv ({exc})"
            ) from None
        finally:
            handle.close()

    return _SheetData(None, False, rows(), lambda _r, _c: None)


# --------------------------------------------------------------------------------------------------------------
# Header detection and rows
# --------------------------------------------------------------------------------------------------------------


@dataclass
class _SheetData:
    name: str | None
    hidden: bool
    rows: Iterator[tuple[int, list[str]]]
    merged_fill: Any  # (row_no, 0-based col) -> top-left text of a vertical merge, or None


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


def _match_header(cells: Sequence[str], aliases: dict[str, set[str]]) -> dict[str, int]:
    """Return canonical field -> 0-based column for a candidate header row (first cell wins per field)."""
    found: dict[str, int] = {}
    for index, text in enumerate(cells):
        if not text or not text.strip():
            continue
        keys = _header_keys(text)
        for name, accepted in aliases.items():
            if name not in found and any(key in accepted for key in keys):
                found[name] = index
                break
    return found


def _required_label(fields: dict[str, Sequence[str]], names: Iterable[str]) -> str:
    return "/".join((list(fields[name]) or [name])[0] for name in names)


class _HeaderNotFound(Exception):
    def __init__(self, best: tuple[int, dict[str, int]] | None):
        self.best = best


def _find_header(
    buffered: list[tuple[int, list[str]]], aliases: dict[str, set[str]], required: Sequence[str]
) -> tuple[int, dict[str, int]]:
    """Return (index in buffered, mapping) of the best header row among the buffered rows."""
    minimum = max(1, len(required))
    best: tuple[int, dict[str, int]] | None = None
    near: tuple[int, dict[str, int]] | None = None
    for index, (_row_no, cells) in enumerate(buffered):
        found = _match_header(cells, aliases)
        if not found:
            continue
        if len(found) >= minimum and all(name in found for name in required):
            if best is None or len(found) > len(best[1]):
                best = (index, found)
        elif near is None or len(found) > len(near[1]):
            near = (index, found)
    if best is None:
        raise _HeaderNotFound(near)
    return best


def _build_table(
    sheet: _SheetData,
    filename: str,
    fields: dict[str, Sequence[str]],
    aliases: dict[str, set[str]],
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
    header_index, mapping = _find_header(buffered, aliases, required)
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
    aliases = {
        name: {normalize_header(alias) for alias in [name, *names]} - {""} for name, names in fields.items()
    }
    src = _Source(source, filename, max_bytes)
    if src.size == 0:
        raise ImportRefused(msg("%(file)s is empty", file=filename))
    kind = detect_format(src.head(), filename)
    stream_rows = src.size > STREAMING_THRESHOLD if streaming is None else streaming
    close_workbook = None
    if kind == "xlsx":
        _check_xlsx_archive(src, max_bytes)
        sheets, close_workbook = _xlsx_sheets(src, stream_rows)
    elif kind == "xls":
        sheets = _xls_sheets(src)
        stream_rows = False  # xlrd has read everything already
    else:
        sheets = [_csv_sheet(src)]

    # Visible sheets first: hidden ones usually hold lookup lists for drop-downs, and are read only when
    # no visible sheet has a header.
    tables: list[Table] = []
    misses: list[tuple[_SheetData, tuple[int, dict[str, int]] | None]] = []
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
                except _HeaderNotFound as miss:
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
        raise _header_refusal(filename, fields, required, misses)
    return tables


def _header_refusal(
    filename: str,
    fields: dict[str, Sequence[str]],
    required: Sequence[str],
    misses: list[tuple[_SheetData, tuple[int, dict[str, int]] | None]],
) -> ImportRefused:
    wanted = list(required) or list(fields)
    label = _required_label(fields, wanted)
    names = [sheet.name for sheet, _best in misses if sheet.name is not None]
    if not misses:
        where = ""
    elif len(names) == 1:
        where = f' of sheet "{names[0]}"'
    elif names:
        where = " of any sheet (" + ", ".join(f'"{name}"' for name in names) + ")"
    else:
        where = ""
    message = f"{filename}: no header row with {label} found in the first {HEADER_SCAN_ROWS} rows{where}"
    near = [best for _sheet, best in misses if best is not None]
    if near and required:
        _index, found = max(near, key=lambda best: len(best[1]))
        missing = [name for name in required if name not in found]
        if missing:
            message += f" (closest row lacks {_required_label(fields, missing)})"
    return ImportRefused(message)


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
