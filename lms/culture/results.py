"""Results of published campaigns: ranking, radar axes, trends over campaigns, the enterprise's culture index."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select

from lms.core.db import db
from lms.culture import scoring
from lms.culture.campaigns import campaign_snapshot
from lms.culture.models import (
    FRAMEWORK_CULTURE,
    FROZEN_STEPS,
    WEIGHTED_KINDS,
    AutoValue,
    Campaign,
    CampaignUnit,
    Framework,
)


def ranked_units(campaign: Campaign) -> list[CampaignUnit]:
    return sorted(campaign.units, key=lambda u: (u.rank or 10**6, u.label))


def top_level(campaign: Campaign) -> list[dict[str, Any]]:
    snap = campaign_snapshot(campaign)
    return [i for i in snap["indicators"] if i.get("parent_id") is None and i["kind"] in WEIGHTED_KINDS]


def _fraction(unit: CampaignUnit, indicator_id: Any) -> Decimal | None:
    """The share of an indicator's points the unit earned (None: not scored)."""
    row = (unit.breakdown or {}).get(str(indicator_id)) or {}
    return Decimal(row["fraction"]) if row.get("fraction") is not None else None


def _mean(values: list[Decimal]) -> Decimal:
    return sum(values, Decimal(0)) / len(values)


def _published(enterprise_id: int, framework_kind: str) -> Select[tuple[Campaign]]:
    """The enterprise's published campaigns of a kind of framework, newest first."""
    return (
        select(Campaign)
        .join(Framework, Framework.id == Campaign.framework_id)
        .where(
            Campaign.enterprise_id == enterprise_id,
            Framework.kind == framework_kind,
            Campaign.status.in_(FROZEN_STEPS),
        )
        .order_by(Campaign.period_start.desc(), Campaign.id.desc())
    )


def radar_axes(campaign: Campaign, unit: CampaignUnit) -> list[tuple[str, float]]:
    """(top-level indicator, share of its points earned) for the radar chart."""
    return [(i["name"], float(_fraction(unit, i["id"]) or 0)) for i in top_level(campaign)]


def trends(enterprise_id: int, framework_kind: str, *, limit: int = 8) -> list[dict[str, Any]]:
    """Published campaigns of a kind of framework, oldest first, with the average and each unit's score."""
    rows = db.session.scalars(_published(enterprise_id, framework_kind).limit(limit)).all()
    out = []
    for c in reversed(rows):
        scores = [u.score for u in c.units if u.score is not None]
        out.append(
            {
                "campaign": c,
                "average": _mean(scores).quantize(Decimal("0.01")) if scores else None,
                "units": {(u.department_id, u.post_id): u.score for u in c.units},
            }
        )
    return out


def unit_trend(enterprise_id: int, framework_kind: str, unit: CampaignUnit) -> list[tuple[str, float]]:
    """A unit's score over the published campaigns of the same kind."""
    key = (unit.department_id, unit.post_id)
    return [
        (t["campaign"].name, float(t["units"][key]))
        for t in trends(enterprise_id, framework_kind)
        if t["units"].get(key) is not None
    ]


def culture_index(enterprise_id: int) -> dict[str, Any] | None:
    """The enterprise safety-culture index: the latest published culture campaign's average, with its layers."""
    campaign = db.session.scalar(_published(enterprise_id, FRAMEWORK_CULTURE).limit(1))
    if campaign is None:
        return None
    units = [u for u in campaign.units if u.score is not None]
    if not units:
        return None
    snap = campaign_snapshot(campaign)
    layer_of = {str(i["id"]): i.get("layer") for i in snap["indicators"]}
    layer_sum: dict[str, list[Decimal]] = {}
    for u in units:
        for key in u.breakdown or {}:
            layer, fraction = layer_of.get(key), _fraction(u, key)
            if layer and fraction is not None:
                layer_sum.setdefault(layer, []).append(fraction)
    layers = [(layer, float(_mean(v))) for layer, v in layer_sum.items()]
    order = {name: i for i, name in enumerate(("理念文化", "制度文化", "行为文化", "物态文化"))}
    layers.sort(key=lambda x: order.get(x[0], 9))
    avg = _mean([u.score for u in units])  # type: ignore[misc]
    return {
        "campaign": campaign,
        "index": avg.quantize(Decimal("0.1")),
        "level": scoring.level_for(avg, campaign.bands),
        "layers": layers,
        "axes": [
            (i["name"], float(_mean([_fraction(u, i["id"]) or Decimal(0) for u in units])))
            for i in top_level(campaign)
        ],
    }


def auto_values(unit: CampaignUnit) -> dict[int, AutoValue]:
    return {
        a.indicator_id: a for a in db.session.scalars(select(AutoValue).where(AutoValue.unit_id == unit.id))
    }
