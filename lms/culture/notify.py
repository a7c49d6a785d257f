"""Safety notices in the learner's notifications (lms.training.notifications, through lms.core.signals): a
published notice the person has not acknowledged yet (签收).

At once when a notice is published or addressed to more people (``tell``, through the ``notify`` signal), and
again by the daily job for whoever still has not acknowledged it (``to_acknowledge``); one key per person and
notice, so never twice. Acknowledging marks the notification read (``acknowledged``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from flask import current_app, has_request_context, url_for
from sqlalchemy import select, update

from lms.core.db import db, utcnow
from lms.core.i18n import msg
from lms.core.signals import notification_events, notify
from lms.culture.models import Notice, NoticeAck
from lms.org.models import User
from lms.training.models import Notification


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
    return [_event(nid, title, pid) for nid, title, pid in rows]


def _event(notice_id: int, title: str, person_id: int) -> dict[str, Any]:
    return {
        "kind": "notice",
        "key": f"notice:{notice_id}",
        "message": msg("New safety notice to acknowledge: %(title)s", title=title),
        "person_id": person_id,
        "link": _link(notice_id),
        "body": None,
    }


def tell(notice: Notice, person_ids: Iterable[int] | None = None) -> int:
    """Notify now the recipients of a published notice who have not acknowledged it (only ``person_ids`` when
    given: people just added); return how many events were sent."""
    q = select(NoticeAck.person_id).where(
        NoticeAck.notice_id == notice.id, NoticeAck.acknowledged_at.is_(None)
    )
    if person_ids is not None:
        ids = sorted(set(person_ids))
        if not ids:
            return 0
        q = q.where(NoticeAck.person_id.in_(ids))
    events = [
        _event(notice.id, notice.title, pid) for pid in db.session.scalars(q.order_by(NoticeAck.person_id))
    ]
    if events:
        notify.send(None, enterprise_id=notice.enterprise_id, events=events)
    return len(events)


def acknowledged(notice: Notice, person_ids: Iterable[int]) -> None:
    """Mark read the notice's notification of people who have acknowledged it (nothing left to do there)."""
    ids = sorted(set(person_ids))
    if not ids:
        return
    users = select(User.id).where(User.person_id.in_(ids))
    db.session.execute(
        update(Notification)
        .where(
            Notification.user_id.in_(users),
            Notification.key == f"notice:{notice.id}",
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
