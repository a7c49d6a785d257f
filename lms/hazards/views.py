"""Hazard pages: report from a phone, my hazards, the manager's dashboard, list, board, one hazard and its
workflow, settings (areas, categories, anonymous reports, locations), exports and the monthly report."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_pgettext
from flask_login import current_user
from sqlalchemy import func, or_, select

from lms.core import timeutil
from lms.core.db import db, utcnow
from lms.core.errors import DomainError, NotFound
from lms.core.exports import xlsx_bytes
from lms.core.nav import nav_item
from lms.core.permissions import roles
from lms.core.storage import expect_head, send_stored
from lms.hazards import bp, notifications, report, services
from lms.hazards.forms import (
    AssignForm,
    ChoiceForm,
    NoteForm,
    PlanForm,
    RectifyForm,
    ReportForm,
    SettingsForm,
    VerifyForm,
)
from lms.hazards.media import MAX_PHOTO_BYTES, check_head, process_photo
from lms.hazards.models import (
    ASSIGNED,
    CLOSED,
    DISMISSED,
    GRADES,
    OPEN_STATUSES,
    OVERDUE_STATUSES,
    RECTIFIED,
    REPORTED,
    STAGE_RECTIFICATION,
    STAGE_REPORT,
    STATUSES,
    VERIFIED,
    Hazard,
    HazardArea,
    HazardCategory,
    HazardPhoto,
)
from lms.org.access import EVERYONE_IN_ENTERPRISE, MANAGERS, acting_enterprise, acting_enterprise_id
from lms.org.models import EVALUATOR, LEARNER, PERSON_ACTIVE, TRAINER, Department, Person, User

nav_item("hazards.report", lazy_pgettext("menu", "Report a hazard"), EVERYONE_IN_ENTERPRISE, order=38)
nav_item("hazards.mine", lazy_pgettext("menu", "My hazards"), (LEARNER, TRAINER, EVALUATOR), order=39)
nav_item("hazards.dashboard", lazy_pgettext("menu", "Hazards"), MANAGERS, order=39)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE_SIZE = 50
BOARD_LIMIT = 30

expect_head("hazards.report", check_head)
expect_head("hazards.rectify", check_head)


# ------------------------------------------------------------------------------------------------ helpers


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "status_labels": services.STATUS_LABELS,
        "grade_labels": services.GRADE_LABELS,
        "action_labels": services.ACTION_LABELS,
        "place_label": services.place_label,
    }


def _hazard(hazard_id: int) -> Hazard:
    try:
        return services.get_hazard(acting_enterprise_id(), hazard_id, current_user)
    except NotFound:
        abort(404)


def _is_manager() -> bool:
    return services.is_safety_manager(current_user, acting_enterprise_id())


def _photos(files: list[Any]) -> list[services.Photo]:
    """Photos posted in a form, checked and re-encoded (an empty file input gives none)."""
    out = []
    for f in files:
        if not f or not f.filename:
            continue
        data = f.read(MAX_PHOTO_BYTES + 1)
        out.append(process_photo(data, f.filename))
        if len(out) > services.MAX_PHOTOS:
            raise DomainError(_("Photos: at most %(n)d.", n=services.MAX_PHOTOS), field="photos")
    return out


def _field_error(form: Any, exc: DomainError) -> None:
    target = getattr(form, exc.field or "", None) if exc.field else None
    if target is not None and hasattr(target, "errors"):
        target.errors = [*target.errors, exc.message]
    else:
        flash(exc.message, "error")


def _local_to_utc(value: dt.datetime | None, ent: Any) -> dt.datetime | None:
    return timeutil.to_utc(value, ent) if value is not None else None


def _departments(ent_id: int) -> list[Department]:
    return list(
        db.session.scalars(
            select(Department)
            .where(Department.enterprise_id == ent_id)
            .order_by(Department.path, Department.id)
        )
    )


def _assign_form(ent: Any, hazard: Hazard) -> AssignForm:
    form = AssignForm(prefix="a")
    form.department_id.choices = [(None, "—")] + [(d.id, d.path) for d in _departments(ent.id)]
    people = db.session.execute(
        select(Person.id, Person.name, Person.employee_no, Department.path)
        .outerjoin(Department, Department.id == Person.department_id)
        .where(Person.enterprise_id == ent.id, Person.status == PERSON_ACTIVE)
        .order_by(Department.path, Person.name, Person.id)
    ).all()
    form.assignee_id.choices = [(None, "—")] + [
        (pid, f"{name} · {no}" + (f" · {path}" if path else "")) for pid, name, no, path in people
    ]
    # for the page: each department's and each person's department path (the list narrows to a department)
    form.department_paths = {d_id: label for d_id, label in form.department_id.choices if d_id}
    form.person_paths = {pid: path or "" for pid, _name, _no, path in people}
    if request.method == "GET":
        if hazard.status == ASSIGNED:
            form.grade.data = hazard.grade
            form.department_id.data = hazard.department_id
            form.assignee_id.data = hazard.assignee_id
            form.deadline.data = timeutil.to_local(hazard.deadline, ent)
        else:
            local = timeutil.to_local(utcnow(), ent) + dt.timedelta(days=7)
            form.deadline.data = local.replace(hour=17, minute=30, second=0, microsecond=0)
    return form


def _filters() -> dict[str, Any]:
    args = request.args
    return {
        "status": args.get("status") if args.get("status") in STATUSES else "",
        "grade": args.get("grade") if args.get("grade") in GRADES else "",
        "department_id": args.get("department_id", type=int),
        "area_id": args.get("area_id", type=int),
        "category_id": args.get("category_id", type=int),
        "overdue": args.get("overdue") == "1",
        "open": args.get("open") == "1",
        "q": (args.get("q") or "").strip()[:100],
    }


def _filtered(ent_id: int, f: dict[str, Any]) -> Any:
    q = select(Hazard).where(Hazard.enterprise_id == ent_id)
    now = utcnow()
    if f["status"]:
        q = q.where(Hazard.status == f["status"])
    if f["open"]:
        q = q.where(Hazard.status.in_(OPEN_STATUSES))
    if f["grade"]:
        q = q.where(Hazard.grade == f["grade"])
    if f["department_id"]:
        q = q.where(Hazard.department_id == f["department_id"])
    if f["area_id"]:
        q = q.where(Hazard.area_id == f["area_id"])
    if f["category_id"]:
        q = q.where(Hazard.category_id == f["category_id"])
    if f["overdue"]:
        q = q.where(Hazard.status.in_(OVERDUE_STATUSES), Hazard.deadline < now)
    if f["q"]:
        like = f"%{f['q']}%"
        q = q.where(or_(Hazard.description.like(like), Hazard.place.like(like)))
    return q


def _names(ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())


# ------------------------------------------------------------------------------------------------ report


@bp.route("/report", methods=["GET", "POST"], endpoint="report")
@roles(*EVERYONE_IN_ENTERPRISE)
def report_hazard():
    ent = acting_enterprise()
    settings = services.settings_of(ent.id)
    form = ReportForm()
    form.area_id.choices = [(None, _("— choose —"))] + [
        (a.id, a.name) for a in services.areas(ent.id, active_only=True)
    ]
    cats = services.categories(ent.id, active_only=True)
    form.category_id.choices = [(None, _("— choose —"))] + [(c.id, c.name) for c in cats]
    if form.validate_on_submit():
        try:
            photos = _photos(request.files.getlist(form.photos.name))
            hazard = services.report(
                ent.id,
                current_user,
                description=form.description.data,
                area_id=form.area_id.data,
                place=form.place.data,
                category_id=form.category_id.data,
                anonymous=bool(form.anonymous.data),
                photos=photos,
            )
        except DomainError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            flash(_("Thank you: hazard %(code)s is reported.", code=hazard.code), "success")
            if hazard.anonymous:
                return redirect(url_for("hazards.report"))
            return redirect(url_for("hazards.detail", hazard_id=hazard.id))
    elif request.method == "POST" and "csrf_token" in form.errors:
        flash(_("The form expired: please try again."), "error")
    return render_template(
        "hazards/report.html", form=form, settings=settings, has_areas=len(form.area_id.choices) > 1
    )


# ------------------------------------------------------------------------------------------------ mine


@bp.route("/mine")
@roles(*EVERYONE_IN_ENTERPRISE)
def mine():
    ent_id = acting_enterprise_id()
    user = current_user
    reported = list(
        db.session.scalars(
            select(Hazard)
            .where(Hazard.enterprise_id == ent_id, Hazard.reporter_id == user.id)
            .order_by(Hazard.reported_at.desc(), Hazard.id.desc())
            .limit(100)
        )
    )
    assigned: list[Hazard] = []
    if user.person_id is not None:
        assigned = list(
            db.session.scalars(
                select(Hazard)
                .where(Hazard.enterprise_id == ent_id, Hazard.assignee_id == user.person_id)
                .order_by(Hazard.status.in_((ASSIGNED,)).desc(), Hazard.deadline, Hazard.id)
                .limit(100)
            )
        )
    return render_template(
        "hazards/mine.html", reported=reported, assigned=assigned, now=utcnow(), is_manager=_is_manager()
    )


# ------------------------------------------------------------------------------------------------ manager pages


@bp.route("/")
@roles(*EVERYONE_IN_ENTERPRISE)
def dashboard():
    if not _is_manager():
        return redirect(url_for("hazards.mine"))
    ent = acting_enterprise()
    now = utcnow()
    counts = services.hazard_counts([ent.id], now)[ent.id]
    by_status = dict(
        db.session.execute(
            select(Hazard.status, func.count(Hazard.id))
            .where(Hazard.enterprise_id == ent.id)
            .group_by(Hazard.status)
        ).all()
    )
    overdue = services.overdue_hazards(ent.id, now)
    recent = list(
        db.session.scalars(
            select(Hazard)
            .where(Hazard.enterprise_id == ent.id, Hazard.status == REPORTED)
            .order_by(Hazard.reported_at, Hazard.id)
            .limit(20)
        )
    )
    to_verify = list(
        db.session.scalars(
            select(Hazard)
            .where(Hazard.enterprise_id == ent.id, Hazard.status.in_((RECTIFIED, VERIFIED)))
            .order_by(Hazard.rectified_at, Hazard.id)
            .limit(20)
        )
    )
    local_now = timeutil.to_local(now, ent)
    return render_template(
        "hazards/dashboard.html",
        counts=counts,
        by_status=by_status,
        overdue=overdue,
        recent=recent,
        to_verify=to_verify,
        now=now,
        month=f"{local_now:%Y-%m}",
    )


@bp.route("/list")
@roles(*MANAGERS)
def hazard_list():
    ent_id = acting_enterprise_id()
    f = _filters()
    q = _filtered(ent_id, f)
    total = db.session.scalar(select(func.count()).select_from(q.subquery())) or 0
    page = max(1, request.args.get("page", 1, type=int))
    rows = list(
        db.session.scalars(
            q.order_by(Hazard.reported_at.desc(), Hazard.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    )
    return render_template(
        "hazards/list.html",
        rows=rows,
        f=f,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        now=utcnow(),
        departments=_departments(ent_id),
        areas=services.areas(ent_id),
        categories=services.categories(ent_id),
        statuses=STATUSES,
        grades=GRADES,
    )


@bp.route("/export.xlsx")
@roles(*MANAGERS)
def export_xlsx():
    ent = acting_enterprise()
    f = _filters()
    rows = db.session.scalars(_filtered(ent.id, f).order_by(Hazard.reported_at, Hazard.id)).all()
    now = utcnow()
    headers = [
        _("Number"),
        _("Reported at"),
        _("Reporter"),
        _("Area"),
        _("Place"),
        _("Category"),
        _("Description"),
        _("State"),
        _("Grade"),
        _("Responsible department"),
        _("Responsible person"),
        _("Deadline"),
        _("Overdue"),
        _("Rectified at"),
        _("Verified at"),
        _("Closed at"),
    ]
    reporters = _names({h.reporter_id for h in rows})
    data = [
        [
            h.code,
            h.reported_at,
            _("Anonymous") if h.anonymous else reporters.get(h.reporter_id, ""),
            h.area.name if h.area else "",
            h.place or "",
            h.category.name if h.category else "",
            h.description,
            str(services.STATUS_LABELS[h.status]),
            str(services.GRADE_LABELS[h.grade]) if h.grade else "",
            h.department.path if h.department else "",
            h.assignee.name if h.assignee else "",
            h.deadline,
            _("Yes") if services.is_overdue(h, now) else "",
            h.rectified_at,
            h.verified_at,
            h.closed_at,
        ]
        for h in rows
    ]
    with timeutil.use_zone(ent):
        body = xlsx_bytes(headers, data, sheet_title=_("Hazards"))
    local = timeutil.to_local(now, ent)
    return send_file(
        io.BytesIO(body), mimetype=XLSX, as_attachment=True, download_name=f"hazards-{local:%Y%m%d-%H%M}.xlsx"
    )


BOARD_GROUPS = ("state", "department", "area")


@bp.route("/board")
@roles(*MANAGERS)
def board():
    ent_id = acting_enterprise_id()
    by = request.args.get("by") if request.args.get("by") in BOARD_GROUPS else "state"
    now = utcnow()
    columns: list[tuple[str, list[Hazard], int]] = []
    table: list[dict[str, Any]] = []
    if by == "state":
        counts = dict(
            db.session.execute(
                select(Hazard.status, func.count(Hazard.id))
                .where(Hazard.enterprise_id == ent_id)
                .group_by(Hazard.status)
            ).all()
        )
        for status in (REPORTED, ASSIGNED, RECTIFIED, VERIFIED, CLOSED):
            q = select(Hazard).where(Hazard.enterprise_id == ent_id, Hazard.status == status)
            q = (
                q.order_by(Hazard.deadline, Hazard.id)
                if status == ASSIGNED
                else q.order_by(Hazard.reported_at.desc(), Hazard.id.desc())
            )
            columns.append((status, list(db.session.scalars(q.limit(BOARD_LIMIT))), counts.get(status, 0)))
    else:
        key = Hazard.department_id if by == "department" else Hazard.area_id
        rows = db.session.execute(
            select(key, Hazard.status, func.count(Hazard.id))
            .where(Hazard.enterprise_id == ent_id)
            .group_by(key, Hazard.status)
        ).all()
        late = dict(
            db.session.execute(
                select(key, func.count(Hazard.id))
                .where(
                    Hazard.enterprise_id == ent_id, Hazard.status.in_(OVERDUE_STATUSES), Hazard.deadline < now
                )
                .group_by(key)
            ).all()
        )
        model = Department if by == "department" else HazardArea
        label_col = Department.path if by == "department" else HazardArea.name
        ids = {r[0] for r in rows if r[0] is not None}
        names = (
            dict(db.session.execute(select(model.id, label_col).where(model.id.in_(ids))).all())
            if ids
            else {}
        )
        grouped: dict[Any, dict[str, int]] = {}
        for k, status, n in rows:
            grouped.setdefault(k, {})[status] = n
        for k in sorted(grouped, key=lambda k: (k is None, names.get(k, ""))):
            table.append(
                {
                    "id": k,
                    "name": names.get(k) if k is not None else None,
                    "counts": grouped[k],
                    "overdue": late.get(k, 0),
                }
            )
    return render_template(
        "hazards/board.html",
        by=by,
        columns=columns,
        table=table,
        now=now,
        statuses=(REPORTED, ASSIGNED, RECTIFIED, VERIFIED, CLOSED, DISMISSED),
    )


# ------------------------------------------------------------------------------------------------ one hazard


@bp.route("/<int:hazard_id>")
@roles(*EVERYONE_IN_ENTERPRISE)
def detail(hazard_id: int):
    hazard = _hazard(hazard_id)
    ent = acting_enterprise()
    actions = services.allowed_actions(current_user, hazard)
    forms: dict[str, Any] = {}
    if "assign" in actions or "reassign" in actions:
        forms["assign"] = _assign_form(ent, hazard)
    if "plan" in actions or ("assign" in actions or "reassign" in actions):
        plan = PlanForm(prefix="p")
        if request.method == "GET":
            for key in services.PLAN_ITEMS:
                getattr(plan, key).data = getattr(hazard, key)
        forms["plan"] = plan
    if "rectify" in actions:
        forms["rectify"] = RectifyForm(prefix="r")
    if "verify" in actions or "reject" in actions:
        forms["verify"] = VerifyForm(prefix="v")
    if {"dismiss", "reopen", "close"} & set(actions):
        forms["note"] = NoteForm(prefix="n")
    # Why a manager cannot verify (the rectifier; a major hazard without its five items).
    blocked = None
    if hazard.status == RECTIFIED and "verify" not in actions and _is_manager():
        blocked = services.refusal("verify", hazard, current_user)
    user_ids = {e.actor_id for e in hazard.events} | {hazard.reporter_id}
    return render_template(
        "hazards/detail.html",
        h=hazard,
        actions=actions,
        forms=forms,
        blocked=blocked,
        users=_names(user_ids),
        overdue=services.is_overdue(hazard),
        is_manager=_is_manager(),
        report_photos=hazard.photos_of(STAGE_REPORT),
        fix_photos=hazard.photos_of(STAGE_RECTIFICATION),
        missing=services.missing_plan_items(hazard),
        plan_items=services.PLAN_ITEMS,
        missing_labels=[str(services.PLAN_ITEMS[k]) for k in services.missing_plan_items(hazard)],
    )


def _after(hazard: Hazard, message: str, action: str) -> Any:
    notifications.announce(hazard, action)
    flash(message, "success")
    return redirect(url_for("hazards.detail", hazard_id=hazard.id))


def _refused(hazard: Hazard, exc: DomainError) -> Any:
    db.session.rollback()
    flash(exc.message, "error")
    return redirect(url_for("hazards.detail", hazard_id=hazard.id) + (f"#{exc.field}" if exc.field else ""))


def _form_error(form: Any) -> str:
    for field_name, errors in form.errors.items():
        if field_name.endswith("csrf_token"):
            return _("The form expired: please try again.")
        label = getattr(getattr(form, field_name.split("-", 1)[-1], None), "label", None)
        return f"{label.text if label else field_name}: {errors[0]}"
    return _("Please check the form.")


ACTION_DONE = {
    "assign": lambda: _("Graded and assigned."),
    "reassign": lambda: _("Assignment changed."),
    "dismiss": lambda: _("Report dismissed."),
    "plan": lambda: _("The five items are saved."),
    "verify": lambda: _("Rectification accepted."),
    "reject": lambda: _("Sent back for rectification."),
    "close": lambda: _("Hazard closed."),
    "reopen": lambda: _("Hazard reopened."),
}


@bp.route("/<int:hazard_id>/act/<action>", methods=["POST"])
@roles(*EVERYONE_IN_ENTERPRISE)
def act(hazard_id: int, action: str):
    if action not in ACTION_DONE:
        abort(404)
    hazard = _hazard(hazard_id)
    ent = acting_enterprise()
    try:
        if action in ("assign", "reassign"):
            form = _assign_form(ent, hazard)
            plan = PlanForm(prefix="p")
            if not form.validate_on_submit():
                raise DomainError(_form_error(form))
            fn = services.assign if action == "assign" else services.reassign
            fn(
                hazard,
                current_user,
                grade=form.grade.data,
                department_id=form.department_id.data,
                assignee_id=form.assignee_id.data,
                deadline=_local_to_utc(form.deadline.data, ent),
                note=form.note.data,
                plan={
                    k: getattr(plan, k).data
                    for k in services.PLAN_ITEMS
                    if getattr(plan, k).data not in (None, "")
                },
            )
        elif action == "plan":
            plan = PlanForm(prefix="p")
            if not plan.validate_on_submit():
                raise DomainError(_form_error(plan))
            services.record_plan(
                hazard, current_user, {k: getattr(plan, k).data for k in services.PLAN_ITEMS}
            )
        elif action in ("verify", "reject"):
            form = VerifyForm(prefix="v")
            if not form.validate_on_submit():
                raise DomainError(_form_error(form))
            services.verify(
                hazard,
                current_user,
                passed=action == "verify",
                note=form.note.data,
                deadline=_local_to_utc(form.deadline.data, ent),
            )
        else:
            form = NoteForm(prefix="n")
            if not form.validate_on_submit():
                raise DomainError(_form_error(form))
            if action == "dismiss":
                services.dismiss(hazard, current_user, note=form.note.data)
            elif action == "close":
                services.close(hazard, current_user, note=form.note.data)
            else:
                services.reopen(
                    hazard, current_user, note=form.note.data, deadline=_local_to_utc(form.deadline.data, ent)
                )
    except DomainError as exc:
        if exc.status_code == 403:
            db.session.rollback()
            abort(403)
        return _refused(hazard, exc)
    return _after(hazard, ACTION_DONE[action](), action)


@bp.route("/<int:hazard_id>/rectify", methods=["POST"])
@roles(*EVERYONE_IN_ENTERPRISE)
def rectify(hazard_id: int):
    hazard = _hazard(hazard_id)
    form = RectifyForm(prefix="r")
    try:
        if not form.validate_on_submit():
            raise DomainError(_form_error(form))
        services.rectify(
            hazard, current_user, note=form.note.data, photos=_photos(request.files.getlist(form.photos.name))
        )
    except DomainError as exc:
        if exc.status_code == 403:
            db.session.rollback()
            abort(403)
        return _refused(hazard, exc)
    return _after(hazard, _("Rectification reported: it will be verified by someone else."), "rectify")


@bp.route("/photo/<int:photo_id>")
@roles(*EVERYONE_IN_ENTERPRISE)
def photo(photo_id: int):
    row = db.session.get(HazardPhoto, photo_id)
    if row is None:
        abort(404)
    _hazard(row.hazard_id)  # 404 unless the hazard is of this enterprise and visible to the user
    return send_stored(row.stored_file, mimetype="image/jpeg")


# ------------------------------------------------------------------------------------------------ settings


@bp.route("/settings", methods=["GET", "POST"])
@roles(*MANAGERS)
def settings():
    ent = acting_enterprise()
    services.ensure_presets(ent.id)
    current = services.settings_of(ent.id)
    form = SettingsForm(obj=current if request.method == "GET" else None)
    if form.validate_on_submit():
        services.save_settings(
            ent.id,
            allow_anonymous=form.allow_anonymous.data,
            keep_location=form.keep_location.data,
            actor=current_user,
        )
        flash(_("Saved."), "success")
        return redirect(url_for("hazards.settings"))
    return render_template(
        "hazards/settings.html",
        form=form,
        choice=ChoiceForm(),
        areas=services.areas(ent.id),
        categories=services.categories(ent.id),
    )


@bp.route("/settings/choice", methods=["POST"])
@roles(*MANAGERS)
def save_choice():
    ent = acting_enterprise()
    form = ChoiceForm()
    model = {"area": HazardArea, "category": HazardCategory}.get(form.kind.data or "")
    if model is None:
        abort(400)
    if not form.validate_on_submit():
        flash(_form_error(form), "error")
        return redirect(url_for("hazards.settings"))
    try:
        item_id = int(form.item_id.data) if form.item_id.data else None
    except ValueError:
        abort(400)
    try:
        services.save_choice(
            model, ent.id, form.name.data, item_id=item_id, active=bool(form.active.data) if item_id else True
        )
    except NotFound:
        db.session.rollback()
        abort(404)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("hazards.settings"))
    flash(_("Saved."), "success")
    return redirect(url_for("hazards.settings") + f"#{form.kind.data}s")


# ------------------------------------------------------------------------------------------------ monthly report


def _month() -> tuple[int, int]:
    text = request.args.get("month") or ""
    try:
        year, month = (int(x) for x in text.split("-")[:2])
        dt.date(year, month, 1)
        if not 2000 <= year <= 2100:
            raise ValueError
        return year, month
    except (TypeError, ValueError):
        today = timeutil.today(acting_enterprise())
        return today.year, today.month


@bp.route("/monthly")
@roles(*MANAGERS)
def monthly():
    ent = acting_enterprise()
    year, month = _month()
    rep = report.monthly(ent, year, month)
    first = dt.date(year, month, 1)
    prev_month = (first - dt.timedelta(days=1)).replace(day=1)
    next_month = (first + dt.timedelta(days=32)).replace(day=1)
    return render_template(
        "hazards/monthly.html",
        rep=rep,
        prev_month=f"{prev_month:%Y-%m}",
        next_month=f"{next_month:%Y-%m}",
        overdue_ids=rep.overdue_ids,
    )


@bp.route("/monthly.pdf")
@roles(*MANAGERS)
def monthly_pdf():
    ent = acting_enterprise()
    year, month = _month()
    with timeutil.use_zone(ent):
        body = report.monthly_pdf(report.monthly(ent, year, month))
    return send_file(
        io.BytesIO(body),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"hazards-{year}-{month:02d}.pdf",
    )


@bp.route("/monthly.xlsx")
@roles(*MANAGERS)
def monthly_xlsx():
    ent = acting_enterprise()
    year, month = _month()
    body = report.monthly_xlsx(report.monthly(ent, year, month))
    return send_file(
        io.BytesIO(body), mimetype=XLSX, as_attachment=True, download_name=f"hazards-{year}-{month:02d}.xlsx"
    )
