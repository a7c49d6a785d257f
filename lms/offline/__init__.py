"""Offline classroom sessions and attendance by sign-in sheet upload."""

from flask import Blueprint

bp = Blueprint(
    "offline", __name__, template_folder="templates", static_folder="static", url_prefix="/offline"
)

from lms.offline import checkin_views, views  # noqa: E402,F401
