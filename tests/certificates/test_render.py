"""Certificate PDFs and the shared table PDF: read back with pypdf, QR decoded from a pdfium rendering."""

from __future__ import annotations

import datetime as dt
import io
import re
import time
from dataclasses import replace
from pathlib import Path

import pypdf
import pypdfium2 as pdfium
import pytest
import reportlab
import zxingcpp
from PIL import Image, ImageDraw

from certificates.render import (
    CertificateData,
    CertificateRenderer,
    CertificateTemplateData,
    group_code,
    qr_payload,
    render_certificate,
)
from lms.core import pdf as core_pdf
from lms.core.pdf import CID_FONT, simple_table_pdf

A4_LANDSCAPE = (842, 595)


def make_cert(i: int = 123, **kw) -> CertificateData:
    values = dict(
        number=f"GA-2026-{i:06d}",
        verification_code="7F3KQ9ZD2MXA8WPL4RTC",
        verify_url=f"https://lms.example.cn/verify/7F3KQ9ZD2MXA8WPL4RTC{i}",
        holder_name="张建国",
        employee_no="E10023",
        enterprise="华东化工集团有限公司",
        course="有限空间作业安全培训",
        hours="8",
        score="92",
        issued_on=dt.date(2026, 3, 5),
        valid_until=dt.date(2029, 3, 4),
    )
    values.update(kw)
    return CertificateData(**values)


def squash(text: str) -> str:
    """Return text without whitespace: the wording paragraph may wrap a value across lines."""
    return re.sub(r"\s+", "", text)


def page_text(source, page: int = 0) -> str:
    reader = pypdf.PdfReader(source)
    return reader.pages[page].extract_text()


