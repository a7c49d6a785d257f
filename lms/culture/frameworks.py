"""Evaluation frameworks: presets, indicators and their weights, level bands, the frozen snapshot."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select

from lms.core.db import db
from lms.core.errors import Conflict, DomainError, NotFound
from lms.core.i18n import msg
from lms.culture import indicators as ind_registry
from lms.culture import scoring
from lms.culture.models import (
    AUTOMATIC,
    DEDUCTION,
    DEFAULT_BANDS,
    DRAFT,
    FRAMEWORK_KINDS,
    GROUP,
    INDICATOR_KINDS,
    LAYERS,
    MANUAL,
    VETO,
    WEIGHTED_KINDS,
    Campaign,
    Framework,
    Indicator,
)
from lms.culture.presets import PRESETS


def install_preset(enterprise_id: int, key: str, *, name: str | None = None) -> Framework:
    """Install preset ``key`` for the enterprise (returns the existing copy if already installed unnamed)."""
    preset = PRESETS.get(key)
    if preset is None:
        raise NotFound(msg("no preset %(key)s", key=key))
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
        raise DomainError(msg("a name is required"), field="name")
    if kind not in FRAMEWORK_KINDS:
        raise DomainError(msg("unknown framework kind %(kind)s", kind=kind), field="kind")
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
        raise Conflict(msg("this framework is used by a running or finished campaign; copy it to change it"))


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
                msg("band %(line)s: write the minimum score then the label", line=repr(line)), field="bands"
            ) from None
        if len(parts) < 2:
            raise DomainError(msg("band %(line)s has no label", line=repr(line)), field="bands")
        bands.append({"min": float(minimum), "label": parts[1].strip()[:30]})
    if not bands:
        raise DomainError(msg("at least one level band is needed"), field="bands")
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
        raise DomainError(msg("a name is required"), field="name")
    if not (Decimal(0) <= award_threshold <= framework.max_points):
        raise DomainError(
            msg("the award threshold must lie between 0 and the maximum points"), field="award_threshold"
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
        raise DomainError(msg("a name is required"), field="name")
    if kind not in INDICATOR_KINDS:
        raise DomainError(msg("unknown indicator kind %(kind)s", kind=kind), field="kind")
    if layer and layer not in LAYERS:
        raise DomainError(msg("unknown layer %(layer)s", layer=layer), field="layer")
    parent = None
    if parent_id:
        parent = db.session.get(Indicator, parent_id)
        if parent is None or parent.framework_id != framework.id:
            raise DomainError(msg("the parent is not in this framework"), field="parent_id")
        if parent.kind != GROUP:
            raise DomainError(msg("「%(name)s」 is not a group", name=parent.name), field="parent_id")
        if indicator is not None and _is_below(parent, indicator):
            raise DomainError(msg("an indicator cannot be placed below itself"), field="parent_id")
    w = scoring.dec(weight) or Decimal(0)
    if kind in WEIGHTED_KINDS and not (Decimal(0) < w <= Decimal(100)):
        raise DomainError(msg("the weight must be more than 0 and at most 100 (%)"), field="weight")
    if kind not in WEIGHTED_KINDS:
        w = Decimal(0)
    config: dict[str, Any] = {}
    if kind == AUTOMATIC:
        if metric not in ind_registry.METRICS:
            raise DomainError(msg("choose what the indicator measures"), field="metric")
        mapping = mapping or ind_registry.METRICS[metric].mapping
        scoring.validate_mapping(mapping)
        config = {"metric": metric, "mapping": mapping}
    elif kind == MANUAL:
        s = scoring.dec(scale_max) or Decimal(10)
        if s <= 0:
            raise DomainError(msg("the scale must be above 0"), field="scale_max")
        config = {"scale_max": float(s)}
    elif kind == DEDUCTION:
        p = scoring.dec(points_per)
        if p is None or p <= 0:
            raise DomainError(msg("points per occurrence must be above 0"), field="points_per")
        config = {"points_per": float(p)}
        if scoring.dec(cap) is not None:
            config["cap"] = float(scoring.dec(cap))  # type: ignore[arg-type]
        if metric:
            if metric not in ind_registry.METRICS:
                raise DomainError(msg("unknown metric"), field="metric")
            config["metric"] = metric
    elif kind == VETO and metric:
        if metric not in ind_registry.METRICS:
            raise DomainError(msg("unknown metric"), field="metric")
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
        raise NotFound(msg("indicator not found"))
    has_children = indicator.id is not None and db.session.scalar(
        select(func.count()).select_from(Indicator).where(Indicator.parent_id == indicator.id)
    )
    if has_children and kind != GROUP:
        raise DomainError(
            msg("「%(name)s」 has indicators below it: it must stay a group", name=indicator.name),
            field="kind",
        )
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
        raise DomainError(msg("「%(name)s」 has no scored indicators yet", name=framework.name))
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
