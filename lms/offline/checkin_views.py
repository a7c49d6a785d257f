"""QR self check-in pages: the trainer's screen (live code and list), the phone's scan → confirm → done, and
toolbox talks (班前会) started in two taps by a team leader."""

from __future__ import annotations

import io
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms.core import timeutil
from lms.core.db import db, utcnow
from lms.core.errors import DomainError
from lms.core.i18n import msg, translate_message
from lms.core.permissions import public, roles
from lms.core.urls import external_url
from lms.offline import bp, checkin, signin
from lms.offline.models import KIND_TOOLBOX, OfflineSession
from lms.org.access import EVERYONE_IN_ENTERPRISE, acting_enterprise_id

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# No menu entry of its own: a second entry of this blueprint would light up with 线下培训 on every offline page.
# Trainers reach it from the session list, team leaders from 我的线下培训 (two taps to a running talk).


def _runnable(session_id: int) -> OfflineSession:
    """The session, if the acting user may run its check-in (otherwise 404: never say it exists)."""
    s = db.session.get(OfflineSession, session_id)
    if s is None or s.enterprise_id != acting_enterprise_id() or not checkin.may_run(current_user, s):
        abort(404)
    return s


def code_url(s: OfflineSession, step: int) -> str:
    """The absolute URL a phone opens from the QR code of ``step``."""
    return external_url("offline.checkin_scan", session_id=s.id, token=checkin.make_token(s, step))


def _state(s: OfflineSession) -> dict[str, Any]:
    """What the trainer's screen shows now: the current code (when open) and the live list."""
    now = utcnow()
    live = checkin.live_list(s)
    state: dict[str, Any] = {
        "open": s.checkin_open,
        "checked_in": len(live.rows),
        "expected": live.expected,
        "missing": len(live.missing),
        "list_html": render_template("offline/_checkin_list.html", s=s, live=live),
    }
    if s.checkin_open:
        step = checkin.step_of(now)
        url = code_url(s, step)
        left = checkin.STEP_SECONDS - int((now - checkin.step_start(step)).total_seconds())
        state.update(step=step, url=url, svg=checkin.qr_svg(url), seconds_left=max(1, left))
    return state


# ---------------------------------------------------------------- the trainer's screen


@bp.route("/<int:session_id>/checkin")
@roles(*EVERYONE_IN_ENTERPRISE)
def checkin_screen(session_id: int):
    s = _runnable(session_id)
    return render_template(
        "offline/checkin_screen.html",
        s=s,
        state=_state(s),
        step_seconds=checkin.STEP_SECONDS,
        accepted_seconds=checkin.STEP_SECONDS * checkin.ACCEPTED_STEPS,
    )


@bp.route("/<int:session_id>/checkin/live")
@roles(*EVERYONE_IN_ENTERPRISE)
def checkin_live(session_id: int):
    s = _runnable(session_id)
    resp = jsonify(_state(s))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/<int:session_id>/checkin/open", methods=["POST"])
@roles(*EVERYONE_IN_ENTERPRISE)
def checkin_open(session_id: int):
    s = _runnable(session_id)
    try:
        checkin.open_checkin(s)
    except DomainError as exc:
        db.session.rollback()
        flash(translate_message(exc.message), "error")
        return redirect(url_for("offline.checkin_screen", session_id=session_id))
    flash(_("Check-in is open: show this screen to the room."), "success")
    return redirect(url_for("offline.checkin_screen", session_id=s.id))


@bp.route("/<int:session_id>/checkin/close", methods=["POST"])
@roles(*EVERYONE_IN_ENTERPRISE)
def checkin_close(session_id: int):
    s = _runnable(session_id)
    checkin.close_checkin(s)
    flash(_("Check-in is closed."), "success")
    return redirect(url_for("offline.checkin_screen", session_id=s.id))


@bp.route("/<int:session_id>/checkin/register.pdf")
@roles(*EVERYONE_IN_ENTERPRISE)
def checkin_register_pdf(session_id: int):
    s = _runnable(session_id)
    return send_file(
        io.BytesIO(signin.checkin_register_pdf(s)),
        as_attachment=True,
        mimetype="application/pdf",
        download_name=f"checkin-{s.id}-{timeutil.to_local(s.starts_at, s):%Y%m%d}.pdf",
    )


