"""Risk coefficient per enterprise from named, weighted factors; monthly snapshots; listed supervision (挂牌督查).

The coefficient (0–100) is the weighted mean of each factor's *level* (0–1):

    score = 100 × Σ weight·level / Σ weight          contribution of a factor = 100 × weight·level / Σ weight

so that the contributions of an enterprise's page add up to its score. A share factor's level is the share
itself (or 1 − share where a high share is good); a count factor's level is count / "full at" capped at 1
(one open major hazard is already the full weight by default, ten open general hazards are). Weights and
"full at" are tuned per regulator account (``RiskWeight``); the defaults are ``FACTORS`` below.

Every figure comes from the package that owns it: training coverage and overdue people from
``lms.training.coverage.figures`` (what the regulator's coverage page shows), special-operation certificates
from the same status rows (the 特种作业操作证 requirements), hazards from ``lms.hazards.services.hazard_counts``,
permits from ``lms.permits.services.permit_counts``,
culture from the latest published campaign of ``lms.culture``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from lms.core import signals, timeutil
from lms.core.db import db, utcnow
from lms.core.errors import Conflict, DomainError
from lms.core.i18n import msg
from lms.culture.models import FROZEN_STEPS, Campaign, CampaignUnit, Framework
from lms.hazards.services import hazard_counts
from lms.org.models import MANAGER, Enterprise, User
from lms.oversight.models import Listing, RiskSnapshot, RiskWeight
from lms.permits.services import permit_counts
from lms.training import coverage, reading
from lms.training.models import KIND_CERTIFICATE, Requirement
from lms.training.status import SPECIAL_OPERATIONS_CATEGORY

SHARE = "share"  # a share 0..1; level = share (or 1 - share when ``inverse``)
COUNT = "count"  # a count; level = min(1, count / full_at)
FLAG = "flag"  # 0 or 1


@dataclass(frozen=True)
class Factor:
    key: str
    label: Any  # lazy string
    kind: str
    weight: Decimal  # default weight
    full_at: Decimal | None = None  # default saturation of a count factor
    inverse: bool = False  # a share where more is better (coverage, culture score)
    missing: float = 0.0  # the level when there is no data (nobody subject, no evaluation yet)
    source: Any = ""  # where the figure comes from (lazy string)


FACTORS: tuple[Factor, ...] = (
    Factor(
        "coverage",
        _l("Training coverage shortfall"),
        SHARE,
        Decimal(15),
        inverse=True,
        source=_l("Share of people compliant with every training requirement (the coverage page)"),
    ),
    Factor(
        "overdue",
        _l("People overdue or expired"),
        SHARE,
        Decimal(10),
        source=_l("Share of people with a requirement overdue or expired (the coverage page)"),
    ),
    Factor(
        "certificates",
        _l("Special-operation certificates lapsed or missing"),
        SHARE,
        Decimal(10),
        source=_l("Share of special-operation workers whose certificate requirement is overdue or expired"),
    ),
    Factor(
        "hazards_open",
        _l("Open general hazards"),
        COUNT,
        Decimal(5),
        Decimal(10),
        source=_l("General hazards reported and not yet closed"),
    ),
    Factor(
        "hazards_overdue",
        _l("Overdue general hazards"),
        COUNT,
        Decimal(10),
        Decimal(3),
        source=_l("General hazards past their rectification deadline"),
    ),
    Factor(
        "major_open",
        _l("Open major hazards"),
        COUNT,
        Decimal(15),
        Decimal(1),
        source=_l("Major hazards (重大隐患) not yet closed"),
    ),
    Factor(
        "major_overdue",
        _l("Overdue major hazards"),
        COUNT,
        Decimal(15),
        Decimal(1),
        source=_l("Major hazards past their rectification deadline"),
    ),
    Factor(
        "permits_refused",
        _l("Hazardous-work permits refused"),
        SHARE,
        Decimal(5),
        source=_l("Share of permit checks refused in the last 90 days"),
    ),
    Factor(
        "culture",
        _l("Last culture or demonstration-post result"),
        SHARE,
        Decimal(5),
        inverse=True,
        missing=0.5,
        source=_l("Average unit score of the latest published evaluation; none counts as half"),
    ),
    Factor(
        "high_risk",
        _l("High-risk industry"),
        FLAG,
        Decimal(10),
        source=_l("The enterprise's industry is a high-risk one (高危行业)"),
    ),
)
BY_KEY = {f.key: f for f in FACTORS}
PERMIT_WINDOW_DAYS = 90
MAX_WEIGHT = Decimal(100)

# Four-colour grading (红橙黄蓝), from the highest band down: (lower bound, key, label).
BANDS = (
    (60, "major", _l("Major risk")),
    (40, "high", _l("High risk")),
    (20, "moderate", _l("Moderate risk")),
    (0, "low", _l("Low risk")),
)
BAND_COLOURS = {"major": "#c62828", "high": "#e65100", "moderate": "#b8860b", "low": "#1f5f99"}


# ---------------------------------------------------------------- weights


@dataclass(frozen=True)
class Weight:
    weight: Decimal
    full_at: Decimal | None
    custom: bool = False


def weights_for(user: User) -> dict[str, Weight]:
    """The account's weights: its own rows over the defaults, in the order of ``FACTORS``."""
    rows = {
        r.factor: r
        for r in db.session.scalars(select(RiskWeight).where(RiskWeight.user_id == user.id))
        if r.factor in BY_KEY
    }
    out = {}
    for f in FACTORS:
        r = rows.get(f.key)
        if r is None:
            out[f.key] = Weight(f.weight, f.full_at)
        else:
            out[f.key] = Weight(
                Decimal(r.weight), Decimal(r.full_at) if r.full_at is not None else f.full_at, True
            )
    return out


