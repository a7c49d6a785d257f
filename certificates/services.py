"""Issue, revoke, reissue, expire and verify certificates; edit an enterprise's certificate template.

Plain functions: they take models and values (never the request), flush and never commit.
"""

from __future__ import annotations

import calendar
import datetime as dt
import io
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, BinaryIO

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Select

from certificates.models import (
    EXPIRED,
    KIND_COURSE,
    KIND_EXAM,
    KIND_REQUIREMENT,
    REISSUED_REASON,
    REVOKED,
    VALID,
    Certificate,
    CertificateTemplate,
    VerifyFailure,
)
from certificates.numbering import clean_prefix, codes_match, new_code, next_number, normalize_number
from courses.models import Course
from lms.core.db import db, utcnow
from lms.core.errors import DomainError
from lms.core.signals import certificate_issued
from lms.core.storage import StoredFile, save_bytes
from lms.ledger.models import KIND_COURSE as LEDGER_COURSE
from lms.ledger.models import KIND_EXAM as LEDGER_EXAM
from lms.ledger.models import TrainingRecord
from lms.org.models import Enterprise, Person, User
from quizzes.models import Exam


def N_(message: str) -> str:
    """Mark a message for translation; the view translates it when it shows it."""
    return message


IMAGE_ROLES = ("logo", "seal", "signature")
IMAGE_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "WEBP": ".webp"}
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
# Attribute names a course, exam or requirement may carry for how long its certificate is valid.
_VALIDITY_ATTRS = ("certificate_valid_months", "certificate_validity_months", "validity_months")


@dataclass
class IssueResult:
    """What ``issue`` did: the certificate, and whether it was created now (False: it existed)."""

    certificate: Certificate
    created: bool


# -- templates -------------------------------------------------------------------------------------


def get_template(enterprise_id: int) -> CertificateTemplate:
    """Return the enterprise's certificate template, creating the default one the first time."""
    tpl = db.session.scalar(
        select(CertificateTemplate).where(CertificateTemplate.enterprise_id == enterprise_id)
    )
    if tpl is not None:
        return tpl
    try:
        with db.session.begin_nested():
            tpl = CertificateTemplate(enterprise_id=enterprise_id)
            db.session.add(tpl)
    except IntegrityError:  # made concurrently
        tpl = db.session.scalar(
            select(CertificateTemplate).where(CertificateTemplate.enterprise_id == enterprise_id)
        )
        assert tpl is not None
    return tpl


TEMPLATE_FIELDS = (
    "title",
    "subtitle",
    "primary_color",
    "accent_color",
    "wording",
    "issuer",
    "number_prefix",
    "landscape",
)


def update_template(tpl: CertificateTemplate, *, actor: User | None, **values: Any) -> bool:
    """Change the template's fields; bump its version when anything changed; return whether it did."""
    clean: dict[str, Any] = {}
    for key, value in values.items():
        if key not in TEMPLATE_FIELDS:
            raise DomainError(f"unknown template field {key}", field=key)
        if isinstance(value, str):
            value = value.strip()
        clean[key] = value
    if "title" in clean and not clean["title"]:
        raise DomainError(N_("The certificate needs a title."), field="title")
    for key in ("primary_color", "accent_color"):
        if key in clean and not _COLOR.match(clean[key] or ""):
            raise DomainError(N_("A colour is written like #1f4e79."), field=key)
    if "wording" in clean and not clean["wording"]:
        raise DomainError(N_("The certificate needs its wording."), field="wording")
    if clean.get("number_prefix"):
        prefix = clean_prefix(clean["number_prefix"], fallback="")
        if prefix != clean["number_prefix"].upper():
            raise DomainError(
                N_("The number prefix may hold only letters and digits (up to 16)."), field="number_prefix"
            )
        clean["number_prefix"] = prefix
    for key in ("subtitle", "issuer", "number_prefix"):
        if key in clean and not clean[key]:
            clean[key] = None
    if "landscape" in clean:
        clean["landscape"] = bool(clean["landscape"])
    changed = False
    for key, value in clean.items():
        if getattr(tpl, key) != value:
            setattr(tpl, key, value)
            changed = True
    if changed:
        _bump(tpl, actor)
    db.session.flush()
    return changed


def _bump(tpl: CertificateTemplate, actor: User | None) -> None:
    tpl.version = (tpl.version or 1) + 1
    tpl.updated_at = utcnow()
    tpl.updated_by_id = actor.id if actor else None


