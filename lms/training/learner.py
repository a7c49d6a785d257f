"""What a learner has to do next: their requirements (the one status function), assigned courses, exams that
close soon and classroom sessions, ordered so that the late and the urgent come first.

``my_requirements`` is what "My training" lists; the home page and its counts read the same rows, so the two
pages can never disagree (a home page saying "0 to do" while a course is overdue).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.attributes import set_committed_value

from courses import progress as prog
from courses.models import COMPLETED, SOURCE_ASSIGNED, Course, Enrolment, Lesson, LessonProgress, Section
from courses.services import ENROLMENT_ORDER, READING_ORDER, ordered_lessons
from lms.core import timeutil
from lms.core.db import db, utcnow
from lms.core.nav import home_page
from lms.offline.services import person_upcoming
from lms.org.models import EVALUATOR, LEARNER, Person
from lms.training import glossary, reading
from lms.training.models import (
    COMPLETE,
    DUE_SOON,
    EXEMPT,
    EXPIRED,
    IN_GRACE,
    IN_PROGRESS,
    KIND_COURSE,
    KIND_HOURS,
    NOT_STARTED,
    OVERDUE,
    Requirement,
)
from quizzes.attempts import learner_exams

# The order of "My training" and of the home page: late first, then what is about to be late.
STATUS_ORDER = {
    OVERDUE: 0,
    EXPIRED: 1,
    IN_GRACE: 2,
    DUE_SOON: 2,
    IN_PROGRESS: 3,
    NOT_STARTED: 4,
    COMPLETE: 5,
    EXEMPT: 6,
}
URGENT = (OVERDUE, EXPIRED, IN_GRACE, DUE_SOON)
OPEN = (OVERDUE, EXPIRED, IN_GRACE, DUE_SOON, IN_PROGRESS, NOT_STARTED)
ITEM_LABELS = {**glossary.STATUS_LABELS, "open": _l("Open now"), "planned": _l("Coming up")}
# An assigned course or an exam whose due or closing day is this close is "due soon" on the home page.
SOON_DAYS = 7


def my_requirements(person: Person, as_of: dt.date | None = None) -> list[dict[str, Any]]:
    """The person's status rows against every requirement that applies to them, late first.

    Brings the person's kept rows up to date first (an exam just passed): call it from a unit that may write.
    """
    as_of = as_of or timeutil.today(person)
    rows = reading.person_rows(person.enterprise_id, person.id, as_of)
    rows.sort(
        key=lambda r: (STATUS_ORDER.get(r["status"], 9), r["due_on"] or dt.date.max, r["requirement_id"])
    )
    return rows


def still_to_do(rows: list[dict[str, Any]]) -> int:
    """How many of the rows are not met (neither complete nor exempt)."""
    return sum(1 for r in rows if r["status"] not in (COMPLETE, EXEMPT))


@dataclass
class Item:
    """One thing on the home page: what, why (status and day), how far along, and the one button."""

    kind: str  # requirement / course / exam / session
    title: str
    status: str  # a requirement status word (overdue, due_soon, …), or "open" / "planned"
    due_on: dt.date | None = None
    when: dt.datetime | None = None  # a session's start, an exam's close (UTC)
    fraction: float | None = None
    progress_label: str | None = None
    action: str | None = None  # continue / start / exam / session / catalogue / classroom / details
    url: str | None = None
    note: str | None = None
    requirement_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def urgent(self) -> bool:
        return self.status in URGENT


def resume_lesson(
    enrolment: Any, lessons: list[Any] | None = None, progress: dict[int, Any] | None = None
) -> Any:
    """The lesson to continue: the one last worked on if unfinished, else the first unfinished one in order.

    ``lessons`` (the course's lessons in reading order) and ``progress`` (by lesson id): when the caller has them.
    """
    if lessons is None:
        lessons = ordered_lessons(enrolment.course)
    if not lessons:
        return None
    if progress is None:
        progress = {lp.lesson_id: lp for lp in enrolment.progress}
    open_progress = [lp for lp in progress.values() if lp.status != COMPLETED and lp.opened_at is not None]
    if open_progress:
        last = max(open_progress, key=lambda lp: (lp.updated_at or lp.opened_at or dt.datetime.min, lp.id))
        match = next((x for x in lessons if x.id == last.lesson_id), None)
        if match is not None:
            return match
    return next(
        (x for x in lessons if progress.get(x.id) is None or progress[x.id].status != COMPLETED), lessons[0]
    )


@functools.cache
def _open_enrolments() -> Select:
    """The person's unfinished enrolments with their courses, each course's lessons in reading order
    (``READING_ORDER``) and the enrolment's progress in each (None where there is none; a course without lessons
    comes once, with None), in ``my_enrolments``' order (``ENROLMENT_ORDER``), built once with the person bound."""
    return (
        select(Enrolment, Course, Lesson, LessonProgress)
        .join(Course, Course.id == Enrolment.course_id)
        .outerjoin(Lesson, Lesson.course_id == Enrolment.course_id)
        .outerjoin(Section, Section.id == Lesson.section_id)
        .outerjoin(
            LessonProgress,
            and_(LessonProgress.enrolment_id == Enrolment.id, LessonProgress.lesson_id == Lesson.id),
        )
        .where(Enrolment.person_id == bindparam("person_id"), Enrolment.status != COMPLETED)
        .order_by(*ENROLMENT_ORDER, *READING_ORDER)
    )


