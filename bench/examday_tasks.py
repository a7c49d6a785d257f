"""The database steps of the exam-day benchmark, each in a fresh interpreter:
``python -m bench.examday_tasks NAME '{json args}'`` (as bench.tasks, kept apart so that the exam day owns its
steps).

- ``setup``: a bank and a published 20-question exam in the enterprise of ``lms demo --size``, and for the
  takers either a signed-in session each (cookie + CSRF token, no password hashing) or a usable password (for
  the sign-in storm).
- ``check``: what the exam day left in the database, compared with what the load generator sent: every
  answer stored as sent, each attempt submitted and graded exactly once, one ledger record per passed taker.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from bench.common import task_main
from bench.tasks import make_app, single_choice_exam

TASKS: dict[str, Any] = {}
SIGN_IN_PASSWORD = "examday-2026"  # set on the accounts of the sign-in storm only (bench databases)
OPTIONS = ["通风、检测、审批", "直接进入", "只戴口罩", "无需审批"]


def task(fn: Any) -> Any:
    TASKS[fn.__name__] = fn
    return fn


def enterprise_code(size: str) -> str:
    return "DEMO" if size == "S" else f"BENCH-{size}"


@task
def tiny_site(url: str, people: int) -> dict[str, Any]:
    """Size T (for the fast test and the quick run): enterprise BENCH-T with ``people`` learners, nothing else
    (``lms demo --size S`` takes a minute on a busy machine; this takes a second)."""
    from lms.core.db import db
    from lms.org.models import Person
    from lms.org.services import create_enterprise, ensure_account, ensure_department

    make_app(url)
    ent = create_enterprise("BENCH-T", "压测企业T", industry="机械制造")
    dept = ensure_department(ent.id, "一车间/甲班")
    for i in range(people):
        person = Person(
            enterprise_id=ent.id, employee_no=f"T{i + 1:05d}", name=f"学员{i + 1}", department_id=dept.id
        )
        db.session.add(person)
        db.session.flush()
        ensure_account(person, ent)
    db.session.commit()
    return {"people": people}


@task
def setup(
    url: str, size: str, questions: int, takers: int, sign_in: int, logins: int, out: str
) -> dict[str, Any]:
    """A published exam drawing ``questions`` single-choice questions, and the takers' ways in.

    The first ``takers`` learners of the enterprise sit the exam; the first ``sign_in`` of them arrive by the
    sign-in page (a password is set for them), the others with a session made here. ``logins`` more learners
    (after the takers) only sign in: the concurrent sign-in storm. Writes one JSON line per person to ``out``.
    """
    from flask import g, session
    from flask_wtf.csrf import generate_csrf
    from sqlalchemy import select

    from lms.core.db import db
    from lms.org.models import LEARNER, Enterprise, User
    from lms.org.services import hash_password, start_session

    app = make_app(url)
    ent = db.session.scalar(select(Enterprise).where(Enterprise.code == enterprise_code(size)))
    if ent is None:
        raise RuntimeError(f"no enterprise {enterprise_code(size)}: run lms demo --size {size} first")
    stamp = time.strftime("%H%M%S")
    exam = single_choice_exam(
        ent.id,
        questions,
        bank_name=f"考试日题库-{stamp}",
        title=f"考试日：有限空间作业安全考试 {stamp}",
        options=OPTIONS,
        points=max(1, 100 // questions),
    )
    db.session.flush()
    users = list(
        db.session.scalars(
            select(User)
            .where(User.enterprise_id == ent.id, User.app_role == LEARNER, User.person_id.is_not(None))
            .where(*(~User.username.like(f"bench-{r}-%") for r in ("learner", "trainer", "manager")))
            .order_by(User.id)
            .limit(takers + logins)
        )
    )
    if len(users) < takers + logins:
        raise RuntimeError(
            f"{enterprise_code(size)} has {len(users)} learner accounts, {takers + logins} wanted: "
            "use a larger --size"
        )
    pw_hash = hash_password(SIGN_IN_PASSWORD) if sign_in or logins else None
    serializer = app.session_interface.get_signing_serializer(app)
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    lines = []
    for i, user in enumerate(users):
        user.must_change_password = False
        item: dict[str, Any] = {"user_id": user.id, "username": user.username, "takes": i < takers}
        if i < sign_in or i >= takers:
            user.password_hash = pw_hash
            item["password"] = SIGN_IN_PASSWORD
        else:
            ls = start_session(user, address="127.0.0.1", user_agent="examday")
            with app.test_request_context("/"):
                g.pop("csrf_token", None)  # flask-wtf caches the token in g, which outlives this request here
                csrf = generate_csrf()
                session["_user_id"] = ls.token
                session["_fresh"] = True
                item["cookies"] = {cookie_name: serializer.dumps(dict(session))}
                item["csrf"] = csrf
        lines.append(json.dumps(item))
    db.session.commit()
    Path(out).write_text("\n".join(lines) + "\n")
    return {"exam_id": exam.id, "enterprise_code": ent.code, "people": len(lines)}


@task
def check(url: str, exam_id: int, sent: str) -> dict[str, Any]:
    """Compare the database with what was sent (``sent``: JSON {attempt_id: {aq_id: answer}} of submitted
    attempts). Counts: answers stored as sent, attempts graded exactly once, ledger records of passed takers."""
    from sqlalchemy import func, select

    from lms.core.db import db
    from lms.ledger.models import TrainingRecord
    from quizzes.models import Attempt, AttemptAnswer, AttemptGrading, AttemptQuestion

    make_app(url)
    expected: dict[int, dict[int, Any]] = {
        int(a): {int(q): v for q, v in answers.items()}
        for a, answers in json.loads(Path(sent).read_text()).items()
    }
    statuses = dict(
        db.session.execute(
            select(Attempt.status, func.count()).where(Attempt.exam_id == exam_id).group_by(Attempt.status)
        ).all()
    )
    stored: dict[int, dict[int, Any]] = {}
    for attempt_id, aq_id, answer, seq in db.session.execute(
        select(AttemptQuestion.attempt_id, AttemptQuestion.id, AttemptAnswer.answer, AttemptAnswer.seq)
        .join(AttemptAnswer, AttemptAnswer.attempt_question_id == AttemptQuestion.id)
        .join(Attempt, Attempt.id == AttemptQuestion.attempt_id)
        .where(Attempt.exam_id == exam_id)
    ):
        if answer is not None and seq > 0:
            stored.setdefault(attempt_id, {})[aq_id] = answer
    answers_sent = sum(len(v) for v in expected.values())
    matching = 0
    mismatches: list[str] = []
    for attempt_id, answers in expected.items():
        got = stored.get(attempt_id, {})
        for aq_id, value in answers.items():
            if got.get(aq_id) == value:
                matching += 1
            elif len(mismatches) < 5:
                mismatches.append(
                    f"attempt {attempt_id} aq {aq_id}: sent {value!r}, stored {got.get(aq_id)!r}"
                )
    gradings = dict(
        db.session.execute(
            select(AttemptGrading.attempt_id, func.count())
            .join(Attempt, Attempt.id == AttemptGrading.attempt_id)
            .where(Attempt.exam_id == exam_id, AttemptGrading.reason.in_(("submit", "auto_submit")))
            .group_by(AttemptGrading.attempt_id)
        ).all()
    )
    finished = dict(
        db.session.execute(
            select(Attempt.id, Attempt.status).where(Attempt.exam_id == exam_id, Attempt.status != "open")
        ).all()
    )
    graded_once = sum(1 for a in expected if gradings.get(a) == 1 and a in finished)
    not_once = [f"attempt {a}: graded {gradings.get(a, 0)}x, {finished.get(a, 'open')}" for a in expected]
    not_once = [
        s for s, a in zip(not_once, expected, strict=True) if not (gradings.get(a) == 1 and a in finished)
    ]
    passed_people = set(
        db.session.scalars(
            select(Attempt.person_id).where(Attempt.exam_id == exam_id, Attempt.passed.is_(True))
        )
    )
    records = dict(
        db.session.execute(
            select(TrainingRecord.person_id, func.count())
            .where(TrainingRecord.exam_id == exam_id, TrainingRecord.voided_at.is_(None))
            .group_by(TrainingRecord.person_id)
        ).all()
    )
    ledger_ok = all(records.get(p) == 1 for p in passed_people) and all(n == 1 for n in records.values())
    return {
        "attempts": statuses,
        "attempts_sent": len(expected),
        "answers_sent": answers_sent,
        "answers_stored_as_sent": matching,
        "answers_stored_total": sum(len(v) for v in stored.values()),
        "mismatches": mismatches,
        "graded_once": graded_once,
        "not_graded_once": not_once[:5],
        "passed": len(passed_people),
        "ledger_records": sum(records.values()),
        "ledger_ok": ledger_ok,
    }


if __name__ == "__main__":
    task_main(TASKS)
