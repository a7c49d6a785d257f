"""Certificate PDFs: one A4 page per certificate, with a QR code that links to the public verify page.

Pure layout: no Flask and no database. The caller hands over plain data and a path or binary stream.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import itertools
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from PIL import Image, ImageOps
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.lib import colors
from reportlab.lib.boxstuff import aspectRatioFix
from reportlab.lib.enums import TA_JUSTIFY
from reportlab.lib.pagesizes import A4
from reportlab.lib.pagesizes import landscape as _landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.utils import ImageReader, _digester
from reportlab.pdfbase import pdfdoc
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

from lms.core.pdf import MONO_FONT, cell_text, cjk_font_name, escape

log = logging.getLogger(__name__)

PathOrStream = str | os.PathLike[str] | IO[bytes]

# Field values are capped so a hostile or mistaken value cannot push the wording over the details block.
_MAX_FIELD = {"course": 120}
_MAX_FIELD_DEFAULT = 60
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_BG_FORM = "LmsCertBackground"
_FG_FORM = "LmsCertForeground"
# The image fast path leans on Canvas internals that drawImage itself uses; if a reportlab release renames
# them, drawImage (slower, same output) takes over.
_FAST_IMAGES = all(hasattr(Canvas, a) for a in ("_setXObjects", "drawImage")) and all(
    hasattr(pdfdoc.PDFDocument, a) for a in ("getXObjectName", "Reference", "addForm")
)
# Images are resampled once to this resolution for their box: a 4000 px phone photo of a seal would
# otherwise be decoded and compressed again into every certificate.
_IMAGE_DPI = 300


@dataclass
class CertificateTemplateData:
    """How certificates of one template look (an enterprise may keep several)."""

    title: str = "培训合格证书"
    subtitle: str | None = "Certificate of Training"
    primary_color: str = "#1f4e79"
    accent_color: str = "#c9a227"
    wording: str = "{name}（工号 {employee_no}）于 {issued_on} 完成《{course}》培训，共 {hours} 学时，考核合格，特发此证。"
    issuer: str = ""  # enterprise name printed at the bottom; the certificate's enterprise when empty
    logo_path: str | None = None
    seal_path: str | None = None
    signature_path: str | None = None
    landscape: bool = True  # A4 landscape by default


@dataclass
class CertificateData:
    """What one certificate says."""

    number: str
    verification_code: str
    verify_url: str
    holder_name: str
    employee_no: str
    enterprise: str
    course: str
    hours: str
    score: str | None
    issued_on: dt.date
    valid_until: dt.date | None


def qr_payload(cert: CertificateData) -> str:
    """Return what the QR code encodes: the public verify URL."""
    return cert.verify_url


def chinese_date(value: dt.date | None) -> str:
    """Return a date as 2026年3月5日 (empty for None)."""
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


def group_code(code: str, size: int = 4) -> str:
    """Return a long verification code in groups of ``size`` ("A1B2 C3D4 …"); short or punctuated codes as is."""
    code = code.strip()
    if len(code) <= 2 * size or not code.isalnum():
        return code
    return " ".join(code[i : i + size] for i in range(0, len(code), size))


def _color(value: str | None, default: str) -> colors.Color:
    try:
        return colors.HexColor(value) if value else colors.HexColor(default)
    except (ValueError, TypeError):
        log.warning("certificate colour %r is not a colour; using %s", value, default)
        return colors.HexColor(default)


def _field(value: Any, key: str) -> str:
    text = cell_text(value).replace("\n", " ").strip()
    limit = _MAX_FIELD.get(key, _MAX_FIELD_DEFAULT)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fit_size(text: str, font: str, size: float, max_width: float, min_size: float = 6) -> float:
    while size > min_size and stringWidth(text, font, size) > max_width:
        size -= 0.5
    return size


def _is_ascii(text: str) -> bool:
    return all(ord(ch) < 128 for ch in text)


class _Picture:
    """An image checked and resampled once, ready to be drawn into any number of documents."""

    def __init__(self, reader: ImageReader, width: int, height: int):
        self.reader = reader
        self.width = width
        self.height = height
        self._xobject: pdfdoc.PDFImageXObject | None = None

    @classmethod
    def load(cls, path: str | None, box: tuple[float, float], role: str) -> _Picture | None:
        """Return the image at ``path`` fitted for ``box`` (pt), or None if there is no usable image there."""
        if not path:
            return None
        try:
            # is_file() also keeps URLs out: reportlab would happily fetch one.
            if not Path(path).is_file():
                log.info("certificate %s %r does not exist; skipped", role, path)
                return None
            with Image.open(path) as opened:
                opened.load()  # decode now: a truncated file fails here, not in the middle of a batch
                source_format = opened.format
                image = ImageOps.exif_transpose(opened)  # phone photos of a seal come rotated
            turned = image is not opened
            if image.mode not in ("RGB", "RGBA", "L", "LA"):
                alpha = "A" in image.mode or "transparency" in image.info
                image = image.convert("RGBA" if alpha else "RGB")
            max_px = (round(box[0] / 72 * _IMAGE_DPI), round(box[1] / 72 * _IMAGE_DPI))
            resized = image.width > max_px[0] or image.height > max_px[1]
            if resized:
                image = image.copy()
                image.thumbnail(max_px, Image.Resampling.LANCZOS)
            if image.mode in ("RGB", "L") and source_format == "JPEG":
                # JPEG goes into the PDF as it is (no decode, no recompression for every document).
                if resized or turned:
                    buf = io.BytesIO()
                    image.save(buf, "JPEG", quality=90)
                    buf.seek(0)
                    reader = ImageReader(buf)
                else:
                    reader = ImageReader(path)
            else:
                reader = ImageReader(image)
            reader.getRGBData()  # cached by the reader; drawImage needs it for the image's name anyway
        except (
            Exception
        ) as exc:  # PIL and reportlab raise many kinds for a bad file; a bad image never blocks
            log.warning("certificate %s %r is not a usable image (%s); skipped", role, path, exc)
            return None
        return cls(reader, image.width, image.height)

    def draw(self, c: Canvas, x: float, y: float, w: float, h: float, anchor: str = "c") -> None:
        """Draw the image fitted into the box, embedding it in this document the first time."""
        if not _FAST_IMAGES:
            c.drawImage(self.reader, x, y, w, h, mask="auto", preserveAspectRatio=True, anchor=anchor)
            return
        # What Canvas.drawImage does, except that the image XObject (pixels already compressed, soft mask
        # made) is built once per template and copied into each document: compressing a 300 dpi seal again
        # for every certificate was a third of the time of a bulk run.
        if self._xobject is None:
            name = _digester(self.reader.getRGBData() + b"auto")
            xobj = pdfdoc.PDFImageXObject(name, self.reader, mask="auto")
            xobj.name = name
            self._xobject = xobj
        xobj = self._xobject
        doc = c._doc
        reg_name = doc.getXObjectName(xobj.name)
        if reg_name not in doc.idToObject:
            obj = copy.copy(xobj)
            c._setXObjects(obj)
            doc.Reference(obj, reg_name)
            doc.addForm(xobj.name, obj)
            smask = getattr(xobj, "_smask", None)
            if smask is not None:
                del obj._smask
                mask_name = doc.getXObjectName(smask.name)
                if mask_name in doc.idToObject:
                    obj.smask = pdfdoc.PDFObjectReference(mask_name)
                else:
                    smask = copy.copy(smask)
                    c._setXObjects(smask)
                    obj.smask = doc.Reference(smask, mask_name)
        x, y, w, h, _ = aspectRatioFix(True, anchor, x, y, w, h, self.width, self.height)
        c._currentPageHasImages = 1
        c.saveState()
        c.translate(x, y)
        c.scale(w, h)
        c._code.append(f"/{reg_name} Do")
        c.restoreState()
        c._formsinuse.append(xobj.name)


class CertificateRenderer:
    """Renders certificates of one template; the static page is drawn once per document as a form XObject."""

    def __init__(self, template: CertificateTemplateData):
        self.template = template
        self.font = cjk_font_name()
        self.pagesize = _landscape(A4) if template.landscape else A4
        self.width, self.height = self.pagesize
        self.primary = _color(template.primary_color, "#1f4e79")
        self.accent = _color(template.accent_color, "#c9a227")
        self.margin = 78.0  # content starts inside the frame
        w, h = self.width, self.height
        # Boxes (x, y, width, height) shared by the static and the per-certificate parts.
        self.logo_box = (44.0, h - 44 - 52, 130.0, 52.0)
        self.qr_size = 104.0
        self.qr_box = (w - self.margin - self.qr_size + 8, 92.0, self.qr_size, self.qr_size)
        self.issuer_x = self.margin
        self.issuer_y = 108.0
        # The seal is stamped over the issuer's name and the date; the signature sits mid-bottom on a line.
        self.seal_box = (self.margin + 28, 44.0, 118.0, 118.0)
        self.signature_box = (w / 2 - 65, 86.0, 130.0, 44.0)
        self.details_top = 262.0
        self.title_y = h - (118 if template.landscape else 150)  # portrait: clear of the logo
        self.subtitle_y = self.title_y - 30
        self.wording_top = self.subtitle_y - 30
        self.logo = _Picture.load(template.logo_path, self.logo_box[2:], "logo")
        self.seal = _Picture.load(template.seal_path, self.seal_box[2:], "seal")
        self.signature = _Picture.load(template.signature_path, self.signature_box[2:], "signature")
        self.wording_template = cell_text(template.wording)

    # -- public ------------------------------------------------------------------------------------

    def render(self, cert: CertificateData, out: PathOrStream) -> None:
        """Write one certificate to a path or binary stream."""
        c = self._canvas(out, title=f"{cell_text(self.template.title)} {cell_text(cert.number)}")
        c.setSubject(_field(cert.course, "course"))
        if not cell_text(self.template.issuer).strip():
            c.setAuthor(_field(cert.enterprise, "enterprise"))
        self._page(c, cert)
        c.save()

    def render_batch(self, certs: Iterable[CertificateData], out: PathOrStream) -> int:
        """Write many certificates as the pages of one PDF (for printing); return the page count."""
        c = self._canvas(out, title=cell_text(self.template.title))
        pages = 0
        for cert in certs:
            self._page(c, cert)
            pages += 1
        if not pages:
            c.showPage()  # a PDF needs a page; an empty batch gives one blank page rather than a broken file
        c.save()
        return pages

    def render_many(
        self,
        certs: Iterable[CertificateData],
        out_dir: str | os.PathLike[str],
        name: Callable[[CertificateData], str] = lambda c: f"{c.number}.pdf",
        on_progress: Callable[[int, int | None], None] | None = None,
    ) -> list[Path]:
        """Write one PDF per certificate into ``out_dir``; return the paths in order.

        ``on_progress(done, total)`` is called after each file (total is None for an unsized iterable).
        Each file is written to a temporary name and renamed, so a reader never sees half a PDF.
        """
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        total = len(certs) if isinstance(certs, Sized) else None
        paths: list[Path] = []
        for done, cert in enumerate(certs, start=1):
            target = folder / _safe_filename(name(cert))
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".cert-", suffix=".pdf.part")
            try:
                with os.fdopen(fd, "wb") as fh:
                    self.render(cert, fh)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            paths.append(target)
            if on_progress:
                on_progress(done, total)
        return paths

    # -- document ----------------------------------------------------------------------------------

    def _canvas(self, out: PathOrStream, *, title: str) -> Canvas:
        target = os.fspath(out) if isinstance(out, str | os.PathLike) else out
        c = Canvas(target, pagesize=self.pagesize, pageCompression=1)
        c.setTitle(title)
        c.setAuthor(cell_text(self.template.issuer) or "")
        c.setCreator("safety-lms")
        self._define_forms(c)
        return c

    def _define_forms(self, c: Canvas) -> None:
        c.beginForm(_BG_FORM)
        self._draw_background(c)
        c.endForm()
        c.beginForm(_FG_FORM)
        self._draw_foreground(c)
        c.endForm()

    def _page(self, c: Canvas, cert: CertificateData) -> None:
        c.doForm(_BG_FORM)
        self._draw_wording(c, cert)
        self._draw_details(c, cert)
        self._draw_issuer(c, cert)
        self._draw_qr(c, cert)
        c.doForm(_FG_FORM)  # seal and signature go over the issuer's name, as a stamp would
        c.showPage()

    # -- static parts ------------------------------------------------------------------------------

    def _draw_background(self, c: Canvas) -> None:
        w, h, t = self.width, self.height, self.template
        c.setFillColor(colors.HexColor("#fffdf7"))
        c.rect(0, 0, w, h, stroke=0, fill=1)
        # Frame: a broad band in the primary colour, a fine accent line inside, accent corner marks.
        c.setStrokeColor(self.primary)
        c.setLineWidth(9)
        c.rect(18, 18, w - 36, h - 36, stroke=1, fill=0)
        c.setStrokeColor(self.accent)
        c.setLineWidth(1.6)
        c.rect(30, 30, w - 60, h - 60, stroke=1, fill=0)
        c.setLineWidth(0.5)
        c.rect(34, 34, w - 68, h - 68, stroke=1, fill=0)
        c.setFillColor(self.accent)
        for cx, cy in ((30, 30), (w - 30, 30), (30, h - 30), (w - 30, h - 30)):
            c.saveState()
            c.translate(cx, cy)
            c.rotate(45)
            c.rect(-5, -5, 10, 10, stroke=0, fill=1)
            c.restoreState()

        if self.logo:
            self.logo.draw(c, *self.logo_box, anchor="nw")

        title = cell_text(t.title).strip() or "培训合格证书"
        spacing = 8.0 if len(title) <= 10 else 2.0
        size = 34.0
        max_w = w - 2 * self.margin
        while size > 14 and stringWidth(title, self.font, size) + spacing * (len(title) - 1) > max_w:
            size -= 1
        title_w = stringWidth(title, self.font, size) + spacing * (len(title) - 1)
        c.saveState()  # character spacing and render mode are graphics state: keep them to the title
        text = c.beginText((w - title_w) / 2, self.title_y)
        text.setFont(self.font, size)
        text.setCharSpace(spacing)
        # The CID font has no bold face: fill and stroke the glyphs to give the title weight.
        text.setTextRenderMode(2)
        c.setLineWidth(0.7)
        c.setStrokeColor(self.primary)
        c.setFillColor(self.primary)
        text.textOut(title)
        c.drawText(text)
        c.restoreState()

        subtitle = cell_text(t.subtitle).strip() if t.subtitle else ""
        sub_y = self.subtitle_y
        if subtitle:
            font = "Times-Italic" if _is_ascii(subtitle) else self.font
            sub_size = _fit_size(subtitle, font, 15, max_w)
            c.setFillColor(colors.HexColor("#6b6b6b"))
            c.setFont(font, sub_size)
            c.drawCentredString(w / 2, sub_y, subtitle)
        c.setStrokeColor(self.accent)
        c.setLineWidth(1.2)
        c.line(w / 2 - 70, sub_y - 12, w / 2 + 70, sub_y - 12)

        if cell_text(t.issuer).strip():
            self._draw_issuer_name(c, cell_text(t.issuer).strip())

        c.setFillColor(colors.HexColor("#6b6b6b"))
        c.setFont(self.font, 8)
        qx, qy, qw, _ = self.qr_box
        c.drawCentredString(qx + qw / 2, qy - 11, "扫码验证 / Scan to verify")

        if self.signature:
            sx, sy, sw, _ = self.signature_box
            c.setStrokeColor(colors.HexColor("#888888"))
            c.setLineWidth(0.6)
            c.line(sx, sy - 2, sx + sw, sy - 2)
            c.setFont(self.font, 8)
            c.drawCentredString(sx + sw / 2, sy - 13, "签发人 / Authorized signature")

    def _draw_foreground(self, c: Canvas) -> None:
        if self.signature:
            self.signature.draw(c, *self.signature_box, anchor="s")
        if self.seal:
            self.seal.draw(c, *self.seal_box)

    def _draw_issuer_name(self, c: Canvas, issuer: str) -> None:
        right = self.signature_box[0] if self.signature else self.qr_box[0]
        max_w = right - self.issuer_x - 20
        label = "发证单位："
        size = _fit_size(label + issuer, self.font, 13, max_w, min_size=7)
        c.setFillColor(colors.HexColor("#222222"))
        c.setFont(self.font, size)
        c.drawString(self.issuer_x, self.issuer_y, label + issuer)

    # -- per certificate ---------------------------------------------------------------------------

    def _fields(self, cert: CertificateData) -> dict[str, str]:
        return {
            "name": _field(cert.holder_name, "name"),
            "employee_no": _field(cert.employee_no, "employee_no"),
            "enterprise": _field(cert.enterprise, "enterprise"),
            "course": _field(cert.course, "course"),
            "hours": _field(cert.hours, "hours"),
            "score": _field(cert.score, "score") if cert.score not in (None, "") else "合格",
            "issued_on": chinese_date(cert.issued_on),
            "valid_until": chinese_date(cert.valid_until) if cert.valid_until else "长期有效",
            "number": _field(cert.number, "number"),
        }

    def _wording_markup(self, cert: CertificateData) -> str:
        """Return the wording as Paragraph markup: template text and values escaped, values highlighted."""
        fields = self._fields(cert)
        accent = self.primary.hexval()[2:]
        parts: list[str] = []
        pos = 0
        for m in _PLACEHOLDER.finditer(self.wording_template):
            parts.append(escape(self.wording_template[pos : m.start()]))
            key = m.group(1)
            if key in fields:
                parts.append(f'<font color="#{accent}">{escape(fields[key])}</font>')
            else:  # an unknown placeholder stays visible, so the template's author sees the typo
                parts.append(escape(m.group(0)))
            pos = m.end()
        parts.append(escape(self.wording_template[pos:]))
        return "".join(parts)

    def _draw_wording(self, c: Canvas, cert: CertificateData) -> None:
        markup = self._wording_markup(cert)
        left = self.margin + 12
        avail_w = self.width - 2 * left
        top = self.wording_top
        bottom = self.details_top + 22
        avail_h = top - bottom
        size = 17.0
        while True:
            style = ParagraphStyle(
                "wording",
                fontName=self.font,
                fontSize=size,
                leading=size * 1.75,
                firstLineIndent=size * 2,
                alignment=TA_JUSTIFY,
                wordWrap="CJK",
                textColor=colors.HexColor("#222222"),
            )
            para = Paragraph(markup, style)
            _, used_h = para.wrap(avail_w, avail_h)
            if used_h <= avail_h or size <= 9:
                break
            size -= 1
        # Centre the paragraph vertically in its band; the band is taller in portrait.
        y = bottom + max(0.0, (avail_h - used_h) / 2)
        para.drawOn(c, left, y)

    def _draw_details(self, c: Canvas, cert: CertificateData) -> None:
        f = self._fields(cert)
        items = [
            ("证书编号", f["number"]),
            ("学　　时", f"{f['hours']} 学时" if f["hours"] else ""),
            ("发证日期", f["issued_on"]),
            ("成　　绩", f["score"]),
            ("有效期至", f["valid_until"]),
        ]
        left = self.margin + 12
        col_w = (self.qr_box[0] - left - 20) / 2
        size, leading = 11.5, 21.0
        for i, (label, value) in enumerate(items):
            x = left + (i % 2) * col_w
            y = self.details_top - (i // 2) * leading
            c.setFont(self.font, size)
            c.setFillColor(colors.HexColor("#6b6b6b"))
            c.drawString(x, y, f"{label}：")
            label_w = stringWidth(f"{label}：", self.font, size)
            value_size = _fit_size(value, self.font, size, col_w - label_w - 8)
            c.setFillColor(colors.HexColor("#222222"))
            c.setFont(self.font, value_size)
            c.drawString(x + label_w, y, value)

    def _draw_issuer(self, c: Canvas, cert: CertificateData) -> None:
        if not cell_text(self.template.issuer).strip():
            self._draw_issuer_name(c, _field(cert.enterprise, "enterprise"))
        c.setFont(self.font, 11)
        c.setFillColor(colors.HexColor("#222222"))
        c.drawString(self.issuer_x, self.issuer_y - 22, chinese_date(cert.issued_on))

    def _draw_qr(self, c: Canvas, cert: CertificateData) -> None:
        qx, qy, qw, qh = self.qr_box
        payload = qr_payload(cert)
        if payload:
            c.setFillColor(colors.white)
            c.rect(qx, qy, qw, qh, stroke=0, fill=1)  # the quiet zone must be white whatever the paper tint
            _draw_qr_modules(c, payload, qx, qy, qw)
        code = group_code(cell_text(cert.verification_code))
        if not code:
            return
        # Monospace, small, in as many lines as it needs (groups are never split).
        size = 7.5
        max_w = qw + 40
        lines: list[str] = []
        for word in code.split(" "):
            if lines and stringWidth(f"{lines[-1]} {word}", MONO_FONT, size) <= max_w:
                lines[-1] = f"{lines[-1]} {word}"
            else:
                lines.append(word)
        c.setFillColor(colors.HexColor("#333333"))
        y = qy - 22
        for line in lines[:4]:
            c.setFont(MONO_FONT, _fit_size(line, MONO_FONT, size, max_w, min_size=4))
            c.drawCentredString(qx + qw / 2, y, line)
            y -= size + 2


def _draw_qr_modules(c: Canvas, payload: str, x: float, y: float, size: float, border: int = 4) -> None:
    """Draw the QR code of ``payload`` (error correction M, ``border`` modules of quiet zone) as one path.

    reportlab's QrCodeWidget encodes; its own drawing (a Drawing of one validated Rect per run of dark
    modules, through renderPDF) took about 30 ms a code, so its module matrix is drawn here directly.
    """
    widget = QrCodeWidget(payload, barLevel="M", barWidth=size, barHeight=size, barBorder=border)
    qr = widget.qr
    qr.make()
    count = qr.getModuleCount()
    box = size / (count + 2 * border)
    path = c.beginPath()
    for r, row in enumerate(qr.modules):
        top = y + size - (r + border) * box
        col = 0
        for dark, run in itertools.groupby(bool(m) for m in row):
            n = sum(1 for _ in run)
            if dark:
                path.rect(x + (col + border) * box, top - box, n * box, box)
            col += n
    c.setFillColor(colors.black)
    c.drawPath(path, stroke=0, fill=1)


def _safe_filename(name: str) -> str:
    """Return ``name`` usable as one file name inside the output folder (no separators, no dot-dot)."""
    cleaned = re.sub(r'[\x00-\x1f/\\:*?"<>|]+', "_", name).strip(" .")
    return cleaned or "certificate.pdf"


def render_certificate(cert: CertificateData, template: CertificateTemplateData, out: PathOrStream) -> None:
    """Write one certificate PDF to a path or binary stream."""
    CertificateRenderer(template).render(cert, out)
