"""Question banks, exams, attempts and grading (题库与考试)."""

from flask import Blueprint

bp = Blueprint(
    "quizzes", __name__, template_folder="templates", static_folder="static", url_prefix="/quizzes"
)

from quizzes import views  # noqa: E402, F401
