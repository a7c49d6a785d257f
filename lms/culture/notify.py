"""Safety notices in the learner's notifications (lms.training.notifications, through lms.core.signals): a
published notice the person has not acknowledged yet (签收)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, has_request_context, url_for
from sqlalchemy import select

from lms.core.db import db
from lms.core.i18n import msg
from lms.core.signals import notification_events
from lms.culture.models import Notice, NoticeAck


def _link(notice_id: int) -> str:
    if has_request_context():
        return url_for("culture.notice", notice_id=notice_id)
    with current_app.test_request_context("/"):
        return url_for("culture.notice", notice_id=notice_id)


@notification_events.connect
def to_acknowledge(sender: Any, *, enterprise_id: int, as_of: dt.date, **_: Any) -> list[dict[str, Any]]:
    """One event per person and published notice still waiting for their acknowledgement."""
    rows = db.session.execute(
        select(Notice.id, Notice.title, NoticeAck.person_id)
        .join(NoticeAck, NoticeAck.notice_id == Notice.id)
        .where(
            Notice.enterprise_id == enterprise_id,
            Notice.status == "published",
            NoticeAck.acknowledged_at.is_(None),
        )
        .order_by(Notice.id, NoticeAck.person_id)
    ).all()
    return [
        {
            "kind": "notice",
            "key": f"notice:{nid}",
            "message": msg("New safety notice to acknowledge: %(title)s", title=title),
            "person_id": pid,
            "link": _link(nid),
            "body": None,
        }
        for nid, title, pid in rows
    ]
