"""The names people read for a campaign's steps (the views and the PDF report say them the same way)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

STEP_LABELS = {
    "draft": _l("Draft"),
    "self_assessment": _l("Self-assessment"),
    "review": _l("Review"),
    "calculated": _l("Calculated"),
    "published": lazy_pgettext("campaign", "Published"),
    "awarded": _l("Awarded"),
    "closed": _l("Closed"),
}