def _course_items(person: Person, as_of: dt.date) -> dict[int, Item]:
    """Each unfinished enrolment of the person as an item (keyed by course id)."""
    # Every enrolment, its course, its lessons and its progress in one statement (rather than the enrolments,
    # the courses, the progress rows and each course's lessons one statement each): the resume point and the
    # fraction both use them.
    enrolments: dict[int, tuple[Enrolment, Course]] = {}
    lessons_of: dict[int, list[Lesson]] = {}
    progress_of: dict[int, dict[int, LessonProgress]] = {}
    for e, course, lesson, lp in db.session.execute(_open_enrolments(), {"person_id": person.id}):
        if e.id not in enrolments:
            enrolments[e.id] = (e, course)
            lessons_of[e.id], progress_of[e.id] = [], {}
        if lesson is not None:
            lessons_of[e.id].append(lesson)
            if lp is not None:
                progress_of[e.id][lesson.id] = lp
    out: dict[int, Item] = {}
    for e, course in enrolments.values():
        lessons, progress = lessons_of[e.id], progress_of[e.id]
        fraction = prog.enrolment_fraction(e, [x for x in lessons if x.required] or lessons, progress)
        lesson = resume_lesson(e, lessons, progress)
        started = bool(e.started_at) or fraction > 0
        if e.due_on is not None and e.due_on < as_of:
            status = OVERDUE
        elif e.due_on is not None and e.due_on <= as_of + dt.timedelta(days=SOON_DAYS):
            status = DUE_SOON
        else:
            status = IN_PROGRESS if started else NOT_STARTED
        out[e.course_id] = Item(
            kind="course",
            title=course.title,
            status=status,
            due_on=e.due_on,
            fraction=fraction,
            action="continue" if started else "start",
            url=url_for("courses.lesson", lesson_id=lesson.id)
            if lesson is not None
            else url_for("courses.course", course_id=e.course_id),
            extra={
                "course_id": e.course_id,
                "hours": course.hours,
                "lesson": lesson.title if lesson else None,
                "assigned": e.source == SOURCE_ASSIGNED,
            },
        )
    return out


@functools.cache
def _requirements_of() -> Select:
    """Id, name, kind and course of the requirements whose ids are bound (``ids``), built once."""
    return select(Requirement.id, Requirement.name, Requirement.kind, Requirement.course_id).where(
        Requirement.id.in_(bindparam("ids", expanding=True))
    )


def _requirements(rows: list[dict[str, Any]]) -> dict[int, Any]:
    """Id, name, kind and course of the requirements of the rows (plain rows: nothing else is shown)."""
    if not rows:
        return {}
    return {
        r.id: r for r in db.session.execute(_requirements_of(), {"ids": [r["requirement_id"] for r in rows]})
    }


def _requirement_items(
    rows: list[dict[str, Any]], courses: dict[int, Item], reqs: dict[int, Any]
) -> list[Item]:
    """Unmet requirements as items; a course requirement takes the enrolment's button and progress."""
    items = []
    for r in rows:
        if r["status"] not in OPEN:
            continue
        req = reqs[r["requirement_id"]]
        item = Item(
            kind="requirement",
            title=req.name,
            status=r["status"],
            due_on=r["due_on"],
            requirement_id=req.id,
        )
        if r["hours_due"]:
            done, due = Decimal(r["hours_done"] or 0), Decimal(r["hours_due"])
            item.fraction = float(min(done / due, Decimal(1))) if due else None
            item.extra.update(hours_done=done, hours_due=due)
        if req.kind == KIND_COURSE and req.course_id:
            course = courses.pop(req.course_id, None)
            if course is not None:
                item.action, item.url, item.fraction = course.action, course.url, course.fraction
                item.extra.update(course.extra)
            else:
                item.action, item.url = "start", url_for("courses.course", course_id=req.course_id)
        elif req.kind == KIND_HOURS:
            item.action, item.url = "catalogue", url_for("courses.catalogue")
        else:
            item.action, item.url = "classroom", url_for("offline.mine")
        items.append(item)
    return items


