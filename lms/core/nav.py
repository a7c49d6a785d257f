"""The navigation registry: each feature adds its entries; the layout shows those the user may use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, request, url_for
from flask_babel.speaklater import LazyString
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup, escape


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: Any  # a lazy_gettext string
    roles: tuple[str, ...]
    order: int = 50
    icon: str = "•"


_ITEMS: list[NavItem] = []
_GENERATION = 0  # bumped by each registration


def nav_item(
    endpoint: str, label: Any, roles: tuple[str, ...] | list[str], order: int = 50, icon: str = "•"
) -> None:
    """Register a navigation entry (idempotent per endpoint)."""
    global _ITEMS
    _ITEMS = [i for i in _ITEMS if i.endpoint != endpoint]
    _ITEMS.append(NavItem(endpoint, label, tuple(roles), order, icon))
    _ITEMS.sort(key=lambda i: i.order)
    _MENUS.clear()
    global _GENERATION
    _GENERATION += 1  # the layout's cached parts show the menu: they are keyed by this too


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
                    # A label of its own kind (not a plain or lazy string) renders itself on each request
                    # (e.g. "Notices" with a count): the layout's cached menu leaves a hole for it.
                    "live": not isinstance(item.label, (str, LazyString)),
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


# ------------------------------------------------------------------------------------------ the layout's parts
#
# base.html, around every page, spends most of its time on what is the same for every reader of a page in one
# language: a dozen translated words, a dozen URLs (five of static files, with their content hash), the menu.
# ``{% call layout_part("name") %}...{% endcall %}`` renders its body once per ``_layout_key()`` and keeps the
# HTML; what differs between readers of the same page (CSRF token, name, counts) stays outside the parts. A part
# is kept per app and keyed by everything its body may read: the language, signed in or not, the role (which
# decides the menu), the enterprise, the page's endpoint, blueprint (whose catalogue wins) and route (the active
# entry), the script root (the URLs) and the menu registrations. A static file's URL in a part is checked on each
# use (one ``stat``, as ``url_for`` does): a changed file renders the part again with its new hash. A live object
# (``{% call(live) layout_part(...) %}`` ... ``{{ live(obj) }}``: a menu label with a count) is kept as the object
# and escaped again on each use (its ``__html__`` runs each time); a plain value is refused.

_HOLE = "\x00lms-layout-hole\x00"
_MAX_PARTS = 4096  # (languages x roles x enterprises x pages x parts): beyond this, start again


class _Part:
    __slots__ = ("pieces", "live", "static", "html")

    def __init__(self, pieces: list[str], live: list[Any], static: list[tuple[str, str | None]]) -> None:
        self.pieces = pieces
        self.live = live
        self.static = static
        self.html = Markup(pieces[0]) if not live else None

    def render(self) -> Markup:
        if self.html is not None:
            return self.html
        pieces = self.pieces
        out = [pieces[0]]
        for value, piece in zip(self.live, pieces[1:], strict=True):
            out.append(escape(value))  # as ``{{ value }}`` would: a live label counts again here
            out.append(piece)
        return Markup("".join(out))


def _layout_key(req: Any) -> tuple[Any, ...]:
    from flask_babel import get_locale

    user = current_user._get_current_object()  # type: ignore[attr-defined]
    signed_in = bool(getattr(user, "is_authenticated", False))
    rule = req.url_rule
    return (
        _GENERATION,
        str(get_locale()),
        signed_in,
        getattr(user, "app_role", None) if signed_in else None,
        getattr(user, "enterprise_id", None) if signed_in else None,
        req.endpoint,
        req.blueprint,
        rule.rule if rule is not None else None,
        req.script_root,
    )


@pass_context
def layout_part(context: Any, name: str, caller: Any) -> Markup:
    """The HTML of the call block ``name`` for this page's key (rendered once per key; see above)."""
    # The key once per render, kept on the template's context (not on the request: a request may render
    # another page in another language, e.g. under force_locale, or after signing someone in).
    key = getattr(context, "_lms_layout_key", None)
    if key is None:
        key = context._lms_layout_key = _layout_key(request._get_current_object())  # type: ignore[attr-defined]
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    parts = app.extensions.get("lms_layout_parts")
    if parts is None:
        parts = app.extensions["lms_layout_parts"] = {}
    part = parts.get((name, key))
    if part is not None and part.static:
        from lms.core.static import still_current

        if not still_current(app, part.static):
            part = None
    if part is None:
        if len(parts) >= _MAX_PARTS:
            parts.clear()
        part = parts[(name, key)] = _render_part(caller)
    return part.render()


def _render_part(caller: Any) -> _Part:
    from lms.core.static import recording_hashes

    live: list[Any] = []

    def hole(value: Any) -> Markup:
        # Only an object that renders itself anew each time (``__html__``): a plain value would be the first
        # reader's, shown to every later one.
        if isinstance(value, str) or not hasattr(value, "__html__"):
            raise TypeError(f"live() takes an object with __html__, not {type(value).__name__}")
        live.append(value)
        return Markup(_HOLE)

    with recording_hashes() as seen:
        html = str(caller(hole) if caller.arguments else caller())
    pieces = html.split(_HOLE)
    assert len(pieces) == len(live) + 1, "a live value's text holds the hole marker"
    return _Part(pieces, live, list(seen))


def language_links() -> list[tuple[str, str]]:
    """(href, label) of each language's switch, back to this page: ``url_for("auth.set_language", lang=code,
    next=request.path)``, built from each language's address kept per app and script root."""
    from urllib.parse import urlencode

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    root = request.script_root
    kept = app.extensions.get("lms_language_links")
    if kept is None or kept[0] != root:
        kept = app.extensions["lms_language_links"] = (
            root,
            [
                (url_for("auth.set_language", lang=code), label)
                for code, label in app.config["LANGUAGES"].items()
            ],
        )
    # werkzeug's query encoding (werkzeug.urls._urlencode): the characters it leaves as they are
    query = "?" + urlencode([("next", request.path)], safe="!$'()*,/:;?@")
    return [(base + query, label) for base, label in kept[1]]


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
