"""QR self check-in: codes, grants, check-in and check-out, hours, toolbox talks, and merging with sheets.

Times are fixed (``now=``) so that the 30-second steps are deterministic.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from lms.core.db import db
from lms.core.errors import Conflict, DomainError, Forbidden
from lms.core.exports import xlsx_bytes
from lms.ledger import services as ledger
from lms.ledger.models import TrainingRecord
from lms.offline import checkin
from lms.offline.attendance import import_attendance
from lms.offline.models import HELD, KIND_TOOLBOX, RECORDED, Attendance, CheckIn
from lms.org.services import ensure_department

START = dt.datetime(2026, 11, 12, 6, 0)  # 14:00 in Shanghai
END = START + dt.timedelta(hours=2)


@pytest.fixture
def ent(make_enterprise):
    return make_enterprise()


@pytest.fixture
def session_(ent, make_session):
    dept = ensure_department(ent.id, "一车间/甲班")
    s = make_session(ent, starts_at=START, ends_at=END, hours="2", targets={"department": [dept.id]})
    checkin.open_checkin(s, now=START - dt.timedelta(minutes=10))
    return s


def at(minutes: float) -> dt.datetime:
    return START + dt.timedelta(minutes=minutes)


def step(minutes: float) -> int:
    return checkin.step_of(at(minutes))


def live(person_id: int, source: str) -> list[TrainingRecord]:
    return list(
        db.session.scalars(
            select(TrainingRecord).where(
                TrainingRecord.person_id == person_id,
                TrainingRecord.source == source,
                TrainingRecord.voided_at.is_(None),
            )
        )
    )


# ---------------------------------------------------------------- codes


def test_code_of_this_step_and_the_previous_one_is_accepted(session_):
    token = checkin.make_token(session_, step(0))
    assert checkin.verify_token(session_.id, token, now=at(0)).step == step(0)
    # 30 s later the screen shows a new code; the old one still works for one step
    assert checkin.verify_token(session_.id, token, now=at(0.5)).session is session_


def test_code_older_than_one_step_is_refused_saying_how_long(session_):
    token = checkin.make_token(session_, step(0))
    with pytest.raises(checkin.CheckInRefused) as exc:
        checkin.verify_token(session_.id, token, now=at(1.01))
    assert "expired" in str(exc.value) and "30 seconds" in str(exc.value) and "60 seconds" in str(exc.value)


def test_forged_future_code_is_refused(session_):
    """A learner's script that signs a later step cannot: and a code of a future step is never accepted."""
    token = checkin.make_token(session_, step(5))
    with pytest.raises(checkin.CheckInRefused, match="not valid"):
        checkin.verify_token(session_.id, token, now=at(0))


def test_forged_signatures_are_refused(session_, app):
    s = session_
    good = checkin.make_token(s, step(0))
    sid, st, mac = good.split(".")
    flipped = ("B" if mac[0] != "B" else "C") + mac[1:]
    guesses = [
        f"{sid}.{st}.{flipped}",
        f"{sid}.{int(st) + 1}.{mac}",  # the signature of one step reused for the next
        # a script that guessed the scheme but not the key: HMAC with the public secret-less key
        f"{sid}.{st}."
        + base64.urlsafe_b64encode(
            hmac.new(b"", f"{sid}:{s.checkin_nonce}:{st}".encode(), hashlib.sha256).digest()[:15]
        ).decode(),
        "garbage",
        f"{sid}.{st}",
        "",
    ]
    for forged in guesses:
        with pytest.raises(checkin.CheckInRefused):
            checkin.verify_token(s.id, forged, now=at(0))


def test_code_of_another_session_is_refused(ent, session_, make_session):
    other = make_session(ent, topic="另一场", starts_at=START, ends_at=END, hours="2")
    checkin.open_checkin(other, now=at(0))
    token = checkin.make_token(other, step(0))
    with pytest.raises(checkin.CheckInRefused, match="another session"):
        checkin.verify_token(session_.id, token, now=at(0))
    # the other session's code with this session's number written in it fails its signature
    forged = f"{session_.id}." + token.split(".", 1)[1]
    with pytest.raises(checkin.CheckInRefused, match="not valid"):
        checkin.verify_token(session_.id, forged, now=at(0))


def test_reopening_check_in_invalidates_codes_of_the_earlier_opening(session_):
    token = checkin.make_token(session_, step(0))
    checkin.close_checkin(session_, now=at(0.2))
    with pytest.raises(checkin.CheckInRefused, match="closed"):
        checkin.verify_token(session_.id, token, now=at(0.3))
    checkin.open_checkin(session_, now=at(0.4))
    with pytest.raises(checkin.CheckInRefused, match="not valid"):
        checkin.verify_token(session_.id, token, now=at(0.4))


