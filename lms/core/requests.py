"""Reading JSON bodies defensively: a malformed body is a 400, never a 500."""

from __future__ import annotations

import math
from typing import Any

from flask import abort, request

MAX_INT = 2**31 - 1


def json_object(*, form_fallback: bool = False) -> Any:
    """Return the request's JSON object (a dict), the form if allowed, or refuse with 400."""
    data = request.get_json(silent=True)
    if data is None:
        return request.form if form_fallback else {}
    if not isinstance(data, dict):
        abort(400)
    return data


def int_field(data: Any, key: str, default: int = 0) -> int:
    """Return ``data[key]`` as a bounded int (400 for anything else: null, text, NaN, 1e999, 10**20)."""
    value = data.get(key, default)
    if value is None or isinstance(value, bool):
        abort(400)
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            abort(400)
        value = int(value)
    try:
        number = int(value)
    except (TypeError, ValueError):
        abort(400)
    if not -MAX_INT <= number <= MAX_INT:
        abort(400)
    return number


def float_field(data: Any, key: str, default: float, *, lo: float, hi: float) -> float:
    """Return ``data[key]`` as a finite float within [lo, hi] (400 otherwise)."""
    value = data.get(key, default)
    if value is None or isinstance(value, bool):
        abort(400)
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        abort(400)
    if not math.isfinite(number) or not lo <= number <= hi:
        abort(400)
    return number
