"""Labels of stored codes: a status, a kind or a level is stored as a code (``offline``, ``in_grace``) and shown
as a word of the reader's language, never as the code itself.

Features declare their codes with ``declare_labels({"code": lazy_gettext("Word")})``; templates write
``{{ value|label }}`` (``status_badge`` does it for its status). A code without a declared label goes through
``gettext`` as before, so an older ``_(code)`` catalogue entry still reads in Chinese.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

_LABELS: dict[str, Any] = {}


def declare_labels(labels: dict[str, Any]) -> None:
    """Declare the words of some codes (a later declaration of a code wins)."""
    _LABELS.update(labels)


def label(code: Any) -> str:
    """The reader's word for a stored code (the code's catalogue entry, or the code, when none is declared)."""
    if code is None or code == "":
        return ""
    text = str(code)
    found = _LABELS.get(text)
    if found is not None:
        return str(found)
    from flask_babel import gettext

    return gettext(text)


# Codes several floors show: ledger kinds, three-level education, classroom session states, requirement and
# certificate statuses, person events, application roles, exam settings.
declare_labels(
    {
        # training record kinds (the ledger)
        "course": _l("Online course"),
        "exam": _l("Exam"),
        "offline": _l("Classroom training"),
        "certificate": _l("Outside certificate"),
        "manual": _l("Entered by hand"),
        # three-level safety education
        "company": _l("Company level"),
        "workshop": _l("Workshop level"),
        "team": _l("Team level"),
        # classroom session states
        "planned": _l("Planned"),
        "held": _l("Held"),
        "recorded": _l("Recorded"),
        "locked": _l("Locked"),
        # statuses of a requirement or a certificate
        "valid": _l("Valid"),
        "expired": _l("Expired"),
        "overdue": _l("Overdue"),
        "due_soon": _l("Due soon"),
        "in_grace": _l("In grace period"),
        "complete": _l("Complete"),
        "revoked": _l("Revoked"),
        # person history
        "hired": _l("Hired"),
        "left": _l("Left"),
        "returned": _l("Returned"),
        "department": _l("Moved to another department"),
        "post": _l("Changed post"),
        "role_added": _l("Responsibility role added"),
        "role_removed": _l("Responsibility role removed"),
        # application roles
        "learner": _l("Learner"),
        "trainer": _l("Trainer"),
        "manager": _l("Manager"),
        "admin": _l("Admin"),
        "regulator": _l("Regulator"),
        "evaluator": _l("Evaluator"),
        # exams
        "practice": _l("Practice"),
        "points": _l("Points"),
        "percent": _l("Percent"),
        # background jobs
        "queued": _l("Queued"),
        "running": _l("Processing"),
        "done": _l("Done"),
        "failed": _l("Failed"),
    }
)