def test_grant_carries_the_step_and_expires_after_five_minutes(session_, app):
    code = checkin.verify_token(session_.id, checkin.make_token(session_, step(0)), now=at(0))
    grant = checkin.make_grant(code)
    assert checkin.verify_grant(session_.id, grant, now=at(0)).step == step(0)
    with pytest.raises(checkin.CheckInRefused, match="another session"):
        checkin.verify_grant(session_.id + 1, grant, now=at(0))
    with pytest.raises(checkin.CheckInRefused):
        checkin.verify_grant(session_.id, grant[:-2] + "xx", now=at(0))
    # a grant signed by another installation (another secret) is refused
    from itsdangerous import URLSafeTimedSerializer

    foreign = URLSafeTimedSerializer("another-secret", salt="lms.offline.check-in.grant").dumps(
        {"s": session_.id, "k": step(0), "n": session_.checkin_nonce[:8]}
    )
    with pytest.raises(checkin.CheckInRefused):
        checkin.verify_grant(session_.id, foreign, now=at(0))


def test_qr_svg_is_a_compact_svg():
    svg = checkin.qr_svg("http://lms.test/offline/c/1/1.2.abcdefghijklmnopqrst")
    assert svg.startswith("<svg") and svg.endswith("</svg>") and len(svg) < 20_000
    assert "<script" not in svg


# ---------------------------------------------------------------- check-in and check-out


def test_check_in_records_attendance_and_one_ledger_record(session_, make_person, ent):
    p = make_person(ent)
    ci = checkin.check_in(session_, p, step(-2), now=at(-1), user=p.user)
    assert ci.checked_in_at == at(-1)
    att = db.session.scalar(select(Attendance).where(Attendance.session_id == session_.id))
    assert att.person_id == p.id and not att.absent and att.signed_in_at == at(-1) and att.upload_id is None
    (rec,) = live(p.id, session_.source)
    assert rec.hours == Decimal("2.00") and rec.started_at == START and rec.completed_at == END
    assert rec.evidence == {"check_in": ci.id} and att.record_id == rec.id
    assert session_.status == HELD


def test_second_check_in_of_the_same_person_is_refused(session_, make_person, ent):
    p = make_person(ent)
    checkin.check_in(session_, p, step(0), now=at(0))
    with pytest.raises(Conflict, match="already checked in at 14:00"):
        checkin.check_in(session_, p, step(0), now=at(0.2))
    assert db.session.scalar(select(func.count()).select_from(CheckIn)) == 1
    assert len(live(p.id, session_.source)) == 1


def test_person_of_another_enterprise_is_refused(session_, make_enterprise, make_person):
    stranger = make_person(make_enterprise())
    with pytest.raises(checkin.OtherEnterprise, match="another enterprise"):
        checkin.check_in(session_, stranger, step(0), now=at(0))
    assert db.session.scalar(select(func.count()).select_from(CheckIn)) == 0


def test_account_without_person_and_person_who_left_are_refused(session_, make_person, ent):
    with pytest.raises(checkin.CheckInRefused, match="not linked"):
        checkin.check_in(session_, None, step(0), now=at(0))
    gone = make_person(ent)
    gone.status = "left"
    with pytest.raises(checkin.CheckInRefused, match="not an active"):
        checkin.check_in(session_, gone, step(0), now=at(0))


def test_check_in_after_check_in_closed_or_after_the_end_is_refused(session_, make_person, ent):
    p, q = make_person(ent), make_person(ent)
    checkin.check_in(session_, p, step(0), now=at(0))
    with pytest.raises(checkin.CheckInRefused, match="ended"):
        checkin.check_in(session_, q, step(131), now=at(131))  # 2 h session, 10 min grace
    checkin.close_checkin(session_, now=at(60))
    assert session_.status == RECORDED
    with pytest.raises(checkin.CheckInRefused, match="closed at 2026-11-12 15:00"):
        checkin.check_in(session_, q, step(61), now=at(61))
    with pytest.raises(checkin.CheckInRefused, match="closed"):
        checkin.check_out(session_, p, step(61), now=at(61))


