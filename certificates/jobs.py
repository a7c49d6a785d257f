"""Bulk certificates as a background job: issue and/or render for a course, a department or a list of people,
and hand back one zip.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

from certificates import services
from certificates.documents import RendererCache, _path_for, write_zip
from certificates.models import REVOKED, Certificate
from certificates.services import N_
from lms.core.db import db
from lms.core.errors import DomainError
from lms.core.jobs import Job, JobContext, enqueue
from lms.core.sheets.values import normalize_employee_no
from lms.core.storage import save_path
from lms.ledger.models import TrainingRecord
from lms.org.models import Department, Person, User
from lms.org.services import subtree_ids

JOB_KIND = "certificate-bulk"
ACTIONS = ("issue", "render")
CHUNK = 25  # certificates per commit outside tests: short write transactions keep SQLite responsive


def start_bulk(
    enterprise_id: int,
    *,
    action: str,
    achievement: str | None = None,
    department_id: int | None = None,
    employee_nos: list[str] | None = None,
    actor: User | None = None,
) -> Job:
    """Check a bulk request and queue it; the job's result carries the zip's download link."""
    if action not in ACTIONS:
        raise DomainError(N_("Choose what to do."), field="action")
    if achievement:
        _parse_achievement(achievement)
    elif action == "issue":
        raise DomainError(N_("Choose the course or exam whose certificates to issue."), field="achievement")
    if department_id is not None:
        dept = db.session.get(Department, department_id)
        if dept is None or dept.enterprise_id != enterprise_id:
            raise DomainError(N_("Unknown department."), field="department")
    nos = [n for n in (normalize_employee_no(x) for x in (employee_nos or [])) if n]
    scope = {"achievement": achievement or None, "department_id": department_id, "employee_nos": nos}
    return enqueue(
        bulk_certificates,
        enterprise_id,
        action,
        scope,
        actor.id if actor else None,
        kind=JOB_KIND,
        enterprise_id=enterprise_id,
        created_by_id=actor.id if actor else None,
    )


def _parse_achievement(value: str) -> tuple[str, int]:
    kind, _, raw = (value or "").partition(":")
    if kind not in ("course", "exam") or not raw.isdigit():
        raise DomainError(N_("Unknown course or exam."), field="achievement")
    return kind, int(raw)


def _people(enterprise_id: int, scope: dict[str, Any]) -> Any:
    """Return a subquery of the ids of the people in scope."""
    q = select(Person.id).where(Person.enterprise_id == enterprise_id)
    if scope.get("department_id"):
        dept = db.session.get(Department, scope["department_id"])
        if dept is None or dept.enterprise_id != enterprise_id:
            raise DomainError(N_("Unknown department."))
        q = q.where(Person.department_id.in_(subtree_ids(dept)))
    if scope.get("employee_nos"):
        q = q.where(Person.employee_no.in_(scope["employee_nos"]))
    return q.scalar_subquery()


def bulk_certificates(
    ctx: JobContext, enterprise_id: int, action: str, scope: dict[str, Any], actor_id: int | None
) -> dict[str, Any]:
    """Issue (when asked) and render the certificates in scope, then zip them into storage."""
    actor = db.session.get(User, actor_id) if actor_id else None
    people = _people(enterprise_id, scope)
    achievement = _parse_achievement(scope["achievement"]) if scope.get("achievement") else None
    issued = 0
    if action == "issue" and achievement is not None:
        kind, object_id = achievement
        column = TrainingRecord.course_id if kind == "course" else TrainingRecord.exam_id
        records = db.session.scalars(
            select(TrainingRecord)
            .where(
                TrainingRecord.enterprise_id == enterprise_id,
                TrainingRecord.voided_at.is_(None),
                TrainingRecord.kind == kind,
                column == object_id,
                TrainingRecord.person_id.in_(people),
            )
            .order_by(TrainingRecord.person_id, TrainingRecord.completed_at.desc())
        ).all()
        ctx.progress(1, f"issuing {len(records)}")
        for i, rec in enumerate(records, start=1):
            if services.issue_for_record(rec, actor=actor).created:
                issued += 1
            if i % CHUNK == 0:
                _checkpoint(ctx, 1 + 29 * i / max(1, len(records)), f"issued {i}/{len(records)}")
        _checkpoint(ctx, 30, f"issued {issued}")

    q = select(Certificate).where(
        Certificate.enterprise_id == enterprise_id,
        Certificate.status != REVOKED,
        Certificate.person_id.in_(people),
    )
    if achievement is not None:
        kind, object_id = achievement
        q = q.where((Certificate.course_id if kind == "course" else Certificate.exam_id) == object_id)
    certs = db.session.scalars(q.order_by(Certificate.employee_no, Certificate.number)).all()
    total = len(certs)
    start = 30 if action == "issue" else 0

    def each(done: int) -> None:
        if done % CHUNK == 0 or done == total:
            _checkpoint(ctx, start + (99 - start) * done / max(1, total), f"rendered {done}/{total}")

    with tempfile.TemporaryDirectory(prefix="lms-certs-") as tmp:
        out = Path(tmp) / "certificates.zip"
        count = write_zip(certs, out, cache=RendererCache(), on_each=each)
        stamp = dt.date.today().strftime("%Y%m%d")
        stored = save_path(
            out,
            f"certificates-{stamp}-{ctx.job_id}.zip",
            purpose="certificate-bundle",
            enterprise_id=enterprise_id,
            uploaded_by_id=actor_id,
            content_type="application/zip",
        )
    ctx.progress(100, f"{count} certificates")
    return {
        "download_url": _path_for("certificates.bundle_download", job_id=ctx.job_id),
        "file_id": stored.id,
        "count": count,
        "issued": issued,
    }


def _checkpoint(ctx: JobContext, percent: float, message: str) -> None:
    """Commit what is done (outside tests) so other writers are not held up, then report progress."""
    if not ctx.eager:
        db.session.commit()
    ctx.progress(percent, message)
