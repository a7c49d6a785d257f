"""Local time of an enterprise versus UTC in the database.

Every stored datetime is naive UTC (classroom sessions included). Every time a person reads or types is in the
time zone of the enterprise concerned (``Enterprise.time_zone``; the platform default is ``LMS_TIMEZONE``,
else Asia/Shanghai). This module converts at those edges: pages (the ``|dt`` filter), forms, PDFs, exports, CLI.

Which zone: an explicit argument (an enterprise, a zone name or a ZoneInfo) wins; without one, the zone set by
``use_zone`` (CLI commands and jobs that work for one enterprise), else the zone of the request (Flask-Babel's
timezone selector: the acting user's enterprise), else the platform default.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DEFAULT_ZONE = "Asia/Shanghai"

_scoped: contextvars.ContextVar[ZoneInfo | None] = contextvars.ContextVar("lms_zone", default=None)
# Set by lms.org (a higher floor): enterprise id → its zone name.
_enterprise_zone: Callable[[int], str | None] | None = None


def register_enterprise_zone(lookup: Callable[[int], str | None]) -> None:
    """Let ``zone(obj)`` find the zone of an object that has only an ``enterprise_id``."""
    global _enterprise_zone
    _enterprise_zone = lookup


@lru_cache(maxsize=64)
def _named(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def is_zone(name: str | None) -> bool:
    """Tell whether ``name`` is a time zone name this system knows (e.g. "Asia/Urumqi")."""
    if not name or not isinstance(name, str):
        return False
    try:
        _named(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def zone_choices() -> list[str]:
    """Every known zone name, the default first, for a select box."""
    names = sorted(n for n in available_timezones() if "/" in n and not n.startswith(("Etc/", "SystemV/")))
    first = default_zone_name()
    return [first] + [n for n in names if n != first]


def default_zone_name() -> str:
    """Return the platform default zone name (``LMS_TIMEZONE``, else Asia/Shanghai)."""
    try:
        from flask import current_app

        name = current_app.config.get("LMS_TIMEZONE") or current_app.config.get("BABEL_DEFAULT_TIMEZONE")
    except RuntimeError:  # outside an app context
        import os

        name = os.environ.get("LMS_TIMEZONE")
    return name if is_zone(name) else DEFAULT_ZONE


def _request_zone() -> ZoneInfo | None:
    try:
        from flask import has_request_context
    except ImportError:  # pragma: no cover
        return None
    if not has_request_context():
        return None
    try:
        from flask_babel import get_timezone

        tz = get_timezone()
    except (RuntimeError, KeyError, AttributeError):
        return None
    name = getattr(tz, "zone", None) or getattr(tz, "key", None) or (str(tz) if tz is not None else None)
    return _named(name) if is_zone(name) else None


def zone(where: Any = None) -> ZoneInfo:
    """Return the zone of ``where`` (an enterprise, a zone name, a ZoneInfo) or, without it, the current zone."""
    if isinstance(where, ZoneInfo):
        return where
    if isinstance(where, str):
        return _named(where) if is_zone(where) else _named(default_zone_name())
    if where is not None:
        name = getattr(where, "time_zone", None)
        if name is None and getattr(where, "enterprise", None) is not None:  # a person …
            name = getattr(where.enterprise, "time_zone", None)
        elif name is None and getattr(where, "enterprise_id", None) is not None and _enterprise_zone:
            name = _enterprise_zone(where.enterprise_id)  # a session, an exam …
        return _named(name) if is_zone(name) else _named(default_zone_name())
    scoped = _scoped.get()
    if scoped is not None:
        return scoped
    return _request_zone() or _named(default_zone_name())


@contextlib.contextmanager
def use_zone(where: Any) -> Iterator[ZoneInfo]:
    """Make ``where``'s zone the current zone inside the block (a CLI command or job for one enterprise)."""
    tz = zone(where)
    token = _scoped.set(tz)
    try:
        yield tz
    finally:
        _scoped.reset(token)


def to_local(value: dt.datetime | None, where: Any = None) -> dt.datetime | None:
    """Turn naive UTC into naive local wall-clock time of ``where`` (None stays None)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        return value.astimezone(zone(where)).replace(tzinfo=None)
    return value.replace(tzinfo=dt.UTC).astimezone(zone(where)).replace(tzinfo=None)


def to_utc(value: dt.datetime | None, where: Any = None) -> dt.datetime | None:
    """Turn a local wall-clock time of ``where`` (naive, or aware in any zone) into naive UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone(where))
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def local_date(value: dt.datetime | dt.date | None, where: Any = None) -> dt.date | None:
    """The local calendar day of a naive-UTC datetime (a date stays as it is)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        local = to_local(value, where)
        return local.date() if local is not None else None
    return value


def _now_utc() -> dt.datetime:
    """The clock (aware UTC); tests set it."""
    return dt.datetime.now(dt.UTC)


def today(where: Any = None) -> dt.date:
    """Today in ``where``'s zone."""
    return _now_utc().astimezone(zone(where)).date()


def local_day_bounds(day: dt.date, where: Any = None) -> tuple[dt.datetime, dt.datetime]:
    """The naive-UTC [start, end) of a local calendar day."""
    start = to_utc(dt.datetime.combine(day, dt.time()), where)
    end = to_utc(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()), where)
    assert start is not None and end is not None
    return start, end


def format_local(value: Any, where: Any = None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format a naive-UTC datetime in local time ("" for None; a date as YYYY-MM-DD)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        local = to_local(value, where)
        return local.strftime(fmt) if local is not None else ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def format_span(start: dt.datetime | None, end: dt.datetime | None = None, where: Any = None) -> str:
    """A stored time, or a stored [start, end] span, in local time: "2026-12-01 10:30–12:00"."""
    if start is None:
        return format_local(end, where)
    text = format_local(start, where)
    if end is None or not isinstance(start, dt.datetime) or end == start:
        return text
    s_local, e_local = to_local(start, where), to_local(end, where)
    assert s_local is not None and e_local is not None
    return text + "–" + e_local.strftime("%H:%M" if e_local.date() == s_local.date() else "%Y-%m-%d %H:%M")


def iso_local(value: dt.datetime | None, where: Any = None, timespec: str = "minutes") -> str | None:
    """ISO 8601 with the local offset, e.g. "2026-12-01T10:30+08:00" (for --json and the API)."""
    if value is None:
        return None
    aware = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
    return aware.astimezone(zone(where)).isoformat(timespec=timespec)


# Kept names (older call sites): the current zone unless ``where`` is given.
def local_to_utc(value: dt.datetime, where: Any = None) -> dt.datetime:
    """Turn a naive local wall-clock time into naive UTC."""
    out = to_utc(value, where)
    assert out is not None
    return out


def utc_to_local(value: dt.datetime, where: Any = None) -> dt.datetime:
    """Turn naive UTC into naive local wall-clock time."""
    out = to_local(value, where)
    assert out is not None
    return out
