"""The API keys page: an enterprise's managers make and revoke its keys; a platform administrator also makes
regulators' keys over the enterprises they oversee. A new key's secret is shown once, on the answer to the
form that made it, and never again."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_pgettext
from flask_login import current_user
from sqlalchemy import select

from lms.api import bp, keys
from lms.api.models import READ_SCOPES, SCOPES, ApiKey
from lms.core.db import db, utcnow
from lms.core.errors import DomainError
from lms.core.i18n import translate_message
from lms.core.nav import nav_item
from lms.core.permissions import roles
from lms.core.urls import public_base
from lms.org.access import MANAGERS, acting_enterprise
from lms.org.models import ADMIN, REGULATOR, Enterprise, RegulatorAssignment, User

nav_item("api.keys_page", lazy_pgettext("menu", "API keys"), MANAGERS, order=90)

SCOPE_LABELS = {
    "people:read": "Read people, departments and posts",
    "people:write": "Create and update people (HR sync)",
    "records:read": "Read training records and xAPI statements",
    "records:write": "Record and void external training",
    "status:read": "Read training status and coverage",
    "certificates:read": "Read and verify certificates",
}


def _context(**extra: Any) -> dict[str, Any]:
    ent = acting_enterprise()
    own = keys.keys_of_enterprise(ent.id)
    regulator_keys = keys.regulator_keys() if current_user.app_role == ADMIN else []
    regulators: list[tuple[User, list[Enterprise]]] = []
    if current_user.app_role == ADMIN:
        for user in db.session.scalars(select(User).where(User.app_role == REGULATOR).order_by(User.id)):
            ents = list(
                db.session.scalars(
                    select(Enterprise)
                    .join(RegulatorAssignment, RegulatorAssignment.enterprise_id == Enterprise.id)
                    .where(RegulatorAssignment.user_id == user.id)
                    .order_by(Enterprise.id)
                )
            )
            regulators.append((user, ents))
    all_ids = [k.id for k in own + regulator_keys]
    reach = keys.key_enterprises(all_ids)
    ent_names = dict(db.session.execute(select(Enterprise.id, Enterprise.code)).all()) if reach else {}
    return {
        "enterprise": ent,
        "own": own,
        "regulator_keys": regulator_keys,
        "regulators": regulators,
        "reach": {k: [ent_names.get(e, "") for e in v] for k, v in reach.items()},
        "calls": keys.call_counts(all_ids, utcnow() - dt.timedelta(days=1)),
        "scopes": SCOPES,
        "read_scopes": READ_SCOPES,
        "scope_labels": {k: _(v) for k, v in SCOPE_LABELS.items()},
        "created": None,
        "secret": None,
        "api_base": public_base(),  # LMS_PUBLIC_URL or a trusted host, never a forged Host
        **extra,
    }


@bp.route("/api/keys", methods=["GET", "POST"])
@roles(*MANAGERS)
def keys_page() -> Any:
    if request.method == "GET":
        return render_template("api/keys.html", **_context())
    ent = acting_enterprise()
    kind = request.form.get("kind", "enterprise")
    try:
        rate = int(request.form.get("rate_per_minute") or keys.DEFAULT_RATE)
    except ValueError:
        rate = -1
    try:
        if kind == "regulator":
            if current_user.app_role != ADMIN:
                abort(403)
            regulator = db.session.get(User, request.form.get("regulator_id", type=int) or 0)
            if regulator is None:
                abort(404)
            key, secret = keys.create_key(
                name=request.form.get("name", ""),
                scopes=request.form.getlist("scopes"),
                actor=current_user,
                regulator=regulator,
                enterprise_ids=[int(x) for x in request.form.getlist("enterprises") if x.isdigit()],
                rate_per_minute=rate,
            )
        else:
            key, secret = keys.create_key(
                name=request.form.get("name", ""),
                scopes=request.form.getlist("scopes"),
                actor=current_user,
                enterprise=ent,
                rate_per_minute=rate,
            )
    except DomainError as exc:
        db.session.rollback()
        flash(str(translate_message(exc.message)), "error")
        return render_template("api/keys.html", **_context(form=request.form)), 400
    return render_template("api/keys.html", **_context(created=key, secret=secret))


@bp.route("/api/keys/<int:key_id>/revoke", methods=["POST"])
@roles(*MANAGERS)
def revoke(key_id: int) -> Any:
    key = db.session.get(ApiKey, key_id)
    if key is None:
        abort(404)
    if key.enterprise_id is not None:
        if key.enterprise_id != acting_enterprise().id:
            abort(404)
    elif current_user.app_role != ADMIN:
        abort(404)
    try:
        keys.revoke_key(key, actor=current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(str(translate_message(exc.message)), "error")
        return redirect(url_for("api.keys_page"))
    flash(_("Key %(prefix)s revoked: it is refused from now on.", prefix=key.prefix), "success")
    return redirect(url_for("api.keys_page"))


@bp.route("/api/keys/<int:key_id>")
@roles(*MANAGERS)
def key_calls(key_id: int) -> Any:
    key = db.session.get(ApiKey, key_id)
    if (
        key is None
        or (key.enterprise_id is not None and key.enterprise_id != acting_enterprise().id)
        or (key.enterprise_id is None and current_user.app_role != ADMIN)
    ):
        abort(404)
    return render_template("api/key_calls.html", key=key, calls=keys.recent_calls(key.id, 100))
