"""Course pages: my learning, catalogue, course and lesson pages, media delivery; authoring for trainers."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
from typing import Any

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_login import current_user
from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.orm.attributes import set_committed_value

from lms.core import storage, timeutil
from lms.core.db import db
from lms.core.errors import DomainError
from lms.core.exports import xlsx_bytes
from lms.core.jobs import Job
from lms.core.nav import nav_item
from lms.core.permissions import roles
from lms.core.requests import float_field, json_object
from lms.core.storage import send_stored
from lms.org.access import EVERYONE_IN_ENTERPRISE, STAFF, acting_enterprise_id
from lms.org.models import ADMIN, Person
from lms.org.services import set_audience_choices
from quizzes.models import Exam

from . import bp, services
from . import progress as prog
from .forms import CourseForm, EnrolForm, LessonForm
from .models import (
    COMPLETED,
    DOCUMENT,
    EXAM,
    LINK,
    PUBLISHED,
    TEXT,
    VIDEO,
    Course,
    CourseCategory,
    Enrolment,
    Lesson,
    LessonProgress,
    PlaybackSession,
    Section,
    VideoAsset,
)

nav_item("courses.my_learning", lazy_pgettext("menu", "My learning"), ("learner", "evaluator"), order=20)
nav_item("courses.manage", lazy_pgettext("menu", "Courses"), STAFF, order=30)


# ------------------------------------------------------------------------------------------------ access


def _ent() -> int:
    return acting_enterprise_id()


def _is_staff() -> bool:
    return current_user.app_role in STAFF


def _course_or_404(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is None or not services.visible_to_enterprise(course, _ent()):
        abort(404)
    return course


@functools.cache
def _course_and_enrolment() -> Select:
    """A course and the person's enrolment in it (if any), built once with bound parameters."""
    return (
        select(Course, Enrolment)
        .outerjoin(
            Enrolment,
            and_(Enrolment.course_id == Course.id, Enrolment.person_id == bindparam("person_id")),
        )
        .where(Course.id == bindparam("course_id"))
    )


def _learner_course(course_id: int) -> tuple[Course, Enrolment | None]:
    """A course the user may see as a learner: published, or one they are enrolled in; staff see all of theirs."""
    row = db.session.execute(
        _course_and_enrolment(), {"course_id": course_id, "person_id": current_user.person_id}
    ).first()
    if row is None:
        abort(404)
    return _as_learner(row[0], row[1])


def _as_learner(course: Course, enrolment: Enrolment | None) -> tuple[Course, Enrolment | None]:
    """``course`` and ``enrolment`` if the user may see the course as a learner (``_learner_course``), else 404."""
    if not services.visible_to_enterprise(course, _ent()):
        abort(404)
    if enrolment is None and course.status != PUBLISHED and not _is_staff():
        abort(404)
    return course, enrolment


def _managed_course(course_id: int) -> Course:
    course = _course_or_404(course_id)
    if not services.can_manage(course, current_user, _ent()):
        abort(404)
    return course


def _managed_lesson(lesson_id: int) -> Lesson:
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None:
        abort(404)
    _managed_course(lesson.course_id)
    return lesson


def _media_allowed(course: Course) -> bool:
    """Enrolled learners, and staff of the course's enterprise (or of any enterprise for the shared library)."""
    if services.enrolment_of(course, current_user.person_id) is not None:
        return True
    return _is_staff() and services.visible_to_enterprise(course, _ent())


def _own_enrolment(course: Course) -> Enrolment:
    enrolment = services.enrolment_of(course, current_user.person_id)
    if enrolment is None:
        abort(404)
    return enrolment


# ------------------------------------------------------------------------------------------------ learners


@bp.route("/my")
@roles(*EVERYONE_IN_ENTERPRISE)
def my_learning():
    rows = []
    if current_user.person_id:
        for e in services.my_enrolments(current_user.person_id):
            rows.append({"enrolment": e, "course": e.course, "fraction": prog.enrolment_fraction(e)})
    today = timeutil.today()
    assigned = [r for r in rows if r["enrolment"].status != COMPLETED and r["enrolment"].source == "assigned"]
    in_progress = [
        r for r in rows if r["enrolment"].status != COMPLETED and r["enrolment"].source != "assigned"
    ]
    completed = [r for r in rows if r["enrolment"].status == COMPLETED]
    hours = sum((r["course"].hours or Decimal(0) for r in completed), Decimal(0))
    return render_template(
        "courses/my.html",
        assigned=assigned,
        in_progress=in_progress,
        completed=completed,
        today=today,
        hours=hours,
    )


