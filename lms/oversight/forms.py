"""Forms of the oversight pages (format only; the rules live in services)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, TextAreaField
from wtforms.validators import DataRequired, Length

from lms.oversight.services import MAX_REASON


class ListingForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for the listing"),
        validators=[DataRequired(_l("Give the reason for the listing.")), Length(max=MAX_REASON)],
    )
    deadline = DateTimeLocalField(
        _l("Deadline (the enterprise's local time)"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        validators=[DataRequired(_l("Enter the deadline as a date and time."))],
    )


class LiftForm(FlaskForm):
    note = TextAreaField(
        _l("Why it is lifted"),
        validators=[DataRequired(_l("Say why the listing is lifted.")), Length(max=MAX_REASON)],
    )


class PostForm(FlaskForm):
    """A form with only its CSRF token (weights, snapshots: their fields are read by the service)."""
