"""Scores people enter by hand, at the self-assessment and the review, with their evidence."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

from sqlalchemy import select

from lms.core.db import db, utcnow
from lms.core.errors import Conflict, DomainError, Forbidden, NotFound
from lms.core.i18n import msg
from lms.culture.campaigns import campaign_snapshot, is_manager, scoring_stage
from lms.culture.evidence import save_evidence
from lms.culture.models import (
    DEDUCTION,
    MANUAL,
    STAGE_REVIEW,
    STAGE_SELF,
    VETO,
    Campaign,
    CampaignUnit,
    Score,
    ScoreAttachment,
)
from lms.org.models import User


def scorable_indicators(snap: dict[str, Any]) -> list[dict[str, Any]]:
    """Indicators entered by people: manual ones, deductions and vetoes that no metric computes."""
    return [
        i
        for i in snap["indicators"]
        if i["kind"] == MANUAL
        or (i["kind"] in (DEDUCTION, VETO) and not (i.get("config") or {}).get("metric"))
    ]


def record_scores(
    campaign: Campaign,
    unit: CampaignUnit,
    entries: dict[int, tuple[Any, str | None]],
    *,
    actor: User,
    files: dict[int, list[tuple[BinaryIO, str]]] | None = None,
) -> int:
    """Store manual scores of a unit at the actor's stage: {indicator id: (value, note)}; return how many."""
    if unit.campaign_id != campaign.id:
        raise NotFound(msg("unit not found"))
    stage = scoring_stage(campaign, unit, actor)
    if stage is None:
        raise Forbidden(msg("you cannot score this unit now"))
    if stage == STAGE_SELF and unit.self_submitted_at is not None and not is_manager(campaign, actor):
        raise Conflict(msg("the self-assessment was already submitted"))
    allowed = {i["id"]: i for i in scorable_indicators(campaign_snapshot(campaign))}
    n = 0
    for ind_id, (raw, note) in entries.items():
        ind = allowed.get(int(ind_id))
        if ind is None:
            raise DomainError(msg("this indicator is not scored by hand"), field="scores")
        if raw is None or str(raw).strip() == "":
            continue
        try:
            value = Decimal(str(raw).strip())
        except InvalidOperation:
            raise DomainError(
                msg("「%(name)s」: %(value)s is not a number", name=ind["name"], value=repr(raw)),
                field="scores",
            ) from None
        cfg = ind.get("config") or {}
        if ind["kind"] == MANUAL:
            scale = Decimal(str(cfg.get("scale_max") or 10))
            if not (Decimal(0) <= value <= scale):
                raise DomainError(
                    msg(
                        "「%(name)s」: the score must be between 0 and %(max)s",
                        name=ind["name"],
                        max=f"{scale.normalize():f}",
                    ),
                    field="scores",
                )
        elif ind["kind"] == DEDUCTION:
            if value < 0 or value != value.to_integral():
                raise DomainError(
                    msg(
                        "「%(name)s」: the number of occurrences must be a whole number ≥ 0", name=ind["name"]
                    ),
                    field="scores",
                )
        elif value not in (0, 1):
            raise DomainError(
                msg("「%(name)s」: a veto is yes (1) or no (0)", name=ind["name"]), field="scores"
            )
        score = db.session.scalar(
            select(Score).where(
                Score.unit_id == unit.id, Score.indicator_id == ind["id"], Score.stage == stage
            )
        )
        if score is None:
            score = Score(unit_id=unit.id, indicator_id=ind["id"], stage=stage, value=value)
            db.session.add(score)
        score.value, score.note = value, (note or "").strip()[:4000] or None
        score.scored_by_id, score.scored_at = actor.id, utcnow()
        db.session.flush()
        n += 1
    for ind_id, uploads in (files or {}).items():
        if int(ind_id) not in allowed:
            raise DomainError(msg("this indicator is not scored by hand"), field="scores")
        score = db.session.scalar(
            select(Score).where(
                Score.unit_id == unit.id, Score.indicator_id == int(ind_id), Score.stage == stage
            )
        )
        if score is None:
            raise DomainError(
                msg(
                    "「%(name)s」: give a score before attaching evidence", name=allowed[int(ind_id)]["name"]
                ),
                field="scores",
            )
        for stream, filename in uploads:
            stored = save_evidence(stream, filename, enterprise_id=campaign.enterprise_id, actor=actor)
            score.attachments.append(ScoreAttachment(score_id=score.id, file_id=stored.id))
    db.session.flush()
    return n


def submit_self_assessment(campaign: Campaign, unit: CampaignUnit, actor: User) -> None:
    """Mark the unit's self-assessment as handed in."""
    if scoring_stage(campaign, unit, actor) != STAGE_SELF:
        raise Forbidden(msg("you cannot submit this self-assessment"))
    unit.self_submitted_at = utcnow()
    db.session.flush()


def complete_review(campaign: Campaign, unit: CampaignUnit, actor: User) -> None:
    """Mark the unit as reviewed (every hand-scored indicator has a final score)."""
    if scoring_stage(campaign, unit, actor) != STAGE_REVIEW:
        raise Forbidden(msg("you cannot review this unit"))
    missing = missing_scores(campaign, unit)
    if missing:
        raise DomainError(
            msg("%(unit)s: not scored yet: %(names)s", unit=unit.label, names="、".join(missing[:5]))
        )
    unit.reviewed_at = utcnow()
    db.session.flush()


def scores_of(unit: CampaignUnit) -> dict[tuple[int, str], Score]:
    return {
        (s.indicator_id, s.stage): s
        for s in db.session.scalars(select(Score).where(Score.unit_id == unit.id))
    }


def missing_scores(campaign: Campaign, unit: CampaignUnit) -> list[str]:
    """Names of the hand-scored indicators with neither a review nor a self-assessment score.

    Deductions and vetoes left empty count as none (no occurrence, no veto)."""
    have = {k[0] for k in scores_of(unit)}
    return [
        i["name"]
        for i in scorable_indicators(campaign_snapshot(campaign))
        if i["kind"] == MANUAL and i["id"] not in have
    ]