@bp.route("/catalogue")
@roles(*EVERYONE_IN_ENTERPRISE)
def catalogue():
    q = request.args.get("q", "").strip()
    category = request.args.get("category", "").strip()
    courses = services.catalogue(_ent(), q=q or None, category=category or None)
    mine = {}
    if current_user.person_id:
        mine = {
            e.course_id: e
            for e in db.session.scalars(
                select(Enrolment).where(Enrolment.person_id == current_user.person_id)
            )
        }
    return render_template(
        "courses/catalogue.html",
        courses=courses,
        q=q,
        category=category,
        mine=mine,
        categories=services.categories(_ent()),
    )


@functools.cache
def _course_page() -> Select:
    """The course page's one statement: the course, the person's enrolment (if any), its sections in order, each
    with its lessons in order and the enrolment's progress in each (None where there is none; a section without
    lessons comes once with None; a course without sections once, with None), built once with the ids bound."""
    return (
        select(Course, Enrolment, Section, Lesson, LessonProgress)
        .outerjoin(
            Enrolment,
            and_(Enrolment.course_id == Course.id, Enrolment.person_id == bindparam("person_id")),
        )
        .outerjoin(Section, Section.course_id == Course.id)
        .outerjoin(Lesson, and_(Lesson.section_id == Section.id, Lesson.course_id == Course.id))
        .outerjoin(
            LessonProgress,
            and_(LessonProgress.lesson_id == Lesson.id, LessonProgress.enrolment_id == Enrolment.id),
        )
        .where(Course.id == bindparam("course_id"))
        .order_by(*services.READING_ORDER)
    )


@bp.route("/<int:course_id>")
@roles(*EVERYONE_IN_ENTERPRISE)
def course(course_id: int):
    # The course, the enrolment, the sections, every lesson once in reading order and the learner's progress in
    # each, in one statement: the sections' lists, the required lessons and the fractions use them (rather than
    # one lazy load per section, one for the required lessons, one for the progress rows and one per row's lesson).
    rows = db.session.execute(
        _course_page(), {"course_id": course_id, "person_id": current_user.person_id}
    ).all()
    if not rows:
        abort(404)
    course, enrolment = _as_learner(rows[0][0], rows[0][1])
    sections: list[Section] = []
    lessons: list[Lesson] = []
    by_section: dict[int, list[Lesson]] = {}
    progress: dict[int, LessonProgress] = {}
    for _c, _e, s, x, lp in rows:
        if s is None:
            continue
        own = by_section.get(s.id)
        if own is None:
            own = by_section[s.id] = []
            sections.append(s)
        if x is not None:
            own.append(x)
            lessons.append(x)
            if lp is not None:
                progress[x.id] = lp
    for s in sections:
        set_committed_value(s, "lessons", by_section[s.id])
    fraction = 0.0
    waiting = None
    if enrolment is not None:
        required = [x for x in lessons if x.required] or lessons
        fraction = prog.enrolment_fraction(enrolment, required, progress)
        if enrolment.status != COMPLETED and all(
            x.id in progress and progress[x.id].status == COMPLETED for x in required
        ):
            # every lesson done but not recorded: it overlapped another training then; record it now if it can
            waiting = prog.settle_course(enrolment)
    threshold = float(course.completion_threshold or 0.9)
    lesson_by_id = {x.id: x for x in lessons}
    fractions = {
        lid: prog.lesson_fraction(lesson_by_id.get(lid) or lp.lesson, lp, threshold)
        for lid, lp in progress.items()
    }
    next_lesson = next(
        (x for x in lessons if progress.get(x.id) is None or progress[x.id].status != COMPLETED), None
    )
    return render_template(
        "courses/course.html",
        course=course,
        enrolment=enrolment,
        sections=sections,
        progress=progress,
        fractions=fractions,
        fraction=fraction,
        next_lesson=next_lesson,
        can_manage=services.can_manage(course, current_user, _ent()) if _is_staff() else False,
        record_hours=_study_hours(enrolment),
        waiting=waiting,
    )


def _study_hours(enrolment: Enrolment | None) -> Decimal:
    if enrolment is None:
        return Decimal(0)
    return (Decimal(str(enrolment.credited_seconds or 0)) / services.SECONDS_PER_HOUR_CREDIT).quantize(
        Decimal("0.1")
    )


@bp.route("/<int:course_id>/enrol", methods=["POST"])
@roles(*EVERYONE_IN_ENTERPRISE)
def self_enrol(course_id: int):
    course = _course_or_404(course_id)
    person = db.session.get(Person, current_user.person_id) if current_user.person_id else None
    if person is None:
        raise DomainError(_("Your account is not linked to a person, so it cannot enrol."))
    services.self_enrol(course, person)
    flash(_("You are enrolled. Start with the first lesson."), "success")
    return redirect(url_for("courses.course", course_id=course.id))


