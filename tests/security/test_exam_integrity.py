"""During an attempt nothing sent to the browser depends on the key, the explanation or the score, and the
deadline is the server's: late saves, forged client clocks and skipping the start step change nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

from sqlalchemy import func, select, update

from lms.core.db import db
from quizzes import attempts, exams
from quizzes.models import Attempt, AttemptAnswer, QuestionVersion
from tests.conftest import login

from .conftest import BLANK_KEY, SECRETS, SHORT_REFERENCE

SAMPLE_ANSWERS = {
    "single_choice": 2,
    "multiple_choice": [0, 3],
    "true_false": True,
    "fill_blank": ["随便写"],
    "short_answer": "先通风再检测",
}


def _start(client, exam) -> Attempt:
    r = client.post(f"/quizzes/exams/{exam.id}/start")
    assert r.status_code == 302, r.data[:300]
    attempt_id = int(re.search(r"/attempts/(\d+)", r.headers["Location"]).group(1))
    return db.session.get(Attempt, attempt_id)


def _normalise(text: str) -> str:
    """Drop what legitimately changes between two identical requests (the clock)."""
    text = re.sub(r'data-seconds-left="\d*"', "", text)
    text = re.sub(r'"seconds_left":\s*\d+', "", text)
    return re.sub(r'"saved_at":\s*"[^"]*"', "", text)


def _everything_sent(client, attempt: Attempt) -> dict[str, str]:
    """Every page and JSON a learner's browser gets during the attempt (answers saved first, then pages)."""
    out: dict[str, str] = {}
    for n, aq in enumerate(attempt.questions):
        r = client.post(
            f"/quizzes/attempts/{attempt.id}/answer",
            json={"aq": aq.id, "answer": SAMPLE_ANSWERS[aq.version.type], "seq": 1},
        )
        assert r.status_code == 200, r.data
        out[f"save-{n}"] = json.dumps(sorted(r.json))  # the keys of the answer: the values carry the clock
        out[f"flag-{n}"] = client.post(
            f"/quizzes/attempts/{attempt.id}/flag", json={"aq": aq.id, "flagged": False}
        ).get_data(as_text=True)
        r = client.post(
            f"/quizzes/attempts/{attempt.id}/check",
            json={"aq": aq.id},
            headers={"Accept": "application/json"},
        )
        out[f"check-{n}"] = f"{r.status_code} {r.get_data(as_text=True)}"
    out |= {
        "take": client.get(f"/quizzes/attempts/{attempt.id}").get_data(as_text=True),
        "state": client.get(f"/quizzes/attempts/{attempt.id}/state").get_data(as_text=True),
        "start_page": client.get(f"/quizzes/exams/{attempt.exam_id}/start").get_data(as_text=True),
        "my_exams": client.get("/quizzes/").get_data(as_text=True),
    }
    return out


def test_nothing_sent_during_an_attempt_depends_on_key_explanation_or_score(client, exam_world):
    w = exam_world
    login(client, w["alice"].user)
    attempt = _start(client, w["exam"])
    assert sorted(aq.version.type for aq in attempt.questions) == sorted(SECRETS)
    first = _everything_sent(client, attempt)
    blob = "\n".join(first.values())
    for secret in [*SECRETS.values(), BLANK_KEY, SHORT_REFERENCE]:
        assert secret not in blob, secret
    assert '"score"' not in blob and '"correct"' not in blob and '"key"' not in blob
    assert {first[k][:3] for k in first if k.startswith("check-")} == {"400"}  # exam mode: no feedback

    # Change every key, explanation and stored score behind the page's back: not one byte may change.
    other_keys = {
        "single_choice": 3,
        "multiple_choice": [3],
        "true_false": True,
        "fill_blank": [["另一个"]],
        "short_answer": "另一个参考",
    }
    version_ids = [aq.question_version_id for aq in attempt.questions]
    for v in db.session.scalars(select(QuestionVersion).where(QuestionVersion.id.in_(version_ids))):
        v.key, v.explanation = other_keys[v.type], "换过的解析"
    db.session.execute(
        update(AttemptAnswer)
        .where(AttemptAnswer.attempt_question_id.in_([aq.id for aq in attempt.questions]))
        .values(score=Decimal("1.5"), correct=True, feedback="评语机密")
    )
    db.session.commit()
    second = _everything_sent(client, attempt)
    for name in first:
        assert _normalise(first[name]) == _normalise(second[name]), f"{name} depends on the key or score"
    assert "评语机密" not in "\n".join(second.values())


