"""The JSON API (/api/v1/) for other systems, described by OpenAPI 3.1, and the pages that manage its keys."""

from flask import Blueprint

bp = Blueprint("api", __name__, template_folder="templates")


@bp.record_once
def _exempt_from_csrf(state) -> None:  # type: ignore[no-untyped-def]
    # The JSON API authenticates every call by its key, never by a cookie: no cross-site request can use it.
    # Only its views are exempt; the key pages of this blueprint keep their CSRF tokens.
    csrf = state.app.extensions.get("csrf")
    if csrf is not None:
        from lms.api.core import API_VIEWS

        for view in API_VIEWS:
            csrf.exempt(view)


from lms.api import pages, v1  # noqa: E402,F401
