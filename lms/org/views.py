"""Organisation pages: people, departments, roster import, accounts, enterprises."""

from __future__ import annotations

import io
import math

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_pgettext
from flask_login import current_user
from sqlalchemy import func, or_, select

from lms.core.db import db
from lms.core.errors import DomainError
from lms.core.nav import home_for, nav_item
from lms.core.permissions import roles
from lms.core.storage import StoredFile, discard, path_of, save_stream
from lms.core.timeutil import zone_choices
from lms.org import person_page, services
from lms.org.access import MANAGERS, STAFF, acting_enterprise, acting_enterprise_id, get_scoped
from lms.org.forms import EnterpriseForm, PersonForm, RosterUploadForm
from lms.org.models import (
    ADMIN,
    MANAGER,
    REGULATOR,
    Department,
    Enterprise,
    Person,
    PersonEvent,
    Post,
    RegulatorAssignment,
    ResponsibilityRole,
    User,
)
from lms.org.roster import import_roster
from lms.org.timezone import enterprise_today

bp = Blueprint("org", __name__, template_folder="templates", url_prefix="/org")

nav_item("org.people", lazy_pgettext("menu", "People"), STAFF, order=70)
nav_item("org.enterprises", lazy_pgettext("menu", "Enterprises"), (ADMIN,), order=95)
home_for(ADMIN, "org.enterprises", 10)

PAGE_SIZE = 50


@bp.route("/people")
@roles(*STAFF)
def people():
    ent_id = acting_enterprise_id()
    q = select(Person).where(Person.enterprise_id == ent_id)
    text = (request.args.get("q") or "").strip()
    if text:
        like = f"%{text}%"
        q = q.where(or_(Person.name.like(like), Person.employee_no.like(like), Person.phone.like(like)))
    dept_id = request.args.get("department", type=int)
    if dept_id:
        dept = get_scoped(Department, dept_id)
        q = q.where(Person.department_id.in_(services.subtree_ids(dept)))
    status = request.args.get("status") or "active"
    if status in ("active", "left"):
        q = q.where(Person.status == status)
    total = db.session.scalar(select(func.count()).select_from(q.subquery()))
    page = max(1, request.args.get("page", 1, type=int))
    rows = db.session.scalars(
        q.order_by(Person.employee_no).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    ).all()
    from sqlalchemy.orm import selectinload

    if rows:
        db.session.scalars(
            select(Person)
            .where(Person.id.in_([p.id for p in rows]))
            .options(selectinload(Person.roles), selectinload(Person.department), selectinload(Person.post))
        ).all()
    depts = db.session.scalars(
        select(Department).where(Department.enterprise_id == ent_id).order_by(Department.path)
    ).all()
    return render_template(
        "org/people.html",
        people=rows,
        total=total,
        page=page,
        pages=max(1, math.ceil((total or 0) / PAGE_SIZE)),
        depts=depts,
        q=text,
        dept_id=dept_id,
        status=status,
    )


def _person_form(ent_id: int, person: Person | None = None) -> PersonForm:
    form = PersonForm(obj=None)
    form.roles.choices = [
        (r.id, r.name)
        for r in db.session.scalars(
            select(ResponsibilityRole)
            .where(ResponsibilityRole.enterprise_id == ent_id)
            .order_by(ResponsibilityRole.sort_order)
        )
    ]
    if current_user.app_role not in MANAGERS:
        form.app_role.choices = [("learner", _("Learner"))]
    return form


@bp.route("/people/new", methods=["GET", "POST"])
@roles(*MANAGERS)
def person_new():
    ent = acting_enterprise()
    form = _person_form(ent.id)
    if form.validate_on_submit():
        emp = services_normalize(form.employee_no.data)
        if db.session.scalar(
            select(Person.id).where(Person.enterprise_id == ent.id, Person.employee_no == emp)
        ):
            form.employee_no.errors.append(_("This employee number is taken."))
        else:
            person = Person(
                enterprise_id=ent.id,
                employee_no=emp,
                name=form.name.data.strip(),
                phone=form.phone.data or None,
                hire_date=form.hire_date.data,
            )
            db.session.add(person)
            db.session.flush()
            _apply_person_form(ent, person, form, new=True)
            flash(
                _("%(name)s is added. Issue a first password from the person's page.", name=person.name),
                "success",
            )
            return redirect(url_for("org.person", person_id=person.id))
    return render_template("org/person_form.html", form=form, person=None)


