"""The quizzes demo: the daily practice draws from a practice bank only, and the demo learner's mistake book
shows questions with clear feedback while the formal exam's questions stay held back."""

from __future__ import annotations

import datetime as dt
import random
from types import SimpleNamespace

from sqlalchemy import select

from lms.core.db import db
from lms.core.timeutil import today as local_today
from quizzes import assignments, demo, models, review
from quizzes.models import Exam, Question, QuestionBank


def test_demo_practice_uses_practice_banks_only(enterprise, make_person):
    people = {f"D{i:03d}": make_person(enterprise, employee_no=f"D{i:03d}") for i in range(4)}
    learner = make_person(enterprise, employee_no="D900")
    ctx = SimpleNamespace(
        people=people,
        accounts={"learner": learner.user},
        rng=random.Random(7),
        echo=lambda *_a: None,
        today=local_today(),
    )
    demo.load(enterprise, ctx)
    demo.load(enterprise, ctx)  # idempotent
    practice = db.session.scalar(select(Exam).where(Exam.title == demo.PRACTICE_TITLE))
    assert practice.mode == "practice"
    banks = {r.bank_id for r in practice.rules}
    assert banks and all(db.session.get(QuestionBank, b).practice for b in banks)
    exam = db.session.scalar(select(Exam).where(Exam.title == demo.EXAM_TITLE))
    exam_banks = {
        db.session.get(Question, aq.question_id).bank_id
        for a in db.session.scalars(select(models.Attempt).where(models.Attempt.exam_id == exam.id))
        for aq in a.questions
    }
    assert exam_banks and not any(db.session.get(QuestionBank, b).practice for b in exam_banks)
    # The formal exam is assigned to 一车间 (the learner's workshop, 甲班 below it), due in ten days, once.
    assert assignments.my_assignments(learner.id)[exam.id].due_on == local_today() + dt.timedelta(days=10)
    # The demo learner practised once and has mistakes they may practise, with the key in clear words.
    shown, _held = review.practicable_mistakes(learner.id)
    assert shown
    entry = shown[0]
    res = review.mistake_check(learner.id, entry.question_id, None)
    assert res.get("key") is None and res["correct"] is None
