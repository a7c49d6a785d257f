"""SQL statements per exam autosave: a ceiling that fails if per-object lookups come back.

The autosave is the busiest POST of an exam (every answer of every taker). It needs: the login session (with
the user), one statement that reads, checks (own attempt, acting enterprise) and locks the attempt with the
answered question's type and option order and the highest saved seq, and one conditional UPDATE of the answer
(only if its seq is newer). Before this was measured it took 9 (attempt, exam, lock, question, version and a
read-back of the seq one by one), then 5 (the attempt, the question with its version, the answer's UPDATE and
the attempt's seq UPDATE); now 3 (issue 20). The attempt's own ``seq`` is written when it is submitted.
"""

from __future__ import annotations

from sqlalchemy import select

from lms.core.db import db
from quizzes import attempts
from quizzes.models import Attempt, AttemptAnswer
from tests.conftest import login
from tests.statements import TRANSACTION, recorded_statements

CEILING = 3  # the login session, the attempt, the answer
OURS = 2  # statements not about the login session


def test_autosave_statements_and_outcome(client, make_exam, make_person, enterprise, bank):
    exam = make_exam()
    learner = make_person(enterprise)
    attempt = attempts.start_attempt(exam, learner)
    db.session.commit()
    login(client, learner.user)
    aq = attempt.questions[0]
    for seq, expect_stale in ((7, False), (6, True)):
        db.session.expunge_all()  # a fresh request: nothing already in the identity map
        with recorded_statements(skip=TRANSACTION) as seen:
            r = client.post(
                f"/quizzes/attempts/{attempt.id}/answer", json={"aq": aq.id, "answer": None, "seq": seq}
            )
        assert r.status_code == 200, r.data[:300]
        assert r.json["stale"] is expect_stale and r.json["seq"] == 7
        assert len(seen) <= CEILING, "\n".join(seen)
        ours = [st for st in seen if "login_session" not in st]
        assert len(ours) <= OURS, "\n".join(ours)
        assert not any("quiz_question_version.stem" in st or "exam.title" in st for st in ours), ours
    db.session.expunge_all()
    saved = db.session.scalar(select(AttemptAnswer).where(AttemptAnswer.attempt_question_id == aq.id))
    assert saved.seq == 7 and attempts.attempt_seq(attempt.id) == 7
    # The attempt keeps the highest seq once submitted.
    client.post(f"/quizzes/attempts/{attempt.id}/submit")
    db.session.expunge_all()
    assert db.session.get(Attempt, attempt.id).seq == 7
