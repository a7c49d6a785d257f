"""The application factory: the only place where blueprints are wired together."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

from flask import (
    Flask,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import Babel
from flask_babel import gettext as _
from flask_login import LoginManager
from flask_wtf.csrf import CSRFError

from lms.core import jobs
from lms.core.config import load_config
from lms.core.db import READ, WRITE, Unit, WriteNeeded, db, declared_unit, kept, unit, unit_mode
from lms.core.errors import DomainError
from lms.core.i18n import compile_catalogs, select_locale, translation_dirs
from lms.core.permissions import check_request_access, has_role
from lms.core.signed import CookieSessionInterface, MethodFirstCSRFProtect


class _LoginManager(LoginManager):
    def _session_protection_failed(self) -> bool:
        # Flask-Login hashes the address and user agent of every request before it looks at the mode; ours is
        # off (our own login_session rows end sessions), so there is nothing to compare.
        if current_app.config.get("SESSION_PROTECTION", self.session_protection) not in ("basic", "strong"):
            return False
        return super()._session_protection_failed()


csrf = MethodFirstCSRFProtect()
babel = Babel()
login_manager = _LoginManager()

# Feature blueprints, in floor order; a package that is absent is skipped so features land one by one.
# The app factory is the top floor: it alone imports every package, plainly (see import_models, _blueprints and
# _listeners below), so that a reader can follow each wire and a missing module fails at start.


# Sent with every answer unless the view set its own (lower-case name, name, value).
SECURITY_HEADERS = tuple(
    (name.lower(), name, value)
    for name, value in (
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "SAMEORIGIN"),
        ("Referrer-Policy", "same-origin"),
        (
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self' "
            "'unsafe-inline'; script-src 'self'; object-src 'none'; frame-ancestors 'self'; base-uri 'self'; "
            "form-action 'self'",
        ),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    )
)

# Requests of these methods only read unless their view says otherwise (``lms.core.db.writes``).
READ_METHODS = ("GET", "HEAD", "OPTIONS")


class App(Flask):
    """Flask, with each request run as one unit of work (``lms.core.db``).

    A GET/HEAD/OPTIONS request is a read unit unless its view is marked ``@writes``; any other method is a
    write unit. A read unit that must write (``WriteNeeded``: a first open of a lesson, a status cache or trend
    to bring up to date) is rolled back and the request runs again, once, as a write unit: that happens before
    anything was sent, so the person sees one answer and never "database is locked".

    A write unit ends here with its one commit: when it answers below 400 (a page, a redirect after a POST), or
    whatever it answers when the view kept its writes (``lms.core.db.keep_on_error``: a failed sign-in counted
    before a 401/429 page); anything else is rolled back, and so is any exception (before an error handler
    answers it, unless kept). Views and services do not commit. A read unit never commits.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._sync_of: dict[Any, Any] = {}
        super().__init__(*args, **kwargs)

    def full_dispatch_request(self) -> Any:
        rule = request.url_rule
        view = self.view_functions.get(rule.endpoint) if rule is not None else None
        reading = request.method in READ_METHODS
        mode = declared_unit(view) or (READ if reading else WRITE)
        if mode == WRITE or rule is None or rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            with unit(mode) as state:
                return self._end_unit(self._run_unit(), state)
        flashes = list(session.get("_flashes", ()))  # a second run must not flash twice
        if db.session().in_transaction():
            # Only where one app context outlives its requests (tests, a shell): what the caller left pending is
            # theirs, not this unit's, so the rollback of a second run must not take it away.
            db.session.commit()
        with unit(READ) as state:
            try:
                response = super().full_dispatch_request()
            except Exception as exc:
                if not (state.refused or isinstance(exc, WriteNeeded)):
                    raise
                state.refused = True  # (a view that caught the refusal failed on the rolled-back session)
            if not state.refused:
                return response
        logging.getLogger(__name__).info(
            "%s %s writes: it runs again as a write unit", request.method, request.path
        )
        db.session.rollback()
        if flashes:
            session["_flashes"] = flashes
        elif "_flashes" in session:
            session.pop("_flashes")
        with unit(WRITE) as state:
            return self._end_unit(self._run_unit(), state)

    def ensure_sync(self, func: Any) -> Any:
        """Flask asks, for every hook and view of every request, whether it is a coroutine function (an
        ``inspect`` walk each time); the answer never changes for a function, so it is kept."""
        known = self._sync_of.get(func)
        if known is None:
            known = super().ensure_sync(func)
            if len(self._sync_of) < 10_000:  # (hooks and views: a few hundred; a bound, not a cache policy)
                self._sync_of[func] = known
        return known

    def _run_unit(self) -> Any:
        try:
            return super().full_dispatch_request()
        except BaseException:  # nobody answered it: Flask answers 500 after the unit
            db.session.rollback()
            raise

    def handle_user_exception(self, e: Exception) -> Any:
        """An exception of the view (or an ``abort``) rolls its unit back before its handler answers it."""
        _roll_back_unless_kept(e)
        return super().handle_user_exception(e)

    def _end_unit(self, response: Any, state: Unit) -> Any:
        """The one commit of a write unit (see the class): below 400 or kept, else a rollback."""
        if state.mode != WRITE or not db.session().in_transaction():
            return response
        if response is None or not (response.status_code < 400 or state.keep):
            db.session.rollback()
            return response
        try:
            db.session.commit()
        except Exception as exc:  # refused at the commit (a unique row raced for): answered like in a view
            db.session.rollback()
            return self.finalize_request(self.handle_user_exception(exc), from_error_handler=True)
        return response


