"""Issuing once per achievement, numbers, validity, revoke, reissue, the expiry sweep, PDFs kept in storage."""

from __future__ import annotations

import datetime as dt
import io
from types import SimpleNamespace

import pytest
from PIL import Image
from sqlalchemy import func, select

from certificates import services
from certificates.documents import ensure_pdf, verify_url
from certificates.models import EXPIRED, REVOKED, VALID, Certificate
from certificates.numbering import codes_match, next_number
from lms.core import signals
from lms.core.db import db
from lms.core.errors import DomainError
from lms.core.storage import path_of
from lms.ledger import services as ledger

from .helpers import NUMBER_RE, complete_course, course, decode_qr, pdf_text


def _count(person_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Certificate).where(Certificate.person_id == person_id)
    )


def test_course_completion_issues_once(enterprise, make_person):
    person = make_person(enterprise, name="张建国", employee_no="E10023")
    crs = course()
    record = complete_course(person, crs, score=92)
    for _ in range(3):  # re-sent signals, and a re-import that replaces the ledger record
        signals.course_completed.send(object(), person=person, course=crs, record=record)
    complete_course(person, crs, hours=9)
    assert _count(person.id) == 1
    cert = services.certificates_for_person(person.id)[0]
    assert cert.status == VALID and cert.kind == "course" and cert.course_id == crs.id
    assert cert.holder_name == "张建国" and cert.employee_no == "E10023"
    assert cert.enterprise_name == enterprise.name and cert.title == "有限空间作业安全培训"
    assert cert.issued_on == dt.date(2026, 3, 5) and cert.valid_until is None
    assert NUMBER_RE.match(cert.number) and cert.number.startswith(f"{enterprise.code}-")
    assert len(cert.verification_code) == 26 and cert.verification_code.isalnum()  # 128 bits in base32
    assert cert.source == f"course:{crs.id}:person:{person.id}"


def test_no_certificate_unless_flagged(enterprise, make_person):
    person = make_person(enterprise)
    complete_course(person, course(issue=False))
    signals.course_completed.send(object(), person=person, course=SimpleNamespace(id=5), record=None)
    assert _count(person.id) == 0


def test_exam_passed_issues_with_score_and_course_validity(enterprise, make_person):
    person = make_person(enterprise)
    exam = SimpleNamespace(id=77, title="电工作业考试", issue_certificate=True, certificate_valid_months=36)
    rec = ledger.record(
        person,
        kind="exam",
        topic=exam.title,
        source="attempt:1",
        hours=2,
        score=88.5,
        passed=True,
        exam_id=77,
        completed_at=dt.datetime(2026, 1, 31, 3, 0),
    ).record
    signals.exam_passed.send(SimpleNamespace(score=88.5), person=person, exam=exam, record=rec)
    signals.exam_passed.send(SimpleNamespace(score=88.5), person=person, exam=exam, record=rec)
    [cert] = services.certificates_for_person(person.id)
    assert cert.kind == "exam" and cert.exam_id == 77 and float(cert.score) == 88.5
    assert cert.valid_until == dt.date(2029, 1, 30)


def test_requirement_validity_and_recurrence(enterprise, make_person):
    person = make_person(enterprise)
    req = SimpleNamespace(id=3, name="特种作业人员年度再培训", issue_certificate=True, hours=8)
    until = dt.date(2027, 6, 30)
    for _ in range(2):
        signals.requirement_fulfilled.send(req, person=person, requirement=req, valid_until=until)
    [cert] = services.certificates_for_person(person.id)
    assert cert.valid_until == until and cert.requirement_id == 3 and cert.title == "特种作业人员年度再培训"
    # The next period's fulfilment is another achievement.
    signals.requirement_fulfilled.send(req, person=person, requirement=req, valid_until=dt.date(2028, 6, 30))
    assert _count(person.id) == 2
    # A requirement that does not issue certificates issues none.
    other = SimpleNamespace(id=4, name="x", issue_certificate=False)
    signals.requirement_fulfilled.send(other, person=person, requirement=other, valid_until=until)
    assert _count(person.id) == 2


