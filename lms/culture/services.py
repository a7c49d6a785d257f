"""Frameworks, campaigns and results: the domain logic of safety-culture and demonstration-post evaluation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

from sqlalchemy import delete, func, select

from lms.core import timeutil
from lms.core.db import db, utcnow
from lms.core.errors import Conflict, DomainError, Forbidden, NotFound
from lms.core.i18n import msg
from lms.core.storage import StoredFile, save_stream
from lms.culture import indicators as ind_registry
from lms.culture import scoring
from lms.culture.models import (
    AUTOMATIC,
    AWARDED,
    CALCULATED,
    CLOSED,
    DEDUCTION,
    DEFAULT_BANDS,
    DRAFT,
    FRAMEWORK_CULTURE,
    FRAMEWORK_KINDS,
    FROZEN_STEPS,
    GROUP,
    INDICATOR_KINDS,
    LAYERS,
    MANUAL,
    PUBLISHED,
    REVIEW,
    SELF_ASSESSMENT,
    STAGE_REVIEW,
    STAGE_SELF,
    UNIT_DEPARTMENT,
    UNIT_DEPARTMENT_POST,
    UNIT_KINDS,
    UNIT_POST,
    VETO,
    WEIGHTED_KINDS,
    AutoValue,
    Campaign,
    CampaignEvaluator,
    CampaignUnit,
    Framework,
    Indicator,
    Score,
    ScoreAttachment,
)
from lms.culture.presets import PRESETS
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
MAX_EVIDENCE_BYTES = 20 * 1024 * 1024

# ---------------------------------------------------------------- uploads checked by content

_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def sniff_type(head: bytes) -> str | None:
    """Return the content type of an image or PDF from its first bytes, or None."""
    for sig, ctype in _SIGNATURES:
        if head.startswith(sig):
            return ctype
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def save_evidence(
    stream: BinaryIO,
    filename: str,
    *,
    enterprise_id: int,
    actor: User | None,
    purpose: str = "culture-evidence",
) -> StoredFile:
    """Store an uploaded image or PDF, refusing anything else whatever its name claims."""
    head = stream.read(16)
    ctype = sniff_type(head)
    if ctype is None:
        raise DomainError(
            f"{filename}: only images (JPEG, PNG, GIF, WebP) or PDF files are accepted", field="file"
        )
    stream.seek(0)
    return save_stream(
        stream,
        filename,
        purpose=purpose,
        enterprise_id=enterprise_id,
        uploaded_by_id=actor.id if actor else None,
        max_bytes=MAX_EVIDENCE_BYTES,
        content_type=ctype,
    )


# ---------------------------------------------------------------- frameworks


def install_preset(enterprise_id: int, key: str, *, name: str | None = None) -> Framework:
    """Install preset ``key`` for the enterprise (returns the existing copy if already installed unnamed)."""
    preset = PRESETS.get(key)
    if preset is None:
        raise NotFound(f"no preset {key}")
    if name is None:
        existing = db.session.scalar(
            select(Framework)
            .where(Framework.enterprise_id == enterprise_id, Framework.preset == key)
            .order_by(Framework.id)
        )
        if existing is not None:
            return existing
    fw = Framework(
        enterprise_id=enterprise_id,
        name=name or preset["name"],
        kind=preset["kind"],
        preset=key,
        description=preset["description"],
        max_points=Decimal(100),
        award_threshold=Decimal(90),
        bands=[dict(b) for b in DEFAULT_BANDS],
    )
    db.session.add(fw)
    db.session.flush()

    def add(nodes: list[Any], parent: Indicator | None, prefix: str) -> None:
        for i, (iname, kind, weight, layer, config, children) in enumerate(nodes, start=1):
            cfg = dict(config or {})
            description = cfg.pop("description", None)
            code = f"{prefix}{i}"
            node = Indicator(
                framework_id=fw.id,
                parent_id=parent.id if parent else None,
                code=code,
                name=iname,
                kind=kind,
                weight=Decimal(str(weight)),
                layer=layer,
                sort_order=i,
                config=cfg or None,
                description=description,
            )
            db.session.add(node)
            db.session.flush()
            add(children, node, code + ".")

    add(preset["tree"], None, "")
    validate_weights(fw)
    return fw


def create_framework(
    enterprise_id: int, name: str, kind: str, *, description: str | None = None
) -> Framework:
    """Create an empty framework."""
    if not (name or "").strip():
        raise DomainError("a name is required", field="name")
    if kind not in FRAMEWORK_KINDS:
        raise DomainError(f"unknown framework kind {kind}", field="kind")
    fw = Framework(
        enterprise_id=enterprise_id,
        name=name.strip()[:200],
        kind=kind,
        description=description,
        max_points=Decimal(100),
        award_threshold=Decimal(90),
        bands=[dict(b) for b in DEFAULT_BANDS],
    )
    db.session.add(fw)
    db.session.flush()
    return fw


def copy_framework(framework: Framework, name: str) -> Framework:
    """Copy a framework with its indicators (to edit one already used by a campaign)."""
    new = create_framework(framework.enterprise_id, name, framework.kind, description=framework.description)
    new.max_points, new.award_threshold, new.bands = (
        framework.max_points,
        framework.award_threshold,
        framework.bands,
    )
    new.preset = None
    ids: dict[int, int] = {}
    pending = sorted(framework.indicators, key=lambda i: (i.parent_id is not None, i.id))
    while pending:
        rest = []
        for i in pending:
            if i.parent_id is not None and i.parent_id not in ids:
                rest.append(i)
                continue
            c = Indicator(
                framework_id=new.id,
                parent_id=ids.get(i.parent_id) if i.parent_id else None,
                code=i.code,
                name=i.name,
                description=i.description,
                kind=i.kind,
                weight=i.weight,
                layer=i.layer,
                sort_order=i.sort_order,
                config=dict(i.config) if i.config else None,
            )
            db.session.add(c)
            db.session.flush()
            ids[i.id] = c.id
        if len(rest) == len(pending):
            break
        pending = rest
    db.session.refresh(new)
    return new


def framework_in_use(framework: Framework) -> bool:
    """Whether a campaign past its draft uses the framework (then it is locked: copy it to change it)."""
    return bool(
        db.session.scalar(
            select(func.count())
            .select_from(Campaign)
            .where(Campaign.framework_id == framework.id, Campaign.status != DRAFT)
        )
    )


def _editable(framework: Framework) -> None:
    if framework_in_use(framework):
        raise Conflict("this framework is used by a running or finished campaign; copy it to change it")


def parse_bands(text: str) -> list[dict[str, Any]]:
    """Parse level bands written one per line as ``90 示范岗``."""
    bands = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = line.strip().split(None, 1)
        try:
            minimum = Decimal(parts[0])
        except InvalidOperation:
            raise DomainError(
                f"band {line!r}: write the minimum score then the label", field="bands"
            ) from None
        if len(parts) < 2:
            raise DomainError(f"band {line!r} has no label", field="bands")
        bands.append({"min": float(minimum), "label": parts[1].strip()[:30]})
    if not bands:
        raise DomainError("at least one level band is needed", field="bands")
    return sorted(bands, key=lambda b: b["min"], reverse=True)


def update_framework(
    framework: Framework,
    *,
    name: str,
    award_threshold: Decimal,
    bands: list[dict[str, Any]],
    description: str | None = None,
) -> None:
    """Change a framework's name, award threshold and level bands."""
    if not name.strip():
        raise DomainError("a name is required", field="name")
    if not (Decimal(0) <= award_threshold <= framework.max_points):
        raise DomainError(
            "the award threshold must lie between 0 and the maximum points", field="award_threshold"
        )
    framework.name, framework.award_threshold, framework.bands = name.strip()[:200], award_threshold, bands
    framework.description = description
    db.session.flush()


