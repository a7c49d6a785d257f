"""Which time zone a request or an object is in: its enterprise's (``Enterprise.time_zone``)."""

from __future__ import annotations

import datetime as dt

from flask import request, session
from flask_login import current_user
from sqlalchemy.orm.exc import DetachedInstanceError

from lms.core import timeutil
from lms.core.db import db
from lms.org.models import ADMIN, Enterprise


def enterprise_zone_name(enterprise_id: int) -> str | None:
    """Return the zone name of an enterprise (None when it does not exist)."""
    ent = db.session.get(Enterprise, enterprise_id)
    return ent.time_zone if ent is not None else None


def enterprise_today(enterprise_id: int) -> dt.date:
    """Return today's date where the enterprise is (its local calendar day, not the server's)."""
    return timeutil.today(enterprise_zone_name(enterprise_id))


def select_timezone() -> str | None:
    """Flask-Babel's timezone selector: the acting user's enterprise, else the platform default (None)."""
    user = current_user
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        ent_id = getattr(user, "enterprise_id", None)
        is_admin = user.app_role == ADMIN
    except DetachedInstanceError:  # a user left from a finished unit of work: the platform default
        return None
    if is_admin and session.get("enterprise_id"):
        ent_id = session.get("enterprise_id")
    if not ent_id and request and isinstance((request.view_args or {}).get("enterprise_id"), int):
        # A regulator's page of one enterprise shows that enterprise's times (access is checked by the view).
        ent_id = request.view_args["enterprise_id"]
    if not ent_id:
        return None
    name = enterprise_zone_name(int(ent_id))
    return name if timeutil.is_zone(name) else None


timeutil.register_enterprise_zone(enterprise_zone_name)