def services_normalize(value: str) -> str:
    from lms.core.sheets.values import normalize_employee_no

    return normalize_employee_no(value)


def _apply_person_form(ent: Enterprise, person: Person, form: PersonForm, *, new: bool) -> None:
    dept = services.ensure_department(ent.id, form.department.data) if form.department.data else None
    post = services.ensure_post(ent.id, form.post.data, dept) if form.post.data else None
    if new:
        person.department_id, person.post_id = (dept.id if dept else None), (post.id if post else None)
        db.session.add(
            PersonEvent(person_id=person.id, kind="hired", on=person.hire_date or enterprise_today(ent.id))
        )
    else:
        services.move_person(person, department=dept, post=post)
    chosen = [
        r
        for r in db.session.scalars(
            select(ResponsibilityRole).where(
                ResponsibilityRole.enterprise_id == ent.id, ResponsibilityRole.id.in_(form.roles.data or [])
            )
        )
    ]
    services.set_roles(person, chosen)
    services.set_status(person, form.status.data)
    services.set_leave(person, form.away_from.data, form.returned_on.data)
    user = services.ensure_account(person, ent)
    if current_user.app_role in MANAGERS and form.app_role.data in (
        "learner",
        "trainer",
        "manager",
        "evaluator",
    ):
        user.app_role = form.app_role.data


@bp.route("/people/<int:person_id>")
@roles(*STAFF)
def person(person_id: int):
    p = get_scoped(Person, person_id)
    user = db.session.scalar(select(User).where(User.person_id == p.id))
    events = db.session.scalars(
        select(PersonEvent)
        .where(PersonEvent.person_id == p.id)
        .order_by(PersonEvent.on.desc(), PersonEvent.id.desc())
    ).all()
    role_names = {
        r.id: r.name
        for r in db.session.scalars(
            select(ResponsibilityRole).where(ResponsibilityRole.enterprise_id == p.enterprise_id)
        )
    }
    return render_template(
        "org/person.html",
        person=p,
        user=user,
        events=events,
        role_names=role_names,
        **{"records": [], **person_page.values(p)},
    )


@bp.route("/people/<int:person_id>/edit", methods=["GET", "POST"])
@roles(*MANAGERS)
def person_edit(person_id: int):
    ent = acting_enterprise()
    p = get_scoped(Person, person_id)
    form = _person_form(ent.id, p)
    user = db.session.scalar(select(User).where(User.person_id == p.id))
    if request.method == "GET":
        form.employee_no.data, form.name.data, form.phone.data = p.employee_no, p.name, p.phone
        form.hire_date.data = p.hire_date
        form.department.data = p.department.path if p.department else ""
        form.post.data = p.post.name if p.post else ""
        form.roles.data = [r.id for r in p.roles]
        form.status.data = p.status
        form.away_from.data, form.returned_on.data = p.away_from, p.returned_on
        form.app_role.data = user.app_role if user else "learner"
    if form.validate_on_submit():
        p.name, p.phone, p.hire_date = form.name.data.strip(), form.phone.data or None, form.hire_date.data
        _apply_person_form(ent, p, form, new=False)
        flash(_("Saved."), "success")
        return redirect(url_for("org.person", person_id=p.id))
    return render_template("org/person_form.html", form=form, person=p)


@bp.route("/people/<int:person_id>/password", methods=["POST"])
@roles(*MANAGERS)
def person_reset_password(person_id: int):
    ent = acting_enterprise()
    p = get_scoped(Person, person_id)
    user = services.ensure_account(p, ent)
    db.session.flush()
    if user.password_hash == services.UNUSABLE_PASSWORD:
        issued = services.issue_first_passwords(ent, [p])
        pw = issued[0].password if issued else services.reset_password(user)
    else:
        pw = services.reset_password(user)
    return render_template(
        "org/passwords.html",
        issued=[{"person": p, "username": user.username, "password": pw}],
        enterprise=ent,
    )


