"""Course services: catalogue, authoring, video uploads, enrolment and the figures other packages read."""

from __future__ import annotations

import datetime as dt
import io
import secrets
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, BinaryIO

import markdown as markdown_lib
import nh3
from sqlalchemy import func, or_, select

from lms.core.db import db, utcnow
from lms.core.errors import Conflict, DomainError, NotFound
from lms.core.jobs import enqueue
from lms.core.signals import course_assigned
from lms.core.storage import StoredFile, save_stream
from lms.org.models import ADMIN, PERSON_ACTIVE, Person, User
from lms.org.services import active_people_in

from . import progress as prog
from .covers import checked_cover
from .i18n import _
from .models import (
    COMPLETED,
    COURSE_STATUSES,
    DEFAULT_CATEGORIES,
    DOCUMENT,
    EXAM,
    FAILED,
    LESSON_KINDS,
    LINK,
    PUBLISHED,
    QUEUED,
    SOURCE_ASSIGNED,
    SOURCE_SELF,
    TEXT,
    VIDEO,
    Course,
    CourseCategory,
    Enrolment,
    Lesson,
    LessonProgress,
    Section,
    VideoAsset,
)

# One 学时 is one class period of 45 minutes.
SECONDS_PER_HOUR_CREDIT = 45 * 60
VIDEO_SUFFIXES = {
    ".mp4",
    ".mov",
    ".m4v",
    ".3gp",
    ".mkv",
    ".webm",
    ".avi",
    ".flv",
    ".wmv",
    ".mpg",
    ".mpeg",
    ".ts",
}

# ------------------------------------------------------------------------------------------------ categories


def categories(enterprise_id: int) -> list[CourseCategory]:
    """Return the enterprise's categories, seeding the defaults the first time."""
    rows = list(
        db.session.scalars(
            select(CourseCategory)
            .where(CourseCategory.enterprise_id == enterprise_id)
            .order_by(CourseCategory.sort_order, CourseCategory.id)
        )
    )
    if not rows:
        rows = [
            CourseCategory(enterprise_id=enterprise_id, name=n, sort_order=i)
            for i, n in enumerate(DEFAULT_CATEGORIES)
        ]
        db.session.add_all(rows)
        db.session.flush()
    return rows


def add_category(enterprise_id: int, name: str) -> CourseCategory:
    """Add a category to the enterprise's list."""
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Enter a name."), field="name")
    existing = categories(enterprise_id)
    if any(c.name == name for c in existing):
        raise Conflict(_("This category exists already."))
    row = CourseCategory(enterprise_id=enterprise_id, name=name[:100], sort_order=len(existing))
    db.session.add(row)
    db.session.flush()
    return row


def delete_category(category: CourseCategory) -> None:
    """Remove a category from the list (courses keep their category text)."""
    db.session.delete(category)
    db.session.flush()


# ------------------------------------------------------------------------------------------------ rich text

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "h2",
    "h3",
    "h4",
    "strong",
    "em",
    "b",
    "i",
    "u",
    "ul",
    "ol",
    "li",
    "blockquote",
    "code",
    "pre",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "img",
    "span",
    "del",
    "sup",
    "sub",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
}


def render_markdown(text: str | None) -> str:
    """Turn Markdown into HTML that is safe to show (nh3 removes scripts, handlers and foreign schemes)."""
    html = markdown_lib.markdown(text or "", extensions=["tables", "sane_lists"], output_format="html")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


# ------------------------------------------------------------------------------------------------ visibility


def visible_to_enterprise(course: Course, enterprise_id: int) -> bool:
    """Whether a course belongs to the enterprise or to the shared library."""
    return course.enterprise_id is None or course.enterprise_id == enterprise_id


def can_manage(course: Course, user: User, enterprise_id: int) -> bool:
    """Staff edit their enterprise's courses; only platform admins edit the shared library."""
    if user.app_role == ADMIN:
        return course.enterprise_id in (None, enterprise_id)
    return course.enterprise_id is not None and course.enterprise_id == enterprise_id


