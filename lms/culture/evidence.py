"""Evidence files of scores and notices: images or PDFs, checked by their content, never by their name."""

from __future__ import annotations

from typing import BinaryIO

from lms.core.errors import DomainError
from lms.core.i18n import msg
from lms.core.storage import StoredFile, save_stream
from lms.org.models import User

MAX_EVIDENCE_BYTES = 20 * 1024 * 1024


_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def sniff_type(head: bytes) -> str | None:
    """Return the content type of an image or PDF from its first bytes, or None."""
    for sig, ctype in _SIGNATURES:
        if head.startswith(sig):
            return ctype
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def save_evidence(
    stream: BinaryIO,
    filename: str,
    *,
    enterprise_id: int,
    actor: User | None,
    purpose: str = "culture-evidence",
) -> StoredFile:
    """Store an uploaded image or PDF, refusing anything else whatever its name claims."""
    head = stream.read(16)
    ctype = sniff_type(head)
    if ctype is None:
        raise DomainError(
            msg("%(file)s: only images (JPEG, PNG, GIF, WebP) or PDF files are accepted", file=filename),
            field="file",
        )
    stream.seek(0)
    return save_stream(
        stream,
        filename,
        purpose=purpose,
        enterprise_id=enterprise_id,
        uploaded_by_id=actor.id if actor else None,
        max_bytes=MAX_EVIDENCE_BYTES,
        content_type=ctype,
    )
