"""A requirement set to issue a certificate sends ``requirement_fulfilled`` when a person fulfils it.

Status is computed, not stored as events, so "fulfilled" is found by evaluating: when a commit changes
people's records, roles, post… (``lms.training.listeners`` collects them) and their enterprise has a requirement
with ``issue_certificate``, a background job evaluates those people against those requirements and sends
``requirement_fulfilled`` for every one complete today, with the validity the status gives (the end of the
calendar year, the rolling expiry, or none). The certificates package issues one certificate per person,
requirement and validity period, so sending again (a re-import, a second evaluation) never issues twice.
Turning ``issue_certificate`` on, or ``lms requirements issue-certificates``, sweeps a whole enterprise.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.core.db import db
from lms.core.jobs import JobContext, enqueue
from lms.core.signals import requirement_fulfilled
from lms.org.models import Person
from lms.org.timezone import enterprise_today
from lms.training.models import COMPLETE, Requirement

JOB_PEOPLE = 5000  # people per evaluation job


def _issuing_enterprises(session: Session) -> set[int]:
    return set(
        session.scalars(
            select(Requirement.enterprise_id)
            .where(Requirement.issue_certificate.is_(True), Requirement.active.is_(True))
            .distinct()
        )
    )


def after_people_changed(session: Session, people: set[int]) -> None:
    """Called (once per transaction) with the people whose status may have changed: evaluate them later."""
    enterprises = _issuing_enterprises(session)
    if not enterprises:
        return
    ids = sorted(people)
    per_ent: dict[int, list[int]] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(Person.id, Person.enterprise_id).where(
                Person.id.in_(ids[start : start + 500]), Person.enterprise_id.in_(enterprises)
            )
        )
        for pid, ent in rows:
            per_ent.setdefault(ent, []).append(pid)
    for ent, pids in per_ent.items():
        for start in range(0, len(pids), JOB_PEOPLE):
            enqueue(
                issue_fulfilled,
                ent,
                pids[start : start + JOB_PEOPLE],
                kind="requirement-certificates",
                enterprise_id=ent,
            )


def sweep(enterprise_id: int) -> Any:
    """Evaluate everyone of an enterprise in a background job (a requirement was set to issue certificates)."""
    return enqueue(
        issue_fulfilled, enterprise_id, None, kind="requirement-certificates", enterprise_id=enterprise_id
    )


def issue_fulfilled(
    ctx: JobContext | None, enterprise_id: int, person_ids: list[int] | None, as_of: str | None = None
) -> dict[str, Any]:
    """Send ``requirement_fulfilled`` for each person (all when None) complete today on an issuing requirement."""
    from lms.training import reading

    day = dt.date.fromisoformat(as_of) if as_of else enterprise_today(enterprise_id)
    reqs = {
        r.id: r
        for r in db.session.scalars(
            select(Requirement).where(
                Requirement.enterprise_id == enterprise_id,
                Requirement.issue_certificate.is_(True),
                Requirement.active.is_(True),
            )
        )
    }
    if not reqs:
        return {"fulfilled": 0}
    pf = Person.id.in_(person_ids) if person_ids is not None else None
    rows = [
        r for r in reading.rows(enterprise_id, day, pf, requirement_ids=list(reqs)) if r["status"] == COMPLETE
    ]
    people: dict[int, Person] = {}
    ids = sorted({r["person_id"] for r in rows})
    for start in range(0, len(ids), 500):
        for p in db.session.scalars(select(Person).where(Person.id.in_(ids[start : start + 500]))):
            people[p.id] = p
    for n, row in enumerate(rows, 1):
        req = reqs[row["requirement_id"]]
        requirement_fulfilled.send(
            req, person=people[row["person_id"]], requirement=req, valid_until=row["valid_until"]
        )
        if ctx is not None and n % 200 == 0:
            ctx.progress(100 * n / len(rows), f"{n} / {len(rows)}")
    return {"fulfilled": len(rows)}
