"""Hazard reports and the one state machine of their rectification; counts for readers above (oversight, culture).

States and who may move a hazard between them (``TRANSITIONS``):

    report    (none)     → reported   anyone in the enterprise (anonymously if the enterprise allows it)
    assign    reported   → assigned   a safety manager: grade, department, responsible person, deadline
    dismiss   reported   → dismissed  a safety manager, with a reason (not a hazard, a duplicate)
    reassign  assigned   → assigned   a safety manager: another grade, department, person or deadline
    rectify   assigned   → rectified  the responsible person (or a safety manager), with a note and photos
    reject    rectified  → assigned   a safety manager other than the rectifier: the rectification is not enough
    verify    rectified  → verified   a safety manager other than the rectifier; a 重大隐患 needs its five items
    close     verified   → closed     a safety manager (销号)
    reopen    closed     → assigned   a safety manager, with a reason and a deadline in the future
    reopen    dismissed  → reported   a safety manager, with a reason

Safety managers are the enterprise's managers (and platform admins acting in it). Every step writes a
``HazardEvent`` with who, when, and the state, grade and deadline it left, so that counts as of any past moment
are read from the log. Services flush, never commit; ``now`` (naive UTC) may be given by tests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, select

from lms.core.db import db, utcnow
from lms.core.errors import Conflict, DomainError, Forbidden, NotFound
from lms.hazards.models import (
    ASSIGNED,
    CLOSED,
    DISMISSED,
    GRADES,
    MAJOR,
    OPEN_STATUSES,
    OVERDUE_STATUSES,
    RECTIFIED,
    REPORTED,
    STAGE_RECTIFICATION,
    STAGE_REPORT,
    VERIFIED,
    Hazard,
    HazardArea,
    HazardCategory,
    HazardEvent,
    HazardPhoto,
    HazardSettings,
)
from lms.org.models import ADMIN, MANAGER, PERSON_ACTIVE, Department, Person, User

SAFETY_MANAGER_ROLES = (MANAGER, ADMIN)

# action → (states it starts from, state it leads to)
TRANSITIONS: dict[str, tuple[tuple[str | None, ...], str | None]] = {
    "report": ((None,), REPORTED),
    "assign": ((REPORTED,), ASSIGNED),
    "dismiss": ((REPORTED,), DISMISSED),
    "reassign": ((ASSIGNED,), ASSIGNED),
    "rectify": ((ASSIGNED,), RECTIFIED),
    "reject": ((RECTIFIED,), ASSIGNED),
    "verify": ((RECTIFIED,), VERIFIED),
    "close": ((VERIFIED,), CLOSED),
    "reopen": ((CLOSED, DISMISSED), None),  # closed → assigned, dismissed → reported
    "plan": ((REPORTED, ASSIGNED, RECTIFIED), None),  # the five items of a 重大隐患; the state stays
}

# The five items of a 重大隐患 (措施、责任、资金、时限、预案): attribute → label.
PLAN_ITEMS: dict[str, Any] = {
    "plan_measures": _l("Measures"),
    "plan_responsibility": _l("Responsibility"),
    "plan_funds": _l("Funds (yuan)"),
    "plan_time_limit": _l("Time limit and requirements"),
    "plan_contingency": _l("Contingency plan"),
}

STATUS_LABELS: dict[str, Any] = {
    REPORTED: _l("To be graded"),
    ASSIGNED: _l("Being rectified"),
    RECTIFIED: _l("To be verified"),
    VERIFIED: _l("Verified"),
    CLOSED: _l("Closed"),
    DISMISSED: _l("Dismissed"),
}
GRADE_LABELS: dict[str, Any] = {"general": _l("General hazard"), MAJOR: _l("Major hazard")}
ACTION_LABELS: dict[str, Any] = {
    "report": _l("Reported"),
    "assign": _l("Graded and assigned"),
    "dismiss": _l("Dismissed"),
    "reassign": _l("Reassigned"),
    "rectify": _l("Rectification reported"),
    "reject": _l("Rectification not accepted"),
    "verify": _l("Verified"),
    "close": _l("Closed"),
    "reopen": _l("Reopened"),
    "plan": _l("Five items recorded"),
}

# Presets offered to every enterprise (editable): common categories of workplace hazards in China.
PRESET_CATEGORIES = (
    "用电安全",
    "消防安全",
    "机械防护",
    "高处作业",
    "危险化学品",
    "特种设备",
    "作业环境",
    "个体防护",
    "违章作业",
    "其他",
)

MAX_DESCRIPTION = 2000
MAX_NOTE = 2000
# Escalation of an overdue hazard: the responsible person first; the safety managers after this many days
# (at once for a 重大隐患).
ESCALATE_AFTER_DAYS = 3


# ------------------------------------------------------------------------------------------------ who may


def is_safety_manager(user: Any, enterprise_id: int) -> bool:
    """Whether ``user`` manages hazards in ``enterprise_id`` (its managers; platform admins)."""
    if user is None:
        return False
    if user.app_role == ADMIN:
        return True
    return user.app_role == MANAGER and user.enterprise_id == enterprise_id


def is_assignee(user: Any, hazard: Hazard) -> bool:
    return user is not None and user.person_id is not None and user.person_id == hazard.assignee_id


def can_see(user: Any, hazard: Hazard) -> bool:
    """Safety managers see every hazard of their enterprise; others those they reported or must rectify."""
    if is_safety_manager(user, hazard.enterprise_id):
        return True
    if user is None or user.enterprise_id != hazard.enterprise_id:
        return False
    return (hazard.reporter_id is not None and hazard.reporter_id == user.id) or is_assignee(user, hazard)


def refusal(action: str, hazard: Hazard | None, user: Any) -> str | None:
    """Why ``user`` may not do ``action`` on ``hazard`` now (None: allowed). The one gate of the state machine."""
    if action not in TRANSITIONS:
        return str(_l("Unknown action."))
    starts, _to = TRANSITIONS[action]
    status = hazard.status if hazard is not None else None
    if status not in starts:
        return str(
            _l(
                "This cannot be done while the hazard is “%(state)s”.",
                state=STATUS_LABELS.get(status, status),
            )
        )
    if action == "report":
        return None
    assert hazard is not None
    manager = is_safety_manager(user, hazard.enterprise_id)
    if action == "rectify":
        if not (manager or is_assignee(user, hazard)):
            return str(_l("Only the responsible person or a safety manager may report the rectification."))
        return None
    if action == "plan":
        if not (manager or is_assignee(user, hazard)):
            return str(_l("Only the responsible person or a safety manager may record the five items."))
        if hazard.grade != MAJOR:
            return str(_l("The five items are recorded for major hazards only."))
        return None
    if not manager:
        return str(_l("Only a safety manager may do this."))
    if action in ("verify", "reject") and user is not None and hazard.rectified_by_id == user.id:
        return str(
            _l("The rectification must be verified by someone other than the person who rectified it.")
        )
    if action == "verify" and hazard.grade == MAJOR and missing_plan_items(hazard):
        return str(
            _l(
                "A major hazard can be accepted only when its five items are recorded: %(items)s.",
                items="、".join(str(PLAN_ITEMS[k]) for k in missing_plan_items(hazard)),
            )
        )
    return None


def allowed_actions(user: Any, hazard: Hazard) -> list[str]:
    """The actions ``user`` may take on ``hazard`` now, in workflow order."""
    return [a for a in TRANSITIONS if a != "report" and refusal(a, hazard, user) is None]


def _check(action: str, hazard: Hazard, user: Any) -> None:
    reason = refusal(action, hazard, user)
    if reason is None:
        return
    starts, _to = TRANSITIONS[action]
    if hazard.status not in starts:
        raise Conflict(reason)
    raise Forbidden(reason)


def missing_plan_items(hazard: Hazard) -> list[str]:
    """The five items of a 重大隐患 that are still empty (attribute names)."""
    out = []
    for key in PLAN_ITEMS:
        value = getattr(hazard, key)
        if value is None or (isinstance(value, str) and not value.strip()):
            out.append(key)
    return out


# ------------------------------------------------------------------------------------------------ settings, lists


def settings_of(enterprise_id: int) -> HazardSettings:
    """The enterprise's hazard settings (defaults, not stored, until a manager saves them)."""
    row = db.session.get(HazardSettings, enterprise_id)
    return row or HazardSettings(enterprise_id=enterprise_id, allow_anonymous=False, keep_location=False)


