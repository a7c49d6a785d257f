"""Culture pages: dashboard, frameworks, campaigns and scoring, results and reports, safety notices."""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext, pgettext
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import Select, bindparam, func, select

from lms.core import timeutil
from lms.core.db import db
from lms.core.errors import Conflict, DomainError, NotFound
from lms.core.exports import xlsx_bytes
from lms.core.nav import nav_item
from lms.core.permissions import roles
from lms.core.storage import StoredFile, send_stored
from lms.culture import bp, notices, report
from lms.culture.campaigns import (
    campaign_snapshot,
    can_view,
    can_view_results,
    candidate_units,
    create_campaign,
    evaluator_ids,
    is_evaluator,
    is_manager,
    quarter_of,
    scoring_stage,
    set_evaluators,
    set_units,
)
from lms.culture.forms import (
    CampaignForm,
    FrameworkForm,
    FrameworkSettingsForm,
    IndicatorForm,
    NoticeForm,
    PublicityForm,
)
from lms.culture.frameworks import (
    copy_framework,
    create_framework,
    delete_indicator,
    framework_in_use,
    indicator_tree,
    install_preset,
    parse_bands,
    save_indicator,
    update_framework,
    validate_weights,
)
from lms.culture.indicators import METRICS, metric_choices
from lms.culture.labels import STEP_LABELS
from lms.culture.lifecycle import advance, indicator_preview
from lms.culture.models import (
    CAMPAIGN_STEPS,
    DRAFT,
    FROZEN_STEPS,
    LAYERS,
    STAGE_REVIEW,
    STAGE_SELF,
    Campaign,
    CampaignUnit,
    Framework,
    Indicator,
    Notice,
    NoticeAck,
    Score,
    ScoreAttachment,
)
from lms.culture.presets import PRESETS
from lms.culture.results import auto_values, culture_index, radar_axes, ranked_units, trends, unit_trend
from lms.culture.score_entry import (
    complete_review,
    missing_scores,
    record_scores,
    scorable_indicators,
    scores_of,
    submit_self_assessment,
)
from lms.org.access import (
    EVERYONE_IN_ENTERPRISE,
    MANAGERS,
    acting_enterprise,
    acting_enterprise_id,
    get_scoped,
)
from lms.org.models import ADMIN, EVALUATOR, MANAGER, User
from lms.org.services import set_audience_choices


@functools.cache
def _unacknowledged_stmt() -> Select:
    """``notices.unacknowledged_count`` as a Core statement built once: the menu shows it on every page.

    Core rather than ORM (no entities to build: a sixth of the cost), bound ``person_id``, and served by the
    index ``ix_notice_ack_person_ack`` (person_id, acknowledged_at) plus the notice's primary key.
    """
    ack, notice = NoticeAck.__table__, Notice.__table__
    return (
        select(func.count())
        .select_from(ack.join(notice, notice.c.id == ack.c.notice_id))
        .where(
            ack.c.person_id == bindparam("person_id"),
            ack.c.acknowledged_at.is_(None),
            notice.c.status == "published",
        )
    )


def unacknowledged_badge_count(person_id: int | None) -> int:
    """The number on the "Notices" menu entry (same rule as ``notices.unacknowledged_count``)."""
    if not person_id:
        return 0
    return int(db.session.execute(_unacknowledged_stmt(), {"person_id": person_id}).scalar() or 0)


class _NoticesLabel:
    """The "Notices" menu label, with the number of notices the user has not acknowledged."""

    def __str__(self) -> str:
        return str(_l("Notices"))

    def __html__(self) -> str:
        label = escape(str(_l("Notices")))
        try:
            n = unacknowledged_badge_count(getattr(current_user, "person_id", None))
        except Exception:  # the menu must never break a page
            n = 0
        if n:
            return str(Markup('{} <span class="badge badge-overdue">{}</span>').format(label, n))
        return str(label)


nav_item("culture.notices_list", _NoticesLabel(), EVERYONE_IN_ENTERPRISE, order=60)
nav_item("culture.dashboard", lazy_pgettext("menu", "Safety culture"), EVERYONE_IN_ENTERPRISE, order=62)

