"""Finding people of the acting enterprise by name, 工号 or department: the one search behind every people picker.

Assign pages (courses, notices …) call ``GET /org/people/search?q=…`` from their picker script and fall back to
the same service server-side without script. Only staff may search, only within their own enterprise, and only
a few rows come back (no phone numbers, no account details).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from lms.core.db import db
from lms.core.permissions import roles
from lms.org.access import STAFF, acting_enterprise_id
from lms.org.models import PERSON_ACTIVE, Department, Person

bp = Blueprint("people", __name__, url_prefix="/org")

SEARCH_LIMIT = 20
MAX_LIMIT = 50


def search_people(enterprise_id: int, text: str, *, limit: int = SEARCH_LIMIT) -> list[Person]:
    """Active people of one enterprise whose name, 工号 or department path contains every word of ``text``.

    Case-insensitive; ``%`` and ``_`` are taken literally; at most ``limit`` rows (capped), by 工号.
    """
    words = [w.lower()[:100] for w in (text or "").split() if w][:5]
    if not words:
        return []
    q = (
        select(Person)
        .outerjoin(Department, Department.id == Person.department_id)
        .where(Person.enterprise_id == enterprise_id, Person.status == PERSON_ACTIVE)
    )
    for w in words:
        q = q.where(
            or_(
                func.lower(Person.name).contains(w, autoescape=True),
                func.lower(Person.employee_no).contains(w, autoescape=True),
                func.lower(func.coalesce(Department.path, "")).contains(w, autoescape=True),
            )
        )
    limit = max(1, min(int(limit or SEARCH_LIMIT), MAX_LIMIT))
    q = q.options(selectinload(Person.department), selectinload(Person.post))
    return list(db.session.scalars(q.order_by(Person.employee_no, Person.id).limit(limit)))


def people_by_ids(enterprise_id: int, ids: list[int] | set[int]) -> list[Person]:
    """The active people of ``enterprise_id`` among ``ids`` (ids of other enterprises are dropped), by 工号."""
    clean = {int(i) for i in ids if str(i).isdigit() and len(str(i)) <= 9}  # an id fits the integer column
    if not clean:
        return []
    return list(
        db.session.scalars(
            select(Person)
            .where(
                Person.id.in_(clean), Person.enterprise_id == enterprise_id, Person.status == PERSON_ACTIVE
            )
            .options(selectinload(Person.department))
            .order_by(Person.employee_no, Person.id)
        )
    )


def person_summary(person: Person) -> dict[str, Any]:
    """What a people picker shows of a person."""
    return {
        "id": person.id,
        "name": person.name,
        "employee_no": person.employee_no,
        "department": person.department.path if person.department else "",
        "post": person.post.name if person.post else "",
    }


@bp.route("/people/search")
@roles(*STAFF)
def search():
    """JSON for people pickers."""
    text = (request.args.get("q") or "").strip()[:100]
    limit = request.args.get("limit", SEARCH_LIMIT, type=int) or SEARCH_LIMIT
    rows = search_people(acting_enterprise_id(), text, limit=limit)
    return jsonify({"q": text, "people": [person_summary(p) for p in rows]})