@bp.route("/people/<int:person_id>/enabled", methods=["POST"])
@roles(*MANAGERS)
def person_enabled(person_id: int):
    p = get_scoped(Person, person_id)
    user = db.session.scalar(select(User).where(User.person_id == p.id))
    if user is None:
        abort(404)
    services.set_enabled(user, request.form.get("enabled") == "1")
    flash(
        _("Account enabled.") if user.is_enabled else _("Account disabled; its sessions have ended."),
        "success",
    )
    return redirect(url_for("org.person", person_id=p.id))


@bp.route("/passwords/issue", methods=["POST"])
@roles(*MANAGERS)
def issue_passwords():
    ent = acting_enterprise()
    people_without = db.session.scalars(
        select(Person)
        .join(User, User.person_id == Person.id)
        .where(
            Person.enterprise_id == ent.id,
            Person.status == "active",
            User.password_hash == services.UNUSABLE_PASSWORD,
        )
        .order_by(Person.employee_no)
        .limit(500)
    ).all()
    issued = services.issue_first_passwords(ent, people_without)
    if not issued:
        flash(_("Every active person already has a password."), "success")
        return redirect(url_for("org.people"))
    return render_template(
        "org/passwords.html",
        issued=[{"person": i.person, "username": i.username, "password": i.password} for i in issued],
        enterprise=ent,
    )


@bp.route("/departments")
@roles(*STAFF)
def departments():
    ent_id = acting_enterprise_id()
    depts = db.session.scalars(
        select(Department).where(Department.enterprise_id == ent_id).order_by(Department.path)
    ).all()
    counts = dict(
        db.session.execute(
            select(Person.department_id, func.count())
            .where(Person.enterprise_id == ent_id, Person.status == "active")
            .group_by(Person.department_id)
        ).all()
    )
    posts = db.session.scalars(select(Post).where(Post.enterprise_id == ent_id).order_by(Post.name)).all()
    role_rows = db.session.scalars(
        select(ResponsibilityRole)
        .where(ResponsibilityRole.enterprise_id == ent_id)
        .order_by(ResponsibilityRole.sort_order)
    ).all()
    return render_template("org/departments.html", depts=depts, counts=counts, posts=posts, roles=role_rows)


@bp.route("/roles", methods=["POST"])
@roles(*MANAGERS)
def role_add():
    ent_id = acting_enterprise_id()
    name = (request.form.get("name") or "").strip()
    if not name or len(name) > 100:
        raise DomainError(_("A role needs a name of at most 100 characters."))
    if db.session.scalar(
        select(ResponsibilityRole.id).where(
            ResponsibilityRole.enterprise_id == ent_id, ResponsibilityRole.name == name
        )
    ):
        raise DomainError(_("This role exists already."))
    order = (
        db.session.scalar(
            select(func.coalesce(func.max(ResponsibilityRole.sort_order), 0)).where(
                ResponsibilityRole.enterprise_id == ent_id
            )
        )
        + 1
    )
    db.session.add(ResponsibilityRole(enterprise_id=ent_id, name=name, sort_order=order))
    flash(_("Role added."), "success")
    return redirect(url_for("org.departments"))


@bp.route("/roster", methods=["GET", "POST"])
@roles(*MANAGERS)
def roster_upload():
    ent = acting_enterprise()
    form = RosterUploadForm()
    if form.validate_on_submit():
        f = form.file.data
        stored = save_stream(
            f.stream,
            f.filename or "roster",
            purpose="roster-upload",
            enterprise_id=ent.id,
            uploaded_by_id=current_user.id,
            max_bytes=50 * 1024 * 1024,
        )
        return redirect(url_for("org.roster_preview", file_id=stored.id))
    return render_template("org/roster_upload.html", form=form)


