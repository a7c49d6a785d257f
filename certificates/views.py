"""Certificate pages: my certificates, the managers' list and actions, the template editor, bulk jobs, and the
public verification page that the QR code opens.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_pgettext
from flask_login import current_user
from sqlalchemy import func, select

from certificates import bp, services
from certificates.documents import ensure_pdf, pdf_filename, preview_pdf
from certificates.forms import BulkForm, RevokeForm, TemplateForm, VerifyForm
from certificates.jobs import JOB_KIND, start_bulk
from certificates.models import EXPIRED, REVOKED, STATUSES, VALID, Certificate
from lms.core.db import db, keep_on_error, writes
from lms.core.errors import DomainError
from lms.core.jobs import DONE, Job
from lms.core.nav import nav_item
from lms.core.permissions import public, roles, signed_in
from lms.core.storage import StoredFile, send_stored
from lms.org.access import MANAGERS, STAFF, acting_enterprise, acting_enterprise_id, get_scoped
from lms.org.models import EVALUATOR, LEARNER, Department, User

nav_item("certificates.mine", lazy_pgettext("menu", "My certificates"), (LEARNER, EVALUATOR), order=40)
nav_item("certificates.index", lazy_pgettext("menu", "Certificates"), STAFF, order=65)

PAGE_SIZE = 50
EXPIRING_DAYS = 30


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError):
    """Show a refusal in the user's language (services raise English messages marked for translation)."""
    db.session.rollback()
    message = _(exc.message)
    if request.method == "GET":
        return render_template(
            "error.html", code=exc.status_code, title=_("Not allowed"), text=message
        ), exc.status_code
    flash(message, "error")
    return redirect(request.referrer or url_for("certificates.index"))


def _today() -> dt.date:
    return services._local_date(None)


# -- learners ----------------------------------------------------------------------------------------


@bp.route("/mine")
@signed_in
def mine():
    certs = services.certificates_for_person(current_user.person_id) if current_user.person_id else []
    return render_template("certificates/mine.html", certificates=certs, today=_today())


def _downloadable(cert_id: int) -> Certificate:
    """Load a certificate the current user may download: their own (not revoked), or staff of its enterprise."""
    cert = db.session.get(Certificate, cert_id)
    if cert is None:
        abort(404)
    own = current_user.person_id is not None and cert.person_id == current_user.person_id
    if own and cert.status != REVOKED:
        return cert
    if current_user.app_role in STAFF and cert.enterprise_id == acting_enterprise_id():
        return cert
    abort(404)


@bp.route("/<int:cert_id>/pdf")
@signed_in
@writes  # the PDF may be rendered (and stored) now
def download(cert_id: int):
    cert = _downloadable(cert_id)
    stored = ensure_pdf(cert)
    return send_stored(
        stored,
        download_name=pdf_filename(cert),
        as_attachment=request.args.get("inline") != "1",
        mimetype="application/pdf",
    )


# -- managers ----------------------------------------------------------------------------------------


