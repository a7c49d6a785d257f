"""Which fields of a requirement belong to which kind, target and recurrence (the form shows only those).

A value posted for a field of another kind (left over after switching the kind, or forged) is cleared before
the requirement is saved, so a course requirement never keeps the hours of the hours requirement it was.
"""

from __future__ import annotations

from typing import Any

from lms.training.models import (
    APPLIES_DEPARTMENT,
    APPLIES_POST,
    APPLIES_ROLE,
    KIND_CERTIFICATE,
    KIND_COURSE,
    KIND_HOURS,
    RECUR_ONCE,
    RECUR_ROLLING,
)

# field → the kinds it belongs to
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "hours_required": (KIND_HOURS,),
    "categories": (KIND_HOURS,),
    "pre_job": (KIND_HOURS,),
    "course_id": (KIND_COURSE,),
    "certificate_category": (KIND_CERTIFICATE,),
    "certificate_topic": (KIND_CERTIFICATE,),
    "recurrence": (KIND_HOURS, KIND_COURSE),
    "recurrence_months": (KIND_HOURS, KIND_COURSE),
}
# field → the target it belongs to
TARGET_FIELDS = {"role_id": APPLIES_ROLE, "post_id": APPLIES_POST, "department_id": APPLIES_DEPARTMENT}
EMPTY: dict[str, Any] = {
    "hours_required": 0,
    "categories": None,
    "pre_job": False,
    "course_id": None,
    "certificate_category": None,
    "certificate_topic": None,
    "recurrence": RECUR_ONCE,
    "recurrence_months": None,
}


def for_kind(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with every field that does not belong to the chosen kind, target or recurrence cleared."""
    out = dict(values)
    kind, target = out.get("kind"), out.get("applies_to")
    for name, kinds in KIND_FIELDS.items():
        if name in out and kind not in kinds:
            out[name] = EMPTY[name]
    for name, wanted in TARGET_FIELDS.items():
        if name in out and target != wanted:
            out[name] = None
    if "recurrence_months" in out and out.get("recurrence") != RECUR_ROLLING:
        out["recurrence_months"] = None
    return out
