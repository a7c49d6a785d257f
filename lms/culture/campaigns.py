"""Campaigns: their period, units, evaluators and leaders, and who may score or see them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from lms.core import timeutil
from lms.core.db import db
from lms.core.errors import Conflict, DomainError, NotFound
from lms.core.i18n import msg
from lms.culture import indicators as ind_registry
from lms.culture.frameworks import snapshot
from lms.culture.models import (
    CALCULATED,
    DEFAULT_BANDS,
    DRAFT,
    FROZEN_STEPS,
    REVIEW,
    SELF_ASSESSMENT,
    STAGE_REVIEW,
    STAGE_SELF,
    UNIT_DEPARTMENT,
    UNIT_DEPARTMENT_POST,
    UNIT_KINDS,
    UNIT_POST,
    Campaign,
    CampaignEvaluator,
    CampaignUnit,
    Framework,
)
from lms.org.models import (
    ADMIN,
    EVALUATOR,
    MANAGER,
    PERSON_ACTIVE,
    Department,
    Enterprise,
    Person,
    PersonRole,
    Post,
    ResponsibilityRole,
    User,
)
from lms.org.timezone import enterprise_today

EVALUATOR_ROLES = (EVALUATOR, MANAGER)


LEADER_ROLE = "班组长"


def period_bounds(kind: str, year: int, quarter: int | None = None) -> tuple[dt.date, dt.date]:
    """Return the first and last day of a quarter or a year."""
    if kind == "year":
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    if kind != "quarter" or quarter not in (1, 2, 3, 4):
        raise DomainError(msg("choose a quarter (1–4) or a year"), field="quarter")
    start = dt.date(year, 3 * (quarter - 1) + 1, 1)
    end = dt.date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1) - dt.timedelta(days=1)
    return start, end


def quarter_of(day: dt.date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def candidate_units(enterprise_id: int, unit_kind: str) -> list[dict[str, Any]]:
    """Return the units an enterprise can evaluate, each with its active headcount (one grouped query)."""
    active = (Person.enterprise_id == enterprise_id, Person.status == PERSON_ACTIVE)
    if unit_kind == UNIT_POST:
        rows = db.session.execute(
            select(Post.id, Post.name, func.count(Person.id))
            .join(Person, Person.post_id == Post.id)
            .where(*active)
            .group_by(Post.id, Post.name)
            .order_by(Post.name)
        ).all()
        return [
            {"department_id": None, "post_id": pid, "label": name, "headcount": n} for pid, name, n in rows
        ]
    if unit_kind == UNIT_DEPARTMENT_POST:
        rows = db.session.execute(
            select(Department.id, Department.path, Post.id, Post.name, func.count(Person.id))
            .join(Person, Person.department_id == Department.id)
            .join(Post, Post.id == Person.post_id)
            .where(*active)
            .group_by(Department.id, Department.path, Post.id, Post.name)
            .order_by(Department.path, Post.name)
        ).all()
        return [
            {"department_id": d, "post_id": p, "label": f"{path}·{pname}", "headcount": n}
            for d, path, p, pname, n in rows
        ]
    if unit_kind == UNIT_DEPARTMENT:
        depts = db.session.execute(
            select(Department.id, Department.path)
            .where(Department.enterprise_id == enterprise_id)
            .order_by(Department.path)
        ).all()
        counts = dict(
            db.session.execute(
                select(Person.department_id, func.count()).where(*active).group_by(Person.department_id)
            ).all()
        )
        out = []
        for did, path in depts:
            n = sum(
                c
                for d2, c in counts.items()
                for d3, p3 in depts
                if d3 == d2 and (p3 == path or p3.startswith(path + "/"))
            )
            if n:
                out.append({"department_id": did, "post_id": None, "label": path, "headcount": n})
        return out
    raise DomainError(msg("unknown unit kind %(kind)s", kind=unit_kind), field="unit_kind")


def _unit_label(enterprise_id: int, department_id: int | None, post_id: int | None) -> str:
    dept = db.session.get(Department, department_id) if department_id else None
    post = db.session.get(Post, post_id) if post_id else None
    if (department_id and (dept is None or dept.enterprise_id != enterprise_id)) or (
        post_id and (post is None or post.enterprise_id != enterprise_id)
    ):
        raise DomainError(msg("a unit is not in this enterprise"), field="units")
    if dept and post:
        return f"{dept.path}·{post.name}"
    if dept or post:
        return dept.path if dept else post.name  # type: ignore[union-attr]
    raise DomainError(msg("a unit needs a department or a post"), field="units")


def unit_ref(campaign: Campaign, unit: CampaignUnit) -> ind_registry.Unit:
    return ind_registry.Unit(campaign.enterprise_id, unit.department_id, unit.post_id)


def default_leader(enterprise_id: int, department_id: int | None, post_id: int | None) -> int | None:
    """Return the account of a 班组长 in the unit (or of its department when the unit is a post), if any."""
    unit = ind_registry.Unit(enterprise_id, department_id, None if department_id else post_id)
    today = enterprise_today(enterprise_id)
    return db.session.scalar(
        select(User.id)
        .join(Person, Person.id == User.person_id)
        .join(PersonRole, PersonRole.person_id == Person.id)
        .join(ResponsibilityRole, ResponsibilityRole.id == PersonRole.role_id)
        .where(
            ResponsibilityRole.name == LEADER_ROLE,
            Person.status == PERSON_ACTIVE,
            Person.id.in_(unit.people(today, today)),
        )
        .order_by(Person.employee_no)
        .limit(1)
    )


def create_campaign(
    enterprise_id: int,
    framework: Framework,
    *,
    name: str,
    period_kind: str,
    year: int,
    quarter: int | None,
    unit_kind: str,
    units: Iterable[tuple[int | None, int | None]],
    evaluator_ids: Iterable[int],
    actor: User | None,
    award_threshold: Decimal | None = None,
) -> Campaign:
    """Create a draft campaign of ``framework`` over a period, with its units and evaluators."""
    if framework.enterprise_id != enterprise_id:
        raise NotFound(msg("framework not found"))
    if not (name or "").strip():
        raise DomainError(msg("a name is required"), field="name")
    if unit_kind not in UNIT_KINDS:
        raise DomainError(msg("unknown unit kind %(kind)s", kind=unit_kind), field="unit_kind")
    start, end = period_bounds(period_kind, year, quarter)
    campaign = Campaign(
        enterprise_id=enterprise_id,
        framework_id=framework.id,
        name=name.strip()[:200],
        period_kind=period_kind,
        period_start=start,
        period_end=end,
        unit_kind=unit_kind,
        status=DRAFT,
        award_threshold=award_threshold if award_threshold is not None else framework.award_threshold,
        bands=framework.bands or [dict(b) for b in DEFAULT_BANDS],
        created_by_id=actor.id if actor else None,
    )
    db.session.add(campaign)
    db.session.flush()
    set_units(campaign, units)
    set_evaluators(campaign, evaluator_ids)
    return campaign


def _draft(campaign: Campaign) -> None:
    if campaign.status != DRAFT:
        raise Conflict(msg("only a draft campaign can be changed this way"))


def set_units(campaign: Campaign, units: Iterable[tuple[int | None, int | None]]) -> None:
    """Set the units of a draft campaign (each a department and/or a post)."""
    _draft(campaign)
    wanted = {(d or None, p or None) for d, p in units}
    if not wanted:
        raise DomainError(msg("choose at least one unit to evaluate"), field="units")
    existing = {(u.department_id, u.post_id): u for u in campaign.units}
    for key, u in existing.items():
        if key not in wanted:
            campaign.units.remove(u)
    for d, p in sorted(wanted, key=lambda k: (k[0] or 0, k[1] or 0)):
        if (d, p) in existing:
            continue
        label = _unit_label(campaign.enterprise_id, d, p)
        unit = CampaignUnit(
            department_id=d,
            post_id=p,
            label=label[:300],
            leader_user_id=default_leader(campaign.enterprise_id, d, p),
        )
        campaign.units.append(unit)
    db.session.flush()


def set_evaluators(campaign: Campaign, user_ids: Iterable[int]) -> None:
    """Assign evaluators: accounts of the enterprise with the evaluator or manager role."""
    ids = {int(i) for i in user_ids}
    users = db.session.scalars(select(User).where(User.id.in_(ids))).all() if ids else []
    for u in users:
        if u.enterprise_id != campaign.enterprise_id or u.app_role not in EVALUATOR_ROLES:
            raise DomainError(
                msg(
                    "%(name)s cannot evaluate: evaluators are managers or evaluators of the enterprise",
                    name=u.display_name,
                ),
                field="evaluators",
            )
    if len(users) != len(ids):
        raise DomainError(msg("unknown evaluator"), field="evaluators")
    campaign.evaluators[:] = [e for e in campaign.evaluators if e.user_id in ids]
    have = {e.user_id for e in campaign.evaluators}
    for uid in ids - have:
        campaign.evaluators.append(CampaignEvaluator(campaign_id=campaign.id, user_id=uid))
    db.session.flush()


def set_leader(unit: CampaignUnit, user_id: int | None) -> None:
    """Choose who fills the unit's self-assessment."""
    if user_id is not None:
        user = db.session.get(User, user_id)
        if user is None or user.enterprise_id != unit.campaign.enterprise_id:
            raise DomainError(msg("unknown account"), field="leader")
    unit.leader_user_id = user_id
    db.session.flush()


