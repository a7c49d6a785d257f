"""The endpoints of /api/v1/: thin, like views — find the enterprise the key reaches, call a service, answer.

Every call goes through ``lms.api.core.api_route`` (key, scope, rate, language, errors, log)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

from flask import current_app, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from lms.api import bp, xapi
from lms.api.core import PREFIX, ApiError, Call, api_route, decode_cursor, not_found, page, spec
from lms.api.schemas import (
    AsOfQuery,
    BulkPeopleIn,
    CertificatePage,
    CertificatesQuery,
    CoverageOut,
    CoverageQuery,
    DepartmentList,
    EnterpriseList,
    EnterpriseQuery,
    PeopleQuery,
    PersonOut,
    PersonPage,
    PersonStatusOut,
    PostList,
    RecordIn,
    RecordOut,
    RecordPage,
    RecordResultOut,
    RecordsQuery,
    RosterResultOut,
    VerifyOut,
    VerifyQuery,
    VoidIn,
    XapiPage,
    XapiQuery,
)
from lms.core.db import db
from lms.core.i18n import translate_message
from lms.core.permissions import public
from lms.core.timeutil import iso_local, to_utc
from lms.core.urls import public_base
from lms.ledger import services as ledger
from lms.ledger import sources
from lms.ledger.models import TrainingRecord
from lms.ledger.sources import prefix_of
from lms.org.models import Department, Enterprise, Person, PersonRole, Post, ResponsibilityRole
from lms.org.services import subtree_ids

EXTERNAL = "api"  # the source prefix of records sent through the API: api:<external id>


def _external_labels(records: Any) -> dict[int, str]:
    """How the archive names a record sent through the API: by the sender's own id of it."""
    return {r.id: _("Sent by another system (its id %(id)s)", id=r.source.split(":", 1)[1]) for r in records}


sources.register(EXTERNAL, _external_labels)


# ------------------------------------------------------------------------------------------ enterprises


@api_route("/enterprises", scope="", query=EnterpriseQuery, out=EnterpriseList, tags=("enterprises",))
def list_enterprises(call: Call) -> Any:
    """The enterprises this key reaches."""
    rows = db.session.scalars(
        select(Enterprise).where(Enterprise.id.in_(call.enterprise_ids or [0])).order_by(Enterprise.id)
    )
    return {
        "items": [
            {
                "code": e.code,
                "name": e.name,
                "time_zone": e.time_zone,
                "industry": e.industry,
                "high_risk": bool(e.high_risk),
            }
            for e in rows
        ]
    }


# ------------------------------------------------------------------------------------------ org


@api_route("/departments", scope="people:read", query=EnterpriseQuery, out=DepartmentList, tags=("people",))
def list_departments(call: Call) -> Any:
    """The department tree (company → workshop → team), in path order."""
    ent = call.enterprise(call.query.enterprise)
    rows = db.session.scalars(
        select(Department).where(Department.enterprise_id == ent.id).order_by(Department.path, Department.id)
    )
    return {
        "items": [
            {"id": d.id, "name": d.name, "path": d.path, "parent_id": d.parent_id, "depth": d.depth}
            for d in rows
        ]
    }


@api_route("/posts", scope="people:read", query=EnterpriseQuery, out=PostList, tags=("people",))
def list_posts(call: Call) -> Any:
    """The posts (岗位)."""
    ent = call.enterprise(call.query.enterprise)
    rows = db.session.scalars(select(Post).where(Post.enterprise_id == ent.id).order_by(Post.name, Post.id))
    return {"items": [{"id": p.id, "name": p.name, "department_id": p.department_id} for p in rows]}


