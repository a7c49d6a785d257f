"""Online courses: catalogue, lessons, the video pipeline and verified progress."""

from flask import Blueprint

bp = Blueprint(
    "courses", __name__, template_folder="templates", static_folder="static", url_prefix="/courses"
)

from . import covers, views  # noqa: E402,F401
