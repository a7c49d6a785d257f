"""Offline pages: sessions (list, calendar, form, page), sign-in sheets, attendance upload → preview → commit."""

from __future__ import annotations

import calendar
import datetime as dt
import io
from typing import Any

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_login import current_user
from sqlalchemy import func, or_, select

from lms.core import timeutil
from lms.core.db import db, utcnow
from lms.core.errors import Conflict, DomainError
from lms.core.nav import nav_item
from lms.core.permissions import roles
from lms.core.sheets.values import normalize_employee_no
from lms.core.storage import StoredFile, save_stream, send_stored
from lms.offline import bp, checkin, services, signin
from lms.offline.attendance import (
    MAX_UPLOAD_BYTES,
    UPLOAD_PURPOSE,
    confirmation,
    import_attendance,
    upload_source,
)
from lms.offline.forms import EvidenceForm, SessionForm, UploadForm
from lms.offline.models import (
    LOCKED,
    STATUSES,
    TARGET_DEPARTMENT,
    TARGET_POST,
    TARGET_ROLE,
    UPLOAD_PREVIEWED,
    AttendanceUpload,
    OfflineEvidence,
    OfflineSession,
)
from lms.org.access import (
    EVERYONE_IN_ENTERPRISE,
    MANAGERS,
    STAFF,
    acting_enterprise,
    acting_enterprise_id,
    get_scoped,
)
from lms.org.models import EVALUATOR, LEARNER, Department, Person, Post, ResponsibilityRole, User
from lms.org.services import set_audience_choices

nav_item("offline.sessions", lazy_pgettext("menu", "Classroom sessions"), STAFF, order=35)
nav_item("offline.mine", lazy_pgettext("menu", "My classroom sessions"), (LEARNER, EVALUATOR), order=35)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE_SIZE = 50


def _session(session_id: int) -> OfflineSession:
    return get_scoped(OfflineSession, session_id)


# ---------------------------------------------------------------- list and calendar


