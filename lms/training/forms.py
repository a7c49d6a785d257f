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
        _l("What must people do?"),
        choices=[
            ("hours", _l("Attend enough hours of training")),
            ("course", _l("Complete a course")),
            ("certificate", _l("Hold a valid certificate (e.g. a special-operations permit)")),
            ("three_level", _l("Three-level safety education")),
        ],
    )
    applies_to = SelectField(
        _l("Who must do it?"),
        choices=[
            ("everyone", _l("Everyone in the enterprise")),
            ("role", _l("People with a responsibility role")),
            ("post", _l("People in a post")),
            ("department", _l("People in a department (with its teams)")),
        ],
    )
    role_id = SelectField(_l("Which role"), coerce=_int_or_none, validators=[Optional()])
    post_id = SelectField(_l("Which post"), coerce=_int_or_none, validators=[Optional()])
    department_id = SelectField(_l("Which department"), coerce=_int_or_none, validators=[Optional()])
    course_id = SelectField(_l("Which course"), coerce=_int_or_none, validators=[Optional()])
    hours_required = DecimalField(
        _l("How many credit hours"), places=1, validators=[Optional(), NumberRange(min=0)]
    )
    categories = StringField(
        _l("Count only training of these kinds (comma-separated; empty: any training)"),
        validators=[Optional(), Length(max=500)],
    )
    certificate_category = StringField(
        _l("Kind of certificate (e.g. electrician)"), validators=[Optional(), Length(max=100)]
    )
    certificate_topic = StringField(
        _l("Or: certificate name contains"), validators=[Optional(), Length(max=300)]
    )
    recurrence = SelectField(
        _l("How often"),
        choices=[
            ("once", _l("Once")),
            ("rolling", _l("Again some months after each completion")),
            ("calendar_year", _l("Every year (within the calendar year)")),
        ],
    )
    recurrence_months = IntegerField(
        _l("Valid for how many months"), validators=[Optional(), NumberRange(min=1, max=240)]
    )
    initial_days = IntegerField(
        _l("Days allowed after joining or changing post"),
        default=30,
        validators=[Optional(), NumberRange(min=0)],
    )
    grace_days = IntegerField(
        _l("Extra days before it counts as overdue"), default=0, validators=[Optional(), NumberRange(min=0)]
    )
    reminder_days = IntegerField(
        _l("Remind people this many days before it is due"),
        default=30,
        validators=[Optional(), NumberRange(min=0)],
    )
    tracked_from = DateField(
        _l("Leave out people who became subject before (optional)"), validators=[Optional()]
    )
    active = BooleanField(_l("Active"), default=True)
    issue_certificate = BooleanField(_l("Issue a certificate to each person who fulfils it"), default=False)
    pre_job = BooleanField(
        _l("Pre-job training: only training before the start counts (grace days show as in grace)"),
        default=False,
    )


class ExemptionForm(FlaskForm):
    person = StringField(_l("Employee number"), validators=[DataRequired(), Length(max=64)])
    requirement_id = SelectField(_l("Requirement"), coerce=int)
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    valid_from = DateField(_l("From"), validators=[Optional()])
    valid_until = DateField(_l("Until (optional)"), validators=[Optional()])
