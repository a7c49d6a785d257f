"""What every floor's CLI commands share (the ``lms`` command itself is ``lms.cli``, on the top floor)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click


def _json_value(value: Any) -> Any:
    """JSON for what json cannot write: a stored (naive UTC) datetime as ISO 8601 in local time with its offset."""
    if isinstance(value, dt.datetime):
        from lms.core.timeutil import iso_local

        return iso_local(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def emit_json(data: Any) -> None:
    """Print one JSON object (for ``--json``)."""
    click.echo(json.dumps(data, ensure_ascii=False, default=_json_value))