def _roster_file(file_id: int) -> StoredFile:
    stored = db.session.get(StoredFile, file_id)
    if stored is None or stored.enterprise_id != acting_enterprise_id() or stored.purpose != "roster-upload":
        abort(404)
    return stored


@bp.route("/roster/<int:file_id>")
@roles(*MANAGERS)
def roster_preview(file_id: int):
    ent = acting_enterprise()
    stored = _roster_file(file_id)
    result = import_roster(ent, path_of(stored.key), stored.original_name, dry_run=True)
    db.session.rollback()
    if result.refused:
        # Nothing can ever be imported from a file that cannot be read: it is not kept (issue 16).
        stored.original_name  # noqa: B018 - loaded for the page before the row goes
        discard(stored)
    return render_template("org/roster_preview.html", result=result, stored=stored)


@bp.route("/roster/<int:file_id>/commit", methods=["POST"])
@roles(*MANAGERS)
def roster_commit(file_id: int):
    ent = acting_enterprise()
    stored = _roster_file(file_id)
    result = import_roster(ent, path_of(stored.key), stored.original_name, dry_run=False)
    if not result.committed:
        db.session.rollback()
        flash(_("Nothing was imported: fix the rows listed and upload again."), "error")
        return redirect(url_for("org.roster_preview", file_id=stored.id))
    flash(
        _(
            "Roster imported: %(c)d created, %(u)d updated, %(n)d unchanged.",
            c=result.created,
            u=result.updated,
            n=result.unchanged,
        ),
        "success",
    )
    return redirect(url_for("org.people"))