@bp.route("/<int:session_id>/checkin/register.xlsx")
@roles(*EVERYONE_IN_ENTERPRISE)
def checkin_register_xlsx(session_id: int):
    s = _runnable(session_id)
    return send_file(
        io.BytesIO(signin.checkin_register_xlsx(s)),
        as_attachment=True,
        mimetype=XLSX,
        download_name=f"checkin-{s.id}-{timeutil.to_local(s.starts_at, s):%Y%m%d}.xlsx",
    )


# ---------------------------------------------------------------- the phone


def _refused(message: str, status: int = 400):
    return render_template("offline/checkin_refused.html", message=translate_message(message)), status


@bp.route("/c/<int:session_id>/<token>")
@public
def checkin_scan(session_id: int, token: str):
    """What the QR code opens: check the code while it is fresh, then hand the phone a grant to sign in with."""
    try:
        code = checkin.verify_token(session_id, token)
    except DomainError as exc:
        return _refused(exc.message)
    return redirect(url_for("offline.checkin_confirm", session_id=session_id, g=checkin.make_grant(code)))


def _granted(session_id: int, grant: str) -> tuple[OfflineSession, checkin.Code]:
    code = checkin.verify_grant(session_id, grant)
    s = code.session
    person = current_user.person
    if s.enterprise_id != current_user.enterprise_id or (
        person is not None and person.enterprise_id != s.enterprise_id
    ):
        raise checkin.OtherEnterprise(
            msg("this code belongs to a session of another enterprise; you cannot check in with it")
        )
    return s, code


@bp.route("/c/<int:session_id>/confirm", methods=["GET", "POST"])
@roles(*EVERYONE_IN_ENTERPRISE)
def checkin_confirm(session_id: int):
    grant = request.values.get("g", "")
    try:
        s, code = _granted(session_id, grant)
    except DomainError as exc:
        db.session.rollback()
        return _refused(exc.message, exc.status_code)
    person = current_user.person
    mine = checkin.check_in_of(s, person)
    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action == "in":
                checkin.check_in(s, person, code.step, user=current_user, address=request.remote_addr)
            elif action == "out":
                checkin.check_out(s, person, code.step, user=current_user)
            else:
                abort(400)
        except DomainError as exc:
            db.session.rollback()
            return _refused(exc.message, exc.status_code)
        flash(_("You are checked in.") if action == "in" else _("You are checked out."), "success")
        return redirect(url_for("offline.checkin_done", session_id=session_id))
    return render_template(
        "offline/checkin_confirm.html", s=s, person=person, mine=mine, grant=grant, step=code.step
    )


@bp.route("/c/<int:session_id>/done")
@roles(*EVERYONE_IN_ENTERPRISE)
def checkin_done(session_id: int):
    s = db.session.get(OfflineSession, session_id)
    person = current_user.person
    mine = checkin.check_in_of(s, person) if s is not None else None
    if mine is None:
        abort(404)
    return render_template(
        "offline/checkin_done.html", s=s, person=person, mine=mine, hours=checkin.credited_hours(s, mine)
    )


# ---------------------------------------------------------------- toolbox talks


@bp.route("/toolbox", methods=["GET", "POST"])
@roles(*EVERYONE_IN_ENTERPRISE)
def toolbox():
    runner = current_user.app_role in checkin.RUNNERS or checkin.is_team_leader(current_user)
    if request.method == "POST":
        if not runner:
            abort(403)
        try:
            s = checkin.create_toolbox_talk(
                current_user,
                topic=(request.form.get("topic") or "").strip() or _("Pre-shift safety talk"),
                minutes=request.form.get("minutes") or checkin.TOOLBOX_DEFAULT_MINUTES,
            )
        except DomainError as exc:
            db.session.rollback()
            flash(translate_message(exc.message), "error")
            return redirect(url_for("offline.toolbox"))
        return redirect(url_for("offline.checkin_screen", session_id=s.id))
    ent_id = acting_enterprise_id()
    talks = checkin.toolbox_talks(current_user, ent_id) if runner else []
    return render_template(
        "offline/toolbox.html",
        runner=runner,
        talks=talks,
        counts=checkin.checkin_counts([t.id for t in talks]),
        minutes=checkin.TOOLBOX_MINUTES,
        default_minutes=checkin.TOOLBOX_DEFAULT_MINUTES,
        kind=KIND_TOOLBOX,
        default_topic=_("Pre-shift safety talk"),
        topics=[
            _("Pre-shift safety talk"),
            _("Shift handover safety check"),
            _("Personal protective equipment check"),
            _("Hazards of today's work"),
        ],
    )
