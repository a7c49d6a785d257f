"""A person is in one training at a time: two live records whose times overlap are refused."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from lms.core.db import db
from lms.core.errors import Conflict
from lms.ledger import services as ledger
from lms.ledger.models import TrainingRecord

AFTERNOON = dt.datetime(2026, 11, 12, 6, 0)  # 14:00 in Shanghai, stored UTC
END = AFTERNOON + dt.timedelta(hours=3)


def _live(person_id):
    return db.session.scalars(
        select(TrainingRecord).where(
            TrainingRecord.person_id == person_id, TrainingRecord.voided_at.is_(None)
        )
    ).all()


def test_two_classroom_records_of_one_afternoon_are_refused(make_person, enterprise):
    p = make_person(enterprise)
    ledger.record(
        p,
        kind="offline",
        topic="有限空间作业安全",
        source="offline_session:4",
        hours=3,
        started_at=AFTERNOON,
        completed_at=END,
    )
    with pytest.raises(Conflict) as err:
        ledger.record(
            p,
            kind="offline",
            topic="有限空间作业安全",
            source="offline_session:11",
            hours=3,
            started_at=AFTERNOON,
            completed_at=END,
        )
    assert "有限空间作业安全" in err.value.message
    assert len(_live(p.id)) == 1
    # the same source again replaces (no overlap with itself); a session right after is fine
    assert (
        ledger.record(
            p,
            kind="offline",
            topic="有限空间作业安全",
            source="offline_session:4",
            hours=3,
            started_at=AFTERNOON,
            completed_at=END,
            score=90,
        ).outcome
        == "replaced"
    )
    ledger.record(
        p,
        kind="offline",
        topic="动火作业",
        source="offline_session:12",
        hours=1,
        started_at=END,
        completed_at=END + dt.timedelta(hours=1),
    )
    assert len(_live(p.id)) == 2


def test_manual_entry_and_online_record_inside_a_classroom_session_are_refused(make_person, enterprise):
    p = make_person(enterprise)
    ledger.record(
        p,
        kind="offline",
        topic="消防演练",
        source="offline_session:1",
        hours=3,
        started_at=AFTERNOON,
        completed_at=END,
    )
    with pytest.raises(Conflict):  # a manual entry without a start began `hours` before its end
        ledger.record(
            p,
            kind="manual",
            topic="外部培训",
            source="manual:a",
            hours=2,
            completed_at=END + dt.timedelta(hours=1),
        )
    with pytest.raises(Conflict):  # an online course completed during the classroom session
        ledger.record(
            p,
            kind="course",
            topic="线上课程",
            source="course_enrolment:5",
            hours=2,
            completed_at=AFTERNOON + dt.timedelta(hours=1),
        )
    # a record without hours, an external certificate and a voided record never conflict
    ledger.record(
        p,
        kind="exam",
        topic="考试",
        source="exam:1:person:1",
        hours=0,
        completed_at=AFTERNOON + dt.timedelta(hours=2),
        score=90,
        passed=True,
    )
    ledger.record(p, kind="certificate", topic="电工证", source="manual:c", hours=0, completed_at=AFTERNOON)
    live = [r for r in _live(p.id) if r.kind == "offline"][0]
    ledger.void(live.id, reason="录错场次", actor=None)
    ledger.record(
        p,
        kind="manual",
        topic="外部培训",
        source="manual:a",
        hours=2,
        completed_at=END + dt.timedelta(hours=1),
    )


def test_record_many_refuses_overlaps_set_based(make_person, enterprise):
    a, b = make_person(enterprise), make_person(enterprise)
    ledger.record(
        a,
        kind="offline",
        topic="第4场",
        source="offline_session:4",
        hours=3,
        started_at=AFTERNOON,
        completed_at=END,
    )
    items = [
        {
            "person": person,
            "kind": "offline",
            "topic": "第11场",
            "source": "offline_session:11",
            "hours": 3,
            "started_at": AFTERNOON,
            "completed_at": END,
        }
        for person in (a, b)
    ]
    with pytest.raises(Conflict):
        ledger.record_many(items)
    found = ledger.find_overlaps(
        [ledger.Span(p.id, "offline_session:11", AFTERNOON, END, "第11场") for p in (a, b)]
    )
    assert [(o.span.person_id, o.other_source) for o in found] == [(a.id, "offline_session:4")]
    # two new facts of one person that overlap each other
    found = ledger.find_overlaps(
        [ledger.Span(b.id, "x:1", AFTERNOON, END), ledger.Span(b.id, "x:2", END - dt.timedelta(hours=1), END)]
    )
    assert len(found) == 1 and found[0].other_source == "x:1"
    ledger.record_many(items[1:])  # b alone is fine


def test_manual_entry_page_refuses_an_overlap(client, login_as, make_person, enterprise):
    from lms.core.db import db as _db

    p = make_person(enterprise)
    ledger.record(
        p,
        kind="offline",
        topic="有限空间作业安全",
        source="offline_session:4",
        hours=3,
        started_at=AFTERNOON,
        completed_at=END,
    )
    _db.session.commit()
    login_as("manager")
    form = {
        "kind": "manual",
        "topic": "外部培训",
        "category": "",
        "level": "",
        "hours": "2",
        "completed_on": "2026-11-12",
        "started_time": "15:00",
        "ended_time": "17:00",
        "note": "",
    }
    r = client.post(f"/records/person/{p.id}/new", data=form)
    assert r.status_code == 409 and "有限空间作业安全" in r.get_data(as_text=True)
    assert len(_live(p.id)) == 1
    r = client.post(
        f"/records/person/{p.id}/new", data=form | {"started_time": "17:00", "ended_time": "19:00"}
    )
    assert r.status_code == 302
    added = [x for x in _live(p.id) if x.kind == "manual"][0]
    assert added.started_at == dt.datetime(2026, 11, 12, 9, 0)  # 17:00 in Shanghai, stored UTC
