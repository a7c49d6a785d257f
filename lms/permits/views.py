"""Permit pages: the qualification check (phone-first), the permit register, a permit, its PDF and live re-check,
the special operations and their needs, and ``GET /api/qualification``.

Who may do what: managers and trainers of the enterprise (and platform admins) check people and save permits;
managers edit the works and their needs; learners, evaluators and regulators see none of it (403).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import force_locale, lazy_pgettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from lms.core import timeutil
from lms.core.db import db, utcnow
from lms.core.errors import DomainError
from lms.core.i18n import translate_message
from lms.core.nav import nav_item
from lms.core.permissions import roles
from lms.core.urls import external_url
from lms.org.access import MANAGERS, STAFF, acting_enterprise, acting_enterprise_id, get_scoped
from lms.org.models import ADMIN, Enterprise, Person
from lms.permits import bp, services
from lms.permits.forms import NEED_LABELS, NeedForm, PermitForm, WorkForm
from lms.permits.models import APPROVED, PERMIT_STATUSES, REFUSED, Permit, PermitNeed, PermitWork
from lms.permits.pdf import permit_pdf
from lms.permits.presets import load_presets
from lms.training.models import Requirement

nav_item("permits.check", lazy_pgettext("menu", "Hazardous work"), STAFF, order=38)

PAGE_SIZE = 30
CAMERA_POLICY = "camera=(self), microphone=(), geolocation=()"  # the check page may scan a QR code


def _t(message: Any) -> str:
    return str(translate_message(message))


def _works(ent: Enterprise, *, active_only: bool = True) -> list[PermitWork]:
    """The enterprise's works; the eight presets are loaded the first time anyone looks."""
    found = services.works(ent.id, active_only=active_only)
    if not found and not services.works(ent.id, active_only=False):
        load_presets(ent)  # a write: in a read unit the request runs again as a write unit
        found = services.works(ent.id, active_only=active_only)
    return found


def _parse_day(text: str | None, ent: Enterprise, errors: dict[str, str]) -> dt.date:
    text = (text or "").strip()
    if text:
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            errors["date"] = _("Date: write it like 2026-12-05.")
    return timeutil.today(ent)


def _entries(ent_id: int, values: list[str], work: PermitWork | None) -> list[tuple[Person, str]]:
    """People on the check, from ``p=<person id>:<role>`` values (another enterprise's person: 404)."""
    out: list[tuple[Person, str]] = []
    seen: set[int] = set()
    for value in values[: services.MAX_PEOPLE]:
        pid, _sep, role = (value or "").partition(":")
        if not pid.strip().isdigit() or not -(2**31) < int(pid) < 2**31:
            abort(400)
        person = get_scoped(Person, int(pid), enterprise_id=ent_id)
        if person.id in seen:
            continue
        seen.add(person.id)
        if work is not None and role not in work.role_list:
            role = work.role_list[0] if work.role_list else role
        out.append((person, role))
    return out


def _p(entries: list[tuple[Person, str]]) -> list[str]:
    return [f"{person.id}:{role}" for person, role in entries]


def _pick_work(works: list[PermitWork], value: str | None, errors: dict[str, str]) -> PermitWork | None:
    value = (value or "").strip()
    if value:
        for w in works:
            if str(w.id) == value:
                return w
        errors["work"] = _("Work: choose one of the list.")
    return works[0] if works else None


# ---------------------------------------------------------------- the check page


@bp.route("/permits/check")
@roles(*STAFF)
def check():
    ent = acting_enterprise()
    works = _works(ent)
    errors: dict[str, str] = {}
    work = _pick_work(works, request.args.get("work"), errors)
    day = _parse_day(request.args.get("date"), ent, errors)
    entries = _entries(ent.id, request.args.getlist("p"), work)
    add = (request.args.get("add") or "").strip()
    role = request.args.get("role") or ""
    choices: list[Person] = []
    if add and work is not None:
        try:
            role = services.check_role(work, role)
            found = services.find_people(ent.id, add)
        except DomainError as exc:
            errors[exc.field or "add"] = _t(exc.message)
        else:
            if len(found) == 1:
                entries = [(p, r) for p, r in entries if p.id != found[0].id] + [(found[0], role)]
                if len(entries) > services.MAX_PEOPLE:
                    errors["add"] = _("A permit names at most %(n)s people.", n=services.MAX_PEOPLE)
                else:
                    return redirect(
                        url_for("permits.check", work=work.id, date=day.isoformat(), p=_p(entries))
                    )
            else:
                choices = found
    return _render_check(ent, works, work, day, entries, errors, choices=choices, add=add, role=role)


