"""Jinja filters shared by every package's templates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask import Flask
from flask_babel import format_date, format_datetime


def _hours(value: Any) -> str:
    if value is None:
        return "—"
    d = Decimal(str(value)).quantize(Decimal("0.1"))
    return f"{d.normalize():f}"


def _dt(value: Any, fmt: str = "yyyy-MM-dd HH:mm", until: Any = None) -> str:
    """A stored (naive UTC) datetime in the local time of the enterprise concerned; a date as it is.

    ``until``: the end of a span starting at ``value`` ("2026-12-01 10:30–12:00").
    """
    if value is None:
        return "—" if until is None else _dt(until, fmt)
    if isinstance(value, dt.datetime):
        from lms.core.timeutil import format_span, to_local

        if isinstance(until, dt.datetime) and until != value:
            return format_span(value, until)
        local = to_local(value)
        # The default pattern is digits only, the same in every language: written as babel writes it, without it.
        if fmt == "yyyy-MM-dd HH:mm":
            return f"{_day(local)} {local.hour:02d}:{local.minute:02d}"
        return format_datetime(local, fmt, rebase=False)
    if isinstance(value, dt.date):
        return _day(value)
    return str(value)


def _day(value: dt.date) -> str:
    """``format_date(value, "yyyy-MM-dd")`` without babel (a page of lists writes dozens of days): digits only,
    the same in every language; years before 1000 go to babel (its padding)."""
    if value.year < 1000:
        return format_date(value, "yyyy-MM-dd")
    return f"{value.year}-{value.month:02d}-{value.day:02d}"


def _date(value: Any) -> str:
    """The local calendar day of a stored datetime; a date as it is."""
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        from lms.core.timeutil import to_local

        return _day(to_local(value))
    return _day(value)


def _pct(value: Any, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{float(value) * 100:.{digits}f}%"


def _mask_name(name: str | None) -> str:
    """张建国 → 张*国, 李四 → 李*, a name of one character stays."""
    if not name:
        return ""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def register_filters(app: Flask) -> None:
    """Register the filters on ``app``."""
    import math

    app.jinja_env.filters.update(
        hours=_hours,
        dt=_dt,
        wall=_dt,  # an older name: classroom sessions are stored in UTC like everything else now
        date=_date,
        pct=_pct,
        mask_name=_mask_name,
        cos=lambda a: round(math.cos(a), 2),
        sin=lambda a: round(math.sin(a), 2),
    )
    from flask_babel import get_locale

    from lms.core.i18n import translate_message

    app.jinja_env.filters["tr"] = translate_message
    from lms.core.labels import label

    app.jinja_env.filters["label"] = label  # a stored code as a word of the reader's language
    app.jinja_env.globals["now"] = dt.datetime.utcnow

    def _today() -> dt.date:
        """Today's date where the reader is (the enterprise's zone), to compare with due dates."""
        from lms.core.timeutil import today

        return today()

    app.jinja_env.globals["today"] = _today

    def _local_input(value: Any) -> str:
        """A stored datetime as the value of an <input type=datetime-local> (local time)."""
        from lms.core.timeutil import to_local

        return to_local(value).strftime("%Y-%m-%dT%H:%M") if isinstance(value, dt.datetime) else ""

    app.jinja_env.filters["local_input"] = _local_input
    app.jinja_env.globals["get_locale"] = get_locale
    from lms.core.nav import language_links, layout_part

    # base.html's parts, rendered once per page and kind of reader (lms.core.nav)
    app.jinja_env.globals["layout_part"] = layout_part
    app.jinja_env.globals["language_links"] = language_links
