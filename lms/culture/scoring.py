"""Turn indicator values into points: value→points mappings, the weighted tree, deductions and vetoes.

Pure functions over a framework snapshot (plain dicts), so a published result can be recomputed from what was
frozen, and so the rules are tested without a database.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from lms.core.errors import DomainError
from lms.core.i18n import msg

GROUP, AUTOMATIC, MANUAL, DEDUCTION, VETO = "group", "automatic", "manual", "deduction", "veto"
WEIGHTED = (GROUP, AUTOMATIC, MANUAL)
ZERO, ONE, HUNDRED = Decimal(0), Decimal(1), Decimal(100)
CENT = Decimal("0.01")


def dec(value: Any) -> Decimal | None:
    """Return ``value`` as a Decimal (None stays None)."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def clamp01(value: Decimal) -> Decimal:
    return max(ZERO, min(ONE, value))


def map_value(value: Decimal | float | None, mapping: dict[str, Any] | None) -> Decimal | None:
    """Return the share (0..1) of an automatic indicator's points earned by ``value``; None if no value.

    ``{"type": "linear", "zero": z, "full": f}``: 0 at z, all points at f, straight between (f < z for "lower
    is better"). ``{"type": "bands", "bands": [[threshold, percent], ...], "lower_is_better": false}``: the
    first band reached (value ≥ threshold, or ≤ when lower is better) gives that percent of the points.
    """
    v = dec(value)
    if v is None:
        return None
    mapping = mapping or {"type": "linear", "zero": 0, "full": 1}
    kind = mapping.get("type", "linear")
    if kind == "linear":
        zero, full = dec(mapping.get("zero", 0)), dec(mapping.get("full", 1))
        if zero is None or full is None or zero == full:
            raise DomainError(msg("a linear mapping needs two different thresholds"))
        return clamp01((v - zero) / (full - zero))
    if kind == "bands":
        bands = [(dec(t), dec(p)) for t, p in mapping.get("bands") or []]
        if not bands:
            raise DomainError(msg("a band mapping needs at least one band"))
        lower = bool(mapping.get("lower_is_better"))
        for threshold, pct in sorted(bands, key=lambda b: b[0], reverse=not lower):
            if (v <= threshold) if lower else (v >= threshold):
                return clamp01(pct / HUNDRED)
        return ZERO
    raise DomainError(msg("unknown mapping type %(kind)s", kind=repr(kind)))


def validate_mapping(mapping: dict[str, Any]) -> None:
    """Raise DomainError if ``mapping`` cannot be applied."""
    map_value(0, mapping)


# A unit hit by a veto item (一票否决) is graded this, whatever its score.
VETO_LEVEL = "不合格"


def level_for(
    score: Decimal | None, bands: list[dict[str, Any]] | None, *, vetoed: bool = False
) -> str | None:
    """Return the level band label of a score (the highest band whose minimum it reaches); 不合格 when vetoed."""
    if vetoed:
        return VETO_LEVEL
    if score is None:
        return None
    for band in sorted(bands or [], key=lambda b: Decimal(str(b["min"])), reverse=True):
        if score >= Decimal(str(band["min"])):
            return str(band["label"])
    return None


@dataclass
class UnitScore:
    """The result of one unit: total, veto, and each indicator's share."""

    score: Decimal
    vetoed: bool
    veto_reasons: list[str]
    breakdown: dict[str, dict[str, Any]]
    top_level: list[tuple[str, Decimal | None]] = field(
        default_factory=list
    )  # (name, fraction) for the radar
    layers: dict[str, Decimal] = field(default_factory=dict)  # layer → fraction earned


