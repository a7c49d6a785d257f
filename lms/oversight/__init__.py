"""The regulator's risk ranking (系统研判企业风险系数) and listed supervision (挂牌督查)."""

from flask import Blueprint

bp = Blueprint("oversight", __name__, template_folder="templates", url_prefix="/oversight")

from lms.oversight import views  # noqa: E402,F401
