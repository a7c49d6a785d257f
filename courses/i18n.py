"""``_`` for services: translated inside a request, plain English (formatted) elsewhere (CLI, jobs, tests)."""

from __future__ import annotations

from typing import Any

from flask import has_request_context
from flask_babel import gettext


def _(message: str, **variables: Any) -> str:
    """Translate ``message`` when serving a request; otherwise return it formatted."""
    if has_request_context():
        return gettext(message, **variables)
    return message % variables if variables else message