@bp.route("/lessons/<int:lesson_id>")
@roles(*EVERYONE_IN_ENTERPRISE)
def lesson(lesson_id: int):
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None:
        abort(404)
    course, enrolment = _learner_course(lesson.course_id)
    if enrolment is None and not _is_staff():
        if course.self_enrol and course.status == PUBLISHED:
            flash(_("Enrol in the course to open its lessons."), "info")
            return redirect(url_for("courses.course", course_id=course.id))
        abort(404)
    lp = None
    waiting = None
    if enrolment is not None:
        lp = prog.progress_for(enrolment, lesson, create=False)
        if lesson.kind != LINK:
            lp = prog.open_lesson(enrolment, lesson)
            if lp.status == COMPLETED and enrolment.status != COMPLETED:
                waiting = prog.settle_course(enrolment)  # a completion that waited for another training
            db.session.flush()  # a first open writes: the read unit stops here and runs again as a write unit
    lessons = services.ordered_lessons(course)
    idx = next(i for i, x in enumerate(lessons) if x.id == lesson.id)
    video = lesson.ready_video if lesson.kind == VIDEO else None
    if video is not None and not video.renditions:
        video = None
    reading_left = 0
    if lesson.kind == DOCUMENT and lp is not None and lp.status != COMPLETED and lp.opened_at:
        read = (dt.datetime.now(dt.UTC).replace(tzinfo=None) - lp.opened_at).total_seconds()
        reading_left = max(0, int((course.min_reading_seconds or 0) - read + 0.999))
    return render_template(
        "courses/lesson.html",
        course=course,
        lesson=lesson,
        enrolment=enrolment,
        lp=lp,
        video=video,
        prev_lesson=lessons[idx - 1] if idx > 0 else None,
        next_lesson=lessons[idx + 1] if idx + 1 < len(lessons) else None,
        reading_left=reading_left,
        exam_url=_exam_url(lesson),
        player_spacing=prog.PLAYER_MIN_SPACING,
        waiting=waiting,
    )


def _exam_url(lesson: Lesson) -> str | None:
    """The start page of the lesson's exam (quizzes.start), if the lesson is an exam that names one."""
    if lesson.kind != EXAM or not lesson.exam_id:
        return None
    return url_for("quizzes.start", exam_id=lesson.exam_id)


@functools.cache
def _heartbeat_rows() -> Select:
    """Lesson, course, the learner's enrolment (locked), the lesson progress and this tab's playback session.

    One query, built once with bound parameters (``lesson_id``, ``person_id``, ``token``).
    """
    return (
        select(Lesson, Course, Enrolment, LessonProgress, PlaybackSession)
        .join(Course, Course.id == Lesson.course_id)
        .join(
            Enrolment,
            and_(Enrolment.course_id == Lesson.course_id, Enrolment.person_id == bindparam("person_id")),
        )
        .outerjoin(
            LessonProgress,
            and_(LessonProgress.enrolment_id == Enrolment.id, LessonProgress.lesson_id == Lesson.id),
        )
        .outerjoin(
            PlaybackSession,
            and_(
                PlaybackSession.enrolment_id == Enrolment.id,
                PlaybackSession.lesson_id == Lesson.id,
                PlaybackSession.token == bindparam("token"),
            ),
        )
        .where(Lesson.id == bindparam("lesson_id"))
        .with_for_update(of=Enrolment)
    )


@bp.route("/lessons/<int:lesson_id>/heartbeat", methods=["POST"])
@roles(*EVERYONE_IN_ENTERPRISE)
def heartbeat(lesson_id: int):
    # The hot path (every viewer, every few seconds): everything the credit rules need in one query, the
    # enrolment locked so that two tabs' heartbeats credit one after the other.
    raw = request.get_json(silent=True)
    if raw is None:
        raw = request.form
    session_id = str(raw.get("session", "")) if hasattr(raw, "get") else ""
    params = {
        "lesson_id": lesson_id,
        "person_id": current_user.person_id,
        "token": prog.playback_token(session_id),
    }
    row = db.session.execute(_heartbeat_rows(), params).first() if current_user.person_id else None
    if row is None or not services.visible_to_enterprise(row[1], _ent()):
        # Not enrolled, no such lesson or another enterprise's course: answer as the checks one by one would.
        lesson = db.session.get(Lesson, lesson_id)
        if lesson is None:
            abort(404)
        _course_or_404(lesson.course_id)
        return jsonify({"recorded": False, "reason": "not-enrolled"}), 200 if _is_staff() else 404
    lesson, _course, enrolment, lp, ps = row
    data = json_object(form_fallback=True)
    position = float_field(data, "position", 0, lo=0, hi=10 * 24 * 3600)
    rate = float_field(data, "rate", 1, lo=0.0625, hi=16)
    playing = str(data.get("playing", "true")).lower() in ("1", "true", "yes")
    result = prog.heartbeat(
        enrolment,
        lesson,
        session_id,
        position,
        playing=playing,
        rate=rate,
        found=(lp, ps),
    )
    out = result.as_dict()
    out.update(recorded=True, course_completed=enrolment.status == COMPLETED)
    return jsonify(out)


