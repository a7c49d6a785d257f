"""Helpers for the training tests."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select

from lms.core.db import db, utcnow
from lms.ledger import services as ledger
from lms.ledger.models import TrainingRecord
from lms.training.models import Requirement
from lms.training.status import normalise, statuses

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


def status_key(rows: Any) -> dict[tuple[int, int], tuple[Any, ...]]:
    """Status rows by (person, requirement), what a kept row must say as the live one does."""
    return {
        (r["person_id"], r["requirement_id"]): (
            r["status"],
            None if r["hours_done"] is None else Decimal(r["hours_done"]),
            None if r["hours_due"] is None else Decimal(r["hours_due"]),
            r["due_on"],
            r["valid_until"],
            r["completed_at"],
            r["since"],
        )
        for r in rows
    }


def live_status(ent_id: int, as_of: dt.date) -> dict[tuple[int, int], tuple[Any, ...]]:
    """The live recompute (``status.statuses``) of the enterprise on ``as_of``, by ``status_key``."""
    return status_key(statuses(ent_id, as_of))


def kept_status(rows: Any) -> dict[tuple[int, int], tuple[Any, ...]]:
    """The kept status rows of a selectable (``cache.source``, a read's ``rows``), by ``status_key``."""
    return status_key(normalise(r) for r in db.session.execute(select(rows)).mappings())


def insert_records_in_bulk(ent_id: int, people: Any, hours: Decimal, completed_at: dt.datetime) -> None:
    """One Core INSERT of an offline record per person (as a bulk import writes them, not through the ledger)."""
    db.session.execute(
        insert(TrainingRecord),
        [
            dict(
                enterprise_id=ent_id,
                person_id=p.id,
                kind="offline",
                topic="班组安全活动",
                hours=hours,
                completed_at=completed_at,
                source=f"bulk:{p.id}",
                created_at=utcnow(),
            )
            for p in people
        ],
    )
