"""Exam keys stay secret until the exam's review policy releases them (issue 16).

The attack: an exam that never publishes its answers (不公布) allows two attempts. The learner submits attempt 1
blank, so every question lands in the mistake book, then asks the mistake book to "check" a null answer to each
question: the answers came back with every key and explanation, and attempt 2 shared most of its questions.
Every path that can show a key (mistake book, practice checks, practice and exam result pages, the attempt's
JSON) is held to the policy of the exam the question came from, and to the rule that a question an open exam may
draw is not practised, unless its bank is marked for practice.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, update

from lms.core.db import db
from quizzes import attempts, banks, exams, key_policy
from quizzes.models import Attempt, Exam, MistakeEntry, Question, QuestionBank
from tests.conftest import login

from .conftest import BLANK_KEY, SECRETS, SHORT_REFERENCE, add_every_type

ALL_SECRETS = [*SECRETS.values(), BLANK_KEY, SHORT_REFERENCE]
EMPTY_ANSWERS: list[Any] = [None, "", [], [""], {}]
# An answer of the right shape that is wrong for every question of ``add_every_type``.
WRONG = {
    "single_choice": 3,
    "multiple_choice": [3],
    "true_false": True,
    "fill_blank": ["不对"],
    "short_answer": "随便写写",
}
RIGHT = {
    "single_choice": 1,
    "multiple_choice": [0, 1, 2],
    "true_false": False,
    "fill_blank": [BLANK_KEY],
    "short_answer": "说明",
}


def _text(r: Any) -> str:
    """What a response says, JSON decoded (its \\u escapes would hide a leaked key from a plain search)."""
    data = r.get_json(silent=True)
    return r.get_data(as_text=True) if data is None else json.dumps(data, ensure_ascii=False)


def _leaks(text: Any) -> list[str]:
    text = text if isinstance(text, str) else _text(text)
    return [s for s in ALL_SECRETS if s in text]


def _start(client: Any, exam: Exam) -> Attempt:
    r = client.post(f"/quizzes/exams/{exam.id}/start")
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    attempt_id = int(re.search(r"/attempts/(\d+)", r.headers["Location"]).group(1))
    return db.session.get(Attempt, attempt_id)


def _formal_exam(enterprise: Any, bank: Any, **settings: Any) -> Exam:
    values = {
        "title": "受限空间作业考试（不公布答案）",
        "time_limit_minutes": 30,
        "attempts_allowed": 2,
        "pass_mark": Decimal("60"),
        "show_answers": "never",
        "close_at": dt.datetime(2099, 1, 1),
        **settings,
    }
    exam = exams.create_exam(enterprise.id, **values)
    exams.add_rule(exam, bank_id=bank.id, count=5)
    exams.publish_exam(exam)
    return exam


@pytest.fixture
def world(enterprise: Any, make_person: Any) -> dict[str, Any]:
    bank = banks.create_bank(enterprise.id, "受限空间题库")
    add_every_type(bank)
    w = {
        "enterprise": enterprise,
        "bank": bank,
        "alice": make_person(enterprise, name="爱丽丝"),
        "trainer": make_person(enterprise, app_role="trainer"),
    }
    db.session.commit()
    return w


def _blank_attempt(client: Any, exam: Exam) -> Attempt:
    attempt = _start(client, exam)
    assert client.post(f"/quizzes/attempts/{attempt.id}/submit").status_code == 302
    db.session.expire_all()
    return db.session.get(Attempt, attempt.id)


def test_blank_attempt_then_mistake_check_reveals_no_key(client, world):
    """The attack as seen: 不公布, two attempts, attempt 1 blank, then the mistake book's check with null."""
    w = world
    exam = _formal_exam(w["enterprise"], w["bank"])
    db.session.commit()
    login(client, w["alice"].user)
    attempt = _blank_attempt(client, exam)
    assert attempt.status in ("graded", "pending_review")
    qids = [aq.question_id for aq in attempt.questions]
    types = {aq.question_id: aq.version.type for aq in attempt.questions}
    # Every question did land in the mistake book (the blank short answer is graded 0 as well).
    in_book = set(db.session.scalars(select(MistakeEntry.question_id)))
    assert set(qids) <= in_book

    sent = []
    for qid in qids:
        for answer in [*EMPTY_ANSWERS, WRONG[types[qid]], RIGHT[types[qid]]]:
            r = client.post(f"/quizzes/mistakes/{qid}/check", json={"answer": answer})
            assert r.status_code < 500, r.get_data(as_text=True)[:300]
            body = _text(r)
            sent.append(body)
            assert not _leaks(body), (qid, answer, body)
            data = r.get_json(silent=True) or {}
            # Not even right/wrong: for a true/false question that is the key.
            assert data.get("correct") in (None,), (qid, answer, data)
            assert not data.get("key") and not data.get("explanation"), data
    # The attempt's pages and JSON say nothing either.
    for url in (
        "/quizzes/mistakes",
        f"/quizzes/attempts/{attempt.id}/result",
        f"/quizzes/attempts/{attempt.id}/state",
        f"/quizzes/exams/{exam.id}/start",
        "/quizzes/",
    ):
        body = _text(client.get(url))
        assert not _leaks(body), url
    # A right answer sent to the book did not master (and so reveal) anything.
    assert (
        db.session.scalar(
            select(func.count()).select_from(MistakeEntry).where(MistakeEntry.mastered_at.is_not(None))
        )
        == 0
    )
    # The book does not list questions whose answers are held back: listing a true/false one says its key.
    book = client.get("/quizzes/mistakes").get_data(as_text=True)
    for aq in attempt.questions:
        assert aq.version.stem not in book