def test_check_out_needs_a_later_code_and_records_the_real_duration(session_, make_person, ent):
    p = make_person(ent)
    checkin.check_in(session_, p, step(0), now=at(0))
    with pytest.raises(checkin.CheckInRefused, match="scan the code on the screen again"):
        checkin.check_out(session_, p, step(0), now=at(0.3))  # the same code: a double tap, not a check-out
    ci = checkin.check_out(session_, p, step(60), now=at(60))
    assert ci.checked_out_at == at(60)
    (rec,) = live(p.id, session_.source)
    assert rec.hours == Decimal("1.00")  # one hour of two: half the credit
    assert len(db.session.scalars(select(TrainingRecord).where(TrainingRecord.person_id == p.id)).all()) == 2
    with pytest.raises(Conflict, match="already checked out"):
        checkin.check_out(session_, p, step(70), now=at(70))


def test_duration_cannot_be_inflated(session_, make_person, ent):
    """Checking in early and out late, or staying checked in, never earns more than the session's hours."""
    p, q = make_person(ent), make_person(ent)
    checkin.check_in(session_, p, step(-9), now=at(-9))
    checkin.check_out(session_, p, step(125), now=at(125))  # 2 h 14 min after check-in
    assert live(p.id, session_.source)[0].hours == Decimal("2.00")
    checkin.check_in(session_, q, step(1), now=at(1))  # never checks out
    assert live(q.id, session_.source)[0].hours == Decimal("2.00")
    ci = checkin.check_in_of(session_, p)
    ci.checked_out_at = at(60 * 24)  # even a day later (a tampered row) is capped
    assert checkin.credited_hours(session_, ci) == Decimal("2.00")


def test_late_arrival_earns_the_share_present(session_, make_person, ent):
    p = make_person(ent)
    checkin.check_in(session_, p, step(60), now=at(60))
    assert live(p.id, session_.source)[0].hours == Decimal("1.00")


def test_check_in_overlapping_another_training_is_refused(session_, make_person, ent):
    p = make_person(ent)
    ledger.record(
        p,
        kind="manual",
        topic="外部培训",
        source="manual:x",
        hours=3,
        started_at=START - dt.timedelta(hours=1),
        completed_at=START + dt.timedelta(hours=2),
    )
    db.session.begin_nested()
    with pytest.raises(Conflict, match="one training at a time"):
        checkin.check_in(session_, p, step(0), now=at(0))
    db.session.rollback()
    assert checkin.check_in_of(session_, p) is None


def test_live_list_shows_who_is_missing(session_, make_person, ent):
    a, b, c = (make_person(ent, employee_no=f"L{i}") for i in range(3))
    walk_in = make_person(ent, department="二车间")
    checkin.check_in(session_, b, step(0), now=at(0))
    checkin.check_in(session_, walk_in, step(1), now=at(1))
    lv = checkin.live_list(session_)
    assert [r.person.id for r in lv.rows] == [b.id, walk_in.id]
    assert [r.expected for r in lv.rows] == [True, False]
    assert [p.id for p in lv.missing] == [a.id, c.id] and lv.expected == 3


# ---------------------------------------------------------------- toolbox talks


def test_team_leader_starts_a_toolbox_talk(ent, make_person):
    leader = make_person(ent, department="二车间/乙班", post="班组长", roles=("班组长",))
    talk = checkin.create_toolbox_talk(leader.user, minutes=10, now=dt.datetime(2026, 12, 1, 23, 50, 31))
    assert talk.kind == KIND_TOOLBOX and talk.category == "班前会" and talk.level == "team"
    assert talk.hours == Decimal("0.22")  # 10 of 45 minutes
    assert talk.starts_at == dt.datetime(2026, 12, 1, 23, 50) and talk.ends_at == dt.datetime(
        2026, 12, 2, 0, 0
    )
    assert talk.target_ids("department") == [leader.department_id]
    assert talk.checkin_open and talk.created_by_id == leader.user.id
    assert checkin.may_run(leader.user, talk)


def test_only_team_leaders_trainers_and_managers_start_toolbox_talks(ent, make_person):
    learner = make_person(ent)
    with pytest.raises(Forbidden):
        checkin.create_toolbox_talk(learner.user)
    trainer = make_person(ent, app_role="trainer", roles=())
    assert checkin.create_toolbox_talk(trainer.user, minutes=5).hours == Decimal("0.11")
    leader = make_person(ent, roles=("班组长",))
    for minutes in (4, 16, "x"):
        with pytest.raises(DomainError, match="5 to 15 minutes"):
            checkin.create_toolbox_talk(leader.user, minutes=minutes)


