"""Forms of the culture pages (format only; the rules live in services)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class FrameworkForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(
        _l("Kind"),
        choices=[("post", _l("Demonstration-post scorecard")), ("culture", _l("Enterprise safety culture"))],
    )
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])


class FrameworkSettingsForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
    award_threshold = DecimalField(
        _l("Demonstration-post threshold (points)"),
        places=2,
        validators=[DataRequired(), NumberRange(min=0, max=1000)],
    )
    bands = TextAreaField(_l("Level bands (one per line: minimum score, label)"), validators=[DataRequired()])


class IndicatorForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    code = StringField(_l("Code"), validators=[Optional(), Length(max=20)])
    parent_id = SelectField(_l("Under"), coerce=int, choices=[])
    kind = SelectField(
        _l("Kind"),
        choices=[
            ("manual", _l("Manual score")),
            ("automatic", _l("Automatic")),
            ("group", _l("Group")),
            ("deduction", _l("Deduction")),
            ("veto", _l("Veto (一票否决)")),
        ],
    )
    weight = DecimalField(
        _l("Weight (percent of the level)"), places=2, validators=[Optional(), NumberRange(min=0, max=100)]
    )
    layer = SelectField(_l("Culture layer"), choices=[])
    metric = SelectField(_l("Measured from the LMS"), choices=[])
    mapping_type = SelectField(
        _l("Value to points"),
        choices=[("linear", _l("Linear between two thresholds")), ("bands", _l("Bands"))],
    )
    zero = DecimalField(_l("No points at"), places=4, validators=[Optional()])
    full = DecimalField(_l("Full points at"), places=4, validators=[Optional()])
    bands = StringField(
        _l("Bands (threshold:percent, comma separated)"), validators=[Optional(), Length(max=300)]
    )
    lower_is_better = BooleanField(_l("Lower values are better"))
    scale_max = DecimalField(
        _l("Scale (maximum score)"), places=2, validators=[Optional(), NumberRange(min=0)]
    )
    points_per = DecimalField(
        _l("Points off per occurrence"), places=2, validators=[Optional(), NumberRange(min=0)]
    )
    cap = DecimalField(_l("At most (points)"), places=2, validators=[Optional(), NumberRange(min=0)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])


class CampaignForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    framework_id = SelectField(_l("Framework"), coerce=int, choices=[])
    period_kind = SelectField(_l("Period"), choices=[("quarter", _l("Quarter")), ("year", _l("Year"))])
    year = IntegerField(_l("Year"), validators=[DataRequired(), NumberRange(min=2000, max=2100)])
    quarter = SelectField(_l("Quarter"), coerce=int, choices=[(1, "Q1"), (2, "Q2"), (3, "Q3"), (4, "Q4")])
    unit_kind = SelectField(
        _l("Units evaluated"),
        choices=[
            ("department_post", _l("Posts within departments")),
            ("department", _l("Departments or teams")),
            ("post", _l("Posts")),
        ],
    )
    evaluators = SelectMultipleField(_l("Evaluators"), coerce=int, choices=[])
    award_threshold = DecimalField(
        _l("Demonstration-post threshold (points)"),
        places=2,
        validators=[Optional(), NumberRange(min=0, max=1000)],
    )


class NoticeForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    body = TextAreaField(_l("Text (Markdown)"), validators=[Optional(), Length(max=50000)])
    audience_all = BooleanField(_l("Everyone in the enterprise"))
    departments = SelectMultipleField(_l("Departments"), coerce=int, choices=[])
    posts = SelectMultipleField(_l("Posts"), coerce=int, choices=[])
    roles = SelectMultipleField(_l("Responsibility roles"), coerce=int, choices=[])
    files = MultipleFileField(_l("Attachments (images or PDF)"))


class PublicityForm(FlaskForm):
    held_on = DateField(_l("Date"), validators=[DataRequired()])
    place = StringField(_l("Place"), validators=[DataRequired(), Length(max=200)])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])
    photo = FileField(_l("Photo of the board (image or PDF)"))