@bp.route("/lessons/<int:lesson_id>/done", methods=["POST"])
@roles(*EVERYONE_IN_ENTERPRISE)
def lesson_done(lesson_id: int):
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None:
        abort(404)
    course = _course_or_404(lesson.course_id)
    enrolment = _own_enrolment(course)
    prog.mark_read(enrolment, lesson)
    if enrolment.status == COMPLETED:
        flash(_("Course completed. It has been added to your training record."), "success")
    else:
        flash(_("Lesson completed."), "success")
    return redirect(url_for("courses.course", course_id=course.id))


@bp.route("/lessons/<int:lesson_id>/open")
@roles(*EVERYONE_IN_ENTERPRISE)
def open_link(lesson_id: int):
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None or lesson.kind != LINK or not lesson.url:
        abort(404)
    course, enrolment = _learner_course(lesson.course_id)
    if enrolment is not None:
        prog.open_lesson(enrolment, lesson)
        db.session.flush()  # a first open writes: the read unit stops here and runs again as a write unit
    elif not _is_staff():
        abort(404)
    return redirect(lesson.url)


# ------------------------------------------------------------------------------------------------ media


@bp.route("/media/<token>/<label>")
@roles(*EVERYONE_IN_ENTERPRISE)
def media(token: str, label: str):
    asset = db.session.scalar(select(VideoAsset).where(VideoAsset.token == token))
    if asset is None:
        abort(404)
    course = db.session.get(Course, asset.lesson.course_id)
    if course is None or not _media_allowed(course):
        abort(404)
    if label == "poster":
        if not asset.poster_key:
            abort(404)
        return send_stored(key=asset.poster_key, mimetype="image/jpeg")
    if label == "original" and _is_staff() and asset.original is not None:
        return send_stored(asset.original, as_attachment=True)
    rendition = asset.rendition(label)
    if rendition is None:
        abort(404)
    return send_stored(key=rendition["key"], mimetype="video/mp4")


@bp.route("/lessons/<int:lesson_id>/document/<token>")
@roles(*EVERYONE_IN_ENTERPRISE)
def document(lesson_id: int, token: str):
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None or lesson.document is None or lesson.document_token != token:
        abort(404)
    course = db.session.get(Course, lesson.course_id)
    if course is None or not _media_allowed(course):
        abort(404)
    return send_stored(
        lesson.document, mimetype="application/pdf", download_name=lesson.document.original_name
    )


@bp.route("/<int:course_id>/cover")
@roles(*EVERYONE_IN_ENTERPRISE)
def cover(course_id: int):
    course = _course_or_404(course_id)
    if course.cover is None:
        abort(404)
    return send_stored(course.cover)


# ------------------------------------------------------------------------------------------------ trainers


@bp.route("/manage")
@roles(*STAFF)
def manage():
    status = request.args.get("status", "")
    q = request.args.get("q", "").strip()
    statuses = (
        [status] if status in ("draft", "published", "archived") else ["draft", "published", "archived"]
    )
    courses = services.catalogue(_ent(), q=q or None, statuses=statuses)
    counts = dict(
        db.session.execute(
            select(Enrolment.course_id, db_count())
            .where(Enrolment.enterprise_id == _ent())
            .group_by(Enrolment.course_id)
        ).all()
    )
    # Completions come from the training record (online, exam passed or entered by hand), the same records the
    # course requirements read: one definition of the figure (lms.ledger.rules.completion_clause).
    from lms.ledger.rules import course_completions

    done = course_completions(_ent(), [c.id for c in courses])
    return render_template(
        "courses/manage.html", courses=courses, counts=counts, done=done, status=status, q=q, ent_id=_ent()
    )


def db_count() -> Any:
    from sqlalchemy import func

    return func.count(Enrolment.id)


def _category_choices(current: str | None = None) -> list[tuple[str, str]]:
    names = [c.name for c in services.categories(_ent())]
    if current and current not in names:
        names.append(current)
    return [("", "—")] + [(n, n) for n in names]


def _course_values(form: CourseForm) -> dict[str, Any]:
    return {
        "title": form.title.data,
        "description": form.description.data or None,
        "category": form.category.data or None,
        "hours": form.hours.data,
        "self_enrol": form.self_enrol.data,
        "forward_seek_allowed": form.forward_seek_allowed.data,
        "max_playback_rate": form.max_playback_rate.data,
        "completion_threshold": (form.completion_threshold.data or 90) / 100.0,
        "min_reading_seconds": form.min_reading_seconds.data or 0,
        "issue_certificate": form.issue_certificate.data,
    }