def save_indicator(
    framework: Framework,
    *,
    indicator: Indicator | None = None,
    name: str,
    kind: str,
    parent_id: int | None = None,
    weight: Decimal | float | int = 0,
    layer: str | None = None,
    code: str | None = None,
    description: str | None = None,
    sort_order: int | None = None,
    metric: str | None = None,
    mapping: dict[str, Any] | None = None,
    scale_max: Any = None,
    points_per: Any = None,
    cap: Any = None,
) -> Indicator:
    """Create or change an indicator, checking its kind's settings (weights are checked per level later)."""
    _editable(framework)
    if not (name or "").strip():
        raise DomainError("a name is required", field="name")
    if kind not in INDICATOR_KINDS:
        raise DomainError(f"unknown indicator kind {kind}", field="kind")
    if layer and layer not in LAYERS:
        raise DomainError(f"unknown layer {layer}", field="layer")
    parent = None
    if parent_id:
        parent = db.session.get(Indicator, parent_id)
        if parent is None or parent.framework_id != framework.id:
            raise DomainError("the parent is not in this framework", field="parent_id")
        if parent.kind != GROUP:
            raise DomainError(f"「{parent.name}」 is not a group", field="parent_id")
        if indicator is not None and _is_below(parent, indicator):
            raise DomainError("an indicator cannot be placed below itself", field="parent_id")
    w = scoring.dec(weight) or Decimal(0)
    if kind in WEIGHTED_KINDS and not (Decimal(0) < w <= Decimal(100)):
        raise DomainError("the weight must be more than 0 and at most 100 (%)", field="weight")
    if kind not in WEIGHTED_KINDS:
        w = Decimal(0)
    config: dict[str, Any] = {}
    if kind == AUTOMATIC:
        if metric not in ind_registry.METRICS:
            raise DomainError("choose what the indicator measures", field="metric")
        mapping = mapping or ind_registry.METRICS[metric].mapping
        scoring.validate_mapping(mapping)
        config = {"metric": metric, "mapping": mapping}
    elif kind == MANUAL:
        s = scoring.dec(scale_max) or Decimal(10)
        if s <= 0:
            raise DomainError("the scale must be above 0", field="scale_max")
        config = {"scale_max": float(s)}
    elif kind == DEDUCTION:
        p = scoring.dec(points_per)
        if p is None or p <= 0:
            raise DomainError("points per occurrence must be above 0", field="points_per")
        config = {"points_per": float(p)}
        if scoring.dec(cap) is not None:
            config["cap"] = float(scoring.dec(cap))  # type: ignore[arg-type]
        if metric:
            if metric not in ind_registry.METRICS:
                raise DomainError("unknown metric", field="metric")
            config["metric"] = metric
    elif kind == VETO and metric:
        if metric not in ind_registry.METRICS:
            raise DomainError("unknown metric", field="metric")
        config = {"metric": metric}
    if indicator is None:
        indicator = Indicator(framework_id=framework.id)
        if sort_order is None:
            same_level = Indicator.parent_id.is_(None) if parent is None else Indicator.parent_id == parent.id
            sort_order = 1 + (
                db.session.scalar(
                    select(func.max(Indicator.sort_order)).where(
                        Indicator.framework_id == framework.id, same_level
                    )
                )
                or 0
            )
    elif indicator.framework_id != framework.id:
        raise NotFound("indicator not found")
    has_children = indicator.id is not None and db.session.scalar(
        select(func.count()).select_from(Indicator).where(Indicator.parent_id == indicator.id)
    )
    if has_children and kind != GROUP:
        raise DomainError(f"「{indicator.name}」 has indicators below it: it must stay a group", field="kind")
    indicator.name, indicator.kind, indicator.parent_id = (
        name.strip()[:200],
        kind,
        parent.id if parent else None,
    )
    indicator.weight, indicator.layer, indicator.code = w, layer or None, (code or "").strip()[:20] or None
    indicator.description, indicator.config = description, config or None
    if sort_order is not None:
        indicator.sort_order = sort_order
    db.session.add(indicator)
    db.session.flush()
    return indicator


