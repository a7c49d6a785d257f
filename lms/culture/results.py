"""Results of published campaigns: ranking, radar axes, trends over campaigns, the enterprise's culture index."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

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


def radar_axes(campaign: Campaign, unit: CampaignUnit) -> list[tuple[str, float]]:
    """(top-level indicator, share of its points earned) for the radar chart."""
    out = []
    for i in top_level(campaign):
        row = (unit.breakdown or {}).get(str(i["id"])) or {}
        out.append((i["name"], float(row["fraction"]) if row.get("fraction") is not None else 0.0))
    return out


def trends(enterprise_id: int, framework_kind: str, *, limit: int = 8) -> list[dict[str, Any]]:
    """Published campaigns of a kind of framework, oldest first, with the average and each unit's score."""
    rows = db.session.scalars(
        select(Campaign)
        .join(Framework, Framework.id == Campaign.framework_id)
        .where(
            Campaign.enterprise_id == enterprise_id,
            Framework.kind == framework_kind,
            Campaign.status.in_(FROZEN_STEPS),
        )
        .order_by(Campaign.period_start.desc(), Campaign.id.desc())
        .limit(limit)
    ).all()
    out = []
    for c in reversed(rows):
        scores = [u.score for u in c.units if u.score is not None]
        out.append(
            {
                "campaign": c,
                "average": (sum(scores, Decimal(0)) / len(scores)).quantize(Decimal("0.01"))
                if scores
                else None,
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
    campaign = db.session.scalar(
        select(Campaign)
        .join(Framework, Framework.id == Campaign.framework_id)
        .where(
            Campaign.enterprise_id == enterprise_id,
            Framework.kind == FRAMEWORK_CULTURE,
            Campaign.status.in_(FROZEN_STEPS),
        )
        .order_by(Campaign.period_start.desc(), Campaign.id.desc())
        .limit(1)
    )
    if campaign is None:
        return None
    units = [u for u in campaign.units if u.score is not None]
    if not units:
        return None
    snap = campaign_snapshot(campaign)
    layer_of = {str(i["id"]): i.get("layer") for i in snap["indicators"]}
    layer_sum: dict[str, list[Decimal]] = {}
    for u in units:
        for key, row in (u.breakdown or {}).items():
            layer = layer_of.get(key)
            if layer and row.get("fraction") is not None:
                layer_sum.setdefault(layer, []).append(Decimal(row["fraction"]))
    layers = [(layer, float(sum(v, Decimal(0)) / len(v))) for layer, v in layer_sum.items()]
    order = {name: i for i, name in enumerate(("理念文化", "制度文化", "行为文化", "物态文化"))}
    layers.sort(key=lambda x: order.get(x[0], 9))
    avg = sum((u.score for u in units), Decimal(0)) / len(units)  # type: ignore[misc]
    return {
        "campaign": campaign,
        "index": avg.quantize(Decimal("0.1")),
        "level": scoring.level_for(avg, campaign.bands),
        "layers": layers,
        "axes": [
            (
                i["name"],
                float(
                    sum(
                        (
                            Decimal((u.breakdown or {}).get(str(i["id"]), {}).get("fraction") or 0)
                            for u in units
                        ),
                        Decimal(0),
                    )
                    / len(units)
                ),
            )
            for i in top_level(campaign)
        ],
    }


def auto_values(unit: CampaignUnit) -> dict[int, AutoValue]:
    return {
        a.indicator_id: a for a in db.session.scalars(select(AutoValue).where(AutoValue.unit_id == unit.id))
    }