def default_weights() -> dict[str, Weight]:
    """The defaults of ``FACTORS``."""
    return {f.key: Weight(f.weight, f.full_at) for f in FACTORS}


def _decimal(text: Any, what: str) -> Decimal:
    try:
        value = Decimal(str(text).strip().replace("，", ".").replace(",", "."))
    except (InvalidOperation, ValueError):
        raise DomainError(_l("%(what)s: enter a number.", what=what)) from None
    if not value.is_finite():
        raise DomainError(_l("%(what)s: enter a number.", what=what))
    return value


def save_weights(user: User, form: dict[str, Any]) -> None:
    """Store the account's weights from ``weight_<key>`` / ``full_at_<key>`` values; all or nothing."""
    parsed: dict[str, tuple[Decimal, Decimal | None]] = {}
    for f in FACTORS:
        raw = form.get(f"weight_{f.key}")
        if raw is None or str(raw).strip() == "":
            raise DomainError(_l("%(what)s: a weight is required.", what=f.label))
        weight = _decimal(raw, str(f.label))
        if weight < 0 or weight > MAX_WEIGHT:
            raise DomainError(_l("%(what)s: the weight must be between 0 and 100.", what=f.label))
        full_at = None
        if f.kind == COUNT:
            full_at = _decimal(form.get(f"full_at_{f.key}") or "", str(f.label))
            if full_at <= 0 or full_at > 10000:
                raise DomainError(_l("%(what)s: “full at” must be a count above 0.", what=f.label))
        parsed[f.key] = (
            weight.quantize(Decimal("0.01")),
            full_at.quantize(Decimal("0.01")) if full_at else None,
        )
    if not any(w for w, _ in parsed.values()):
        raise DomainError(_l("At least one factor needs a weight above 0."))
    db.session.execute(delete(RiskWeight).where(RiskWeight.user_id == user.id))
    now = utcnow()
    for key, (weight, full_at) in parsed.items():
        db.session.add(
            RiskWeight(user_id=user.id, factor=key, weight=weight, full_at=full_at, updated_at=now)
        )
    db.session.flush()


def reset_weights(user: User) -> None:
    """Back to the defaults."""
    db.session.execute(delete(RiskWeight).where(RiskWeight.user_id == user.id))
    db.session.flush()


# ---------------------------------------------------------------- factor values


@dataclass
class Value:
    """A factor's raw value (a share or a count; None: no data) and what to show beside it."""

    value: float | None
    detail: str = ""  # e.g. "3 / 12"
    available: bool = True  # False: no figure for this factor (none computed for the enterprise)


def _end_utc(as_of: dt.date) -> dt.datetime:
    """The end of ``as_of`` in the platform's zone, as naive UTC (for "published by the end of that day")."""
    end = timeutil.to_utc(
        dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time()), timeutil.default_zone_name()
    )
    assert end is not None
    return end