def _exam_items(person: Person, as_of: dt.date) -> list[Item]:
    """Exams (not practice) the person may sit now or soon and has not passed."""
    now = utcnow()
    out = []
    for row in learner_exams(person.enterprise_id, person.id):
        exam = row["exam"]
        if exam.mode != "exam" or row["passed"]:
            continue
        if exam.close_at is not None and exam.close_at <= now:
            continue
        if row["attempts_left"] is not None and row["attempts_left"] <= 0 and not row["open"]:
            continue
        closes = exam.close_at
        soon = closes is not None and closes <= now + dt.timedelta(days=SOON_DAYS)
        opens_later = exam.open_at is not None and exam.open_at > now
        out.append(
            Item(
                kind="exam",
                title=exam.title,
                status=DUE_SOON if soon else "open",
                when=closes,
                action="exam",
                url=url_for("quizzes.start", exam_id=exam.id),
                extra={"opens_at": exam.open_at if opens_later else None, "resume": bool(row["open"])},
            )
        )
    return out


def _session_items(person: Person) -> list[Item]:
    now = utcnow()
    return [
        Item(
            kind="session",
            title=s.topic,
            status=DUE_SOON if s.starts_at <= now + dt.timedelta(days=2) else "planned",
            when=s.starts_at,
            action="session",
            url=url_for("offline.mine"),
            extra={"location": s.location, "hours": s.hours},
        )
        for s in person_upcoming(person, now=now)
        if s.starts_at >= now
    ]


def _sort_key(item: Item) -> tuple[Any, ...]:
    day = item.due_on or (item.when.date() if item.when else None)
    return (STATUS_ORDER.get(item.status, 3), day or dt.date.max, item.kind, item.title)


def home(person: Person, as_of: dt.date | None = None) -> dict[str, Any]:
    """Everything the learner's home page shows: urgent items first, then the rest, and what is due next."""
    as_of = as_of or timeutil.today(person)
    rows = my_requirements(person, as_of)
    reqs = _requirements(rows)
    courses = _course_items(person, as_of)
    items = _requirement_items(rows, courses, reqs)
    items += list(courses.values())
    items += _exam_items(person, as_of)
    items += _session_items(person)
    items.sort(key=_sort_key)
    urgent = [i for i in items if i.urgent]
    rest = [i for i in items if not i.urgent]
    # Nothing owed: the next day something falls due (a validity ending, a course or exam date).
    upcoming = sorted(
        [
            (r["valid_until"], r["requirement_id"])
            for r in rows
            if r["status"] == COMPLETE and r["valid_until"]
        ]
    )
    next_due = None
    if upcoming:
        day, req_id = upcoming[0]
        req = reqs.get(req_id)
        next_due = {"title": req.name if req else "", "day": day}
    done = sum(1 for r in rows if r["status"] in (COMPLETE, EXEMPT))
    return {
        "as_of": as_of,
        "rows": rows,
        "urgent": urgent,
        "rest": rest,
        "todo": still_to_do(rows),
        "open_items": len(items),
        "late": sum(1 for i in items if i.status in (OVERDUE, EXPIRED)),
        "done": done,
        "total": len(rows),
        "next_due": next_due,
        "status_labels": ITEM_LABELS,
    }


def _home_page() -> dict[str, Any] | None:
    """The content of a learner's home page (None for an account without a person: their usual home)."""
    from flask_login import current_user  # noqa: PLC0415

    if current_user.person_id is None:
        return None
    # The person with their enterprise (whose time zone decides "today" and the times shown) in one statement,
    # rather than two lazy loads; kept on the user as ``current_user.person`` would have kept it, so that the
    # enterprise is still in the session when the page's times are written.
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    person = db.session.scalars(_person_with_enterprise(), {"person_id": user.person_id}).first()
    set_committed_value(user, "person", person)
    return home(person) if person is not None else None


@functools.cache
def _person_with_enterprise() -> Select:
    """A person (``person_id`` bound) with ``person.enterprise`` loaded by the same statement, built once."""
    return (
        select(Person)
        .join(Person.enterprise)
        .options(contains_eager(Person.enterprise))
        .where(Person.id == bindparam("person_id"))
    )


home_page(LEARNER, _home_page)
home_page(EVALUATOR, _home_page)
