"""Forms of the offline pages (format only; rules live in services)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

LEVEL_CHOICES = [
    ("company", _l("Company level (厂级)")),
    ("workshop", _l("Workshop level (车间级)")),
    ("team", _l("Team level (班组级)")),
    ("other", _l("Other")),
]


class SessionForm(FlaskForm):
    topic = StringField(_l("Topic"), validators=[DataRequired(), Length(max=300)])
    category = StringField(_l("Category"), validators=[Optional(), Length(max=100)])
    level = SelectField(_l("Level"), choices=LEVEL_CHOICES, default="other")
    course_id = IntegerField(_l("Course number (optional)"), validators=[Optional(), NumberRange(min=1)])
    course_title = StringField(_l("Course title (optional)"), validators=[Optional(), Length(max=300)])
    instructor = StringField(_l("Instructor"), validators=[Optional(), Length(max=100)])
    starts_at = DateTimeLocalField(_l("Starts at"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("Ends at"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    location = StringField(_l("Location"), validators=[Optional(), Length(max=200)])
    hours = DecimalField(
        _l("Credit hours"), places=1, validators=[DataRequired(), NumberRange(min=0, max=1000)]
    )
    capacity = IntegerField(_l("Capacity"), validators=[Optional(), NumberRange(min=0, max=100000)])
    departments = SelectMultipleField(_l("Target departments"), coerce=int, validators=[Optional()])
    posts = SelectMultipleField(_l("Target posts"), coerce=int, validators=[Optional()])
    roles = SelectMultipleField(_l("Target responsibility roles"), coerce=int, validators=[Optional()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])
    reason = StringField(_l("Reason for changing a locked session"), validators=[Optional(), Length(max=500)])


class UploadForm(FlaskForm):
    file = FileField(_l("Sign-in sheet (xlsx, xls or csv)"), validators=[FileRequired()])


class EvidenceForm(FlaskForm):
    file = FileField(_l("Scan or photo of the signed sheet (image or PDF)"), validators=[FileRequired()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)])
    reason = StringField(_l("Reason (locked session)"), validators=[Optional(), Length(max=500)])