def _people_out(ent: Enterprise, people: list[Person]) -> list[dict[str, Any]]:
    ids = [p.id for p in people]
    roles: dict[int, list[str]] = {}
    if ids:
        for pid, name in db.session.execute(
            select(PersonRole.person_id, ResponsibilityRole.name)
            .join(ResponsibilityRole, ResponsibilityRole.id == PersonRole.role_id)
            .where(PersonRole.person_id.in_(ids))
            .order_by(PersonRole.person_id, ResponsibilityRole.sort_order, ResponsibilityRole.id)
        ):
            roles.setdefault(pid, []).append(name)
    dept_ids = {p.department_id for p in people if p.department_id}
    post_ids = {p.post_id for p in people if p.post_id}
    depts = (
        dict(
            db.session.execute(
                select(Department.id, Department.path).where(Department.id.in_(dept_ids))
            ).all()
        )
        if dept_ids
        else {}
    )
    posts = (
        dict(db.session.execute(select(Post.id, Post.name).where(Post.id.in_(post_ids))).all())
        if post_ids
        else {}
    )
    return [
        {
            "id": p.id,
            "employee_no": p.employee_no,
            "name": p.name,
            "department_id": p.department_id,
            "department": depts.get(p.department_id),
            "post_id": p.post_id,
            "post": posts.get(p.post_id),
            "roles": roles.get(p.id, []),
            "status": p.status,
            "phone": p.phone,
            "hire_date": _d(p.hire_date),
            "left_on": _d(p.left_on),
            "away_from": _d(p.away_from),
            "returned_on": _d(p.returned_on),
            "created_at": iso_local(p.created_at, ent, "seconds"),
        }
        for p in people
    ]


