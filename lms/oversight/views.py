"""Oversight pages: the regulator's risk ranking, an enterprise's risk explained, weights, listed supervision;
and the enterprise's own page of its listings. Thin: load → check access → call a service → commit once."""

from __future__ import annotations

import io
from typing import Any

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_pgettext
from flask_login import current_user

from lms.core import timeutil
from lms.core.db import db
from lms.core.errors import DomainError
from lms.core.exports import csv_bytes, xlsx_bytes
from lms.core.nav import nav_item
from lms.core.permissions import roles
from lms.org.access import MANAGERS, acting_enterprise, regulated_enterprise_ids
from lms.org.models import ADMIN, MANAGER, REGULATOR, Enterprise
from lms.oversight import bp, services
from lms.oversight.forms import LiftForm, ListingForm, PostForm
from lms.oversight.models import Listing

REGULATORS = (REGULATOR, ADMIN)
SNAPSHOT_MONTHS = 12

nav_item("oversight.ranking", lazy_pgettext("menu", "Risk ranking"), REGULATORS, order=11)
nav_item("oversight.supervision", lazy_pgettext("menu", "Listed supervision"), (MANAGER,), order=17)


def _regulated(enterprise_id: int) -> Enterprise:
    """An enterprise within the acting regulator's scope; 404 otherwise (never say whether it exists)."""
    if enterprise_id not in regulated_enterprise_ids(current_user):
        abort(404)
    ent = db.session.get(Enterprise, enterprise_id)
    if ent is None:
        abort(404)
    return ent


def _local(value: Any, ent: Enterprise) -> str:
    return timeutil.format_local(value, ent)


# ---------------------------------------------------------------- the ranking


@bp.route("/")
@roles(*REGULATORS)
def ranking():
    ids = regulated_enterprise_ids(current_user)
    today = timeutil.today()
    industries, regions = services.filter_choices(ids)
    industry = request.args.get("industry") or None
    region = request.args.get("region") or None
    listed_only = request.args.get("listed") == "1"
    if industry not in industries:
        industry = None
    if region not in regions:
        region = None
    weights = services.weights_for(current_user)
    rows = services.ranking(ids, today, weights, industry=industry, region=region, listed_only=listed_only)
    fmt = request.args.get("format")
    if fmt:
        return _ranking_export(rows, today, fmt)
    return render_template(
        "oversight/ranking.html",
        rows=rows,
        today=today,
        industries=industries,
        regions=regions,
        industry=industry,
        region=region,
        listed_only=listed_only,
        custom=any(w.custom for w in weights.values()),
        local=_local,
    )


