"""Training pages: my training, the manager dashboard, requirements, exemptions, archives, notifications,
the regulator view. Thin: load → check access → call a service → commit once → render."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext, pgettext
from flask_login import current_user
from sqlalchemy import func, select

from courses.models import Course
from lms.core import timeutil
from lms.core.db import db, utcnow
from lms.core.errors import DomainError
from lms.core.exports import csv_bytes, xlsx_bytes
from lms.core.nav import home_for, nav_item
from lms.core.permissions import roles, signed_in
from lms.org.access import (
    MANAGERS,
    acting_enterprise,
    acting_enterprise_id,
    get_scoped,
    regulated_enterprise_ids,
)
from lms.org.models import (
    ADMIN,
    EVALUATOR,
    LEARNER,
    MANAGER,
    REGULATOR,
    TRAINER,
    Department,
    Enterprise,
    Person,
    Post,
    ResponsibilityRole,
)
from lms.org.timezone import enterprise_today
from lms.training import bp, coverage, glossary, learner, presets, reading, requirement_fields, services
from lms.training.archive import MIMETYPES as ARCHIVE_MIMETYPES
from lms.training.archive import archive_context, archive_file
from lms.training.forms import ExemptionForm, RequirementForm
from lms.training.models import (
    DUE_SOON,
    EXPIRED,
    IN_GRACE,
    OVERDUE,
    STATUSES,
    Exemption,
    Notification,
    Requirement,
)

LEARNERS = (LEARNER, EVALUATOR, TRAINER, MANAGER)
DASHBOARD = (MANAGER, TRAINER, ADMIN)
REGULATORS = (REGULATOR, ADMIN)
DEFAULT_THRESHOLD = 0.9
PAGE_SIZE = 100

nav_item("training.mine", lazy_pgettext("menu", "My training"), (LEARNER, EVALUATOR), order=10)
nav_item("training.dashboard", lazy_pgettext("menu", "Training coverage"), DASHBOARD, order=15)
nav_item("training.requirements", lazy_pgettext("menu", "Requirements"), MANAGERS, order=16)
nav_item("training.regulator", lazy_pgettext("menu", "Enterprises overseen"), (REGULATOR,), order=10)
# Notifications have no menu entry: the bell in the header (lms.training.notifications) counts and opens them.
home_for(LEARNER, "training.mine", 100)
home_for(EVALUATOR, "training.mine", 100)
home_for(MANAGER, "training.dashboard", 100)
home_for(TRAINER, "training.dashboard", 100)
home_for(REGULATOR, "training.regulator", 100)

# One word per status, defined once (lms.training.glossary, shown on the glossary page).
STATUS_LABELS = glossary.STATUS_LABELS
BY_LABELS = {
    "department": _l("Department"),
    "post": _l("Post"),
    "role": _l("Responsibility role"),
    "requirement": _l("Requirement"),
}
LIST_FILTERS = {
    "late": (OVERDUE, EXPIRED),
    "overdue": (OVERDUE,),
    "expired": (EXPIRED,),
    "due_soon": (DUE_SOON,),
    "in_grace": (IN_GRACE,),
    "noncompliant": (*glossary.OPEN, OVERDUE, EXPIRED),
    **{s: (s,) for s in STATUSES},
}


# ---------------------------------------------------------------- helpers


def _as_of() -> dt.date:
    raw = request.args.get("as_of") or ""
    try:
        return dt.date.fromisoformat(raw) if raw else timeutil.today()
    except ValueError:
        return timeutil.today()


def _filters(ent_id: int) -> tuple[Any, dict[str, Any]]:
    """Department subtree, role and post filters from the query string (checked against the enterprise)."""
    args: dict[str, Any] = {}
    parts = []
    dept_id = request.args.get("department", type=int)
    if dept_id:
        parts.append(coverage.department_filter(get_scoped(Department, dept_id, enterprise_id=ent_id)))
        args["department"] = dept_id
    role_id = request.args.get("role", type=int)
    if role_id:
        get_scoped(ResponsibilityRole, role_id, enterprise_id=ent_id)
        parts.append(coverage.role_filter(role_id))
        args["role"] = role_id
    post_id = request.args.get("post", type=int)
    if post_id:
        get_scoped(Post, post_id, enterprise_id=ent_id)
        parts.append(coverage.post_filter(post_id))
        args["post"] = post_id
    return coverage.combine(*parts), args


def _send_table(headers: list[Any], rows: list[list[Any]], name: str, fmt: str) -> Any:
    headers = [str(h) for h in headers]
    if fmt == "csv":
        return send_file(
            io.BytesIO(csv_bytes(headers, rows)),
            as_attachment=True,
            download_name=f"{name}.csv",
            mimetype="text/csv",
        )
    if fmt == "xlsx":
        return send_file(
            io.BytesIO(xlsx_bytes(headers, rows, sheet_title=name[:31])),
            as_attachment=True,
            download_name=f"{name}.xlsx",
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    abort(404)


def _coverage_table(rows: list[dict[str, Any]], by: str) -> tuple[list[Any], list[list[Any]]]:
    headers = [
        BY_LABELS[by],
        _("People"),
        _("People compliant"),
        _("Coverage (%)"),
        _("People overdue or expired"),
        _("People with training due soon"),
    ]
    body = [
        [r["label"], r["people"], r["compliant"], round((r["share"] or 0) * 100, 1), r["late"], r["due_soon"]]
        for r in rows
    ]
    return headers, body


def _list_table(rows: list[dict[str, Any]], *, names: bool = True) -> tuple[list[Any], list[list[Any]]]:
    headers = [
        _("Employee number"),
        pgettext("person", "Name"),
        _("Department"),
        _("Post"),
        _("Requirement"),
        _("Status"),
        _("Hours done"),
        _("Hours due"),
        _("Due on"),
        _("Valid until"),
    ]
    labels = {key: str(label) for key, label in STATUS_LABELS.items()}  # translated once, not per row
    body = [
        [
            r["employee_no"],
            r["name"] if names else "",
            r["department"] or "",
            r["post"] or "",
            r["requirement"],
            labels.get(r["status"], r["status"]),
            r["hours_done"],
            r["hours_due"],
            r["due_on"],
            r["valid_until"],
        ]
        for r in rows
    ]
    return headers, body


def _courses(ent_id: int, ids: set[int]) -> dict[int, Any]:
    """Id and title of the courses named by the requirements on the page (of this enterprise or shared)."""
    if not ids:
        return {}
    rows = db.session.execute(
        select(Course.id, Course.title).where(
            Course.id.in_(sorted(ids)), (Course.enterprise_id == ent_id) | Course.enterprise_id.is_(None)
        )
    )
    return {r.id: r for r in rows}


def _course_choices(ent_id: int) -> list[Any]:
    """Every course a requirement of this enterprise may name (its own and shared ones), by title."""
    return list(
        db.session.execute(
            select(Course.id, Course.title)
            .where((Course.enterprise_id == ent_id) | Course.enterprise_id.is_(None))
            .order_by(Course.title)
        )
    )


# ---------------------------------------------------------------- learner


@bp.route("/mine")
@roles(*LEARNERS, ADMIN)
def mine():
    person = current_user.person
    if person is None:
        abort(404)
    as_of = enterprise_today(person.enterprise_id)
    rows = learner.my_requirements(person, as_of)  # the learner's home reads the same rows (issue 18)
    reqs = {
        r.id: r
        for r in db.session.scalars(
            select(Requirement).where(Requirement.id.in_([r["requirement_id"] for r in rows] or [0]))
        )
    }
    courses = _courses(
        person.enterprise_id, {r.course_id for r in reqs.values() if r.kind == "course" and r.course_id}
    )
    notes = db.session.scalars(
        select(Notification)
        .where(Notification.user_id == current_user.id, Notification.read_at.is_(None))
        .order_by(Notification.created_at.desc())
        .limit(5)
    ).all()
    return render_template(
        "training/mine.html",
        person=person,
        rows=rows,
        reqs=reqs,
        courses=courses,
        notes=notes,
        as_of=as_of,
        status_labels=STATUS_LABELS,
        todo=learner.still_to_do(rows),
    )


@bp.route("/mine/archive")
@roles(*LEARNERS, ADMIN)
def my_archive():
    person = current_user.person
    if person is None:
        abort(404)
    if request.args.get("format") == "pdf":
        return _archive_pdf_response(person)
    return render_template(
        "training/archive.html", person=person, mine=True, history=[], **archive_context(person.id)
    )


# ---------------------------------------------------------------- manager dashboard


@bp.route("/")
@roles(*DASHBOARD)
def dashboard():
    ent = acting_enterprise()
    as_of = _as_of()
    pf, args = _filters(ent.id)
    # One read for every figure: today's kept rows (brought up to date first), another day's computed once.
    with reading.read(ent.id, as_of, pf, materialise=True) as s:
        data = {by: coverage.coverage(ent.id, by, as_of, pf, source=s) for by in coverage.BY_CHOICES}
        total = coverage.figures(ent.id, as_of, pf, source=s)
        late_n = total["late_requirements"]
        expiring_n = coverage.named_list(ent.id, as_of, pf, expiring_within=30, count=True, source=s)
        late = coverage.named_list(ent.id, as_of, pf, statuses=(OVERDUE, EXPIRED), limit=15, source=s)
        expiring = coverage.named_list(ent.id, as_of, pf, expiring_within=30, limit=15, source=s)
    # Closed months come from the snapshots (stored on first use: the request then runs as a write unit, which
    # the request wrapper commits); the last point is `total`.
    points = coverage.trend(ent.id, as_of, pf, latest=total, filter_args=args)
    trend = [(label, None if pending else (share or 0)) for label, share, pending in points]
    depts = db.session.scalars(
        select(Department).where(Department.enterprise_id == ent.id).order_by(Department.path)
    ).all()
    role_rows = db.session.scalars(
        select(ResponsibilityRole)
        .where(ResponsibilityRole.enterprise_id == ent.id)
        .order_by(ResponsibilityRole.sort_order)
    ).all()
    n_req = db.session.scalar(
        select(func.count()).where(Requirement.enterprise_id == ent.id, Requirement.active.is_(True))
    )
    return render_template(
        "training/dashboard.html",
        ent=ent,
        as_of=as_of,
        args=args,
        data=data,
        total=total,
        late=late,
        late_n=late_n,
        expiring=expiring,
        expiring_n=expiring_n,
        trend=trend,
        depts=depts,
        roles=role_rows,
        n_req=n_req,
        status_labels=STATUS_LABELS,
        by_labels=BY_LABELS,
    )


@bp.route("/glossary")
@roles(*DASHBOARD, *REGULATORS, *LEARNERS)
def glossary_page():
    return render_template(
        "training/glossary.html", statuses=glossary.STATUS_WORDS, figures=glossary.FIGURE_WORDS
    )


@bp.route("/coverage/<by>")
@roles(*DASHBOARD)
def coverage_table(by: str):
    if by not in coverage.BY_CHOICES:
        abort(404)
    ent = acting_enterprise()
    as_of = _as_of()
    pf, args = _filters(ent.id)
    rows = coverage.coverage(ent.id, by, as_of, pf)
    fmt = request.args.get("format")
    if fmt:
        headers, body = _coverage_table(rows, by)
        return _send_table(headers, body, f"coverage-{by}-{as_of.isoformat()}", fmt)
    return render_template(
        "training/coverage.html", by=by, rows=rows, as_of=as_of, args=args, by_labels=BY_LABELS
    )


@bp.route("/list")
@roles(*DASHBOARD)
def named_list():
    ent = acting_enterprise()
    as_of = _as_of()
    pf, args = _filters(ent.id)
    req_id = request.args.get("requirement", type=int)
    if req_id:
        get_scoped(Requirement, req_id, enterprise_id=ent.id)
        args["requirement"] = req_id
    show = request.args.get("show") or ""
    expiring = 30 if show == "expiring" else None
    chosen = LIST_FILTERS.get(show) if show and show != "expiring" else None
    if show:
        args["show"] = show
    fmt = request.args.get("format")
    if fmt:
        rows = coverage.named_list(
            ent.id, as_of, pf, requirement_id=req_id, statuses=chosen, expiring_within=expiring
        )
        headers, body = _list_table(rows)
        return _send_table(headers, body, f"training-list-{as_of.isoformat()}", fmt)
    page = max(1, request.args.get("page", 1, type=int))
    with reading.read(ent.id, as_of, pf, materialise=True) as s:
        n = coverage.named_list(
            ent.id,
            as_of,
            pf,
            requirement_id=req_id,
            statuses=chosen,
            expiring_within=expiring,
            count=True,
            source=s,
        )
        rows = coverage.named_list(
            ent.id,
            as_of,
            pf,
            requirement_id=req_id,
            statuses=chosen,
            expiring_within=expiring,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
            source=s,
        )
    return render_template(
        "training/list.html",
        rows=rows,
        n=n,
        page=page,
        pages=max(1, -(-n // PAGE_SIZE)),
        as_of=as_of,
        args=args,
        show=show,
        status_labels=STATUS_LABELS,
        filters=["late", "due_soon", "in_grace", "noncompliant", "expiring", "complete", "exempt"],
        person_link=True,
        endpoint="training.named_list",
    )


@bp.route("/refresh", methods=["POST"])
@roles(*MANAGERS)
def refresh():
    result = services.refresh_subjections(acting_enterprise_id())
    flash(
        _("Subjection history updated: %(o)d opened, %(c)d closed.", o=result["opened"], c=result["closed"]),
        "success",
    )
    return redirect(url_for("training.dashboard"))


# ---------------------------------------------------------------- requirements


def _requirement_form(ent_id: int, req: Requirement | None = None) -> RequirementForm:
    form = RequirementForm(obj=req)
    none = [(None, "—")]
    form.role_id.choices = none + [
        (r.id, r.name)
        for r in db.session.scalars(
            select(ResponsibilityRole)
            .where(ResponsibilityRole.enterprise_id == ent_id)
            .order_by(ResponsibilityRole.sort_order)
        )
    ]
    form.post_id.choices = none + [
        (p.id, p.name)
        for p in db.session.scalars(select(Post).where(Post.enterprise_id == ent_id).order_by(Post.name))
    ]
    form.department_id.choices = none + [
        (d.id, d.path)
        for d in db.session.scalars(
            select(Department).where(Department.enterprise_id == ent_id).order_by(Department.path)
        )
    ]
    form.course_id.choices = none + [(c.id, c.title) for c in _course_choices(ent_id)]
    if req is not None and req.course_id and req.course_id not in dict(form.course_id.choices):
        form.course_id.choices.append((req.course_id, _("A course that no longer exists")))
    if req is not None and request.method == "GET":
        form.categories.data = ", ".join(req.category_list)
    return form


@bp.route("/requirements")
@roles(*MANAGERS)
def requirements():
    ent = acting_enterprise()
    rows = db.session.scalars(
        select(Requirement)
        .where(Requirement.enterprise_id == ent.id)
        .order_by(Requirement.active.desc(), Requirement.id)
    ).all()
    names = {
        r.id: r.name
        for r in db.session.scalars(
            select(ResponsibilityRole).where(ResponsibilityRole.enterprise_id == ent.id)
        )
    }
    posts = {p.id: p.name for p in db.session.scalars(select(Post).where(Post.enterprise_id == ent.id))}
    depts = {
        d.id: d.path for d in db.session.scalars(select(Department).where(Department.enterprise_id == ent.id))
    }
    return render_template(
        "training/requirements.html",
        ent=ent,
        rows=rows,
        role_names=names,
        posts=posts,
        depts=depts,
        presets=presets.PRESETS,
        statutory={r.id: presets.statutory_check(r, ent) for r in rows},
        courses=_courses(ent.id, {r.course_id for r in rows if r.course_id}),
    )


@bp.route("/requirements/new", methods=["GET", "POST"])
@bp.route("/requirements/<int:requirement_id>/edit", methods=["GET", "POST"])
@roles(*MANAGERS)
def requirement_edit(requirement_id: int | None = None):
    ent = acting_enterprise()
    req = get_scoped(Requirement, requirement_id, enterprise_id=ent.id) if requirement_id else None
    form = _requirement_form(ent.id, req)
    if form.validate_on_submit():
        try:
            saved = services.save_requirement(
                ent.id,
                requirement_fields.for_kind({k: getattr(form, k).data for k in services.EDITABLE}),
                req,
            )
        except DomainError as exc:
            db.session.rollback()
            getattr(form, exc.field, form.name).errors.append(_(exc.message))
        else:
            services.refresh_subjections(ent.id)
            flash(_("Requirement saved."), "success")
            return redirect(url_for("training.named_list", requirement=saved.id))
    return render_template(
        "training/requirement_form.html", form=form, req=req, kind_fields=requirement_fields.KIND_FIELDS
    )


@bp.route("/requirements/presets", methods=["POST"])
@roles(*MANAGERS)
def apply_presets():
    ent = acting_enterprise()
    counts = presets.apply_presets(ent, overwrite=request.form.get("overwrite") == "1")
    services.refresh_subjections(ent.id)
    flash(
        _(
            "Statutory presets applied: %(c)d created, %(u)d reset, %(n)d kept as edited.",
            c=counts["created"],
            u=counts["updated"],
            n=counts["unchanged"],
        ),
        "success",
    )
    return redirect(url_for("training.requirements"))


# ---------------------------------------------------------------- exemptions


@bp.route("/exemptions", methods=["GET", "POST"])
@roles(*MANAGERS)
def exemptions():
    ent = acting_enterprise()
    form = ExemptionForm()
    form.requirement_id.choices = [
        (r.id, r.name)
        for r in db.session.scalars(
            select(Requirement)
            .where(Requirement.enterprise_id == ent.id, Requirement.active.is_(True))
            .order_by(Requirement.id)
        )
    ]
    if form.validate_on_submit():
        person = db.session.scalar(
            select(Person).where(
                Person.enterprise_id == ent.id, Person.employee_no == form.person.data.strip()
            )
        )
        if person is None:
            form.person.errors.append(_("No person with this employee number."))
        else:
            req = get_scoped(Requirement, form.requirement_id.data, enterprise_id=ent.id)
            services.grant_exemption(
                req,
                person,
                reason=form.reason.data,
                actor=current_user,
                valid_from=form.valid_from.data,
                valid_until=form.valid_until.data,
            )
            flash(_("Exemption granted."), "success")
            return redirect(url_for("training.exemptions"))
    rows = db.session.execute(
        select(Exemption, Person, Requirement)
        .join(Person, Person.id == Exemption.person_id)
        .join(Requirement, Requirement.id == Exemption.requirement_id)
        .where(Exemption.enterprise_id == ent.id)
        .order_by(Exemption.granted_at.desc())
    ).all()
    from lms.org.models import User

    granters = {
        u.id: u.display_name
        for u in db.session.scalars(
            select(User).where(User.id.in_({e.granted_by_id for e, _p, _r in rows if e.granted_by_id} or {0}))
        )
    }
    if request.args.get("format"):
        headers = [
            _("Employee number"),
            pgettext("person", "Name"),
            _("Requirement"),
            _("Reason"),
            _("From"),
            _("Until"),
            _("Granted by"),
            _("Granted at"),
            _("Revoked at"),
        ]
        body = [
            [
                p.employee_no,
                p.name,
                r.name,
                e.reason,
                e.valid_from,
                e.valid_until,
                granters.get(e.granted_by_id, ""),
                e.granted_at,
                e.revoked_at,
            ]
            for e, p, r in rows
        ]
        return _send_table(headers, body, "exemptions", request.args["format"])
    return render_template("training/exemptions.html", form=form, rows=rows, granters=granters)


@bp.route("/exemptions/<int:exemption_id>/revoke", methods=["POST"])
@roles(*MANAGERS)
def exemption_revoke(exemption_id: int):
    ex = get_scoped(Exemption, exemption_id)
    services.revoke_exemption(ex, actor=current_user)
    flash(_("Exemption revoked."), "success")
    return redirect(url_for("training.exemptions"))


# ---------------------------------------------------------------- one person


def _archive_pdf_response(person: Person, fmt: str = "pdf") -> Any:
    """The archive file (the same document ``lms archive`` writes); the PDF opens in the browser."""
    data, name = archive_file(person, fmt)
    return send_file(
        io.BytesIO(data), mimetype=ARCHIVE_MIMETYPES[fmt], as_attachment=fmt != "pdf", download_name=name
    )


@bp.route("/people/<int:person_id>")
@roles(*DASHBOARD)
def person(person_id: int):
    p = get_scoped(Person, person_id)
    fmt = request.args.get("format")
    if fmt == "pdf":
        return _archive_pdf_response(p)
    if fmt in ("csv", "xlsx"):
        return _archive_pdf_response(p, fmt)
    as_of = _as_of()
    rows = reading.person_rows(p.enterprise_id, p.id, as_of)
    reqs = {
        r.id: r
        for r in db.session.scalars(select(Requirement).where(Requirement.enterprise_id == p.enterprise_id))
    }
    return render_template(
        "training/archive.html",
        person=p,
        **archive_context(p.id),
        rows=rows,
        reqs=reqs,
        history=services.subjection_history(p.id),
        as_of=as_of,
        status_labels=STATUS_LABELS,
        mine=False,
    )


# ---------------------------------------------------------------- notifications


@bp.route("/notifications", methods=["GET", "POST"])
@signed_in
def notifications():
    if request.method == "POST":
        q = Notification.__table__.update().where(
            Notification.user_id == current_user.id, Notification.read_at.is_(None)
        )
        note_id = request.form.get("id", type=int)
        if note_id:
            q = q.where(Notification.id == note_id)
        db.session.execute(q.values(read_at=utcnow()))
        return redirect(url_for("training.notifications"))
    notes = db.session.scalars(
        select(Notification)
        .where(Notification.user_id == current_user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(200)
    ).all()
    return render_template("training/notifications.html", notes=notes)


# ---------------------------------------------------------------- regulator


def _regulated(enterprise_id: int) -> Enterprise:
    if enterprise_id not in regulated_enterprise_ids(current_user):
        abort(404)
    ent = db.session.get(Enterprise, enterprise_id)
    if ent is None:
        abort(404)
    return ent


@bp.route("/regulator")
@roles(*REGULATORS)
def regulator():
    as_of = _as_of()
    threshold = request.args.get("threshold", type=float) or DEFAULT_THRESHOLD
    ids = regulated_enterprise_ids(current_user)
    rows = coverage.by_enterprise(ids, as_of)
    if request.args.get("format"):
        headers = [
            _("Code"),
            _("Enterprise"),
            _("People"),
            _("People compliant"),
            _("Coverage (%)"),
            _("People overdue or expired"),
            _("Requirements overdue or expired"),
            _("Below threshold"),
        ]
        body = [
            [
                r["code"],
                r["label"],
                r["people"],
                r["compliant"],
                round((r["share"] or 0) * 100, 1),
                r["late"],
                r["late_requirements"],
                _("Yes") if r["share"] is not None and r["share"] < threshold else "",
            ]
            for r in rows
        ]
        return _send_table(headers, body, f"enterprises-{as_of.isoformat()}", request.args["format"])
    return render_template("training/regulator.html", rows=rows, as_of=as_of, threshold=threshold)


@bp.route("/regulator/<int:enterprise_id>")
@roles(*REGULATORS)
def regulator_enterprise(enterprise_id: int):
    ent = _regulated(enterprise_id)
    as_of = _as_of()
    with reading.read(ent.id, as_of, materialise=True) as s:
        by_role = coverage.coverage(ent.id, "role", as_of, source=s)
        by_req = coverage.coverage(ent.id, "requirement", as_of, source=s)
        total = coverage.figures(ent.id, as_of, source=s)
    fmt = request.args.get("format")
    if fmt:
        headers, body = _coverage_table(by_role, "role")
        return _send_table(headers, body, f"{ent.code}-roles-{as_of.isoformat()}", fmt)
    return render_template(
        "training/regulator_enterprise.html",
        ent=ent,
        as_of=as_of,
        by_role=by_role,
        by_req=by_req,
        total=total,
        trend=[
            (m, None if pending else (v or 0))
            for m, v, pending in coverage.trend(ent.id, as_of, latest=total, filter_args={})
        ],
        threshold=DEFAULT_THRESHOLD,
    )


@bp.route("/regulator/<int:enterprise_id>/list")
@roles(*REGULATORS)
def regulator_list(enterprise_id: int):
    ent = _regulated(enterprise_id)
    if not ent.share_names_with_regulator:
        abort(404)
    as_of = _as_of()
    show = request.args.get("show") or "late"
    chosen = LIST_FILTERS.get(show, LIST_FILTERS["late"])
    rows = coverage.named_list(ent.id, as_of, statuses=chosen, limit=2000)
    fmt = request.args.get("format")
    if fmt:
        headers, body = _list_table(rows)
        return _send_table(headers, body, f"{ent.code}-list-{as_of.isoformat()}", fmt)
    return render_template(
        "training/list.html",
        rows=rows,
        n=len(rows),
        page=1,
        pages=1,
        as_of=as_of,
        args={"enterprise_id": ent.id},
        show=show,
        status_labels=STATUS_LABELS,
        filters=["late", "due_soon", "noncompliant"],
        person_link=False,
        ent=ent,
        endpoint="training.regulator_list",
    )
