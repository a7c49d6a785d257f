"""Reminders: in-app notifications (due soon, overdue, expired) for learners, a summary for managers, and
optional e-mail through LMS_SMTP_URL."""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlparse

from flask import current_app
from sqlalchemy import select

from lms.core.db import db, utcnow
from lms.org.models import MANAGER, Enterprise, User
from lms.org.timezone import enterprise_today
from lms.training.coverage import named_list
from lms.training.models import DUE_SOON, EXPIRED, IN_GRACE, OVERDUE, Notification

log = logging.getLogger(__name__)

# The words of lms.training.glossary (即将到期, 宽限期内, 已逾期, 已过期), with the same meanings.
TITLES = {
    DUE_SOON: "培训即将到期：{req}",
    IN_GRACE: "培训已过应完成日期（宽限期内）：{req}",
    OVERDUE: "培训已逾期：{req}",
    EXPIRED: "培训/证书已过期：{req}",
}


def send_reminders(as_of: dt.date | None = None, enterprise_ids: list[int] | None = None) -> dict[str, int]:
    """Create the notifications due at ``as_of`` (idempotent per status and due date) and e-mail them."""
    q = select(Enterprise.id)
    if enterprise_ids is not None:
        q = q.where(Enterprise.id.in_(enterprise_ids))
    created: list[Notification] = []
    for ent_id in db.session.scalars(q.order_by(Enterprise.id)):
        # Each enterprise's own calendar day: at 01:00 in Shanghai it is already tomorrow there.
        created += _for_enterprise(ent_id, as_of or enterprise_today(ent_id))
    db.session.flush()
    emailed = _email(created)
    return {"created": len(created), "emailed": emailed}


def _for_enterprise(ent_id: int, as_of: dt.date) -> list[Notification]:
    rows = named_list(ent_id, as_of, statuses=(DUE_SOON, IN_GRACE, OVERDUE, EXPIRED))
    users = dict(
        db.session.execute(
            select(User.person_id, User.id).where(
                User.enterprise_id == ent_id, User.person_id.isnot(None), User.is_enabled.is_(True)
            )
        ).all()
    )
    managers = list(
        db.session.scalars(
            select(User.id).where(
                User.enterprise_id == ent_id, User.app_role == MANAGER, User.is_enabled.is_(True)
            )
        )
    )
    wanted: dict[tuple[int, str], dict[str, Any]] = {}
    for r in rows:
        uid = users.get(r["person_id"])
        if uid is None:
            continue
        key = f"req:{r['requirement_id']}:{r['status']}:{r['due_on'] or ''}"
        body = f"应完成日期：{r['due_on'] or '—'}"
        if r["hours_due"]:
            body += f"；已完成 {r['hours_done'] or 0} / {r['hours_due']} 学时"
        wanted[(uid, key)] = {
            "kind": r["status"],
            "title": TITLES[r["status"]].format(req=r["requirement"]),
            "body": body,
            "link": "/training/mine",
        }
    if rows:
        # People and requirements, each named (the dashboard's and the regulator's figures, same meaning).
        late_rows = [r for r in rows if r["status"] in (OVERDUE, EXPIRED)]
        soon_rows = [r for r in rows if r["status"] == DUE_SOON]
        late_people = len({r["person_id"] for r in late_rows})
        soon_people = len({r["person_id"] for r in soon_rows})
        for uid in managers:
            wanted[(uid, f"summary:{as_of.isoformat()}")] = {
                "kind": "summary",
                "title": f"培训提醒汇总 {as_of.isoformat()}：逾期或过期 {late_people} 人（{len(late_rows)} 项要求），"
                f"即将到期 {soon_people} 人（{len(soon_rows)} 项要求）",
                "body": None,
                "link": "/training/",
            }
    if not wanted:
        return []
    existing = set(
        db.session.execute(
            select(Notification.user_id, Notification.key).where(
                Notification.enterprise_id == ent_id, Notification.user_id.in_({u for u, _ in wanted})
            )
        ).all()
    )
    made = []
    for (uid, key), values in wanted.items():
        if (uid, key) in existing:
            continue
        n = Notification(enterprise_id=ent_id, user_id=uid, key=key, **values)
        db.session.add(n)
        made.append(n)
    return made


def _email(notes: list[Notification]) -> int:
    url = current_app.config.get("SMTP_URL")
    if not url or not notes:
        return 0
    addresses = dict(db.session.execute(select(User.id, User.username)).all())  # usernames are not addresses
    parsed = urlparse(url)
    sent = 0
    try:
        smtp_cls = smtplib.SMTP_SSL if parsed.scheme == "smtps" else smtplib.SMTP
        with smtp_cls(
            parsed.hostname or "localhost", parsed.port or (465 if parsed.scheme == "smtps" else 25)
        ) as s:
            if parsed.scheme == "smtp+starttls":
                s.starttls()
            if parsed.username:
                s.login(unquote(parsed.username), unquote(parsed.password or ""))
            for n in notes:
                to = addresses.get(n.user_id) or ""
                if "@" not in to:
                    continue
                msg = EmailMessage()
                msg["From"], msg["To"], msg["Subject"] = current_app.config["MAIL_FROM"], to, n.title
                msg.set_content(
                    (n.body or n.title) + "\n" + (current_app.config.get("PUBLIC_URL") or "") + (n.link or "")
                )
                s.send_message(msg)
                n.emailed_at = utcnow()
                sent += 1
    except OSError as exc:  # e-mail is a convenience: in-app notifications stay
        log.warning("reminder e-mail failed: %s", exc)
    return sent


def unread_count(user_id: int) -> int:
    """How many unread notifications a user has."""
    from sqlalchemy import func

    return int(
        db.session.scalar(
            select(func.count()).where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )
