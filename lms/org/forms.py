"""Forms of the organisation pages (format only; rules live in services)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional


class LoginForm(FlaskForm):
    login = StringField(
        _l("User name, employee number or phone"), validators=[DataRequired(), Length(max=64)]
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Remember me on this device"))
    # Only needed when a 工号 or phone number is used in several enterprises (lms.org.signin).
    enterprise = StringField(_l("Enterprise code"), validators=[Optional(), Length(max=32)])


class ClearLockForm(FlaskForm):
    """A manager clears an account's sign-in lock (CSRF only)."""


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=8, max=200)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class RosterUploadForm(FlaskForm):
    file = FileField(_l("Roster file (xlsx, xls or csv)"), validators=[FileRequired()])


class EnterpriseForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    name = StringField(lazy_pgettext("thing", "Name"), validators=[DataRequired(), Length(max=200)])
    industry = StringField(_l("Industry"), validators=[Optional(), Length(max=100)])
    high_risk = BooleanField(_l("High-risk industry (higher statutory hours)"))
    password_policy = SelectField(
        _l("First passwords"),
        choices=[("random", _l("Random, printed once")), ("phone6", _l("Last six digits of the phone"))],
    )
    # Every time its people read or type is in this zone; choices are filled by the view.
    time_zone = SelectField(_l("Time zone"), validators=[Optional()], validate_choice=False)


class PersonForm(FlaskForm):
    employee_no = StringField(_l("Employee number"), validators=[DataRequired(), Length(max=64)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32)])
    hire_date = DateField(_l("Hire date"), validators=[Optional()])
    department = StringField(
        _l("Department (path such as 一车间/甲班)"), validators=[Optional(), Length(max=500)]
    )
    post = StringField(_l("Post"), validators=[Optional(), Length(max=100)])
    roles = SelectMultipleField(_l("Responsibility roles"), coerce=int, validators=[Optional()])
    app_role = SelectField(
        _l("Account role"),
        choices=[
            ("learner", _l("Learner")),
            ("trainer", _l("Trainer")),
            ("manager", _l("Manager")),
            ("evaluator", _l("Evaluator")),
        ],
    )
    status = SelectField(_l("Status"), choices=[("active", _l("Active")), ("left", _l("Left"))])
    # 离岗 / 返岗: away from the post while employed; back after more than a year repeats workshop and team education.
    away_from = DateField(_l("Leave from"), validators=[Optional()])
    returned_on = DateField(_l("Back on"), validators=[Optional()])
