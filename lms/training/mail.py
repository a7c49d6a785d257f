"""E-mail of in-app notifications when LMS_SMTP_URL is set (one sender for every reminder)."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

from flask import current_app
from sqlalchemy import select

from lms.core.db import db, utcnow
from lms.org.models import User
from lms.training.models import Notification

log = logging.getLogger(__name__)


def send(notes: list[Notification]) -> int:
    """E-mail ``notes`` to their users whose user name is an address; return how many went."""
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
