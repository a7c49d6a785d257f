"""One meaning per status word and per figure: the labels and definitions every page, export, reminder and the
regulator view use (the product's glossary page shows them). ``lms.training.status.status_query`` is what they
describe; change one, change the other."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from lms.training.models import (
    COMPLETE,
    COMPLIANT,
    DUE_SOON,
    EXEMPT,
    EXPIRED,
    IN_GRACE,
    IN_PROGRESS,
    NOT_STARTED,
    OVERDUE,
)

LATE = (OVERDUE, EXPIRED)
# Not compliant, not late: the obligations still open (what "not compliant" lists besides the late ones).
OPEN = (NOT_STARTED, IN_PROGRESS, DUE_SOON, IN_GRACE)

STATUS_LABELS: dict[str, Any] = {
    NOT_STARTED: _l("Not started"),
    IN_PROGRESS: _l("In progress"),
    COMPLETE: _l("Complete"),
    DUE_SOON: _l("Due soon"),
    IN_GRACE: _l("In grace"),
    OVERDUE: _l("Overdue"),
    EXPIRED: _l("Expired"),
    EXEMPT: _l("Exempt"),
}

# (word, label, definition): the order the glossary page shows them in.
STATUS_WORDS: list[tuple[str, Any, Any]] = [
    (
        "compliant",
        _l("Compliant"),
        _l(
            "Complete or exempt. A person is compliant when every requirement that applies to them is complete "
            "or exempt; nothing else (not in grace, not due soon, not an allowance after hire) counts as compliant."
        ),
    ),
    (
        COMPLETE,
        STATUS_LABELS[COMPLETE],
        _l(
            "The requirement is met as of the day shown: the hours, the course, the certificate or the three "
            "levels are on the training record, within the window that counts (for pre-job training: before the "
            "start), and still valid."
        ),
    ),
    (
        EXEMPT,
        STATUS_LABELS[EXEMPT],
        _l(
            "A manager excused the person from the requirement, with a reason, for the period given. Counts as compliant."
        ),
    ),
    (
        DUE_SOON,
        STATUS_LABELS[DUE_SOON],
        _l(
            "Not met; the due date is today or within the requirement's reminder days. Its due date is never in "
            "the past."
        ),
    ),
    (
        IN_GRACE,
        STATUS_LABELS[IN_GRACE],
        _l(
            "Not met; the due date (or the end of the validity) has passed, the requirement's grace days have "
            "not. Not compliant and not yet late. For pre-job training: the person has started and the explicit "
            "grace period is running."
        ),
    ),
    (
        OVERDUE,
        STATUS_LABELS[OVERDUE],
        _l(
            "Never met (or a past calendar year missed) and the due date plus the grace days has passed. Its due "
            "date is the day it was due: the start for pre-job training, the end of the missed year for yearly "
            "retraining."
        ),
    ),
    (
        EXPIRED,
        STATUS_LABELS[EXPIRED],
        _l(
            "Met once, but its validity has ended and its grace days have passed (a course or hours to repeat, a "
            "certificate that ended or whose 3-yearly review was missed)."
        ),
    ),
    (
        NOT_STARTED,
        STATUS_LABELS[NOT_STARTED],
        _l("Not met, nothing done yet, not yet due soon."),
    ),
    (
        IN_PROGRESS,
        STATUS_LABELS[IN_PROGRESS],
        _l("Not met, some hours or levels done, not yet due soon."),
    ),
]

FIGURE_WORDS: list[tuple[str, Any, Any]] = [
    (
        "people",
        _l("People"),
        _l(
            "Counts persons: each person subject to at least one requirement once, however many requirements "
            "apply to them. The regulator's figures count people."
        ),
    ),
    (
        "requirements",
        _l("Requirements (person × requirement)"),
        _l(
            "Counts obligations: one per person and requirement that applies to them. One person overdue on three "
            "requirements is 1 person and 3 requirements."
        ),
    ),
    (
        "coverage",
        _l("Coverage"),
        _l("Compliant people ÷ people subject to at least one requirement, shown as a percentage."),
    ),
    (
        "late",
        _l("Overdue or expired"),
        _l("People (or requirements, where the label says so) with a status overdue or expired."),
    ),
    (
        "completions",
        _l("Course completions"),
        _l(
            "People of the enterprise (not left) with a live record of the course completed or its exam passed, "
            "online or entered by hand: the same records a course requirement reads."
        ),
    ),
]


def label(status: str) -> str:
    """The reader's word for a status code."""
    return str(STATUS_LABELS.get(status, status))


__all__ = ["COMPLIANT", "FIGURE_WORDS", "LATE", "OPEN", "STATUS_LABELS", "STATUS_WORDS", "label"]