def _training(ids: list[int], as_of: dt.date) -> dict[int, dict[str, Value]]:
    """Coverage, overdue people and special-operation certificates, from the training status (one evaluation
    per enterprise: status is computed per enterprise; today's rows come from the training cache)."""
    cert_reqs: dict[int, set[int]] = {}
    for req_id, ent_id in db.session.execute(
        select(Requirement.id, Requirement.enterprise_id)
        .where(
            Requirement.enterprise_id.in_(ids),
            Requirement.kind == KIND_CERTIFICATE,
            Requirement.certificate_category == SPECIAL_OPERATIONS_CATEGORY,
        )
        .order_by(Requirement.id)
    ):
        cert_reqs.setdefault(ent_id, set()).add(req_id)
    out: dict[int, dict[str, Value]] = {}
    for ent_id in sorted(ids):
        with reading.read(ent_id, as_of, materialise=True) as source:
            fig = coverage.figures(ent_id, as_of, source=source)
            by_req = (
                coverage.coverage(ent_id, "requirement", as_of, source=source) if ent_id in cert_reqs else []
            )
        people = fig["people"]
        certs = [r for r in by_req if r["key"] in cert_reqs.get(ent_id, ())]
        subject = sum(r["people"] - r.get("exempt", 0) for r in certs)
        lapsed = sum(r["late"] for r in certs)
        out[ent_id] = {
            "coverage": Value(fig["share"], f"{fig['compliant']} / {people}"),
            "overdue": Value(fig["late"] / people if people else None, f"{fig['late']} / {people}"),
            "certificates": Value(lapsed / subject if subject else None, f"{lapsed} / {subject}"),
        }
    return out


def _moment(as_of: dt.date) -> dt.datetime:
    """The moment a day's figures are of: now for today, the end of the day for a past one (naive UTC)."""
    return min(utcnow(), _end_utc(as_of))


def _hazards(ids: list[int], as_of: dt.date) -> dict[int, dict[str, Value]]:
    counts = hazard_counts(ids, _moment(as_of))  # as the hazards' event log stood then
    out = {}
    for e in ids:
        c = counts.get(e) or {}
        major_open, major_overdue = int(c.get("major_open") or 0), int(c.get("major_overdue") or 0)
        # ``open`` and ``overdue`` count every grade: the general ones are what is left after the major ones.
        general_open = max(0, int(c.get("open") or 0) - major_open)
        general_overdue = max(0, int(c.get("overdue") or 0) - major_overdue)
        out[e] = {
            "hazards_open": Value(general_open, str(general_open)),
            "hazards_overdue": Value(general_overdue, str(general_overdue)),
            "major_open": Value(major_open, str(major_open)),
            "major_overdue": Value(major_overdue, str(major_overdue)),
        }
    return out


def _permits(ids: list[int], as_of: dt.date) -> dict[int, dict[str, Value]]:
    since = as_of - dt.timedelta(days=PERMIT_WINDOW_DAYS - 1)
    # {(enterprise id, "YYYY-MM"): (checked, refused)}, by the enterprises' local check dates, both ends included
    totals: dict[int, list[int]] = {e: [0, 0] for e in ids}
    for (ent_id, _month), (checked, refused) in permit_counts(ids, since, as_of).items():
        if ent_id in totals:
            totals[ent_id][0] += int(checked)
            totals[ent_id][1] += int(refused)
    return {
        e: {"permits_refused": Value(refused / checked if checked else None, f"{refused} / {checked}")}
        for e, (checked, refused) in totals.items()
    }


def _culture(ids: list[int], as_of: dt.date) -> dict[int, dict[str, Value]]:
    """The latest evaluation (culture or demonstration post) published by ``as_of``: one grouped query."""
    ranked = (
        select(
            Campaign.id.label("campaign_id"),
            Campaign.enterprise_id,
            func.row_number()
            .over(
                partition_by=Campaign.enterprise_id,
                order_by=(Campaign.published_at.desc(), Campaign.id.desc()),
            )
            .label("rn"),
        )
        .where(
            Campaign.enterprise_id.in_(ids),
            Campaign.status.in_(FROZEN_STEPS),
            Campaign.published_at.is_not(None),
            Campaign.published_at < _end_utc(as_of),
        )
        .subquery()
    )
    rows = db.session.execute(
        select(
            ranked.c.enterprise_id,
            Campaign.name,
            Framework.max_points,
            func.avg(CampaignUnit.score).label("average"),
        )
        .join(Campaign, Campaign.id == ranked.c.campaign_id)
        .join(Framework, Framework.id == Campaign.framework_id)
        .join(CampaignUnit, CampaignUnit.campaign_id == Campaign.id)
        .where(ranked.c.rn == 1, CampaignUnit.score.is_not(None))
        .group_by(ranked.c.enterprise_id, Campaign.name, Framework.max_points)
    ).all()
    found = {}
    for ent_id, name, max_points, average in rows:
        top = float(max_points or 100) or 100.0
        share = min(1.0, max(0.0, float(average) / top))
        found[ent_id] = Value(share, f"{name} · {float(average):.1f} / {top:g}")
    return {e: {"culture": found.get(e, Value(None))} for e in ids}


