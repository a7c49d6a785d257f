"""Forms of the training pages (format only; rules live in services)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional


def _int_or_none(value: object) -> int | None:
    return int(value) if value not in (None, "", "None") else None


class RequirementForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(
        _l("Description (cite the regulation)"), validators=[Optional(), Length(max=4000)]
    )
    kind = SelectField(
        _l("Asks for"),
        choices=[
            ("hours", _l("Hours of training")),
            ("course", _l("A course completed")),
            ("certificate", _l("A valid external certificate")),
            ("three_level", _l("Three-level education")),
        ],
    )
    applies_to = SelectField(
        _l("Applies to"),
        choices=[
            ("everyone", _l("Everyone")),
            ("role", _l("A responsibility role")),
            ("post", _l("A post")),
            ("department", _l("A department and its sub-departments")),
        ],
    )
    role_id = SelectField(_l("Role"), coerce=_int_or_none, validators=[Optional()])
    post_id = SelectField(_l("Post"), coerce=_int_or_none, validators=[Optional()])
    department_id = SelectField(_l("Department"), coerce=_int_or_none, validators=[Optional()])
    course_id = SelectField(_l("Course"), coerce=_int_or_none, validators=[Optional()])
    hours_required = DecimalField(_l("Hours required"), places=1, validators=[Optional(), NumberRange(min=0)])
    categories = StringField(
        _l("Categories counted (comma-separated; empty: any)"), validators=[Optional(), Length(max=500)]
    )
    certificate_category = StringField(_l("Certificate category"), validators=[Optional(), Length(max=100)])
    certificate_topic = StringField(
        _l("Certificate title contains"), validators=[Optional(), Length(max=300)]
    )
    recurrence = SelectField(
        _l("Recurrence"),
        choices=[
            ("once", _l("Once")),
            ("rolling", _l("Every M months after completion")),
            ("calendar_year", _l("Every calendar year")),
        ],
    )
    recurrence_months = IntegerField(
        _l("Months valid (rolling)"), validators=[Optional(), NumberRange(min=1, max=240)]
    )
    initial_days = IntegerField(
        _l("Due within days of becoming subject"), default=30, validators=[Optional(), NumberRange(min=0)]
    )
    grace_days = IntegerField(_l("Grace days"), default=0, validators=[Optional(), NumberRange(min=0)])
    reminder_days = IntegerField(
        _l("Remind days before"), default=30, validators=[Optional(), NumberRange(min=0)]
    )
    tracked_from = DateField(_l("Track people subject from (optional)"), validators=[Optional()])
    active = BooleanField(_l("Active"), default=True)
    issue_certificate = BooleanField(_l("Issue a certificate to each person who fulfils it"), default=False)
    pre_job = BooleanField(
        _l("Pre-job training: only training before the start counts (grace days show as in grace)"), default=False
    )


class ExemptionForm(FlaskForm):
    person = StringField(_l("Employee number"), validators=[DataRequired(), Length(max=64)])
    requirement_id = SelectField(_l("Requirement"), coerce=int)
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    valid_from = DateField(_l("From"), validators=[Optional()])
    valid_until = DateField(_l("Until (optional)"), validators=[Optional()])