# What each action did (a step's name alone read "Done: Self-assessment" right as the self-assessment opened).
ACTION_DONE = {
    "start_self_assessment": _l("The self-assessment has started: unit leaders can score their unit now."),
    "start_review": _l("The review has started: evaluators can give the final scores now."),
    "calculate": _l("The results are calculated."),
    "reopen_review": _l("The review is open again."),
    "publish": _l("The results are published."),
    "award": _l("The titles are awarded."),
    "close": _l("The campaign is closed."),
}
UNIT_KIND_LABELS = {
    "post": _l("Posts"),
    "department": _l("Departments or teams"),
    "department_post": _l("Posts within departments"),
}
KIND_LABELS = {
    "group": _l("Group"),
    "automatic": _l("Automatic"),
    "manual": _l("Manual score"),
    "deduction": _l("Deduction"),
    "veto": _l("Veto (一票否决)"),
}


SOURCE_LABELS = [
    ("lms.training", _l("From training requirements and coverage")),
    ("quizzes", _l("From exam results")),
    ("lms.offline", _l("From classroom attendance")),
    ("ledger", _l("From the training ledger")),
    ("notice", _l("From notice acknowledgements")),
    ("notices", _l("From notice acknowledgements")),
]


def source_label(method: str | None) -> Any:
    """Say in words where an automatic value came from (the stored method keeps the technical detail)."""
    for prefix, label in SOURCE_LABELS:
        if method and method.startswith(prefix):
            return label
    return method or ""


def indicator_value(indicator: Any, value: Any) -> Any:
    """An automatic indicator's value as a person reads it: a ratio as a percentage (64.3%, never 0.6429)."""
    from lms.culture.indicators import METRICS

    if value is None:
        return "—"
    config = (
        indicator.get("config") if isinstance(indicator, dict) else getattr(indicator, "config", None)
    ) or {}
    metric = METRICS.get(config.get("metric") or "")
    if metric is not None and metric.unit == "ratio" and not isinstance(value, bool):
        return f"{float(value) * 100:.1f}%"
    return value


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {
        "source_label": source_label,
        "indicator_value": indicator_value,
        "culture_steps": STEP_LABELS,
        "culture_kinds": KIND_LABELS,
        "culture_unit_kinds": UNIT_KIND_LABELS,
    }


def _is_manager() -> bool:
    return current_user.app_role in MANAGERS


def _campaign(campaign_id: int) -> Campaign:
    campaign = get_scoped(Campaign, campaign_id)
    if not can_view(campaign, current_user):
        abort(404)
    return campaign


def _unit(campaign: Campaign, unit_id: int) -> CampaignUnit:
    unit = db.session.get(CampaignUnit, unit_id)
    if unit is None or unit.campaign_id != campaign.id:
        abort(404)
    return unit


# ---------------------------------------------------------------- dashboard


@bp.route("/")
@roles(*EVERYONE_IN_ENTERPRISE)
def dashboard():
    ent_id = acting_enterprise_id()
    index = culture_index(ent_id)
    latest_post = db.session.scalar(
        select(Campaign)
        .join(Framework, Framework.id == Campaign.framework_id)
        .where(Campaign.enterprise_id == ent_id, Framework.kind == "post", Campaign.status.in_(FROZEN_STEPS))
        .order_by(Campaign.period_start.desc(), Campaign.id.desc())
        .limit(1)
    )
    culture_trend = [(t["campaign"].name, float(t["average"] or 0)) for t in trends(ent_id, "culture")]
    post_trend = [(t["campaign"].name, float(t["average"] or 0)) for t in trends(ent_id, "post")]
    my_unread = notices.unacknowledged_count(current_user.person_id)
    return render_template(
        "culture/dashboard.html",
        index=index,
        latest_post=latest_post,
        ranked=ranked_units(latest_post) if latest_post else [],
        culture_trend=culture_trend,
        post_trend=post_trend,
        my_unread=my_unread,
        to_score=_to_score(current_user),
    )


# ---------------------------------------------------------------- frameworks


@bp.route("/frameworks")
@roles(*MANAGERS)
def frameworks():
    rows = db.session.scalars(
        select(Framework).where(Framework.enterprise_id == acting_enterprise_id()).order_by(Framework.id)
    ).all()
    return render_template(
        "culture/frameworks.html",
        frameworks=rows,
        presets=PRESETS.values(),
        form=FrameworkForm(),
        in_use={f.id: framework_in_use(f) for f in rows},
    )


@bp.route("/frameworks/preset", methods=["POST"])
@roles(*MANAGERS)
def framework_preset():
    key = request.form.get("key", "")
    ent_id = acting_enterprise_id()
    name = None
    if db.session.scalar(
        select(Framework.id).where(Framework.enterprise_id == ent_id, Framework.preset == key)
    ):
        name = f"{PRESETS[key]['name'] if key in PRESETS else key} ({timeutil.today().isoformat()})"
    fw = install_preset(ent_id, key, name=name)
    flash(_("Preset installed."), "success")
    return redirect(url_for("culture.framework", framework_id=fw.id))


