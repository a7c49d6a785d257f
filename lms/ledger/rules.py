"""Rules of particular kinds of training facts, and the one definition of a course completion.

* 特种作业操作证 (a certificate record of this category, the category ``lms.training.status`` names too):
  《特种作业人员安全技术培训考核管理规定》第十九条 — valid 6 years (reviewed every 3, which the training status
  checks). A validity longer than 6 years, or ending before the issue date, is refused.
* A course is completed by a live record of the course, or of its exam passed (online or entered by hand):
  course management and the course requirements read the same records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, func, or_, select

from lms.core.db import db
from lms.core.errors import DomainError
from lms.core.i18n import msg
from lms.ledger.models import KIND_CERTIFICATE, KIND_COURSE, KIND_EXAM, TrainingRecord
from lms.org.models import Person

SPECIAL_OPERATIONS_CATEGORY = "特种作业操作证"
SPECIAL_OPERATIONS_YEARS = 6


def check_fact(
    kind: str, category: str | None, completed_at: dt.datetime | dt.date, valid_until: dt.date | None
) -> None:
    """Refuse a fact whose kind has rules it breaks (a special-operations certificate's validity)."""
    if kind == KIND_CERTIFICATE and category == SPECIAL_OPERATIONS_CATEGORY and valid_until is not None:
        issued = completed_at.date() if isinstance(completed_at, dt.datetime) else completed_at
        check_special_operations(issued, valid_until)


def check_special_operations(issued_on: dt.date, valid_until: dt.date) -> None:
    """Refuse a special-operations certificate whose validity cannot be (longer than 6 years, or before issue)."""
    if valid_until < issued_on:
        raise DomainError(
            msg(
                "a special operations certificate cannot expire (%(until)s) before its issue date (%(issued)s)",
                until=valid_until.isoformat(),
                issued=issued_on.isoformat(),
            ),
            field="valid_until",
        )
    try:
        limit = issued_on.replace(year=issued_on.year + SPECIAL_OPERATIONS_YEARS)
    except ValueError:  # 29 February
        limit = dt.date(issued_on.year + SPECIAL_OPERATIONS_YEARS, 2, 28)
    if valid_until > limit:
        raise DomainError(
            msg(
                "a special operations certificate is valid for 6 years at most: issued %(issued)s, it ends by "
                "%(limit)s, not %(until)s",
                issued=issued_on.isoformat(),
                limit=limit.isoformat(),
                until=valid_until.isoformat(),
            ),
            field="valid_until",
        )


def completion_clause() -> Any:
    """A live record that completes its course: the course completed, or its exam passed."""
    return and_(
        TrainingRecord.voided_at.is_(None),
        TrainingRecord.course_id.is_not(None),
        or_(
            TrainingRecord.kind == KIND_COURSE,
            and_(TrainingRecord.kind == KIND_EXAM, TrainingRecord.passed.is_(True)),
        ),
    )


def course_completions(enterprise_id: int, course_ids: Iterable[int] | None = None) -> dict[int, int]:
    """Per course: how many people of the enterprise (not left) hold a live completion of it."""
    q = (
        select(TrainingRecord.course_id, func.count(func.distinct(TrainingRecord.person_id)))
        .join(Person, Person.id == TrainingRecord.person_id)
        .where(Person.enterprise_id == enterprise_id, Person.status == "active", completion_clause())
        .group_by(TrainingRecord.course_id)
    )
    if course_ids is not None:
        q = q.where(TrainingRecord.course_id.in_(list(course_ids)))
    return {int(cid): int(n) for cid, n in db.session.execute(q)}