def test_numbers_unique_and_sequential_across_enterprises(make_enterprise, make_person):
    a, b = make_enterprise(), make_enterprise()
    for ent in (a, b):
        services.update_template(services.get_template(ent.id), actor=None, number_prefix="ga")
    numbers = []
    for i, ent in enumerate((a, b, a)):
        person = make_person(ent)
        numbers.append(services.issue(person, kind="manual", source=f"t:{i}", title="x").certificate.number)
    year = services._local_date(None).year
    assert len(set(numbers)) == 3
    seqs = [int(n.rsplit("-", 1)[1]) for n in numbers]
    assert all(n.startswith(f"GA-{year}-") for n in numbers)
    assert seqs[1] == seqs[0] + 1 and seqs[2] == seqs[1] + 1
    assert next_number("ZZTEST", 2031) == "ZZTEST-2031-000001"
    assert next_number("ZZTEST", 2031) == "ZZTEST-2031-000002"


def test_issue_returns_existing_for_same_source(enterprise, make_person):
    person = make_person(enterprise)
    first = services.issue(person, kind="manual", source="same", title="x")
    again = services.issue(person, kind="manual", source="same", title="y")
    assert first.created and not again.created and again.certificate.id == first.certificate.id


def test_revoke_requires_reason(enterprise, make_person, make_user):
    person = make_person(enterprise)
    cert = services.issue(person, kind="manual", source="r", title="x").certificate
    with pytest.raises(DomainError):
        services.revoke(cert, "  ", actor=None)
    actor = make_user("manager", enterprise)
    services.revoke(cert, "考试作弊", actor=actor)
    assert cert.status == REVOKED and cert.revoked_reason == "考试作弊" and cert.revoked_by_id == actor.id
    assert cert.revoked_at is not None and cert.current_status == REVOKED
    with pytest.raises(DomainError):
        services.revoke(cert, "again", actor=None)


def test_reissue(enterprise, make_person):
    person = make_person(enterprise, name="李四")
    crs = course(9100)
    complete_course(person, crs)
    [old] = services.certificates_for_person(person.id)
    person.name = "李四光"  # a corrected name goes on the new certificate
    new = services.reissue(old, actor=None)
    assert new.number != old.number and new.verification_code != old.verification_code
    assert old.status == REVOKED and old.revoked_reason == "reissued"
    assert new.status == VALID and new.reissued_from_id == old.id and new.holder_name == "李四光"
    assert new.source == old.source and new.generation == 2
    with pytest.raises(DomainError):
        services.reissue(old, actor=None)
    # A re-sent signal still finds the achievement issued.
    signals.course_completed.send(object(), person=person, course=crs, record=None)
    assert _count(person.id) == 2


def test_expire_sweep(enterprise, make_person):
    person = make_person(enterprise)
    today = dt.date(2026, 6, 1)
    past = services.issue(
        person, kind="manual", source="e1", title="x", valid_until=dt.date(2026, 5, 31)
    ).certificate
    last_day = services.issue(person, kind="manual", source="e2", title="x", valid_until=today).certificate
    forever = services.issue(person, kind="manual", source="e3", title="x").certificate
    revoked = services.issue(
        person, kind="manual", source="e4", title="x", valid_until=dt.date(2020, 1, 1)
    ).certificate
    services.revoke(revoked, "x", actor=None)
    assert past.status_on(today) == EXPIRED and past.status == VALID  # computed before the sweep
    assert services.expire_due(today) >= 1
    db.session.refresh(past)
    assert past.status == EXPIRED and last_day.status == VALID and forever.status == VALID
    assert revoked.status == REVOKED
    assert services.expire_due(today) == 0


