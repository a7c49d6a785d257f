"""Wall-clock time of the installation versus UTC in the database.

Stored datetimes are naive UTC, except times people plan in their own wall-clock (a classroom session at
09:00), which are stored as entered; this converts between the two with the configured zone.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Shanghai"


def zone() -> ZoneInfo:
    """Return the installation's zone (BABEL_DEFAULT_TIMEZONE)."""
    try:
        from flask import current_app

        return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or DEFAULT_ZONE)
    except RuntimeError:  # outside an app context
        return ZoneInfo(DEFAULT_ZONE)


def local_to_utc(value: dt.datetime) -> dt.datetime:
    """Turn a naive local wall-clock time into naive UTC."""
    return value.replace(tzinfo=zone()).astimezone(dt.UTC).replace(tzinfo=None)


def utc_to_local(value: dt.datetime) -> dt.datetime:
    """Turn naive UTC into naive local wall-clock time."""
    return value.replace(tzinfo=dt.UTC).astimezone(zone()).replace(tzinfo=None)
