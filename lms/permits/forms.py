"""Forms of the permit pages (format only; rules live in services)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from lms.permits.models import NEED_INTERNAL, NEED_REQUIREMENT, NEED_SPECIAL_EQUIPMENT, NEED_SPECIAL_OPS

NEED_LABELS = {
    NEED_REQUIREMENT: _l("Training requirement, compliant on the day"),
    NEED_SPECIAL_OPS: _l("Special-operations certificate of a category"),
    NEED_SPECIAL_EQUIPMENT: _l("Special-equipment operator certificate"),
    NEED_INTERNAL: _l("Internal certificate (issued here)"),
}


class PermitForm(FlaskForm):
    """Save a check as a permit: the window is typed in the enterprise's local time."""

    place = StringField(_l("Place of the work"), validators=[DataRequired(), Length(max=200)])
    starts_at = DateTimeLocalField(_l("Starts at"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("Ends at"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


class WorkForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=60)])
    roles = StringField(
        _l("Roles a permit names (separated by 、 or commas)"), validators=[DataRequired(), Length(max=300)]
    )
    citation = TextAreaField(_l("Citation"), validators=[Optional(), Length(max=4000)])
    active = BooleanField(_l("In use"))


class NeedForm(FlaskForm):
    role = SelectField(_l("Role"), choices=[], validators=[Optional()])
    kind = SelectField(_l("What is needed"), choices=list(NEED_LABELS.items()))
    requirement_id = SelectField(_l("Requirement"), choices=[], validators=[Optional()])
    match = StringField(
        _l("Certificate: its operation or title contains"), validators=[Optional(), Length(max=200)]
    )
