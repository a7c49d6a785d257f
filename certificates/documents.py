"""Certificate PDFs kept in storage: built from the template and the certificate, regenerated when stale."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from certificates.models import Certificate, CertificateTemplate
from certificates.render import CertificateData, CertificateRenderer, CertificateTemplateData
from certificates.services import get_template, validity_end
from lms.core.db import db
from lms.core.pdf import cell_text
from lms.core.storage import StoredFile, delete_file, path_of, save_bytes

VERIFY_ENDPOINT = "certificates.verify_link"
PDF_PURPOSE = "certificate-pdf"


def _path_for(endpoint: str, **values: Any) -> str:
    """Return the path of ``endpoint`` with or without a request (jobs and the CLI have none)."""
    from lms.core.urls import path_for

    return path_for(endpoint, **values)


def external_url(endpoint: str, **values: Any) -> str:
    """Return an absolute URL: LMS_PUBLIC_URL, else a trusted request's host, never an untrusted Host header."""
    from lms.core.urls import external_url as _external_url

    return _external_url(endpoint, **values)


def verify_url(cert: Certificate) -> str:
    """Return the public verification URL that the certificate's QR code encodes."""
    return external_url(VERIFY_ENDPOINT, number=cert.number, code=cert.verification_code)


def template_data(tpl: CertificateTemplate) -> CertificateTemplateData:
    """Return the renderer's view of a template (issuer defaults to the enterprise's name)."""

    def image(file: StoredFile | None) -> str | None:
        return str(path_of(file.key)) if file is not None else None

    return CertificateTemplateData(
        title=tpl.title,
        subtitle=tpl.subtitle,
        primary_color=tpl.primary_color,
        accent_color=tpl.accent_color,
        wording=tpl.wording,
        issuer=tpl.issuer or "",
        logo_path=image(tpl.logo_file),
        seal_path=image(tpl.seal_file),
        signature_path=image(tpl.signature_file),
        landscape=tpl.landscape,
    )


def certificate_data(cert: Certificate, url: str | None = None) -> CertificateData:
    """Return what the PDF of ``cert`` says."""
    return CertificateData(
        number=cert.number,
        verification_code=cert.verification_code,
        verify_url=url or verify_url(cert),
        holder_name=cert.holder_name,
        employee_no=cert.employee_no,
        enterprise=cert.enterprise_name,
        course=cert.title,
        hours=cell_text(cert.hours),
        score=cell_text(cert.score) if cert.score is not None else None,
        issued_on=cert.issued_on,
        valid_until=cert.valid_until,
    )


def render_key(cert: Certificate, tpl: CertificateTemplate, url: str) -> str:
    """Return a fingerprint of everything the PDF shows; a different one means the PDF is stale."""
    parts = [
        tpl.id,
        tpl.version,
        cert.number,
        cert.verification_code,
        url,
        cert.holder_name,
        cert.employee_no,
        cert.enterprise_name,
        cert.title,
        cert.hours,
        cert.score,
        cert.issued_on,
        cert.valid_until,
    ]
    return hashlib.sha256("\x1f".join(cell_text(p) for p in parts).encode()).hexdigest()


class RendererCache:
    """One renderer per template version, so a bulk run loads the images and fonts once."""

    def __init__(self) -> None:
        self._renderers: dict[tuple[int, int], CertificateRenderer] = {}
        self._templates: dict[int, CertificateTemplate] = {}

    def template(self, enterprise_id: int) -> CertificateTemplate:
        if enterprise_id not in self._templates:
            self._templates[enterprise_id] = get_template(enterprise_id)
        return self._templates[enterprise_id]

    def renderer(self, tpl: CertificateTemplate) -> CertificateRenderer:
        key = (tpl.id, tpl.version)
        if key not in self._renderers:
            self._renderers[key] = CertificateRenderer(template_data(tpl))
        return self._renderers[key]


def pdf_is_current(cert: Certificate, tpl: CertificateTemplate | None = None) -> bool:
    """Whether the stored PDF still shows the certificate as it is and the template as it is."""
    if cert.pdf_file_id is None:
        return False
    tpl = tpl or get_template(cert.enterprise_id)
    return (
        cert.rendered_key == render_key(cert, tpl, verify_url(cert)) and path_of(cert.pdf_file.key).exists()
    )


def ensure_pdf(cert: Certificate, *, cache: RendererCache | None = None, force: bool = False) -> StoredFile:
    """Return the certificate's stored PDF, rendering it first when missing or stale."""
    cache = cache or RendererCache()
    tpl = cache.template(cert.enterprise_id)
    url = verify_url(cert)
    key = render_key(cert, tpl, url)
    old = cert.pdf_file
    if not force and old is not None and cert.rendered_key == key and path_of(old.key).exists():
        return old
    buf = io.BytesIO()
    cache.renderer(tpl).render(certificate_data(cert, url), buf)
    stored = save_bytes(
        buf.getvalue(),
        pdf_filename(cert),
        purpose=PDF_PURPOSE,
        enterprise_id=cert.enterprise_id,
        content_type="application/pdf",
    )
    cert.pdf_file = stored
    cert.template_version = tpl.version
    cert.rendered_key = key
    if old is not None:
        db.session.flush()
        delete_file(old)
    db.session.flush()
    return stored


def pdf_filename(cert: Certificate) -> str:
    """Return the file name a certificate's PDF is downloaded as."""
    return f"{cert.number}_{cert.holder_name}.pdf"


def preview_pdf(tpl: CertificateTemplate, enterprise_name: str) -> bytes:
    """Render a sample certificate with ``tpl`` (for the template editor)."""
    from certificates.numbering import clean_prefix

    prefix = clean_prefix(tpl.number_prefix or tpl.enterprise.code)
    sample = CertificateData(
        number=f"{prefix}-{dt.date.today().year}-000000",
        verification_code="SAMPLE0000PREVIEW000000000",
        verify_url=external_url("certificates.verify_form"),
        holder_name="张建国",
        employee_no="E10023",
        enterprise=enterprise_name,
        course="有限空间作业安全培训（样例）",
        hours="8",
        score="92",
        issued_on=dt.date.today(),
        valid_until=validity_end(dt.date.today(), 36),
    )
    buf = io.BytesIO()
    CertificateRenderer(template_data(tpl)).render(sample, buf)
    return buf.getvalue()


def write_zip(
    certs: Iterable[Certificate],
    out: Path,
    *,
    cache: RendererCache | None = None,
    on_each: Callable[[int], None] | None = None,
) -> int:
    """Write the PDFs of ``certs`` (rendered where stale) into one zip at ``out``; return how many."""
    cache = cache or RendererCache()
    n = 0
    used: set[str] = set()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for cert in certs:
            stored = ensure_pdf(cert, cache=cache)
            name = _zip_name(pdf_filename(cert), used)
            zf.write(path_of(stored.key), name)
            n += 1
            if on_each:
                on_each(n)
    return n


def _zip_name(name: str, used: set[str]) -> str:
    cleaned = "".join("_" if ch in '/\\:*?"<>|' or ord(ch) < 32 else ch for ch in name)
    candidate, i = cleaned, 1
    while candidate in used:
        i += 1
        candidate = cleaned.replace(".pdf", f"-{i}.pdf")
    used.add(candidate)
    return candidate
