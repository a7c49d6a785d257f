"""WTForms for banks, questions, exams, rules, uploads, extensions and hand grading: format only."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

DIFFICULTY_CHOICES = [("easy", _l("Easy")), ("medium", _l("Medium")), ("hard", _l("Hard"))]
STATUS_CHOICES = [("draft", _l("Draft")), ("published", _l("Published")), ("archived", _l("Archived"))]
TYPE_CHOICES = [
    ("single_choice", _l("Single choice")),
    ("multiple_choice", _l("Multiple choice")),
    ("true_false", _l("True / false")),
    ("fill_blank", _l("Fill in the blank")),
    ("short_answer", _l("Short answer")),
    ("matching", _l("Matching")),
    ("numerical", _l("Numerical")),
]


class BankForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])
    partial_credit = BooleanField(_l("Multiple choice: partial credit when only right options are chosen"))
    practice = BooleanField(
        _l(
            "For practice: its answers may be shown in practice even while an exam that uses this bank is open"
        )
    )
    status = SelectField(_l("Status"), choices=STATUS_CHOICES, default="published")


class QuestionForm(FlaskForm):
    type = SelectField(_l("Type"), choices=TYPE_CHOICES)
    stem = TextAreaField(_l("Question"), validators=[DataRequired(), Length(max=5000)])
    options = TextAreaField(
        _l("Options (one per line, for choice questions)"), validators=[Optional(), Length(max=5000)]
    )
    answer = StringField(_l("Answer"), validators=[Optional(), Length(max=2000)])
    explanation = TextAreaField(_l("Explanation"), validators=[Optional(), Length(max=5000)])
    category = StringField(_l("Category"), validators=[Optional(), Length(max=100)])
    difficulty = SelectField(_l("Difficulty"), choices=DIFFICULTY_CHOICES, default="medium")
    points = DecimalField(
        _l("Points"), places=2, validators=[DataRequired(), NumberRange(min=0.01, max=1000)]
    )
    status = SelectField(_l("Status"), choices=STATUS_CHOICES, default="published")


class UploadForm(FlaskForm):
    file = FileField(_l("Question bank file"), validators=[FileRequired()])


class ExamForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Instructions"), validators=[Optional(), Length(max=5000)])
    mode = SelectField(_l("Mode"), choices=[("exam", _l("Exam")), ("practice", _l("Practice"))])
    # Local time of the enterprise (the view converts to and from the stored UTC).
    open_at = DateTimeLocalField(_l("Opens at"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    close_at = DateTimeLocalField(_l("Closes at"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    time_limit_minutes = IntegerField(
        _l("Time limit (minutes)"), validators=[Optional(), NumberRange(min=1, max=1440)]
    )
    attempts_allowed = IntegerField(
        _l("Attempts allowed"), validators=[Optional(), NumberRange(min=1, max=100)]
    )
    pass_mark = DecimalField(
        _l("Pass mark"), places=2, default=60, validators=[DataRequired(), NumberRange(min=0)]
    )
    pass_mark_kind = SelectField(
        _l("Pass mark is"), choices=[("percent", _l("Percent")), ("points", _l("Points"))]
    )
    counts = SelectField(
        _l("Attempt that counts"), choices=[("highest", _l("Highest")), ("last", _l("Last"))]
    )
    show_answers = SelectField(
        _l("Show answers"),
        choices=[
            ("after_submit", _l("After submitting")),
            ("after_close", _l("After the exam closes")),
            ("never", _l("Never")),
        ],
    )
    shuffle_questions = BooleanField(_l("Shuffle questions"), default=True)
    shuffle_options = BooleanField(_l("Shuffle options"), default=True)
    hours = DecimalField(
        _l("Hours credited when passed"), places=1, default=0, validators=[Optional(), NumberRange(min=0)]
    )
    category = StringField(_l("Training category"), validators=[Optional(), Length(max=100)])
    issue_certificate = BooleanField(_l("Issue a certificate when passed"))


class RuleForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=[("draw", _l("Draw at random")), ("fixed", _l("Fixed question"))])
    bank_id = SelectField(_l("Bank"), coerce=int, validators=[Optional()])
    type = SelectField(_l("Type"), choices=[("", _l("Any"))] + TYPE_CHOICES, validators=[Optional()])
    category = StringField(_l("Category"), validators=[Optional(), Length(max=100)])
    difficulty = SelectField(
        _l("Difficulty"), choices=[("", _l("Any"))] + DIFFICULTY_CHOICES, validators=[Optional()]
    )
    count = IntegerField(_l("How many"), default=1, validators=[Optional(), NumberRange(min=1, max=500)])
    question_id = IntegerField(_l("Question number"), validators=[Optional()])
    points = DecimalField(_l("Points each (empty: the question's own)"), places=2, validators=[Optional()])


class ExtensionForm(FlaskForm):
    employee_no = StringField(_l("Employee number"), validators=[DataRequired(), Length(max=64)])
    extra_minutes = IntegerField(
        _l("Extra minutes"), default=0, validators=[Optional(), NumberRange(min=0, max=1440)]
    )
    extra_attempts = IntegerField(
        _l("Extra attempts"), default=0, validators=[Optional(), NumberRange(min=0, max=100)]
    )
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)])


class GradeForm(FlaskForm):
    score = DecimalField(_l("Score"), places=2, validators=[DataRequired(message=None), NumberRange(min=0)])
    feedback = TextAreaField(_l("Feedback"), validators=[Optional(), Length(max=2000)])


class ExamAssignForm(FlaskForm):
    """Assign an exam: whole departments, posts, roles (choices from lms.org.services.set_audience_choices)."""

    departments = SelectMultipleField(
        _l("Departments (with the teams below them)"), choices=[], coerce=int, validate_choice=False
    )
    posts = SelectMultipleField(_l("Posts"), choices=[], coerce=int, validate_choice=False)
    roles = SelectMultipleField(_l("Responsibility roles"), choices=[], coerce=int, validate_choice=False)
    due_on = DateField(_l("Due date"), validators=[Optional()])