@bp.route("/")
@roles(*STAFF)
def sessions():
    ent_id = acting_enterprise_id()
    today = timeutil.today()
    try:
        year, month = (
            int(x) for x in (request.args.get("month") or f"{today.year}-{today.month}").split("-")[:2]
        )
        first = dt.date(year, month, 1)
    except (TypeError, ValueError):
        first = today.replace(day=1)
    in_month = services.sessions_in_month(ent_id, first.year, first.month)
    by_day: dict[dt.date, list[OfflineSession]] = {}
    for s in in_month:
        by_day.setdefault(timeutil.local_date(s.starts_at), []).append(s)
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    prev_month = (first - dt.timedelta(days=1)).replace(day=1)
    next_month = (first + dt.timedelta(days=32)).replace(day=1)
    q = select(OfflineSession).where(OfflineSession.enterprise_id == ent_id)
    status = request.args.get("status") or ""
    if status in STATUSES:
        q = q.where(OfflineSession.status == status)
    text = (request.args.get("q") or "").strip()
    if text:
        like = f"%{text}%"
        q = q.where(
            or_(
                OfflineSession.topic.like(like),
                OfflineSession.category.like(like),
                OfflineSession.instructor.like(like),
            )
        )
    total = db.session.scalar(select(func.count()).select_from(q.subquery())) or 0
    page = max(1, request.args.get("page", 1, type=int))
    rows = db.session.scalars(
        q.order_by(OfflineSession.starts_at.desc(), OfflineSession.id.desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    counts = _attendee_counts([s.id for s in rows])
    return render_template(
        "offline/sessions.html",
        rows=rows,
        counts=counts,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        status=status,
        q=text,
        first=first,
        weeks=weeks,
        by_day=by_day,
        prev_month=prev_month,
        next_month=next_month,
        today=today,
        statuses=STATUSES,
    )


def _attendee_counts(session_ids: list[int]) -> dict[int, int]:
    from lms.offline.models import Attendance

    if not session_ids:
        return {}
    return dict(
        db.session.execute(
            select(Attendance.session_id, func.count())
            .where(Attendance.session_id.in_(session_ids), Attendance.absent.is_(False))
            .group_by(Attendance.session_id)
        ).all()
    )


# ---------------------------------------------------------------- create / edit


def _session_form(ent_id: int) -> SessionForm:
    form = SessionForm()
    set_audience_choices(form, ent_id)
    return form


def _form_values(form: SessionForm) -> dict[str, Any]:
    return {
        "topic": form.topic.data,
        "category": form.category.data,
        "level": form.level.data,
        "course_id": form.course_id.data,
        "course_title": form.course_title.data,
        "instructor": form.instructor.data,
        # Typed in the enterprise's local time; stored UTC.
        "starts_at": timeutil.to_utc(form.starts_at.data),
        "ends_at": timeutil.to_utc(form.ends_at.data),
        "location": form.location.data,
        "hours": form.hours.data,
        "capacity": form.capacity.data,
        "note": form.note.data,
    }


def _form_targets(form: SessionForm) -> dict[str, list[int]]:
    return {
        TARGET_DEPARTMENT: form.departments.data or [],
        TARGET_POST: form.posts.data or [],
        TARGET_ROLE: form.roles.data or [],
    }


def _field_error(form: SessionForm, exc: DomainError) -> None:
    target = getattr(form, exc.field or "", None) if exc.field else None
    if target is not None and hasattr(target, "errors"):
        target.errors = [*target.errors, exc.message]
    else:
        flash(exc.message, "error")


@bp.route("/new", methods=["GET", "POST"])
@roles(*STAFF)
def session_new():
    ent = acting_enterprise()
    form = _session_form(ent.id)
    if request.method == "GET":
        form.starts_at.data = (timeutil.to_local(utcnow()) + dt.timedelta(days=7)).replace(
            hour=9, minute=0, second=0, microsecond=0
        )
    if form.validate_on_submit():
        try:
            s = services.create_session(
                ent.id, targets=_form_targets(form), actor=current_user, **_form_values(form)
            )
        except DomainError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            flash(_("Session scheduled."), "success")
            return redirect(url_for("offline.session", session_id=s.id))
    return render_template("offline/session_form.html", form=form, session=None)


@bp.route("/<int:session_id>/edit", methods=["GET", "POST"])
@roles(*STAFF)
def session_edit(session_id: int):
    s = _session(session_id)
    form = _session_form(s.enterprise_id)
    if s.status == LOCKED and current_user.app_role not in MANAGERS:
        abort(403)
    if request.method == "GET":
        for name in (
            "topic",
            "category",
            "level",
            "course_id",
            "course_title",
            "instructor",
            "starts_at",
            "ends_at",
            "location",
            "hours",
            "capacity",
            "note",
        ):
            getattr(form, name).data = getattr(s, name)
        form.starts_at.data, form.ends_at.data = timeutil.to_local(s.starts_at), timeutil.to_local(s.ends_at)
        form.departments.data = s.target_ids(TARGET_DEPARTMENT)
        form.posts.data = s.target_ids(TARGET_POST)
        form.roles.data = s.target_ids(TARGET_ROLE)
    if form.validate_on_submit():
        try:
            services.update_session(
                s,
                actor=current_user,
                reason=form.reason.data,
                targets=_form_targets(form),
                **_form_values(form),
            )
        except DomainError as exc:
            db.session.rollback()
            s = _session(session_id)
            _field_error(form, exc)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("offline.session", session_id=s.id))
    return render_template("offline/session_form.html", form=form, session=s)


@bp.route("/<int:session_id>/status", methods=["POST"])
@roles(*STAFF)
def session_status(session_id: int):
    s = _session(session_id)
    services.set_status(
        s, request.form.get("status", ""), actor=current_user, reason=request.form.get("reason")
    )
    flash(_("Status changed."), "success")
    return redirect(url_for("offline.session", session_id=s.id))


# ---------------------------------------------------------------- the session page


@bp.route("/<int:session_id>")
@roles(*STAFF)
def session(session_id: int):
    s = _session(session_id)
    figures = services.session_figures(s)
    uploads = db.session.scalars(
        select(AttendanceUpload)
        .where(AttendanceUpload.session_id == s.id)
        .order_by(AttendanceUpload.uploaded_at.desc(), AttendanceUpload.id.desc())
    ).all()
    users = _users(
        {u.uploaded_by_id for u in uploads} | {c.changed_by_id for c in services.session_changes(s)}
    )
    targets = _target_names(s)
    return render_template(
        "offline/session.html",
        s=s,
        figures=figures,
        attendances=services.attendances(s),
        uploads=uploads,
        users=users,
        evidence=services.evidence_of(s),
        changes=services.session_changes(s),
        targets=targets,
        upload_form=UploadForm(),
        evidence_form=EvidenceForm(),
        is_manager=current_user.app_role in MANAGERS,
    )


def _users(ids: set[int | None]) -> dict[int, User]:
    ids = {i for i in ids if i}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


def _target_names(s: OfflineSession) -> dict[str, list[str]]:
    def names(model: Any, ids: list[int], attr: str) -> list[str]:
        if not ids:
            return []
        return [getattr(x, attr) for x in db.session.scalars(select(model).where(model.id.in_(ids)))]

    return {
        "departments": names(Department, s.target_ids(TARGET_DEPARTMENT), "path"),
        "posts": names(Post, s.target_ids(TARGET_POST), "name"),
        "roles": names(ResponsibilityRole, s.target_ids(TARGET_ROLE), "name"),
    }


# ---------------------------------------------------------------- sign-in sheets


@bp.route("/<int:session_id>/signin.xlsx")
@roles(*STAFF)
def signin_xlsx(session_id: int):
    s = _session(session_id)
    return send_file(
        io.BytesIO(signin.signin_xlsx(s)),
        as_attachment=True,
        mimetype=XLSX,
        download_name=f"signin-{s.id}-{timeutil.to_local(s.starts_at, s):%Y%m%d}.xlsx",
    )


@bp.route("/<int:session_id>/signin.pdf")
@roles(*STAFF)
def signin_pdf(session_id: int):
    s = _session(session_id)
    return send_file(
        io.BytesIO(signin.signin_pdf(s)),
        as_attachment=True,
        mimetype="application/pdf",
        download_name=f"signin-{s.id}-{timeutil.to_local(s.starts_at, s):%Y%m%d}.pdf",
    )


@bp.route("/template.xlsx")
@roles(*STAFF)
def template():
    return send_file(
        io.BytesIO(signin.blank_template_xlsx()),
        as_attachment=True,
        mimetype=XLSX,
        download_name="signin-template.xlsx",
    )


# ---------------------------------------------------------------- upload → preview → resolve → commit


@bp.route("/<int:session_id>/upload", methods=["POST"])
@roles(*STAFF)
def upload(session_id: int):
    s = _session(session_id)
    ent = acting_enterprise()
    form = UploadForm()
    if not form.validate_on_submit():
        flash(_("Choose a sign-in sheet to upload."), "error")
        return redirect(url_for("offline.session", session_id=s.id))
    f = form.file.data
    name = f.filename or "signin.xlsx"
    # Read before keeping anything: a refused file leaves no trace.
    result = import_attendance(ent, f.stream, name, session=s, dry_run=True)
    if result.refused:
        db.session.rollback()
        flash(
            _("The file was refused and nothing was saved: %(message)s", message=result.errors[0]["message"]),
            "error",
        )
        return redirect(url_for("offline.session", session_id=s.id))
    f.stream.seek(0)
    stored = save_stream(
        f.stream,
        name,
        purpose=UPLOAD_PURPOSE,
        enterprise_id=ent.id,
        uploaded_by_id=current_user.id,
        max_bytes=MAX_UPLOAD_BYTES,
    )
    up = AttendanceUpload(
        enterprise_id=ent.id,
        session_id=s.id,
        stored_file_id=stored.id,
        uploaded_by_id=current_user.id,
        status=UPLOAD_PREVIEWED,
        summary=result.summary(),
        resolutions={},
    )
    db.session.add(up)
    db.session.flush()  # its id, for the preview's address
    return redirect(url_for("offline.preview", session_id=s.id, upload_id=up.id))


def _upload(session_id: int, upload_id: int) -> tuple[OfflineSession, AttendanceUpload]:
    s = _session(session_id)
    up = db.session.get(AttendanceUpload, upload_id)
    if up is None or up.session_id != s.id or up.enterprise_id != s.enterprise_id:
        abort(404)
    return s, up


def _run(s: OfflineSession, up: AttendanceUpload, **kwargs: Any) -> Any:
    path, name = upload_source(up)
    ent = acting_enterprise()
    return import_attendance(
        ent,
        path,
        name,
        session=s,
        resolutions=dict(up.resolutions or {}),
        upload=up,
        confirm_session=bool(up.confirmation),
        **kwargs,
    )


# The columns a sheet's problem can name (attendance import's ``field`` codes), in the reader's words.
FIELD_LABELS = {
    "session": _l("Session"),
    "score": _l("Score"),
    "name": _l("Name"),
    "attendance": _l("Attendance"),
    "signed_in_at": _l("Sign-in time"),
    "person": _l("Person"),
    "time": _l("Time"),
}


@bp.route("/<int:session_id>/uploads/<int:upload_id>")
@roles(*STAFF)
def preview(session_id: int, upload_id: int):
    s, up = _upload(session_id, upload_id)
    result = _run(s, up, dry_run=True)
    db.session.rollback()
    s, up = _upload(session_id, upload_id)
    return render_template(
        "offline/preview.html",
        s=s,
        up=up,
        result=result,
        field_labels=FIELD_LABELS,
        people=result.people,
        resolutions=up.resolutions or {},
        is_manager=current_user.app_role in MANAGERS,
        confirmed_at=dt.datetime.fromisoformat(up.confirmation["at"]) if up.confirmation else None,
    )


@bp.route("/<int:session_id>/uploads/<int:upload_id>/resolve", methods=["POST"])
@roles(*STAFF)
def resolve(session_id: int, upload_id: int):
    s, up = _upload(session_id, upload_id)
    if up.status != UPLOAD_PREVIEWED:
        raise Conflict(_("This upload is already committed; upload the sheet again to change it."))
    chosen = dict(up.resolutions or {})
    for key, value in request.form.items():
        if not key.startswith("choice-"):
            continue
        ref = key[len("choice-") :]
        emp = normalize_employee_no(request.form.get(f"emp-{ref}", ""))
        if emp:
            pid = db.session.scalar(
                select(Person.id).where(Person.enterprise_id == s.enterprise_id, Person.employee_no == emp)
            )
            if pid is None:
                flash(_("Row %(ref)s: no person with employee number %(emp)s.", ref=ref, emp=emp), "error")
                continue
            chosen[ref] = pid
        elif value in ("skip", "keep"):
            chosen[ref] = value
        elif value.isdigit():
            pid = int(value)
            if db.session.scalar(
                select(Person.id).where(Person.id == pid, Person.enterprise_id == s.enterprise_id)
            ):
                chosen[ref] = pid
            else:
                abort(404)
        else:
            chosen.pop(ref, None)
    up.resolutions = chosen
    return redirect(url_for("offline.preview", session_id=s.id, upload_id=up.id))


@bp.route("/<int:session_id>/uploads/<int:upload_id>/confirm", methods=["POST"])
@roles(*STAFF)
def confirm_session(session_id: int, upload_id: int):
    """The trainer confirms that a sheet naming another session is for this one (kept on the upload)."""
    s, up = _upload(session_id, upload_id)
    if up.status != UPLOAD_PREVIEWED:
        raise Conflict(_("This upload is already committed; upload the sheet again to change it."))
    result = _run(s, up, dry_run=True)
    db.session.rollback()
    s, up = _upload(session_id, upload_id)
    if result.named_sessions:
        up.confirmation = confirmation(result, s, current_user)
        flash(_("Confirmed: this sheet is recorded for this session."), "success")
    return redirect(url_for("offline.preview", session_id=s.id, upload_id=up.id))


@bp.route("/<int:session_id>/uploads/<int:upload_id>/commit", methods=["POST"])
@roles(*STAFF)
def commit(session_id: int, upload_id: int):
    s, up = _upload(session_id, upload_id)
    if up.status != UPLOAD_PREVIEWED:
        raise Conflict(_("This upload is already committed; upload the sheet again to change it."))
    result = _run(
        s,
        up,
        dry_run=False,
        skip_unresolved=request.form.get("skip_unresolved") == "1",
        actor=current_user,
        reason=request.form.get("reason"),
    )
    if not result.committed:
        db.session.rollback()
        for e in result.errors[:5]:
            flash(
                e["message"]
                if e.get("row") is None
                else _("Row %(row)s: %(message)s", row=e["row"], message=e["message"]),
                "error",
            )
        flash(_("Nothing was recorded."), "error")
        return redirect(url_for("offline.preview", session_id=session_id, upload_id=upload_id))
    flash(
        _(
            "Attendance recorded: %(c)d created, %(u)d updated, %(n)d unchanged, %(v)d voided.",
            c=result.created,
            u=result.updated,
            n=result.unchanged,
            v=result.voided,
        ),
        "success",
    )
    return redirect(url_for("offline.session", session_id=s.id))


@bp.route("/<int:session_id>/uploads/<int:upload_id>/file")
@roles(*STAFF)
def upload_file(session_id: int, upload_id: int):
    _s, up = _upload(session_id, upload_id)
    stored = db.session.get(StoredFile, up.stored_file_id)
    return send_stored(stored, as_attachment=True, download_name=stored.original_name if stored else None)


# ---------------------------------------------------------------- evidence


@bp.route("/<int:session_id>/evidence", methods=["POST"])
@roles(*STAFF)
def evidence_add(session_id: int):
    s = _session(session_id)
    form = EvidenceForm()
    if not form.validate_on_submit():
        flash(_("Choose a scan or photo to upload."), "error")
        return redirect(url_for("offline.session", session_id=s.id))
    f = form.file.data
    services.add_evidence(
        s, f.stream, f.filename or "scan", actor=current_user, note=form.note.data, reason=form.reason.data
    )
    flash(_("Evidence attached."), "success")
    return redirect(url_for("offline.session", session_id=s.id))


@bp.route("/<int:session_id>/evidence/<int:evidence_id>")
@roles(*STAFF)
def evidence_file(session_id: int, evidence_id: int):
    s = _session(session_id)
    ev = db.session.get(OfflineEvidence, evidence_id)
    if ev is None or ev.session_id != s.id:
        abort(404)
    stored = db.session.get(StoredFile, ev.stored_file_id)
    return send_stored(
        stored, download_name=stored.original_name if stored else None, as_attachment=ev.kind != "image"
    )


# ---------------------------------------------------------------- people


@bp.route("/person/<int:person_id>")
@roles(*STAFF)
def person(person_id: int):
    p = get_scoped(Person, person_id)
    return render_template(
        "offline/person.html",
        person=p,
        rows=services.person_sessions(p.id),
        upcoming=services.person_upcoming(p),
        mine=False,
    )


@bp.route("/mine")
@roles(*EVERYONE_IN_ENTERPRISE)
def mine():
    p = current_user.person
    if p is None:
        abort(404)
    return render_template(
        "offline/person.html",
        person=p,
        rows=services.person_sessions(p.id),
        upcoming=services.person_upcoming(p, now=utcnow()),
        mine=True,
        team_leader=checkin.is_team_leader(current_user),
    )


# Words the templates pass through _() (statuses, levels, logged actions): declared so that they are extracted.
_DYNAMIC_WORDS = [
    _l("planned"),
    _l("held"),
    _l("recorded"),
    _l("locked"),
    _l("company"),
    _l("workshop"),
    _l("team"),
    _l("other"),
    _l("previewed"),
    _l("committed"),
    _l("superseded"),
    _l("matched"),
    _l("ambiguous"),
    _l("unknown"),
    _l("duplicate"),
    _l("invalid"),
    _l("skipped"),
    _l("absent"),
    _l("present"),
    _l("image"),
    _l("pdf"),
    _l("edit"),
    _l("attendance"),
    _l("evidence"),
    _l("lock"),
    _l("unlock"),
]