def evaluator_ids(campaign: Campaign) -> set[int]:
    return {e.user_id for e in campaign.evaluators}


def is_evaluator(campaign: Campaign, user: User) -> bool:
    return user.id in evaluator_ids(campaign)


def is_manager(campaign: Campaign, user: User) -> bool:
    return user.app_role == ADMIN or (
        user.app_role == MANAGER and user.enterprise_id == campaign.enterprise_id
    )


def scoring_stage(campaign: Campaign, unit: CampaignUnit, user: User) -> str | None:
    """Return the stage ``user`` may score ``unit`` at now (self-assessment or review), or None."""
    if campaign.status == SELF_ASSESSMENT and (unit.leader_user_id == user.id or is_manager(campaign, user)):
        return STAGE_SELF
    if campaign.status == REVIEW and is_evaluator(campaign, user):
        return STAGE_REVIEW
    return None


def can_view(campaign: Campaign, user: User) -> bool:
    """Whether ``user`` may open the campaign at all (managers, its evaluators, unit leaders, and all once published)."""
    if user.enterprise_id != campaign.enterprise_id and user.app_role != ADMIN:
        return False
    if is_manager(campaign, user) or is_evaluator(campaign, user) or campaign.status in FROZEN_STEPS:
        return True
    return campaign.status == SELF_ASSESSMENT and any(u.leader_user_id == user.id for u in campaign.units)


def can_view_results(campaign: Campaign, user: User) -> bool:
    """Published results are for everyone in the enterprise; calculated ones for managers and evaluators."""
    if campaign.status in FROZEN_STEPS:
        return user.enterprise_id == campaign.enterprise_id or user.app_role == ADMIN
    return campaign.status == CALCULATED and (is_manager(campaign, user) or is_evaluator(campaign, user))


def campaign_snapshot(campaign: Campaign) -> dict[str, Any]:
    """The framework of the campaign: frozen once calculated, else the live framework."""
    if campaign.framework_snapshot:
        return campaign.framework_snapshot
    return snapshot(campaign.framework)


def period_ended(campaign: Campaign, today: dt.date | None = None) -> bool:
    """Whether the campaign's period is over (its last day has passed in the enterprise's local calendar)."""
    return (today or timeutil.today(campaign_zone(campaign))) > campaign.period_end


def campaign_zone(campaign: Campaign) -> Any:
    """The enterprise of the campaign, for its time zone."""
    return db.session.get(Enterprise, campaign.enterprise_id)
