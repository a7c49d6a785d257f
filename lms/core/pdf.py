"""Shared reportlab helpers: a Chinese font, paragraph styles and a plain paginated table document."""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape as _xml_escape

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.pagesizes import landscape as _landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer

log = logging.getLogger(__name__)

# ASCII85 stream encoding (reportlab's default) makes PDFs a quarter larger and, without reportlab's optional C
# accelerator, was most of the time spent rendering a certificate. Binary streams are what every viewer reads.
rl_config.useA85 = 0

CID_FONT = "STSong-Light"
EMBEDDED_FONT = "LMS-CJK"
MONO_FONT = "Courier"

# A cell longer than this is cut: one cell must never outgrow a page, and nobody reads 4 000 characters in a grid.
MAX_CELL_CHARS = 2000

_lock = threading.Lock()
# LMS_PDF_FONT value -> registered font name, so a changed setting (tests, reconfiguration) is honoured.
_registered: dict[str, str] = {}
_embedded_count = 0
_system_font_name: str | None = None  # "" once looked for and none found

PathOrStream = str | os.PathLike[str] | IO[bytes]


# Chinese fonts with TrueType outlines (reportlab cannot embed CFF-outline fonts such as Noto Sans CJK), in the
# order preferred; the Debian packages are fonts-arphic-uming, fonts-wqy-zenhei, fonts-wqy-microhei and
# fonts-droid-fallback. An embedded font shows in every viewer, where STSong-Light relies on the viewer
# having a Chinese font of its own (pdfium without one, as in a bare container, shows blanks).
SYSTEM_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "C:/Windows/Fonts/simsun.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)


def _register_embedded(spec: str) -> str | None:
    """Register the TTF/TTC named by ``spec`` ("path" or "path#index") for embedding; None if unusable."""
    global _embedded_count
    path, _, index = spec.partition("#")
    sub = int(index) if index.isdigit() else 0
    if not Path(path).is_file():
        log.warning("PDF font %r is not a file; trying the next choice", path)
        return None
    # A new name per file, so a changed LMS_PDF_FONT never rebinds a name already in use.
    name = EMBEDDED_FONT if not _embedded_count else f"{EMBEDDED_FONT}-{_embedded_count + 1}"
    try:
        pdfmetrics.registerFont(TTFont(name, path, subfontIndex=sub))
    except Exception as exc:  # reportlab refuses CFF-outline OTF/TTC and broken files
        log.warning("PDF font %r cannot be embedded (%s); trying the next choice", path, exc)
        return None
    _embedded_count += 1
    pdfmetrics.registerFontFamily(name, normal=name, bold=name, italic=name, boldItalic=name)
    return name


def _system_font() -> str | None:
    """Return the registered name of the first usable known system Chinese font (looked for once)."""
    global _system_font_name
    if _system_font_name is None:
        found = next(
            (n for p in SYSTEM_FONT_CANDIDATES if Path(p).is_file() and (n := _register_embedded(p))), ""
        )
        _system_font_name = found
    return _system_font_name or None


def register_cjk_fonts() -> str:
    """Register the Chinese font and return its name.

    The choice, first usable wins: LMS_PDF_FONT (a TTF/TTC path, "path#index" for a face of a collection,
    embedded as LMS-CJK; the value "STSong-Light" forces the CID font), a known system Chinese TrueType
    font (embedded too), reportlab's built-in CID font STSong-Light (not embedded: the viewer supplies the
    glyphs; its text still extracts, as it is encoded as Unicode).
    """
    spec = (os.environ.get("LMS_PDF_FONT") or "").strip()
    with _lock:
        if spec in _registered:
            return _registered[spec]
        if CID_FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
            # A family lets <b>/<i> in our own markup resolve (to the same face) instead of raising.
            pdfmetrics.registerFontFamily(
                CID_FONT, normal=CID_FONT, bold=CID_FONT, italic=CID_FONT, boldItalic=CID_FONT
            )
        if spec == CID_FONT:
            name = CID_FONT
        else:
            name = (spec and _register_embedded(spec)) or _system_font() or CID_FONT
        _registered[spec] = name
        return name


def cjk_font_name() -> str:
    """Return the name of the Chinese font, registering it first if needed."""
    return register_cjk_fonts()


def escape(value: Any) -> str:
    """Return ``value`` as text safe inside Paragraph markup (``<``, ``>``, ``&`` and quotes escaped)."""
    return _xml_escape(cell_text(value), {'"': "&quot;", "'": "&#39;"})


