"""Certificates: issued on completion, rendered to PDF with a QR code, verified publicly, expired, revoked."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("certificates", __name__, template_folder="templates", url_prefix="/certificates")

from certificates import views  # noqa: E402,F401
