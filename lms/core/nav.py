"""The navigation registry: each feature adds its entries; the layout shows those the user may use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, request, url_for
from flask_login import current_user


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: Any  # a lazy_gettext string
    roles: tuple[str, ...]
    order: int = 50
    icon: str = "•"


_ITEMS: list[NavItem] = []


def nav_item(
    endpoint: str, label: Any, roles: tuple[str, ...] | list[str], order: int = 50, icon: str = "•"
) -> None:
    """Register a navigation entry (idempotent per endpoint)."""
    global _ITEMS
    _ITEMS = [i for i in _ITEMS if i.endpoint != endpoint]
    _ITEMS.append(NavItem(endpoint, label, tuple(roles), order, icon))
    _ITEMS.sort(key=lambda i: i.order)
    _MENUS.clear()


# The menu depends only on the role, the page being served and the app: built once per combination (every page
# shows it; building it means a permission test and a URL per entry). Labels stay lazy: they are translated when
# the page renders them, in the reader's language.
_MENUS: dict[tuple[Any, ...], list[dict[str, Any]]] = {}


def navigation() -> list[dict[str, Any]]:
    """Return the entries for the current user, marking the active one."""
    if not getattr(current_user, "is_authenticated", False):
        return []
    key = (id(current_app), current_user.app_role, request.endpoint, request.blueprint, request.script_root)
    menu = _MENUS.get(key)
    if menu is None:
        menu = _MENUS[key] = _build(current_user.app_role)
    return menu


def _build(role: str) -> list[dict[str, Any]]:
    out = []
    for item in _ITEMS:  # every item names a real endpoint: url_for fails loudly on a typo
        if role in item.roles:
            out.append(
                {
                    "endpoint": item.endpoint,
                    "label": item.label,
                    "icon": item.icon,
                    "url": url_for(item.endpoint),
                    "active": False,
                }
            )
    active = _active_entry(out)
    if active is not None:
        active["active"] = True
    return out


def _active_entry(menu: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The one entry to highlight: the page's own entry, else the entry of its feature whose address is the
    longest start of the page's route (an exam's page lights "Exams", not also "Question banks")."""
    endpoint = request.endpoint or ""
    for entry in menu:
        if entry["endpoint"] == endpoint:
            return entry
    own = [e for e in menu if e["endpoint"].split(".")[0] == request.blueprint]
    if not own:
        return None
    rule = request.url_rule.rule if request.url_rule is not None else request.path
    prefix = [e for e in own if rule.startswith(e["url"].rstrip("/") + "/") or rule == e["url"]]
    return max(prefix, key=lambda e: len(e["url"])) if prefix else own[0]


_HOMES: dict[str, list[tuple[int, str]]] = {}


def home_for(role: str, endpoint: str, priority: int = 50) -> None:
    """Declare ``endpoint`` as a home page for ``role`` (the highest priority that exists wins)."""
    entries = [e for e in _HOMES.get(role, []) if e[1] != endpoint]
    entries.append((priority, endpoint))
    _HOMES[role] = sorted(entries, reverse=True)


def home_endpoint(role: str) -> str | None:
    """Return the home endpoint declared for ``role`` with the highest priority."""
    entries = _HOMES.get(role, [])
    return entries[0][1] if entries else None


_HOME_PAGES: dict[str, Any] = {}


def home_page(role: str, provider: Any) -> None:
    """Let ``role``'s home be ``core/home.html`` filled by ``provider()`` (a dict; None falls back to home_for)."""
    _HOME_PAGES[role] = provider


def home_page_for(role: str) -> Any:
    """The provider of ``role``'s home page content, if a feature registered one."""
    return _HOME_PAGES.get(role)