def factor_values(enterprise_ids: list[int], as_of: dt.date) -> dict[int, dict[str, Value]]:
    """Every factor's value for each enterprise at ``as_of`` (enterprise id → factor key → Value)."""
    ids = sorted(set(enterprise_ids))
    if not ids:
        return {}
    out: dict[int, dict[str, Value]] = {e: {} for e in ids}
    for part in (_training(ids, as_of), _hazards(ids, as_of), _permits(ids, as_of), _culture(ids, as_of)):
        for e, values in part.items():
            out[e].update(values)
    for e, high in db.session.execute(
        select(Enterprise.id, Enterprise.high_risk).where(Enterprise.id.in_(ids))
    ):
        out[e]["high_risk"] = Value(1.0 if high else 0.0)
    return out


# ---------------------------------------------------------------- scoring


@dataclass
class Line:
    factor: Factor
    value: Value
    weight: Decimal
    full_at: Decimal | None
    level: float
    contribution: float  # points of the 0–100 score


@dataclass
class Score:
    total: float
    band: str
    band_label: Any
    lines: list[Line] = field(default_factory=list)

    @property
    def colour(self) -> str:
        return BAND_COLOURS[self.band]


def level_of(f: Factor, value: float | None, full_at: Decimal | None) -> float:
    """A factor's level 0..1 from its raw value."""
    if value is None:
        return f.missing
    if f.kind == COUNT:
        return min(1.0, float(value) / float(full_at or 1))
    v = min(1.0, max(0.0, float(value)))
    return 1.0 - v if f.inverse else v


def band_of(total: float) -> tuple[str, Any]:
    for low, key, label in BANDS:
        if total >= low:
            return key, label
    return BANDS[-1][1], BANDS[-1][2]


def score(values: dict[str, Value], weights: dict[str, Weight]) -> Score:
    """The coefficient and each factor's part of it."""
    total_weight = sum((w.weight for w in weights.values()), Decimal(0))
    lines = []
    for f in FACTORS:
        w = weights[f.key]
        v = values.get(f.key) or Value(None, available=False)
        level = level_of(f, v.value, w.full_at)
        part = 100.0 * float(w.weight) * level / float(total_weight) if total_weight else 0.0
        lines.append(Line(f, v, w.weight, w.full_at, level, part))
    total = round(sum(line.contribution for line in lines), 1)
    band, label = band_of(total)
    return Score(total, band, label, lines)


def ranking(
    enterprise_ids: list[int],
    as_of: dt.date,
    weights: dict[str, Weight],
    *,
    industry: str | None = None,
    region: str | None = None,
    listed_only: bool = False,
) -> list[dict[str, Any]]:
    """The enterprises (filtered by industry and region), highest risk first, with their open listing."""
    q = select(Enterprise).where(Enterprise.id.in_(enterprise_ids)).order_by(Enterprise.code)
    if industry:
        q = q.where(Enterprise.industry == industry)
    if region:
        q = q.where(Enterprise.region == region)
    ents = list(db.session.scalars(q))
    listings = open_listings([e.id for e in ents])
    if listed_only:
        ents = [e for e in ents if e.id in listings]
    values = factor_values([e.id for e in ents], as_of)
    rows = []
    for e in ents:
        s = score(values[e.id], weights)
        rows.append({"enterprise": e, "score": s, "listing": listings.get(e.id)})
    rows.sort(key=lambda r: (-r["score"].total, r["enterprise"].code))
    return rows


def filter_choices(enterprise_ids: list[int]) -> tuple[list[str], list[str]]:
    """The industries and regions among the enterprises (for the filters)."""
    rows = db.session.execute(
        select(Enterprise.industry, Enterprise.region).where(Enterprise.id.in_(enterprise_ids))
    ).all()
    return sorted({i for i, _ in rows if i}), sorted({r for _, r in rows if r})


