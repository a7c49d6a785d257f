"""Reminders of hazards through the in-app notifications' hooks (``lms.core.signals``), whatever reads them.

- The daily job (``notification_events``): each overdue hazard reminds its responsible person; the safety
  managers are told too when it escalates (a 重大隐患, or more than ``ESCALATE_AFTER_DAYS`` days late; see
  ``services.overdue_hazards``); a hazard due within a day reminds its responsible person.
- At once (``notify``, sent by ``announce`` after a step): the responsible person when a hazard is assigned to
  them or sent back; the safety managers when a rectification waits for verification.

Keys make each reminder once per person, hazard and deadline. Texts are English templates translated for each
reader (their Chinese is in this package's catalogue).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from lms.core import signals, timeutil
from lms.core.db import db
from lms.core.i18n import msg
from lms.hazards import services
from lms.hazards.models import ASSIGNED, MAJOR, Hazard
from lms.org.models import MANAGER, User


def _event(
    kind: str, key: str, message: Any, user_id: int, hazard_id: int, body: Any = None
) -> dict[str, Any]:
    return {
        "kind": kind,
        "key": key[:120],
        "message": message,
        "person_id": None,
        "user_id": user_id,
        "link": f"/hazards/{hazard_id}",
        "body": body,
    }


def _stamp(deadline: dt.datetime | None) -> str:
    return f"{deadline:%Y%m%d%H%M}" if deadline else "-"


def _local(value: dt.datetime | None, enterprise_id: int) -> str:
    from lms.org.models import Enterprise

    return timeutil.format_local(value, db.session.get(Enterprise, enterprise_id))


def daily_events(enterprise_id: int, now: dt.datetime) -> list[dict[str, Any]]:
    """The reminders due at ``now`` (naive UTC) for the enterprise's hazards (idempotent by key)."""
    events = []
    for o in services.overdue_hazards(enterprise_id, now):
        late = msg(
            "Hazard %(code)s is overdue (deadline %(deadline)s): rectify it and report the rectification.",
            code=o["code"],
            deadline=_local(o["deadline"], enterprise_id),
        )
        escalated = msg(
            "Hazard %(code)s is %(days)s day(s) overdue: %(place)s, %(department)s.",
            code=o["code"],
            days=o["days_overdue"],
            place=o["place"] or "—",
            department=o["department"] or "—",
        )
        for uid in o["notify_user_ids"]:
            if uid == o["assignee_user_id"]:
                events.append(
                    _event(
                        "overdue",
                        f"hazard-overdue:{o['hazard_id']}:{_stamp(o['deadline'])}",
                        late,
                        uid,
                        o["hazard_id"],
                    )
                )
            else:
                events.append(
                    _event(
                        "overdue",
                        f"hazard-escalated:{o['hazard_id']}:{_stamp(o['deadline'])}",
                        escalated,
                        uid,
                        o["hazard_id"],
                    )
                )
    soon = db.session.execute(
        select(Hazard, User.id)
        .join(User, (User.person_id == Hazard.assignee_id) & User.is_enabled.is_(True))
        .where(
            Hazard.enterprise_id == enterprise_id,
            Hazard.status == ASSIGNED,
            Hazard.deadline >= now,
            Hazard.deadline < now + dt.timedelta(days=1),
        )
        .order_by(Hazard.deadline, Hazard.id)
    ).all()
    for hazard, uid in soon:
        events.append(
            _event(
                "due",
                f"hazard-due:{hazard.id}:{_stamp(hazard.deadline)}",
                msg(
                    "Hazard %(code)s is due %(deadline)s: rectify it and report the rectification.",
                    code=hazard.code,
                    deadline=_local(hazard.deadline, enterprise_id),
                ),
                uid,
                hazard.id,
            )
        )
    return events


@signals.notification_events.connect
def _daily(sender: Any, *, enterprise_id: int, now: dt.datetime, **_: Any) -> list[dict[str, Any]]:
    return daily_events(enterprise_id, now)


def step_events(hazard: Hazard, action: str) -> list[dict[str, Any]]:
    """Who to tell at once after ``action`` on ``hazard``."""
    ent = hazard.enterprise_id
    if (
        action in ("assign", "reassign", "reject", "reopen")
        and hazard.status == ASSIGNED
        and hazard.assignee_id
    ):
        uid = db.session.scalar(
            select(User.id).where(User.person_id == hazard.assignee_id, User.is_enabled.is_(True))
        )
        if uid is None:
            return []
        text = (
            msg(
                "Major hazard %(code)s is assigned to you: rectify it by %(deadline)s.",
                code=hazard.code,
                deadline=_local(hazard.deadline, ent),
            )
            if hazard.grade == MAJOR
            else msg(
                "Hazard %(code)s is assigned to you: rectify it by %(deadline)s.",
                code=hazard.code,
                deadline=_local(hazard.deadline, ent),
            )
        )
        if action == "reject":
            text = msg(
                "The rectification of hazard %(code)s was not accepted: see why and rectify it by %(deadline)s.",
                code=hazard.code,
                deadline=_local(hazard.deadline, ent),
            )
        last = hazard.events[-1].id if hazard.events else 0
        return [_event("assigned", f"hazard-{action}:{hazard.id}:{last}", text, uid, hazard.id)]
    if action == "rectify":
        managers = db.session.scalars(
            select(User.id)
            .where(
                User.enterprise_id == ent,
                User.app_role == MANAGER,
                User.is_enabled.is_(True),
                User.id != hazard.rectified_by_id,
            )
            .order_by(User.id)
        )
        last = hazard.events[-1].id if hazard.events else 0
        text = msg("Hazard %(code)s was rectified: verify it.", code=hazard.code)
        return [
            _event("due", f"hazard-rectified:{hazard.id}:{last}", text, uid, hazard.id) for uid in managers
        ]
    return []


def announce(hazard: Hazard, action: str) -> None:
    """Tell the people concerned at once (stored in this unit of work by whoever listens to ``notify``)."""
    events = step_events(hazard, action)
    if events:
        signals.notify.send(None, enterprise_id=hazard.enterprise_id, events=events)
