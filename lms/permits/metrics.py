"""The culture indicator "permits checked / refused", registered in lms.culture's metric registry."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from lms.culture.indicators import IndicatorValue, Unit, metric


@metric(
    "permit_refusal_rate",
    _l("Hazardous-work checks: people refused / people checked"),
    "ratio",
    {"type": "linear", "zero": 0.2, "full": 0},
    for_kind="deduction",
)
def permit_refusal_rate(
    enterprise_id: int, unit: Unit, period_start: dt.date, period_end: dt.date, as_of: dt.date
) -> IndicatorValue:
    """Share of the unit's people named on permits saved in the period who were not qualified for the work."""
    from lms.permits.services import permit_counts, refusal_counts

    checked, refused = refusal_counts(
        enterprise_id, unit.people(period_start, period_end), period_start, period_end
    )
    permits = permit_counts([enterprise_id], period_start, period_end)
    detail = {
        "method": "lms.permits: people named on the permits saved in the period (check date), not qualified",
        "people_checked": checked,
        "people_refused": refused,
        "permits_checked": sum(c for c, _r in permits.values()),
        "permits_refused": sum(r for _c, r in permits.values()),
    }
    if not checked:
        return IndicatorValue(None, detail)
    return IndicatorValue((Decimal(refused) / Decimal(checked)).quantize(Decimal("0.0001")), detail)
