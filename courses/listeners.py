"""Signal listeners: a passed exam completes the exam lessons that link it."""

from __future__ import annotations

from typing import Any

from lms.core import signals


@signals.exam_passed.connect
def _on_exam_passed(sender: Any, person: Any = None, exam: Any = None, **_kwargs: Any) -> None:
    from .services import complete_exam_lessons

    if person is None or exam is None:
        return
    exam_id = exam if isinstance(exam, int) else getattr(exam, "id", None)
    if exam_id is None:
        return
    when = getattr(sender, "submitted_at", None) or getattr(sender, "finished_at", None)
    complete_exam_lessons(person.id if hasattr(person, "id") else int(person), int(exam_id), when=when)


@signals.jobs_swept.connect
def _on_jobs_swept(sender: Any, job_ids: list[int] | None = None, **_kwargs: Any) -> None:
    """A transcode whose worker died must not stay "processing" forever: fail it, with a retry button."""
    from sqlalchemy import update

    from lms.core.db import db

    from .models import VideoAsset

    if not job_ids:
        return
    db.session.execute(
        update(VideoAsset)
        .where(VideoAsset.job_id.in_(job_ids), VideoAsset.status.in_(("queued", "processing")))
        .values(status="failed", error="The transcoding worker stopped before finishing. Press retry.")
    )