def cell_text(value: Any) -> str:
    """Return the plain text shown for a value: None → "", dates as ISO, Decimal/float without noise."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):  # stored UTC (naive): printed in the current enterprise's local time
        from lms.core.timeutil import to_local

        local = to_local(value) if value.tzinfo is None else value
        return local.strftime("%Y-%m-%d %H:%M")  # type: ignore[union-attr]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    text = str(value)
    # Control characters (other than line breaks and tabs) would end up as boxes or break the parser.
    return "".join(ch for ch in text if ch >= " " or ch in "\n\t")


def paragraph_styles() -> dict[str, ParagraphStyle]:
    """Return fresh ParagraphStyles in the Chinese font: title, heading, body, small, cell, cell_header."""
    font = cjk_font_name()

    def style(name: str, size: float, leading: float, **kw: Any) -> ParagraphStyle:
        return ParagraphStyle(name, fontName=font, fontSize=size, leading=leading, wordWrap="CJK", **kw)

    return {
        "title": style("title", 20, 26, alignment=TA_CENTER, spaceAfter=4),
        "heading": style("heading", 14, 19, spaceBefore=6, spaceAfter=4),
        "body": style("body", 10.5, 15),
        "small": style("small", 8, 11, textColor=colors.HexColor("#555555")),
        "subtitle": style("subtitle", 10, 14, alignment=TA_CENTER, textColor=colors.HexColor("#555555")),
        "cell": style("cell", 9, 12),
        "cell_header": style("cell_header", 9, 12, textColor=colors.white),
    }


def text_paragraph(text: Any, style: ParagraphStyle) -> Paragraph:
    """Return a Paragraph showing ``text`` literally (escaped; line breaks kept)."""
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _display_width(text: str) -> int:
    # CJK and full-width characters take about two Latin widths.
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _auto_col_widths(headers: Sequence[str], rows: Sequence[Sequence[Any]], total: float) -> list[float]:
    """Split ``total`` between columns by how wide their content is, within sensible bounds."""
    n = len(headers)
    weights = []
    sample = rows[:300]
    for i in range(n):
        widths = [_display_width(cell_text(headers[i]))]
        widths += [_display_width(cell_text(r[i]) if i < len(r) else "") for r in sample]
        widths.sort()
        # The 90th percentile, so one freak cell does not steal the page; clamped to 4..40 Latin widths.
        typical = widths[min(len(widths) - 1, int(len(widths) * 0.9))]
        weights.append(min(max(typical, 4), 40))
    scale = total / sum(weights)
    return [w * scale for w in weights]


class _NumberedCanvas(rl_canvas.Canvas):
    """Canvas that holds pages back until the end so each can say "第 n 页 / 共 m 页"."""

    footer_text: str | None = None
    font_name: str = CID_FONT

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._saved_pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 - reportlab's name
        self._saved_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._saved_pages)
        for state in self._saved_pages:
            self.__dict__.update(state)
            self._draw_footer(total)
            super().showPage()
        super().save()

    def _draw_footer(self, total: int) -> None:
        width, _ = self._pagesize
        self.saveState()
        self.setFont(self.font_name, 8)
        self.setFillColor(colors.HexColor("#666666"))
        self.drawCentredString(width / 2, 10 * mm, f"第 {self._pageNumber} 页 / 共 {total} 页")
        if self.footer_text:
            self.drawString(15 * mm, 10 * mm, self.footer_text)
        self.restoreState()


def _output(out: PathOrStream) -> Any:
    return os.fspath(out) if isinstance(out, str | os.PathLike) else out


def simple_table_pdf(
    out: PathOrStream,
    title: str,
    subtitle: str | None,
    headers: list[str],
    rows: list[list[Any]],
    *,
    landscape: bool = False,
    col_widths: list[float] | None = None,
    footer: str | None = None,
    author: str | None = None,
) -> None:
    """Write a paginated table (header row repeated, grid, page numbers) to a path or binary stream."""
    font = cjk_font_name()
    styles = paragraph_styles()
    pagesize = _landscape(A4) if landscape else A4
    margin = 15 * mm
    doc = SimpleDocTemplate(
        _output(out),
        pagesize=pagesize,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin + 5 * mm,
        title=cell_text(title),
        author=cell_text(author or ""),
        creator="safety-lms",
    )
    n = len(headers)
    if col_widths is None:
        col_widths = _auto_col_widths(headers, rows, doc.width)
    elif len(col_widths) != n:
        raise ValueError(f"col_widths has {len(col_widths)} entries for {n} columns")

    def cell(value: Any) -> Paragraph:
        text = cell_text(value)
        if len(text) > MAX_CELL_CHARS:
            text = text[:MAX_CELL_CHARS] + "…"
        return text_paragraph(text, styles["cell"])

    data: list[list[Any]] = [[text_paragraph(h, styles["cell_header"]) for h in headers]]
    for row in rows:
        values = list(row)[:n] + [None] * (n - len(row))
        data.append([cell(v) for v in values])
    if not rows:
        data.append([text_paragraph("（无数据）", styles["cell"])] + [""] * (n - 1))

    table = LongTable(data, colWidths=col_widths, repeatRows=1, splitInRow=1, hAlign="LEFT")
    commands: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#999999")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1f4e79")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f3f6fa")]),
    ]
    if not rows:
        commands.append(("SPAN", (0, 1), (-1, 1)))
    table.setStyle(commands)

    story: list[Any] = [text_paragraph(title, styles["title"])]
    if subtitle:
        story.append(text_paragraph(subtitle, styles["subtitle"]))
    story += [Spacer(1, 4 * mm), table]

    canvas_class = type(
        "_TableCanvas", (_NumberedCanvas,), {"footer_text": cell_text(footer) or None, "font_name": font}
    )
    doc.build(story, canvasmaker=canvas_class)
