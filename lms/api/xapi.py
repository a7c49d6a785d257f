"""xAPI (1.0.3): course completions, exam results and classroom attendance as statements, read from the ledger.

Each live training record of kind course, exam or offline is one statement whose id is derived from the
record (the same record always gives the same id, so an LRS keeps it once however often it is sent). The actor
is an ``account`` (no e-mail: the enterprise's home page and the person's 工号). Verbs are ADL's.
When LMS_XAPI_ENDPOINT (with LMS_XAPI_USER / LMS_XAPI_PASSWORD) is set, ``lms xapi send`` queues a background job
that posts the statements not yet delivered, retrying with a growing wait.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import time
import urllib.error
import urllib.request
import uuid
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import select

from lms.core.db import db, utcnow
from lms.core.timeutil import iso_local
from lms.core.urls import public_base
from lms.ledger.models import KIND_COURSE, KIND_EXAM, KIND_OFFLINE, TrainingRecord
from lms.org.models import Enterprise, Person

log = logging.getLogger(__name__)

NAMESPACE = uuid.UUID("6f0b9e0e-3d1c-5a8e-9f3e-0a1b2c3d4e5f")
VERSION = "1.0.3"
ADL = "http://adlnet.gov/expapi"
VERBS = {
    "completed": (f"{ADL}/verbs/completed", "completed", "完成"),
    "passed": (f"{ADL}/verbs/passed", "passed", "通过"),
    "failed": (f"{ADL}/verbs/failed", "failed", "未通过"),
    "attended": (f"{ADL}/verbs/attended", "attended", "参加"),
    "voided": (f"{ADL}/verbs/voided", "voided", "作废"),
}
ACTIVITY_TYPES = {
    KIND_COURSE: f"{ADL}/activities/course",
    KIND_EXAM: f"{ADL}/activities/assessment",
    KIND_OFFLINE: f"{ADL}/activities/meeting",
}
KINDS = (KIND_COURSE, KIND_EXAM, KIND_OFFLINE)
BATCH = 50


def home_page(ent: Enterprise) -> str:
    """The enterprise's home page: the ``homePage`` of its people's xAPI accounts."""
    return f"{public_base()}/enterprises/{ent.code}"


def statement_id(ent: Enterprise, record_id: int) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{ent.code}:training_record:{record_id}"))


def _duration(hours: Decimal | None) -> str | None:
    if not hours:
        return None
    minutes = int(Decimal(hours) * 45)  # one 学时 is one class period of 45 minutes
    return f"PT{minutes // 60}H{minutes % 60}M" if minutes % 60 else f"PT{minutes // 60}H"


def voiding_statement(ent: Enterprise, rec: TrainingRecord, person: Person) -> dict[str, Any]:
    """The statement that voids the one sent for ``rec`` (the record was voided after it was sent)."""
    iri, en, zh = VERBS["voided"]
    return {
        "id": str(uuid.uuid5(NAMESPACE, f"{ent.code}:training_record:{rec.id}:voided")),
        "version": VERSION,
        "actor": {
            "objectType": "Agent",
            "name": person.name,
            "account": {"homePage": home_page(ent), "name": person.employee_no},
        },
        "verb": {"id": iri, "display": {"en-US": en, "zh-CN": zh}},
        "object": {"objectType": "StatementRef", "id": statement_id(ent, rec.id)},
        "timestamp": iso_local(rec.voided_at, ent, "seconds"),
    }


def statement(ent: Enterprise, rec: TrainingRecord, person: Person) -> dict[str, Any]:
    """One record as an xAPI statement."""
    base = public_base()
    if rec.kind == KIND_EXAM:
        verb = "passed" if rec.passed else ("failed" if rec.passed is False else "completed")
        activity = f"{base}/xapi/activities/exam/{rec.exam_id}" if rec.exam_id else None
    elif rec.kind == KIND_COURSE:
        verb = "completed"
        activity = f"{base}/xapi/activities/course/{rec.course_id}" if rec.course_id else None
    else:
        verb = "attended"
        prefix, _sep, rest = rec.source.partition(":")
        activity = f"{base}/xapi/activities/{prefix}/{rest}" if prefix == "offline_session" and rest else None
    iri, en, zh = VERBS[verb]
    result: dict[str, Any] = {"completion": True}
    if rec.passed is not None:
        result["success"] = bool(rec.passed)
    if rec.score is not None:
        result["score"] = {"raw": float(rec.score)}
    duration = _duration(rec.hours)
    if duration:
        result["duration"] = duration
    out: dict[str, Any] = {
        "id": statement_id(ent, rec.id),
        "version": VERSION,
        "actor": {
            "objectType": "Agent",
            "name": person.name,
            "account": {"homePage": home_page(ent), "name": person.employee_no},
        },
        "verb": {"id": iri, "display": {"en-US": en, "zh-CN": zh}},
        "object": {
            "objectType": "Activity",
            "id": activity or f"{base}/xapi/activities/record/{ent.code}/{rec.id}",
            "definition": {"name": {"zh-CN": rec.topic}, "type": ACTIVITY_TYPES[rec.kind]},
        },
        "result": result,
        "context": {
            "platform": "safety-lms",
            "language": "zh-CN",
            "extensions": {f"{base}/xapi/extensions/hours": f"{Decimal(rec.hours or 0):.2f}"},
        },
        "timestamp": iso_local(rec.completed_at, ent, "seconds"),
    }
    if rec.category:
        out["context"]["extensions"][f"{base}/xapi/extensions/category"] = rec.category
    return out


def statements(
    ent: Enterprise,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    after_id: int = 0,
    limit: int | None = None,
) -> tuple[list[dict[str, Any]], int | None]:
    """The enterprise's statements in record order (UTC bounds on completion); and the last record id of the page
    when more follow."""
    q = (
        select(TrainingRecord, Person)
        .join(Person, Person.id == TrainingRecord.person_id)
        .where(
            TrainingRecord.enterprise_id == ent.id,
            TrainingRecord.voided_at.is_(None),
            TrainingRecord.kind.in_(KINDS),
            TrainingRecord.id > after_id,
        )
        .order_by(TrainingRecord.id)
    )
    if since is not None:
        q = q.where(TrainingRecord.completed_at >= since)
    if until is not None:
        q = q.where(TrainingRecord.completed_at < until)
    if limit is not None:
        q = q.limit(limit + 1)
    rows = db.session.execute(q).all()
    more = limit is not None and len(rows) > limit
    rows = rows[:limit] if limit is not None else rows
    return [statement(ent, rec, person) for rec, person in rows], (rows[-1][0].id if more and rows else None)


# ------------------------------------------------------------------------------------------ sending to an LRS


def lrs_config() -> dict[str, Any] | None:
    """The configured LRS (endpoint, user, password), or None."""
    cfg = current_app.config
    endpoint = cfg.get("XAPI_ENDPOINT") or os.environ.get("LMS_XAPI_ENDPOINT")
    if not endpoint:
        return None
    return {
        "endpoint": endpoint.rstrip("/"),
        "user": cfg.get("XAPI_USER") or os.environ.get("LMS_XAPI_USER") or "",
        "password": cfg.get("XAPI_PASSWORD") or os.environ.get("LMS_XAPI_PASSWORD") or "",
        "attempts": int(cfg.get("XAPI_ATTEMPTS") or os.environ.get("LMS_XAPI_ATTEMPTS") or 5),
        "backoff": float(cfg.get("XAPI_BACKOFF") or os.environ.get("LMS_XAPI_BACKOFF") or 2.0),
        "timeout": float(cfg.get("XAPI_TIMEOUT") or 30),
    }


class LrsError(Exception):
    """The LRS refused or could not be reached after every retry."""


def post(cfg: dict[str, Any], batch: list[dict[str, Any]]) -> int:
    """POST a batch of statements, retrying (wait backoff, 2×backoff, 4×…) on a failure; return the attempts."""
    body = json.dumps(batch, ensure_ascii=False).encode("utf-8")
    auth = base64.b64encode(f"{cfg['user']}:{cfg['password']}".encode()).decode("ascii")
    last = ""
    for attempt in range(1, cfg["attempts"] + 1):
        req = urllib.request.Request(
            cfg["endpoint"] + "/statements",
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Experience-API-Version": VERSION,
                "Authorization": f"Basic {auth}",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=cfg["timeout"]) as resp:  # noqa: S310 - the operator's URL
                if 200 <= resp.status < 300:
                    return attempt
                last = f"HTTP {resp.status}"
        except urllib.error.HTTPError as exc:
            if exc.code == 409:  # the LRS holds these ids already
                return attempt
            last = f"HTTP {exc.code}"
            if 400 <= exc.code < 500 and exc.code not in (408, 429):
                raise LrsError(f"the LRS refused the statements: {last}") from exc
        except (urllib.error.URLError, OSError) as exc:
            last = str(getattr(exc, "reason", exc))
        log.warning("xAPI: attempt %s of %s failed (%s)", attempt, cfg["attempts"], last)
        if attempt < cfg["attempts"]:
            time.sleep(cfg["backoff"] * 2 ** (attempt - 1))
    raise LrsError(f"the LRS could not take the statements after {cfg['attempts']} attempts: {last}")


def send_pending(ctx: Any, enterprise_id: int) -> dict[str, Any]:
    """Job: send the enterprise's statements not yet delivered to the configured LRS."""
    from lms.api.models import XapiDelivery

    cfg = lrs_config()
    if cfg is None:
        return {"sent": 0, "skipped": "no LMS_XAPI_ENDPOINT"}
    ent = db.session.get(Enterprise, enterprise_id)
    if ent is None:
        return {"sent": 0}
    delivered = set(
        db.session.scalars(
            select(XapiDelivery.statement_id).where(
                XapiDelivery.enterprise_id == ent.id, XapiDelivery.sent_at.is_not(None)
            )
        )
    )
    items, _last = statements(ent)
    pending = [s for s in items if s["id"] not in delivered]
    # Records voided after their statement was sent: the LRS is told with a voiding statement (sent once).
    for rec, person in db.session.execute(
        select(TrainingRecord, Person)
        .join(Person, Person.id == TrainingRecord.person_id)
        .where(
            TrainingRecord.enterprise_id == ent.id,
            TrainingRecord.voided_at.is_not(None),
            TrainingRecord.kind.in_(KINDS),
        )
        .order_by(TrainingRecord.id)
    ):
        if statement_id(ent, rec.id) in delivered:
            voiding = voiding_statement(ent, rec, person)
            if voiding["id"] not in delivered:
                pending.append(voiding)
    sent = attempts = 0
    for start in range(0, len(pending), BATCH):
        batch = pending[start : start + BATCH]
        try:
            attempts += post(cfg, batch)
        except LrsError as exc:
            _note(ent.id, batch, None, str(exc))
            db.session.flush()
            raise
        _note(ent.id, batch, utcnow(), None)
        sent += len(batch)
        ctx.progress(100 * (start + len(batch)) / len(pending), f"{sent}/{len(pending)}")
    db.session.flush()
    return {"sent": sent, "attempts": attempts, "already": len(delivered)}


def _note(
    enterprise_id: int, batch: list[dict[str, Any]], sent_at: dt.datetime | None, error: str | None
) -> None:
    from lms.api.models import XapiDelivery

    for s in batch:
        row = db.session.get(XapiDelivery, s["id"])
        if row is None:
            row = XapiDelivery(statement_id=s["id"], enterprise_id=enterprise_id, attempts=0)
            db.session.add(row)
        row.attempts = (row.attempts or 0) + 1
        row.sent_at = sent_at or row.sent_at
        row.last_error = error[:2000] if error else None
