"""Demo certificates: a template for DEMO, certificates for the demo's completed courses and passed exams,
one revoked and one expired, their PDFs rendered. Idempotent.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from certificates import services
from certificates.documents import RendererCache, ensure_pdf
from certificates.models import REVOKED, Certificate
from courses.models import Course
from lms.core.db import db
from lms.ledger.models import KIND_COURSE, KIND_EXAM, TrainingRecord
from lms.org.models import Enterprise
from quizzes.models import Exam

MAX_FROM_LEDGER = 40
REVOKE_REASON = "演示：证书信息录入有误，已作废"


def _flagged(record: TrainingRecord) -> bool:
    """Whether the course or exam of a record is set to issue certificates (True if it was deleted)."""
    if record.kind == KIND_COURSE:
        obj = db.session.get(Course, record.course_id)
    else:
        obj = db.session.get(Exam, record.exam_id)
    return obj is None or services.issues_certificate(obj)


def load(enterprise: Enterprise, ctx: Any) -> None:
    """Load the demo's certificates into ``enterprise``."""
    tpl = services.get_template(enterprise.id)
    services.update_template(
        tpl,
        actor=None,
        title="安全培训合格证书",
        subtitle="Certificate of Safety Training",
        issuer=enterprise.name,
    )
    records = db.session.scalars(
        select(TrainingRecord)
        .where(
            TrainingRecord.enterprise_id == enterprise.id,
            TrainingRecord.voided_at.is_(None),
            ((TrainingRecord.kind == KIND_COURSE) & TrainingRecord.course_id.is_not(None))
            | (
                (TrainingRecord.kind == KIND_EXAM)
                & TrainingRecord.exam_id.is_not(None)
                & TrainingRecord.passed.is_not(False)
            ),
        )
        .order_by(TrainingRecord.completed_at.desc(), TrainingRecord.id)
        .limit(MAX_FROM_LEDGER * 3)
    ).all()
    certs: list[Certificate] = []
    for rec in records:
        if len(certs) >= MAX_FROM_LEDGER:
            break
        if _flagged(rec):
            certs.append(services.issue_for_record(rec).certificate)
    # Without courses or exams in the demo yet, the learner still gets a certificate to look at.
    learner = ctx.accounts.get("learner")
    people = [learner.person] if learner is not None and learner.person is not None else []
    people += [p for no, p in sorted(ctx.people.items())[:4] if p not in people]
    for i, person in enumerate(people):
        if len(certs) >= 4:
            break
        issued_on = ctx.today - dt.timedelta(days=400 - 30 * i)
        certs.append(
            services.issue(
                person,
                kind="manual",
                source=f"demo:three-level:{person.id}",
                title="新员工三级安全教育（厂级）",
                hours=24,
                score=95 - i,
                issued_on=issued_on,
                valid_until=services.validity_end(issued_on, 36),
            ).certificate
        )
    certs = list(dict.fromkeys(certs))
    if len(certs) >= 3:
        # One revoked (not the learner's first), one expired.
        revoked, expired = certs[-1], certs[-2]
        if revoked.status != REVOKED:
            services.revoke(revoked, REVOKE_REASON, actor=None)
        if expired.status != REVOKED and (expired.valid_until is None or expired.valid_until >= ctx.today):
            services.set_valid_until(expired, ctx.today - dt.timedelta(days=15))
    services.expire_due(ctx.today)
    cache = RendererCache()
    for cert in certs:
        ensure_pdf(cert, cache=cache)
    db.session.flush()
    ctx.echo(f"  certificates: {len(certs)} (template version {tpl.version})")
