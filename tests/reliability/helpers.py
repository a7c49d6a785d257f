"""Seeding for the reliability suite (run inside ``live.db()``)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from lms.core.db import db

from .conftest import PASSWORD, Browser


def seed_exam(n_learners: int, questions: int = 5) -> dict[str, Any]:
    """An enterprise, a published exam of ``questions`` true/false items (key True) and ``n`` learners."""
    from werkzeug.security import generate_password_hash

    from lms.org.models import Enterprise, Person, User
    from quizzes import banks, exams

    code = f"R{uuid.uuid4().hex[:6]}"
    ent = Enterprise(code=code, name="可靠性测试企业")
    db.session.add(ent)
    db.session.flush()
    bank = banks.create_bank(ent.id, "题库")
    for i in range(questions):
        banks.create_question(bank, type="true_false", stem=f"判断{i}", key=True, points=1)
    exam = exams.create_exam(
        ent.id, title="并发考试", time_limit_minutes=30, attempts_allowed=1, shuffle_questions=False
    )
    exams.add_rule(exam, bank_id=bank.id, count=questions)
    exams.publish_exam(exam)
    # One scrypt hash with small work factors: 200 real sign-ins through the form stay cheap on 2 cores.
    pw = generate_password_hash(PASSWORD, method="scrypt:1024:8:1")
    people = [
        Person(enterprise_id=ent.id, employee_no=f"{code}-{i:04d}", name=f"学员{i}")
        for i in range(n_learners)
    ]
    db.session.add_all(people)
    db.session.flush()
    users = [
        User(
            username=f"{code.lower()}-{i}",
            password_hash=pw,
            display_name=p.name,
            app_role="learner",
            enterprise_id=ent.id,
            person_id=p.id,
            must_change_password=False,
        )
        for i, p in enumerate(people)
    ]
    db.session.add_all(users)
    db.session.commit()
    return {
        "enterprise_id": ent.id,
        "exam_id": exam.id,
        "usernames": [u.username for u in users],
        "person_ids": [p.id for p in people],
    }


def start_exam(b: Browser, exam_id: int) -> tuple[int, list[int]]:
    """Start the exam through the pages; return the attempt id and its question ids in order."""
    status, hdrs, body = b.request("POST", f"/quizzes/exams/{exam_id}/start", data={})
    assert status in (302, 303), (status, body[:300])
    attempt_id = int(re.search(r"/attempts/(\d+)", hdrs["Location"]).group(1))
    status, _h, page = b.request("GET", f"/quizzes/attempts/{attempt_id}")
    assert status == 200, (status, page[:300])
    aqs = [int(x) for x in re.findall(rb'data-aq="(\d+)"', page)]
    return attempt_id, aqs
