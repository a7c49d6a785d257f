"""Forms of the certificate pages (format only; the rules live in services)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class VerifyForm(FlaskForm):
    number = StringField(_l("Certificate number"), validators=[DataRequired(), Length(max=60)])
    code = StringField(_l("Verification code"), validators=[DataRequired(), Length(max=80)])


class RevokeForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=300)])


class TemplateForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=60)])
    subtitle = StringField(_l("Subtitle"), validators=[Optional(), Length(max=100)])
    primary_color = StringField(_l("Main colour"), validators=[DataRequired(), Length(max=7)])
    accent_color = StringField(_l("Accent colour"), validators=[DataRequired(), Length(max=7)])
    wording = TextAreaField(_l("Wording"), validators=[DataRequired(), Length(max=2000)])
    issuer = StringField(
        _l("Issuer (empty: the enterprise's name)"), validators=[Optional(), Length(max=200)]
    )
    number_prefix = StringField(
        _l("Number prefix (empty: the enterprise's code)"), validators=[Optional(), Length(max=16)]
    )
    landscape = BooleanField(_l("A4 landscape"))
    logo = FileField(_l("Logo"))
    seal = FileField(_l("Seal"))
    signature = FileField(_l("Signature"))
    remove_logo = BooleanField(_l("Remove the logo"))
    remove_seal = BooleanField(_l("Remove the seal"))
    remove_signature = BooleanField(_l("Remove the signature"))


class BulkForm(FlaskForm):
    action = SelectField(
        _l("What to do"),
        choices=[
            ("issue", _l("Issue missing certificates, then download all")),
            ("render", _l("Download existing certificates (re-rendered where the template changed)")),
        ],
    )
    achievement = SelectField(_l("Course or exam"), choices=[], validators=[Optional()])
    department = SelectField(
        _l("Department (with the departments below it)"), choices=[], validators=[Optional()]
    )
    employee_nos = TextAreaField(
        _l("Employee numbers (one per line; empty: everybody in scope)"),
        validators=[Optional(), Length(max=200_000)],
    )
