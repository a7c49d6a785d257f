"""SQL statements per exam autosave: a ceiling that fails if per-object lookups come back.

The autosave is the busiest POST of an exam (every answer of every taker). It needs: the login session (with
the user), one statement that loads, checks and locks the attempt with its exam's enterprise, the attempt
question with its version, and the two UPDATEs (the answer if its seq is newer, the attempt's seq). Before this
was measured it took 9 (attempt, exam, lock, question, version and a read-back of the seq one by one).
"""

from __future__ import annotations

from sqlalchemy import event, select

from lms.core.db import db
from quizzes import attempts
from quizzes.models import Attempt, AttemptAnswer
from tests.conftest import login

CEILING = 5


def test_autosave_statements_and_outcome(client, make_exam, make_person, enterprise, bank):
    exam = make_exam()
    learner = make_person(enterprise)
    attempt = attempts.start_attempt(exam, learner)
    db.session.commit()
    login(client, learner.user)
    aq = attempt.questions[0]
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if statement.lstrip().split(None, 1)[0].upper() not in ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN"):
            seen.append(statement)

    for seq, expect_stale in ((7, False), (6, True)):
        db.session.expunge_all()  # a fresh request: nothing already in the identity map
        seen.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            r = client.post(
                f"/quizzes/attempts/{attempt.id}/answer", json={"aq": aq.id, "answer": None, "seq": seq}
            )
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert r.status_code == 200, r.data[:300]
        assert r.json["stale"] is expect_stale and r.json["seq"] == 7
        assert len(seen) <= CEILING, "\n".join(seen)
    db.session.expunge_all()
    saved = db.session.scalar(select(AttemptAnswer).where(AttemptAnswer.attempt_question_id == aq.id))
    assert saved.seq == 7 and db.session.get(Attempt, attempt.id).seq == 7
