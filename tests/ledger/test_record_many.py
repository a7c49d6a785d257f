"""ledger.record_many: the same outcomes and rows as one record() call per item, in a few statements."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from lms.core.db import db
from lms.core.errors import DomainError
from lms.ledger import services as ledger
from lms.ledger.models import TrainingRecord
from tests.statements import recorded_statements

AT = dt.datetime(2026, 3, 1, 9, 0)


def _fact(**changes: Any) -> dict[str, Any]:
    fact = {
        "kind": "offline",
        "topic": "有限空间作业",
        "hours": 4,
        "completed_at": AT,
        "category": "有限空间",
    }
    fact.update(changes)
    return fact


# Rounds of (person index, source suffix, fact): each round is one record_many call, or one record() per item.
ROUNDS: list[list[tuple[int, str, dict[str, Any]]]] = [
    [  # all new, two sources
        (0, "1", _fact()),
        (1, "1", _fact(score=Decimal("80"))),
        (2, "1", _fact(passed=True, level="team")),
        (3, "1", _fact(hours=Decimal("2.5"))),
        (0, "2", _fact(topic="动火作业", kind="exam", exam_id=7, score=90.5)),
    ],
    [  # identical (in another spelling: 4 vs Decimal("4.00"), padded topic) → unchanged; changed → replaced
        (0, "1", _fact(hours=Decimal("4.00"), topic=" 有限空间作业 ")),
        (1, "1", _fact(score=Decimal("85"))),
        (2, "1", _fact(passed=True, level="workshop")),
        (3, "1", _fact(hours=Decimal("2.50"), completed_at=AT.replace(microsecond=5))),
        (4, "1", _fact()),  # new person
        (0, "2", _fact(topic="动火作业", kind="exam", exam_id=7, score=Decimal("90.50"))),
    ],
    [  # the same person and source twice in one call: created then replaced, then unchanged
        (5, "1", _fact(score=1)),
        (5, "1", _fact(score=2)),
        (5, "1", _fact(score=2)),
        (1, "1", _fact(score=Decimal("85"), evidence={"note": "ignored: unchanged"})),
        # another source of the same person: another day (two records may not overlap)
        (1, "2", _fact(note="a note", evidence={"row": 3}, completed_at=AT + dt.timedelta(days=1))),
    ],
    [  # replaced again, after a chunk boundary too
        (1, "1", _fact(score=None)),
        (2, "1", _fact(passed=None)),
        (3, "1", _fact(valid_until=dt.date(2027, 1, 1), certificate_no="C-1")),
        (5, "1", _fact(score=3)),
        (4, "1", _fact()),
        (0, "1", _fact(course_id=12)),
    ],
]


def _state(people: list[Any], prefix: str) -> list[tuple[Any, ...]]:
    """Every row of the prefix's sources, ids replaced by their order, for comparison across prefixes."""
    index = {p.id: i for i, p in enumerate(people)}
    rows = db.session.scalars(
        select(TrainingRecord).where(TrainingRecord.source.like(f"{prefix}%")).order_by(TrainingRecord.id)
    ).all()
    order = {r.id: n for n, r in enumerate(rows)}
    return [
        (
            index[r.person_id],
            r.source.removeprefix(prefix),
            r.enterprise_id,
            r.kind,
            r.topic,
            r.category,
            r.level,
            r.course_id,
            r.exam_id,
            r.hours,
            r.completed_at,
            r.score,
            r.passed,
            r.valid_until,
            r.certificate_no,
            r.evidence,
            r.note,
            r.recorded_by_id,
            r.voided_at is None,
            r.voided_by_id,
            r.void_reason,
            order.get(r.replaced_by_id) if r.replaced_by_id else None,
        )
        for r in rows
    ]