def _ranking_export(rows: list[dict[str, Any]], today: Any, fmt: str) -> Any:
    headers = [
        _("Rank"),
        _("Code"),
        _("Enterprise"),
        _("Industry"),
        _("Region"),
        _("Risk coefficient"),
        _("Risk band"),
        _("Listed supervision"),
        _("Deadline"),
    ] + [str(f.label) for f in services.FACTORS]
    body = []
    for n, r in enumerate(rows, 1):
        e, s, listing = r["enterprise"], r["score"], r["listing"]
        body.append(
            [
                n,
                e.code,
                e.name,
                e.industry or "",
                e.region or "",
                s.total,
                str(s.band_label),
                _("Yes") if listing else "",
                _local(listing.deadline_at, e) if listing else "",
            ]
            + [round(line.contribution, 1) for line in s.lines]
        )
    name = f"risk-ranking-{today.isoformat()}"
    if fmt == "csv":
        return send_file(
            io.BytesIO(csv_bytes(headers, body)),
            as_attachment=True,
            download_name=f"{name}.csv",
            mimetype="text/csv",
        )
    if fmt == "xlsx":
        return send_file(
            io.BytesIO(xlsx_bytes(headers, body, sheet_title="risk")),
            as_attachment=True,
            download_name=f"{name}.xlsx",
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    abort(404)


# ---------------------------------------------------------------- one enterprise


@bp.route("/<int:enterprise_id>")
@roles(*REGULATORS)
def enterprise(enterprise_id: int):
    ent = _regulated(enterprise_id)
    today = timeutil.today(ent)
    weights = services.weights_for(current_user)
    values = services.factor_values([ent.id], today)[ent.id]
    current = services.score(values, weights)
    history = services.listings_of(ent.id)
    open_listing = next((x for x in history if x.is_open), None)
    return render_template(
        "oversight/enterprise.html",
        ent=ent,
        today=today,
        score=current,
        trend=services.trend(ent.id, today, weights, current, SNAPSHOT_MONTHS),
        missing=services.missing_months(ent.id, today, SNAPSHOT_MONTHS),
        history=history,
        open_listing=open_listing,
        list_form=ListingForm(),
        lift_form=LiftForm(),
        post_form=PostForm(),
        custom=any(w.custom for w in weights.values()),
        bands=services.BANDS,
        colours=services.BAND_COLOURS,
    )


@bp.route("/<int:enterprise_id>/list", methods=["POST"])
@roles(*REGULATORS)
def list_enterprise(enterprise_id: int):
    ent = _regulated(enterprise_id)
    form = ListingForm()
    if not form.validate_on_submit():
        if form.reason.errors:
            flash(
                _("Give the reason for the listing (at most %(n)d characters).", n=services.MAX_REASON),
                "error",
            )
        if form.deadline.errors:
            flash(_("Enter the deadline as a date and time, e.g. 2026-12-31 17:00."), "error")
        if not (form.reason.errors or form.deadline.errors):
            flash(_("The form has expired; please try again."), "error")
        return redirect(url_for("oversight.enterprise", enterprise_id=ent.id, _anchor="listing"))
    deadline = timeutil.to_utc(form.deadline.data, ent)  # typed in the enterprise's local time
    try:
        services.list_enterprise(ent, form.reason.data, deadline, current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return redirect(url_for("oversight.enterprise", enterprise_id=ent.id, _anchor="listing"))
    flash(_("%(name)s is under listed supervision.", name=ent.name), "success")
    return redirect(url_for("oversight.enterprise", enterprise_id=ent.id, _anchor="listing"))


@bp.route("/<int:enterprise_id>/listings/<int:listing_id>/lift", methods=["POST"])
@roles(*REGULATORS)
def lift(enterprise_id: int, listing_id: int):
    ent = _regulated(enterprise_id)
    listing = db.session.get(Listing, listing_id)
    if listing is None or listing.enterprise_id != ent.id:
        abort(404)
    form = LiftForm()
    if not form.validate_on_submit():
        if form.note.errors:
            flash(
                _("Say why the listing is lifted (at most %(n)d characters).", n=services.MAX_REASON), "error"
            )
        else:
            flash(_("The form has expired; please try again."), "error")
        return redirect(url_for("oversight.enterprise", enterprise_id=ent.id, _anchor="listing"))
    try:
        services.lift(listing, form.note.data, current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return redirect(url_for("oversight.enterprise", enterprise_id=ent.id, _anchor="listing"))
    flash(_("The listing of %(name)s is lifted.", name=ent.name), "success")
    return redirect(url_for("oversight.enterprise", enterprise_id=ent.id, _anchor="listing"))


@bp.route("/<int:enterprise_id>/snapshot", methods=["POST"])
@roles(*REGULATORS)
def snapshot(enterprise_id: int):
    """Keep the months of the trend that have no snapshot yet (each computed at its month's end)."""
    ent = _regulated(enterprise_id)
    if not PostForm().validate_on_submit():
        abort(400)
    today = timeutil.today(ent)
    months = services.missing_months(ent.id, today, SNAPSHOT_MONTHS)
    later = services.fill_missing(ent.id, months, today)
    if later:
        flash(
            _(
                "The %(n)d months are being recorded in the background; reload the page in a minute.",
                n=len(months),
            ),
            "success",
        )
    else:
        flash(_("%(n)d months recorded.", n=len(months)), "success")
    return redirect(url_for("oversight.enterprise", enterprise_id=ent.id, _anchor="trend"))


# ---------------------------------------------------------------- weights


@bp.route("/weights", methods=["GET", "POST"])
@roles(*REGULATORS)
def weights():
    form = PostForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        if request.form.get("reset"):
            services.reset_weights(current_user)
            flash(_("The default weights apply again."), "success")
            return redirect(url_for("oversight.weights"))
        try:
            services.save_weights(current_user, request.form)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
            return render_template(
                "oversight/weights.html",
                form=form,
                factors=services.FACTORS,
                values=request.form,
                weights=services.weights_for(current_user),
                defaults=services.default_weights(),
                bands=services.BANDS,
            ), 400
        flash(_("Your weights are saved; every score you see uses them."), "success")
        return redirect(url_for("oversight.ranking"))
    return render_template(
        "oversight/weights.html",
        form=form,
        factors=services.FACTORS,
        values=None,
        weights=services.weights_for(current_user),
        defaults=services.default_weights(),
        bands=services.BANDS,
    )


# ---------------------------------------------------------------- the enterprise's own page


@bp.route("/supervision")
@roles(*MANAGERS)
def supervision():
    ent = acting_enterprise()
    history = services.listings_of(ent.id)
    return render_template(
        "oversight/supervision.html",
        ent=ent,
        history=history,
        open_listing=next((x for x in history if x.is_open), None),
    )
