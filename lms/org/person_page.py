"""What other packages show on a person's page.

The page belongs to lms.org, but what a person did lives above it (the ledger's records, for one). A package
above registers a provider of template values here, so the page shows it without lms.org importing upward.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_PROVIDERS: dict[str, Callable[[Any], Any]] = {}


def provide(name: str, provider: Callable[[Any], Any]) -> None:
    """Give the person page the template value ``name``, computed by ``provider(person)``."""
    _PROVIDERS[name] = provider


def values(person: Any) -> dict[str, Any]:
    """The registered template values for ``person``'s page."""
    return {name: provider(person) for name, provider in _PROVIDERS.items()}
