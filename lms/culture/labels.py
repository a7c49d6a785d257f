"""The names people read for a campaign's steps (the views and the PDF report say them the same way)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

STEP_LABELS = {
    "draft": _l("Draft"),
    "self_assessment": _l("Self-assessment"),
    "review": _l("Review"),
    "calculated": _l("Calculated"),
    "published": _l("Published (公示)"),
    "awarded": _l("Awarded"),
    "closed": _l("Closed"),
}