def _roll_back_unless_kept(exc: BaseException | None = None) -> None:
    """After an error, undo the unit's writes, unless the view kept them (``keep_on_error``) and the error is
    not the database's own (then the transaction is dead anyway)."""
    from sqlalchemy.exc import SQLAlchemyError

    if kept() and not isinstance(exc, SQLAlchemyError):
        return
    db.session.rollback()


def import_models() -> None:
    """Import every model module so that ``Base.metadata`` is complete (also used by Alembic)."""
    import certificates.models  # noqa: F401
    import courses.models  # noqa: F401
    import lms.api.models  # noqa: F401
    import lms.core.jobs  # noqa: F401
    import lms.core.storage  # noqa: F401
    import lms.culture.models  # noqa: F401
    import lms.hazards.models  # noqa: F401
    import lms.ledger.models  # noqa: F401
    import lms.offline.models  # noqa: F401
    import lms.org.models  # noqa: F401
    import lms.oversight.models  # noqa: F401
    import lms.permits.models  # noqa: F401
    import lms.training.models  # noqa: F401
    import quizzes.models  # noqa: F401


def _listeners() -> None:
    """Modules that connect to signals and session events when imported: the ledger's and org's domain events
    (each captures its own tables), and the subscribers of courses, certificates and training."""
    import certificates.listeners  # noqa: F401
    import courses.listeners  # noqa: F401
    import lms.ledger.events  # noqa: F401
    import lms.org.events  # noqa: F401
    import lms.training.listeners  # noqa: F401


def _blueprints() -> list[Any]:
    """Every blueprint, in the order its routes are matched."""
    import certificates
    import courses
    import lms.api
    import lms.culture
    import lms.hazards
    import lms.ledger.views
    import lms.offline
    import lms.org.auth
    import lms.org.people_search
    import lms.org.views
    import lms.oversight
    import lms.permits
    import lms.training
    import quizzes
    from lms.core import views as core_views

    return [
        lms.org.auth.bp,
        lms.org.views.bp,
        lms.org.people_search.bp,
        lms.ledger.views.bp,
        core_views.bp,
        courses.bp,
        quizzes.bp,
        lms.offline.bp,
        lms.training.bp,
        certificates.bp,
        lms.culture.bp,
        lms.hazards.bp,
        lms.permits.bp,
        lms.oversight.bp,
        lms.api.bp,
    ]


def create_app(config_overrides: dict[str, Any] | None = None) -> Flask:
    """Create the Flask application."""
    app = App(
        "lms",
        static_folder="static",
        template_folder="templates",
        root_path=str(Path(__file__).parent),
    )
    app.config.update(load_config(config_overrides))
    app.session_interface = CookieSessionInterface()
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(translation_dirs())
    logging.basicConfig(level=logging.INFO)
    import_models()
    db.init_app(app)
    try:
        compile_catalogs()
    except OSError:  # a read-only install: the catalogues were compiled at build time
        pass
    from lms.org.timezone import select_timezone

    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    from lms.core.i18n import install_package_domain

    install_package_domain(app)
    csrf.init_app(app)
    from lms.core import storage

    storage.init_app(app)  # upload routes may check a file's first bytes before taking the rest
    _init_login(app)
    _register_blueprints(app)
    from lms.core import static

    static.init_app(app)  # content-hashed static URLs, cached for a year (after every blueprint's static)
    _listeners()
    _init_hooks(app)
    _init_errors(app)
    jobs.set_app(app)
    from lms.commands import register_cli

    register_cli(app)
    return app


def _init_login(app: Flask) -> None:

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = None  # our own login_session rows end sessions

    @login_manager.user_loader
    def _load(token: str) -> Any:
        user = _read_session_user(token)
        if user is not None:
            user.login_token = token
        return user


@functools.cache
def _session_user_stmt() -> Any:
    """The user of a live login session: one statement on the token's unique index, built once (every
    signed-in request runs it). Only the user is loaded: nothing reads the login-session row afterwards."""
    from sqlalchemy import bindparam, select

    from lms.org.models import LoginSession, User

    return (
        select(User)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            LoginSession.token == bindparam("token"),
            LoginSession.revoked_at.is_(None),
            User.is_enabled.is_(True),
        )
    )


