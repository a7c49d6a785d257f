"""Who may do a special operation on a day, and the permit register.

A person's requirement status comes from lms.training (``lms.training.reading.person_rows``,
the very read the person's "my training" page makes), so the check and that page always agree. Certificates:
state certificates (特种作业操作证, 特种设备作业人员证) are certificate records of the training ledger; internal
certificates are those certificates/ issued, valid on the day by ``Certificate.status_on``.

Plain functions: they take models and values (never the request), flush and never commit; problems are
``DomainError`` with the field they concern, and every reason is a ``msg`` that pages show translated.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, or_, select

from certificates.models import EXPIRED as CERT_EXPIRED
from certificates.models import REVOKED as CERT_REVOKED
from certificates.models import VALID as CERT_VALID
from certificates.models import Certificate
from certificates.services import add_months
from certificates.services import verify as verify_certificate
from lms.core import timeutil
from lms.core.db import db, utcnow
from lms.core.errors import DomainError, NotFound
from lms.core.i18n import Message, msg
from lms.core.sheets.values import normalize_employee_no
from lms.ledger.models import KIND_CERTIFICATE, TrainingRecord
from lms.org.models import PERSON_ACTIVE, Enterprise, Person, User
from lms.permits.models import (
    APPROVED,
    NEED_INTERNAL,
    NEED_KINDS,
    NEED_REQUIREMENT,
    NEED_SPECIAL_EQUIPMENT,
    NEED_SPECIAL_OPS,
    PERMIT_STATUSES,
    REFUSED,
    Permit,
    PermitNeed,
    PermitPerson,
    PermitWork,
)
from lms.training import reading
from lms.training.models import COMPLIANT, EXPIRED, OVERDUE, Requirement
from lms.training.status import SPECIAL_OPERATIONS_CATEGORY, SPECIAL_OPERATIONS_REVIEW_MONTHS

SPECIAL_EQUIPMENT_CATEGORY = "特种设备作业人员证"
LEDGER_CATEGORY = {
    NEED_SPECIAL_OPS: SPECIAL_OPERATIONS_CATEGORY,
    NEED_SPECIAL_EQUIPMENT: SPECIAL_EQUIPMENT_CATEGORY,
}
MAX_PEOPLE = 30  # on one permit
MAX_WINDOW = dt.timedelta(days=7)  # the longest time window a permit may cover here
# Checks are for work about to be done (or looked back at): a date beyond these is a typing mistake.
PAST_LIMIT = dt.timedelta(days=3653)
FUTURE_LIMIT = dt.timedelta(days=3 * 365)
# What a certificate's QR code encodes (certificates.documents.verify_url): …/certificates/verify/<number>/<code>
_VERIFY_URL = re.compile(r"/certificates/verify/([^/?#\s]+)/([^/?#\s]+)")


# ---------------------------------------------------------------- results


@dataclass
class Finding:
    """One thing that keeps a person from the work, and what would make them qualified."""

    code: str
    reason: Message
    fix: Message

    def stored(self) -> dict[str, Any]:
        """The finding as kept on a permit (templates and params, so it reads in any language later)."""
        return {"code": self.code, "reason": _store(self.reason), "fix": _store(self.fix)}


@dataclass
class PersonResult:
    """A person checked for a work in a role on a day: qualified or not, why, and what was met."""

    person: Person
    role: str
    findings: list[Finding] = field(default_factory=list)
    met: list[Message] = field(default_factory=list)

    @property
    def qualified(self) -> bool:
        return not self.findings


@dataclass
class CheckResult:
    """The result of a check of people for a work on one or more days."""

    work: PermitWork
    days: list[dt.date]
    people: list[PersonResult]

    @property
    def qualified(self) -> bool:
        """Whether everyone is qualified (and there is someone)."""
        return bool(self.people) and all(p.qualified for p in self.people)

    @property
    def refused(self) -> list[PersonResult]:
        return [p for p in self.people if not p.qualified]


def _store(message: Message) -> dict[str, Any]:
    return {"template": message.template, "params": dict(message.params)}


def stored_message(data: dict[str, Any] | None) -> Message | None:
    """Return a finding's reason or fix kept on a permit as a message again (``|tr`` shows it translated)."""
    if not data or "template" not in data:
        return None
    return msg(data["template"], **{k: str(v) for k, v in (data.get("params") or {}).items()})