def test_never_stays_never_after_the_exam_closes(client, world):
    w = world
    exam = _formal_exam(w["enterprise"], w["bank"])
    db.session.commit()
    login(client, w["alice"].user)
    attempt = _blank_attempt(client, exam)
    db.session.execute(
        update(Exam).where(Exam.id == exam.id).values(close_at=dt.datetime.utcnow() - dt.timedelta(hours=1))
    )
    db.session.commit()
    for aq in attempt.questions:
        r = client.post(f"/quizzes/mistakes/{aq.question_id}/check", json={"answer": RIGHT[aq.version.type]})
        assert not _leaks(r)
        assert (r.get_json(silent=True) or {}).get("correct") is None
    assert not _leaks(client.get(f"/quizzes/attempts/{attempt.id}/result").get_data(as_text=True))


def test_after_close_releases_only_after_close(client, world):
    w = world
    close = dt.datetime.utcnow() + dt.timedelta(days=1)
    exam = _formal_exam(w["enterprise"], w["bank"], show_answers="after_close", close_at=close)
    db.session.commit()
    login(client, w["alice"].user)
    attempt = _blank_attempt(client, exam)
    tf = next(aq for aq in attempt.questions if aq.version.type == "true_false")
    url = f"/quizzes/mistakes/{tf.question_id}/check"
    r = client.post(url, json={"answer": True})
    assert not _leaks(r) and r.json.get("correct") is None
    # The exam closes: the wrong answer now gets the key and the explanation ...
    db.session.execute(
        update(Exam).where(Exam.id == exam.id).values(close_at=dt.datetime.utcnow() - dt.timedelta(minutes=1))
    )
    db.session.commit()
    r = client.post(url, json={"answer": True})
    assert r.json["correct"] is False and SECRETS["true_false"] in _text(r)
    # ... but a null or empty answer still reveals nothing.
    for empty in EMPTY_ANSWERS:
        r = client.post(url, json={"answer": empty})
        assert r.status_code < 500
        assert not _leaks(r) and not (r.get_json(silent=True) or {}).get("key")
    assert SECRETS["true_false"] in client.get(f"/quizzes/attempts/{attempt.id}/result").get_data(
        as_text=True
    )


def test_after_close_waits_for_the_longest_extension(world, make_person):
    w = world
    close = dt.datetime(2026, 6, 1, 8, 0)
    exam = _formal_exam(w["enterprise"], w["bank"], show_answers="after_close", close_at=close)
    bob = make_person(w["enterprise"])
    exams.set_extension(exam, bob, extra_minutes=30)
    attempt = attempts.start_attempt(exam, w["alice"], now=close - dt.timedelta(minutes=40))
    attempts.submit_attempt(attempt, now=close - dt.timedelta(minutes=35))
    assert not key_policy.answers_visible(
        attempt, now=close + dt.timedelta(minutes=10)
    )  # Bob may still sit it
    assert key_policy.answers_visible(attempt, now=close + dt.timedelta(minutes=31))


def test_open_exam_holds_its_bank_back_from_the_mistake_book(client, world):
    """Answers shown after submit, a retake left: the questions are not practised while the exam is open."""
    w = world
    exam = _formal_exam(w["enterprise"], w["bank"], show_answers="after_submit")
    db.session.commit()
    login(client, w["alice"].user)
    attempt = _blank_attempt(client, exam)
    tf = next(aq for aq in attempt.questions if aq.version.type == "true_false")
    url = f"/quizzes/mistakes/{tf.question_id}/check"
    r = client.post(url, json={"answer": True})
    assert r.json.get("correct") is None and not _leaks(r)
    assert tf.version.stem not in client.get("/quizzes/mistakes").get_data(as_text=True)
    # Once the learner has no attempt left the exam is no longer open to them: the book offers the question.
    attempts.start_attempt(exam, w["alice"])
    attempts.submit_attempt(attempts.open_attempt(exam.id, w["alice"].id))
    db.session.commit()
    assert tf.version.stem in client.get("/quizzes/mistakes").get_data(as_text=True)
    r = client.post(url, json={"answer": True})
    assert r.json["correct"] is False and SECRETS["true_false"] in _text(r)