def _is_below(node: Indicator, ancestor: Indicator) -> bool:
    current: Indicator | None = node
    while current is not None:
        if current.id == ancestor.id:
            return True
        current = db.session.get(Indicator, current.parent_id) if current.parent_id else None
    return False


def delete_indicator(indicator: Indicator) -> None:
    """Delete an indicator and everything below it."""
    _editable(indicator.framework)
    rows = db.session.scalars(select(Indicator).where(Indicator.framework_id == indicator.framework_id)).all()
    levels, doomed = [{indicator.id}], {indicator.id}
    while levels[-1]:
        below = {i.id for i in rows if i.parent_id in levels[-1]} - doomed
        doomed |= below
        levels.append(below)
    for level in reversed(levels):  # the deepest first, so no row outlives its parent
        for i in rows:
            if i.id in level:
                db.session.delete(i)
        db.session.flush()


def snapshot(framework: Framework) -> dict[str, Any]:
    """Return the framework as plain data (what calculation uses and freezes)."""
    rows = db.session.scalars(
        select(Indicator)
        .where(Indicator.framework_id == framework.id)
        .order_by(Indicator.sort_order, Indicator.id)
    ).all()
    return {
        "id": framework.id,
        "name": framework.name,
        "kind": framework.kind,
        "max_points": str(framework.max_points),
        "indicators": [
            {
                "id": i.id,
                "parent_id": i.parent_id,
                "code": i.code,
                "name": i.name,
                "kind": i.kind,
                "weight": str(i.weight),
                "layer": i.layer,
                "sort_order": i.sort_order,
                "config": i.config or {},
            }
            for i in rows
        ],
    }


