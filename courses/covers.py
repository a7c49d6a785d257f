"""Course covers: an uploaded image checked by its content (Pillow), or one drawn for the course (its initials on
its category's colour); and the figures a course card shows (duration, lessons, the learner's progress)."""

from __future__ import annotations

import io
import math
import zlib
from typing import Any, BinaryIO
from xml.sax.saxutils import escape

from flask import Response, abort, url_for
from sqlalchemy import func, select

from lms.core.db import db
from lms.core.errors import DomainError
from lms.core.permissions import roles
from lms.org.access import EVERYONE_IN_ENTERPRISE, acting_enterprise_id

from . import bp
from . import progress as prog
from .i18n import _
from .models import Course, Lesson

MAX_COVER_BYTES = 10 * 1024 * 1024
MAX_COVER_PIXELS = (
    40_000_000  # a 16:9 picture of about 8400 × 4700: more is a decompression bomb, not a cover
)
COVER_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
# Calm colours that carry white text (one per category, chosen by a stable hash of its name).
PALETTE = ("#1f5f99", "#2e7d32", "#c75b12", "#6a1b9a", "#00838f", "#ad1457", "#4e5d6c", "#8d6e00")


def checked_cover(stream: BinaryIO, filename: str) -> tuple[bytes, str]:
    """Read an uploaded cover and check that it is an image by its content; return its bytes and extension."""
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415 - only uploads need Pillow

    data = stream.read(MAX_COVER_BYTES + 1)
    refused = DomainError(_("The cover must be an image (JPG, PNG, WebP or GIF)."), field="cover")
    if not data or len(data) > MAX_COVER_BYTES:
        raise refused
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format
            width, height = img.size
            img.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise refused from None
    if fmt not in COVER_FORMATS or width < 1 or height < 1 or width * height > MAX_COVER_PIXELS:
        raise refused
    return data, COVER_FORMATS[fmt]


def _initials(title: str) -> str:
    """Two characters that stand for the title: 有限空间作业 → 有限; Confined space entry → CS."""
    text = "".join(ch for ch in (title or "") if ch.isalnum() or ch.isspace()).strip()
    if not text:
        return "?"
    if text[0].isascii():
        words = [w for w in text.split() if w]
        letters = "".join(w[0] for w in words[:2]) if len(words) > 1 else words[0][:2]
        return letters.upper()
    return "".join(ch for ch in text if not ch.isspace())[:2]


def colour(category: str | None) -> str:
    return PALETTE[zlib.crc32((category or "").encode("utf-8")) % len(PALETTE)]


def cover_svg(course: Course) -> str:
    """A 16:9 SVG cover: the course's initials on its category's colour, the category below."""
    bg = colour(course.category)
    initials = escape(_initials(course.title))
    category = escape((course.category or "")[:16])
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 360" width="640" height="360">'
        f'<rect width="640" height="360" fill="{bg}"/>'
        '<circle cx="560" cy="60" r="140" fill="#fff" fill-opacity=".08"/>'
        '<circle cx="70" cy="330" r="110" fill="#fff" fill-opacity=".06"/>'
        '<text x="320" y="200" text-anchor="middle" font-size="128" font-weight="700" fill="#fff" '
        f'font-family="Noto Sans CJK SC, PingFang SC, Microsoft YaHei, sans-serif">{initials}</text>'
        '<text x="320" y="290" text-anchor="middle" font-size="30" fill="#fff" fill-opacity=".85" '
        f'font-family="Noto Sans CJK SC, PingFang SC, Microsoft YaHei, sans-serif">{category}</text>'
        "</svg>"
    )


@bp.route("/<int:course_id>/cover.svg")
@roles(*EVERYONE_IN_ENTERPRISE)
def generated_cover(course_id: int) -> Response:
    course = db.session.get(Course, course_id)
    if course is None or course.enterprise_id not in (None, acting_enterprise_id()):
        abort(404)
    resp = Response(cover_svg(course), mimetype="image/svg+xml")
    resp.headers["Cache-Control"] = "private, max-age=3600"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return resp


def cover_url(course: Course) -> str:
    """The course's uploaded cover, or its drawn one."""
    if course.cover_id:
        return url_for("courses.cover", course_id=course.id)
    return url_for("courses.generated_cover", course_id=course.id)


def course_facts(courses: list[Course]) -> dict[int, dict[str, Any]]:
    """Per course: the video minutes and the number of lessons (one grouped query for a page of cards)."""
    ids = sorted({c.id for c in courses})
    if not ids:
        return {}
    rows = db.session.execute(
        select(Lesson.course_id, func.count(Lesson.id), func.coalesce(func.sum(Lesson.duration), 0.0))
        .where(Lesson.course_id.in_(ids))
        .group_by(Lesson.course_id)
    ).all()
    found = {cid: {"lessons": int(n), "minutes": math.ceil(float(secs or 0) / 60)} for cid, n, secs in rows}
    return {cid: found.get(cid, {"lessons": 0, "minutes": 0}) for cid in ids}


def enrolment_fraction(enrolment: Any) -> float:
    return prog.enrolment_fraction(enrolment) if enrolment is not None else 0.0


@bp.app_template_global("course_cover_url")
def _cover_url_global(course: Course) -> str:
    return cover_url(course)


@bp.app_template_global("course_facts")
def _facts_global(courses: Any) -> dict[int, dict[str, Any]]:
    return course_facts(list(courses))


@bp.app_template_global("enrolment_fraction")
def _fraction_global(enrolment: Any) -> float:
    return enrolment_fraction(enrolment)