@bp.route("/frameworks/new", methods=["POST"])
@roles(*MANAGERS)
def framework_new():
    form = FrameworkForm()
    if not form.validate_on_submit():
        raise DomainError(_("A name is required."))
    fw = create_framework(
        acting_enterprise_id(), form.name.data, form.kind.data, description=form.description.data or None
    )
    return redirect(url_for("culture.framework", framework_id=fw.id))


def _indicator_form(fw: Framework, ind: Indicator | None = None) -> IndicatorForm:
    form = IndicatorForm(formdata=request.form if request.method == "POST" else None)
    groups = [i for i in fw.indicators if i.kind == "group" and (ind is None or i.id != ind.id)]
    form.parent_id.choices = [(0, _("(top level)"))] + [
        (g.id, f"{g.code or ''} {g.name}".strip()) for g in groups
    ]
    form.layer.choices = [("", "—")] + [(v, v) for v in LAYERS]
    form.metric.choices = [("", "—")] + [(k, str(label)) for k, label in metric_choices()]
    if ind is not None and request.method != "POST":
        cfg = ind.config or {}
        mapping = cfg.get("mapping") or {}
        form.name.data, form.code.data, form.parent_id.data = ind.name, ind.code, ind.parent_id or 0
        form.kind.data, form.weight.data, form.layer.data = ind.kind, ind.weight, ind.layer or ""
        form.metric.data, form.description.data = cfg.get("metric", ""), ind.description
        form.mapping_type.data = mapping.get("type", "linear")
        form.zero.data = Decimal(str(mapping["zero"])) if "zero" in mapping else None
        form.full.data = Decimal(str(mapping["full"])) if "full" in mapping else None
        form.bands.data = ", ".join(f"{t}:{p}" for t, p in mapping.get("bands", []))
        form.lower_is_better.data = bool(mapping.get("lower_is_better"))
        form.scale_max.data = Decimal(str(cfg["scale_max"])) if "scale_max" in cfg else None
        form.points_per.data = Decimal(str(cfg["points_per"])) if "points_per" in cfg else None
        form.cap.data = Decimal(str(cfg["cap"])) if "cap" in cfg else None
    return form


@bp.route("/frameworks/<int:framework_id>")
@roles(*MANAGERS)
def framework(framework_id: int):
    fw = get_scoped(Framework, framework_id)
    edit_id = request.args.get("edit", type=int)
    editing = db.session.get(Indicator, edit_id) if edit_id else None
    if editing is not None and editing.framework_id != fw.id:
        abort(404)
    settings = FrameworkSettingsForm(
        formdata=None,
        name=fw.name,
        description=fw.description,
        award_threshold=fw.award_threshold,
        bands="\n".join(f"{b['min']:g} {b['label']}" for b in fw.bands or []),
    )
    problem = None
    try:
        validate_weights(fw)
    except DomainError as exc:
        problem = exc.message
    return render_template(
        "culture/framework.html",
        fw=fw,
        tree=indicator_tree(fw.indicators),
        form=_indicator_form(fw, editing),
        editing=editing,
        settings=settings,
        locked=framework_in_use(fw),
        problem=problem,
        metrics=METRICS,
    )


@bp.route("/frameworks/<int:framework_id>/settings", methods=["POST"])
@roles(*MANAGERS)
def framework_settings(framework_id: int):
    fw = get_scoped(Framework, framework_id)
    form = FrameworkSettingsForm()
    if not form.validate_on_submit():
        raise DomainError(_("Check the name, the threshold and the bands."))
    update_framework(
        fw,
        name=form.name.data,
        award_threshold=form.award_threshold.data,
        bands=parse_bands(form.bands.data),
        description=form.description.data or None,
    )
    flash(_("Saved."), "success")
    return redirect(url_for("culture.framework", framework_id=fw.id))


def _parse_bands_field(text: str) -> list[list[float]]:
    out = []
    for part in (text or "").replace("，", ",").split(","):
        if not part.strip():
            continue
        threshold, _sep, pct = part.replace("：", ":").partition(":")
        try:
            out.append([float(threshold), float(pct)])
        except ValueError:
            raise DomainError(_("Write bands as threshold:percent, for example 0.95:90, 0.9:80.")) from None
    return out