@bp.route("/")
@roles(*STAFF)
def index():
    ent_id = acting_enterprise_id()
    text = (request.args.get("q") or "").strip()
    status = request.args.get("status") or ""
    expiring = request.args.get("expiring", type=int)
    if status not in STATUSES:
        status = ""
    if expiring is not None:
        expiring = max(0, min(expiring, 3650))
    q = services.search_query(
        ent_id, text=text, status=status or None, expiring_within=expiring, today=_today()
    )
    total = db.session.scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0
    page = max(1, request.args.get("page", 1, type=int))
    rows = db.session.scalars(q.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return render_template(
        "certificates/index.html",
        certificates=rows,
        total=total,
        page=page,
        pages=max(1, math.ceil(total / PAGE_SIZE)),
        q=text,
        status=status,
        expiring=expiring,
        today=_today(),
        expiring_days=EXPIRING_DAYS,
    )


def _viewable(cert_id: int) -> Certificate:
    """Load a certificate whose page the current user may open: their own (whatever its status), or staff of its
    enterprise; 404 otherwise (never say it exists)."""
    cert = db.session.get(Certificate, cert_id)
    if cert is None:
        abort(404)
    if current_user.person_id is not None and cert.person_id == current_user.person_id:
        return cert
    if current_user.app_role in STAFF and cert.enterprise_id == acting_enterprise_id():
        return cert
    abort(404)


@bp.route("/<int:cert_id>")
@signed_in
def detail(cert_id: int):
    cert = _viewable(cert_id)
    revoked_by = db.session.get(User, cert.revoked_by_id) if cert.revoked_by_id else None
    previous = db.session.get(Certificate, cert.reissued_from_id) if cert.reissued_from_id else None
    return render_template(
        "certificates/detail.html",
        cert=cert,
        today=_today(),
        revoked_by=revoked_by,
        successor=services.reissued_as(cert),
        previous=previous,
        form=RevokeForm(),
    )


@bp.route("/<int:cert_id>/revoke", methods=["POST"])
@roles(*MANAGERS)
def revoke(cert_id: int):
    cert = get_scoped(Certificate, cert_id)
    form = RevokeForm()
    services.revoke(cert, form.reason.data or "", actor=current_user)
    flash(_("Certificate %(number)s is revoked.", number=cert.number), "success")
    return redirect(url_for("certificates.detail", cert_id=cert.id))


@bp.route("/<int:cert_id>/reissue", methods=["POST"])
@roles(*MANAGERS)
def reissue(cert_id: int):
    cert = get_scoped(Certificate, cert_id)
    new = services.reissue(cert, actor=current_user)
    flash(_("Certificate %(old)s is replaced by %(new)s.", old=cert.number, new=new.number), "success")
    return redirect(url_for("certificates.detail", cert_id=new.id))


# -- template editor ---------------------------------------------------------------------------------


@bp.route("/template", methods=["GET", "POST"])
@roles(*MANAGERS)
def template_edit():
    ent = acting_enterprise()
    tpl = services.get_template(ent.id)
    form = TemplateForm(obj=tpl)
    if request.method == "GET":
        # The default template may just have been made: flushing it stops the read unit, and the request runs
        # again as a write unit that the request wrapper commits.
        db.session.flush()
    if form.validate_on_submit():
        services.update_template(
            tpl,
            actor=current_user,
            title=form.title.data,
            subtitle=form.subtitle.data,
            primary_color=form.primary_color.data,
            accent_color=form.accent_color.data,
            wording=form.wording.data,
            issuer=form.issuer.data,
            number_prefix=form.number_prefix.data,
            landscape=form.landscape.data,
        )
        for role in services.IMAGE_ROLES:
            upload = getattr(form, role).data
            if getattr(form, f"remove_{role}").data:
                services.remove_template_image(tpl, role, actor=current_user)
            elif upload and getattr(upload, "filename", ""):
                services.set_template_image(tpl, role, upload.stream, upload.filename, actor=current_user)
        flash(
            _(
                "The certificate template is saved (version %(v)s). Certificates are rendered again when next "
                "downloaded.",
                v=tpl.version,
            ),
            "success",
        )
        return redirect(url_for("certificates.template_edit"))
    return render_template(
        "certificates/template.html", form=form, tpl=tpl, enterprise=ent, placeholders=PLACEHOLDERS
    )


PLACEHOLDERS = (
    "name",
    "employee_no",
    "enterprise",
    "course",
    "hours",
    "score",
    "issued_on",
    "valid_until",
    "number",
)


@bp.route("/template/preview")
@roles(*MANAGERS)
def template_preview():
    ent = acting_enterprise()
    tpl = services.get_template(ent.id)
    data = preview_pdf(tpl, ent.name)
    resp = Response(data, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = "inline; filename=preview.pdf"
    resp.headers["Cache-Control"] = "no-store"
    return resp


# -- bulk ----------------------------------------------------------------------------------------------


@bp.route("/bulk", methods=["GET", "POST"])
@roles(*MANAGERS)
def bulk():
    ent_id = acting_enterprise_id()
    form = BulkForm()
    form.achievement.choices = [("", _("— any —"))] + [
        (
            key,
            (
                _("Course: %(title)s", title=title)
                if key.startswith("course")
                else _("Exam: %(title)s", title=title)
            ),
        )
        for key, title in services.achievements(ent_id)
    ]
    depts = db.session.scalars(
        select(Department).where(Department.enterprise_id == ent_id).order_by(Department.path)
    ).all()
    form.department.choices = [("", _("All departments"))] + [(str(d.id), d.path) for d in depts]
    if form.validate_on_submit():
        nos = [n for n in re.split(r"[\s,;，；、]+", form.employee_nos.data or "") if n]
        job = start_bulk(
            ent_id,
            action=form.action.data,
            achievement=form.achievement.data or None,
            department_id=int(form.department.data) if form.department.data else None,
            employee_nos=nos,
            actor=current_user,
        )
        return redirect(url_for("core.job_status", job_id=job.id))
    recent = db.session.scalars(
        select(Job).where(Job.enterprise_id == ent_id, Job.kind == JOB_KIND).order_by(Job.id.desc()).limit(10)
    ).all()
    return render_template("certificates/bulk.html", form=form, jobs=recent)


@bp.route("/jobs/<int:job_id>/download")
@roles(*MANAGERS)
def bundle_download(job_id: int):
    job = db.session.get(Job, job_id)
    if (
        job is None
        or job.kind != JOB_KIND
        or job.enterprise_id != acting_enterprise_id()
        or job.status != DONE
    ):
        abort(404)
    stored = db.session.get(StoredFile, (job.result or {}).get("file_id") or 0)
    if stored is None or stored.enterprise_id != job.enterprise_id:
        abort(404)
    return send_stored(
        stored, download_name=stored.original_name, as_attachment=True, mimetype="application/zip"
    )


# -- public verification -----------------------------------------------------------------------------


def _client_address() -> str:
    return request.remote_addr or "unknown"


def _check(number: str, code: str):
    """Verify, with throttling of failures per client address; render the answer."""
    address = _client_address()
    limit = int(current_app.config.get("CERT_VERIFY_MAX_FAILURES", 10))
    window = dt.timedelta(minutes=int(current_app.config.get("CERT_VERIFY_WINDOW_MINUTES", 10)))
    if services.verify_throttled(address, limit=limit, window=window):
        abort(429)
    cert = services.verify(number, code)
    if cert is None:
        services.record_verify_failure(address)
        keep_on_error()  # the failure counts (throttling) though the answer is 404
        return render_template(
            "certificates/verify_result.html", cert=None, form=VerifyForm(formdata=None)
        ), 404
    status = cert.status_on(_today())
    return render_template(
        "certificates/verify_result.html", cert=cert, status=status, form=VerifyForm(formdata=None)
    )


@bp.route("/verify", methods=["GET", "POST"])
@public
def verify_form():
    form = VerifyForm()
    if form.validate_on_submit():
        return _check(form.number.data, form.code.data)
    return render_template("certificates/verify.html", form=form)


@bp.route("/verify/<number>/<code>")
@public
@writes  # a failed check is recorded (throttling)
def verify_link(number: str, code: str):
    return _check(number, code)


__all__ = ["VALID", "EXPIRED", "REVOKED"]


@bp.app_context_processor
def _certificates_global() -> dict:
    """Let other pages (the person's training archive) list a person's certificates without importing us."""
    from certificates.services import certificates_for_person

    return {"certificates_of": certificates_for_person}