def _render_check(
    ent: Enterprise,
    works: list[PermitWork],
    work: PermitWork | None,
    day: dt.date,
    entries: list[tuple[Person, str]],
    errors: dict[str, str],
    *,
    form: PermitForm | None = None,
    choices: list[Person] | None = None,
    add: str = "",
    role: str = "",
    status: int = 200,
) -> Any:
    result = None
    if work is not None and entries:
        try:
            result = services.check(work, entries, day)
        except DomainError as exc:
            errors.setdefault(exc.field or "add", _t(exc.message))
    if form is None:
        form = PermitForm(formdata=None)
        now = timeutil.to_local(utcnow(), ent)
        start = dt.datetime.combine(day, now.time() if day == now.date() else dt.time(8, 0)).replace(
            second=0, microsecond=0
        )
        form.starts_at.data = start
        form.ends_at.data = start + dt.timedelta(hours=8)
    p_values = _p(entries)
    remove_urls = {
        person.id: url_for(
            "permits.check",
            work=work.id if work else None,
            date=day.isoformat(),
            p=[v for v in p_values if not v.startswith(f"{person.id}:")],
        )
        for person, _role in entries
    }
    choice_urls = [
        (
            c,
            url_for(
                "permits.check",
                work=work.id if work else None,
                date=day.isoformat(),
                p=[v for v in p_values if not v.startswith(f"{c.id}:")] + [f"{c.id}:{role}"],
            ),
        )
        for c in choices or []
    ]
    resp = render_template(
        "permits/check.html",
        ent=ent,
        works=works,
        work=work,
        day=day,
        entries=entries,
        p_values=p_values,
        result=result,
        errors=errors,
        form=form,
        remove_urls=remove_urls,
        choice_urls=choice_urls,
        add=add,
        role=role,
    )
    return resp, status, {"Permissions-Policy": CAMERA_POLICY}


@bp.route("/permits/save", methods=["POST"])
@roles(*STAFF)
def save():
    ent = acting_enterprise()
    works = _works(ent)
    errors: dict[str, str] = {}
    work = _pick_work(works, request.form.get("work"), errors)
    day = _parse_day(request.form.get("date"), ent, errors)
    entries = _entries(ent.id, request.form.getlist("p"), work)
    form = PermitForm()
    status = request.form.get("status")
    if work is None or errors:
        return _render_check(ent, works, work, day, entries, errors, form=form, status=400)
    if status not in PERMIT_STATUSES:
        errors["status"] = _("Choose approve or refuse.")
    if not form.validate_on_submit() or errors:
        return _render_check(ent, works, work, day, entries, errors, form=form, status=400)
    if form.starts_at.data.date() != day:
        form.starts_at.errors = [
            *form.starts_at.errors,
            _(
                "The work starts on another day than the date checked (%(day)s): check that day.",
                day=day.isoformat(),
            ),
        ]
        return _render_check(ent, works, work, day, entries, errors, form=form, status=400)
    try:
        permit = services.save_permit(
            work,
            entries,
            place=form.place.data,
            starts_at=form.starts_at.data,
            ends_at=form.ends_at.data,
            status=status,
            actor=current_user,
            note=form.note.data,
        )
    except DomainError as exc:
        db.session.rollback()
        target = getattr(form, exc.field or "", None)
        if target is not None and hasattr(target, "errors"):
            target.errors = [*target.errors, _t(exc.message)]
        else:
            errors[exc.field or "status"] = _t(exc.message)
        ent = acting_enterprise()
        works = _works(ent)
        work = _pick_work(works, request.form.get("work"), {})
        entries = _entries(ent.id, request.form.getlist("p"), work)
        return _render_check(ent, works, work, day, entries, errors, form=form, status=400)
    flash(
        _("Permit No.%(n)s saved as approved.", n=permit.id)
        if permit.status == APPROVED
        else _("Permit No.%(n)s saved as refused.", n=permit.id),
        "success",
    )
    return redirect(url_for("permits.permit", permit_id=permit.id))


# ---------------------------------------------------------------- the register