@bp.route("/frameworks/<int:framework_id>/indicators", methods=["POST"])
@roles(*MANAGERS)
def indicator_save(framework_id: int):
    fw = get_scoped(Framework, framework_id)
    ind_id = request.form.get("indicator_id", type=int)
    ind = db.session.get(Indicator, ind_id) if ind_id else None
    if ind_id and (ind is None or ind.framework_id != fw.id):
        abort(404)
    form = _indicator_form(fw, ind)
    if not form.validate():
        raise DomainError("; ".join(f"{form[k].label.text}: {v[0]}" for k, v in form.errors.items()))
    mapping = None
    if form.kind.data == "automatic" and form.metric.data:
        if form.mapping_type.data == "bands":
            mapping = {
                "type": "bands",
                "bands": _parse_bands_field(form.bands.data),
                "lower_is_better": bool(form.lower_is_better.data),
            }
        elif form.zero.data is not None and form.full.data is not None:
            mapping = {"type": "linear", "zero": float(form.zero.data), "full": float(form.full.data)}
    save_indicator(
        fw,
        indicator=ind,
        name=form.name.data,
        kind=form.kind.data,
        parent_id=form.parent_id.data or None,
        weight=form.weight.data or 0,
        layer=form.layer.data or None,
        code=form.code.data,
        description=form.description.data,
        metric=form.metric.data or None,
        mapping=mapping,
        scale_max=form.scale_max.data,
        points_per=form.points_per.data,
        cap=form.cap.data,
    )
    flash(_("Indicator saved."), "success")
    return redirect(url_for("culture.framework", framework_id=fw.id))


@bp.route("/frameworks/<int:framework_id>/indicators/<int:indicator_id>/delete", methods=["POST"])
@roles(*MANAGERS)
def indicator_delete(framework_id: int, indicator_id: int):
    fw = get_scoped(Framework, framework_id)
    ind = db.session.get(Indicator, indicator_id)
    if ind is None or ind.framework_id != fw.id:
        abort(404)
    delete_indicator(ind)
    flash(_("Indicator deleted."), "success")
    return redirect(url_for("culture.framework", framework_id=fw.id))


@bp.route("/frameworks/<int:framework_id>/copy", methods=["POST"])
@roles(*MANAGERS)
def framework_copy(framework_id: int):
    fw = get_scoped(Framework, framework_id)
    copy_word = _("copy")
    new = copy_framework(fw, f"{fw.name} ({copy_word})")
    return redirect(url_for("culture.framework", framework_id=new.id))


# ---------------------------------------------------------------- campaigns


def _to_score(user: User) -> list[tuple[Campaign, CampaignUnit, str]]:
    """The units waiting for ``user``'s scores (评分): at the review step those of the campaigns they evaluate
    not yet reviewed; at the self-assessment step the units they lead not yet handed in."""
    running = db.session.scalars(
        select(Campaign)
        .where(
            Campaign.enterprise_id == user.enterprise_id, Campaign.status.in_(("self_assessment", "review"))
        )
        .order_by(Campaign.period_start.desc(), Campaign.id.desc())
    ).all()
    out = []
    for c in running:
        evaluator = c.status == "review" and is_evaluator(c, user)
        for u in c.units:
            if evaluator and u.reviewed_at is None:
                out.append((c, u, STAGE_REVIEW))
            elif (
                c.status == "self_assessment" and u.leader_user_id == user.id and u.self_submitted_at is None
            ):
                out.append((c, u, STAGE_SELF))
    return out


@bp.route("/campaigns")
@roles(*EVERYONE_IN_ENTERPRISE)
def campaigns():
    rows = db.session.scalars(
        select(Campaign)
        .where(Campaign.enterprise_id == acting_enterprise_id())
        .order_by(Campaign.period_start.desc(), Campaign.id.desc())
    ).all()
    visible = [c for c in rows if can_view(c, current_user)]
    return render_template("culture/campaigns.html", campaigns=visible, to_score=_to_score(current_user))


def _evaluator_choices(ent_id: int) -> list[tuple[int, str]]:
    users = db.session.scalars(
        select(User)
        .where(User.enterprise_id == ent_id, User.app_role.in_((EVALUATOR, MANAGER)), User.is_enabled)
        .order_by(User.app_role, User.display_name)
    ).all()
    return [(u.id, f"{u.display_name} ({_(u.app_role.capitalize())})") for u in users]


