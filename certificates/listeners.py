"""Issue certificates when a course is completed, an exam passed or a requirement fulfilled.

The signals bring the course, exam or requirement; the listeners read them by attribute only
(``issue_certificate``, ``id``, ``title``), as the services do.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from certificates import services
from lms.core.db import db
from lms.core.signals import course_completed, exam_passed, requirement_fulfilled

log = logging.getLogger(__name__)


def _safely(what: str, issue: Any) -> None:
    """Issue inside a savepoint: a failure to issue is logged and never undoes the achievement itself."""
    try:
        with db.session.begin_nested():
            issue()
    except Exception:
        log.exception("could not issue the certificate of %s", what)


@course_completed.connect
def on_course_completed(sender: Any, *, person: Any, course: Any, record: Any = None, **_: Any) -> None:
    """Issue the course's certificate if the course is set to issue one."""
    if person is None or course is None or not services.issues_certificate(course):
        return
    _safely(
        f"course {course.id} for person {person.id}",
        lambda: services.issue_for_course(person, course, record),
    )


@exam_passed.connect
def on_exam_passed(sender: Any, *, person: Any, exam: Any, record: Any = None, **_: Any) -> None:
    """Issue the exam's certificate if the exam is set to issue one."""
    if person is None or exam is None or not services.issues_certificate(exam):
        return
    score = getattr(sender, "score", None)
    _safely(
        f"exam {exam.id} for person {person.id}",
        lambda: services.issue_for_exam(person, exam, record, score=score),
    )


@requirement_fulfilled.connect
def on_requirement_fulfilled(
    sender: Any, *, person: Any, requirement: Any, valid_until: dt.date | None = None, **_: Any
) -> None:
    """Issue the requirement's certificate if the requirement is set to issue one."""
    if person is None or requirement is None or not services.issues_certificate(requirement):
        return
    _safely(
        f"requirement {requirement.id} for person {person.id}",
        lambda: services.issue_for_requirement(person, requirement, valid_until),
    )


from certificates import notify  # noqa: E402,F401 - certificates in the learners' notifications