def save_settings(
    enterprise_id: int,
    *,
    allow_anonymous: bool,
    keep_location: bool,
    actor: Any,
    now: dt.datetime | None = None,
) -> HazardSettings:
    """Store the enterprise's hazard settings."""
    row = db.session.get(HazardSettings, enterprise_id)
    if row is None:
        row = HazardSettings(enterprise_id=enterprise_id)
        db.session.add(row)
    row.allow_anonymous = bool(allow_anonymous)
    row.keep_location = bool(keep_location)
    row.updated_at = now or utcnow()
    row.updated_by_id = getattr(actor, "id", None)
    db.session.flush()
    return row


def ensure_presets(enterprise_id: int) -> None:
    """Give an enterprise the preset categories the first time it has none."""
    if db.session.scalar(
        select(func.count(HazardCategory.id)).where(HazardCategory.enterprise_id == enterprise_id)
    ):
        return
    for i, name in enumerate(PRESET_CATEGORIES):
        db.session.add(HazardCategory(enterprise_id=enterprise_id, name=name, sort_order=i * 10))
    db.session.flush()


def areas(enterprise_id: int, *, active_only: bool = False) -> list[HazardArea]:
    q = select(HazardArea).where(HazardArea.enterprise_id == enterprise_id)
    if active_only:
        q = q.where(HazardArea.active.is_(True))
    return list(db.session.scalars(q.order_by(HazardArea.sort_order, HazardArea.id)))