@bp.route("/campaigns/new", methods=["GET", "POST"])
@roles(*MANAGERS)
def campaign_new():
    ent_id = acting_enterprise_id()
    form = CampaignForm()
    fws = db.session.scalars(
        select(Framework).where(Framework.enterprise_id == ent_id).order_by(Framework.id)
    ).all()
    form.framework_id.choices = [(f.id, f.name) for f in fws]
    form.evaluators.choices = _evaluator_choices(ent_id)
    if request.method == "GET":
        year, quarter = quarter_of(timeutil.today())
        form.year.data, form.quarter.data = year, quarter
        form.name.data = f"{year}年第{quarter}季度安全示范岗评选"
    if form.validate_on_submit():
        fw = get_scoped(Framework, form.framework_id.data)
        units = [(u["department_id"], u["post_id"]) for u in candidate_units(ent_id, form.unit_kind.data)]
        campaign = create_campaign(
            ent_id,
            fw,
            name=form.name.data,
            period_kind=form.period_kind.data,
            year=form.year.data,
            quarter=form.quarter.data,
            unit_kind=form.unit_kind.data,
            units=units,
            evaluator_ids=form.evaluators.data or [],
            actor=current_user,
            award_threshold=form.award_threshold.data,
        )
        flash(
            _("Campaign created. Check the units and evaluators, then start the self-assessment."), "success"
        )
        return redirect(url_for("culture.campaign", campaign_id=campaign.id))
    if not fws:
        flash(_("Install a framework first."), "warning")
    return render_template("culture/campaign_new.html", form=form)


@bp.route("/campaigns/<int:campaign_id>")
@roles(*EVERYONE_IN_ENTERPRISE)
def campaign(campaign_id: int):
    c = _campaign(campaign_id)
    manager = is_manager(c, current_user)
    candidates = candidate_units(c.enterprise_id, c.unit_kind) if manager and c.status == DRAFT else []
    chosen = {(u.department_id, u.post_id) for u in c.units}
    ev_ids = evaluator_ids(c)
    evaluators = db.session.scalars(select(User).where(User.id.in_(ev_ids))).all() if ev_ids else []
    stages = {u.id: scoring_stage(c, u, current_user) for u in c.units}
    missing = (
        {u.id: len(missing_scores(c, u)) for u in c.units}
        if c.status in ("self_assessment", "review")
        else {}
    )
    leaders = {u.id: db.session.get(User, u.leader_user_id) for u in c.units if u.leader_user_id}
    return render_template(
        "culture/campaign.html",
        c=c,
        manager=manager,
        candidates=candidates,
        chosen=chosen,
        evaluators=evaluators,
        stages=stages,
        missing=missing,
        leaders=leaders,
        steps=CAMPAIGN_STEPS,
        evaluator_choices=_evaluator_choices(c.enterprise_id) if manager else [],
        ev_ids=ev_ids,
        can_results=can_view_results(c, current_user),
    )


@bp.route("/campaigns/<int:campaign_id>/setup", methods=["POST"])
@roles(*MANAGERS)
def campaign_setup(campaign_id: int):
    c = get_scoped(Campaign, campaign_id)
    units = []
    for raw in request.form.getlist("unit"):
        d, _sep, p = raw.partition(":")
        units.append((int(d) if d.isdigit() else None, int(p) if p.isdigit() else None))
    set_units(c, units)
    set_evaluators(c, [int(x) for x in request.form.getlist("evaluator") if x.isdigit()])
    flash(_("Saved."), "success")
    return redirect(url_for("culture.campaign", campaign_id=c.id))


@bp.route("/campaigns/<int:campaign_id>/action", methods=["POST"])
@roles(*MANAGERS)
def campaign_action(campaign_id: int):
    c = get_scoped(Campaign, campaign_id)
    action = request.form.get("action", "")
    advance(c, action)
    flash(str(ACTION_DONE.get(action, _("Saved."))), "success")
    if action == "calculate" and c.provisional:
        flash(
            _(
                "The period ends on %(end)s: these results are provisional. Calculate again after it to publish.",
                end=c.period_end.isoformat(),
            ),
            "warning",
        )
    return redirect(url_for("culture.campaign", campaign_id=c.id))