def _q(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def check_weights(indicators: list[dict[str, Any]], *, root_name: str = "") -> None:
    """Raise DomainError naming the first level whose weighted indicators do not sum to 100%."""
    by_parent: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    names = {i["id"]: i["name"] for i in indicators}
    for ind in indicators:
        by_parent[ind.get("parent_id")].append(ind)
    for parent_id, children in by_parent.items():
        weighted = [c for c in children if c["kind"] in WEIGHTED]
        if not weighted:
            continue
        total = sum((dec(c.get("weight")) or ZERO for c in weighted), ZERO)
        if total != HUNDRED:
            level = names.get(parent_id) or root_name or "top level"
            raise DomainError(
                msg(
                    "weights under 「%(level)s」 sum to %(total)s%%, they must sum to 100%%",
                    level=level,
                    total=f"{total.normalize():f}",
                ),
                field="weight",
            )
    for ind in indicators:
        if ind["kind"] == GROUP and not by_parent.get(ind["id"]):
            raise DomainError(
                msg("group 「%(name)s」 has no indicators", name=ind["name"]), field="parent_id"
            )
        if ind["kind"] != GROUP and by_parent.get(ind["id"]):
            raise DomainError(
                msg("「%(name)s」 has indicators below it: make it a group", name=ind["name"]), field="kind"
            )


def compute(snapshot: dict[str, Any], inputs: dict[int, Any]) -> UnitScore:
    """Score one unit.

    ``snapshot``: {"max_points", "indicators": [{id, parent_id, name, kind, weight, layer, config}]};
    ``inputs``: indicator id → automatic value, manual scale value, deduction occurrences, veto (truthy).
    An automatic or manual indicator without a value is "not applicable": its weight goes to its siblings.
    """
    max_points = dec(snapshot.get("max_points")) or HUNDRED
    indicators = snapshot["indicators"]
    children: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for ind in sorted(indicators, key=lambda i: (i.get("sort_order") or 0, i["id"])):
        children[ind.get("parent_id")].append(ind)

    fractions: dict[int, Decimal | None] = {}

    def fraction(ind: dict[str, Any]) -> Decimal | None:
        kind, cfg = ind["kind"], ind.get("config") or {}
        if kind == AUTOMATIC:
            f = map_value(inputs.get(ind["id"]), cfg.get("mapping"))
        elif kind == MANUAL:
            v = dec(inputs.get(ind["id"]))
            scale = dec(cfg.get("scale_max")) or Decimal(10)
            f = None if v is None else clamp01(v / scale)
        elif kind == GROUP:
            weighted = [(c, fraction(c)) for c in children[ind["id"]] if c["kind"] in WEIGHTED]
            f = _weighted(weighted)
        else:
            f = None
        fractions[ind["id"]] = f
        return f

    def _weighted(items: list[tuple[dict[str, Any], Decimal | None]]) -> Decimal | None:
        avail = [(dec(c.get("weight")) or ZERO, f) for c, f in items if f is not None]
        total_w = sum((w for w, _ in avail), ZERO)
        if not avail or total_w == 0:
            return None
        return sum((w * f for w, f in avail), ZERO) / total_w

    top = [(c, fraction(c)) for c in children[None] if c["kind"] in WEIGHTED]
    root_fraction = _weighted(top)

    breakdown: dict[str, dict[str, Any]] = {}

    def distribute(parent_id: Any, share: Decimal) -> None:
        weighted = [
            c for c in children[parent_id] if c["kind"] in WEIGHTED and fractions.get(c["id"]) is not None
        ]
        total_w = sum((dec(c.get("weight")) or ZERO for c in weighted), ZERO)
        for c in children[parent_id]:
            if c["kind"] not in WEIGHTED:
                continue
            f = fractions.get(c["id"])
            if f is None or total_w == 0:
                breakdown[str(c["id"])] = {
                    "name": c["name"],
                    "kind": c["kind"],
                    "fraction": None,
                    "points": None,
                    "max_points": None,
                    "value": _plain(inputs.get(c["id"])),
                }
                continue
            c_share = share * (dec(c.get("weight")) or ZERO) / total_w
            breakdown[str(c["id"])] = {
                "name": c["name"],
                "kind": c["kind"],
                "fraction": str(_q(f * HUNDRED) / HUNDRED),
                "points": str(_q(c_share * f)),
                "max_points": str(_q(c_share)),
                "value": _plain(inputs.get(c["id"])),
            }
            if c["kind"] == GROUP:
                distribute(c["id"], c_share)

    distribute(None, max_points)
    earned = _q((root_fraction or ZERO) * max_points)

    deducted = ZERO
    vetoed, reasons = False, []
    for ind in indicators:
        cfg = ind.get("config") or {}
        if ind["kind"] == DEDUCTION:
            count = dec(inputs.get(ind["id"])) or ZERO
            points = count * (dec(cfg.get("points_per")) or ZERO)
            cap = dec(cfg.get("cap"))
            if cap is not None:
                points = min(points, cap)
            deducted += points
            breakdown[str(ind["id"])] = {
                "name": ind["name"],
                "kind": DEDUCTION,
                "fraction": None,
                "points": str(_q(-points)),
                "max_points": None,
                "value": _plain(count),
            }
        elif ind["kind"] == VETO:
            raw = inputs.get(ind["id"])
            hit = raw if isinstance(raw, bool) else bool(dec(raw) or False)
            if hit:
                vetoed = True
                reasons.append(ind["name"])
            breakdown[str(ind["id"])] = {
                "name": ind["name"],
                "kind": VETO,
                "fraction": None,
                "points": None,
                "max_points": None,
                "value": bool(hit),
            }
    score = max(ZERO, earned - _q(deducted))

    layer_w: dict[str, list[tuple[Decimal, Decimal]]] = defaultdict(list)
    for key, row in breakdown.items():
        ind = next(i for i in indicators if str(i["id"]) == key)
        if ind.get("layer") and row["fraction"] is not None and row["max_points"]:
            layer_w[ind["layer"]].append((Decimal(row["max_points"]), Decimal(row["fraction"])))
    layers = {
        layer: _q(sum((w * f for w, f in items), ZERO) / sum((w for w, _ in items), ZERO))
        for layer, items in layer_w.items()
        if sum((w for w, _ in items), ZERO)
    }
    top_level = [(c["name"], fractions.get(c["id"])) for c, _ in top]
    return UnitScore(_q(score), vetoed, reasons, breakdown, top_level, layers)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value


def rank(scores: list[tuple[int, Decimal, bool]]) -> dict[int, int]:
    """Return unit id → rank (1 = best; equal scores share a rank; vetoed units rank after all others)."""
    ordered = sorted(scores, key=lambda s: (s[2], -s[1]))
    ranks: dict[int, int] = {}
    prev: tuple[bool, Decimal] | None = None
    current = 0
    for position, (unit_id, score, vetoed) in enumerate(ordered, start=1):
        if prev != (vetoed, score):
            current = position
            prev = (vetoed, score)
        ranks[unit_id] = current
    return ranks