def categories(enterprise_id: int, *, active_only: bool = False) -> list[HazardCategory]:
    q = select(HazardCategory).where(HazardCategory.enterprise_id == enterprise_id)
    if active_only:
        q = q.where(HazardCategory.active.is_(True))
    return list(db.session.scalars(q.order_by(HazardCategory.sort_order, HazardCategory.id)))


def _clean_name(name: str | None) -> str:
    text = " ".join((name or "").split())
    if not text:
        raise DomainError(str(_l("Name: enter a name.")), field="name")
    if len(text) > 100:
        raise DomainError(str(_l("Name: at most 100 characters.")), field="name")
    return text


def save_choice(
    model: type[HazardArea] | type[HazardCategory],
    enterprise_id: int,
    name: str,
    *,
    item_id: int | None = None,
    sort_order: int | None = None,
    active: bool = True,
) -> HazardArea | HazardCategory:
    """Add or rename an area or a category (names are unique within the enterprise)."""
    text = _clean_name(name)
    clash = db.session.scalar(
        select(model.id).where(model.enterprise_id == enterprise_id, model.name == text)
    )
    if item_id is None:
        if clash is not None:
            raise DomainError(str(_l("Name: “%(name)s” is already in the list.", name=text)), field="name")
        last = db.session.scalar(
            select(func.max(model.sort_order)).where(model.enterprise_id == enterprise_id)
        )
        row = model(
            enterprise_id=enterprise_id,
            name=text,
            active=True,
            sort_order=sort_order if sort_order is not None else (last or 0) + 10,
        )
        db.session.add(row)
    else:
        row = db.session.get(model, item_id)
        if row is None or row.enterprise_id != enterprise_id:
            raise NotFound(str(_l("Not found.")))
        if clash is not None and clash != row.id:
            raise DomainError(str(_l("Name: “%(name)s” is already in the list.", name=text)), field="name")
        row.name = text
        row.active = bool(active)
        if sort_order is not None:
            row.sort_order = sort_order
    db.session.flush()
    return row


# ------------------------------------------------------------------------------------------------ the workflow