def validate_weights(framework: Framework) -> None:
    """Raise DomainError naming the level whose weights do not sum to 100%."""
    snap = snapshot(framework)
    if not any(i["kind"] in WEIGHTED_KINDS for i in snap["indicators"]):
        raise DomainError(f"「{framework.name}」 has no scored indicators yet")
    scoring.check_weights(snap["indicators"], root_name=framework.name)


def indicator_tree(indicators: Iterable[dict[str, Any]] | Iterable[Indicator]) -> list[tuple[int, Any]]:
    """Return (depth, indicator) in tree order, for display."""
    items = list(indicators)
    get = (lambda i, k: i[k]) if items and isinstance(items[0], dict) else getattr  # noqa: E731
    by_parent: dict[Any, list[Any]] = {}
    for i in items:
        by_parent.setdefault(get(i, "parent_id"), []).append(i)
    out: list[tuple[int, Any]] = []

    def walk(parent: Any, depth: int) -> None:
        for i in sorted(by_parent.get(parent, []), key=lambda x: (get(x, "sort_order") or 0, get(x, "id"))):
            out.append((depth, i))
            walk(get(i, "id"), depth + 1)

    walk(None, 0)
    return out


# ---------------------------------------------------------------- campaigns


def period_bounds(kind: str, year: int, quarter: int | None = None) -> tuple[dt.date, dt.date]:
    """Return the first and last day of a quarter or a year."""
    if kind == "year":
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    if kind != "quarter" or quarter not in (1, 2, 3, 4):
        raise DomainError("choose a quarter (1–4) or a year", field="quarter")
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
    raise DomainError(f"unknown unit kind {unit_kind}", field="unit_kind")


def _unit_label(enterprise_id: int, department_id: int | None, post_id: int | None) -> str:
    dept = db.session.get(Department, department_id) if department_id else None
    post = db.session.get(Post, post_id) if post_id else None
    if (department_id and (dept is None or dept.enterprise_id != enterprise_id)) or (
        post_id and (post is None or post.enterprise_id != enterprise_id)
    ):
        raise DomainError("a unit is not in this enterprise", field="units")
    if dept and post:
        return f"{dept.path}·{post.name}"
    if dept or post:
        return dept.path if dept else post.name  # type: ignore[union-attr]
    raise DomainError("a unit needs a department or a post", field="units")


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
        raise NotFound("framework not found")
    if not (name or "").strip():
        raise DomainError("a name is required", field="name")
    if unit_kind not in UNIT_KINDS:
        raise DomainError(f"unknown unit kind {unit_kind}", field="unit_kind")
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
        raise Conflict("only a draft campaign can be changed this way")


def set_units(campaign: Campaign, units: Iterable[tuple[int | None, int | None]]) -> None:
    """Set the units of a draft campaign (each a department and/or a post)."""
    _draft(campaign)
    wanted = {(d or None, p or None) for d, p in units}
    if not wanted:
        raise DomainError("choose at least one unit to evaluate", field="units")
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
                f"{u.display_name} cannot evaluate: evaluators are managers or evaluators of the enterprise",
                field="evaluators",
            )
    if len(users) != len(ids):
        raise DomainError("unknown evaluator", field="evaluators")
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
            raise DomainError("unknown account", field="leader")
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


def scorable_indicators(snap: dict[str, Any]) -> list[dict[str, Any]]:
    """Indicators entered by people: manual ones, deductions and vetoes that no metric computes."""
    return [
        i
        for i in snap["indicators"]
        if i["kind"] == MANUAL
        or (i["kind"] in (DEDUCTION, VETO) and not (i.get("config") or {}).get("metric"))
    ]


