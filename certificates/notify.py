"""Certificates in the learner's notifications (lms.training.notifications, through lms.core.signals): a valid
certificate that expires within 30 days. Issuing one notifies at once (``certificate_issued``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, has_request_context, url_for
from sqlalchemy import select

from certificates.models import VALID, Certificate
from lms.core.db import db
from lms.core.i18n import msg
from lms.core.signals import notification_events

EXPIRING_WITHIN_DAYS = 30


def _link(cert_id: int) -> str:
    if has_request_context():
        return url_for("certificates.detail", cert_id=cert_id)
    with current_app.test_request_context("/"):
        return url_for("certificates.detail", cert_id=cert_id)


@notification_events.connect
def expiring(sender: Any, *, enterprise_id: int, as_of: dt.date, **_: Any) -> list[dict[str, Any]]:
    """Valid certificates of the enterprise whose validity ends within 30 days of ``as_of``."""
    rows = db.session.execute(
        select(Certificate.id, Certificate.person_id, Certificate.title, Certificate.valid_until)
        .where(
            Certificate.enterprise_id == enterprise_id,
            Certificate.status == VALID,
            Certificate.valid_until.isnot(None),
            Certificate.valid_until >= as_of,
            Certificate.valid_until <= as_of + dt.timedelta(days=EXPIRING_WITHIN_DAYS),
        )
        .order_by(Certificate.id)
    ).all()
    return [
        {
            "kind": "certificate",
            "key": f"certificate:{cid}:expires:{until}",
            "message": msg("Certificate expires on %(day)s: %(title)s", day=until.isoformat(), title=title),
            "person_id": pid,
            "link": _link(cid),
            "body": None,
        }
        for cid, pid, title, until in rows
    ]