@bp.route("/new", methods=["GET", "POST"])
@roles(*STAFF)
def course_new():
    form = CourseForm()
    form.category.choices = _category_choices()
    if request.method == "GET":
        form.hours.data, form.max_playback_rate.data, form.completion_threshold.data = Decimal("1"), 1.5, 90
        form.min_reading_seconds.data, form.self_enrol.data = 60, True
    if form.validate_on_submit():
        shared = form.shared.data and current_user.app_role == ADMIN
        course = services.create_course(
            None if shared else _ent(), actor=current_user, **_course_values(form)
        )
        if form.cover.data and getattr(form.cover.data, "filename", ""):
            services.set_cover(course, form.cover.data.stream, form.cover.data.filename, actor=current_user)
        services.add_section(course, _("Section 1"))
        flash(_("Course created. Add lessons, then publish it."), "success")
        return redirect(url_for("courses.course_edit", course_id=course.id))
    return render_template("courses/course_form.html", form=form, course=None)


@bp.route("/<int:course_id>/edit", methods=["GET", "POST"])
@roles(*STAFF)
def course_edit(course_id: int):
    course = _managed_course(course_id)
    form = CourseForm(obj=course)
    form.category.choices = _category_choices(course.category)
    if request.method == "GET":
        form.completion_threshold.data = round((course.completion_threshold or 0.9) * 100)
        form.shared.data = course.enterprise_id is None
    if form.validate_on_submit():
        services.update_course(course, **_course_values(form))
        if form.cover.data and getattr(form.cover.data, "filename", ""):
            services.set_cover(course, form.cover.data.stream, form.cover.data.filename, actor=current_user)
        flash(_("Course saved."), "success")
        return redirect(url_for("courses.course_edit", course_id=course.id))
    sections = list(
        db.session.scalars(
            select(Section).where(Section.course_id == course.id).order_by(Section.position, Section.id)
        )
    )
    enrolled = db.session.scalar(
        select(db_count()).where(Enrolment.course_id == course.id, Enrolment.enterprise_id == _ent())
    )
    return render_template(
        "courses/course_edit.html",
        form=form,
        course=course,
        sections=sections,
        enrolled=enrolled,
        kinds=LessonForm().kind.choices,
    )


@bp.route("/<int:course_id>/status", methods=["POST"])
@roles(*STAFF)
def course_status(course_id: int):
    course = _managed_course(course_id)
    services.set_status(course, request.form.get("status", ""))
    flash(_("Status changed."), "success")
    return redirect(url_for("courses.course_edit", course_id=course.id))


@bp.route("/<int:course_id>/sections", methods=["POST"])
@roles(*STAFF)
def section_add(course_id: int):
    course = _managed_course(course_id)
    services.add_section(course, request.form.get("title", ""))
    return redirect(url_for("courses.course_edit", course_id=course.id) + "#structure")


def _managed_section(section_id: int) -> Section:
    section = db.session.get(Section, section_id)
    if section is None:
        abort(404)
    _managed_course(section.course_id)
    return section


@bp.route("/sections/<int:section_id>", methods=["POST"])
@roles(*STAFF)
def section_change(section_id: int):
    section = _managed_section(section_id)
    course_id = section.course_id
    action = request.form.get("action", "")
    if action in ("up", "down"):
        services.move_section(section, action)
    elif action == "rename":
        services.rename_section(section, request.form.get("title", ""))
    elif action == "delete":
        services.delete_section(section)
    else:
        abort(400)
    return redirect(url_for("courses.course_edit", course_id=course_id) + "#structure")


def _exam_choices() -> list[tuple[str, str]]:
    rows = db.session.scalars(select(Exam).where(Exam.enterprise_id == _ent()).order_by(Exam.title))
    return [(str(e.id), e.title) for e in rows]


def _lesson_form_save(form: LessonForm, lesson: Lesson | None, section: Section) -> Lesson:
    exam_id = int(form.exam_id.data) if (form.exam_id.data or "").isdigit() else None
    if exam_id is not None and str(exam_id) not in {k for k, _label in _exam_choices()}:
        exam_id = None  # only an exam of the acting enterprise (the list is not checked by the form)
    kwargs = {
        "title": form.title.data,
        "required": form.required.data,
        "body_markdown": form.body_markdown.data,
        "url": form.url.data,
        "exam_id": exam_id,
    }
    if lesson is None:
        lesson = services.add_lesson(section, form.kind.data, **kwargs)
    else:
        services.update_lesson(lesson, **kwargs)
    upload = form.document.data
    if lesson.kind == DOCUMENT and upload and getattr(upload, "filename", ""):
        services.set_document(
            lesson,
            upload.stream,
            upload.filename,
            actor=current_user,
            max_bytes=current_app.config.get("MAX_CONTENT_LENGTH"),
        )
    return lesson


