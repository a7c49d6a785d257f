"""Pages: access by role and enterprise, schedule, sheets, upload → preview → resolve → commit, evidence, lock."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from lms.core.db import db
from lms.core.storage import StoredFile
from lms.ledger.models import TrainingRecord
from lms.offline.models import (
    Attendance,
    AttendanceUpload,
    OfflineEvidence,
    OfflineSession,
    OfflineSessionChange,
)
from lms.org.models import Department, Person
from tests.conftest import login
from tests.offline.conftest import sample

XLSX3 = "signin-workshop3-2026-11-12.xlsx"


def staff(make_person, ent, role="trainer"):
    return make_person(ent, app_role=role)


def upload(client, s, name, data=None):
    body = data if data is not None else sample(name).read_bytes()
    return client.post(
        f"/offline/{s.id}/upload", data={"file": (io.BytesIO(body), name)}, content_type="multipart/form-data"
    )


def live_count(s) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(TrainingRecord)
        .where(TrainingRecord.source == s.source, TrainingRecord.voided_at.is_(None))
    )


def test_roles_and_other_enterprise(client, roster_enterprise, make_enterprise, make_person, make_session):
    s = make_session(roster_enterprise)
    learner = make_person(roster_enterprise)
    login(client, learner.user)
    assert client.get("/offline/").status_code == 403
    assert client.get(f"/offline/{s.id}").status_code == 403
    assert client.get("/offline/mine").status_code == 200
    client.post("/logout")
    other = make_enterprise()
    login(client, staff(make_person, other).user)
    assert client.get(f"/offline/{s.id}").status_code == 404
    assert client.get(f"/offline/{s.id}/signin.pdf").status_code == 404
    assert upload(client, s, XLSX3).status_code == 404
    person = db.session.scalar(select(Person).where(Person.enterprise_id == roster_enterprise.id))
    assert client.get(f"/offline/person/{person.id}").status_code == 404
    client.post("/logout")
    login(client, staff(make_person, roster_enterprise).user)
    page = client.get("/offline/?month=2026-11")
    assert page.status_code == 200 and "有限空间作业安全" in page.get_data(as_text=True)
    assert client.get(f"/offline/{s.id}").status_code == 200
    assert client.get(f"/offline/person/{person.id}").status_code == 200
    for path in ("signin.xlsx", "signin.pdf"):
        r = client.get(f"/offline/{s.id}/{path}")
        assert r.status_code == 200 and len(r.data) > 500
    assert client.get("/offline/template.xlsx").status_code == 200


def test_schedule_and_edit(client, roster_enterprise, make_person):
    login(client, staff(make_person, roster_enterprise).user)
    dept = db.session.scalar(
        select(Department).where(
            Department.enterprise_id == roster_enterprise.id, Department.path == "三车间"
        )
    )
    r = client.post(
        "/offline/new",
        data={
            "topic": "动火作业安全培训",
            "category": "动火作业",
            "level": "team",
            "starts_at": "2026-12-03T09:00",
            "ends_at": "2026-12-03T11:00",
            "hours": "2",
            "capacity": "40",
            "location": "培训室",
            "departments": [str(dept.id)],
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    s = db.session.scalar(select(OfflineSession).where(OfflineSession.topic == "动火作业安全培训"))
    assert s.level == "team" and s.capacity == 40 and s.target_ids("department") == [dept.id]
    page = client.get(f"/offline/{s.id}").get_data(as_text=True)
    assert "三车间" in page
    r = client.post(
        f"/offline/{s.id}/edit",
        data={
            "topic": "动火作业安全培训（复训）",
            "level": "team",
            "starts_at": "2026-12-03T09:00",
            "hours": "2.5",
        },
    )
    assert r.status_code == 302
    assert s.topic == "动火作业安全培训（复训）" and str(s.hours).startswith("2.5") and s.targets == []
    r = client.post(
        f"/offline/{s.id}/edit",
        data={
            "topic": "x",
            "level": "team",
            "starts_at": "2026-12-03T09:00",
            "ends_at": "2026-12-02T09:00",
            "hours": "2",
        },
    )
    assert r.status_code == 200 and s.topic != "x"


def test_preview_resolve_commit(client, roster_enterprise, make_person, make_session):
    s = make_session(roster_enterprise)
    login(client, staff(make_person, roster_enterprise).user)
    r = upload(client, s, XLSX3)
    assert r.status_code == 302
    up = db.session.scalar(select(AttendanceUpload).where(AttendanceUpload.session_id == s.id))
    assert up.status == "previewed" and up.summary["unknown"] == 1
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert (
        "临时工刘某" in page
        and "GA9999" in page
        and 'name="choice-24"' in page
        and 'name="choice-23"' in page
    )
    # commit refuses while row 24 is unresolved
    r = client.post(f"/offline/{s.id}/uploads/{up.id}/commit")
    assert r.status_code == 302 and "/uploads/" in r.headers["Location"] and live_count(s) == 0
    # resolve by employee number, then commit
    r = client.post(f"/offline/{s.id}/uploads/{up.id}/resolve", data={"choice-24": "", "emp-24": "GA1110"})
    assert r.status_code == 302
    p = db.session.scalar(
        select(Person).where(Person.enterprise_id == roster_enterprise.id, Person.employee_no == "GA1110")
    )
    assert up.resolutions == {"24": p.id}
    r = client.post(f"/offline/{s.id}/uploads/{up.id}/commit")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/offline/{s.id}")
    assert live_count(s) == 19 and up.status == "committed"
    page = client.get(f"/offline/{s.id}").get_data(as_text=True)
    assert "尹超霞" in page and "缺考" in page
    # the same sheet again: a second commit changes nothing
    r = upload(client, s, XLSX3)
    up2 = db.session.get(AttendanceUpload, int(re.search(r"/uploads/(\d+)", r.headers["Location"]).group(1)))
    client.post(f"/offline/{s.id}/uploads/{up2.id}/resolve", data={"choice-24": "skip"})
    client.post(f"/offline/{s.id}/uploads/{up2.id}/commit")
    assert (
        live_count(s) == 18 and up.status == "superseded"
    )  # row 24 skipped this time: that record is voided
    assert (
        client.post(f"/offline/{s.id}/uploads/{up2.id}/commit").status_code == 302
    )  # already committed → flash
    learner = db.session.scalar(
        select(Person).where(Person.enterprise_id == roster_enterprise.id, Person.employee_no == "GA1063")
    )
    assert (
        db.session.scalar(select(Attendance).where(Attendance.person_id == learner.id)).score_note == "缺考"
    )


@pytest.mark.parametrize(
    "body,name",
    [
        (b"", "empty.xlsx"),
        (b"%PDF-1.4\n%%EOF", "sheet.xlsx"),
        (b"PK\x03\x04garbage", "broken.xlsx"),
    ],
)
def test_hostile_upload_leaves_nothing(client, roster_enterprise, make_person, make_session, body, name):
    s = make_session(roster_enterprise)
    login(client, staff(make_person, roster_enterprise).user)
    files_before = db.session.scalar(select(func.count()).select_from(StoredFile))
    r = upload(client, s, name, body)
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/offline/{s.id}")
    assert db.session.scalar(select(func.count()).select_from(StoredFile)) == files_before
    assert not db.session.scalar(select(func.count()).select_from(AttendanceUpload))
    page = client.get(f"/offline/{s.id}").get_data(as_text=True)
    assert "nothing was saved" in page or "没有保存" in page


def test_hostile_upload_end_to_end(client, roster_enterprise, make_person, make_session, monkeypatch):
    from tests.offline import test_attendance as ta

    s = make_session(roster_enterprise)
    login(client, staff(make_person, roster_enterprise).user)
    for body, name in [
        (ta._encrypted_ooxml(), "secret.xlsx"),
        (ta._zip_bomb(), "bomb.xlsx"),
        (ta._xxe(), "xxe.xlsx"),
    ]:
        assert upload(client, s, name, body).status_code == 302
    monkeypatch.setattr("lms.offline.attendance.MAX_UPLOAD_BYTES", 1000)
    assert upload(client, s, XLSX3).status_code == 302
    assert not db.session.scalar(select(func.count()).select_from(AttendanceUpload)) and live_count(s) == 0


def test_evidence_checked_by_content(client, roster_enterprise, make_person, make_session):
    from PIL import Image

    s = make_session(roster_enterprise)
    login(client, staff(make_person, roster_enterprise).user)
    buf = io.BytesIO()
    Image.new("RGB", (20, 20), "white").save(buf, "PNG")
    r = client.post(
        f"/offline/{s.id}/evidence",
        data={"file": (io.BytesIO(buf.getvalue()), "scan.pdf")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    ev = db.session.scalar(select(OfflineEvidence).where(OfflineEvidence.session_id == s.id))
    assert ev.kind == "image"
    assert client.get(f"/offline/{s.id}/evidence/{ev.id}").status_code == 200
    r = client.post(
        f"/offline/{s.id}/evidence",
        data={"file": (io.BytesIO(b"MZ\x90\x00evil"), "photo.jpg")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(OfflineEvidence)) == 1


def test_locked_session_only_manager_with_reason(client, roster_enterprise, make_person, make_session):
    s = make_session(roster_enterprise)
    s.status = "recorded"
    db.session.flush()
    trainer = staff(make_person, roster_enterprise)
    manager = staff(make_person, roster_enterprise, "manager")
    login(client, trainer.user)
    client.post(f"/offline/{s.id}/status", data={"status": "locked"})
    assert s.status == "recorded"  # a trainer may not lock
    client.post("/logout")
    login(client, manager.user)
    client.post(f"/offline/{s.id}/status", data={"status": "locked"})
    assert s.status == "locked"
    client.post("/logout")
    login(client, trainer.user)
    assert client.get(f"/offline/{s.id}/edit").status_code == 403
    r = upload(client, s, "signin-logistics-en.csv")
    up = db.session.scalar(select(AttendanceUpload).where(AttendanceUpload.session_id == s.id))
    client.post(f"/offline/{s.id}/uploads/{up.id}/commit", data={"reason": "补录"})
    assert live_count(s) == 0
    client.post("/logout")
    login(client, manager.user)
    client.post(f"/offline/{s.id}/uploads/{up.id}/commit")
    assert live_count(s) == 0  # no reason
    r = client.post(f"/offline/{s.id}/uploads/{up.id}/commit", data={"reason": "纸质签到表补录"})
    assert r.status_code == 302 and live_count(s) == 10
    r = client.post(
        f"/offline/{s.id}/edit",
        data={"topic": "新主题", "level": "team", "starts_at": "2026-11-12T14:00", "hours": "3"},
    )
    assert r.status_code == 200 and s.topic != "新主题"  # reason required
    r = client.post(
        f"/offline/{s.id}/edit",
        data={
            "topic": "新主题",
            "level": "team",
            "starts_at": "2026-11-12T14:00",
            "hours": "3",
            "reason": "主题写错",
        },
    )
    assert r.status_code == 302 and s.topic == "新主题"
    actions = [
        c.action
        for c in db.session.scalars(
            select(OfflineSessionChange)
            .where(OfflineSessionChange.session_id == s.id)
            .order_by(OfflineSessionChange.id)
        )
    ]
    assert actions == ["lock", "attendance", "edit"]
    assert "纸质签到表补录" in client.get(f"/offline/{s.id}").get_data(as_text=True)


def test_learner_sees_own_sessions(client, roster_enterprise, make_session):
    from lms.offline.attendance import import_attendance

    s = make_session(roster_enterprise)
    import_attendance(
        roster_enterprise, sample("signin-workshop1-gbk.csv"), "w1.csv", session=s, dry_run=False
    )
    p = db.session.scalar(
        select(Person).where(Person.enterprise_id == roster_enterprise.id, Person.employee_no == "GA1010")
    )
    from lms.org.models import User
    from lms.org.services import hash_password
    from tests.conftest import TEST_PASSWORD

    user = db.session.scalar(select(User).where(User.person_id == p.id))
    user.password_hash, user.must_change_password = hash_password(TEST_PASSWORD), False
    db.session.flush()
    login(client, user)
    page = client.get("/offline/mine").get_data(as_text=True)
    assert s.topic in page
    assert client.get(f"/offline/person/{p.id}").status_code == 403


def test_preview_names_the_problem_column_in_words(client, roster_enterprise, make_person, make_session):
    """Seen: the preview's problem table showed the field code ("time") in the Chinese page."""
    first, second = make_session(roster_enterprise), make_session(roster_enterprise, topic="同一时间的另一场")
    login(client, staff(make_person, roster_enterprise).user)
    r = upload(client, first, XLSX3)
    up = db.session.scalar(select(AttendanceUpload).where(AttendanceUpload.session_id == first.id))
    client.post(f"/offline/{first.id}/uploads/{up.id}/resolve", data={"choice-24": "skip"})
    client.post(f"/offline/{first.id}/uploads/{up.id}/commit")
    assert live_count(first) > 0
    r = upload(client, second, XLSX3)  # the same people at the same time: each row overlaps
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    fields = re.findall(r'<tr class="row-error"><td>[^<]*</td><td>([^<]*)</td>', page)
    assert "时间" in fields and not set(fields) & {"time", "session", "person", "name", "score"}, fields
