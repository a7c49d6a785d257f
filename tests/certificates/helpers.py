"""Helpers for the certificate tests: achievements sent as signals without the courses package."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pypdf
import pypdfium2 as pdfium
import zxingcpp

from lms.core import signals
from lms.ledger import services as ledger

NUMBER_RE = re.compile(r"^[A-Z0-9]+-\d{4}-\d{6}$")


def course(course_id: int = 9001, title: str = "有限空间作业安全培训", issue: bool = True, **kw: Any) -> Any:
    return SimpleNamespace(id=course_id, title=title, issue_certificate=issue, hours=Decimal("8"), **kw)


def complete_course(
    person: Any, crs: Any, *, hours: Any = 8, score: Any = None, completed_at: dt.datetime | None = None
) -> Any:
    """Record a course completion in the ledger and send ``course_completed`` as the courses package does."""
    result = ledger.record(
        person,
        kind="course",
        topic=crs.title,
        source=f"course_enrolment:{crs.id}:{person.id}",
        hours=hours,
        score=score,
        course_id=crs.id,
        completed_at=completed_at or dt.datetime(2026, 3, 5, 2, 0),
    )
    signals.course_completed.send(SimpleNamespace(id=1), person=person, course=crs, record=result.record)
    return result.record


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_text(data: bytes) -> str:
    return squash(pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text())


def decode_qr(data: bytes) -> list[str]:
    doc = pdfium.PdfDocument(data)
    try:
        image = doc[0].render(scale=3).to_pil()
    finally:
        doc.close()
    return [b.text for b in zxingcpp.read_barcodes(image)]