def _d(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _person(
    call: Call, ent: Enterprise, *, person_id: int | None = None, employee_no: str | None = None
) -> Person:
    if person_id is not None:
        p = db.session.get(Person, person_id)
    else:
        p = db.session.scalar(
            select(Person).where(Person.enterprise_id == ent.id, Person.employee_no == employee_no)
        )
    if p is None or p.enterprise_id != ent.id:
        raise not_found()
    return p


@api_route("/people", scope="people:read", query=PeopleQuery, out=PersonPage, tags=("people",))
def list_people(call: Call) -> Any:
    """People, in id order, a page at a time (follow next_cursor until it is null)."""
    q = call.query
    ent = call.enterprise(q.enterprise, names=True)
    stmt = select(Person).where(Person.enterprise_id == ent.id, Person.id > decode_cursor(q.cursor))
    if q.department_id is not None:
        dept = db.session.get(Department, q.department_id)
        if dept is None or dept.enterprise_id != ent.id:
            raise not_found()
        stmt = stmt.where(Person.department_id.in_(subtree_ids(dept)))
    if q.post_id is not None:
        stmt = stmt.where(Person.post_id == q.post_id)
    if q.role is not None:
        stmt = stmt.where(
            Person.id.in_(
                select(PersonRole.person_id)
                .join(ResponsibilityRole, ResponsibilityRole.id == PersonRole.role_id)
                .where(ResponsibilityRole.enterprise_id == ent.id, ResponsibilityRole.name == q.role)
            )
        )
    if q.status is not None:
        stmt = stmt.where(Person.status == q.status)
    if q.employee_no is not None:
        stmt = stmt.where(Person.employee_no == q.employee_no)
    people = list(db.session.scalars(stmt.order_by(Person.id).limit(q.limit + 1)))
    result = page(people, q.limit, lambda p: p.id)
    result["items"] = _people_out(ent, result["items"])
    return result


@api_route(
    "/people/<int:person_id>", scope="people:read", query=EnterpriseQuery, out=PersonOut, tags=("people",)
)
def get_person(call: Call, person_id: int) -> Any:
    """One person."""
    ent = call.enterprise(call.query.enterprise, names=True)
    return _people_out(ent, [_person(call, ent, person_id=person_id)])[0]


# The roster's own column names: a bulk upsert is the roster import of a sheet with these columns.
ROSTER_COLUMNS = {
    "employee_no": "Employee No",
    "name": "Name",
    "department": "Department",
    "post": "Post",
    "roles": "Roles",
    "hire_date": "Hire date",
    "away_from": "Leave from",
    "returned_on": "Back on",
    "phone": "Phone",
    "status": "Status",
}
STATUS_TEXT = {"active": "在职", "left": "离职", "在职": "在职", "离职": "离职"}


def roster_sheet(people: list[Any]) -> bytes:
    """The people as the roster sheet ``lms.org.roster`` reads: one row each under a header on row 1 (so a
    person's row is its index + 2), tab-separated UTF-8 text.

    A field sent for nobody is not a column (left as it is, as when a sheet lacks the column); a field sent for
    some is a column, empty for the others. Every value is one line without tabs, so the reader cannot mistake
    the delimiter; a leading 序号 column keeps a person whose 工号 reads like a footer (合计, 备注…) a person.
    """
    sent = [name for name in ROSTER_COLUMNS if any(name in p.model_fields_set for p in people)]
    for must in ("name", "employee_no"):
        if must not in sent:
            sent.insert(0, must)
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(["序号", *(ROSTER_COLUMNS[name] for name in sent)])
    for number, p in enumerate(people, start=1):
        row = [str(number)]
        for name in sent:
            value = getattr(p, name)
            if value is None:
                text = ""
            elif name == "roles":
                text = "、".join(" ".join(role.split()) for role in value)
            elif name == "status":
                text = STATUS_TEXT[value]
            elif isinstance(value, dt.date):
                text = value.isoformat()
            else:
                text = " ".join(str(value).split())
            row.append(text)
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


@api_route(
    "/people/bulk",
    scope="people:write",
    methods=("POST",),
    body=BulkPeopleIn,
    out=RosterResultOut,
    tags=("people",),
    responses={422: RosterResultOut},
)
def upsert_people(call: Call) -> Any:
    """Create or update people by 工号, with the roster import's checks: all or nothing; dry_run checks only.

    The answer is the object `lms import-roster --json` prints. A person missing from the list is left alone.
    """
    from lms.org.roster import import_roster

    ent = call.enterprise(call.body.enterprise)
    people = call.body.people
    if not people:
        raise ApiError(400, "invalid_request", _("Send at least one person."))
    result = import_roster(ent, roster_sheet(people), "api.csv", dry_run=call.body.dry_run)
    data = result.as_json()
    data["file"] = "api"
    data["errors"] = [
        {
            "row": e["row"],
            "index": (e["row"] - 2) if e["row"] else None,
            "field": e["field"],
            "message": str(translate_message(e["message"])),
        }
        for e in result.errors
    ]
    if not result.committed:
        db.session.rollback()
    response = jsonify(data)
    response.status_code = 422 if result.errors else 200
    return response


# ------------------------------------------------------------------------------------------ records


def _records_out(ent: Enterprise, recs: list[TrainingRecord]) -> list[dict[str, Any]]:
    nos = (
        dict(
            db.session.execute(
                select(Person.id, Person.employee_no).where(Person.id.in_({r.person_id for r in recs}))
            ).all()
        )
        if recs
        else {}
    )
    out = []
    for r in recs:
        kind = prefix_of(r.source)
        out.append(
            {
                "id": r.id,
                "person_id": r.person_id,
                "employee_no": nos.get(r.person_id),
                "kind": r.kind,
                "topic": r.topic,
                "category": r.category,
                "level": r.level,
                "hours": _dec(r.hours),
                "started_at": iso_local(r.started_at, ent, "seconds"),
                "completed_at": iso_local(r.completed_at, ent, "seconds"),
                "score": _dec(r.score),
                "passed": r.passed,
                "valid_until": _d(r.valid_until),
                "certificate_no": r.certificate_no,
                "source": kind,
                "external_id": r.source.split(":", 1)[1] if kind == EXTERNAL else None,
                "recorded_at": iso_local(r.recorded_at, ent, "seconds"),
                "voided_at": iso_local(r.voided_at, ent, "seconds"),
                "void_reason": r.void_reason,
            }
        )
    return out


def _dec(value: Any) -> str | None:
    return None if value is None else f"{Decimal(value):.2f}"


@api_route("/records", scope="records:read", query=RecordsQuery, out=RecordPage, tags=("records",))
def list_records(call: Call) -> Any:
    """Training records (the ledger), in id order, a page at a time; live ones unless include_voided."""
    q = call.query
    ent = call.enterprise(q.enterprise, names=True)
    stmt = select(TrainingRecord).where(
        TrainingRecord.enterprise_id == ent.id, TrainingRecord.id > decode_cursor(q.cursor)
    )
    if q.person_id is not None or q.employee_no is not None:
        person = _person(call, ent, person_id=q.person_id, employee_no=q.employee_no)
        stmt = stmt.where(TrainingRecord.person_id == person.id)
    if q.since is not None:
        stmt = stmt.where(TrainingRecord.completed_at >= to_utc(q.since, ent))
    if q.until is not None:
        stmt = stmt.where(TrainingRecord.completed_at < to_utc(q.until, ent))
    if q.kind is not None:
        stmt = stmt.where(TrainingRecord.kind == q.kind)
    if q.source is not None:
        stmt = stmt.where(
            TrainingRecord.source.like(q.source.replace("%", "").replace("_", "\\_") + ":%", escape="\\")
        )
    if q.external_id is not None:
        stmt = stmt.where(TrainingRecord.source == f"{EXTERNAL}:{q.external_id}")
    if not q.include_voided:
        stmt = stmt.where(TrainingRecord.voided_at.is_(None))
    recs = list(db.session.scalars(stmt.order_by(TrainingRecord.id).limit(q.limit + 1)))
    result = page(recs, q.limit, lambda r: r.id)
    result["items"] = _records_out(ent, result["items"])
    return result


@api_route(
    "/records",
    scope="records:write",
    methods=("POST",),
    body=RecordIn,
    out=RecordResultOut,
    tags=("records",),
    status=201,
    extra_statuses=(409,),
)
def create_record(call: Call) -> Any:
    """Record training done outside the system, once per external_id (sending it again is safe)."""
    b = call.body
    ent = call.enterprise(b.enterprise)
    person = _person(call, ent, employee_no=b.employee_no)
    result = ledger.record(
        person,
        kind=b.kind,
        topic=b.topic,
        source=f"{EXTERNAL}:{b.external_id}",
        hours=b.hours,
        completed_at=to_utc(b.completed_at, ent),
        started_at=to_utc(b.started_at, ent),
        category=b.category,
        level=b.level,
        score=b.score,
        passed=b.passed,
        valid_until=b.valid_until,
        certificate_no=b.certificate_no,
        note=b.note,
        evidence={"api_key": call.key.prefix},
    )
    response = jsonify({"outcome": result.outcome, "record": _records_out(ent, [result.record])[0]})
    response.status_code = 201 if result.outcome != "unchanged" else 200
    return response


@api_route(
    "/records/<int:record_id>/void",
    scope="records:write",
    methods=("POST",),
    body=VoidIn,
    out=RecordOut,
    tags=("records",),
)
def void_record(call: Call, record_id: int) -> Any:
    """Void a record with a reason (it stays in the archive, marked)."""
    rec = db.session.get(TrainingRecord, record_id)
    if rec is None or rec.enterprise_id not in call.enterprise_ids:
        raise not_found()
    ent = call.enterprise(db.session.get(Enterprise, rec.enterprise_id).code)
    if rec.voided_at is not None:
        raise ApiError(409, "already_voided", _("This record is already voided."))
    ledger.void(rec.id, reason=call.body.reason, actor=None, enterprise_id=ent.id)
    return _records_out(ent, [rec])[0]


# ------------------------------------------------------------------------------------------ status


def _as_of(ent: Enterprise, value: dt.date | None) -> dt.date:
    from lms.org.timezone import enterprise_today

    return value or enterprise_today(ent.id)


@api_route(
    "/status/people/<int:person_id>",
    scope="status:read",
    query=AsOfQuery,
    out=PersonStatusOut,
    tags=("status",),
)
def person_status(call: Call, person_id: int) -> Any:
    """Where a person stands on each requirement (the figures of the person's training page)."""
    from lms.training import reading
    from lms.training.models import Requirement

    ent = call.enterprise(call.query.enterprise, names=True)
    person = _person(call, ent, person_id=person_id)
    as_of = _as_of(ent, call.query.as_of)
    rows = reading.person_rows(ent.id, person.id, as_of)
    names = dict(
        db.session.execute(
            select(Requirement.id, Requirement.name).where(Requirement.enterprise_id == ent.id)
        ).all()
    )
    return {
        "person_id": person.id,
        "employee_no": person.employee_no,
        "name": person.name,
        "as_of": as_of.isoformat(),
        "requirements": [
            {
                "requirement_id": r["requirement_id"],
                "requirement": names.get(r["requirement_id"], ""),
                "status": r["status"],
                "hours_done": _dec(r.get("hours_done")),
                "hours_due": _dec(r.get("hours_due")),
                "due_on": _d(r.get("due_on")),
                "valid_until": _d(r.get("valid_until")),
                "completed_at": iso_local(r.get("completed_at"), ent, "seconds"),
            }
            for r in rows
        ],
    }


@api_route(
    "/coverage/<any(department, post, role, requirement):by>",
    scope="status:read",
    query=CoverageQuery,
    out=CoverageOut,
    tags=("status",),
)
def coverage_by(call: Call, by: str) -> Any:
    """Coverage by department, post, role or requirement, and the headline figures (those of the dashboard)."""
    from lms.training import coverage, reading
    from lms.training.models import Requirement  # noqa: F401  (the requirement rows' names)

    q = call.query
    ent = call.enterprise(q.enterprise)
    as_of = _as_of(ent, q.as_of)
    parts = []
    if q.department_id is not None:
        dept = db.session.get(Department, q.department_id)
        if dept is None or dept.enterprise_id != ent.id:
            raise not_found()
        parts.append(coverage.department_filter(dept))
    if q.role_id is not None:
        role = db.session.get(ResponsibilityRole, q.role_id)
        if role is None or role.enterprise_id != ent.id:
            raise not_found()
        parts.append(coverage.role_filter(role.id))
    if q.post_id is not None:
        post = db.session.get(Post, q.post_id)
        if post is None or post.enterprise_id != ent.id:
            raise not_found()
        parts.append(coverage.post_filter(post.id))
    pf = coverage.combine(*parts)
    with reading.read(ent.id, as_of, pf, materialise=True) as s:
        rows = coverage.coverage(ent.id, by, as_of, pf, source=s)
        figures = coverage.figures(ent.id, as_of, pf, source=s)
    return {
        "by": by,
        "as_of": as_of.isoformat(),
        "figures": {k: (float(v) if isinstance(v, Decimal) else v) for k, v in figures.items()},
        "rows": [
            {
                "key": r.get("key"),
                "label": r.get("label"),
                "people": int(r.get("people") or 0),
                "compliant": int(r.get("compliant") or 0),
                "late": int(r.get("late") or 0),
                "due_soon": int(r.get("due_soon") or 0),
                "share": float(r["share"]) if r.get("share") is not None else None,
                "exempt": int(r["exempt"]) if r.get("exempt") is not None else None,
            }
            for r in rows
        ],
    }


# ------------------------------------------------------------------------------------------ certificates


def _cert_out(c: Any, today: dt.date) -> dict[str, Any]:
    return {
        "id": c.id,
        "number": c.number,
        "person_id": c.person_id,
        "employee_no": c.employee_no,
        "holder_name": c.holder_name,
        "title": c.title,
        "kind": c.kind,
        "hours": _dec(c.hours),
        "score": _dec(c.score),
        "issued_on": _d(c.issued_on),
        "valid_until": _d(c.valid_until),
        "status": c.status_on(today),
    }


@api_route(
    "/certificates",
    scope="certificates:read",
    query=CertificatesQuery,
    out=CertificatePage,
    tags=("certificates",),
)
def list_certificates(call: Call) -> Any:
    """Certificates issued, in id order, a page at a time; status as of today (expiry computed)."""
    from certificates.models import Certificate
    from certificates.services import status_clause

    q = call.query
    ent = call.enterprise(q.enterprise, names=True)
    today = _as_of(ent, None)
    stmt = select(Certificate).where(
        Certificate.enterprise_id == ent.id, Certificate.id > decode_cursor(q.cursor)
    )
    if q.person_id is not None or q.employee_no is not None:
        person = _person(call, ent, person_id=q.person_id, employee_no=q.employee_no)
        stmt = stmt.where(Certificate.person_id == person.id)
    if q.status is not None:
        stmt = stmt.where(status_clause(q.status, today))
    certs = list(db.session.scalars(stmt.order_by(Certificate.id).limit(q.limit + 1)))
    result = page(certs, q.limit, lambda c: c.id)
    result["items"] = [_cert_out(c, today) for c in result["items"]]
    return result


@api_route(
    "/certificates/verify",
    scope="certificates:read",
    query=VerifyQuery,
    out=VerifyOut,
    tags=("certificates",),
)
def verify_certificate(call: Call) -> Any:
    """Check a certificate by its number and verification code (of an enterprise this key reaches)."""
    from certificates.services import verify

    cert = verify(call.query.number, call.query.code)
    if cert is None or cert.enterprise_id not in call.enterprise_ids:
        return {"valid": False, "certificate": None}
    ent = db.session.get(Enterprise, cert.enterprise_id)
    today = _as_of(ent, None)
    out = _cert_out(cert, today)
    return {"valid": out["status"] == "valid", "certificate": out}


# ------------------------------------------------------------------------------------------ xAPI


@api_route("/xapi/statements", scope="records:read", query=XapiQuery, out=XapiPage, tags=("xapi",))
def xapi_statements(call: Call) -> Any:
    """Course completions, exam results and classroom attendance as xAPI 1.0.3 statements, in record order."""
    q = call.query
    ent = call.enterprise(q.enterprise, names=True)
    items, last = xapi.statements(
        ent,
        since=to_utc(q.since, ent),
        until=to_utc(q.until, ent),
        after_id=decode_cursor(q.cursor),
        limit=q.limit,
    )
    from lms.api.core import encode_cursor

    return {"items": items, "next_cursor": encode_cursor(last) if last is not None else None}


# ------------------------------------------------------------------------------------------ the document


@bp.route(PREFIX + "/openapi.json")
@public
def openapi_document() -> Any:
    """The OpenAPI 3.1 document, derived from the models above by spectree."""
    return jsonify(spec.spec)


@bp.route(PREFIX + "/docs")
@public
def docs() -> Any:
    """A reference page rendered here from the document (no script, nothing from the internet)."""
    from lms.api.reference import models, operations

    return render_template(
        "api/reference.html",
        ops=operations(spec.spec),
        models=models(spec.spec),
        document=spec.spec,
        base=public_base(),  # LMS_PUBLIC_URL or a trusted host, never a forged Host header
    )


@bp.route(PREFIX + "/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@public
def unknown(rest: str) -> Any:
    """Any other path under /api/v1 (or a known path with another method): a JSON error, not an HTML page."""
    from flask_babel import force_locale
    from werkzeug.exceptions import HTTPException

    from lms.api.core import api_locale, error_response

    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST"):
        try:
            endpoint, _args = adapter.match(method=method)
        except HTTPException:
            continue
        if endpoint != "api.unknown":
            allowed.append(method)
    with force_locale(api_locale()):
        if allowed:
            resp = error_response(ApiError(405, "method_not_allowed", _("This method is not allowed here.")))
            resp.headers["Allow"] = ", ".join(allowed)
            return resp
        return error_response(ApiError(404, "not_found", _("No such endpoint: see /api/v1/docs.")))