def test_verify_compares_codes(enterprise, make_person):
    person = make_person(enterprise)
    cert = services.issue(person, kind="manual", source="v", title="x").certificate
    code = cert.verification_code
    spaced = " ".join(code[i : i + 4] for i in range(0, len(code), 4)).lower()
    assert services.verify(cert.number.lower(), spaced) is cert
    assert services.verify(cert.number, code[:-1] + ("A" if code[-1] != "A" else "B")) is None
    assert services.verify(cert.number + "9", code) is None
    assert services.verify("", code) is None
    assert codes_match("ABCD", "ab cd") and not codes_match("ABCD", "ABCE")


def test_pdf_rendered_once_and_again_when_template_or_validity_changes(enterprise, make_person):
    person = make_person(enterprise, name="张建国")
    complete_course(person, course(9200, title="危险化学品安全培训"))
    [cert] = services.certificates_for_person(person.id)
    stored = ensure_pdf(cert)
    data = path_of(stored.key).read_bytes()
    text = pdf_text(data)
    assert "张建国" in text and cert.number in text and "危险化学品安全培训" in text
    url = verify_url(cert)
    assert url == f"http://lms.test/certificates/verify/{cert.number}/{cert.verification_code}"
    assert decode_qr(data) == [url]
    assert ensure_pdf(cert).id == stored.id  # kept
    tpl = services.get_template(enterprise.id)
    assert services.update_template(tpl, actor=None, title="安全培训合格证书")
    assert not services.update_template(tpl, actor=None, title="安全培训合格证书")
    second = ensure_pdf(cert)
    assert second.id != stored.id and cert.template_version == tpl.version
    assert not path_of(stored.key).exists()  # the stale file is gone
    assert "安全培训合格证书" in pdf_text(path_of(second.key).read_bytes())
    services.set_valid_until(cert, dt.date(2030, 1, 1))
    third = ensure_pdf(cert)
    assert third.id != second.id and "2030年1月1日" in pdf_text(path_of(third.key).read_bytes())


def test_template_checks(enterprise):
    tpl = services.get_template(enterprise.id)
    with pytest.raises(DomainError):
        services.update_template(tpl, actor=None, primary_color="red")
    with pytest.raises(DomainError):
        services.update_template(tpl, actor=None, number_prefix="G A!")
    with pytest.raises(DomainError):
        services.update_template(tpl, actor=None, title=" ")
    png = io.BytesIO()
    Image.new("RGBA", (200, 200), (200, 0, 0, 128)).save(png, "PNG")
    version = tpl.version
    stored = services.set_template_image(tpl, "seal", io.BytesIO(png.getvalue()), "seal.png", actor=None)
    assert tpl.seal_file_id == stored.id and tpl.version == version + 1
    for bad in (b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"\x89PNG\r\n\x1a\nbroken" * 5, b"MZ\x90\x00"):
        with pytest.raises(DomainError):
            services.set_template_image(tpl, "logo", io.BytesIO(bad), "logo.png", actor=None)
    services.remove_template_image(tpl, "seal", actor=None)
    assert tpl.seal_file_id is None and tpl.version == version + 2


def test_validity_end():
    assert services.validity_end(dt.date(2026, 3, 5), 36) == dt.date(2029, 3, 4)
    assert services.validity_end(dt.date(2024, 2, 29), 12) == dt.date(2025, 2, 27)
    assert services.validity_end(dt.date(2026, 3, 5), None) is None


def test_real_course_model_when_installed(enterprise, make_person):
    courses_models = pytest.importorskip("courses.models")
    person = make_person(enterprise, name="吴敏")
    crs = courses_models.Course(
        enterprise_id=enterprise.id, title="消防安全基础", hours=4, issue_certificate=True
    )
    off = courses_models.Course(
        enterprise_id=enterprise.id, title="不发证课程", hours=1, issue_certificate=False
    )
    db.session.add_all([crs, off])
    db.session.flush()
    complete_course(person, crs, hours=4)
    complete_course(person, off, hours=1)
    [cert] = services.certificates_for_person(person.id)
    assert cert.course_id == crs.id and cert.title == "消防安全基础" and float(cert.hours) == 4