def test_answers_are_shown_only_after_submit(client, exam_world):
    """The control for the test above: the same secrets do reach the result page once allowed."""
    w = exam_world
    login(client, w["alice"].user)
    attempt = _start(client, w["exam"])
    client.post(f"/quizzes/attempts/{attempt.id}/submit")
    result = client.get(f"/quizzes/attempts/{attempt.id}/result").get_data(as_text=True)
    assert SECRETS["single_choice"] in result and BLANK_KEY in result


# ---------------------------------------------------------------- the deadline is the server's


FORGED = {
    "now": "2000-01-01T00:00:00Z",
    "saved_at": "2000-01-01T00:00:00Z",
    "client_time": 0,
    "deadline": "2999-01-01T00:00:00Z",
    "started_at": "2999-01-01T00:00:00Z",
    "seconds_left": 99999,
    "time": 0,
    "ts": 0,
    "elapsed": 0,
}


def _overdue_attempt(w, person) -> Attempt:
    attempt = attempts.start_attempt(w["exam"], person, now=dt.datetime.utcnow() - dt.timedelta(minutes=31))
    db.session.commit()
    return attempt


def test_late_save_with_forged_client_time_is_refused_and_not_stored(client, exam_world):
    w = exam_world
    attempt = _overdue_attempt(w, w["alice"])
    login(client, w["alice"].user)
    aq = attempt.questions[0]
    r = client.post(
        f"/quizzes/attempts/{attempt.id}/answer",
        json={"aq": aq.id, "answer": SAMPLE_ANSWERS[aq.version.type], "seq": 5, **FORGED},
    )
    assert r.status_code == 409
    db.session.expire_all()
    a = db.session.get(Attempt, attempt.id)
    assert a.status != "open" and a.auto_submitted
    assert a.submitted_at <= a.deadline + attempts.GRACE
    assert all(q.answer.answer is None and q.answer.seq == 0 for q in a.questions)
    # Forged time in the query string and headers of the submit neither reopens nor moves it.
    r = client.post(
        f"/quizzes/attempts/{attempt.id}/submit?now=2000-01-01", headers={"Date": "Sat, 01 Jan 2000"}
    )
    assert r.status_code == 302
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Attempt)
            .where(Attempt.id == attempt.id, Attempt.status == "open")
        )
        == 0
    )


def test_forged_time_fields_on_an_open_attempt_change_nothing(client, exam_world):
    w = exam_world
    login(client, w["alice"].user)
    attempt = _start(client, w["exam"])
    deadline, started = attempt.deadline, attempt.started_at
    aq = attempt.questions[0]
    before = dt.datetime.utcnow()
    r = client.post(
        f"/quizzes/attempts/{attempt.id}/answer",
        json={"aq": aq.id, "answer": SAMPLE_ANSWERS[aq.version.type], "seq": 1, **FORGED},
    )
    assert r.status_code == 200
    db.session.expire_all()
    a = db.session.get(Attempt, attempt.id)
    assert (a.deadline, a.started_at) == (deadline, started)
    saved = db.session.get(AttemptAnswer, aq.answer.id)
    assert saved.saved_at >= before - dt.timedelta(
        seconds=1
    )  # the server's clock, not the 2000 the client sent
    state = client.get(f"/quizzes/attempts/{attempt.id}/state").json
    assert state["seconds_left"] <= 30 * 60


