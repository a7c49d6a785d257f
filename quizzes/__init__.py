"""Question banks, exams, attempts and grading (题库与考试).

Where each concern lives:
- ``banks``: question banks and their questions (each change of content a new version);
- ``exchange``: a bank in and out (import all or nothing, export as the sheet layout, GIFT, Moodle XML); the
  formats are read by ``importers`` (sheets, Aiken, text), ``layouts`` (Chinese sheet layouts), ``gift`` and
  ``moodle_xml``, with ``textfmt`` for HTML/Markdown question text;
- ``types``: each question type (checking, grading, showing);
- ``exams``: an exam's settings, its paper's rules, publishing, extensions; ``builder``: picking fixed questions
  and the sample paper; ``assignments``: who must sit an exam and by when;
- ``attempts``: sitting an exam (the person's standing, start, save, submit, overdue attempts);
- ``grading``: grading attempts (automatic, by hand, regrade) and the ledger record;
- ``key_policy``: when a key may be shown; ``review``: what a learner is told (feedback, mistake book);
- ``stats``: results and item analysis.
"""

from flask import Blueprint

bp = Blueprint(
    "quizzes", __name__, template_folder="templates", static_folder="static", url_prefix="/quizzes"
)

from quizzes import views  # noqa: E402, F401