# ---------------------------------------------------------------- looking up works and people


def works(enterprise_id: int, *, active_only: bool = True) -> list[PermitWork]:
    """Return the enterprise's special operations in their order."""
    q = select(PermitWork).where(PermitWork.enterprise_id == enterprise_id)
    if active_only:
        q = q.where(PermitWork.active.is_(True))
    return list(db.session.scalars(q.order_by(PermitWork.sort_order, PermitWork.id)))


def find_work(enterprise_id: int, text: str | int | None) -> PermitWork:
    """Return an active work of the enterprise by id, key or name (受限空间 finds 受限空间作业)."""
    value = str(text or "").strip()
    if not value:
        raise DomainError(msg("Choose the work."), field="work")
    candidates = works(enterprise_id)
    for w in candidates:
        if value.isdigit() and w.id == int(value):
            return w
    for w in candidates:
        if value in (w.key, w.name) or w.name == f"{value}作业":
            return w
    raise DomainError(msg("Unknown work: %(work)s", work=value[:60]), field="work")


def person_by_employee_no(enterprise_id: int, employee_no: str) -> Person | None:
    """Return the enterprise's person with this 工号 (as the roster normalises it), or None."""
    no = normalize_employee_no(employee_no)
    if not no:
        return None
    return db.session.scalar(
        select(Person).where(Person.enterprise_id == enterprise_id, Person.employee_no == no)
    )


def certificate_from_qr(text: str) -> tuple[str, str] | None:
    """Return (number, code) when ``text`` is what a certificate's QR code encodes (its verify URL)."""
    m = _VERIFY_URL.search(text or "")
    return (m.group(1), m.group(2)) if m else None


def find_people(enterprise_id: int, text: str) -> list[Person]:
    """Return the people ``text`` names: a certificate's QR payload, a 工号, or a name (possibly several).

    Only people of the enterprise are found; a certificate of another enterprise is refused like a forged one.
    """
    text = (text or "").strip()
    if not text:
        raise DomainError(msg("Type a 工号 or a name, or scan a certificate."), field="add")
    if len(text) > 500:
        raise DomainError(msg("That is too long for a 工号, a name or a certificate code."), field="add")
    qr = certificate_from_qr(text)
    if qr is not None:
        cert = verify_certificate(*qr)
        if cert is None or cert.enterprise_id != enterprise_id:
            raise DomainError(msg("The scanned code is not a certificate of this enterprise."), field="add")
        person = db.session.get(Person, cert.person_id)
        return [person] if person is not None else []
    person = person_by_employee_no(enterprise_id, text)
    if person is not None:
        return [person]
    found = list(
        db.session.scalars(
            select(Person)
            .where(Person.enterprise_id == enterprise_id, Person.name == text)
            .order_by(Person.status != PERSON_ACTIVE, Person.employee_no, Person.id)
        )
    )
    if not found:
        raise DomainError(msg("Nobody with the 工号 or name %(text)s.", text=text[:60]), field="add")
    return found


def check_role(work: PermitWork, role: str | None) -> str:
    """Return ``role`` if the work's permits name it; the first role when none is given."""
    role = (role or "").strip()
    roles = work.role_list
    if not role:
        if not roles:
            raise DomainError(msg("The work %(work)s names no roles.", work=work.name), field="role")
        return roles[0]
    if role not in roles:
        raise DomainError(
            msg(
                "%(work)s permits name no role %(role)s (roles: %(roles)s).",
                work=work.name,
                role=role[:30],
                roles="、".join(roles),
            ),
            field="role",
        )
    return role


# ---------------------------------------------------------------- the check