def test_a_team_leader_runs_only_their_own_talks(ent, make_person, make_session):
    one = make_person(ent, roles=("班组长",))
    two = make_person(ent, roles=("班组长",))
    talk = checkin.create_toolbox_talk(one.user)
    assert checkin.may_run(one.user, talk) and not checkin.may_run(two.user, talk)
    classroom = make_session(ent)
    assert not checkin.may_run(one.user, classroom)
    one.roles.clear()  # no longer a team leader
    db.session.flush()
    assert not checkin.may_run(one.user, talk)


# ---------------------------------------------------------------- check-ins and sheets merge


def _sheet(rows: list[list[object]]) -> bytes:
    return xlsx_bytes(["工号", "姓名", "签到时间", "签名", "考核成绩"], rows, title="签到表")


def test_sheet_after_check_ins_merges_without_double_records(session_, make_person, ent):
    a, b, c = (make_person(ent, employee_no=f"M{i}", name=f"合并{i}") for i in range(3))
    checkin.check_in(session_, a, step(0), now=at(0))
    checkin.check_in(session_, b, step(0), now=at(0))
    checkin.check_out(session_, b, step(60), now=at(60))  # left after an hour: 1.00 hour
    # the prefilled sheet: a did not sign the paper (checked in by phone), c signed, b is not on it
    data = _sheet([["M0", "合并0", "", "", ""], ["M2", "合并2", "2026-11-12 13:55", "已签", 90]])
    preview = import_attendance(ent, data, "s.xlsx", session=session_, dry_run=True)
    assert not preview.errors, preview.errors
    assert (preview.created, preview.unchanged, preview.voided) == (1, 1, 0)
    result = import_attendance(ent, data, "s.xlsx", session=session_, dry_run=False)
    assert result.committed, result.errors
    assert (result.created, result.unchanged, result.voided) == (1, 1, 0)
    for person, hours in ((a, "2.00"), (b, "1.00"), (c, "2.00")):
        (rec,) = live(person.id, session_.source)
        assert rec.hours == Decimal(hours)
    atts = {
        x.person_id: x
        for x in db.session.scalars(select(Attendance).where(Attendance.session_id == session_.id))
    }
    assert set(atts) == {a.id, b.id, c.id} and not any(x.absent for x in atts.values())
    assert atts[a.id].signed_in_at == at(0)
    again = import_attendance(ent, data, "s.xlsx", session=session_, dry_run=False)
    assert (again.created, again.updated, again.voided) == (0, 0, 0)
    total = db.session.scalar(
        select(func.count())
        .select_from(TrainingRecord)
        .where(TrainingRecord.source == session_.source, TrainingRecord.voided_at.is_(None))
    )
    assert total == 3


def test_check_in_after_a_sheet_adds_no_second_record(session_, make_person, ent):
    a = make_person(ent, employee_no="N1", name="先签表")
    result = import_attendance(
        ent, _sheet([["N1", "先签表", "", "缺席", ""]]), "s.xlsx", session=session_, dry_run=False
    )
    assert result.committed and live(a.id, session_.source) == []
    checkin.check_in(session_, a, step(0), now=at(0))
    att = db.session.scalar(select(Attendance).where(Attendance.person_id == a.id))
    assert not att.absent and att.signed_in_at == at(0)
    assert len(live(a.id, session_.source)) == 1
    result = import_attendance(
        ent,
        _sheet([["N1", "先签表", "2026-11-12 13:58", "已签", 88]]),
        "s.xlsx",
        session=session_,
        dry_run=False,
    )
    assert result.committed and (result.created, result.updated) == (0, 1)  # the score is added
    (rec,) = live(a.id, session_.source)
    assert rec.score == Decimal("88.00") and rec.hours == Decimal("2.00")


def test_the_team_leader_is_not_missing_from_their_own_talk(ent, make_person):
    leader = make_person(ent, roles=("班组长",))
    mate = make_person(ent)
    talk = checkin.create_toolbox_talk(leader.user, now=dt.datetime(2026, 12, 1, 0, 0))
    lv = checkin.live_list(talk)
    assert [p.id for p in lv.missing] == [mate.id] and lv.expected == 1


def test_check_in_long_before_the_start_is_refused(session_, make_person, ent):
    """Check-in opened by mistake a week ahead must not credit a session nobody attended yet."""
    p = make_person(ent)
    with pytest.raises(checkin.CheckInRefused, match="at most 60 minutes before"):
        checkin.check_in(session_, p, step(-61), now=at(-61))
    assert checkin.check_in(session_, p, step(-59), now=at(-59)).checked_in_at == at(-59)
