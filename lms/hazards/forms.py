"""Forms of the hazard pages (format only; the rules live in services)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    MultipleFileField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from lms.hazards.models import GENERAL, MAJOR

GRADE_CHOICES = [(GENERAL, _l("General hazard")), (MAJOR, _l("Major hazard"))]
LOCAL_MINUTE = "%Y-%m-%dT%H:%M"


def _int_or_none(value: object) -> int | None:
    try:
        return int(value) if value not in (None, "", "None") else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return -1  # a forged value: refused by the choices


class ReportForm(FlaskForm):
    photos = MultipleFileField(_l("Photos"))
    area_id = SelectField(_l("Area"), coerce=_int_or_none, validate_choice=True)
    place = StringField(_l("Place"), validators=[Optional(), Length(max=200)])
    category_id = SelectField(_l("Category"), coerce=_int_or_none, validate_choice=True)
    description = TextAreaField(_l("Description"), validators=[DataRequired(), Length(max=2000)])
    anonymous = BooleanField(_l("Report anonymously"))


class AssignForm(FlaskForm):
    grade = SelectField(_l("Grade"), choices=GRADE_CHOICES, default=GENERAL)
    department_id = SelectField(_l("Responsible department"), coerce=_int_or_none, validate_choice=True)
    assignee_id = SelectField(_l("Responsible person"), coerce=_int_or_none, validate_choice=True)
    deadline = DateTimeLocalField(_l("Deadline"), format=LOCAL_MINUTE, validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


class PlanForm(FlaskForm):
    plan_measures = TextAreaField(_l("Measures"), validators=[Optional(), Length(max=2000)])
    plan_responsibility = TextAreaField(_l("Responsibility"), validators=[Optional(), Length(max=2000)])
    plan_funds = StringField(_l("Funds (yuan)"), validators=[Optional(), Length(max=20)])
    plan_time_limit = TextAreaField(
        _l("Time limit and requirements"), validators=[Optional(), Length(max=2000)]
    )
    plan_contingency = TextAreaField(_l("Contingency plan"), validators=[Optional(), Length(max=2000)])


class RectifyForm(FlaskForm):
    photos = MultipleFileField(_l("Photos of the rectification"))
    note = TextAreaField(_l("What was done"), validators=[DataRequired(), Length(max=2000)])


class VerifyForm(FlaskForm):
    outcome = HiddenField(default="pass")
    note = TextAreaField(_l("Verification note"), validators=[Optional(), Length(max=2000)])
    deadline = DateTimeLocalField(
        _l("New deadline (if not accepted)"), format=LOCAL_MINUTE, validators=[Optional()]
    )


class NoteForm(FlaskForm):
    note = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])
    deadline = DateTimeLocalField(_l("New deadline"), format=LOCAL_MINUTE, validators=[Optional()])


class SettingsForm(FlaskForm):
    allow_anonymous = BooleanField(_l("Accept anonymous reports"))
    keep_location = BooleanField(
        _l("Keep where a photo was taken (GPS in the photo), when the phone recorded it")
    )


class ChoiceForm(FlaskForm):
    kind = HiddenField()
    item_id = HiddenField()
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    active = BooleanField(_l("In use"), default=True)
