"""Which enterprise the acting user works in, and loading objects only within it."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import abort, session
from flask_login import current_user
from sqlalchemy import select

from lms.core.db import db
from lms.org.models import (
    ADMIN,
    EVALUATOR,
    LEARNER,
    MANAGER,
    REGULATOR,
    TRAINER,
    Enterprise,
    RegulatorAssignment,
)

T = TypeVar("T")

STAFF = (TRAINER, MANAGER, ADMIN)
MANAGERS = (MANAGER, ADMIN)
EVERYONE_IN_ENTERPRISE = (LEARNER, TRAINER, MANAGER, ADMIN, EVALUATOR)
READERS = (MANAGER, ADMIN, REGULATOR)


def acting_enterprise_id() -> int:
    """Return the enterprise the current user acts in (admins pick one; others have their own)."""
    user = current_user
    if user.app_role == ADMIN:
        chosen = session.get("enterprise_id")
        if chosen and db.session.get(Enterprise, chosen) is not None:
            return int(chosen)
        if user.enterprise_id:
            return int(user.enterprise_id)
        first = db.session.scalar(select(Enterprise.id).order_by(Enterprise.id))
        if first is None:
            abort(404)
        return int(first)
    if user.enterprise_id is None:
        abort(403)
    return int(user.enterprise_id)


def acting_enterprise() -> Enterprise:
    """Return the acting enterprise row."""
    ent = db.session.get(Enterprise, acting_enterprise_id())
    if ent is None:
        abort(404)
    return ent


def regulated_enterprise_ids(user: Any) -> list[int]:
    """Return the enterprises a regulator oversees (admins: all)."""
    if user.app_role == ADMIN:
        return list(db.session.scalars(select(Enterprise.id)))
    if user.app_role != REGULATOR:
        return []
    return list(
        db.session.scalars(
            select(RegulatorAssignment.enterprise_id).where(RegulatorAssignment.user_id == user.id)
        )
    )


def get_scoped(model: type[T], object_id: int, *, enterprise_id: int | None = None) -> T:
    """Load ``model`` by id only if it belongs to the acting enterprise; otherwise 404 (never say which)."""
    obj = db.session.get(model, object_id)
    ent = enterprise_id if enterprise_id is not None else acting_enterprise_id()
    if obj is None or getattr(obj, "enterprise_id", None) != ent:
        abort(404)
    return obj