# ---------------------------------------------------------------- monthly snapshots


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_end(first: dt.date) -> dt.date:
    nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return nxt - dt.timedelta(days=1)


def months_back(today: dt.date, n: int) -> list[dt.date]:
    """The first days of the last ``n`` months, oldest first, the current month last."""
    out = [month_start(today)]
    while len(out) < n:
        out.append(month_start(out[-1] - dt.timedelta(days=1)))
    return list(reversed(out))


def snapshot_day(month: dt.date, today: dt.date) -> dt.date:
    """The day a month's values are of: its last day, or today while it runs."""
    first = month_start(month)
    if first > today:
        raise DomainError(_l("A month in the future has no figures yet."))
    return min(month_end(first), today)


def take_snapshot(enterprise_ids: list[int], month: dt.date, today: dt.date) -> int:
    """Store each factor's value for ``month`` (at its last day, or at ``today`` while it runs); return the
    number of enterprises stored. A month taken again replaces what was kept for it."""
    as_of = snapshot_day(month, today)
    ids = sorted(set(enterprise_ids))
    return store_snapshot(factor_values(ids, as_of), month_start(month), as_of)


def store_snapshot(values: dict[int, dict[str, Value]], first: dt.date, as_of: dt.date) -> int:
    """Keep computed ``factor_values`` as the month starting ``first`` (replacing what was kept)."""
    ids = sorted(values)
    if not ids:
        return 0
    db.session.execute(
        delete(RiskSnapshot).where(RiskSnapshot.enterprise_id.in_(ids), RiskSnapshot.month == first)
    )
    now = utcnow()
    for e in ids:
        for key, v in values[e].items():
            if v.available:
                db.session.add(
                    RiskSnapshot(
                        enterprise_id=e, month=first, factor=key, value=v.value, as_of=as_of, taken_at=now
                    )
                )
    db.session.flush()
    return len(ids)


# Above this many person-months to evaluate, the missing months are kept by a background job (the page does not
# wait for a dozen status evaluations of a large enterprise).
INLINE_PERSON_MONTHS = 10_000
SNAPSHOT_JOB = "oversight-snapshots"


def fill_missing(enterprise_id: int, months: list[dt.date], today: dt.date) -> bool:
    """Keep ``months`` of the enterprise now, or in a background job when that is much work; return whether
    it was left to a job (one at a time per enterprise: not while one is waiting or running)."""
    from lms.core.jobs import QUEUED, RUNNING, Job, enqueue
    from lms.org.models import Person

    people = db.session.scalar(
        select(func.count()).select_from(Person).where(Person.enterprise_id == enterprise_id)
    )
    if (people or 0) * len(months) <= INLINE_PERSON_MONTHS:
        for month in months:
            take_snapshot([enterprise_id], month, today)
        return False
    waiting = db.session.scalar(
        select(func.count()).where(
            Job.kind == SNAPSHOT_JOB, Job.enterprise_id == enterprise_id, Job.status.in_((QUEUED, RUNNING))
        )
    )
    if not waiting:
        enqueue(
            fill_months,
            enterprise_id,
            [m.isoformat() for m in months],
            today.isoformat(),
            kind=SNAPSHOT_JOB,
            enterprise_id=enterprise_id,
        )
    return True


def fill_months(ctx: Any, enterprise_id: int, months: list[str], today: str) -> dict[str, Any]:
    """Job: keep the given months of one enterprise; each is computed in a read unit and stored in a short write
    unit of its own, so that on SQLite writers are not locked out while the status is evaluated."""
    from lms.core.db import READ, WRITE

    day = dt.date.fromisoformat(today)
    for n, iso in enumerate(sorted(months), 1):
        first = dt.date.fromisoformat(iso)
        as_of = snapshot_day(first, day)
        with ctx.unit(READ):
            values = factor_values([enterprise_id], as_of)
        with ctx.unit(WRITE):
            store_snapshot(values, month_start(first), as_of)
        ctx.progress(100 * n / len(months), iso)
    return {"months": len(months)}


def missing_months(enterprise_id: int, today: dt.date, n: int = 12) -> list[dt.date]:
    """Closed months of the last ``n`` without a snapshot of the enterprise."""
    months = months_back(today, n)[:-1]
    kept = set(
        db.session.scalars(
            select(RiskSnapshot.month)
            .where(RiskSnapshot.enterprise_id == enterprise_id, RiskSnapshot.month.in_(months))
            .distinct()
        )
    )
    return [m for m in months if m not in kept]


