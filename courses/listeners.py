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