@pytest.fixture
def images(tmp_path: Path) -> dict[str, Path]:
    """A JPEG logo, a transparent PNG seal and signature, and two files that are not images."""
    logo = Image.new("RGB", (400, 160), (30, 80, 120))
    logo.save(tmp_path / "logo.jpg", quality=85)
    seal = Image.new("RGBA", (900, 900), (0, 0, 0, 0))  # larger than its box: resampled once
    ImageDraw.Draw(seal).ellipse((30, 30, 870, 870), outline=(220, 0, 0, 200), width=40)
    seal.save(tmp_path / "seal.png")
    sig = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
    ImageDraw.Draw(sig).line([(10, 80), (100, 20), (200, 70), (290, 30)], fill=(0, 0, 0, 255), width=4)
    sig.save(tmp_path / "sig.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 10)
    (tmp_path / "text.jpg").write_text("hello")
    return {
        "logo": tmp_path / "logo.jpg",
        "seal": tmp_path / "seal.png",
        "sig": tmp_path / "sig.png",
        "broken": tmp_path / "broken.png",
        "text": tmp_path / "text.jpg",
    }


@pytest.fixture
def template(images) -> CertificateTemplateData:
    return CertificateTemplateData(
        issuer="华东化工集团有限公司",
        logo_path=str(images["logo"]),
        seal_path=str(images["seal"]),
        signature_path=str(images["sig"]),
    )


def decode_qr(source, page: int = 0) -> list[str]:
    doc = pdfium.PdfDocument(source)
    try:
        image = doc[page].render(scale=3).to_pil()
    finally:
        doc.close()
    return [b.text for b in zxingcpp.read_barcodes(image)]


# -- one certificate ---------------------------------------------------------------------------------


def test_certificate_text_extractable_and_a4_landscape(tmp_path, template):
    out = tmp_path / "c.pdf"
    render_certificate(make_cert(), template, out)

    reader = pypdf.PdfReader(out)
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == A4_LANDSCAPE
    text = squash(reader.pages[0].extract_text())
    for expected in ("张建国", "GA-2026-000123", "有限空间作业安全培训", "培训合格证书", "E10023"):
        assert expected in text
    for expected in ("2026年3月5日", "2029年3月4日", "8学时", "92", "华东化工集团有限公司", "扫码验证"):
        assert expected in text
    assert "7F3KQ9ZD2MXA8WPL4RTC" in text  # printed in groups of four
    assert reader.metadata.title == "培训合格证书 GA-2026-000123"
    assert reader.metadata.author == "华东化工集团有限公司"


def test_chinese_extracts_with_the_cid_font(tmp_path, monkeypatch, template):
    """STSong-Light (never embedded) still gives back its Chinese text: it is encoded as Unicode."""
    monkeypatch.setenv("LMS_PDF_FONT", CID_FONT)
    out = io.BytesIO()
    render_certificate(make_cert(), template, out)
    raw = out.getvalue()
    assert b"/STSong-Light" in raw
    assert "张建国" in squash(page_text(io.BytesIO(raw)))


def test_qr_decodes_to_verify_url(tmp_path, template):
    cert = make_cert()
    out = tmp_path / "c.pdf"
    render_certificate(cert, template, out)
    assert qr_payload(cert) == cert.verify_url
    assert decode_qr(str(out)) == [cert.verify_url]


def test_portrait_template_and_long_values(tmp_path, template):
    cert = make_cert(
        verify_url="https://training.example-enterprise.cn/certificates/verify?code=" + "Z" * 64,
        verification_code="AB12" * 12,
        course="危险化学品生产单位主要负责人及安全生产管理人员安全生产知识和管理能力考核培训" * 3,
        holder_name="阿卜杜热合曼·买买提明·艾尔肯" * 3,
        valid_until=None,
        score=None,
    )
    out = tmp_path / "p.pdf"
    render_certificate(cert, replace(template, landscape=False), out)
    reader = pypdf.PdfReader(out)
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == A4_LANDSCAPE[::-1]
    text = squash(reader.pages[0].extract_text())
    assert "长期有效" in text
    assert "合格" in text
    assert ("AB12" * 12) in text
    assert decode_qr(str(out)) == [cert.verify_url]


def test_markup_in_user_text_renders_literally(tmp_path):
    cert = make_cert(
        holder_name="<b>x</b>&amp;", course="<script>alert(1)</script> & <font size=40>", hours="8"
    )
    tmpl = CertificateTemplateData(
        issuer="A&B <i>公司</i>",
        wording="{name} 完成 {course}，{unknown} {name.__class__} {0} } {",
        title="<证书>",
    )
    out = tmp_path / "x.pdf"
    render_certificate(cert, tmpl, out)
    text = squash(page_text(out))
    assert squash("<b>x</b>&amp;") in text
    assert squash("<script>alert(1)</script> & <font size=40>") in text
    assert squash("A&B <i>公司</i>") in text
    assert "<证书>" in text
    # Unknown placeholders stay visible; attribute lookups are never evaluated.
    assert "{unknown}" in text and "{name.__class__}" in text and "{0}" in text


def test_missing_or_broken_images_are_skipped(tmp_path, images):
    cert = make_cert()
    for bad in (
        tmp_path / "nope.png",
        images["broken"],
        images["text"],
        tmp_path,
        "http://example.com/x.png",
    ):
        tmpl = CertificateTemplateData(logo_path=str(bad), seal_path=str(bad), signature_path=str(bad))
        renderer = CertificateRenderer(tmpl)
        assert renderer.logo is None and renderer.seal is None and renderer.signature is None
        out = io.BytesIO()
        renderer.render(cert, out)
        assert "张建国" in squash(page_text(out))


def test_images_are_embedded_with_transparency(tmp_path, template):
    out = io.BytesIO()
    CertificateRenderer(template).render(make_cert(), out)
    raw = out.getvalue()
    # The logo, the seal and the signature, and a soft mask each for the two transparent PNGs.
    assert raw.count(b"/Subtype /Image") == 5
    assert raw.count(b"/SMask") == 2
    assert b"/DCTDecode" in raw  # the JPEG logo goes in as it is


def test_group_code():
    assert group_code("7F3KQ9ZD2MXA8WPL4RTC") == "7F3K Q9ZD 2MXA 8WPL 4RTC"
    assert group_code("AB12CD") == "AB12CD"
    assert group_code("AB-12-CD-34-EF") == "AB-12-CD-34-EF"


# -- many certificates -------------------------------------------------------------------------------


def test_render_many_is_readable_and_faster(tmp_path, template):
    certs = [make_cert(i, holder_name=f"张建国{i}") for i in range(50)]
    progress: list[tuple[int, int | None]] = []

    t0 = time.perf_counter()
    for cert in certs:
        render_certificate(cert, template, tmp_path / f"single-{cert.number}.pdf")
    t1 = time.perf_counter()
    renderer = CertificateRenderer(template)
    paths = renderer.render_many(certs, tmp_path / "bulk", on_progress=lambda d, t: progress.append((d, t)))
    t2 = time.perf_counter()
    batch = tmp_path / "batch.pdf"
    assert renderer.render_batch(certs, batch) == 50
    t3 = time.perf_counter()
    print(
        f"\nper certificate: separately {(t1 - t0) / 50 * 1000:.1f} ms, "
        f"render_many {(t2 - t1) / 50 * 1000:.1f} ms, render_batch {(t3 - t2) / 50 * 1000:.1f} ms/page"
    )

    assert [p.name for p in paths] == [f"{c.number}.pdf" for c in certs]
    assert progress[-1] == (50, 50) and len(progress) == 50
    assert not list((tmp_path / "bulk").glob("*.part"))
    for cert, path in zip(certs, paths, strict=True):
        text = squash(page_text(path))
        assert cert.number in text and cert.holder_name in text
    assert decode_qr(str(paths[7])) == [certs[7].verify_url]

    reader = pypdf.PdfReader(batch)
    assert len(reader.pages) == 50
    assert certs[42].number in reader.pages[42].extract_text()
    # The background is one form XObject shared by all pages, not drawn fifty times.
    assert batch.stat().st_size < 50 * paths[0].stat().st_size / 2
    assert decode_qr(str(batch), page=42) == [certs[42].verify_url]


def test_render_many_keeps_files_inside_the_folder(tmp_path):
    certs = [make_cert(number="../../etc/passwd"), make_cert(number="GA/2026\\7:*")]
    out = tmp_path / "out"
    paths = CertificateRenderer(CertificateTemplateData()).render_many(iter(certs), out)
    assert all(p.parent == out for p in paths)
    assert all(p.is_file() for p in paths)


# -- fonts and the shared table PDF ------------------------------------------------------------------


def test_font_from_env_is_embedded(tmp_path, monkeypatch):
    ttf = Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"  # Latin only, but a real TTF to embed
    monkeypatch.setenv("LMS_PDF_FONT", str(ttf))
    name = core_pdf.register_cjk_fonts()
    assert name.startswith(core_pdf.EMBEDDED_FONT)
    assert core_pdf.register_cjk_fonts() == name  # idempotent
    out = tmp_path / "t.pdf"
    simple_table_pdf(out, "Roster", None, ["Name", "No"], [["Zhang Jianguo", "E1"]])
    assert b"/FontFile2" in out.read_bytes()
    assert "Zhang Jianguo" in page_text(out)

    monkeypatch.setenv("LMS_PDF_FONT", str(tmp_path / "missing.ttf"))
    assert core_pdf.register_cjk_fonts() != name  # falls back (system font or STSong-Light)


def test_simple_table_pdf_pages_header_and_escaping(tmp_path):
    headers = ["序号", "姓名", "工号", "培训课程", "学时", "备注"]
    rows = [
        [i + 1, f"张建国{i}", f"E{i:05d}", "有限空间作业安全培训" * (4 if i % 10 == 0 else 1), 2.5, None]
        for i in range(200)
    ]
    rows[3][5] = "<script>alert(1)</script> & <b>粗</b>"
    out = tmp_path / "table.pdf"
    simple_table_pdf(
        out, "培训签到表", "2026年3月 有限空间", headers, rows, landscape=True, footer="华东化工 & 子公司"
    )

    reader = pypdf.PdfReader(out)
    n = len(reader.pages)
    assert n > 1
    texts = [p.extract_text() for p in reader.pages]
    for i, text in enumerate(texts, start=1):
        assert "培训课程" in text and "序号" in text  # header row repeated on every page
        assert f"第 {i} 页 / 共 {n} 页" in text
        assert "华东化工 & 子公司" in text
    everything = squash("".join(texts))
    assert "张建国0" in everything and "张建国199" in everything
    assert squash("<script>alert(1)</script> & <b>粗</b>") in everything
    assert reader.metadata.title == "培训签到表"


def test_simple_table_pdf_to_stream_with_empty_rows_and_huge_cell():
    out = io.BytesIO()
    simple_table_pdf(out, "空表", None, ["a", "b"], [])
    assert "（无数据）" in page_text(io.BytesIO(out.getvalue()))

    out = io.BytesIO()
    simple_table_pdf(out, "长", None, ["a", "b"], [["长" * 10000, "x"], ["y"]], col_widths=[100, 100])
    assert len(pypdf.PdfReader(io.BytesIO(out.getvalue())).pages) >= 2


def test_image_fallback_path_gives_the_same_images(monkeypatch, template):
    """Without the XObject fast path (a future reportlab), Canvas.drawImage embeds the same images."""
    import certificates.render as render_module

    monkeypatch.setattr(render_module, "_FAST_IMAGES", False)
    out = io.BytesIO()
    CertificateRenderer(template).render(make_cert(), out)
    raw = out.getvalue()
    assert raw.count(b"/Subtype /Image") == 5
    assert raw.count(b"/SMask") == 2