def check_image(data: bytes) -> str:
    """Return the format of an uploaded image after checking by content that it is a real, sane one."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_IMAGE_BYTES:
        raise DomainError(N_("The image is larger than 5 MB."), field="image")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            if probe.width * probe.height > MAX_IMAGE_PIXELS:
                raise DomainError(N_("The image has too many pixels."), field="image")
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # verify() does not decode: a truncated file fails here
    except DomainError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise DomainError(N_("The file is not an image (PNG, JPEG, GIF or WebP)."), field="image") from exc
    if fmt not in IMAGE_FORMATS:
        raise DomainError(N_("The file is not an image (PNG, JPEG, GIF or WebP)."), field="image")
    return fmt


def set_template_image(
    tpl: CertificateTemplate, role: str, stream: BinaryIO, filename: str, *, actor: User | None
) -> StoredFile:
    """Replace the logo, seal or signature image of the template with an uploaded image."""
    if role not in IMAGE_ROLES:
        raise DomainError(f"unknown image {role}", field=role)
    data = stream.read(MAX_IMAGE_BYTES + 1)
    fmt = check_image(data)
    stored = save_bytes(
        data,
        f"{role}{IMAGE_FORMATS[fmt]}",
        purpose="certificate-image",
        enterprise_id=tpl.enterprise_id,
        uploaded_by_id=actor.id if actor else None,
    )
    setattr(tpl, f"{role}_file_id", stored.id)
    _bump(tpl, actor)
    db.session.flush()
    return stored


def remove_template_image(tpl: CertificateTemplate, role: str, *, actor: User | None) -> None:
    """Take the logo, seal or signature off the template."""
    if role not in IMAGE_ROLES:
        raise DomainError(f"unknown image {role}", field=role)
    if getattr(tpl, f"{role}_file_id") is not None:
        setattr(tpl, f"{role}_file_id", None)
        _bump(tpl, actor)
        db.session.flush()


# -- issuing ---------------------------------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    """Return ``day`` moved by ``months`` calendar months (clamped to the month's last day)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def validity_end(issued_on: dt.date, months: int | None) -> dt.date | None:
    """Return the last valid day of a certificate valid ``months`` months from ``issued_on`` (None: forever)."""
    if not months or months <= 0:
        return None
    return add_months(issued_on, int(months)) - dt.timedelta(days=1)


def _validity_months(obj: Any) -> int | None:
    for attr in _VALIDITY_ATTRS:
        value = getattr(obj, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def _title_of(obj: Any, fallback: str) -> str:
    for attr in ("title", "name"):
        value = getattr(obj, attr, None)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return fallback


def _local_date(value: dt.datetime | None, where: Any = None) -> dt.date:
    """Return the local date of a naive-UTC datetime (today for None) in ``where``'s zone (an enterprise, a
    person; default: the current zone, see lms.core.timeutil)."""
    from lms.core.timeutil import local_date

    return local_date(value if value is not None else utcnow(), where)  # type: ignore[return-value]


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except ArithmeticError:
        return None


def existing_for_source(source: str) -> Certificate | None:
    """Return the newest certificate issued for an achievement, whatever its status."""
    return db.session.scalar(
        select(Certificate)
        .where(Certificate.source == source)
        .order_by(Certificate.generation.desc())
        .limit(1)
    )


def _number_for(enterprise: Enterprise, tpl: CertificateTemplate) -> str:
    prefix = clean_prefix(tpl.number_prefix or enterprise.code)
    return next_number(prefix, _local_date(None).year)


def issue(
    person: Person,
    *,
    kind: str,
    source: str,
    title: str,
    hours: Decimal | float | int | None = 0,
    score: Decimal | float | None = None,
    issued_on: dt.date | None = None,
    valid_until: dt.date | None = None,
    course_id: int | None = None,
    exam_id: int | None = None,
    requirement_id: int | None = None,
    record_id: int | None = None,
    actor: User | None = None,
) -> IssueResult:
    """Issue a certificate for one achievement (``source``), or return the one already issued for it."""
    found = existing_for_source(source)
    if found is not None:
        return IssueResult(found, False)
    enterprise = db.session.get(Enterprise, person.enterprise_id)
    if enterprise is None:
        raise DomainError("the person has no enterprise")
    tpl = get_template(enterprise.id)
    try:
        with db.session.begin_nested():
            cert = Certificate(
                number=_number_for(enterprise, tpl),
                verification_code=new_code(),
                enterprise_id=enterprise.id,
                person_id=person.id,
                source=source[:160],
                generation=1,
                kind=kind,
                course_id=course_id,
                exam_id=exam_id,
                requirement_id=requirement_id,
                record_id=record_id,
                title=(title or "").strip()[:300] or "—",
                holder_name=person.name,
                employee_no=person.employee_no,
                enterprise_name=enterprise.name,
                hours=_decimal(hours) or Decimal("0"),
                score=_decimal(score),
                issued_on=issued_on or _local_date(None, person),
                valid_until=valid_until,
                status=VALID,
                issued_by_id=actor.id if actor else None,
            )
            db.session.add(cert)
    except IntegrityError:  # the same achievement was issued concurrently: that one counts
        found = existing_for_source(source)
        if found is None:
            raise
        return IssueResult(found, False)
    certificate_issued.send(cert, person=person)  # an in-app notification (lms.training.notifications)
    return IssueResult(cert, True)


def course_source(course_id: int, person_id: int) -> str:
    """Return the achievement key of a completed course."""
    return f"course:{course_id}:person:{person_id}"


def exam_source(exam_id: int, person_id: int) -> str:
    """Return the achievement key of a passed exam."""
    return f"exam:{exam_id}:person:{person_id}"


def requirement_source(requirement_id: int, person_id: int, valid_until: dt.date | None) -> str:
    """Return the achievement key of a fulfilled requirement (one per validity period)."""
    return f"requirement:{requirement_id}:person:{person_id}:{valid_until.isoformat() if valid_until else 'once'}"


def issue_for_course(
    person: Person, course: Any, record: TrainingRecord | None = None, *, actor: User | None = None
) -> IssueResult:
    """Issue the certificate of a completed course (the caller has checked the course issues one)."""
    issued_on = _local_date(record.completed_at if record is not None else None, person)
    return issue(
        person,
        kind=KIND_COURSE,
        source=course_source(course.id, person.id),
        title=_title_of(course, record.topic if record is not None else "—"),
        hours=record.hours if record is not None else getattr(course, "hours", 0),
        score=record.score if record is not None else None,
        issued_on=issued_on,
        valid_until=validity_end(issued_on, _validity_months(course)),
        course_id=course.id,
        record_id=record.id if record is not None else None,
        actor=actor,
    )


def issue_for_exam(
    person: Person,
    exam: Any,
    record: TrainingRecord | None = None,
    *,
    score: Any = None,
    actor: User | None = None,
) -> IssueResult:
    """Issue the certificate of a passed exam (the caller has checked the exam issues one)."""
    issued_on = _local_date(record.completed_at if record is not None else None, person)
    return issue(
        person,
        kind=KIND_EXAM,
        source=exam_source(exam.id, person.id),
        title=_title_of(exam, record.topic if record is not None else "—"),
        hours=record.hours if record is not None else getattr(exam, "hours", 0),
        score=record.score if record is not None and record.score is not None else score,
        issued_on=issued_on,
        valid_until=validity_end(issued_on, _validity_months(exam)),
        exam_id=exam.id,
        record_id=record.id if record is not None else None,
        actor=actor,
    )


def issue_for_requirement(
    person: Person, requirement: Any, valid_until: dt.date | None, *, actor: User | None = None
) -> IssueResult:
    """Issue the certificate of a fulfilled requirement, valid until the requirement is due again."""
    hours = getattr(requirement, "hours", None) or getattr(requirement, "required_hours", None) or 0
    return issue(
        person,
        kind=KIND_REQUIREMENT,
        source=requirement_source(requirement.id, person.id, valid_until),
        title=_title_of(requirement, "—"),
        hours=hours,
        valid_until=valid_until,
        requirement_id=requirement.id,
        actor=actor,
    )


def issue_for_record(record: TrainingRecord, *, actor: User | None = None) -> IssueResult:
    """Issue the certificate of a live ledger record of a course or an exam (bulk issuing, demo)."""
    if record.voided_at is not None:
        raise DomainError("the record is voided")
    person = db.session.get(Person, record.person_id)
    assert person is not None
    if record.kind == LEDGER_COURSE and record.course_id is not None:
        # A deleted course keeps its records: the certificate then carries the record's topic.
        course = db.session.get(Course, record.course_id) or _Achievement(record.course_id, record.topic)
        return issue_for_course(person, course, record, actor=actor)
    if record.kind == LEDGER_EXAM and record.exam_id is not None:
        exam = db.session.get(Exam, record.exam_id) or _Achievement(record.exam_id, record.topic)
        return issue_for_exam(person, exam, record, actor=actor)
    raise DomainError("only course and exam records issue certificates")


@dataclass
class _Achievement:
    id: int
    title: str


def issues_certificate(obj: Any) -> bool:
    """Whether a course, exam or requirement is set to issue a certificate."""
    return bool(getattr(obj, "issue_certificate", False))


# -- revoking, reissuing, expiring -----------------------------------------------------------------


def revoke(cert: Certificate, reason: str, *, actor: User | None) -> Certificate:
    """Revoke a certificate (a reason is required); the verification page says "revoked" from now on."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(N_("A reason is required to revoke a certificate."), field="reason")
    if cert.status == REVOKED:
        raise DomainError(N_("This certificate is already revoked."))
    cert.status = REVOKED
    cert.revoked_reason = reason[:300]
    cert.revoked_by_id = actor.id if actor else None
    cert.revoked_at = utcnow()
    db.session.flush()
    return cert


def reissued_as(cert: Certificate) -> Certificate | None:
    """Return the certificate that replaced ``cert`` by a reissue, if any."""
    return db.session.scalar(select(Certificate).where(Certificate.reissued_from_id == cert.id))


def reissue(cert: Certificate, *, actor: User | None) -> Certificate:
    """Replace a certificate by a new one (new number and code, holder's current name); revoke the old one."""
    if reissued_as(cert) is not None:
        raise DomainError(N_("This certificate was already reissued."))
    if cert.status != REVOKED:
        revoke(cert, REISSUED_REASON, actor=actor)
    person = db.session.get(Person, cert.person_id)
    enterprise = db.session.get(Enterprise, cert.enterprise_id)
    assert person is not None and enterprise is not None
    generation = (
        db.session.scalar(select(func.max(Certificate.generation)).where(Certificate.source == cert.source))
        or 0
    ) + 1
    new = Certificate(
        number=_number_for(enterprise, get_template(enterprise.id)),
        verification_code=new_code(),
        enterprise_id=cert.enterprise_id,
        person_id=cert.person_id,
        source=cert.source,
        generation=generation,
        kind=cert.kind,
        course_id=cert.course_id,
        exam_id=cert.exam_id,
        requirement_id=cert.requirement_id,
        record_id=cert.record_id,
        title=cert.title,
        holder_name=person.name,
        employee_no=person.employee_no,
        enterprise_name=enterprise.name,
        hours=cert.hours,
        score=cert.score,
        issued_on=cert.issued_on,
        valid_until=cert.valid_until,
        status=VALID,
        reissued_from_id=cert.id,
        issued_by_id=actor.id if actor else None,
    )
    db.session.add(new)
    db.session.flush()
    return new


def set_valid_until(cert: Certificate, valid_until: dt.date | None) -> Certificate:
    """Change how long a certificate is valid (its PDF is rendered again on the next download)."""
    cert.valid_until = valid_until
    if cert.status != REVOKED:
        cert.status = cert.status_on(_local_date(None))
    db.session.flush()
    return cert


def expire_due(today: dt.date | None = None) -> int:
    """Mark valid certificates past their last day as expired; return how many (the nightly sweep)."""
    today = today or _local_date(None)
    from sqlalchemy import update

    result = db.session.execute(
        update(Certificate)
        .where(
            Certificate.status == VALID, Certificate.valid_until.is_not(None), Certificate.valid_until < today
        )
        .values(status=EXPIRED)
        .execution_options(synchronize_session="fetch")
    )
    db.session.flush()
    return int(result.rowcount or 0)


# -- verifying -------------------------------------------------------------------------------------


def verify(number: str, code: str) -> Certificate | None:
    """Return the certificate with this number and code; None for an unknown number or a wrong code alike."""
    number = normalize_number(number)
    if not number or len(number) > 40:
        codes_match("X" * 26, code or "")  # even out the time of the two refusals
        return None
    cert = db.session.scalar(select(Certificate).where(Certificate.number == number))
    if cert is None:
        codes_match("X" * 26, code or "")
        return None
    return cert if codes_match(cert.verification_code, code or "") else None


def verify_throttled(
    address: str, *, limit: int = 10, window: dt.timedelta = dt.timedelta(minutes=10)
) -> bool:
    """Whether ``address`` has failed ``limit`` verifications within ``window``."""
    since = utcnow() - window
    failures = db.session.scalar(
        select(func.count())
        .select_from(VerifyFailure)
        .where(VerifyFailure.address == address[:64], VerifyFailure.at >= since)
    )
    return bool(failures and failures >= limit)


def record_verify_failure(address: str) -> None:
    """Remember a failed verification from ``address`` (kept in the database: every process sees it)."""
    db.session.add(VerifyFailure(address=address[:64]))
    db.session.flush()


def prune_verify_failures(older_than: dt.timedelta = dt.timedelta(days=1)) -> int:
    """Delete remembered verification failures older than ``older_than``; return how many."""
    from sqlalchemy import delete

    result = db.session.execute(delete(VerifyFailure).where(VerifyFailure.at < utcnow() - older_than))
    return int(result.rowcount or 0)


# -- reading ---------------------------------------------------------------------------------------


def certificates_for_person(person_id: int) -> list[Certificate]:
    """Return a person's certificates, newest first (for "my certificates" and the training archive)."""
    return list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.person_id == person_id)
            .order_by(Certificate.issued_on.desc(), Certificate.id.desc())
        )
    )


