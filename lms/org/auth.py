"""Sign-in, sign-out, password change and language choice."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from lms.core.db import db
from lms.core.errors import DomainError
from lms.core.permissions import public, signed_in
from lms.org import services
from lms.org.forms import ChangePasswordForm, LoginForm

bp = Blueprint("auth", __name__, template_folder="templates")


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _address() -> str:
    return request.remote_addr or "unknown"


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    if form.validate_on_submit():
        from flask import current_app

        try:
            user = services.authenticate(
                form.login.data, form.password.data, _address(),
                max_account=current_app.config["LOGIN_MAX_FAILURES_ACCOUNT"],
                max_address=current_app.config["LOGIN_MAX_FAILURES_ADDRESS"],
            )
        except DomainError as exc:
            db.session.commit()  # keep the failed attempt for throttling
            flash(_(exc.message), "error")
            return render_template("org/login.html", form=form), 200
        keep_locale = session.get("locale")
        session.clear()  # a fresh session (and CSRF token): nothing from before sign-in survives
        if keep_locale:
            session["locale"] = keep_locale
        ls = services.start_session(user, address=_address(), user_agent=request.user_agent.string)
        user.login_token = ls.token
        login_user(user, remember=form.remember.data)
        db.session.commit()
        if user.must_change_password:
            flash(_("Welcome! Please choose your own password before you continue."), "warning")
            return redirect(url_for("auth.change_password"))
        return redirect(_safe_next(request.args.get("next")) or url_for("core.home"))
    return render_template("org/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@signed_in
def logout():
    token = current_user.get_id()
    if token:
        services.end_session(token)
    db.session.commit()
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
            services.change_own_password(current_user, form.current.data, form.password.data,
                                         keep_token=current_user.get_id())
        except DomainError as exc:
            flash(_(exc.message), "error")
            return render_template("org/change_password.html", form=form)
        db.session.commit()
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
        if current_user.is_authenticated:
            current_user.locale = lang
            db.session.commit()
    return redirect(_safe_next(request.args.get("next")) or url_for("core.home"))