def check(
    work: PermitWork, entries: Sequence[tuple[Person, str]], days: dt.date | Iterable[dt.date]
) -> CheckResult:
    """Check each (person, role) for ``work`` on each of ``days`` (the enterprise's local dates).

    A person is qualified only when every need of their role is met on every day. Everyone must belong to the
    work's enterprise (else NotFound: callers load people within the enterprise).
    """
    day_list = sorted({days} if isinstance(days, dt.date) else set(days))
    if not day_list:
        raise DomainError(msg("Choose the date of the work."), field="date")
    ent = db.session.get(Enterprise, work.enterprise_id)
    assert ent is not None
    today = timeutil.today(ent)
    earliest, latest = today - PAST_LIMIT, today + FUTURE_LIMIT
    for day in day_list:
        if not earliest <= day <= latest:
            raise DomainError(
                msg("Choose a date from %(lo)s to %(hi)s.", lo=earliest.isoformat(), hi=latest.isoformat()),
                field="date",
            )
    results = []
    for person, role in entries:
        if person.enterprise_id != work.enterprise_id:
            raise NotFound("no such person")
        role = check_role(work, role)
        result = PersonResult(person, role)
        for day in day_list:
            _check_one(ent, work, result, day)
        results.append(result)
    return CheckResult(work, day_list, results)


def _check_one(ent: Enterprise, work: PermitWork, result: PersonResult, day: dt.date) -> None:
    person = result.person
    if person.status != PERSON_ACTIVE:
        _add(
            result,
            Finding(
                "left",
                msg(
                    "%(name)s is no longer employed (left on %(on)s).",
                    name=person.name,
                    on=person.left_on.isoformat() if person.left_on else "—",
                ),
                msg("Name someone who is employed."),
            ),
        )
        return
    if person.hire_date is not None and person.hire_date > day:
        _add(
            result,
            Finding(
                "not_started",
                msg(
                    "%(name)s starts work only on %(on)s.", name=person.name, on=person.hire_date.isoformat()
                ),
                msg("Choose a date from %(on)s on, or name someone else.", on=person.hire_date.isoformat()),
            ),
        )
        return
    needs = [n for n in work.needs if n.role in (None, "", result.role)]
    if any(n.kind == NEED_REQUIREMENT for n in needs):
        rows = _statuses(ent.id, person.id, day)
    else:
        rows = {}
    for need in needs:
        if need.kind == NEED_REQUIREMENT:
            _requirement(result, need.requirement, rows, day)
        elif need.kind in LEDGER_CATEGORY:
            _state_certificate(ent, result, need.kind, need.match or "", day)
        elif need.kind == NEED_INTERNAL:
            _internal_certificate(result, need.match or "", day)


def _add(result: PersonResult, finding: Finding) -> None:
    if all(f.reason != finding.reason for f in result.findings):
        result.findings.append(finding)


def _met(result: PersonResult, message: Message) -> None:
    if message not in result.met:
        result.met.append(message)


def _statuses(enterprise_id: int, person_id: int, day: dt.date) -> dict[int, dict[str, Any]]:
    """The person's status rows on ``day``, read exactly as their "my training" page reads them."""
    return {r["requirement_id"]: r for r in reading.person_rows(enterprise_id, person_id, day)}


def _num(value: Any) -> str:
    """Hours as people write them: 6, 7.5 (never 6.00)."""
    text = format(Decimal(str(value or 0)).normalize(), "f")
    return text


def _iso(value: dt.date | None) -> str:
    return value.isoformat() if value else "—"


