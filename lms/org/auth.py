"""Sign-in, sign-out, password change and language choice."""

from __future__ import annotations

import json
import secrets
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.exceptions import SecurityError

from lms.core.db import db, keep_on_error, require_write
from lms.core.errors import DomainError
from lms.core.i18n import translate_message
from lms.core.permissions import public, signed_in
from lms.org import services, signin
from lms.org.forms import ChangePasswordForm, LoginForm

bp = Blueprint("auth", __name__, template_folder="templates")


@bp.app_errorhandler(SecurityError)
def _untrusted_host(exc: SecurityError):  # noqa: ANN202
    """A Host outside LMS_TRUSTED_HOSTS: a plain 400 (no page: links could not be built for that host anyway)."""
    text = _("This server does not answer to this host name. Use the address your administrator gave you.")
    return Response(text + "\n", status=400, mimetype="text/plain")


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _address() -> str:
    return request.remote_addr or "unknown"


# A browser where an account signed in before carries this signed cookie: a device id and the accounts that
# signed in on it. For those accounts it passes the address's throttle and the account's lock (lms.org.signin).
DEVICE_COOKIE = "lms_device"
# A browser's number in the line of sign-ins (lms.org.signin.wait_in_line), kept in its session while it waits.
LINE_TICKET = "signin_ticket"
# The sign-in page's script sends the form with this header (lms/static/js/app.js): signed in, it is answered
# with where to go (JSON) instead of a redirect, which a script's fetch would follow and load for nothing.
LINE_HEADER = "X-Sign-In-Line"
# The seconds to this browser's turn to the hundredth (Retry-After is whole seconds): coming back on time, the
# people of a rush arrive one sign-in apart instead of together at the top of each second.
LINE_WAIT_HEADER = "X-Sign-In-Wait"
# The seconds to the turn as estimated now (the page shows them; X-Sign-In-Wait may be shorter: come back sooner).
LINE_TURN_HEADER = "X-Sign-In-Turn"
DEVICE_COOKIE_DAYS = 400
DEVICE_MAX_ACCOUNTS = 10


def _device_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="lms.known-device")


def read_device() -> tuple[str | None, list[int]]:
    """Return this browser's known-device id and the accounts that signed in on it (none when unsigned)."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return None, []
    try:
        data = _device_serializer().loads(raw)
        device = str(data["d"])[:32]
        known = [int(u) for u in data.get("u", [])][:DEVICE_MAX_ACCOUNTS]
    except (BadSignature, KeyError, TypeError, ValueError, AttributeError):
        return None, []
    return device, known


def _remember_device(resp, device: str | None, known: list[int], user_id: int):  # noqa: ANN001, ANN202
    ids = [user_id] + [u for u in known if u != user_id][: DEVICE_MAX_ACCOUNTS - 1]
    value = _device_serializer().dumps({"d": device or secrets.token_hex(16), "u": ids})
    resp.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=DEVICE_COOKIE_DAYS * 86400,
        httponly=True,
        samesite="Lax",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        path="/",
    )
    return resp


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    choices: list[tuple[str, str]] = []
    if form.validate_on_submit():
        device, known = read_device()
        ticket = signin.Ticket.load(session.pop(LINE_TICKET)) if LINE_TICKET in session else None
        try:
            user = signin.authenticate(
                form.login.data,
                form.password.data,
                _address(),
                policy=signin.Policy.from_config(current_app.config),
                enterprise_code=form.enterprise.data or None,
                device=device,
                known=known,
                ticket=ticket,
            )
        except signin.SignInBusy as exc:
            # Too many sign-ins at this moment: a page that says when to come back (never a 500), the number in
            # the line kept in the session, nothing charged to the account (claims given back are kept: the unit is
            # committed though the answer is 503).
            keep_on_error()
            if exc.ticket is not None:
                session[LINE_TICKET] = exc.ticket.dump()
            waits = {
                "Retry-After": str(exc.retry_after),
                LINE_WAIT_HEADER: f"{exc.wait:.2f}",
                LINE_TURN_HEADER: f"{exc.turn:.2f}",
            }
            if request.headers.get(LINE_HEADER) == "1":
                # The page's script counts down and sends the form again: it needs the seconds, not a page (in a
                # rush most answers are these, and each page rendered is CPU taken from an exam).
                return Response(status=503, headers=waits)
            flash(translate_message(exc.message), "warning")
            return _login_page(form, choices, ask_enterprise=bool(form.enterprise.data)), 503, waits
        except DomainError as exc:
            keep_on_error()  # the failed attempt counts (throttling), though the answer may be 429
            if isinstance(exc, signin.ChooseEnterprise):
                choices = exc.choices
                form.enterprise.errors = [translate_message(exc.message)]
            else:
                flash(translate_message(exc.message), "error")
            status = 429 if isinstance(exc, signin.SignInRefused) else 200
            return _login_page(form, choices, ask_enterprise=isinstance(exc, signin.ChooseEnterprise)), status
        keep_locale = session.get("locale")
        session.clear()  # a fresh session (and CSRF token): nothing from before sign-in survives
        if keep_locale:
            session["locale"] = keep_locale
        ls = services.start_session(user, address=_address(), user_agent=request.user_agent.string)
        user.login_token = ls.token
        login_user(user, remember=form.remember.data)
        if user.must_change_password:
            flash(_("Welcome! Please choose your own password before you continue."), "warning")
            resp = redirect(url_for("auth.change_password"))
        else:
            resp = redirect(_safe_next(request.args.get("next")) or url_for("core.home"))
        if request.headers.get(LINE_HEADER) == "1":  # the page's script sent the form: it goes there itself
            resp = Response(json.dumps({"location": resp.location}), mimetype="application/json")
        return _remember_device(resp, device, known, user.id)
    return _login_page(form, choices, ask_enterprise=bool(form.enterprise.data))


def _login_page(form: LoginForm, choices: list[tuple[str, str]], *, ask_enterprise: bool) -> str:
    """The sign-in page. While people wait in the line of sign-ins its form is sent by the page's script, which
    waits its turn and sends it again by itself (``in_line``); otherwise it is a plain form."""
    in_line = signin.line_waiting(signin.Policy.from_config(current_app.config))
    return render_template(
        "org/login.html", form=form, choices=choices, ask_enterprise=ask_enterprise, in_line=in_line
    )


@bp.route("/logout", methods=["POST"])
@signed_in
def logout():
    token = current_user.get_id()
    if token:
        services.end_session(token)
    logout_user()
    session.clear()
    flash(_("You are signed out."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_own_password(
                current_user, form.current.data, form.password.data, keep_token=current_user.get_id()
            )
        except DomainError as exc:
            db.session.rollback()  # nothing of a refused change is kept
            flash(_(exc.message), "error")
            return render_template("org/change_password.html", form=form)
        flash(_("Your password is changed."), "success")
        return redirect(url_for("core.home"))
    return render_template("org/change_password.html", form=form)


@bp.route("/account")
@signed_in
def account():
    return render_template("org/account.html", login_session=g.get("login_session"))


@bp.route("/language/<lang>")
@public
def set_language(lang: str):
    from flask import current_app

    if lang in current_app.config["LANGUAGES"]:
        session["locale"] = lang
        if current_user.is_authenticated and current_user.locale != lang:
            require_write()  # a GET that writes: it runs as a write unit, committed by the request wrapper
            current_user.locale = lang
    return redirect(_safe_next(request.args.get("next")) or url_for("core.home"))
