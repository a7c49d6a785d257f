"""The offline demo: sessions with attendance from the real importer, one locked, idempotent."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import func, select

from lms.offline import demo
from lms.offline.models import Attendance, OfflineSession


def test_demo_load_is_idempotent(session, roster_enterprise, app):
    ctx = SimpleNamespace(
        accounts={},
        today=dt.date(2026, 11, 29),
        rng=random.Random(1),
        echo=print,
        media_dir=Path(app.config["MEDIA_DIR"]),
    )
    demo.load(roster_enterprise, ctx)
    statuses = dict(session.execute(select(OfflineSession.topic, OfflineSession.status)).all())
    assert statuses["全员消防应急疏散演练"] == "locked" and statuses["有限空间应急救援演练"] == "planned"
    assert statuses["有限空间作业安全"] == "recorded"
    count = session.scalar(select(func.count()).select_from(Attendance))
    assert count > 100
    demo.load(roster_enterprise, ctx)
    assert session.scalar(select(func.count()).select_from(Attendance)) == count
    assert session.scalar(select(func.count()).select_from(OfflineSession)) == len(statuses)


def test_demo_toolbox_talks_with_check_ins(session, roster_enterprise, app):
    """The team leader's toolbox talks of the last working days, with QR check-ins that became records."""
    from lms.ledger.models import TrainingRecord
    from lms.offline.checkin import is_team_leader
    from lms.offline.models import KIND_TOOLBOX, CheckIn
    from lms.org.models import Person, User

    leader = session.scalar(
        select(User).join(Person, Person.id == User.person_id).where(Person.employee_no == "GA1020")
    )
    assert is_team_leader(leader)
    ctx = SimpleNamespace(
        accounts={"teamleader": leader},
        today=dt.date(2026, 12, 4),
        rng=random.Random(1),
        echo=print,
        media_dir=Path(app.config["MEDIA_DIR"]),
    )
    demo.load(roster_enterprise, ctx)
    talks = session.scalars(
        select(OfflineSession).where(OfflineSession.kind == KIND_TOOLBOX).order_by(OfflineSession.starts_at)
    ).all()
    assert len(talks) == 5 and all(t.status == "recorded" and not t.checkin_open for t in talks)
    assert all(t.created_by_id == leader.id and t.category == "班前会" for t in talks)
    check_ins = session.scalar(select(func.count()).select_from(CheckIn))
    assert check_ins > 5 * 15
    live = session.scalar(
        select(func.count())
        .select_from(TrainingRecord)
        .where(TrainingRecord.source.in_([t.source for t in talks]), TrainingRecord.voided_at.is_(None))
    )
    assert live == check_ins  # one live record per check-in, checked out or not
    demo.load(roster_enterprise, ctx)
    assert session.scalar(select(func.count()).select_from(CheckIn)) == check_ins
