"""Importing a feature package that may be absent (features land one by one)."""

from __future__ import annotations

import importlib
from typing import Any


def optional_import(name: str) -> Any:
    """Import ``name`` if its package exists; return None if it does not; re-raise errors inside it."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            return None
        raise
