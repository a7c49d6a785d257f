"""SQL statements of an exam start and of its paper page do not grow with the number of questions (issue 20).

On exam day every taker starts and loads the paper once. The start is the draw and the insert: a few reads, the
attempt, one INSERT for all its questions and one for their empty answers (the ORM sent one INSERT per row on
SQLite: 57 statements for 20 questions). The paper reads the attempt's questions, their versions and answers
in three statements (it took two per question: 48 for 20).
"""

from __future__ import annotations

import re

from sqlalchemy import select

from lms.core.db import db
from quizzes import banks
from quizzes.models import Attempt, AttemptAnswer, AttemptQuestion
from tests.conftest import login
from tests.statements import TRANSACTION, recorded_statements


def _bank(enterprise, n):  # noqa: ANN001, ANN202
    b = banks.create_bank(enterprise.id, f"题库{n}")
    for i in range(n):
        banks.create_question(
            b, type="single_choice", stem=f"第{i + 1}题", options=["甲", "乙", "丙", "丁"], key=i % 4
        )
    return b


def _counted(fn):  # noqa: ANN001, ANN202
    db.session.expunge_all()  # a fresh request: nothing already in the identity map
    with recorded_statements(skip=TRANSACTION) as seen:
        result = fn()
    return result, seen


def test_start_and_paper_statements_are_flat(client, make_exam, make_person, enterprise):
    counts = {}
    for n in (5, 20):
        exam = make_exam(rules=[{"bank_id": _bank(enterprise, n + 3).id, "count": n}], shuffle_options=True)
        learner = make_person(enterprise)
        db.session.commit()
        login(client, learner.user)
        start, seen_start = _counted(lambda exam=exam: client.post(f"/quizzes/exams/{exam.id}/start"))
        assert start.status_code in (302, 303), start.data[:300]
        attempt_id = int(re.search(r"/attempts/(\d+)", start.headers["Location"]).group(1))
        paper, seen_paper = _counted(lambda a=attempt_id: client.get(f"/quizzes/attempts/{a}"))
        assert paper.status_code == 200
        assert paper.get_data(as_text=True).count('class="card question"') == n
        counts[n] = (len(seen_start), len(seen_paper))
        # what was inserted: n questions in positions 1..n, each with its empty answer, options shuffled per person
        aqs = db.session.scalars(
            select(AttemptQuestion)
            .where(AttemptQuestion.attempt_id == attempt_id)
            .order_by(AttemptQuestion.position)
        ).all()
        assert [aq.position for aq in aqs] == list(range(1, n + 1))
        assert all(sorted(aq.option_order) == [0, 1, 2, 3] for aq in aqs)
        answers = db.session.scalars(
            select(AttemptAnswer).where(AttemptAnswer.attempt_question_id.in_([aq.id for aq in aqs]))
        ).all()
        assert len(answers) == n and all(a.answer is None and a.seq == 0 for a in answers)
        assert db.session.get(Attempt, attempt_id).max_score > 0
        client.post("/logout")
    assert counts[20] == counts[5], counts
    start_statements, paper_statements = counts[20]
    assert start_statements <= 20 and paper_statements <= 12, counts