def _read_session_user(token: str) -> Any:
    """The signed-in user of this request, read outside the SQLite write lock.

    On SQLite a write unit begins its transactions with the database's write lock (BEGIN IMMEDIATE, see
    lms.core.db), and the first statement of every request is this one. Read in a read unit of its own, ended
    at once, the user costs no time under the lock: writers hold it only for their own statements, and a POST
    that writes nothing never takes it. (PostgreSQL has no such lock; there it would only add a round trip.)
    """
    if not (db.is_sqlite and unit_mode() == WRITE) or db.session().in_transaction():
        return db.session.execute(_session_user_stmt(), {"token": token}).scalar()
    with unit(READ):
        user = db.session.execute(_session_user_stmt(), {"token": token}).scalar()
        db.session.commit()
    return user


def _register_blueprints(app: Flask) -> None:
    for bp in _blueprints():
        app.register_blueprint(bp)


def _init_hooks(app: Flask) -> None:
    @app.before_request
    def _fresh() -> None:
        # Load the user afresh for every request even where an app context outlives it (tests, CLI).
        g.pop("_login_user", None)
        g.pop("_lms_translations", None)  # the catalogue is resolved once per request (lms.core.i18n)
        g.pop("_lms_translations_last", None)
        # An id beyond any column's range names nothing: 404 rather than an overflow deep in the driver.
        for value in (request.view_args or {}).values():
            if isinstance(value, int) and not -(2**31) < value < 2**31:
                abort(404)
        from flask_babel import refresh

        refresh()

    app.before_request(check_request_access)

    @app.after_request
    def _headers(resp: Any) -> Any:
        # Each header unless the view set its own (any case), as ``setdefault`` would, in one pass over the list.
        h = resp.headers
        present = {k.lower() for k, _v in h}
        missing = [(k, v) for lower, k, v in SECURITY_HEADERS if lower not in present]
        if "cache-control" not in present and resp.mimetype == "text/html":
            missing.append(("Cache-Control", "no-store"))
        if missing:
            h.extend(missing)
        return resp

    @app.context_processor
    def _ctx() -> dict[str, Any]:
        from lms.core.nav import navigation

        return {"has_role": has_role, "nav_items": navigation(), "languages": app.config["LANGUAGES"]}

    from lms.core.templating import register_filters

    register_filters(app)


def _init_errors(app: Flask) -> None:
    messages = {
        400: (
            lambda: _("Bad request"),
            lambda: _("The request could not be understood. Go back and try again."),
        ),
        401: (lambda: _("Sign-in required"), lambda: _("Please sign in to continue.")),
        403: (
            lambda: _("Not allowed"),
            lambda: _(
                "Your account may not open this page. If you think it should, ask your safety manager."
            ),
        ),
        404: (
            lambda: _("Not found"),
            lambda: _("This page or item does not exist, or it is not yours to see."),
        ),
        405: (lambda: _("Not allowed"), lambda: _("This action cannot be done this way.")),
        409: (
            lambda: _("Conflict"),
            lambda: _("Someone changed this in the meantime. Reload the page and try again."),
        ),
        413: (
            lambda: _("File too large"),
            lambda: _(
                "The file is larger than the limit of %(mb)s MB. Compress it or split it and try again.",
                mb=app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024),
            ),
        ),
        429: (
            lambda: _("Too many requests"),
            lambda: _("Too many attempts. Wait a few minutes and try again."),
        ),
        500: (
            lambda: _("Something went wrong"),
            lambda: _(
                "The server failed to complete the request. Nothing was saved. Try again; if it keeps failing, tell your administrator."
            ),
        ),
    }

    def render_error(code: int, detail: str | None = None) -> Any:
        if code >= 500:
            db.session.rollback()
        else:
            _roll_back_unless_kept()  # (a view's exception was rolled back already: App.handle_user_exception)
        title, text = messages.get(code, messages[500])
        if _wants_json():
            return jsonify({"error": title(), "message": detail or text()}), code
        return render_template("error.html", code=code, title=title(), text=detail or text()), code

    for code in messages:
        app.register_error_handler(code, lambda e, c=code: render_error(c))

    @app.errorhandler(CSRFError)
    def _csrf(e: CSRFError) -> Any:
        return render_error(
            400, _("The form expired or was sent from elsewhere. Reload the page and submit again.")
        )

    from sqlalchemy.exc import IntegrityError

    @app.errorhandler(IntegrityError)
    def _integrity(e: IntegrityError) -> Any:
        # Two requests raced for the same unique row (the database refused the second): nothing was saved.
        logging.getLogger(__name__).warning("integrity conflict on %s: %s", request.path, e.orig)
        return render_error(409)

    @app.errorhandler(DomainError)
    def _domain(e: DomainError) -> Any:
        _roll_back_unless_kept(e)
        from lms.core.i18n import translate_message

        if _wants_json():
            return render_error(e.status_code, translate_message(e.message))
        if request.method == "GET":
            return render_error(e.status_code, translate_message(e.message))
        flash(translate_message(e.message), "error")  # a msg() in the reader's language
        return redirect(request.referrer or url_for("core.home"))


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json" and not request.accept_mimetypes.accept_html
    )