def test_practice_bank_flag_lets_the_book_offer_questions_of_an_open_exam(client, world):
    w = world
    exam = _formal_exam(w["enterprise"], w["bank"], show_answers="after_submit")
    db.session.commit()
    login(client, w["alice"].user)
    attempt = _blank_attempt(client, exam)
    client.post("/logout")
    login(client, w["trainer"].user)
    r = client.post(
        f"/quizzes/banks/{w['bank'].id}/edit",
        data={"name": w["bank"].name, "status": "published", "practice": "y"},
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(QuestionBank, w["bank"].id).practice is True
    client.post("/logout")
    login(client, w["alice"].user)
    tf = next(aq for aq in attempt.questions if aq.version.type == "true_false")
    r = client.post(f"/quizzes/mistakes/{tf.question_id}/check", json={"answer": True})
    assert r.json["correct"] is False and SECRETS["true_false"] in _text(r)


def _practice_exam(enterprise: Any, rules: list[dict[str, Any]]) -> Exam:
    exam = exams.create_exam(enterprise.id, title="每日一练", mode="practice")
    for rule in rules:
        exams.add_rule(exam, **rule)
    exams.publish_exam(exam)
    return exam


def _banks(attempt: Attempt) -> set[int]:
    return {db.session.get(Question, aq.question_id).bank_id for aq in attempt.questions}


def test_practice_does_not_offer_questions_an_open_exam_may_draw(client, world):
    w = world
    practice_bank = banks.create_bank(w["enterprise"].id, "练习题库", practice=True)
    add_every_type(practice_bank, stem_prefix="练习")
    practice = _practice_exam(w["enterprise"], [{"count": 5}])  # any bank
    exam = _formal_exam(w["enterprise"], w["bank"])
    db.session.commit()
    login(client, w["alice"].user)
    for _n in range(4):
        attempt = _start(client, practice)
        assert _banks(attempt) == {practice_bank.id}
        client.post(f"/quizzes/attempts/{attempt.id}/submit")
    # The formal exam closes: its bank may be practised again.
    exam.close_at = dt.datetime.utcnow() - dt.timedelta(minutes=1)
    db.session.commit()
    drawn_from = set()
    for _n in range(6):
        attempt = _start(client, practice)
        drawn_from |= _banks(attempt)
        client.post(f"/quizzes/attempts/{attempt.id}/submit")
    assert w["bank"].id in drawn_from


def test_practice_of_a_withheld_bank_only_is_refused_with_a_message(client, world):
    w = world
    practice = _practice_exam(w["enterprise"], [{"bank_id": w["bank"].id, "count": 3}])
    _formal_exam(w["enterprise"], w["bank"])
    db.session.commit()
    login(client, w["alice"].user)
    r = client.post(f"/quizzes/exams/{practice.id}/start")
    assert r.status_code == 302 and "/attempts/" not in r.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 0


def test_practice_check_and_result_follow_the_policy(client, world):
    """A practice paper drawn before a formal exam opened: its check and result stop showing those keys."""
    w = world
    practice = _practice_exam(w["enterprise"], [{"bank_id": w["bank"].id, "count": 5}])
    db.session.commit()
    login(client, w["alice"].user)
    attempt = _start(client, practice)
    tf = next(aq for aq in attempt.questions if aq.version.type == "true_false")
    check = f"/quizzes/attempts/{attempt.id}/check"
    # Nothing saved yet: checking the blank answer reveals nothing.
    r = client.post(check, json={"aq": tf.id})
    assert r.status_code == 200 and not _leaks(r) and r.json.get("correct") is None
    assert not r.json.get("key")
    client.post(f"/quizzes/attempts/{attempt.id}/answer", json={"aq": tf.id, "answer": True, "seq": 1})
    r = client.post(check, json={"aq": tf.id})
    assert r.json["correct"] is False and SECRETS["true_false"] in _text(r)
    assert (
        "你的答案：" in r.json["message"] and "正确答案：" in r.json["message"]
    )  # what I said, then the key
    # A formal exam over the same bank opens: the same check no longer answers.
    _formal_exam(w["enterprise"], w["bank"])
    db.session.commit()
    r = client.post(check, json={"aq": tf.id})
    assert not _leaks(r) and r.json.get("correct") is None
    client.post(f"/quizzes/attempts/{attempt.id}/submit")
    assert not _leaks(client.get(f"/quizzes/attempts/{attempt.id}/result").get_data(as_text=True))


def test_exam_result_and_state_follow_never(client, world):
    w = world
    exam = _formal_exam(w["enterprise"], w["bank"], attempts_allowed=1)
    db.session.commit()
    login(client, w["alice"].user)
    attempt = _start(client, exam)
    for n, aq in enumerate(attempt.questions, start=1):
        client.post(
            f"/quizzes/attempts/{attempt.id}/answer",
            json={"aq": aq.id, "answer": WRONG[aq.version.type], "seq": n},
        )
    client.post(f"/quizzes/attempts/{attempt.id}/submit")
    result = client.get(f"/quizzes/attempts/{attempt.id}/result").get_data(as_text=True)
    assert not _leaks(result)
    # Not even per-question right/wrong, which for a true/false question is the key.
    assert "badge-failed" not in result and "badge-passed" not in result
    state = client.get(f"/quizzes/attempts/{attempt.id}/state")
    assert not _leaks(state) and '"correct"' not in state.text and '"score"' not in state.text
    check = client.post(
        f"/quizzes/attempts/{attempt.id}/check",
        json={"aq": attempt.questions[0].id},
        headers={"Accept": "application/json"},
    )
    assert check.status_code == 400 and not _leaks(check)
    # The staff review (page or JSON) is not the learner's.
    for accept in ("text/html", "application/json"):
        review = client.get(f"/quizzes/attempts/{attempt.id}/review", headers={"Accept": accept})
        assert review.status_code in (403, 404) and not _leaks(review)
    # The trainer, of course, sees everything.
    client.post("/logout")
    login(client, w["trainer"].user)
    review = client.get(f"/quizzes/attempts/{attempt.id}/review").get_data(as_text=True)
    assert SHORT_REFERENCE in review


def test_mistake_feedback_reads_clearly(client, world, app):
    """回答错误。你的答案：对。正确答案：错。 and choices show their letters and texts (when the policy allows)."""
    w = world
    exam = _formal_exam(w["enterprise"], w["bank"], show_answers="after_submit", attempts_allowed=1)
    db.session.commit()
    login(client, w["alice"].user)
    attempt = _blank_attempt(client, exam)
    by_type = {aq.version.type: aq.question_id for aq in attempt.questions}
    r = client.post(
        f"/quizzes/mistakes/{by_type['true_false']}/check",
        json={"answer": True},
        headers={"Accept-Language": "zh-CN"},
    )
    assert r.json["message"] == "回答错误。你的答案：对。正确答案：错。", r.json
    r = client.post(f"/quizzes/mistakes/{by_type['single_choice']}/check", json={"answer": 0})
    said = r.json["message"]
    assert said.startswith("回答错误。你的答案：A. ") and said.endswith("。正确答案：B. 检测。"), r.json
    r = client.post(f"/quizzes/mistakes/{by_type['multiple_choice']}/check", json={"answer": [0]})
    assert r.json["message"] == "回答错误。你的答案：A. 中毒。正确答案：A. 中毒；B. 缺氧；C. 燃爆。", r.json
    r = client.post(f"/quizzes/mistakes/{by_type['true_false']}/check", json={"answer": False})
    assert r.json["correct"] is True and r.json["message"] == "回答正确。"
    r = client.post(f"/quizzes/mistakes/{by_type['fill_blank']}/check", json={"answer": None})
    assert r.json["message"] and not r.json.get("key") and BLANK_KEY not in json.dumps(r.json)


def test_an_exam_takes_practice_questions_only_from_a_rule_naming_their_bank(world):
    """Practice keys are public: a formal exam's any-bank rule leaves practice banks out."""
    w = world
    practice_bank = banks.create_bank(w["enterprise"].id, "练习题库", practice=True)
    add_every_type(practice_bank, stem_prefix="练习")
    exam = exams.create_exam(w["enterprise"].id, title="任意题库考试", attempts_allowed=5)
    exams.add_rule(exam, count=5)
    exams.publish_exam(exam)
    for _n in range(3):
        attempt = attempts.start_attempt(exam, w["alice"])
        assert _banks(attempt) == {w["bank"].id}
        attempts.submit_attempt(attempt)
    named = exams.create_exam(w["enterprise"].id, title="指定练习题库考试")
    rule = exams.add_rule(named, bank_id=practice_bank.id, count=5)
    assert exams.rule_available(rule, w["enterprise"].id) == 5
