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