def _event(
    hazard: Hazard,
    action: str,
    actor: Any,
    from_status: str | None,
    *,
    at: dt.datetime,
    note: str | None = None,
    detail: dict[str, Any] | None = None,
) -> HazardEvent:
    ev = HazardEvent(
        enterprise_id=hazard.enterprise_id,
        at=at,
        actor_id=getattr(actor, "id", None),
        action=action,
        from_status=from_status,
        to_status=hazard.status,
        grade=hazard.grade,
        deadline=hazard.deadline,
        note=note or None,
        detail=detail or None,
    )
    hazard.events.append(ev)
    db.session.flush()
    return ev


def _text(value: str | None, field: str, label: Any, *, required: bool, limit: int = MAX_NOTE) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise DomainError(str(_l("%(field)s: this is required.", field=label)), field=field)
        return None
    if len(text) > limit:
        raise DomainError(str(_l("%(field)s: at most %(n)d characters.", field=label, n=limit)), field=field)
    return text


@dataclass
class Photo:
    """A processed photo ready to store: re-encoded JPEG bytes, its size, and the GPS position it carried."""

    data: bytes
    width: int
    height: int
    latitude: float | None = None
    longitude: float | None = None
    name: str = "photo.jpg"


def _add_photos(hazard: Hazard, photos: list[Photo], stage: str, actor: Any, at: dt.datetime) -> None:
    from lms.core.storage import save_bytes

    for i, photo in enumerate(photos, start=1):
        stored = save_bytes(
            photo.data,
            f"{hazard.code}-{stage}-{i}.jpg",
            purpose="hazard-photo",
            enterprise_id=hazard.enterprise_id,
            uploaded_by_id=getattr(actor, "id", None),
            content_type="image/jpeg",
        )
        row = HazardPhoto(
            stage=stage,
            stored_file_id=stored.id,
            width=photo.width,
            height=photo.height,
            uploaded_by_id=getattr(actor, "id", None),
            uploaded_at=at,
        )
        hazard.photos.append(row)
    db.session.flush()


def _scoped(model: Any, object_id: int | None, enterprise_id: int, field: str, label: Any) -> Any:
    if object_id is None:
        return None
    row = db.session.get(model, object_id)
    if row is None or row.enterprise_id != enterprise_id:
        raise DomainError(str(_l("%(field)s: choose one from the list.", field=label)), field=field)
    return row


MAX_PHOTOS = 6


def report(
    enterprise_id: int,
    reporter: Any,
    *,
    description: str,
    area_id: int | None = None,
    place: str | None = None,
    category_id: int | None = None,
    anonymous: bool = False,
    photos: list[Photo] | None = None,
    now: dt.datetime | None = None,
) -> Hazard:
    """Record a hazard reported by ``reporter`` (anonymously: neither account nor person is kept)."""
    at = now or utcnow()
    settings = settings_of(enterprise_id)
    if reporter is None or (reporter.app_role != ADMIN and reporter.enterprise_id != enterprise_id):
        raise Forbidden(str(_l("You cannot report hazards for this enterprise.")))
    if anonymous and not settings.allow_anonymous:
        raise DomainError(
            str(_l("Anonymous: this enterprise does not accept anonymous reports.")), field="anonymous"
        )
    text = _text(description, "description", _l("Description"), required=True, limit=MAX_DESCRIPTION)
    place_text = _text(place, "place", _l("Place"), required=False, limit=200)
    area = _scoped(HazardArea, area_id, enterprise_id, "area_id", _l("Area"))
    if area is not None and not area.active:
        raise DomainError(str(_l("%(field)s: choose one from the list.", field=_l("Area"))), field="area_id")
    if area is None and not place_text:
        raise DomainError(str(_l("Place: choose an area or describe the place.")), field="place")
    category = _scoped(HazardCategory, category_id, enterprise_id, "category_id", _l("Category"))
    photos = list(photos or [])
    if len(photos) > MAX_PHOTOS:
        raise DomainError(str(_l("Photos: at most %(n)d.", n=MAX_PHOTOS)), field="photos")
    hazard = Hazard(
        enterprise_id=enterprise_id,
        reported_at=at,
        reporter_id=None if anonymous else reporter.id,
        reporter_person_id=None if anonymous else reporter.person_id,
        anonymous=bool(anonymous),
        area_id=area.id if area else None,
        place=place_text,
        category_id=category.id if category else None,
        description=text,
        status=REPORTED,
    )
    if settings.keep_location:
        located = next((p for p in photos if p.latitude is not None and p.longitude is not None), None)
        if located is not None:
            hazard.latitude, hazard.longitude = located.latitude, located.longitude
    db.session.add(hazard)
    db.session.flush()
    _add_photos(hazard, photos, STAGE_REPORT, None if anonymous else reporter, at)
    _event(hazard, "report", None if anonymous else reporter, None, at=at)
    return hazard