def status_clause(status: str, today: dt.date) -> Any:
    """Return an SQL condition for the status on ``today`` (expiry computed, not only the swept column)."""
    not_revoked = Certificate.status != REVOKED
    if status == REVOKED:
        return Certificate.status == REVOKED
    if status == EXPIRED:
        return and_(not_revoked, Certificate.valid_until.is_not(None), Certificate.valid_until < today)
    if status == VALID:
        return and_(not_revoked, or_(Certificate.valid_until.is_(None), Certificate.valid_until >= today))
    raise DomainError(f"unknown status {status}")


def search_query(
    enterprise_id: int,
    *,
    text: str | None = None,
    status: str | None = None,
    expiring_within: int | None = None,
    today: dt.date | None = None,
) -> Select[Any]:
    """Return the query of an enterprise's certificates matching a search, newest first."""
    today = today or _local_date(None)
    q = select(Certificate).where(Certificate.enterprise_id == enterprise_id)
    text = (text or "").strip()
    if text:
        like = f"%{text}%"
        q = q.where(
            or_(
                Certificate.holder_name.like(like),
                Certificate.number.like(f"%{text.upper()}%"),
                Certificate.employee_no.like(like),
                Certificate.title.like(like),
            )
        )
    if status in (VALID, EXPIRED, REVOKED):
        q = q.where(status_clause(status, today))
    if expiring_within is not None:
        q = q.where(
            status_clause(VALID, today),
            Certificate.valid_until.is_not(None),
            Certificate.valid_until <= today + dt.timedelta(days=expiring_within),
        )
        return q.order_by(Certificate.valid_until, Certificate.id)
    return q.order_by(Certificate.issued_on.desc(), Certificate.id.desc())


