"""The learner's standing per exam, read for every exam at once (my exams, the start page; issue 20).

``attempts.standings`` reads the person's attempts and extensions in two statements whatever the number of
exams; it must say what the per-exam functions say (``grading.counting_attempt``, ``attempts.availability``).
"""

from __future__ import annotations

import datetime as dt

from lms.core.db import db, utcnow
from quizzes import attempts, exams, grading
from tests.conftest import login
from tests.quizzes.conftest import answer_all
from tests.statements import recorded_statements

T0 = utcnow() - dt.timedelta(hours=2)


def test_standings_agree_with_the_per_exam_functions(make_exam, make_person, enterprise):
    person = make_person(enterprise)
    highest = make_exam(title="取最高", attempts_allowed=3, counts="highest")
    last = make_exam(title="取最后", attempts_allowed=3, counts="last")
    practice = make_exam(title="练习", mode="practice")
    once = make_exam(title="一次", attempts_allowed=1)
    sitting = make_exam(title="进行中", attempts_allowed=2)
    exams.set_extension(once, person, extra_attempts=1, extra_minutes=5)
    for exam, results in ((highest, (True, False)), (last, (True, False)), (once, (False, False))):
        for i, right in enumerate(results):
            when = T0 + dt.timedelta(minutes=10 * i)
            attempt = attempts.start_attempt(exam, person, now=when)
            answer_all(attempt, right=right, now=when)
            attempts.submit_attempt(attempt, now=when + dt.timedelta(minutes=1))
    attempts.start_attempt(sitting, person)  # left open
    got = attempts.standings([highest, last, practice, once, sitting], person.id)
    for exam in (highest, last, practice, once, sitting):
        s = got[exam.id]
        assert s["counting"] == grading.counting_attempt(exam, person.id)
        assert s["attempts_used"] == attempts.attempts_used(exam.id, person.id)
        assert s["attempts_left"] == attempts.attempts_left(exam, person.id)
        assert s["open"] == attempts.open_attempt(exam.id, person.id)
        assert s["problem"] == attempts.availability(exam, person.id)
    assert got[highest.id]["passed"] and not got[last.id]["passed"] and got[once.id]["attempts_left"] == 0
    assert got[sitting.id]["open"] is not None and got[practice.id]["attempts_left"] is None
    assert got[once.id]["ext"].extra_minutes == 5


def test_my_exams_page_statements_do_not_grow_with_the_exams(client, make_exam, make_person, enterprise):
    learner = make_person(enterprise)
    db.session.commit()
    login(client, learner.user)
    counts = []
    for n in (1, 4):
        while len(attempts.learner_exams(enterprise.id, learner.id)) < n:
            make_exam(title=f"考试{len(counts)}-{n}")
        db.session.commit()
        db.session.expunge_all()
        with recorded_statements() as seen:
            assert client.get("/quizzes/").status_code == 200
        counts.append(len(seen))
    assert counts[0] == counts[1], counts