def _assignment(
    hazard: Hazard,
    *,
    grade: str,
    department_id: int | None,
    assignee_id: int | None,
    deadline: dt.datetime | None,
    at: dt.datetime,
) -> None:
    if grade not in GRADES:
        raise DomainError(str(_l("Grade: choose general or major.")), field="grade")
    dept = _scoped(
        Department, department_id, hazard.enterprise_id, "department_id", _l("Responsible department")
    )
    if dept is None:
        raise DomainError(
            str(_l("%(field)s: this is required.", field=_l("Responsible department"))), field="department_id"
        )
    person = _scoped(Person, assignee_id, hazard.enterprise_id, "assignee_id", _l("Responsible person"))
    if person is None:
        raise DomainError(
            str(_l("%(field)s: this is required.", field=_l("Responsible person"))), field="assignee_id"
        )
    if person.status != PERSON_ACTIVE:
        raise DomainError(
            str(_l("Responsible person: %(name)s has left.", name=person.name)), field="assignee_id"
        )
    if deadline is None:
        raise DomainError(str(_l("%(field)s: this is required.", field=_l("Deadline"))), field="deadline")
    if deadline <= at:
        raise DomainError(str(_l("Deadline: must be in the future.")), field="deadline")
    hazard.grade = grade
    hazard.department_id = dept.id
    hazard.assignee_id = person.id
    hazard.deadline = deadline