def campaign_snapshot(campaign: Campaign) -> dict[str, Any]:
    """The framework of the campaign: frozen once calculated, else the live framework."""
    if campaign.framework_snapshot:
        return campaign.framework_snapshot
    return snapshot(campaign.framework)


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
        raise NotFound("unit not found")
    stage = scoring_stage(campaign, unit, actor)
    if stage is None:
        raise Forbidden("you cannot score this unit now")
    if stage == STAGE_SELF and unit.self_submitted_at is not None and not is_manager(campaign, actor):
        raise Conflict("the self-assessment was already submitted")
    allowed = {i["id"]: i for i in scorable_indicators(campaign_snapshot(campaign))}
    n = 0
    for ind_id, (raw, note) in entries.items():
        ind = allowed.get(int(ind_id))
        if ind is None:
            raise DomainError("this indicator is not scored by hand", field="scores")
        if raw is None or str(raw).strip() == "":
            continue
        try:
            value = Decimal(str(raw).strip())
        except InvalidOperation:
            raise DomainError(f"「{ind['name']}」: {raw!r} is not a number", field="scores") from None
        cfg = ind.get("config") or {}
        if ind["kind"] == MANUAL:
            scale = Decimal(str(cfg.get("scale_max") or 10))
            if not (Decimal(0) <= value <= scale):
                raise DomainError(
                    f"「{ind['name']}」: the score must be between 0 and {scale.normalize():f}",
                    field="scores",
                )
        elif ind["kind"] == DEDUCTION:
            if value < 0 or value != value.to_integral():
                raise DomainError(
                    f"「{ind['name']}」: the number of occurrences must be a whole number ≥ 0", field="scores"
                )
        elif value not in (0, 1):
            raise DomainError(f"「{ind['name']}」: a veto is yes (1) or no (0)", field="scores")
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
            raise DomainError("this indicator is not scored by hand", field="scores")
        score = db.session.scalar(
            select(Score).where(
                Score.unit_id == unit.id, Score.indicator_id == int(ind_id), Score.stage == stage
            )
        )
        if score is None:
            raise DomainError(
                f"「{allowed[int(ind_id)]['name']}」: give a score before attaching evidence", field="scores"
            )
        for stream, filename in uploads:
            stored = save_evidence(stream, filename, enterprise_id=campaign.enterprise_id, actor=actor)
            score.attachments.append(ScoreAttachment(score_id=score.id, file_id=stored.id))
    db.session.flush()
    return n


def submit_self_assessment(campaign: Campaign, unit: CampaignUnit, actor: User) -> None:
    """Mark the unit's self-assessment as handed in."""
    if scoring_stage(campaign, unit, actor) != STAGE_SELF:
        raise Forbidden("you cannot submit this self-assessment")
    unit.self_submitted_at = utcnow()
    db.session.flush()


def complete_review(campaign: Campaign, unit: CampaignUnit, actor: User) -> None:
    """Mark the unit as reviewed (every hand-scored indicator has a final score)."""
    if scoring_stage(campaign, unit, actor) != STAGE_REVIEW:
        raise Forbidden("you cannot review this unit")
    missing = missing_scores(campaign, unit)
    if missing:
        raise DomainError(f"{unit.label}: not scored yet: {'、'.join(missing[:5])}")
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


def _step(campaign: Campaign, expected: tuple[str, ...], action: str) -> None:
    if campaign.status not in expected:
        raise Conflict(f"cannot {action} a campaign that is {campaign.status}")


def start_self_assessment(campaign: Campaign) -> None:
    """Open the self-assessment: the framework is checked and locked."""
    _step(campaign, (DRAFT,), "start the self-assessment of")
    validate_weights(campaign.framework)
    if not campaign.units:
        raise DomainError("choose at least one unit to evaluate")
    if not campaign.evaluators:
        raise DomainError("assign at least one evaluator")
    campaign.status = SELF_ASSESSMENT
    db.session.flush()


def start_review(campaign: Campaign) -> None:
    """Hand the campaign to the evaluators."""
    _step(campaign, (SELF_ASSESSMENT,), "start the review of")
    campaign.status = REVIEW
    db.session.flush()


def period_ended(campaign: Campaign, today: dt.date | None = None) -> bool:
    """Whether the campaign's period is over (its last day has passed in the enterprise's local calendar)."""
    return (today or timeutil.today(campaign_zone(campaign))) > campaign.period_end


def campaign_zone(campaign: Campaign) -> Any:
    """The enterprise of the campaign, for its time zone."""
    return db.session.get(Enterprise, campaign.enterprise_id)


def calculate(campaign: Campaign, *, as_of: dt.date | None = None, today: dt.date | None = None) -> None:
    """Compute and freeze automatic values, score every unit, rank; allowed until publication.

    Before the period has ended (``today``: the enterprise's date) the results are provisional, labelled so,
    and cannot be published or awarded: calculate again once the period is over.
    """
    _step(campaign, (REVIEW, CALCULATED), "calculate")
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
    _step(campaign, (CALCULATED,), "publish")
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
    _step(campaign, (PUBLISHED,), "award")
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
    _step(campaign, (PUBLISHED, AWARDED), "close")
    campaign.status, campaign.closed_at = CLOSED, utcnow()
    db.session.flush()


def reopen_review(campaign: Campaign) -> None:
    """Send a calculated campaign back to review (before publication only)."""
    _step(campaign, (CALCULATED,), "reopen")
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
        raise DomainError(f"unknown action {action}")
    fn(campaign)


# ---------------------------------------------------------------- results


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