@bp.route("/campaigns/<int:campaign_id>/units/<int:unit_id>/score", methods=["GET", "POST"])
@roles(*EVERYONE_IN_ENTERPRISE)
def unit_score(campaign_id: int, unit_id: int):
    c = _campaign(campaign_id)
    unit = _unit(c, unit_id)
    stage = scoring_stage(c, unit, current_user)
    if stage is None:
        abort(404)
    snap = campaign_snapshot(c)
    scorable = scorable_indicators(snap)
    if request.method == "POST":
        entries = {
            i["id"]: (request.form.get(f"value_{i['id']}"), request.form.get(f"note_{i['id']}"))
            for i in scorable
        }
        files = {}
        for i in scorable:
            uploads = [
                (f.stream, f.filename) for f in request.files.getlist(f"files_{i['id']}") if f and f.filename
            ]
            if uploads:
                files[i["id"]] = uploads
        record_scores(c, unit, entries, actor=current_user, files=files)
        what = request.form.get("then")
        if what == "submit" and stage == STAGE_SELF:
            submit_self_assessment(c, unit, current_user)
        elif what == "submit" and stage == STAGE_REVIEW:
            complete_review(c, unit, current_user)
        flash(_("Scores saved."), "success")
        return redirect(url_for("culture.unit_score", campaign_id=c.id, unit_id=unit.id))
    scores = scores_of(unit)
    autos = auto_values(unit)
    return render_template(
        "culture/unit_score.html",
        preview=indicator_preview(c, unit),
        c=c,
        unit=unit,
        stage=stage,
        snap=snap,
        tree=indicator_tree(snap["indicators"]),
        scorable={i["id"] for i in scorable},
        scores=scores,
        autos=autos,
        STAGE_SELF=STAGE_SELF,
        STAGE_REVIEW=STAGE_REVIEW,
    )


@bp.route("/campaigns/<int:campaign_id>/files/<int:attachment_id>")
@roles(*EVERYONE_IN_ENTERPRISE)
def evidence_file(campaign_id: int, attachment_id: int):
    c = _campaign(campaign_id)
    att = db.session.get(ScoreAttachment, attachment_id)
    score = db.session.get(Score, att.score_id) if att else None
    unit = db.session.get(CampaignUnit, score.unit_id) if score else None
    if unit is None or unit.campaign_id != c.id:
        abort(404)
    if not (
        is_manager(c, current_user) or is_evaluator(c, current_user) or unit.leader_user_id == current_user.id
    ):
        abort(404)
    stored = db.session.get(StoredFile, att.file_id)
    return send_stored(stored, download_name=stored.original_name)


def _results_campaign(campaign_id: int) -> Campaign:
    c = get_scoped(Campaign, campaign_id)
    if not can_view_results(c, current_user):
        abort(404)
    return c


@bp.route("/campaigns/<int:campaign_id>/results")
@roles(*EVERYONE_IN_ENTERPRISE)
def results(campaign_id: int):
    c = _results_campaign(campaign_id)
    ranked = ranked_units(c)
    radars = {u.id: radar_axes(c, u) for u in ranked}
    return render_template(
        "culture/results.html",
        c=c,
        ranked=ranked,
        radars=radars,
        trend=[
            (t["campaign"].name, float(t["average"] or 0)) for t in trends(c.enterprise_id, c.framework.kind)
        ],
    )


@bp.route("/campaigns/<int:campaign_id>/units/<int:unit_id>")
@roles(*EVERYONE_IN_ENTERPRISE)
def unit_result(campaign_id: int, unit_id: int):
    c = _results_campaign(campaign_id)
    unit = _unit(c, unit_id)
    snap = campaign_snapshot(c)
    return render_template(
        "culture/unit_result.html",
        c=c,
        unit=unit,
        tree=indicator_tree(snap["indicators"]),
        autos=auto_values(unit),
        radar=radar_axes(c, unit),
        trend=unit_trend(c.enterprise_id, c.framework.kind, unit),
        staff=is_manager(c, current_user) or is_evaluator(c, current_user),
    )


@bp.route("/campaigns/<int:campaign_id>/report.pdf")
@roles(*EVERYONE_IN_ENTERPRISE)
def report_pdf(campaign_id: int):
    c = _results_campaign(campaign_id)
    data = report.report_pdf(c)
    return _download(data, "application/pdf", f"{c.name}.pdf")


@bp.route("/campaigns/<int:campaign_id>/report.xlsx")
@roles(*EVERYONE_IN_ENTERPRISE)
def report_xlsx(campaign_id: int):
    c = _results_campaign(campaign_id)
    return _download(
        report.report_xlsx(c),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        f"{c.name}.xlsx",
    )


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    from lms.core.storage import content_disposition

    resp = Response(data, mimetype=mimetype)
    resp.headers["Content-Disposition"] = content_disposition(filename)  # a campaign name may hold "/"
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


# ---------------------------------------------------------------- notices


