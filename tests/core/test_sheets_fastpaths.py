"""The fast paths of lms.core.sheets.values and .tables give exactly what the plain definitions give.

``normalize_text`` skips NFKC for ASCII and the regexes for printable text, ``normalize_employee_no`` likewise,
``parse_date`` tries ``date.fromisoformat`` first, and ``is_footer_row`` stops at the first filled cell. Each
is checked here against its plain definition (the code before the fast paths) on many generated values
mixing the characters that matter: full-width forms, zero-width characters, every kind of whitespace,
combining marks, controls.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import pytest

from lms.core.sheets import tables, values
from lms.core.sheets.tables import is_footer_row
from lms.core.sheets.values import cell_text, normalize_employee_no, normalize_text, parse_date

_ZERO_WIDTH_RE = re.compile("[\u200b-\u200d\u2060\ufeff]")
_WS_RE = re.compile(r"\s+")


def plain_normalize_text(value: Any) -> str:
    text = cell_text(value)
    if not text:
        return ""
    text = _ZERO_WIDTH_RE.sub("", unicodedata.normalize("NFKC", text))
    return _WS_RE.sub(" ", text).strip()


def plain_normalize_employee_no(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, float):
        return values.format_float(value) if value.is_integer() else plain_normalize_employee_no(repr(value))
    text = _WS_RE.sub("", _ZERO_WIDTH_RE.sub("", unicodedata.normalize("NFKC", cell_text(value))))
    match = re.match(r"^(\d+)\.0+$", text)
    if match:
        return match.group(1)
    if re.match(r"^\d+(?:\.\d+)?[eE]\+?\d+$", text):
        from decimal import Decimal

        number = Decimal(text)
        if number == number.to_integral_value():
            return str(int(number))
    return text


def plain_is_footer_row(cells: Sequence[str], first_col: int = 0) -> bool:
    filled = [(index, text.strip()) for index, text in enumerate(cells) if text and text.strip()]
    if not filled:
        return False
    index, first = filled[0]
    if index > first_col:
        return False
    if len(filled) == 1 and (":" in first or "：" in first):
        return True
    return plain_normalize_text(first).lower().startswith(tables._FOOTER_WORDS)


def plain_parse_date(value: Any) -> dt.date | None:
    """parse_date without the fromisoformat shortcut (the rest of it is unchanged)."""
    text = plain_normalize_text(value)
    if not text:
        return None
    if values._SERIAL_RE.match(text):
        return values._from_excel_serial(float(text), value).date()
    parsed = values._parse_datetime_text(text, value)
    if isinstance(parsed, dt.time):
        raise ValueError(f"{value!r} is a time, not a date ({values._DATE_EXAMPLE})")
    return parsed[0]


PIECES = [
    "a",
    "Z",
    "0",
    "7",
    "-",
    ".",
    "e",
    "E",
    "+",
    "/",
    ":",
    "：",
    " ",
    "  ",
    "\t",
    "\n",
    "\r",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x1f",
    "\x85",
    "\xa0",
    "\u1680",
    "\u2003",
    "\u2028",
    "\u202f",
    "\u3000",
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u0301",
    "e\u0301",
    "ｅ",
    "Ａ",
    "１",
    "２",
    "０",
    "．",
    "－",
    "（",
    "）",
    "ﾃ",
    "ﾞ",
    "㍿",
    "①",
    "ﬁ",
    "张",
    "三",
    "车间",
    "合计",
    "备注",
    "Total",
    "NOTE",
    "培训讲师",
    "٣",
    "\x00",
]


def _texts(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 7))) for _ in range(count)]


def test_normalize_text_matches_its_definition() -> None:
    values: list[Any] = _texts(1, 20_000) + [None, 0, 1.5, 1001.0, True, dt.date(2024, 1, 2), "  a  b  "]
    for value in values:
        assert normalize_text(value) == plain_normalize_text(value), repr(value)


def test_normalize_employee_no_matches_its_definition() -> None:
    values: list[Any] = _texts(2, 20_000) + [
        "1001.0",
        "１００１",
        "1.3843894741E+10",
        "1.5e3",
        "00123",
        1001.0,
    ]
    for value in values:
        assert normalize_employee_no(value) == plain_normalize_employee_no(value), repr(value)


def test_is_footer_row_matches_its_rule() -> None:
    rng = random.Random(3)
    texts = _texts(4, 400) + ["", "", "", "GA1001", "合计 20 人", "讲师：王", "Instructor: Wang", "审核部"]
    for _ in range(20_000):
        cells = [rng.choice(texts) for _ in range(rng.randrange(0, 5))]
        first_col = rng.randrange(0, 3)
        assert is_footer_row(cells, first_col) == plain_is_footer_row(cells, first_col), (cells, first_col)


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-02",
        "2024-02-29",
        "2023-02-29",
        "2024-13-40",
        "2024-00-10",
        "2024-1-2",
        "2024-01-2",
        "２０２４-０１-０２",
        "2024-01-02 08:30",
        "20240102",
        "2024/01/02",
        "2024.01.02",
        "2024年1月2日",
        "2024-W01-1",
        "2024-01-0x",
        "0000-01-01",
        "9999-12-31",
        "2024-٠١-02",
        "45292",
        "08:30",
        "abc",
        "",
    ],
)
def test_parse_date_matches_its_definition(text: str) -> None:
    try:
        expected: Any = plain_parse_date(text)
    except ValueError as exc:
        with pytest.raises(ValueError) as raised:
            parse_date(text)
        assert str(raised.value) == str(exc)
    else:
        assert parse_date(text) == expected
