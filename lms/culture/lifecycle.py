"""The steps of a campaign (self-assessment, review, calculation, publication, award, close)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select

from lms.core import timeutil
from lms.core.db import db, utcnow
from lms.core.errors import Conflict, DomainError
from lms.core.i18n import msg
from lms.culture import indicators as ind_registry
from lms.culture import scoring
from lms.culture.campaigns import campaign_snapshot, campaign_zone, period_ended, unit_ref
from lms.culture.frameworks import snapshot, validate_weights
from lms.culture.models import (
    AWARDED,
    CALCULATED,
    CLOSED,
    DEDUCTION,
    DRAFT,
    MANUAL,
    PUBLISHED,
    REVIEW,
    SELF_ASSESSMENT,
    STAGE_REVIEW,
    STAGE_SELF,
    VETO,
    AutoValue,
    Campaign,
    CampaignUnit,
)
from lms.culture.score_entry import missing_scores, scores_of


def _step(campaign: Campaign, expected: tuple[str, ...], refusal: str) -> None:
    """Refuse (``refusal``: a msg template with %(status)s) unless the campaign is at one of ``expected``."""
    if campaign.status not in expected:
        raise Conflict(msg(refusal, status=campaign.status))


def start_self_assessment(campaign: Campaign) -> None:
    """Open the self-assessment: the framework is checked and locked."""
    _step(campaign, (DRAFT,), "cannot start the self-assessment of a campaign that is %(status)s")
    validate_weights(campaign.framework)
    if not campaign.units:
        raise DomainError(msg("choose at least one unit to evaluate"))
    if not campaign.evaluators:
        raise DomainError(msg("assign at least one evaluator"))
    campaign.status = SELF_ASSESSMENT
    db.session.flush()


def start_review(campaign: Campaign) -> None:
    """Hand the campaign to the evaluators."""
    _step(campaign, (SELF_ASSESSMENT,), "cannot start the review of a campaign that is %(status)s")
    campaign.status = REVIEW
    db.session.flush()


def calculate(campaign: Campaign, *, as_of: dt.date | None = None, today: dt.date | None = None) -> None:
    """Compute and freeze automatic values, score every unit, rank; allowed until publication.

    Before the period has ended (``today``: the enterprise's date) the results are provisional, labelled so,
    and cannot be published or awarded: calculate again once the period is over.
    """
    _step(campaign, (REVIEW, CALCULATED), "cannot calculate a campaign that is %(status)s")
    if campaign.framework_snapshot is None or campaign.status == REVIEW:
        campaign.framework_snapshot = snapshot(campaign.framework)
    snap = campaign.framework_snapshot
    problems = [
        f"{u.label}: {'、'.join(m[:3])}" for u in campaign.units if (m := missing_scores(campaign, u))
    ]
    if problems:
        units = "; ".join(problems[:5]) + (" …" if len(problems) > 5 else "")
        raise DomainError(msg("scores missing — %(units)s", units=units))
    campaign.provisional = not period_ended(campaign, today)
    as_of = min(as_of or today or timeutil.today(campaign_zone(campaign)), campaign.period_end)
    auto = [i for i in snap["indicators"] if (i.get("config") or {}).get("metric")]
    unit_ids = [u.id for u in campaign.units]
    db.session.execute(delete(AutoValue).where(AutoValue.unit_id.in_(unit_ids)))
    for unit in campaign.units:
        ref = unit_ref(campaign, unit)
        unit.headcount = ind_registry.headcount(ref, campaign.period_start, campaign.period_end)
        for i in auto:
            metric = i["config"]["metric"]
            got = ind_registry.compute(
                metric, campaign.enterprise_id, ref, campaign.period_start, campaign.period_end, as_of
            )
            db.session.add(
                AutoValue(
                    unit_id=unit.id,
                    indicator_id=i["id"],
                    metric=metric,
                    value=got.value,
                    detail=_jsonable(got.detail),
                )
            )
    db.session.flush()
    _score_units(campaign)
    campaign.status, campaign.calculated_at = CALCULATED, utcnow()
    db.session.flush()


def indicator_preview(
    campaign: Campaign, unit: CampaignUnit, *, today: dt.date | None = None
) -> dict[str, Any]:
    """What the evaluator sees before scoring: the automatic indicators as they stand today (not frozen) and
    the vetoes that will grade the unit 不合格 whatever its score (a metric that finds a case, or a veto
    already answered yes at the self-assessment or the review).

    ``{"as_of": date, "values": {indicator id: {"value", "detail", "veto"}}, "vetoes": [names]}``.
    """
    snap = campaign_snapshot(campaign)
    as_of = min(today or timeutil.today(campaign_zone(campaign)), campaign.period_end)
    ref = unit_ref(campaign, unit)
    values: dict[int, dict[str, Any]] = {}
    vetoes: list[str] = []
    scores = scores_of(unit)
    for i in snap["indicators"]:
        metric = (i.get("config") or {}).get("metric")
        if metric:
            got = ind_registry.compute(
                metric, campaign.enterprise_id, ref, campaign.period_start, campaign.period_end, as_of
            )
            hit = i["kind"] == VETO and bool(got.value and got.value > 0)
            values[i["id"]] = {"value": got.value, "detail": _jsonable(got.detail), "veto": hit}
            if hit:
                vetoes.append(i["name"])
        elif i["kind"] == VETO:
            s = scores.get((i["id"], STAGE_REVIEW)) or scores.get((i["id"], STAGE_SELF))
            if s is not None and s.value and s.value > 0:
                vetoes.append(i["name"])
    return {"as_of": as_of, "values": values, "vetoes": vetoes}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def unit_inputs(campaign: Campaign, unit: CampaignUnit) -> dict[int, Any]:
    """The values scoring uses for a unit: frozen automatic values, then review scores over self scores."""
    snap = campaign_snapshot(campaign)
    inputs: dict[int, Any] = {}
    autos = {
        a.indicator_id: a for a in db.session.scalars(select(AutoValue).where(AutoValue.unit_id == unit.id))
    }
    scores = scores_of(unit)
    for i in snap["indicators"]:
        cfg = i.get("config") or {}
        if cfg.get("metric"):
            a = autos.get(i["id"])
            value = a.value if a is not None else None
            if i["kind"] == VETO:
                inputs[i["id"]] = bool(value and value > 0)
            else:
                inputs[i["id"]] = value
        elif i["kind"] in (MANUAL, DEDUCTION, VETO):
            s = scores.get((i["id"], STAGE_REVIEW)) or scores.get((i["id"], STAGE_SELF))
            inputs[i["id"]] = s.value if s is not None else None
    return inputs


def _score_units(campaign: Campaign) -> None:
    snap = campaign_snapshot(campaign)
    results = []
    for unit in campaign.units:
        res = scoring.compute(snap, unit_inputs(campaign, unit))
        unit.score, unit.vetoed, unit.veto_reasons = res.score, res.vetoed, res.veto_reasons or None
        unit.level = scoring.level_for(res.score, campaign.bands, vetoed=res.vetoed)
        unit.breakdown = res.breakdown
        results.append((unit.id, res.score, res.vetoed))
    ranks = scoring.rank(results)
    for unit in campaign.units:
        unit.rank = ranks.get(unit.id)
        unit.awarded = False


def reproduce(campaign: Campaign, unit: CampaignUnit) -> scoring.UnitScore:
    """Recompute a unit's result from what was frozen (framework snapshot, automatic values, scores)."""
    return scoring.compute(campaign_snapshot(campaign), unit_inputs(campaign, unit))


def publish(campaign: Campaign) -> None:
    """Publish (公示) the calculated results to everyone in the enterprise; results are frozen from now."""
    _step(campaign, (CALCULATED,), "cannot publish a campaign that is %(status)s")
    if campaign.provisional:
        raise Conflict(
            msg(
                "the results are provisional: the period ends on %(end)s; calculate again after it to publish",
                end=campaign.period_end.isoformat(),
            )
        )
    campaign.status, campaign.published_at = PUBLISHED, utcnow()
    db.session.flush()


def award(campaign: Campaign) -> list[CampaignUnit]:
    """Award the title to units at or over the threshold with no veto; return them."""
    _step(campaign, (PUBLISHED,), "cannot award a campaign that is %(status)s")
    winners = []
    for unit in campaign.units:
        unit.awarded = bool(
            unit.score is not None and unit.score >= campaign.award_threshold and not unit.vetoed
        )
        if unit.awarded:
            winners.append(unit)
    campaign.status, campaign.awarded_at = AWARDED, utcnow()
    db.session.flush()
    return winners


def close(campaign: Campaign) -> None:
    """Close the campaign for good."""
    _step(campaign, (PUBLISHED, AWARDED), "cannot close a campaign that is %(status)s")
    campaign.status, campaign.closed_at = CLOSED, utcnow()
    db.session.flush()


def reopen_review(campaign: Campaign) -> None:
    """Send a calculated campaign back to review (before publication only)."""
    _step(campaign, (CALCULATED,), "cannot reopen a campaign that is %(status)s")
    campaign.status = REVIEW
    db.session.flush()


ACTIONS = {
    "start_self_assessment": start_self_assessment,
    "start_review": start_review,
    "calculate": calculate,
    "reopen_review": reopen_review,
    "publish": publish,
    "award": award,
    "close": close,
}


def advance(campaign: Campaign, action: str) -> None:
    """Run one step of the campaign by name."""
    fn = ACTIONS.get(action)
    if fn is None:
        raise DomainError(msg("unknown action %(action)s", action=action))
    fn(campaign)