def _requirement(result: PersonResult, req: Any, rows: dict[int, dict[str, Any]], day: dt.date) -> None:
    if req is None or not req.active:
        return  # the matrix no longer asks for it
    row = rows.get(req.id)
    name = req.name
    if row is None:
        _add(
            result,
            Finding(
                "requirement_not_assigned",
                msg("%(req)s: not assigned to them on %(day)s.", req=name, day=day.isoformat()),
                msg(
                    "Assign %(req)s to them (by role, post or department) and have them complete it.",
                    req=name,
                ),
            ),
        )
        return
    status = row["status"]
    if status in COMPLIANT:
        if row.get("valid_until"):
            _met(
                result,
                msg("%(req)s: complete, valid until %(until)s.", req=name, until=_iso(row["valid_until"])),
            )
        else:
            _met(result, msg("%(req)s: complete.", req=name))
        return
    hours = ""
    if row.get("hours_due"):
        hours = f"{_num(row.get('hours_done'))}/{_num(row['hours_due'])}"
    if status == OVERDUE:
        reason = msg("%(req)s is overdue (due %(due)s).", req=name, due=_iso(row.get("due_on")))
    elif status == EXPIRED:
        reason = msg("%(req)s expired on %(until)s.", req=name, until=_iso(row.get("valid_until")))
    else:
        reason = msg("%(req)s is not complete (due %(due)s).", req=name, due=_iso(row.get("due_on")))
    if hours:
        fix = msg("Complete %(req)s: %(hours)s hours done so far.", req=name, hours=hours)
    else:
        fix = msg("Complete %(req)s.", req=name)
    _add(result, Finding(f"requirement_{status}", reason, fix))


def _state_certificate(ent: Enterprise, result: PersonResult, kind: str, match: str, day: dt.date) -> None:
    """特种作业操作证 / 特种设备作业人员证: a ledger certificate record of the category whose operation contains
    ``match``, issued by ``day`` and valid on it (a special-operations certificate also lapses when its 3-yearly
    review 复审 is missed: a review is a record of the same certificate dated the day of the review)."""
    category = LEDGER_CATEGORY[kind]
    records = db.session.scalars(
        select(TrainingRecord)
        .where(
            TrainingRecord.person_id == result.person.id,
            TrainingRecord.kind == KIND_CERTIFICATE,
            TrainingRecord.category == category,
            TrainingRecord.voided_at.is_(None),
        )
        .order_by(TrainingRecord.completed_at, TrainingRecord.id)
    ).all()
    groups: dict[str, list[TrainingRecord]] = defaultdict(list)
    for rec in records:
        if match in (rec.topic or "") or match in (rec.certificate_no or ""):
            groups[rec.certificate_no or rec.topic].append(rec)
    special = kind == NEED_SPECIAL_OPS
    candidates = []
    for recs in groups.values():
        dated = [(timeutil.local_date(r.completed_at, ent), r) for r in recs]
        held = [(d, r) for d, r in dated if d is not None and d <= day]
        if not held:
            continue
        issued = held[0][0]
        last = held[-1][0]
        until = max((r.valid_until for _, r in held if r.valid_until), default=None)
        topic = held[0][1].topic.replace("（复审）", "")
        number = held[0][1].certificate_no or "—"
        review_by = add_months(last, SPECIAL_OPERATIONS_REVIEW_MONTHS) if special else None
        candidates.append((issued, topic, number, until, review_by))
    for _issued, topic, number, until, review_by in candidates:
        if (until is None or until >= day) and (review_by is None or day <= review_by):
            if special:
                _met(
                    result,
                    msg(
                        "Special-operations certificate %(topic)s No. %(no)s: valid until %(until)s.",
                        topic=topic,
                        no=number,
                        until=_iso(until),
                    ),
                )
            else:
                _met(
                    result,
                    msg(
                        "Special-equipment operator certificate %(topic)s No. %(no)s: valid until %(until)s.",
                        topic=topic,
                        no=number,
                        until=_iso(until),
                    ),
                )
            return
    if not candidates:
        if special:
            reason = msg("No special-operations certificate for %(what)s.", what=match)
            fix = msg(
                "Have them trained and certified for %(what)s and enter the certificate in their training "
                "record.",
                what=match,
            )
        else:
            reason = msg("No special-equipment operator certificate for %(what)s.", what=match)
            fix = msg(
                "Have them certified for %(what)s and enter the certificate in their training record.",
                what=match,
            )
        _add(result, Finding("certificate_missing", reason, fix))
        return
    _issued, topic, number, until, review_by = max(candidates, key=lambda c: (c[0], c[2]))
    if until is not None and until < day:
        if special:
            reason = msg(
                "Special-operations certificate %(topic)s No. %(no)s expired on %(until)s.",
                topic=topic,
                no=number,
                until=until.isoformat(),
            )
        else:
            reason = msg(
                "Special-equipment operator certificate %(topic)s No. %(no)s expired on %(until)s.",
                topic=topic,
                no=number,
                until=until.isoformat(),
            )
        fix = msg("Have the certificate renewed and enter the new one in their training record.")
        _add(result, Finding("certificate_expired", reason, fix))
        return
    assert review_by is not None
    _add(
        result,
        Finding(
            "certificate_review_missed",
            msg(
                "Special-operations certificate %(topic)s No. %(no)s lapsed: its review (复审) was due by %(by)s.",
                topic=topic,
                no=number,
                by=review_by.isoformat(),
            ),
            msg("Have the certificate reviewed (复审) and enter the review in their training record."),
        ),
    )