def trend(
    enterprise_id: int, today: dt.date, weights: dict[str, Weight], current: Score | None = None, n: int = 12
) -> list[dict[str, Any]]:
    """The score month by month (kept snapshots scored with ``weights``; the current month live)."""
    months = months_back(today, n)
    kept: dict[dt.date, dict[str, Value]] = {}
    for snap in db.session.scalars(
        select(RiskSnapshot)
        .where(RiskSnapshot.enterprise_id == enterprise_id, RiskSnapshot.month.in_(months))
        .order_by(RiskSnapshot.month, RiskSnapshot.factor)
    ):
        kept.setdefault(snap.month, {})[snap.factor] = Value(snap.value)
    out = []
    for m in months:
        if m == months[-1] and current is not None:
            s: Score | None = current
        elif m in kept:
            s = score(kept[m], weights)
        else:
            s = None
        out.append({"month": m, "label": m.strftime("%y-%m"), "score": s})
    return out


# ---------------------------------------------------------------- listed supervision


MAX_REASON = 2000


def open_listings(enterprise_ids: list[int]) -> dict[int, Listing]:
    """The open listing of each enterprise that has one."""
    if not enterprise_ids:
        return {}
    return {
        x.enterprise_id: x
        for x in db.session.scalars(
            select(Listing).where(Listing.enterprise_id.in_(enterprise_ids), Listing.lifted_at.is_(None))
        )
    }


def listings_of(enterprise_id: int) -> list[Listing]:
    """Every listing of the enterprise, newest first."""
    return list(
        db.session.scalars(
            select(Listing)
            .where(Listing.enterprise_id == enterprise_id)
            .order_by(Listing.listed_at.desc(), Listing.id.desc())
        )
    )


def list_enterprise(enterprise: Enterprise, reason: str, deadline_at: dt.datetime, actor: User) -> Listing:
    """Put the enterprise under listed supervision until it is lifted (``deadline_at`` naive UTC)."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Give the reason for the listing."))
    if len(reason) > MAX_REASON:
        raise DomainError(_l("The reason is too long (at most %(n)d characters).", n=MAX_REASON))
    if deadline_at <= utcnow():
        raise DomainError(_l("The deadline must lie in the future."))
    if open_listings([enterprise.id]):
        raise Conflict(_l("The enterprise is already under listed supervision."))
    listing = Listing(
        enterprise_id=enterprise.id,
        reason=reason,
        deadline_at=deadline_at,
        listed_at=utcnow(),
        listed_by_id=actor.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(listing)
            db.session.flush()
    except IntegrityError:  # listed a moment ago by someone else (the partial unique index)
        raise Conflict(_l("The enterprise is already under listed supervision.")) from None
    deadline = timeutil.format_local(deadline_at, enterprise, "%Y-%m-%d")
    _tell_managers(
        enterprise.id,
        f"listing:{listing.id}:listed",
        msg(
            "Your enterprise is under listed supervision until %(day)s: %(reason)s",
            day=deadline,
            reason=reason,
        ),
    )
    return listing


def _tell_managers(enterprise_id: int, key: str, message: Any) -> None:
    """Notify the enterprise's safety managers at once (in-app, e-mail when set up), in this unit of work."""
    managers = db.session.scalars(
        select(User.id).where(
            User.enterprise_id == enterprise_id, User.app_role == MANAGER, User.is_enabled.is_(True)
        )
    )
    link = "/oversight/supervision"
    events = [
        {"kind": "listed", "key": key, "message": message, "user_id": uid, "link": link, "body": None}
        for uid in managers
    ]
    if events:
        signals.notify.send(None, enterprise_id=enterprise_id, events=events)


def lift(listing: Listing, note: str, actor: User) -> Listing:
    """Lift a listing, with the note that says why."""
    note = (note or "").strip()
    if not note:
        raise DomainError(_l("Say why the listing is lifted."))
    if len(note) > MAX_REASON:
        raise DomainError(_l("The note is too long (at most %(n)d characters).", n=MAX_REASON))
    if listing.lifted_at is not None:
        raise Conflict(_l("This listing was lifted already."))
    listing.lifted_at = utcnow()
    listing.lifted_by_id = actor.id
    listing.lift_note = note
    db.session.flush()
    _tell_managers(
        listing.enterprise_id,
        f"listing:{listing.id}:lifted",
        msg("The listed supervision of your enterprise is lifted: %(note)s", note=note),
    )
    return listing