def catalogue(
    enterprise_id: int,
    *,
    q: str | None = None,
    category: str | None = None,
    statuses: Iterable[str] = (PUBLISHED,),
) -> list[Course]:
    """Courses of the enterprise and the shared library, filtered by text and category."""
    query = select(Course).where(
        or_(Course.enterprise_id == enterprise_id, Course.enterprise_id.is_(None)),
        Course.status.in_(list(statuses)),
    )
    if q:
        like = f"%{q.strip()}%"
        query = query.where(or_(Course.title.ilike(like), Course.description.ilike(like)))
    if category:
        query = query.where(Course.category == category)
    return list(db.session.scalars(query.order_by(Course.title)))


# ------------------------------------------------------------------------------------------------ authoring

COURSE_FIELDS = (
    "title",
    "description",
    "category",
    "hours",
    "self_enrol",
    "forward_seek_allowed",
    "max_playback_rate",
    "completion_threshold",
    "min_reading_seconds",
    "issue_certificate",
)


def _apply_course_fields(course: Course, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if key not in COURSE_FIELDS:
            raise DomainError(f"unknown course field {key}")
        setattr(course, key, value)
    if not (course.title or "").strip():
        raise DomainError(_("A title is required."), field="title")
    course.title = course.title.strip()[:200]
    if course.hours is not None and Decimal(str(course.hours)) < 0:
        raise DomainError(_("Hours cannot be negative."), field="hours")
    if course.completion_threshold is not None and not 0.1 <= float(course.completion_threshold) <= 1.0:
        raise DomainError(
            "The completion threshold must be between 10% and 100%.", field="completion_threshold"
        )
    if course.max_playback_rate is not None and not 0.5 <= float(course.max_playback_rate) <= 4:
        raise DomainError(
            _("The maximum playback speed must be between 0.5 and 4."), field="max_playback_rate"
        )


def create_course(enterprise_id: int | None, *, actor: User | None = None, **values: Any) -> Course:
    """Create a draft course (``enterprise_id`` None: the shared platform library)."""
    course = Course(
        enterprise_id=enterprise_id,
        status="draft",
        created_by_id=actor.id if actor else None,
        hours=Decimal("1"),
        self_enrol=True,
        forward_seek_allowed=False,
        max_playback_rate=1.5,
        completion_threshold=0.9,
        min_reading_seconds=60,
        issue_certificate=False,
    )
    _apply_course_fields(course, values)
    db.session.add(course)
    db.session.flush()
    return course


def update_course(course: Course, **values: Any) -> Course:
    """Change a course's settings; learners' progress is kept whatever changes."""
    _apply_course_fields(course, values)
    db.session.flush()
    return course


def set_cover(course: Course, stream: BinaryIO, filename: str, *, actor: User | None = None) -> StoredFile:
    """Store a cover image (jpg/png/webp/gif), checked by its content: a renamed file is refused."""
    data, suffix = checked_cover(stream, filename)
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    stored = save_stream(
        io.BytesIO(data),
        f"{stem or 'cover'}.{suffix}",
        purpose="course-cover",
        enterprise_id=course.enterprise_id,
        uploaded_by_id=actor.id if actor else None,
        max_bytes=10 * 1024 * 1024,
    )
    course.cover = stored
    db.session.flush()
    return stored


def set_status(course: Course, status: str) -> Course:
    """Publish, archive or return a course to draft; publishing needs at least one lesson."""
    if status not in COURSE_STATUSES:
        raise DomainError(f"unknown status {status}")
    if status == PUBLISHED and not db.session.scalar(
        select(func.count(Lesson.id)).where(Lesson.course_id == course.id)
    ):
        raise DomainError(_("Add at least one lesson before publishing."))
    course.status = status
    db.session.flush()
    return course


def add_section(course: Course, title: str) -> Section:
    """Append a section."""
    title = (title or "").strip()
    if not title:
        raise DomainError(_("A title is required."), field="title")
    position = db.session.scalar(
        select(func.coalesce(func.max(Section.position), -1)).where(Section.course_id == course.id)
    )
    section = Section(course_id=course.id, title=title[:200], position=int(position) + 1)
    course.sections.append(section)
    db.session.flush()
    return section


def rename_section(section: Section, title: str) -> Section:
    title = (title or "").strip()
    if not title:
        raise DomainError(_("A title is required."), field="title")
    section.title = title[:200]
    db.session.flush()
    return section


def _has_progress(lesson_ids: list[int]) -> bool:
    if not lesson_ids:
        return False
    return bool(
        db.session.scalar(
            select(func.count(LessonProgress.id)).where(LessonProgress.lesson_id.in_(lesson_ids))
        )
    )


def delete_section(section: Section) -> None:
    """Delete a section and its lessons, unless learners have progress in them."""
    if _has_progress([x.id for x in section.lessons]):
        raise Conflict(
            "Learners have progress in this section; make its lessons optional instead of deleting it."
        )
    db.session.delete(section)
    db.session.flush()


def _swap(items: list[Any], item: Any, direction: str) -> None:
    for i, x in enumerate(items):
        x.position = i
    i = items.index(item)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(items):
        items[i].position, items[j].position = j, i
    db.session.flush()


def move_section(section: Section, direction: str) -> None:
    """Move a section up or down."""
    siblings = list(
        db.session.scalars(
            select(Section)
            .where(Section.course_id == section.course_id)
            .order_by(Section.position, Section.id)
        )
    )
    _swap(siblings, section, direction)


def move_lesson(lesson: Lesson, direction: str) -> None:
    """Move a lesson up or down within its section."""
    siblings = list(
        db.session.scalars(
            select(Lesson).where(Lesson.section_id == lesson.section_id).order_by(Lesson.position, Lesson.id)
        )
    )
    _swap(siblings, lesson, direction)


# A course's reading order: the lessons by their section's place, then their own. One order for every reader
# (ordered_lessons, the course page's outline, the learner home's resume points).
READING_ORDER = (Section.position, Section.id, Lesson.position, Lesson.id)


def ordered_lessons(course: Course) -> list[Lesson]:
    """Every lesson in reading order (section, then position)."""
    return list(
        db.session.scalars(
            select(Lesson)
            .join(Section, Section.id == Lesson.section_id)
            .where(Lesson.course_id == course.id)
            .order_by(*READING_ORDER)
        )
    )


def _apply_lesson(
    lesson: Lesson,
    *,
    title: str,
    required: bool,
    body_markdown: str | None,
    url: str | None,
    exam_id: int | None,
) -> None:
    title = (title or "").strip()
    if not title:
        raise DomainError(_("A title is required."), field="title")
    lesson.title, lesson.required = title[:200], bool(required)
    if lesson.kind == TEXT:
        lesson.body_markdown = body_markdown or ""
        lesson.body_html = render_markdown(body_markdown)
    elif lesson.kind in (VIDEO, DOCUMENT) and body_markdown is not None:
        lesson.body_markdown = body_markdown
        lesson.body_html = render_markdown(body_markdown)
    if lesson.kind == LINK:
        url = (url or "").strip()
        if not url.startswith(("http://", "https://")):
            raise DomainError(_("Enter a web address starting with http:// or https://."), field="url")
        lesson.url = url[:1000]
    if lesson.kind == EXAM:
        if not exam_id:
            raise DomainError(_("Choose an exam."), field="exam_id")
        lesson.exam_id = int(exam_id)


def add_lesson(
    section: Section,
    kind: str,
    title: str,
    *,
    required: bool = True,
    body_markdown: str | None = None,
    url: str | None = None,
    exam_id: int | None = None,
) -> Lesson:
    """Append a lesson to a section."""
    if kind not in LESSON_KINDS:
        raise DomainError(f"unknown lesson kind {kind}", field="kind")
    position = db.session.scalar(
        select(func.coalesce(func.max(Lesson.position), -1)).where(Lesson.section_id == section.id)
    )
    lesson = Lesson(course_id=section.course_id, section_id=section.id, kind=kind, position=int(position) + 1)
    _apply_lesson(
        lesson, title=title, required=required, body_markdown=body_markdown, url=url, exam_id=exam_id
    )
    section.lessons.append(lesson)
    db.session.flush()
    return lesson


def update_lesson(
    lesson: Lesson,
    *,
    title: str,
    required: bool = True,
    body_markdown: str | None = None,
    url: str | None = None,
    exam_id: int | None = None,
) -> Lesson:
    """Change a lesson; its learners' progress stays."""
    _apply_lesson(
        lesson, title=title, required=required, body_markdown=body_markdown, url=url, exam_id=exam_id
    )
    db.session.flush()
    return lesson


def delete_lesson(lesson: Lesson) -> None:
    """Delete a lesson unless learners have progress in it."""
    if _has_progress([lesson.id]):
        raise Conflict(_("Learners have progress in this lesson; make it optional instead of deleting it."))
    db.session.delete(lesson)
    db.session.flush()


def set_document(
    lesson: Lesson,
    stream: BinaryIO,
    filename: str,
    *,
    actor: User | None = None,
    max_bytes: int | None = None,
) -> StoredFile:
    """Store the PDF of a document lesson."""
    if lesson.kind != DOCUMENT:
        raise DomainError(_("Only document lessons take a document."))
    if not filename.lower().endswith(".pdf"):
        raise DomainError(_("Upload the document as a PDF."), field="document")
    stored = save_stream(
        stream,
        filename,
        purpose="course-document",
        enterprise_id=lesson.course.enterprise_id,
        uploaded_by_id=actor.id if actor else None,
        max_bytes=max_bytes,
        content_type="application/pdf",
    )
    with open(_path(stored), "rb") as fh:
        if fh.read(5) != b"%PDF-":
            raise DomainError(_("%(name)s is not a PDF file.", name=filename), field="document")
    lesson.document = stored
    lesson.document_token = secrets.token_urlsafe(24)
    db.session.flush()
    return stored


def _path(stored: StoredFile) -> Any:
    from lms.core.storage import path_of

    return path_of(stored.key)


# ------------------------------------------------------------------------------------------------ video


def add_video(
    lesson: Lesson,
    stream: BinaryIO,
    filename: str,
    *,
    actor: User | None = None,
    max_bytes: int | None = None,
) -> VideoAsset:
    """Store an uploaded video (streamed to disk) and queue its transcoding; the previous one plays meanwhile."""
    if lesson.kind != VIDEO:
        raise DomainError(_("Only video lessons take a video."))
    stored = save_stream(
        stream,
        filename or "video.mp4",
        purpose="video-original",
        enterprise_id=lesson.course.enterprise_id,
        uploaded_by_id=actor.id if actor else None,
        max_bytes=max_bytes,
    )
    return add_video_file(lesson, stored, actor=actor)


def add_video_file(lesson: Lesson, stored: StoredFile, *, actor: User | None = None) -> VideoAsset:
    """Queue the transcoding of a stored original."""
    asset = VideoAsset(
        lesson_id=lesson.id, original_id=stored.id, token=secrets.token_urlsafe(24), status=QUEUED
    )
    db.session.add(asset)
    db.session.flush()
    _queue(asset, actor)
    return asset


def _queue(asset: VideoAsset, actor: User | None) -> None:
    from .jobs import transcode_video

    lesson = db.session.get(Lesson, asset.lesson_id)
    job = enqueue(
        transcode_video,
        asset.id,
        kind="course-transcode",
        enterprise_id=lesson.course.enterprise_id if lesson else None,
        created_by_id=actor.id if actor else None,
    )
    if asset.job_id is None or asset.status == QUEUED:
        asset.job_id = job.id
    db.session.flush()


def retry_video(asset: VideoAsset, *, actor: User | None = None) -> VideoAsset:
    """Queue a failed video again."""
    if asset.status != FAILED:
        raise Conflict(_("Only a failed video can be retried."))
    asset.status, asset.error, asset.error_detail = QUEUED, None, None
    asset.job_id = None
    db.session.flush()
    _queue(asset, actor)
    return asset


# ------------------------------------------------------------------------------------------------ enrolment


def enrolment_of(course: Course, person_id: int | None) -> Enrolment | None:
    """Return the person's enrolment in the course, if any."""
    if person_id is None:
        return None
    return db.session.scalar(
        select(Enrolment).where(Enrolment.course_id == course.id, Enrolment.person_id == person_id)
    )


def enrol(
    course: Course,
    person: Person,
    *,
    source: str = SOURCE_SELF,
    assigned_by: User | None = None,
    due_on: dt.date | None = None,
) -> tuple[Enrolment, bool]:
    """Enrol a person (idempotent); an assignment upgrades a self-enrolment and sets the due date."""
    if course.status != PUBLISHED:
        raise DomainError(_("Only published courses take enrolments."))
    if not visible_to_enterprise(course, person.enterprise_id):
        raise NotFound("course not found")
    existing = enrolment_of(course, person.id)
    if existing is not None:
        if source == SOURCE_ASSIGNED:
            newly = existing.source != SOURCE_ASSIGNED
            existing.source = SOURCE_ASSIGNED
            existing.assigned_by_id = assigned_by.id if assigned_by else existing.assigned_by_id
            if due_on is not None:
                existing.due_on = due_on
            db.session.flush()
            if newly:
                course_assigned.send(existing, person=person, course=course)
        return existing, False
    if person.status != PERSON_ACTIVE:
        raise DomainError(_("%(name)s has left and cannot be enrolled.", name=person.name))
    enrolment = Enrolment(
        course_id=course.id,
        person_id=person.id,
        enterprise_id=person.enterprise_id,
        source=source,
        assigned_by_id=assigned_by.id if assigned_by else None,
        due_on=due_on,
        status="enrolled",
        credited_seconds=0.0,
    )
    db.session.add(enrolment)
    db.session.flush()
    if source == SOURCE_ASSIGNED:
        course_assigned.send(enrolment, person=person, course=course)
    return enrolment, True


def self_enrol(course: Course, person: Person) -> Enrolment:
    """Enrol oneself where the course allows it."""
    if course.status != PUBLISHED or not course.self_enrol:
        raise DomainError(_("This course does not take self-enrolment; ask your trainer to assign it."))
    return enrol(course, person, source=SOURCE_SELF)[0]


def people_for(
    enterprise_id: int,
    *,
    department_ids: Iterable[int] = (),
    post_ids: Iterable[int] = (),
    role_ids: Iterable[int] = (),
    person_ids: Iterable[int] = (),
) -> list[Person]:
    """Active people matching any of the departments (with their subtrees), posts, roles or ids."""
    return active_people_in(
        enterprise_id,
        department_ids=department_ids,
        post_ids=post_ids,
        role_ids=role_ids,
        person_ids=person_ids,
    )


def assign(
    course: Course,
    people: Iterable[Person],
    *,
    assigned_by: User | None = None,
    due_on: dt.date | None = None,
) -> dict[str, int]:
    """Assign a course to people; return how many were newly enrolled and how many were already."""
    created = existing = 0
    for person in people:
        _enrolment, new = enrol(
            course, person, source=SOURCE_ASSIGNED, assigned_by=assigned_by, due_on=due_on
        )
        created += int(new)
        existing += int(not new)
    return {"created": created, "existing": existing}


def assigned_enrolments(course: Course, enterprise_id: int) -> list[Enrolment]:
    """The enterprise's people to whom the course is assigned, by department then 工号."""
    from sqlalchemy.orm import contains_eager, selectinload

    from lms.org.models import Department

    return list(
        db.session.scalars(
            select(Enrolment)
            .join(Person, Person.id == Enrolment.person_id)
            .outerjoin(Department, Department.id == Person.department_id)
            .where(
                Enrolment.course_id == course.id,
                Enrolment.enterprise_id == enterprise_id,
                Enrolment.source == SOURCE_ASSIGNED,
            )
            .options(contains_eager(Enrolment.person).selectinload(Person.department))
            .options(selectinload(Enrolment.progress))
            .order_by(Department.path, Person.employee_no, Person.id)
        )
    )


def unassign(course: Course, person_id: int, enterprise_id: int) -> str:
    """Take the course off a person's assignments; return ``"removed"`` or ``"kept"``.

    Someone who has not started loses the enrolment; someone who has keeps their progress (and any record
    already earned) as a self-enrolment without a due date, so nothing they did is lost.
    """
    enrolment = db.session.scalar(
        select(Enrolment).where(
            Enrolment.course_id == course.id,
            Enrolment.person_id == person_id,
            Enrolment.enterprise_id == enterprise_id,
        )
    )
    if enrolment is None or enrolment.source != SOURCE_ASSIGNED:
        raise NotFound("assignment not found")
    started = (
        enrolment.started_at is not None
        or enrolment.status == COMPLETED
        or (enrolment.credited_seconds or 0) > 0
        or db.session.scalar(
            select(func.count())
            .select_from(LessonProgress)
            .where(LessonProgress.enrolment_id == enrolment.id)
        )
    )
    if started:
        enrolment.source, enrolment.due_on, enrolment.assigned_by_id = SOURCE_SELF, None, None
        db.session.flush()
        return "kept"
    db.session.delete(enrolment)
    db.session.flush()
    return "removed"


# A person's enrolments as they are listed: unfinished first, the nearest due date first, no due date last
# (my_enrolments, the learner home).
ENROLMENT_ORDER = (Enrolment.status == COMPLETED, Enrolment.due_on.is_(None), Enrolment.due_on, Enrolment.id)


def my_enrolments(person_id: int) -> list[Enrolment]:
    """A person's enrolments, unfinished first and the nearest due dates first (``ENROLMENT_ORDER``)."""
    return list(
        db.session.scalars(
            select(Enrolment).where(Enrolment.person_id == person_id).order_by(*ENROLMENT_ORDER)
        )
    )


def complete_exam_lessons(person_id: int, exam_id: int, *, when: dt.datetime | None = None) -> int:
    """Complete the exam lessons linking ``exam_id`` in the person's enrolments; return how many."""
    rows = db.session.execute(
        select(Enrolment, Lesson)
        .join(Lesson, Lesson.course_id == Enrolment.course_id)
        .where(Enrolment.person_id == person_id, Lesson.kind == EXAM, Lesson.exam_id == exam_id)
    )
    n = 0
    for enrolment, lesson in rows.all():
        prog.complete_lesson(enrolment, lesson, now=when or utcnow())
        n += 1
    return n


# ------------------------------------------------------------------------------------------------ figures


def credited_seconds_by_person(
    enterprise_id: int, *, person_ids: Iterable[int] | None = None, course_ids: Iterable[int] | None = None
) -> dict[int, float]:
    """Study time credited per person (seconds), summed over their courses."""
    q = (
        select(Enrolment.person_id, func.coalesce(func.sum(Enrolment.credited_seconds), 0))
        .where(Enrolment.enterprise_id == enterprise_id)
        .group_by(Enrolment.person_id)
    )
    if person_ids is not None:
        q = q.where(Enrolment.person_id.in_(list(person_ids)))
    if course_ids is not None:
        q = q.where(Enrolment.course_id.in_(list(course_ids)))
    return {pid: float(s or 0) for pid, s in db.session.execute(q)}


def credited_hours_by_person(
    enterprise_id: int, *, person_ids: Iterable[int] | None = None, course_ids: Iterable[int] | None = None
) -> dict[int, Decimal]:
    """Study time credited per person in 学时 (45 minutes each), to one decimal."""
    return {
        pid: (Decimal(str(s)) / SECONDS_PER_HOUR_CREDIT).quantize(Decimal("0.1"))
        for pid, s in credited_seconds_by_person(
            enterprise_id, person_ids=person_ids, course_ids=course_ids
        ).items()
    }


def course_progress_table(course: Course, enterprise_id: int) -> tuple[list[Lesson], list[dict[str, Any]]]:
    """Rows for the trainer: each enrolled person of the enterprise, their status per lesson."""
    lessons = ordered_lessons(course)
    enrolments = list(
        db.session.scalars(
            select(Enrolment)
            .join(Person, Person.id == Enrolment.person_id)
            .where(Enrolment.course_id == course.id, Enrolment.enterprise_id == enterprise_id)
            .order_by(Person.employee_no)
        )
    )
    ids = [e.id for e in enrolments]
    progress: dict[tuple[int, int], LessonProgress] = {}
    if ids:
        for lp in db.session.scalars(select(LessonProgress).where(LessonProgress.enrolment_id.in_(ids))):
            progress[(lp.enrolment_id, lp.lesson_id)] = lp
    required = [x for x in lessons if x.required] or lessons
    threshold = float(course.completion_threshold or 0.9)
    rows = []
    for e in enrolments:
        per = {x.id: progress.get((e.id, x.id)) for x in lessons}
        cells = [(x, per[x.id], prog.lesson_fraction(x, per[x.id], threshold)) for x in lessons]
        rows.append(
            {
                "enrolment": e,
                "person": e.person,
                "cells": cells,
                "fraction": prog.enrolment_fraction(e, required, {k: v for k, v in per.items() if v}),
            }
        )
    return lessons, rows
