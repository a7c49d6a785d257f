"""Qualification for hazardous work (特殊作业, GB 30871-2022): presets, the check page, the permit register."""

from flask import Blueprint

# No url_prefix: the pages live under /permits and the signed-in JSON check under /api/qualification.
bp = Blueprint(
    "permits",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/permits/static",
)

from lms.permits import metrics, views  # noqa: E402, F401