def _internal_certificate(result: PersonResult, match: str, day: dt.date) -> None:
    """A certificate certificates/ issued whose title contains ``match``, issued by ``day`` and valid on it."""
    certs = db.session.scalars(
        select(Certificate)
        .where(Certificate.person_id == result.person.id, Certificate.issued_on <= day)
        .order_by(Certificate.issued_on.desc(), Certificate.id.desc())
    ).all()
    certs = [c for c in certs if match in c.title]
    for c in certs:
        if c.status_on(day) == CERT_VALID:
            if c.valid_until:
                _met(
                    result,
                    msg(
                        "Certificate %(title)s No. %(no)s: valid until %(until)s.",
                        title=c.title,
                        no=c.number,
                        until=c.valid_until.isoformat(),
                    ),
                )
            else:
                _met(result, msg("Certificate %(title)s No. %(no)s: valid.", title=c.title, no=c.number))
            return
    if not certs:
        _add(
            result,
            Finding(
                "certificate_missing",
                msg("No valid certificate for %(what)s.", what=match),
                msg(
                    "Have them complete the %(what)s training so that the certificate is issued.", what=match
                ),
            ),
        )
        return
    c = certs[0]
    if c.status_on(day) == CERT_REVOKED:
        reason = msg("Certificate %(title)s No. %(no)s was revoked.", title=c.title, no=c.number)
    else:
        assert c.status_on(day) == CERT_EXPIRED
        reason = msg(
            "Certificate %(title)s No. %(no)s expired on %(until)s.",
            title=c.title,
            no=c.number,
            until=_iso(c.valid_until),
        )
    _add(
        result,
        Finding(
            "certificate_expired" if c.status_on(day) == CERT_EXPIRED else "certificate_revoked",
            reason,
            msg("Have them retrained for %(what)s so that a new certificate is issued.", what=match),
        ),
    )


# ---------------------------------------------------------------- the permit register


def save_permit(
    work: PermitWork,
    entries: Sequence[tuple[Person, str]],
    *,
    place: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    status: str,
    actor: User,
    note: str | None = None,
) -> Permit:
    """Save a check as a permit. ``starts_at``/``ends_at`` are the enterprise's local wall-clock times.

    The people are checked again here, on each local day the window touches; a permit with anyone not
    qualified can be saved as refused, never as approved.
    """
    ent = db.session.get(Enterprise, work.enterprise_id)
    assert ent is not None
    place = (place or "").strip()
    if not place:
        raise DomainError(msg("Say where the work is done."), field="place")
    if len(place) > 200:
        raise DomainError(msg("The place may have at most 200 characters."), field="place")
    if status not in PERMIT_STATUSES:
        raise DomainError(msg("Choose approve or refuse."), field="status")
    if ends_at <= starts_at:
        raise DomainError(msg("The end must be after the start."), field="ends_at")
    if ends_at - starts_at > MAX_WINDOW:
        raise DomainError(
            msg("A permit covers at most 7 days; issue another permit for the rest."), field="ends_at"
        )
    if not entries:
        raise DomainError(msg("Add the people the permit names."), field="people")
    if len(entries) > MAX_PEOPLE:
        raise DomainError(msg("A permit names at most %(n)s people.", n=MAX_PEOPLE), field="people")
    seen = set()
    for person, _role in entries:
        if person.id in seen:
            raise DomainError(msg("%(name)s is named twice.", name=person.name), field="people")
        seen.add(person.id)
    days = {starts_at.date(), ends_at.date()}
    result = check(work, entries, days)
    if status == APPROVED and not result.qualified:
        names = "、".join(p.person.name for p in result.refused)
        raise DomainError(
            msg("The permit cannot be approved: not qualified: %(names)s.", names=names), field="status"
        )
    note = (note or "").strip() or None
    permit = Permit(
        enterprise_id=ent.id,
        work_id=work.id,
        work_name=work.name,
        place=place,
        starts_at=timeutil.to_utc(starts_at, ent),
        ends_at=timeutil.to_utc(ends_at, ent),
        status=status,
        checked_at=utcnow(),
        checked_on=timeutil.today(ent),
        checked_by_id=actor.id,
        checked_by_name=actor.display_name,
        note=note[:2000] if note else None,
    )
    for r in result.people:
        permit.people.append(
            PermitPerson(
                person_id=r.person.id,
                employee_no=r.person.employee_no,
                name=r.person.name,
                role=r.role,
                qualified=r.qualified,
                reasons=[f.stored() for f in r.findings],
            )
        )
    db.session.add(permit)
    db.session.flush()
    return permit


