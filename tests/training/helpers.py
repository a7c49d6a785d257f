"""Helpers for the training tests."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from lms.core.db import db
from lms.ledger import services as ledger
from lms.training.models import Requirement
from lms.training.status import statuses

_n = itertools.count(1)


def requirement(ent: Any, **kw: Any) -> Requirement:
    values = {
        "name": f"要求{next(_n)}",
        "kind": "hours",
        "applies_to": "everyone",
        "hours_required": Decimal(8),
        "recurrence": "once",
        "initial_days": 30,
        "grace_days": 0,
        "reminder_days": 14,
        "active": True,
    }
    values.update(kw)
    req = Requirement(enterprise_id=ent.id, **values)
    db.session.add(req)
    db.session.flush()
    return req


def rec(person: Any, when: dt.date | dt.datetime, hours: float = 0, kind: str = "offline", **kw: Any) -> Any:
    at = when if isinstance(when, dt.datetime) else dt.datetime(when.year, when.month, when.day, 9, 0)
    kw.setdefault("topic", "安全培训")
    return ledger.record(
        person, kind=kind, hours=hours, completed_at=at, source=kw.pop("source", f"test:{next(_n)}"), **kw
    ).record


def status_of(ent: Any, person: Any, req: Requirement, as_of: dt.date) -> dict[str, Any] | None:
    rows = [r for r in statuses(ent.id, as_of, [req.id]) if r["person_id"] == person.id]
    return rows[0] if rows else None
