"""Exams assigned to named people (指派考试), with an optional due date: assign, unassign, who, and mine.

An assignment does not close the exam to others (an exam stays open to its enterprise's people); it records
who must take it and by when, puts it first on the person's "my exams" and tells them at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from flask import current_app, has_request_context, url_for
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from lms.core import signals
from lms.core.db import db, utcnow
from lms.core.errors import NotFound
from lms.core.i18n import msg
from lms.org.models import Department, Person, User
from lms.org.services import active_people_in
from quizzes.models import Exam, ExamAssignment


def audience(
    enterprise_id: int,
    *,
    department_ids: Iterable[int] = (),
    post_ids: Iterable[int] = (),
    role_ids: Iterable[int] = (),
    person_ids: Iterable[int] = (),
) -> list[Person]:
    """Active people of the enterprise in any chosen department (with its subtree), post or role, or named."""
    return active_people_in(
        enterprise_id,
        department_ids=department_ids,
        post_ids=post_ids,
        role_ids=role_ids,
        person_ids=person_ids,
    )


def assign(
    exam: Exam, people: Iterable[Person], due_on: dt.date | None = None, actor: User | None = None
) -> dict[str, int]:
    """Assign the exam to people (idempotent: an existing assignment takes the new due date).

    Every person must belong to the exam's enterprise, else NotFound (nothing is assigned). Returns how many
    were newly assigned and how many already were.
    """
    people = list({p.id: p for p in people}.values())
    if any(p.enterprise_id != exam.enterprise_id for p in people):
        raise NotFound("person not found")
    existing = {
        a.person_id: a
        for a in db.session.scalars(
            select(ExamAssignment).where(
                ExamAssignment.exam_id == exam.id, ExamAssignment.person_id.in_([p.id for p in people])
            )
        )
    }
    created = 0
    new_people: list[Person] = []
    for person in sorted(people, key=lambda p: p.id):
        row = existing.get(person.id)
        if row is not None:
            if due_on is not None:
                row.due_on = due_on
            continue
        db.session.add(
            ExamAssignment(
                enterprise_id=exam.enterprise_id,
                exam_id=exam.id,
                person_id=person.id,
                due_on=due_on,
                assigned_by_id=actor.id if actor is not None else None,
                assigned_at=utcnow(),
            )
        )
        created += 1
        new_people.append(person)
    db.session.flush()
    _announce(exam, new_people, due_on)
    return {"created": created, "existing": len(people) - created}


def unassign(exam: Exam, person: Person) -> None:
    """Take the exam off a person's assignments (their attempts stay); NotFound when it was not assigned."""
    row = db.session.scalar(
        select(ExamAssignment).where(
            ExamAssignment.exam_id == exam.id,
            ExamAssignment.person_id == person.id,
            ExamAssignment.enterprise_id == exam.enterprise_id,
        )
    )
    if row is None:
        raise NotFound("assignment not found")
    db.session.delete(row)
    db.session.flush()


def assigned_people(exam: Exam) -> list[ExamAssignment]:
    """The exam's assignments with their people, by department then 工号."""
    return list(
        db.session.scalars(
            select(ExamAssignment)
            .join(Person, Person.id == ExamAssignment.person_id)
            .outerjoin(Department, Department.id == Person.department_id)
            .where(ExamAssignment.exam_id == exam.id, ExamAssignment.enterprise_id == exam.enterprise_id)
            .options(contains_eager(ExamAssignment.person).selectinload(Person.department))
            .order_by(Department.path, Person.employee_no, Person.id)
        )
    )


def my_assignments(person_id: int) -> dict[int, ExamAssignment]:
    """exam id → the person's assignment of it."""
    return {
        a.exam_id: a
        for a in db.session.scalars(
            select(ExamAssignment).where(ExamAssignment.person_id == person_id).order_by(ExamAssignment.id)
        )
    }


def _announce(exam: Exam, people: list[Person], due_on: dt.date | None) -> None:
    """Tell the newly assigned people (in-app notification, through whoever listens to ``notify``)."""
    if not people:
        return
    if has_request_context():
        link = url_for("quizzes.my_exams")
    else:
        with current_app.test_request_context("/"):
            link = url_for("quizzes.my_exams")
    events = [
        {
            "kind": "assigned",
            "key": f"assigned:exam:{exam.id}",
            "message": msg("New exam assigned to you: %(title)s", title=exam.title),
            "person_id": p.id,
            "user_id": None,
            "link": link,
            "body": msg("Take it by %(day)s.", day=due_on.isoformat()) if due_on else None,
        }
        for p in people
    ]
    signals.notify.send(None, enterprise_id=exam.enterprise_id, events=events)