def recheck(permit: Permit, day: dt.date) -> CheckResult | None:
    """Check the permit's people again for its work on ``day`` (None when the work was deleted)."""
    work = db.session.get(PermitWork, permit.work_id) if permit.work_id else None
    if work is None:
        return None
    entries = []
    for pp in permit.people:
        person = db.session.get(Person, pp.person_id) if pp.person_id else None
        if person is not None:
            entries.append((person, pp.role if pp.role in work.role_list else ""))
    return check(work, entries, day)


def permits_query(
    enterprise_id: int, *, status: str | None = None, work_id: int | None = None, text: str | None = None
) -> Any:
    """Return the query of an enterprise's permits, newest first."""
    q = select(Permit).where(Permit.enterprise_id == enterprise_id)
    if status in PERMIT_STATUSES:
        q = q.where(Permit.status == status)
    if work_id:
        q = q.where(Permit.work_id == work_id)
    text = (text or "").strip()
    if text:
        like = f"%{text}%"
        named = select(PermitPerson.permit_id).where(
            or_(PermitPerson.name.like(like), PermitPerson.employee_no.like(like))
        )
        q = q.where(or_(Permit.place.like(like), Permit.work_name.like(like), Permit.id.in_(named)))
    return q.order_by(Permit.starts_at.desc(), Permit.id.desc())


def permit_counts(
    enterprise_ids: Iterable[int], since: dt.date, until: dt.date
) -> dict[tuple[int, str], tuple[int, int]]:
    """Permits checked and refused per enterprise and month: {(enterprise_id, "YYYY-MM"): (checked, refused)}.

    Counts the permits saved with a check date (the enterprise's local day) from ``since`` to ``until``, both
    included; "refused" are those saved as refused (someone not qualified). Months without permits are absent.
    """
    ids = sorted(set(enterprise_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(
            Permit.enterprise_id,
            Permit.checked_on,
            func.count(),
            func.sum(case((Permit.status == REFUSED, 1), else_=0)),
        )
        .where(Permit.enterprise_id.in_(ids), Permit.checked_on >= since, Permit.checked_on <= until)
        .group_by(Permit.enterprise_id, Permit.checked_on)
        .order_by(Permit.enterprise_id, Permit.checked_on)
    ).all()
    out: dict[tuple[int, str], tuple[int, int]] = {}
    for ent_id, day, checked, refused in rows:
        day = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day)[:10])
        key = (int(ent_id), f"{day:%Y-%m}")
        c, r = out.get(key, (0, 0))
        out[key] = (c + int(checked), r + int(refused or 0))
    return out


