"""Cell values as text, and the values sheets carry: employee numbers, dates and times, decimals.

Pure: no Flask, no database. A value that cannot be read raises ValueError naming it."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

_WS_RE = re.compile(r"\s+")


_ZERO_WIDTH_RE = re.compile("[\u200b-\u200d\u2060\ufeff]")


def format_float(value: float) -> str:
    if value != value or value in (float("inf"), float("-inf")):
        return ""
    if value.is_integer():
        return str(int(value))
    return f"{value:.15g}"  # Excel shows at most 15 significant digits; hides binary noise like 0.1+0.2


def format_time(value: dt.time) -> str:
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
        return format_float(value)
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
        return format_time(value)
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
        return format_float(value) if value.is_integer() else normalize_employee_no(repr(value))
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
        number = Decimal(format_float(value) or "NaN")
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
