"""Ledger pages: add a record by hand (outside training, external certificate) and void one."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, SelectField, StringField, TextAreaField, TimeField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from lms.core.db import db
from lms.core.errors import DomainError
from lms.core.i18n import translate_message
from lms.core.permissions import roles
from lms.core.timeutil import to_utc, today
from lms.ledger import services
from lms.ledger.models import KIND_CERTIFICATE, KIND_MANUAL
from lms.org import person_page
from lms.org.access import MANAGERS, STAFF, acting_enterprise_id, get_scoped
from lms.org.models import Person

bp = Blueprint("ledger", __name__, template_folder="templates", url_prefix="/records")

# The person page (lms.org) lists the person's records: the ledger provides them (org sits below the ledger).
person_page.provide("records", lambda person: services.live_records(person.id))


@bp.app_context_processor
def _record_labels() -> dict[str, object]:
    """``record_labels(records)`` for templates: what each source is, and who voided a record, when and why."""
    from lms.ledger.sources import labels_for

    return {"record_labels": labels_for}


class RecordForm(FlaskForm):
    kind = SelectField(
        _l("Kind"),
        choices=[
            (KIND_MANUAL, _l("Training outside the system")),
            (KIND_CERTIFICATE, _l("External certificate")),
        ],
    )
    topic = StringField(_l("Content / certificate"), validators=[DataRequired(), Length(max=300)])
    category = StringField(_l("Category"), validators=[Optional(), Length(max=100)])
    level = SelectField(
        _l("Level"),
        choices=[
            ("", "—"),
            ("company", _l("Company level (厂级)")),
            ("workshop", _l("Workshop level (车间级)")),
            ("team", _l("Team level (班组级)")),
        ],
    )
    hours = DecimalField(_l("Hours"), places=1, validators=[Optional(), NumberRange(min=0, max=1000)])
    completed_on = DateField(_l("Date"), validators=[DataRequired()])
    # The time the training took (local): a record with times may not overlap the person's other training.
    started_time = TimeField(_l("From"), validators=[Optional()])
    ended_time = TimeField(_l("To"), validators=[Optional()])
    score = DecimalField(_l("Score"), validators=[Optional(), NumberRange(min=0, max=1000)])
    certificate_no = StringField(_l("Certificate number"), validators=[Optional(), Length(max=100)])
    valid_until = DateField(_l("Valid until"), validators=[Optional()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


@bp.route("/person/<int:person_id>/new", methods=["GET", "POST"])
@roles(*STAFF)
def record_new(person_id: int):
    person = get_scoped(Person, person_id)
    form = RecordForm()
    if request.method == "GET":
        form.completed_on.data = today(person)
    if form.validate_on_submit():
        day, start, end = form.completed_on.data, form.started_time.data, form.ended_time.data
        if (start is None) != (end is None) or (start is not None and end is not None and end <= start):
            form.ended_time.errors = [_("Give both times, the end after the start.")]
            return render_template("ledger/record_form.html", form=form, person=person)
        # Dates and times are typed in the enterprise's local time; the ledger stores UTC.
        started_at = to_utc(dt.datetime.combine(day, start), person) if start else None
        completed_at = to_utc(dt.datetime.combine(day, end or dt.time(12, 0)), person)
        try:
            services.record(
                person,
                kind=form.kind.data,
                topic=form.topic.data,
                source=f"manual:{uuid.uuid4().hex}",
                hours=form.hours.data or Decimal(0),
                started_at=started_at,
                completed_at=completed_at,
                category=form.category.data or None,
                level=form.level.data or None,
                score=form.score.data,
                certificate_no=form.certificate_no.data or None,
                valid_until=form.valid_until.data,
                note=form.note.data or None,
                actor=current_user,
            )
        except DomainError as exc:  # an overlap with the person's other training, most often
            db.session.rollback()
            flash(translate_message(exc.message), "error")
            return render_template("ledger/record_form.html", form=form, person=person), 409
        flash(_("Record added."), "success")
        return redirect(url_for("org.person", person_id=person.id))
    return render_template("ledger/record_form.html", form=form, person=person)


@bp.route("/<int:record_id>/void", methods=["POST"])
@roles(*MANAGERS)
def record_void(record_id: int):
    rec = services.void(
        record_id,
        reason=request.form.get("reason", ""),
        actor=current_user,
        enterprise_id=acting_enterprise_id(),
    )
    flash(_("Record voided."), "success")
    return redirect(url_for("org.person", person_id=rec.person_id))
