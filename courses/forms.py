"""Course forms (format only; the rules live in services)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    FloatField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

LESSON_KIND_CHOICES = [
    ("video", _l("Video")),
    ("document", _l("Document (PDF)")),
    ("text", _l("Text (Markdown)")),
    ("exam", _l("Exam")),
    ("link", _l("External link")),
]


class CourseForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    category = SelectField(_l("Category"), choices=[], validate_choice=False)
    hours = DecimalField(
        _l("Credit hours (学时)"), places=1, validators=[DataRequired(), NumberRange(min=0, max=500)]
    )
    cover = FileField(_l("Cover image"))
    self_enrol = BooleanField(_l("Learners may enrol themselves"))
    forward_seek_allowed = BooleanField(_l("Allow skipping ahead in videos"))
    max_playback_rate = FloatField(
        _l("Maximum playback speed"), validators=[DataRequired(), NumberRange(min=0.5, max=4)]
    )
    completion_threshold = IntegerField(
        _l("Share of a video to watch (%)"), validators=[DataRequired(), NumberRange(min=10, max=100)]
    )
    min_reading_seconds = IntegerField(
        _l("Minimum reading time of a document (seconds)"),
        validators=[Optional(), NumberRange(min=0, max=7200)],
    )
    issue_certificate = BooleanField(_l("Issue a certificate on completion"))
    shared = BooleanField(_l("Shared platform library (every enterprise may use it)"))


class LessonForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=LESSON_KIND_CHOICES)
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    required = BooleanField(_l("Required"), default=True)
    body_markdown = TextAreaField(_l("Text (Markdown)"), validators=[Optional(), Length(max=100_000)])
    url = StringField(_l("Web address"), validators=[Optional(), Length(max=1000)])
    exam_id = SelectField(_l("Exam"), choices=[], coerce=str, validate_choice=False)
    document = FileField(_l("Document (PDF)"))


class EnrolForm(FlaskForm):
    departments = SelectMultipleField(
        _l("Departments (with the teams below them)"), choices=[], coerce=int, validate_choice=False
    )
    posts = SelectMultipleField(_l("Posts"), choices=[], coerce=int, validate_choice=False)
    roles = SelectMultipleField(_l("Responsibility roles"), choices=[], coerce=int, validate_choice=False)
    due_on = DateField(_l("Due date"), validators=[Optional()])
