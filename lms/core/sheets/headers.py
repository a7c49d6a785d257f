"""Finding the header row: header text as keys, matching them to the caller's field aliases, and the refusal
that says which required column was not found."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from lms.core.errors import ImportRefused
from lms.core.i18n import msg
from lms.core.sheets.readers import SheetData
from lms.core.sheets.values import normalize_text

HEADER_SCAN_ROWS = 30


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


def field_aliases(fields: dict[str, Sequence[str]]) -> dict[str, dict[str, int]]:
    """Return canonical field -> {header key: rank}: its own name first, then its header names, best first."""
    aliases: dict[str, dict[str, int]] = {}
    for name, names in fields.items():
        keys: dict[str, int] = {}
        for alias in [name, *names]:
            key = normalize_header(alias)
            if key:
                keys.setdefault(key, len(keys))
        aliases[name] = keys
    return aliases


def _match_header(cells: Sequence[str], aliases: dict[str, dict[str, int]]) -> dict[str, int]:
    """Return canonical field -> 0-based column for a candidate header row.

    A field named by several cells takes the one whose header comes first in its list of names (a 部门 column
    over a 单位 column to its left); between equally good cells, the leftmost. A cell goes to the first field
    that names it and is not held by a better cell.
    """
    found: dict[str, int] = {}
    ranks: dict[str, int] = {}
    for index, text in enumerate(cells):
        if not text or not text.strip():
            continue
        keys = _header_keys(text)
        for name, accepted in aliases.items():
            rank = min((accepted[key] for key in keys if key in accepted), default=None)
            if rank is not None and (name not in found or rank < ranks[name]):
                found[name], ranks[name] = index, rank
                break
    return found


def _required_label(fields: dict[str, Sequence[str]], names: Iterable[str]) -> str:
    return "/".join((list(fields[name]) or [name])[0] for name in names)


class HeaderNotFound(Exception):
    def __init__(self, best: tuple[int, dict[str, int]] | None):
        self.best = best


def find_header(
    buffered: list[tuple[int, list[str]]], aliases: dict[str, dict[str, int]], required: Sequence[str]
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
        raise HeaderNotFound(near)
    return best


# (where the header was looked for, whether the closest row is named) -> the refusal's text
_NO_HEADER = {
    ("", False): "%(file)s: no header row with %(label)s found in the first %(rows)s rows",
    ("", True): "%(file)s: no header row with %(label)s found in the first %(rows)s rows "
    "(closest row lacks %(missing)s)",
    (
        "sheet",
        False,
    ): '%(file)s: no header row with %(label)s found in the first %(rows)s rows of sheet "%(sheet)s"',
    (
        "sheet",
        True,
    ): '%(file)s: no header row with %(label)s found in the first %(rows)s rows of sheet "%(sheet)s" '
    "(closest row lacks %(missing)s)",
    ("sheets", False): "%(file)s: no header row with %(label)s found in the first %(rows)s rows of any sheet "
    "(%(sheets)s)",
    ("sheets", True): "%(file)s: no header row with %(label)s found in the first %(rows)s rows of any sheet "
    "(%(sheets)s) (closest row lacks %(missing)s)",
}


def header_refusal(
    filename: str,
    fields: dict[str, Sequence[str]],
    required: Sequence[str],
    misses: list[tuple[SheetData, tuple[int, dict[str, int]] | None]],
) -> ImportRefused:
    wanted = list(required) or list(fields)
    label = _required_label(fields, wanted)
    names = [sheet.name for sheet, _best in misses if sheet.name is not None]
    params: dict[str, object] = {"file": filename, "label": label, "rows": HEADER_SCAN_ROWS}
    if misses and len(names) == 1:
        where, params["sheet"] = "sheet", names[0]
    elif misses and names:
        where, params["sheets"] = "sheets", ", ".join(f'"{name}"' for name in names)
    else:
        where = ""
    near = [best for _sheet, best in misses if best is not None]
    if near and required:
        _index, found = max(near, key=lambda best: len(best[1]))
        missing = [name for name in required if name not in found]
        if missing:
            params["missing"] = _required_label(fields, missing)
    return ImportRefused(msg(_NO_HEADER[where, "missing" in params], **params))
