"""The ledger: re-recording a source replaces, never doubles; voiding keeps the row."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from lms.core.db import db
from lms.core.errors import DomainError
from lms.ledger import services as ledger
from lms.ledger.models import TrainingRecord


def _live(person_id):
    return db.session.scalars(
        select(TrainingRecord).where(
            TrainingRecord.person_id == person_id, TrainingRecord.voided_at.is_(None)
        )
    ).all()


def test_same_source_replaces_and_identical_is_unchanged(make_person, enterprise):
    p = make_person(enterprise)
    at = dt.datetime(2026, 3, 1, 9, 0)
    r1 = ledger.record(
        p, kind="offline", topic="有限空间作业", source="offline_session:1", hours=4, completed_at=at
    )
    assert r1.outcome == "created"
    r2 = ledger.record(
        p,
        kind="offline",
        topic="有限空间作业",
        source="offline_session:1",
        hours=Decimal("4.00"),
        completed_at=at,
    )
    assert r2.outcome == "unchanged" and r2.record.id == r1.record.id
    r3 = ledger.record(
        p,
        kind="offline",
        topic="有限空间作业",
        source="offline_session:1",
        hours=4,
        completed_at=at,
        score=95,
    )
    assert r3.outcome == "replaced"
    live = _live(p.id)
    assert [r.id for r in live] == [r3.record.id]
    old = db.session.get(TrainingRecord, r1.record.id)
    assert old.voided_at is not None and old.replaced_by_id == r3.record.id
    assert ledger.hours_total(p.id) == Decimal("4")


def test_void_requires_reason_and_is_scoped(make_person, enterprise, make_enterprise):
    p = make_person(enterprise)
    rec = ledger.record(p, kind="manual", topic="外部培训", source="manual:x", hours=2).record
    with pytest.raises(DomainError):
        ledger.void(rec.id, reason=" ", actor=None)
    other = make_enterprise()
    with pytest.raises(DomainError):
        ledger.void(rec.id, reason="wrong", actor=None, enterprise_id=other.id)
    ledger.void(rec.id, reason="录入错误", actor=None, enterprise_id=enterprise.id)
    assert _live(p.id) == []
    assert (
        db.session.scalar(
            select(func.count()).select_from(TrainingRecord).where(TrainingRecord.person_id == p.id)
        )
        == 1
    )


def test_database_refuses_two_live_rows_for_one_source(make_person, enterprise):
    from sqlalchemy.exc import IntegrityError

    p = make_person(enterprise)
    now = dt.datetime(2026, 1, 1)
    db.session.add(
        TrainingRecord(
            enterprise_id=enterprise.id,
            person_id=p.id,
            kind="course",
            topic="a",
            hours=1,
            completed_at=now,
            source="dup",
        )
    )
    db.session.flush()
    nested = db.session.begin_nested()
    db.session.add(
        TrainingRecord(
            enterprise_id=enterprise.id,
            person_id=p.id,
            kind="course",
            topic="a",
            hours=1,
            completed_at=now,
            source="dup",
        )
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    nested.rollback()


def test_void_source_keeps_listed_people(make_person, enterprise):
    a, b = make_person(enterprise), make_person(enterprise)
    for p in (a, b):
        ledger.record(p, kind="offline", topic="消防演练", source="offline_session:9", hours=2)
    assert (
        ledger.void_source("offline_session:9", reason="not on the corrected sheet", keep_person_ids={a.id})
        == 1
    )
    assert len(_live(a.id)) == 1 and _live(b.id) == []


def test_manual_record_through_the_page(client, login_as, make_person, enterprise):
    login_as("manager")
    p = make_person(enterprise)
    r = client.post(
        f"/records/person/{p.id}/new",
        data={
            "kind": "certificate",
            "topic": "特种作业操作证（电工）",
            "category": "用电安全",
            "level": "",
            "hours": "0",
            "completed_on": "2024-05-01",
            "certificate_no": "T123",
            "valid_until": "2030-05-01",
            "note": "",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:800]
    rec = _live(p.id)[0]
    assert rec.kind == "certificate" and rec.valid_until == dt.date(2030, 5, 1)


def test_learner_cannot_add_records(client, login_as, make_person, enterprise):
    login_as("learner")
    p = make_person(enterprise)
    assert client.get(f"/records/person/{p.id}/new").status_code == 403