def test_late_submit_counts_only_answers_saved_in_time(client, exam_world):
    w = exam_world
    attempt = attempts.start_attempt(
        w["exam"], w["alice"], now=dt.datetime.utcnow() - dt.timedelta(minutes=29)
    )
    db.session.commit()
    login(client, w["alice"].user)
    tf = next(aq for aq in attempt.questions if aq.version.type == "true_false")
    assert (
        client.post(
            f"/quizzes/attempts/{attempt.id}/answer", json={"aq": tf.id, "answer": False, "seq": 1}
        ).status_code
        == 200
    )
    # Time passes (the deadline moves into the past); a late save of another answer is refused.
    db.session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id)
        .values(deadline=dt.datetime.utcnow() - dt.timedelta(minutes=1))
    )
    db.session.commit()
    sc = next(aq for aq in attempt.questions if aq.version.type == "single_choice")
    late = client.post(f"/quizzes/attempts/{attempt.id}/answer", json={"aq": sc.id, "answer": 1, "seq": 2})
    assert late.status_code == 409
    client.post(f"/quizzes/attempts/{attempt.id}/submit")
    db.session.expire_all()
    a = db.session.get(Attempt, attempt.id)
    assert a.auto_submitted and a.score == Decimal("2")  # only the true/false answer saved in time
    assert db.session.get(AttemptAnswer, sc.answer.id).answer is None


def test_no_answers_without_the_start_step(client, exam_world):
    w = exam_world
    alices = attempts.start_attempt(w["exam"], w["alice"])
    db.session.commit()
    aq = alices.questions[0]
    login(client, w["bob"].user)
    # Another person's attempt (same enterprise), and made-up ids: not found, nothing changes.
    for attempt_id in (alices.id, alices.id + 1000, 987654321):
        r = client.post(
            f"/quizzes/attempts/{attempt_id}/answer",
            json={"aq": aq.id, "answer": SAMPLE_ANSWERS[aq.version.type], "seq": 50},
        )
        assert r.status_code == 404
        assert client.post(f"/quizzes/attempts/{attempt_id}/submit").status_code == 404
        assert (
            client.post(
                f"/quizzes/attempts/{attempt_id}/flag", json={"aq": aq.id, "flagged": True}
            ).status_code
            == 404
        )
        assert client.get(f"/quizzes/attempts/{attempt_id}/state").status_code == 404
    # Bob starts his own attempt and aims Alice's question id at it: refused, Alice's answer untouched.
    bobs = _start(client, w["exam"])
    r = client.post(
        f"/quizzes/attempts/{bobs.id}/answer",
        json={"aq": aq.id, "answer": SAMPLE_ANSWERS[aq.version.type], "seq": 60},
    )
    assert r.status_code in (302, 400, 404, 409)
    db.session.expire_all()
    a = db.session.get(Attempt, alices.id)
    assert a.status == "open" and a.seq == 0 and not aq.flagged
    assert db.session.get(AttemptAnswer, aq.answer.id).answer is None
    # Bob's own attempt got nothing from the stray save either.
    assert db.session.get(Attempt, bobs.id).seq == 0


def test_exam_not_open_cannot_be_started(client, exam_world):
    w = exam_world
    login(client, w["alice"].user)
    exams.set_exam_status(w["exam"], "draft")
    db.session.commit()
    assert client.post(f"/quizzes/exams/{w['exam'].id}/start").status_code == 404
    exams.set_exam_status(w["exam"], "published")
    w["exam"].close_at = dt.datetime.utcnow() - dt.timedelta(minutes=1)
    db.session.commit()
    client.post(f"/quizzes/exams/{w['exam'].id}/start")
    assert (
        db.session.scalar(select(func.count()).select_from(Attempt).where(Attempt.exam_id == w["exam"].id))
        == 0
    )