@bp.route("/notices")
@roles(*EVERYONE_IN_ENTERPRISE)
def notices_list():
    mine = notices.notices_for_person(current_user.person_id) if current_user.person_id else []
    managed, stats = [], {}
    if _is_manager():
        managed = db.session.scalars(
            select(Notice)
            .where(Notice.enterprise_id == acting_enterprise_id())
            .order_by(Notice.published_at.desc().nulls_first(), Notice.id.desc())
        ).all()
        stats = notices.ack_stats([n.id for n in managed])
    unread = sum(1 for _n, at in mine if at is None)
    return render_template("culture/notices.html", mine=mine, managed=managed, stats=stats, unread=unread)


def _notice_form(ent_id: int, notice: Notice | None = None) -> NoticeForm:
    form = NoticeForm()
    set_audience_choices(form, ent_id)
    if notice is not None and request.method == "GET":
        form.title.data, form.body.data, form.audience_all.data = (
            notice.title,
            notice.body_md,
            notice.audience_all,
        )
        form.departments.data = [t.ref_id for t in notice.targets if t.kind == "department"]
        form.posts.data = [t.ref_id for t in notice.targets if t.kind == "post"]
        form.roles.data = [t.ref_id for t in notice.targets if t.kind == "role"]
    return form


def _notice_people(ent_id: int, notice: Notice | None) -> dict:
    """The people picker of the notice form: named people chosen (posted, or the draft's), and search matches."""
    from lms.org.people_search import people_by_ids, search_people

    if request.method == "POST":
        chosen = people_by_ids(ent_id, request.form.getlist("person_ids"))
    elif notice is not None:
        chosen = people_by_ids(ent_id, [t.ref_id for t in notice.targets if t.kind == "person"])
    else:
        chosen = []
    q = (request.args.get("q") or "").strip()[:100]
    ids = {p.id for p in chosen}
    found = [p for p in search_people(ent_id, q) if p.id not in ids] if q else []
    return {"chosen": chosen, "found": found, "q": q}


@bp.route("/notices/new", methods=["GET", "POST"])
@bp.route("/notices/<int:notice_id>/edit", methods=["GET", "POST"])
@roles(*MANAGERS)
def notice_edit(notice_id: int | None = None):
    ent_id = acting_enterprise_id()
    notice = get_scoped(Notice, notice_id) if notice_id else None
    form = _notice_form(ent_id, notice)
    people = _notice_people(ent_id, notice)
    if form.validate_on_submit():
        targets = (
            [("department", i) for i in form.departments.data or []]
            + [("post", i) for i in form.posts.data or []]
            + [("role", i) for i in form.roles.data or []]
            + [("person", p.id) for p in people["chosen"]]
        )
        files = [(f.stream, f.filename) for f in request.files.getlist("files") if f and f.filename]
        notice = notices.save_notice(
            ent_id,
            title=form.title.data,
            body_md=form.body.data or "",
            targets=targets,
            audience_all=form.audience_all.data,
            actor=current_user,
            notice=notice,
            files=files,
        )
        publish = request.form.get("then") == "publish"
        if publish:
            n = notices.publish_notice(notice, current_user)
        flash(_("Published to %(n)d people.", n=n) if publish else _("Draft saved."), "success")
        return redirect(url_for("culture.notice", notice_id=notice.id))
    return render_template("culture/notice_form.html", form=form, notice=notice, **people)


@bp.route("/notices/<int:notice_id>")
@roles(*EVERYONE_IN_ENTERPRISE)
def notice(notice_id: int):
    n = get_scoped(Notice, notice_id)
    manager = _is_manager()
    my_ack = None
    from lms.culture.models import NoticeAck

    ack = db.session.get(NoticeAck, (n.id, current_user.person_id)) if current_user.person_id else None
    if not manager and (ack is None or n.status != "published"):
        abort(404)
    my_ack = ack
    stats = notices.ack_stats([n.id]).get(n.id, (0, 0)) if manager else None
    pending = notices.recipients(n, pending_only=True) if manager and n.status == "published" else []
    everyone = notices.recipients(n) if manager and n.status == "published" else []
    people = {"q": "", "found": [], "chosen": []}
    if manager and n.status == "published" and request.args.get("q"):
        from lms.org.people_search import search_people

        have = {p.id for p, _at in everyone}
        people["q"] = request.args.get("q", "").strip()[:100]
        people["found"] = [p for p in search_people(n.enterprise_id, people["q"]) if p.id not in have]
    return render_template(
        "culture/notice.html",
        n=n,
        manager=manager,
        my_ack=my_ack,
        stats=stats,
        pending=pending,
        everyone=everyone,
        people=people,
        targets=notices.target_labels(n),
        publicity_form=PublicityForm(formdata=None, held_on=timeutil.today()),
    )