@bp.route("/roster/template.xlsx")
@roles(*MANAGERS)
def roster_template():
    from flask import send_file

    from lms.core.exports import xlsx_bytes

    data = xlsx_bytes(
        ["工号", "姓名", "部门", "岗位", "安全责任角色", "入职日期", "手机号"],
        [["1001", "张三", "一车间/甲班", "操作工", "一线从业人员", "2026-01-05", "13800000000"]],
        sheet_title="员工花名册",
    )
    return send_file(
        io.BytesIO(data),
        as_attachment=True,
        download_name="roster-template.xlsx",
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


# ---------------------------------------------------------------- enterprises (platform admin)


@bp.route("/enterprises", methods=["GET", "POST"])
@roles(ADMIN)
def enterprises():
    form = EnterpriseForm()
    form.time_zone.choices = [(z, z) for z in zone_choices()]
    if form.validate_on_submit():
        try:
            ent = services.create_enterprise(
                form.code.data,
                form.name.data,
                industry=form.industry.data or None,
                high_risk=form.high_risk.data,
                password_policy=form.password_policy.data,
                time_zone=form.time_zone.data,
            )
        except DomainError as exc:
            db.session.rollback()  # nothing of a refused enterprise is kept
            flash(_(exc.message), "error")
        else:
            flash(_("Enterprise %(code)s created.", code=ent.code), "success")
            return redirect(url_for("org.enterprises"))
    ents = db.session.scalars(select(Enterprise).order_by(Enterprise.code)).all()
    counts = dict(
        db.session.execute(
            select(Person.enterprise_id, func.count())
            .where(Person.status == "active")
            .group_by(Person.enterprise_id)
        ).all()
    )
    regulators = db.session.scalars(
        select(User).where(User.app_role == REGULATOR).order_by(User.username)
    ).all()
    assigned = {(a.user_id, a.enterprise_id) for a in db.session.scalars(select(RegulatorAssignment))}
    return render_template(
        "org/enterprises.html",
        form=form,
        enterprises=ents,
        counts=counts,
        regulators=regulators,
        assigned=assigned,
        current_id=session.get("enterprise_id"),
    )


@bp.route("/enterprises/<int:enterprise_id>/switch", methods=["POST"])
@roles(ADMIN)
def enterprise_switch(enterprise_id: int):
    if db.session.get(Enterprise, enterprise_id) is None:
        abort(404)
    session["enterprise_id"] = enterprise_id
    return redirect(url_for("core.home"))


@bp.route("/enterprises/<int:enterprise_id>/regulators", methods=["POST"])
@roles(ADMIN)
def regulator_assign(enterprise_id: int):
    ent = db.session.get(Enterprise, enterprise_id)
    user = db.session.get(User, request.form.get("user_id", type=int) or 0)
    if ent is None or user is None or user.app_role != REGULATOR:
        abort(404)
    link = db.session.get(RegulatorAssignment, (user.id, ent.id))
    if request.form.get("assign") == "1" and link is None:
        db.session.add(RegulatorAssignment(user_id=user.id, enterprise_id=ent.id))
    elif request.form.get("assign") == "0" and link is not None:
        db.session.delete(link)
    return redirect(url_for("org.enterprises"))


def _set_industry(ent: Enterprise, industry: str | None) -> None:
    """Change the industry: high-risk follows it, and the training presets are re-derived (shown to the user)."""
    from lms.core.signals import industry_changed
    from lms.org.industry import is_high_risk

    was = bool(ent.high_risk)
    ent.industry, ent.high_risk = industry, is_high_risk(industry)
    flash(
        _(
            "High-risk follows the industry: %(industry)s is %(what)s.",
            industry=industry or "—",
            what=_("a high-risk industry") if ent.high_risk else _("not a high-risk industry"),
        ),
        "info",
    )
    changes = [c for _recv, result in industry_changed.send(ent, was_high_risk=was) for c in (result or [])]
    if changes:
        flash(
            _(
                "Statutory presets re-derived for the industry: %(changes)s",
                changes="；".join(
                    f"{c['name']} {format(c['old'].normalize(), 'f')} → {format(c['new'].normalize(), 'f')}"
                    for c in changes
                ),
            ),
            "success",
        )


@bp.route("/settings", methods=["GET", "POST"])
@roles(MANAGER, ADMIN)
def settings():
    ent = acting_enterprise()
    if request.method == "POST":
        from flask_wtf.csrf import validate_csrf

        validate_csrf(request.form.get("csrf_token"))
        ent.share_names_with_regulator = request.form.get("share_names") == "1"
        if request.form.get("password_policy") in ("random", "phone6"):
            ent.password_policy = request.form["password_policy"]
        industry = (request.form.get("industry") or "").strip()[:100] or None
        if industry != ent.industry:
            _set_industry(ent, industry)
        if request.form.get("time_zone"):
            try:
                ent.time_zone = services.check_time_zone(request.form["time_zone"])
            except DomainError as exc:
                db.session.rollback()
                flash(_(exc.message), "error")
                return redirect(url_for("org.settings"))
        flash(_("Saved."), "success")
        return redirect(url_for("org.settings"))
    return render_template("org/settings.html", ent=ent, zones=zone_choices())


# ---------------------------------------------------------------- sign-in locks (managers)


@bp.route("/sign-in-locks")
@roles(*MANAGERS)
def sign_in_locks():
    from flask import current_app

    from lms.org import signin
    from lms.org.forms import ClearLockForm

    ent_id = acting_enterprise_id()
    policy = signin.Policy.from_config(current_app.config)
    rows = [
        (u, t)
        for u, t in signin.locked_accounts(ent_id, policy)
        if u.app_role != ADMIN or current_user.app_role == ADMIN
    ]  # a platform admin's lock is not theirs
    return render_template("org/sign_in_locks.html", rows=rows, policy=policy, form=ClearLockForm())


@bp.route("/sign-in-locks/<int:user_id>/clear", methods=["POST"])
@roles(*MANAGERS)
def sign_in_lock_clear(user_id: int):
    from lms.org import signin
    from lms.org.forms import ClearLockForm

    form = ClearLockForm()
    if not form.validate_on_submit():
        abort(400)
    user = get_scoped(User, user_id)
    if user.app_role == ADMIN and current_user.app_role != ADMIN:
        abort(404)
    signin.clear_throttle(user)
    flash(_("The sign-in lock of %(name)s is cleared.", name=user.display_name), "success")
    return redirect(url_for("org.sign_in_locks"))