@bp.route("/sections/<int:section_id>/lessons/new", methods=["GET", "POST"])
@roles(*STAFF)
def lesson_new(section_id: int):
    section = _managed_section(section_id)
    form = LessonForm()
    form.exam_id.choices = [("", "—")] + _exam_choices()
    if request.method == "GET":
        form.kind.data = request.args.get("kind", "video")
        form.required.data = True
    wants_json = request.accept_mimetypes.best == "application/json"
    if form.validate_on_submit():
        lesson = _lesson_form_save(form, None, section)
        upload = request.files.get("video")
        asset = None
        if lesson.kind == VIDEO and upload is not None and upload.filename:
            # The video goes with the form that creates its lesson (one page, one upload with a progress bar).
            asset = services.add_video(
                lesson,
                upload.stream,
                upload.filename,
                actor=current_user,
                max_bytes=current_app.config.get("MAX_CONTENT_LENGTH"),
            )
        target = url_for("courses.lesson_edit", lesson_id=lesson.id)
        if wants_json:
            return jsonify({"lesson": lesson.id, "asset": asset.id if asset else None, "redirect": target})
        flash(_("Lesson added; the video is being processed.") if asset else _("Lesson added."), "success")
        return redirect(target)
    if request.method == "POST" and wants_json:
        errors = "; ".join(f"{form[k].label.text}: {v[0]}" for k, v in form.errors.items() if k in form)
        return jsonify({"message": errors or _("Check the form.")}), 400
    return render_template(
        "courses/lesson_form.html", form=form, lesson=None, section=section, course=section.course
    )


@bp.route("/lessons/<int:lesson_id>/edit", methods=["GET", "POST"])
@roles(*STAFF)
def lesson_edit(lesson_id: int):
    lesson = _managed_lesson(lesson_id)
    form = LessonForm(obj=lesson)
    form.kind.data = lesson.kind
    form.exam_id.choices = [("", "—")] + _exam_choices()
    if request.method == "GET":
        form.exam_id.data = str(lesson.exam_id or "")
    if form.validate_on_submit():
        _lesson_form_save(form, lesson, lesson.section)
        flash(_("Lesson saved."), "success")
        return redirect(url_for("courses.lesson_edit", lesson_id=lesson.id))
    video = lesson.latest_video
    return render_template(
        "courses/lesson_form.html",
        form=form,
        lesson=lesson,
        section=lesson.section,
        course=lesson.course,
        video=video,
        ready=lesson.ready_video,
        state=_video_state(video) if video is not None else None,
    )


@bp.route("/lessons/<int:lesson_id>/change", methods=["POST"])
@roles(*STAFF)
def lesson_change(lesson_id: int):
    lesson = _managed_lesson(lesson_id)
    course_id = lesson.course_id
    action = request.form.get("action", "")
    if action in ("up", "down"):
        services.move_lesson(lesson, action)
    elif action == "delete":
        services.delete_lesson(lesson)
        flash(_("Lesson deleted."), "success")
    else:
        abort(400)
    return redirect(url_for("courses.course_edit", course_id=course_id) + "#structure")


