"""Hazard reminders through the notification hooks: overdue (escalated to the managers), due soon, at once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from lms.core.db import db, utcnow
from lms.hazards import notifications, services
from tests.hazards.conftest import photo

DAY = dt.timedelta(days=1)


def _assigned(h, grade, deadline, at):
    hz = services.report(h.ent.id, h.worker, description="x", area_id=h.area.id, now=at)
    return services.assign(
        hz,
        h.manager,
        grade=grade,
        department_id=h.assignee_person.department_id,
        assignee_id=h.assignee_person.id,
        deadline=deadline,
        now=at,
    )


def test_daily_events(h):
    now = dt.datetime(2026, 12, 10, 2, 0)
    late = _assigned(h, "general", now - DAY, now - 9 * DAY)
    very_late = _assigned(h, "general", now - 5 * DAY, now - 9 * DAY)
    due = _assigned(h, "general", now + dt.timedelta(hours=20), now - DAY)
    _assigned(h, "general", now + 3 * DAY, now - DAY)  # not due yet
    events = notifications.daily_events(h.ent.id, now)
    got = sorted((e["key"].split(":")[0], e["user_id"], e["link"]) for e in events)
    managers = sorted([h.manager.id, h.manager2.id])
    assert got == sorted(
        [
            ("hazard-overdue", h.assignee.id, f"/hazards/{late.id}"),
            ("hazard-overdue", h.assignee.id, f"/hazards/{very_late.id}"),
            *[("hazard-escalated", m, f"/hazards/{very_late.id}") for m in managers],
            ("hazard-due", h.assignee.id, f"/hazards/{due.id}"),
        ]
    )
    assert all(late.code in str(e["message"]) for e in events if e["link"] == f"/hazards/{late.id}")
    # the same day again: the same keys (stored once)
    assert sorted(e["key"] for e in notifications.daily_events(h.ent.id, now)) == sorted(
        e["key"] for e in events
    )


def test_notifications_are_stored_by_the_daily_job_and_at_once(h):
    from lms.training.models import Notification
    from lms.training.notifications import generate

    _assigned(h, "major", utcnow() - DAY, utcnow() - 9 * DAY)
    generate(enterprise_ids=[h.ent.id])
    rows = list(
        db.session.scalars(
            select(Notification).where(Notification.enterprise_id == h.ent.id).order_by(Notification.id)
        )
    )
    hazard_rows = [n for n in rows if n.key.startswith("hazard-")]
    assert {n.user_id for n in hazard_rows} == {h.assignee.id, h.manager.id, h.manager2.id}
    assert all("YH-" in n.title for n in hazard_rows)
    generate(enterprise_ids=[h.ent.id])  # idempotent
    assert len(
        [
            n
            for n in db.session.scalars(select(Notification).where(Notification.enterprise_id == h.ent.id))
            if n.key.startswith("hazard-")
        ]
    ) == len(hazard_rows)

    # at once: a rectification tells the managers (not the rectifier)
    hz = _assigned(h, "general", utcnow() + 3 * DAY, utcnow())
    services.rectify(hz, h.manager, note="ok", photos=[photo()])
    notifications.announce(hz, "rectify")
    told = [
        n.user_id
        for n in db.session.scalars(
            select(Notification).where(Notification.key.like(f"hazard-rectified:{hz.id}:%"))
        )
    ]
    assert told == [h.manager2.id]
