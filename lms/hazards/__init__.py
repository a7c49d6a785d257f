"""Hazard reports by everyone (隐患随手拍) and their rectification, verification and closure."""

from flask import Blueprint

bp = Blueprint(
    "hazards",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
    url_prefix="/hazards",
)

from lms.hazards import views  # noqa: E402,F401