@bp.route("/lessons/<int:lesson_id>/video", methods=["POST"])
@roles(*STAFF)
def video_upload(lesson_id: int):
    lesson = _managed_lesson(lesson_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise DomainError(_("Choose a video file to upload."))
    asset = services.add_video(
        lesson,
        upload.stream,
        upload.filename,
        actor=current_user,
        max_bytes=current_app.config.get("MAX_CONTENT_LENGTH"),
    )
    target = url_for("courses.lesson_edit", lesson_id=lesson.id)
    if request.accept_mimetypes.best == "application/json":
        return jsonify({"asset": asset.id, "job": asset.job_id, "status": asset.status, "redirect": target})
    flash(_("Video uploaded; it is being processed."), "success")
    return redirect(target)


def _video_head(head: bytes, filename: str) -> None:
    """Refuse a video upload by its first bytes, before the rest of the file is received."""
    from . import media

    if not media.looks_like_media(head):
        raise DomainError(
            _(
                "%(name)s is not a video file. Upload a video such as an MP4; nothing was saved.",
                name=filename,
            )
        )


storage.expect_head("courses.video_upload", _video_head)


def _document_head(head: bytes, filename: str) -> None:
    """Refuse a lesson's document by its first bytes, before the rest of the file is received."""
    if not head.startswith(b"%PDF-"):
        raise DomainError(_("%(name)s is not a PDF file.", name=filename), field="document")


def _lesson_file_head(head: bytes, filename: str) -> None:
    """The new-lesson form takes a PDF (document lesson) or a video (video lesson)."""
    from . import media

    if head.startswith(b"%PDF-") or media.looks_like_media(head):
        return
    if filename.lower().endswith(".pdf"):
        _document_head(head, filename)
    _video_head(head, filename)


storage.expect_head("courses.lesson_new", _lesson_file_head)
storage.expect_head("courses.lesson_edit", _document_head)


@bp.route("/videos/<int:asset_id>/retry", methods=["POST"])
@roles(*STAFF)
def video_retry(asset_id: int):
    asset = db.session.get(VideoAsset, asset_id)
    if asset is None:
        abort(404)
    _managed_lesson(asset.lesson_id)
    services.retry_video(asset, actor=current_user)
    flash(_("The video is queued again."), "success")
    return redirect(url_for("courses.lesson_edit", lesson_id=asset.lesson_id))


@bp.route("/videos/<int:asset_id>/status")
@roles(*STAFF)
def video_status(asset_id: int):
    asset = db.session.get(VideoAsset, asset_id)
    if asset is None:
        abort(404)
    _managed_lesson(asset.lesson_id)
    return jsonify(_video_state(asset))


# The transcode job's messages (courses.jobs writes them in English into the job row).
JOB_MESSAGES = {
    "Checking the video": _l("Checking the video"),
    "Converting": _l("Converting"),
    "Ready": _l("Ready"),
}


def _video_state(asset: VideoAsset) -> dict[str, Any]:
    """What the lesson page shows of a video being processed, read from the asset first, then its job.

    A ready or failed asset says so whatever its job row holds (the row is marked done in a transaction of
    its own, after the asset; a worker that died in between left it "running" at 98 %).
    """
    job = db.session.get(Job, asset.job_id) if asset.job_id else None
    if asset.status == "ready":
        progress, message = 100, _("Ready")
    elif asset.status == "failed":
        progress, message = 100, _(asset.error) if asset.error else _("Failed")
    else:
        progress = min(99, job.progress) if job else 0
        raw = job.message if job else None
        message = str(JOB_MESSAGES[raw]) if raw in JOB_MESSAGES else ""
    return {
        "id": asset.id,
        "status": asset.status,
        "status_label": _course_status(asset.status),
        "error": asset.error,
        "progress": progress,
        "message": message,
        "duration": asset.duration,
        "renditions": [r["label"] for r in asset.renditions or []],
    }


@bp.route("/<int:course_id>/assign", methods=["GET", "POST"])
@roles(*STAFF)
def assign(course_id: int):
    """Assign by department, post, role and named people found by search; list who is assigned."""
    from lms.org.people_search import people_by_ids, search_people

    course = _course_or_404(course_id)
    ent = _ent()
    form = EnrolForm()
    set_audience_choices(form, ent)
    q = (request.args.get("q") or "").strip()[:100]
    chosen = people_by_ids(ent, request.form.getlist("person_ids")) if request.method == "POST" else []
    found = [p for p in search_people(ent, q)] if q else []
    preview = None
    if form.validate_on_submit():
        people = services.people_for(
            ent,
            department_ids=form.departments.data or [],
            post_ids=form.posts.data or [],
            role_ids=form.roles.data or [],
            person_ids=[p.id for p in chosen],
        )
        if not people:
            flash(_("Nobody matches the choice."), "error")
        elif request.form.get("confirm") == "1":
            counts = services.assign(course, people, assigned_by=current_user, due_on=form.due_on.data)
            flash(_("%(created)s people enrolled, %(existing)s were already enrolled.", **counts), "success")
            return redirect(url_for("courses.assign", course_id=course.id) + "#assigned")
        else:
            preview = people
    assigned = services.assigned_enrolments(course, ent)
    aq = (request.args.get("aq") or "").strip().lower()
    shown = [
        e
        for e in assigned
        if not aq
        or aq in e.person.name.lower()
        or aq in e.person.employee_no.lower()
        or aq in (e.person.department.path.lower() if e.person.department else "")
    ]
    return render_template(
        "courses/assign.html",
        course=course,
        form=form,
        preview=preview,
        q=q,
        found=[p for p in found if p.id not in {c.id for c in chosen}],
        chosen=chosen,
        assigned=assigned,
        shown=shown[:300],
        aq=aq,
    )


@bp.route("/<int:course_id>/assign/remove", methods=["POST"])
@roles(*STAFF)
def unassign(course_id: int):
    course = _course_or_404(course_id)
    person_id = request.form.get("person_id", type=int)
    if not person_id:
        abort(400)
    person = db.session.get(Person, person_id) if 0 < person_id < 2**31 else None
    if person is None or person.enterprise_id != _ent():
        abort(404)
    try:
        outcome = services.unassign(course, person_id, _ent())
    except DomainError:
        abort(404)
    if outcome == "kept":
        flash(
            _("%(name)s no longer has the course assigned; what they did so far is kept.", name=person.name),
            "success",
        )
    else:
        flash(_("%(name)s was removed from the course.", name=person.name), "success")
    return redirect(url_for("courses.assign", course_id=course.id) + "#assigned")


@bp.route("/<int:course_id>/progress")
@roles(*STAFF)
def course_progress(course_id: int):
    course = _course_or_404(course_id)
    lessons, rows = services.course_progress_table(course, _ent())
    return render_template("courses/progress.html", course=course, lessons=lessons, rows=rows)


@bp.route("/<int:course_id>/progress.xlsx")
@roles(*STAFF)
def course_progress_xlsx(course_id: int):
    course = _course_or_404(course_id)
    lessons, rows = services.course_progress_table(course, _ent())
    headers = [
        _("Employee number"),
        _("Name"),
        _("Department"),
        _("Enrolled as"),
        _("Due date"),
        _("Status"),
        _("Progress"),
        _("Study time (minutes)"),
        _("Completed at"),
    ] + [x.title for x in lessons]
    data = []
    for r in rows:
        e = r["enrolment"]
        p = r["person"]
        data.append(
            [
                p.employee_no,
                p.name,
                p.department.path if p.department else "",
                str(SOURCE_LABELS[e.source]),
                e.due_on,
                str(STATUS_LABELS.get(e.status, e.status)),
                f"{round(r['fraction'] * 100)}%",
                round((e.credited_seconds or 0) / 60, 1),
                e.completed_at,
            ]
            + [_cell(lp, f) for _lesson, lp, f in r["cells"]]
        )
    body = xlsx_bytes(headers, data, sheet_title=course.title[:31])
    resp = current_app.response_class(
        body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    resp.headers["Content-Disposition"] = storage.content_disposition(course.title + "-progress.xlsx")
    return resp


def _cell(lp: LessonProgress | None, fraction: float) -> str:
    if lp is None:
        return "—"
    if lp.status == COMPLETED:
        return _("Completed")
    return f"{round(fraction * 100)}%"


@bp.route("/categories", methods=["GET", "POST"])
@roles(*STAFF)
def categories():
    ent = _ent()
    if request.method == "POST":
        if request.form.get("delete"):
            row = db.session.get(CourseCategory, int(request.form["delete"]))
            if row is None or row.enterprise_id != ent:
                abort(404)
            services.delete_category(row)
        else:
            services.add_category(ent, request.form.get("name", ""))
        return redirect(url_for("courses.categories"))
    rows = services.categories(ent)
    return render_template("courses/categories.html", rows=rows)


STATUS_LABELS = {
    "enrolled": _l("Not started"),
    "in_progress": _l("In progress"),
    "completed": _l("Completed"),
    "not_started": _l("Not started"),
}
SOURCE_LABELS = {"self": _l("Self-enrolled"), "assigned": _l("Assigned")}
VIDEO_STATUS_LABELS = {
    "queued": _l("Queued"),
    "processing": _l("Processing"),
    "ready": _l("Ready"),
    "failed": _l("Failed"),
}
# The pipeline's messages (courses.media), listed here so that they are translated where they are shown.
MEDIA_MESSAGES = (
    _l("The file is not a media file."),
    _l("The file has no video stream (audio only?)."),
    _l("The file is truncated or damaged."),
    _l("The length of the video cannot be determined."),
    _l("Processing the video took too long and was stopped."),
    _l("The video could not be converted."),
    _l("This kind of file is not accepted; upload a single video file such as an MP4."),
    _l("The video could not be processed."),
    _l("The original file is missing."),
    _l("The file name contains control characters."),
    _l("Playlists and file lists are not accepted; upload a video file."),
    _l("Only regular files can be processed."),
    _l("The video converter (ffmpeg) could not be started."),
    _l("The video stream has no picture size."),
    _l("The file is empty."),
)
KIND_LABELS = {
    VIDEO: _l("Video"),
    DOCUMENT: _l("Document"),
    TEXT: _l("Text"),
    EXAM: _l("Exam"),
    LINK: _l("Link"),
}


@bp.app_template_filter("lesson_kind")
def _lesson_kind(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


@bp.app_template_filter("course_status")
def _course_status(status: str) -> str:
    labels = {
        "draft": _l("Draft"),
        "published": _l("Published"),
        "archived": _l("Archived"),
        **STATUS_LABELS,
        **SOURCE_LABELS,
        **VIDEO_STATUS_LABELS,
    }
    return str(labels.get(status, status))


@bp.app_template_filter("seconds")
def _seconds(value: float | None) -> str:
    if not value:
        return "0:00"
    s = int(round(value))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
