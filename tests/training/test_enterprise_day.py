"""Whose "today": the enterprise's calendar day, never the server's (issue 15, "Times are local, everywhere").

At 01:30 in Shanghai on 11 December the server, on UTC, still reads 10 December. A requirement due on
10 December is overdue for the people there from their midnight on: the status rows, the learner's page, the
kept rows behind the dashboard and the reminders must all say so, and none of them may say it at 23:30.
The clock is ``lms.core.timeutil._now_utc`` (every "today" of the product reads it); the server's own date is
never consulted, so these tests hold whatever time of day they run at.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from lms.core import timeutil
from lms.core.db import db
from lms.org.timezone import enterprise_today
from lms.training import cache, reading
from lms.training.models import OVERDUE, Notification
from lms.training.reminders import send_reminders
from tests.conftest import login
from tests.training.helpers import requirement, status_of

DUE = dt.date(2026, 12, 10)
AFTER_LOCAL_MIDNIGHT = dt.datetime(2026, 12, 10, 17, 30, tzinfo=dt.UTC)  # 2026-12-11 01:30 in Shanghai
BEFORE_LOCAL_MIDNIGHT = dt.datetime(2026, 12, 10, 15, 30, tzinfo=dt.UTC)  # 2026-12-10 23:30 in Shanghai


@pytest.fixture
def clock(monkeypatch):
    def set_to(when: dt.datetime) -> None:
        monkeypatch.setattr(timeutil, "_now_utc", lambda: when)

    return set_to


@pytest.fixture
def night_shift(enterprise, make_person):
    """A person whose only requirement falls due on DUE (hired 30 days before, 30 days allowed)."""
    req = requirement(enterprise, name="入厂安全培训", initial_days=30, reminder_days=14)
    person = make_person(enterprise, name="夜班工", hire_date=DUE - dt.timedelta(days=30))
    assert status_of(enterprise, person, req, DUE)["due_on"] == DUE  # the case is what it says
    return req, person


def test_the_day_is_the_enterprises(enterprise, make_enterprise, clock):
    clock(AFTER_LOCAL_MIDNIGHT)
    assert enterprise.time_zone == "Asia/Shanghai"
    assert enterprise_today(enterprise.id) == cache.today(enterprise.id) == DUE + dt.timedelta(days=1)
    on_utc = make_enterprise(time_zone="UTC")
    assert enterprise_today(on_utc.id) == cache.today(on_utc.id) == DUE


@pytest.mark.parametrize(("now", "late"), [(AFTER_LOCAL_MIDNIGHT, True), (BEFORE_LOCAL_MIDNIGHT, False)])
def test_my_training_turns_overdue_at_local_midnight(client, enterprise, night_shift, clock, now, late):
    req, person = night_shift
    clock(now)
    login(client, person.user)
    page = client.get("/training/mine").get_data(as_text=True)
    assert req.name in page
    assert ("已逾期" in page) is late
    rows = reading.person_rows(enterprise.id, person.id, enterprise_today(enterprise.id))
    assert [r["status"] == OVERDUE for r in rows if r["requirement_id"] == req.id] == [late]


def test_dashboard_figures_are_kept_for_the_local_day(client, enterprise, night_shift, login_as, clock):
    req, person = night_shift
    clock(AFTER_LOCAL_MIDNIGHT)
    login_as("manager")
    listing = client.get("/training/list?show=late").get_data(as_text=True)
    assert "夜班工" in listing
    # The page kept the enterprise's rows for its own day, so the next reader uses them.
    assert cache.usable(enterprise.id, DUE + dt.timedelta(days=1))
    assert not cache.usable(enterprise.id, DUE)


@pytest.mark.parametrize(("now", "late"), [(AFTER_LOCAL_MIDNIGHT, True), (BEFORE_LOCAL_MIDNIGHT, False)])
def test_reminders_run_on_each_enterprises_day(enterprise, night_shift, clock, now, late):
    req, person = night_shift
    clock(now)
    send_reminders(enterprise_ids=[enterprise.id])
    kinds = set(db.session.scalars(select(Notification.kind).where(Notification.user_id == person.user.id)))
    assert (OVERDUE in kinds) is late