def assign(
    hazard: Hazard,
    actor: Any,
    *,
    grade: str,
    department_id: int | None,
    assignee_id: int | None,
    deadline: dt.datetime | None,
    note: str | None = None,
    plan: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> Hazard:
    """Grade a reported hazard and assign it to a department and person with a deadline."""
    return _assign(
        "assign",
        hazard,
        actor,
        grade=grade,
        department_id=department_id,
        assignee_id=assignee_id,
        deadline=deadline,
        note=note,
        plan=plan,
        now=now,
    )


def reassign(
    hazard: Hazard,
    actor: Any,
    *,
    grade: str,
    department_id: int | None,
    assignee_id: int | None,
    deadline: dt.datetime | None,
    note: str | None = None,
    plan: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> Hazard:
    """Change the grade, department, person or deadline of a hazard being rectified."""
    return _assign(
        "reassign",
        hazard,
        actor,
        grade=grade,
        department_id=department_id,
        assignee_id=assignee_id,
        deadline=deadline,
        note=note,
        plan=plan,
        now=now,
    )


def _assign(
    action: str,
    hazard: Hazard,
    actor: Any,
    *,
    grade: str,
    department_id: int | None,
    assignee_id: int | None,
    deadline: dt.datetime | None,
    note: str | None,
    plan: dict[str, Any] | None,
    now: dt.datetime | None,
) -> Hazard:
    at = now or utcnow()
    _check(action, hazard, actor)
    note_text = _text(note, "note", _l("Note"), required=False)
    before = {"grade": hazard.grade, "department_id": hazard.department_id, "assignee_id": hazard.assignee_id}
    _assignment(
        hazard, grade=grade, department_id=department_id, assignee_id=assignee_id, deadline=deadline, at=at
    )
    if plan and grade == MAJOR:
        _apply_plan(hazard, plan)
    from_status = hazard.status
    hazard.status = ASSIGNED
    hazard.graded_by_id = actor.id
    hazard.graded_at = at
    detail = {"department_id": hazard.department_id, "assignee_id": hazard.assignee_id}
    if action == "reassign":
        detail["before"] = before
    _event(hazard, action, actor, from_status, at=at, note=note_text, detail=detail)
    return hazard


def dismiss(hazard: Hazard, actor: Any, *, note: str | None, now: dt.datetime | None = None) -> Hazard:
    """Refuse a report that is not a hazard (a reason is required)."""
    at = now or utcnow()
    _check("dismiss", hazard, actor)
    text = _text(note, "note", _l("Reason"), required=True)
    from_status = hazard.status
    hazard.status = DISMISSED
    hazard.closed_at = at
    hazard.closed_by_id = actor.id
    _event(hazard, "dismiss", actor, from_status, at=at, note=text)
    return hazard


def _apply_plan(hazard: Hazard, plan: dict[str, Any]) -> None:
    for key, label in PLAN_ITEMS.items():
        if key not in plan:
            continue
        value = plan[key]
        if key == "plan_funds":
            if value in (None, ""):
                hazard.plan_funds = None
                continue
            try:
                amount = Decimal(str(value).replace(",", "").strip())
            except ArithmeticError:
                raise DomainError(
                    str(_l("%(field)s: enter an amount such as 12000.", field=label)), field=key
                ) from None
            if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
                raise DomainError(
                    str(_l("%(field)s: enter an amount such as 12000.", field=label)), field=key
                )
            hazard.plan_funds = amount.quantize(Decimal("0.01"))
        else:
            setattr(hazard, key, _text(value, key, label, required=False))


def record_plan(
    hazard: Hazard, actor: Any, plan: dict[str, Any], *, now: dt.datetime | None = None
) -> Hazard:
    """Record the five items of a 重大隐患 (措施、责任、资金、时限、预案); the state does not change."""
    at = now or utcnow()
    _check("plan", hazard, actor)
    _apply_plan(hazard, plan)
    _event(hazard, "plan", actor, hazard.status, at=at, detail={"missing": missing_plan_items(hazard)})
    return hazard


def rectify(
    hazard: Hazard,
    actor: Any,
    *,
    note: str | None,
    photos: list[Photo] | None,
    now: dt.datetime | None = None,
) -> Hazard:
    """Report the rectification, with a note and at least one photo."""
    at = now or utcnow()
    _check("rectify", hazard, actor)
    text = _text(note, "note", _l("What was done"), required=True)
    photos = list(photos or [])
    if not photos:
        raise DomainError(str(_l("Photos: add at least one photo of the rectification.")), field="photos")
    if len(photos) > MAX_PHOTOS:
        raise DomainError(str(_l("Photos: at most %(n)d.", n=MAX_PHOTOS)), field="photos")
    from_status = hazard.status
    hazard.status = RECTIFIED
    hazard.rectified_at = at
    hazard.rectified_by_id = actor.id
    hazard.rectification_note = text
    _add_photos(hazard, photos, STAGE_RECTIFICATION, actor, at)
    _event(
        hazard,
        "rectify",
        actor,
        from_status,
        at=at,
        note=text,
        detail={"on_time": hazard.deadline is None or at <= hazard.deadline},
    )
    return hazard


def verify(
    hazard: Hazard,
    actor: Any,
    *,
    passed: bool,
    note: str | None = None,
    deadline: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Hazard:
    """Verify a rectification: accepted (verified) or not (back to being rectified, a reason required)."""
    at = now or utcnow()
    action = "verify" if passed else "reject"
    _check(action, hazard, actor)
    text = _text(note, "note", _l("Verification note"), required=not passed)
    from_status = hazard.status
    if passed:
        hazard.status = VERIFIED
        hazard.verified_at = at
        hazard.verified_by_id = actor.id
        hazard.verification_note = text
    else:
        if deadline is not None:
            if deadline <= at:
                raise DomainError(str(_l("Deadline: must be in the future.")), field="deadline")
            hazard.deadline = deadline
        hazard.status = ASSIGNED
        hazard.rectified_at = None
    _event(hazard, action, actor, from_status, at=at, note=text)
    return hazard


def close(hazard: Hazard, actor: Any, *, note: str | None = None, now: dt.datetime | None = None) -> Hazard:
    """Close (销号) a verified hazard."""
    at = now or utcnow()
    _check("close", hazard, actor)
    text = _text(note, "note", _l("Note"), required=False)
    from_status = hazard.status
    hazard.status = CLOSED
    hazard.closed_at = at
    hazard.closed_by_id = actor.id
    _event(hazard, "close", actor, from_status, at=at, note=text)
    return hazard


def reopen(
    hazard: Hazard,
    actor: Any,
    *,
    note: str | None,
    deadline: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Hazard:
    """Reopen a closed hazard (to be rectified again, by a new deadline) or a dismissed report (to be graded)."""
    at = now or utcnow()
    _check("reopen", hazard, actor)
    text = _text(note, "note", _l("Reason"), required=True)
    from_status = hazard.status
    if from_status == CLOSED:
        if deadline is None:
            raise DomainError(str(_l("%(field)s: this is required.", field=_l("Deadline"))), field="deadline")
        if deadline <= at:
            raise DomainError(str(_l("Deadline: must be in the future.")), field="deadline")
        hazard.deadline = deadline
        hazard.status = ASSIGNED
        hazard.rectified_at = hazard.verified_at = None
        hazard.rectified_by_id = hazard.verified_by_id = None
    else:
        hazard.status = REPORTED
    hazard.closed_at = hazard.closed_by_id = None
    hazard.reopen_count = (hazard.reopen_count or 0) + 1
    _event(hazard, "reopen", actor, from_status, at=at, note=text)
    return hazard


# ------------------------------------------------------------------------------------------------ reading


def is_overdue(hazard: Hazard, as_of: dt.datetime | None = None) -> bool:
    """Still to be rectified after its deadline."""
    at = as_of or utcnow()
    return hazard.status in OVERDUE_STATUSES and hazard.deadline is not None and hazard.deadline < at


def visible_query(enterprise_id: int, user: Any) -> Any:
    """A SELECT of the hazards ``user`` may see in ``enterprise_id`` (see ``can_see``)."""
    q = select(Hazard).where(Hazard.enterprise_id == enterprise_id)
    if is_safety_manager(user, enterprise_id):
        return q
    conds = [Hazard.reporter_id == user.id]
    if user.person_id is not None:
        conds.append(Hazard.assignee_id == user.person_id)
    from sqlalchemy import or_

    return q.where(or_(*conds))


def state_as_of(enterprise_ids: list[int], as_of: dt.datetime) -> Any:
    """Each hazard's last event at or before ``as_of``: its state, grade and deadline then (a subquery)."""
    last = (
        select(HazardEvent.hazard_id, func.max(HazardEvent.id).label("event_id"))
        .where(HazardEvent.enterprise_id.in_(enterprise_ids), HazardEvent.at <= as_of)
        .group_by(HazardEvent.hazard_id)
        .subquery()
    )
    return (
        select(
            HazardEvent.enterprise_id,
            HazardEvent.hazard_id,
            HazardEvent.to_status,
            HazardEvent.grade,
            HazardEvent.deadline,
        )
        .join(last, HazardEvent.id == last.c.event_id)
        .subquery()
    )


def hazard_counts(
    enterprise_ids: list[int] | tuple[int, ...] | set[int], as_of: dt.datetime
) -> dict[int, dict[str, int]]:
    """Per enterprise, as the event log stood at ``as_of`` (naive UTC): open, overdue, major_open,
    major_overdue hazards, and reported_30d (reported in the 30 days up to ``as_of``). Every id given gets a row."""
    ids = sorted({int(i) for i in enterprise_ids})
    out = {i: {"open": 0, "overdue": 0, "major_open": 0, "major_overdue": 0, "reported_30d": 0} for i in ids}
    if not ids:
        return out
    state = state_as_of(ids, as_of)
    is_open = state.c.to_status.in_(OPEN_STATUSES)
    overdue = and_(
        state.c.to_status.in_(OVERDUE_STATUSES), state.c.deadline.is_not(None), state.c.deadline < as_of
    )
    major = state.c.grade == MAJOR
    rows = db.session.execute(
        select(
            state.c.enterprise_id,
            func.sum(case((is_open, 1), else_=0)),
            func.sum(case((overdue, 1), else_=0)),
            func.sum(case((and_(is_open, major), 1), else_=0)),
            func.sum(case((and_(overdue, major), 1), else_=0)),
        ).group_by(state.c.enterprise_id)
    ).all()
    for ent_id, n_open, n_overdue, n_major_open, n_major_overdue in rows:
        out[ent_id].update(
            open=int(n_open or 0),
            overdue=int(n_overdue or 0),
            major_open=int(n_major_open or 0),
            major_overdue=int(n_major_overdue or 0),
        )
    since = as_of - dt.timedelta(days=30)
    for ent_id, n in db.session.execute(
        select(Hazard.enterprise_id, func.count(Hazard.id))
        .where(Hazard.enterprise_id.in_(ids), Hazard.reported_at > since, Hazard.reported_at <= as_of)
        .group_by(Hazard.enterprise_id)
    ):
        out[ent_id]["reported_30d"] = int(n)
    return out


def overdue_hazards(enterprise_id: int, as_of: dt.datetime) -> list[dict[str, Any]]:
    """The enterprise's hazards overdue at ``as_of`` (naive UTC), most overdue first, for reminders.

    Each: hazard_id, code, grade, description, place, department_id, department, assignee_person_id,
    assignee_user_id, deadline (naive UTC), days_overdue, escalated (the safety managers are told too: a 重大隐患,
    or more than ESCALATE_AFTER_DAYS days late) and notify_user_ids (enabled accounts to remind, sorted),
    url_path (the hazard's page).
    """
    rows = db.session.execute(
        select(Hazard, User.id)
        .outerjoin(User, and_(User.person_id == Hazard.assignee_id, User.is_enabled.is_(True)))
        .where(
            Hazard.enterprise_id == enterprise_id,
            Hazard.status.in_(OVERDUE_STATUSES),
            Hazard.deadline.is_not(None),
            Hazard.deadline < as_of,
        )
        .order_by(Hazard.deadline, Hazard.id)
    ).all()
    if not rows:
        return []
    managers = sorted(
        db.session.scalars(
            select(User.id).where(
                User.enterprise_id == enterprise_id, User.app_role == MANAGER, User.is_enabled.is_(True)
            )
        )
    )
    out = []
    for hazard, assignee_user_id in rows:
        days = (as_of - hazard.deadline).days
        escalated = hazard.grade == MAJOR or days >= ESCALATE_AFTER_DAYS
        notify = {assignee_user_id} if assignee_user_id else set()
        if escalated or not assignee_user_id:
            notify.update(managers)
        out.append(
            {
                "hazard_id": hazard.id,
                "code": hazard.code,
                "grade": hazard.grade,
                "description": hazard.description,
                "place": place_label(hazard),
                "department_id": hazard.department_id,
                "department": hazard.department.path if hazard.department else None,
                "assignee_person_id": hazard.assignee_id,
                "assignee_user_id": assignee_user_id,
                "deadline": hazard.deadline,
                "days_overdue": days,
                "escalated": escalated,
                "notify_user_ids": sorted(notify),
                "url_path": f"/hazards/{hazard.id}",
            }
        )
    return out


def place_label(hazard: Hazard) -> str:
    """Area and place as one text: "二车间 · 3号冲床旁"."""
    parts = [hazard.area.name if hazard.area else None, hazard.place]
    return " · ".join(p for p in parts if p)


def get_hazard(enterprise_id: int, hazard_id: int, user: Any) -> Hazard:
    """Load a hazard of the enterprise that ``user`` may see (NotFound otherwise, never saying which)."""
    hazard = db.session.get(Hazard, hazard_id)
    if hazard is None or hazard.enterprise_id != enterprise_id or not can_see(user, hazard):
        raise NotFound(str(_l("Not found.")))
    return hazard
