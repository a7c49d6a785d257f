"""Requirements, exemptions and subjection history: the domain logic (flush, never commit)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select, update

from lms.core.db import db, utcnow
from lms.core.errors import DomainError, NotFound
from lms.org.models import Department, Person, Post, ResponsibilityRole, User
from lms.org.timezone import enterprise_today
from lms.training.models import (
    APPLIES_DEPARTMENT,
    APPLIES_POST,
    APPLIES_ROLE,
    APPLIES_TO,
    KIND_CERTIFICATE,
    KIND_COURSE,
    KIND_HOURS,
    RECUR_ONCE,
    RECURRENCES,
    REQUIREMENT_KINDS,
    Exemption,
    Requirement,
    Subjection,
)
from lms.training.status import applicability_query

EDITABLE = (
    "name",
    "description",
    "kind",
    "applies_to",
    "role_id",
    "post_id",
    "department_id",
    "course_id",
    "hours_required",
    "categories",
    "certificate_category",
    "certificate_topic",
    "recurrence",
    "recurrence_months",
    "initial_days",
    "grace_days",
    "reminder_days",
    "tracked_from",
    "active",
    "issue_certificate",
    "pre_job",
)


def _check_owned(model: type, object_id: int | None, enterprise_id: int, field: str) -> None:
    if object_id is None:
        raise DomainError("choose one", field=field)
    obj = db.session.get(model, object_id)
    if obj is None or obj.enterprise_id != enterprise_id:
        raise DomainError("not found in this enterprise", field=field)


def _validated(enterprise_id: int, values: dict[str, Any]) -> dict[str, Any]:
    v = {k: values.get(k) for k in EDITABLE if k in values}
    if not (v.get("name") or "").strip():
        raise DomainError("A requirement needs a name.", field="name")
    v["name"] = v["name"].strip()[:200]
    if v.get("kind") not in REQUIREMENT_KINDS:
        raise DomainError("Unknown kind of requirement.", field="kind")
    if v.get("applies_to") not in APPLIES_TO:
        raise DomainError("Unknown target.", field="applies_to")
    if v.get("recurrence") not in RECURRENCES:
        raise DomainError("Unknown recurrence.", field="recurrence")
    for key in ("role_id", "post_id", "department_id"):
        v[key] = v.get(key) or None
    if v["applies_to"] == APPLIES_ROLE:
        _check_owned(ResponsibilityRole, v["role_id"], enterprise_id, "role_id")
    if v["applies_to"] == APPLIES_POST:
        _check_owned(Post, v["post_id"], enterprise_id, "post_id")
    if v["applies_to"] == APPLIES_DEPARTMENT:
        _check_owned(Department, v["department_id"], enterprise_id, "department_id")
    try:
        v["hours_required"] = Decimal(str(v.get("hours_required") or 0)).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise DomainError("Hours must be a number.", field="hours_required") from exc
    if v["hours_required"] < 0:
        raise DomainError("Hours cannot be negative.", field="hours_required")
    if v["kind"] == KIND_HOURS and v["hours_required"] <= 0:
        raise DomainError("An hours requirement needs the hours required.", field="hours_required")
    if v["kind"] == KIND_COURSE and not v.get("course_id"):
        raise DomainError("A course requirement needs a course.", field="course_id")
    if v["kind"] == KIND_CERTIFICATE and not (v.get("certificate_category") or v.get("certificate_topic")):
        raise DomainError(
            "A certificate requirement needs a category or a title to match.", field="certificate_category"
        )
    cats = [c.strip() for c in str(v.get("categories") or "").replace("，", ",").replace("|", ",").split(",")]
    v["categories"] = "|".join(c for c in cats if c) or None
    if v["recurrence"] != RECUR_ONCE and v["kind"] not in (KIND_COURSE, KIND_HOURS):
        v["recurrence"] = RECUR_ONCE  # certificates carry their own validity; three-level is once per trigger
    if v["recurrence"] == "rolling" and not (v.get("recurrence_months") or 0) > 0:
        raise DomainError("A rolling requirement needs the months it stays valid.", field="recurrence_months")
    if "pre_job" in v:
        v["pre_job"] = bool(v["pre_job"]) and v["kind"] == KIND_HOURS
    if v.get("pre_job"):
        v["initial_days"] = 0  # due the day the person starts: no allowance after it
    for key in ("initial_days", "grace_days", "reminder_days"):
        v[key] = int(v.get(key) or 0)
        if v[key] < 0:
            raise DomainError("Days cannot be negative.", field=key)
    return v


def save_requirement(
    enterprise_id: int, values: dict[str, Any], requirement: Requirement | None = None
) -> Requirement:
    """Create or update a requirement of ``enterprise_id`` from plain values."""
    v = _validated(enterprise_id, values)
    if requirement is None:
        requirement = Requirement(enterprise_id=enterprise_id)
        v.setdefault("active", True)
        db.session.add(requirement)
    elif requirement.enterprise_id != enterprise_id:
        raise NotFound("requirement not found")
    was_issuing = bool(requirement.issue_certificate) and bool(requirement.active)
    if "issue_certificate" in v:
        v["issue_certificate"] = bool(v["issue_certificate"])
    for k, value in v.items():
        setattr(requirement, k, value)
    db.session.flush()
    if requirement.issue_certificate and requirement.active and not was_issuing:
        # People who already fulfil it get their certificate too (a background job over the enterprise).
        from lms.training.fulfilment import sweep

        sweep(enterprise_id)
    return requirement


def grant_exemption(
    requirement: Requirement,
    person: Person,
    *,
    reason: str,
    actor: User | None,
    valid_from: dt.date | None = None,
    valid_until: dt.date | None = None,
) -> Exemption:
    """Excuse ``person`` from ``requirement``, recording why and who granted it."""
    if person.enterprise_id != requirement.enterprise_id:
        raise NotFound("person not found")
    if not reason or not reason.strip():
        raise DomainError("An exemption needs a reason.", field="reason")
    start = valid_from or enterprise_today(person.enterprise_id)
    if valid_until is not None and valid_until < start:
        raise DomainError("The end is before the start.", field="valid_until")
    ex = Exemption(
        enterprise_id=requirement.enterprise_id,
        person_id=person.id,
        requirement_id=requirement.id,
        reason=reason.strip()[:500],
        valid_from=start,
        valid_until=valid_until,
        granted_by_id=actor.id if actor else None,
    )
    db.session.add(ex)
    db.session.flush()
    return ex


def revoke_exemption(exemption: Exemption, *, actor: User | None) -> None:
    """End an exemption (kept for the record)."""
    if exemption.revoked_at is None:
        exemption.revoked_at = utcnow()
        exemption.revoked_by_id = actor.id if actor else None
        db.session.flush()


def refresh_subjections(enterprise_id: int, on: dt.date | None = None) -> dict[str, int]:
    """Bring the subjection history up to date with who is subject to what ``on`` a day: set-based.

    Opens a row (from the day the person became subject) for each new (person, requirement) pair and closes
    the open rows of pairs that no longer apply. Status never reads this table; it is the history.
    """
    on = on or enterprise_today(enterprise_id)
    app_q = applicability_query(enterprise_id, on)
    current: dict[tuple[int, int], Any] = {}
    if app_q is not None:
        sub = app_q.subquery()
        for pid, rid, since in db.session.execute(select(sub.c.person_id, sub.c.requirement_id, sub.c.since)):
            current[(pid, rid)] = since
    open_rows = {
        (pid, rid): sid
        for sid, pid, rid in db.session.execute(
            select(Subjection.id, Subjection.person_id, Subjection.requirement_id).where(
                Subjection.enterprise_id == enterprise_id, Subjection.end_on.is_(None)
            )
        )
    }
    from lms.training.status import as_date

    new = [
        {
            "enterprise_id": enterprise_id,
            "person_id": pid,
            "requirement_id": rid,
            "start_on": as_date(since) or on,
            "recorded_at": utcnow(),
        }
        for (pid, rid), since in current.items()
        if (pid, rid) not in open_rows
    ]
    closed = [sid for pair, sid in open_rows.items() if pair not in current]
    if new:
        db.session.execute(Subjection.__table__.insert(), new)
    for i in range(0, len(closed), 500):
        db.session.execute(update(Subjection).where(Subjection.id.in_(closed[i : i + 500])).values(end_on=on))
    db.session.flush()
    return {"opened": len(new), "closed": len(closed)}


def subjection_history(person_id: int) -> list[Subjection]:
    """Return a person's subjection history, newest first."""
    return list(
        db.session.scalars(
            select(Subjection)
            .where(Subjection.person_id == person_id)
            .order_by(Subjection.start_on.desc(), Subjection.id.desc())
        )
    )