def achievements(enterprise_id: int) -> list[tuple[str, str]]:
    """Return the courses and exams recorded in an enterprise's ledger as (key, title), for bulk issuing."""
    rows = db.session.execute(
        select(
            TrainingRecord.kind,
            TrainingRecord.course_id,
            TrainingRecord.exam_id,
            func.max(TrainingRecord.topic),
        )
        .where(
            TrainingRecord.enterprise_id == enterprise_id,
            TrainingRecord.voided_at.is_(None),
            or_(
                and_(TrainingRecord.kind == LEDGER_COURSE, TrainingRecord.course_id.is_not(None)),
                and_(TrainingRecord.kind == LEDGER_EXAM, TrainingRecord.exam_id.is_not(None)),
            ),
        )
        .group_by(TrainingRecord.kind, TrainingRecord.course_id, TrainingRecord.exam_id)
    ).all()
    out = []
    for kind, course_id, exam_id, topic in rows:
        key = f"course:{course_id}" if kind == LEDGER_COURSE else f"exam:{exam_id}"
        out.append((key, topic))
    return sorted(out, key=lambda kv: (kv[0].split(":")[0], kv[1]))


__all__ = [
    "IssueResult",
    "get_template",
    "update_template",
    "check_image",
    "set_template_image",
    "remove_template_image",
    "issue",
    "issue_for_course",
    "issue_for_exam",
    "issue_for_requirement",
    "issue_for_record",
    "issues_certificate",
    "revoke",
    "reissue",
    "reissued_as",
    "set_valid_until",
    "expire_due",
    "verify",
    "verify_throttled",
    "record_verify_failure",
    "certificates_for_person",
    "search_query",
    "status_clause",
    "achievements",
    "course_source",
    "exam_source",
    "requirement_source",
    "validity_end",
    "add_months",
]
