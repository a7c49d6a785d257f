"""Text formats of imported questions (Moodle's html / moodle / markdown / plain), made safe for a page.

A question is stored either as plain text (shown escaped) or as sanitised HTML (``text_format`` "html"); markdown
is rendered to HTML on import, never shown as raw markup. Sanitising uses nh3 (ammonia), again when shown.
"""

from __future__ import annotations

import html
import re

import markdown as _markdown
import nh3

PLAIN, HTML = "plain", "html"
FORMAT_NAMES = ("html", "moodle", "markdown", "plain")
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?\s*>")
_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "samp", "small", "span",
    "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul",
}  # fmt: skip


def sanitize(text: str) -> str:
    """Return ``text`` as HTML safe to put in a page (no scripts, handlers, styles or foreign schemes)."""
    return nh3.clean(
        text or "",
        tags=_ALLOWED_TAGS,
        attributes={
            "a": {"href", "title"},
            "img": {"src", "alt", "title", "width", "height"},
            "*": {"class"},
        },
        url_schemes={"http", "https", "mailto", "data"},
        link_rel="noopener noreferrer",
    )


def looks_like_html(text: str) -> bool:
    return bool(_TAG.search(text or ""))


def to_html(text: str, fmt: str) -> str:
    """Return ``text`` of Moodle format ``fmt`` as sanitised HTML."""
    if fmt == "markdown":
        return sanitize(_markdown.markdown(text or "")).strip()
    if fmt == "html":
        return sanitize(text).strip()
    if fmt == "moodle":  # Moodle's auto-format: HTML allowed, line breaks kept
        return sanitize((text or "").replace("\n", "<br>\n")).strip()
    return html.escape(text or "", quote=False).replace("\n", "<br>\n")


def needs_html(text: str, fmt: str) -> bool:
    """Whether a text of this format must be stored as HTML to read as Moodle shows it."""
    if fmt in ("html", "markdown"):
        return True
    return fmt == "moodle" and looks_like_html(text)


def to_plain(text: str, fmt: str) -> str:
    """Plain text of a formatted text (for lists, duplicates and the xlsx export)."""
    if fmt == PLAIN:
        return text or ""
    if fmt == "markdown":
        text = _markdown.markdown(text or "")
    without = re.sub(r"<br\s*/?>", "\n", text or "")
    return html.unescape(nh3.clean(without, tags=set())).strip()
