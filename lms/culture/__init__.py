"""Safety culture: indicator frameworks, evaluation campaigns (安全示范岗), safety notices with acknowledgement."""

from flask import Blueprint

bp = Blueprint("culture", __name__, template_folder="templates", url_prefix="/culture")

from lms.culture import notify, views  # noqa: E402, F401
