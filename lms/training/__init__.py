"""Training requirements, status per person, coverage dashboards, reminders and the regulator view."""

from flask import Blueprint

bp = Blueprint("training", __name__, template_folder="templates", url_prefix="/training")

from lms.training import learner, notifications, views  # noqa: E402,F401