@bp.route("/notices/<int:notice_id>/publish", methods=["POST"])
@roles(*MANAGERS)
def notice_publish(notice_id: int):
    n = get_scoped(Notice, notice_id)
    count = notices.publish_notice(n, current_user)
    flash(_("Published to %(n)d people.", n=count), "success")
    return redirect(url_for("culture.notice", notice_id=n.id))


@bp.route("/notices/<int:notice_id>/recipients", methods=["POST"])
@roles(*MANAGERS)
def notice_recipients_add(notice_id: int):
    """Address a published notice to more named people."""
    from lms.org.people_search import people_by_ids

    n = get_scoped(Notice, notice_id)
    people = people_by_ids(n.enterprise_id, request.form.getlist("person_ids"))
    if not people:
        raise DomainError(_("Tick the people to add."))
    count = notices.add_recipients(n, people)
    flash(_("%(n)d people added; they are asked to acknowledge the notice.", n=count), "success")
    return redirect(url_for("culture.notice", notice_id=n.id) + "#recipients")


@bp.route("/notices/<int:notice_id>/recipients/remove", methods=["POST"])
@roles(*MANAGERS)
def notice_recipient_remove(notice_id: int):
    n = get_scoped(Notice, notice_id)
    person_id = request.form.get("person_id", type=int)
    if not person_id:
        abort(400)
    if not 0 < person_id < 2**31:
        abort(404)
    try:
        notices.remove_recipient(n, person_id)
    except NotFound:
        abort(404)
    except Conflict:
        raise DomainError(_("Someone who has acknowledged the notice stays on its record.")) from None
    flash(_("Removed from the notice."), "success")
    return redirect(url_for("culture.notice", notice_id=n.id) + "#recipients")


@bp.route("/notices/<int:notice_id>/ack", methods=["POST"])
@roles(*EVERYONE_IN_ENTERPRISE)
def notice_ack(notice_id: int):
    n = get_scoped(Notice, notice_id)
    if not current_user.person_id:
        abort(404)
    try:
        notices.acknowledge(n, current_user.person_id)
    except DomainError:
        abort(404)
    flash(_("Acknowledged."), "success")
    return redirect(url_for("culture.notice", notice_id=n.id))


@bp.route("/notices/<int:notice_id>/publicity", methods=["POST"])
@roles(*MANAGERS)
def notice_publicity(notice_id: int):
    n = get_scoped(Notice, notice_id)
    form = PublicityForm()
    if not form.validate_on_submit():
        raise DomainError(_("Give the date and the place."))
    photo = request.files.get("photo")
    notices.record_publicity(
        n,
        held_on=form.held_on.data,
        place=form.place.data,
        note=form.note.data,
        actor=current_user,
        photo=(photo.stream, photo.filename) if photo and photo.filename else None,
    )
    flash(_("Publicity recorded."), "success")
    return redirect(url_for("culture.notice", notice_id=n.id))


@bp.route("/notices/<int:notice_id>/files/<int:file_id>")
@roles(*EVERYONE_IN_ENTERPRISE)
def notice_file(notice_id: int, file_id: int):
    n = get_scoped(Notice, notice_id)
    if not _is_manager():
        from lms.culture.models import NoticeAck

        if not current_user.person_id or db.session.get(NoticeAck, (n.id, current_user.person_id)) is None:
            abort(404)
    try:
        stored = notices.file_of_notice(n, file_id)
    except DomainError:
        abort(404)
    return send_stored(stored, download_name=stored.original_name)


@bp.route("/notices/<int:notice_id>/pending.xlsx")
@roles(*MANAGERS)
def notice_pending_xlsx(notice_id: int):
    n = get_scoped(Notice, notice_id)
    rows = [
        [p.employee_no, p.name, p.department.path if p.department else "", p.post.name if p.post else "", at]
        for p, at in notices.recipients(n)
    ]
    data = xlsx_bytes(
        [_("Employee number"), pgettext("person", "Name"), _("Department"), _("Post"), _("Acknowledged at")],
        rows,
        sheet_title=_("Recipients"),
        title=n.title,
    )
    return _download(
        data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", f"{n.title}.xlsx"
    )


_unused = (acting_enterprise, ADMIN)