def refusal_counts(enterprise_id: int, people: Any, since: dt.date, until: dt.date) -> tuple[int, int]:
    """(people checked, people refused) on the enterprise's permits checked from ``since`` to ``until``, for the
    people of ``people`` (a select of person ids): the culture indicator's inputs."""
    row = db.session.execute(
        select(func.count(), func.sum(case((PermitPerson.qualified.is_(False), 1), else_=0)))
        .select_from(PermitPerson)
        .join(Permit, Permit.id == PermitPerson.permit_id)
        .where(
            Permit.enterprise_id == enterprise_id,
            Permit.checked_on >= since,
            Permit.checked_on <= until,
            PermitPerson.person_id.in_(people),
        )
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


# ---------------------------------------------------------------- editing the works


def update_work(work: PermitWork, *, name: str, roles: str, citation: str | None, active: bool) -> PermitWork:
    """Change a work's name, roles (separated by 、, commas or new lines), citation and whether it is in use."""
    name = (name or "").strip()
    if not name:
        raise DomainError(msg("The work needs a name."), field="name")
    if len(name) > 60:
        raise DomainError(msg("The name may have at most 60 characters."), field="name")
    clash = db.session.scalar(
        select(PermitWork.id).where(
            PermitWork.enterprise_id == work.enterprise_id, PermitWork.name == name, PermitWork.id != work.id
        )
    )
    if clash is not None:
        raise DomainError(msg("Another work is already named %(name)s.", name=name), field="name")
    role_list = []
    for part in re.split(r"[、,，;；|\n]+", roles or ""):
        part = part.strip()
        if part and part not in role_list:
            if len(part) > 30:
                raise DomainError(
                    msg("A role may have at most 30 characters: %(role)s", role=part[:40]), field="roles"
                )
            role_list.append(part)
    if not role_list:
        raise DomainError(msg("Name at least one role (作业人员, 监护人 …)."), field="roles")
    joined = "|".join(role_list)
    if len(joined) > 300:
        raise DomainError(msg("Too many roles."), field="roles")
    removed = set(work.role_list) - set(role_list)
    for need in list(work.needs):
        if need.role in removed:
            work.needs.remove(need)  # a need of a role that is gone would never apply
    work.name, work.roles, work.active = name, joined, bool(active)
    work.citation = (citation or "").strip() or None
    db.session.flush()
    return work


def add_need(
    work: PermitWork, *, role: str | None, kind: str, requirement_id: int | None, match: str | None
) -> PermitNeed:
    """Add what a person in ``role`` (empty: any role) needs for the work."""
    role = (role or "").strip() or None
    if role is not None and role not in work.role_list:
        raise DomainError(msg("Choose one of the work's roles."), field="role")
    if kind not in NEED_KINDS:
        raise DomainError(msg("Choose what is needed."), field="kind")
    need = PermitNeed(role=role, kind=kind)
    if kind == NEED_REQUIREMENT:
        req = db.session.get(Requirement, requirement_id or 0)
        if req is None or req.enterprise_id != work.enterprise_id:
            raise DomainError(msg("Choose a requirement of the training matrix."), field="requirement_id")
        need.requirement_id = req.id
    else:
        match = (match or "").strip()
        if not match:
            raise DomainError(
                msg("Say what the certificate's operation or title must contain."), field="match"
            )
        if len(match) > 200:
            raise DomainError(msg("At most 200 characters."), field="match")
        need.match = match
    for other in work.needs:
        if (other.role, other.kind, other.requirement_id, other.match) == (
            need.role,
            need.kind,
            need.requirement_id,
            need.match,
        ):
            raise DomainError(msg("The work already needs this."), field="kind")
    work.needs.append(need)
    db.session.flush()
    return need


def remove_need(need: PermitNeed) -> None:
    """Remove a need from its work."""
    db.session.delete(need)
    db.session.flush()


__all__ = [
    "update_work",
    "add_need",
    "remove_need",
    "Finding",
    "PersonResult",
    "CheckResult",
    "works",
    "find_work",
    "find_people",
    "person_by_employee_no",
    "certificate_from_qr",
    "check_role",
    "check",
    "save_permit",
    "recheck",
    "permits_query",
    "permit_counts",
    "refusal_counts",
    "stored_message",
]
