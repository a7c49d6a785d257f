"""Reminders of the training status: in-app notifications (due soon, in grace, overdue, expired) for learners and
a summary for managers, e-mailed when LMS_SMTP_URL is set.

The rows are stored like every other notification (``lms.training.notifications.store``): translatable messages
shown in the reader's language, one row per user and key, so this job and ``lms notify`` never tell one event
twice. The words are those of lms.training.glossary (即将到期, 宽限期内, 已逾期, 已过期), with the same meanings.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import url_for
from sqlalchemy import select

from lms.core.db import db
from lms.core.i18n import Message, msg
from lms.org.models import MANAGER, Enterprise, User
from lms.org.timezone import enterprise_today
from lms.training.coverage import named_list
from lms.training.models import DUE_SOON, EXPIRED, IN_GRACE, OVERDUE
from lms.training.notifications import event, store


def _title(status: str, name: str, due: dt.date | None) -> Message:
    day = due.isoformat() if due else "—"
    return {
        DUE_SOON: msg("Training due soon: %(name)s (by %(day)s)", name=name, day=day),
        IN_GRACE: msg("Past its due date (in grace): %(name)s", name=name),
        OVERDUE: msg("Overdue: %(name)s (was due on %(day)s)", name=name, day=day),
        EXPIRED: msg("Expired: %(name)s: train again", name=name),
    }[status]


def send_reminders(as_of: dt.date | None = None, enterprise_ids: list[int] | None = None) -> dict[str, int]:
    """Create the notifications due at ``as_of`` (idempotent per status and due date) and e-mail them."""
    q = select(Enterprise.id)
    if enterprise_ids is not None:
        q = q.where(Enterprise.id.in_(enterprise_ids))
    created = emailed = 0
    for ent_id in list(db.session.scalars(q.order_by(Enterprise.id))):
        # Each enterprise's own calendar day: at 01:00 in Shanghai it is already tomorrow there.
        made = store(ent_id, _events(ent_id, as_of or enterprise_today(ent_id)))
        created += len(made)
        emailed += sum(1 for n in made if n.emailed_at is not None)
    return {"created": created, "emailed": emailed}


def _link(endpoint: str) -> str:
    try:
        return url_for(endpoint)
    except RuntimeError:  # no request or server name (a CLI run without LMS_PUBLIC_URL)
        return {"training.mine": "/training/mine", "training.dashboard": "/training/"}[endpoint]


def _events(ent_id: int, as_of: dt.date) -> list[dict[str, Any]]:
    rows = named_list(ent_id, as_of, statuses=(DUE_SOON, IN_GRACE, OVERDUE, EXPIRED))
    out = []
    mine = _link("training.mine")
    for r in rows:
        due = r["due_on"]
        day = due.isoformat() if due else "—"
        body = (
            msg(
                "Due on %(day)s; %(done)s of %(due)s hours done.",
                day=day,
                done=f"{r['hours_done'] or 0:g}",
                due=f"{r['hours_due']:g}",
            )
            if r["hours_due"]
            else msg("Due on %(day)s.", day=day)
        )
        out.append(
            event(
                r["status"],
                f"req:{r['requirement_id']}:{r['status']}:{due or ''}",
                _title(r["status"], r["requirement"], due),
                person_id=r["person_id"],
                link=mine,
                body=body,
            )
        )
    if rows:
        # People and requirements, each named (the dashboard's and the regulator's figures, same meaning).
        late = [r for r in rows if r["status"] in (OVERDUE, EXPIRED)]
        soon = [r for r in rows if r["status"] == DUE_SOON]
        summary = msg(
            "Training reminders of %(day)s: %(late_people)s people overdue or expired (%(late)s requirements), "
            "%(soon_people)s people due soon (%(soon)s requirements)",
            day=as_of.isoformat(),
            late_people=len({r["person_id"] for r in late}),
            late=len(late),
            soon_people=len({r["person_id"] for r in soon}),
            soon=len(soon),
        )
        managers = db.session.scalars(
            select(User.id).where(
                User.enterprise_id == ent_id, User.app_role == MANAGER, User.is_enabled.is_(True)
            )
        )
        dashboard = _link("training.dashboard")
        out += [
            event("summary", f"summary:{as_of.isoformat()}", summary, user_id=uid, link=dashboard)
            for uid in managers
        ]
    return out
