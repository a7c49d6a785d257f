"""Home dispatch and background-job status."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from lms.core.db import db
from lms.core.jobs import FAILED, Job, retry
from lms.core.nav import home_endpoint, home_page_for
from lms.core.permissions import public, signed_in

bp = Blueprint("core", __name__, template_folder="templates")

STATUS_LABELS = {"queued": "Queued", "running": "Processing", "done": "Done", "failed": "Failed"}


@bp.route("/")
@public
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if current_user.must_change_password:
        return redirect(url_for("auth.change_password"))
    provider = home_page_for(current_user.app_role)
    data = provider() if provider is not None else None
    if data is not None:
        return render_template("core/home.html", **data)
    endpoint = home_endpoint(current_user.app_role)
    if endpoint:
        return redirect(url_for(endpoint))
    return render_template("core/home.html")


@bp.route("/favicon.ico")
@public
def favicon():
    # Pages name their icon (base.html); a browser still asks here for documents that cannot (a photo, a PDF).
    return redirect(url_for("static", filename="img/icon.svg"), code=301)


@bp.route("/healthz")
@public
def healthz():
    db.session.execute(select(1))
    return jsonify({"ok": True})


def _visible_job(job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None:
        abort(404)
    if current_user.app_role == "admin":
        return job
    if job.created_by_id == current_user.id:
        return job
    if current_user.app_role in ("manager", "trainer") and job.enterprise_id == current_user.enterprise_id:
        return job
    abort(404)


@bp.route("/jobs/<int:job_id>")
@signed_in
def job_status(job_id: int):
    job = _visible_job(job_id)
    data = {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "status_label": _(STATUS_LABELS.get(job.status, job.status)),
        "progress": job.progress,
        "message": _(job.message) if job.message else job.message,
        "error": job.error,
        "result": job.result if job.status == "done" else None,
    }
    if request.accept_mimetypes.best == "application/json" or request.args.get("format") == "json":
        return jsonify(data)
    return render_template("core/job.html", job=job)


@bp.route("/jobs/<int:job_id>/retry", methods=["POST"])
@signed_in
def job_retry(job_id: int):
    job = _visible_job(job_id)
    if job.status != FAILED:
        abort(409)
    retry(job)
    return redirect(request.referrer or url_for("core.job_status", job_id=job.id))