@pytest.mark.parametrize("chunk_size", [500, 2])
def test_record_many_gives_what_record_gives(make_person, enterprise, chunk_size):
    # One set of people per way of recording: the same facts of one person from two sources would overlap.
    people = [make_person(enterprise) for _ in range(6)]
    seq_people = [make_person(enterprise) for _ in range(6)]
    actor = make_person(enterprise, app_role="trainer").user
    for round_ in ROUNDS:
        one_by_one = [
            ledger.record(seq_people[i], source=f"seq:{suffix}", actor=actor, **fact)
            for i, suffix, fact in round_
        ]
        items = [
            # half the items name the Person, half its ids
            {"person": people[i]} | {"source": f"bulk:{suffix}", **fact}
            if n % 2
            else {
                "person_id": people[i].id,
                "enterprise_id": enterprise.id,
                "source": f"bulk:{suffix}",
                **fact,
            }
            for n, (i, suffix, fact) in enumerate(round_)
        ]
        bulk = ledger.record_many(items, actor=actor, chunk_size=chunk_size)
        assert [r.outcome for r in bulk] == [r.outcome for r in one_by_one]
        db.session.flush()
        last = {(r.record.source, r.record.person_id): r.record_id for r in bulk}
        for (source, person_id), rec in last.items():  # the last result of each pair is its live row
            live = db.session.scalars(
                select(TrainingRecord).where(
                    TrainingRecord.source == source,
                    TrainingRecord.person_id == person_id,
                    TrainingRecord.voided_at.is_(None),
                )
            ).all()
            assert [r.id for r in live] == [rec]
    assert _state(people, "bulk:") == _state(seq_people, "seq:")
    live_count = db.session.scalar(
        select(func.count())
        .select_from(TrainingRecord)
        .where(TrainingRecord.source.like("bulk:%"), TrainingRecord.voided_at.is_(None))
    )
    assert live_count == 8  # six people on source 1, two on source 2: replaced, never doubled


def test_record_many_checks_like_record(make_person, enterprise):
    p = make_person(enterprise)
    for bad in ({"kind": "nonsense"}, {"level": "plant"}, {"hours": -1}):
        with pytest.raises(DomainError):
            ledger.record_many([{"person": p, "source": "x:1", **_fact(**bad)}])
    with pytest.raises(TypeError):
        ledger.record_many([{"person_id": p.id, "source": "x:1", **_fact()}])  # no enterprise_id
    with pytest.raises(TypeError):
        ledger.record_many([{"person": p, "source": "x:1", "colour": "red", **_fact()}])
    assert ledger.record_many([]) == []


def test_record_many_takes_few_statements(make_person, enterprise):
    people = [make_person(enterprise) for _ in range(40)]
    for p in people[:20]:
        ledger.record(p, source="few:1", **_fact())
    db.session.flush()
    with recorded_statements(on=db.session.get_bind()) as statements:
        results = ledger.record_many(
            [
                {"person": p, "source": "few:1", **_fact(score=None if n < 10 or (n >= 20 and n % 2) else 50)}
                for n, p in enumerate(people)
            ]
        )
        db.session.flush()
    seen = [statement.split()[0].upper() for statement in statements if "training_record" in statement]
    assert [r.outcome for r in results] == ["unchanged"] * 10 + ["replaced"] * 10 + ["created"] * 20
    # One SELECT of the live rows, one SELECT of the people's records the new ones could overlap, one UPDATE
    # voiding the replaced, one SELECT of the new ids (max(id) on SQLite, the sequence on PostgreSQL), one
    # INSERT (whatever columns each new row leaves NULL), one UPDATE of replaced_by_id (record() would take
    # 40 SELECTs and 30 INSERTs).
    assert seen.count("SELECT") == 3, seen
    assert seen.count("INSERT") == 1, seen
    assert seen.count("UPDATE") <= 2, seen
    replaced = db.session.scalars(
        select(TrainingRecord).where(TrainingRecord.source == "few:1", TrainingRecord.voided_at.is_not(None))
    ).all()
    assert len(replaced) == 10 and all(r.replaced_by_id for r in replaced)