@bp.route("/permits/")
@roles(*STAFF)
def index():
    ent = acting_enterprise()
    works = _works(ent, active_only=False)
    status = request.args.get("status") or ""
    work_id = request.args.get("work", type=int)
    text = (request.args.get("q") or "").strip()[:100]
    page = max(1, request.args.get("page", 1, type=int) or 1)
    q = services.permits_query(ent.id, status=status, work_id=work_id, text=text)
    total = db.session.scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(page, pages)
    rows = db.session.scalars(q.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return render_template(
        "permits/index.html",
        rows=rows,
        works=works,
        status=status,
        work_id=work_id,
        q=text,
        page=page,
        pages=pages,
        total=total,
        statuses=PERMIT_STATUSES,
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_LIMIT = 20_000  # people rows in one export


@bp.route("/permits/export.xlsx")
@roles(*STAFF)
def export():
    """The register as a spreadsheet (the filters of the page): one row per person named on a permit."""
    from lms.core.exports import xlsx_bytes

    ent = acting_enterprise()
    q = services.permits_query(
        ent.id,
        status=request.args.get("status") or "",
        work_id=request.args.get("work", type=int),
        text=(request.args.get("q") or "").strip()[:100],
    )
    headers = [
        _("Permit"),
        _("Work"),
        _("Place"),
        _("Starts at"),
        _("Ends at"),
        _("Result"),
        _("Employee no."),
        _("Full name"),
        _("Role"),
        _("Qualified"),
        _("Reasons"),
        _("Checked by"),
        _("Checked at"),
    ]
    rows = []
    with timeutil.use_zone(ent):
        for p in db.session.scalars(q.limit(EXPORT_LIMIT)):
            for pp in p.people:
                reasons = "；".join(_t(services.stored_message(f.get("reason"))) for f in pp.reasons or [])
                rows.append(
                    [
                        p.id,
                        p.work_name,
                        p.place,
                        p.starts_at,
                        p.ends_at,  # stored UTC: the sheet shows local time
                        _("Approved") if p.status == APPROVED else _("Refused"),
                        pp.employee_no,
                        pp.name,
                        pp.role,
                        _("Qualified") if pp.qualified else _("Not qualified"),
                        reasons,
                        p.checked_by_name,
                        p.checked_at,
                    ]
                )
            if len(rows) >= EXPORT_LIMIT:
                break
        data = xlsx_bytes(headers, rows, sheet_title=_("Permit register"))
    return (
        data,
        200,
        {
            "Content-Type": XLSX,
            "Content-Disposition": f'attachment; filename="permits-{ent.code}.xlsx"',
        },
    )


def _permit(permit_id: int) -> Permit:
    return get_scoped(Permit, permit_id)


@bp.route("/permits/<int:permit_id>")
@roles(*STAFF)
def permit(permit_id: int):
    p = _permit(permit_id)
    return render_template("permits/permit.html", permit=p, stored=services.stored_message)


@bp.route("/permits/<int:permit_id>/pdf")
@roles(*STAFF)
def permit_pdf_view(permit_id: int):
    p = _permit(permit_id)
    ent = db.session.get(Enterprise, p.enterprise_id)
    url = external_url("permits.live", permit_id=p.id)
    with force_locale("zh_CN"):  # the paper is Chinese, like certificates

        def tr(data: Any) -> str:
            message = services.stored_message(data)
            return _t(message) if message is not None else ""

        data = permit_pdf(p, ent, url, tr)
    return (
        data,
        200,
        {
            "Content-Type": "application/pdf",
            "Content-Disposition": f'inline; filename="permit-{p.id}.pdf"',
        },
    )


@bp.route("/permits/<int:permit_id>/live")
@roles(*STAFF)
def live(permit_id: int):
    p = _permit(permit_id)
    ent = db.session.get(Enterprise, p.enterprise_id)
    day = timeutil.today(ent)
    result = services.recheck(p, day)
    stored = {pp.person_id: pp for pp in p.people}
    return render_template("permits/live.html", permit=p, day=day, result=result, stored_people=stored)


# ---------------------------------------------------------------- works and their needs


@bp.route("/permits/works")
@roles(*STAFF)
def works():
    ent = acting_enterprise()
    rows = _works(ent, active_only=False)
    return render_template("permits/works.html", works=rows, need_labels=NEED_LABELS)


@bp.route("/permits/works/presets", methods=["POST"])
@roles(*MANAGERS)
def load_work_presets():
    ent = acting_enterprise()
    added = load_presets(ent)
    flash(
        _("%(n)s special operations added from the presets.", n=added)
        if added
        else _("Every preset is already there."),
        "success",
    )
    return redirect(url_for("permits.works"))


def _work(work_id: int) -> PermitWork:
    return get_scoped(PermitWork, work_id)


def _need_form(work: PermitWork, formdata: Any = None) -> NeedForm:
    form = NeedForm(formdata=formdata) if formdata is not None else NeedForm()
    form.role.choices = [("", _("Every role"))] + [(r, r) for r in work.role_list]
    reqs = db.session.scalars(
        select(Requirement)
        .where(Requirement.enterprise_id == work.enterprise_id, Requirement.active.is_(True))
        .order_by(Requirement.name, Requirement.id)
    ).all()
    form.requirement_id.choices = [("", "—")] + [(str(r.id), r.name) for r in reqs]
    return form


@bp.route("/permits/works/<int:work_id>", methods=["GET", "POST"])
@roles(*MANAGERS)
def work_edit(work_id: int):
    work = _work(work_id)
    form = WorkForm(obj=None)
    if request.method == "GET":
        form.name.data, form.citation.data, form.active.data = work.name, work.citation, work.active
        form.roles.data = "、".join(work.role_list)
    elif form.validate_on_submit():
        try:
            services.update_work(
                work,
                name=form.name.data,
                roles=form.roles.data,
                citation=form.citation.data,
                active=form.active.data,
            )
        except DomainError as exc:
            db.session.rollback()
            work = _work(work_id)
            target = getattr(form, exc.field or "", None)
            if target is not None:
                target.errors = [*target.errors, _t(exc.message)]
            else:
                flash(_t(exc.message), "error")
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("permits.work_edit", work_id=work.id))
    return render_template(
        "permits/work.html",
        work=work,
        form=form,
        need_form=_need_form(work, formdata={}),
        need_labels=NEED_LABELS,
    )


@bp.route("/permits/works/<int:work_id>/needs", methods=["POST"])
@roles(*MANAGERS)
def need_add(work_id: int):
    work = _work(work_id)
    form = _need_form(work)
    if not form.validate_on_submit():
        for name, errs in form.errors.items():
            label = getattr(form, name).label.text if hasattr(form, name) else name
            flash(f"{label}: {'; '.join(str(e) for e in errs)}", "error")
        return redirect(url_for("permits.work_edit", work_id=work.id))
    try:
        rid = int(form.requirement_id.data) if (form.requirement_id.data or "").isdigit() else None
        services.add_need(
            work, role=form.role.data, kind=form.kind.data, requirement_id=rid, match=form.match.data
        )
    except DomainError as exc:
        db.session.rollback()
        flash(_t(exc.message), "error")
    else:
        flash(_("Added."), "success")
    return redirect(url_for("permits.work_edit", work_id=work_id))


@bp.route("/permits/needs/<int:need_id>/delete", methods=["POST"])
@roles(*MANAGERS)
def need_delete(need_id: int):
    need = db.session.get(PermitNeed, need_id)
    if need is None:
        abort(404)
    work = _work(need.work_id)
    services.remove_need(need)
    flash(_("Removed."), "success")
    return redirect(url_for("permits.work_edit", work_id=work.id))


# ---------------------------------------------------------------- JSON


def _api_error(field: str, message: str, code: int = 400) -> Any:
    return jsonify({"error": _("Bad request"), "field": field, "message": message}), code


@bp.route("/api/qualification")
@roles(*STAFF)
def api_qualification():
    """``?enterprise=CODE&work=受限空间&date=YYYY-MM-DD&people=GA1010,GA1011:监护人`` → who is qualified, and why."""
    code = (request.args.get("enterprise") or "").strip()
    own = acting_enterprise_id()
    if code:
        ent = db.session.scalar(select(Enterprise).where(Enterprise.code == code.upper()))
        if ent is None or (current_user.app_role != ADMIN and ent.id != own):
            return _api_error("enterprise", _("No such enterprise."), 404)
    else:
        ent = db.session.get(Enterprise, own)
    assert ent is not None
    errors: dict[str, str] = {}
    day = _parse_day(request.args.get("date"), ent, errors)
    if errors:
        return _api_error("date", errors["date"])
    try:
        work = services.find_work(ent.id, request.args.get("work"))
    except DomainError as exc:
        return _api_error("work", _t(exc.message))
    raw = [v.strip() for v in (request.args.get("people") or "").replace("，", ",").split(",") if v.strip()]
    if not raw:
        return _api_error("people", _("people: give one or more 工号, separated by commas."))
    if len(raw) > services.MAX_PEOPLE:
        return _api_error("people", _("A permit names at most %(n)s people.", n=services.MAX_PEOPLE))
    entries = []
    for item in raw:
        no, _sep, role = item.partition(":")
        person = services.person_by_employee_no(ent.id, no)
        if person is None:
            return _api_error("people", _("people: nobody with the 工号 %(no)s.", no=no[:64]))
        try:
            entries.append((person, services.check_role(work, role)))
        except DomainError as exc:
            return _api_error("people", _t(exc.message))
    try:
        result = services.check(work, entries, day)
    except DomainError as exc:
        return _api_error(exc.field or "people", _t(exc.message))
    return jsonify(result_json(ent, result))


def result_json(ent: Enterprise, result: services.CheckResult) -> dict[str, Any]:
    """A check as JSON (reasons in the reader's language; codes stable)."""
    return {
        "enterprise": ent.code,
        "work": result.work.name,
        "date": result.days[0].isoformat(),
        "qualified": result.qualified,
        "people": [
            {
                "employee_no": r.person.employee_no,
                "name": r.person.name,
                "role": r.role,
                "qualified": r.qualified,
                "reasons": [{"code": f.code, "reason": _t(f.reason), "fix": _t(f.fix)} for f in r.findings],
                "met": [_t(m) for m in r.met],
            }
            for r in result.people
        ],
    }


__all__ = ["APPROVED", "REFUSED"]
