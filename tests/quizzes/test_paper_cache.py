"""The per-exam pools and the versions' public parts shared by every start and paper (quizzes.papers, issue 20).

The rule the product keeps: a start draws the *current* versions of the questions the rules allow *now*; an
attempt keeps the versions it drew. The cache must never change that: whatever changed since the pools were
computed (a question edited, unpublished, added; a rule added; a bank archived), also by another process, the
next start sees it. And nothing cached for the browser holds a key or an explanation.
"""

from __future__ import annotations

import re

from sqlalchemy import select, update

from lms.core.db import db
from quizzes import attempts, banks, exams, papers
from quizzes.models import AttemptQuestion, Question, QuestionBank, QuestionVersion
from tests.conftest import login
from tests.quizzes.conftest import SECRET_BLANK, SECRET_EXPLANATION


def _bank(enterprise, n, name="缓存题库"):  # noqa: ANN001, ANN202
    b = banks.create_bank(enterprise.id, name)
    qs = [
        banks.create_question(
            b, type="single_choice", stem=f"第{i + 1}题", options=["甲", "乙", "丙", "丁"], key=i % 4
        )
        for i in range(n)
    ]
    return b, qs


def _drawn(attempt):  # noqa: ANN001, ANN202
    return {
        aq.question_id: aq.question_version_id
        for aq in db.session.scalars(select(AttemptQuestion).where(AttemptQuestion.attempt_id == attempt.id))
    }


def _current_version_id(q):  # noqa: ANN001, ANN202
    return db.session.scalar(
        select(QuestionVersion.id).where(
            QuestionVersion.question_id == q.id, QuestionVersion.number == q.version
        )
    )


def test_an_edit_after_the_first_start_is_drawn_by_the_next(make_exam, make_person, enterprise):
    b, qs = _bank(enterprise, 3)
    exam = make_exam(rules=[{"bank_id": b.id, "count": 3}])
    first = attempts.start_attempt(exam, make_person(enterprise))
    assert _drawn(first) == {q.id: _current_version_id(q) for q in qs}
    old_version = _current_version_id(qs[0])
    banks.update_question(qs[0], stem="第1题（已更正）")
    second = attempts.start_attempt(exam, make_person(enterprise))
    assert _drawn(second)[qs[0].id] == _current_version_id(qs[0]) != old_version
    assert _drawn(first)[qs[0].id] == old_version  # the earlier attempt keeps the version it drew


def test_pools_follow_questions_rules_and_banks(make_exam, make_person, enterprise):
    b, qs = _bank(enterprise, 4)
    exam = make_exam(rules=[{"bank_id": b.id, "count": 3}])
    attempts.start_attempt(exam, make_person(enterprise))  # the pools are computed and kept
    # Another process unpublishes a question (no object of this session knows): the next start never draws it.
    db.session.execute(update(Question).where(Question.id == qs[1].id).values(status="draft"))
    db.session.expire_all()
    for _ in range(4):
        assert qs[1].id not in _drawn(attempts.start_attempt(exam, make_person(enterprise)))
    # Two fall out: the rule cannot be met any more, as without the cache.
    banks.update_question(qs[2], status="draft")
    try:
        attempts.start_attempt(exam, make_person(enterprise))
        raise AssertionError("drew 3 of 2 questions")
    except attempts.DomainError:
        pass
    # A new question makes it drawable again, and it is drawn.
    new = banks.create_question(b, type="true_false", stem="新题", key=True)
    drawn = _drawn(attempts.start_attempt(exam, make_person(enterprise)))
    assert new.id in drawn and qs[1].id not in drawn and qs[2].id not in drawn
    # A rule added later is drawn from at the next start.
    b2, extra = _bank(enterprise, 1, "第二题库")
    exams.add_rule(exam, kind="fixed", question_id=extra[0].id)
    assert extra[0].id in _drawn(attempts.start_attempt(exam, make_person(enterprise)))
    # An archived bank's questions are no longer drawn.
    db.session.execute(update(QuestionBank).where(QuestionBank.id == b.id).values(status="archived"))
    db.session.expire_all()
    try:
        attempts.start_attempt(exam, make_person(enterprise))
        raise AssertionError("drew from an archived bank")
    except attempts.DomainError:
        pass


def test_the_paper_shows_the_version_drawn_and_caches_no_key(client, make_exam, make_person, enterprise):
    papers.clear()
    exam = make_exam()
    learner = make_person(enterprise)
    db.session.commit()
    login(client, learner.user)
    r = client.post(f"/quizzes/exams/{exam.id}/start")
    attempt_id = int(re.search(r"/attempts/(\d+)", r.headers["Location"]).group(1))
    page = client.get(f"/quizzes/attempts/{attempt_id}").get_data(as_text=True)
    assert "进入有限空间作业前" in page and SECRET_EXPLANATION not in page and SECRET_BLANK not in page
    # What is kept for every later paper holds no key, weights or explanation.
    cached = repr(list(papers._parts.values()))
    assert SECRET_EXPLANATION not in cached and SECRET_BLANK not in cached
    assert all(
        set(view) <= {"type", "stem", "options", "blanks", "choices"} for view in papers._parts.values()
    )
    # The question is corrected after the start: this attempt's paper keeps the version it drew.
    q = db.session.scalar(select(Question).where(Question.stem.like("进入有限空间作业前%")))
    banks.update_question(q, stem="已更正的题干")
    db.session.commit()
    page = client.get(f"/quizzes/attempts/{attempt_id}").get_data(as_text=True)
    assert "进入有限空间作业前" in page and "已更正的题干" not in page
    # The options are shown in this person's order, each once.
    aq = db.session.scalar(
        select(AttemptQuestion).where(
            AttemptQuestion.attempt_id == attempt_id, AttemptQuestion.question_id == q.id
        )
    )
    shown = re.findall(rf'name="a-{aq.id}" value="(\d+)"', page)
    assert [int(v) for v in shown] == aq.option_order


def test_choice_inputs_are_what_the_macro_writes(app):
    """The paper's choice inputs built in Python read as the ``inputs`` macro writes them (whitespace aside)."""
    from flask import render_template_string
    from markupsafe import Markup

    views = [
        {
            "type": "single_choice",
            "options": [{"value": 2, "text": "<b>丙</b> & 甲"}, {"value": 0, "text": "乙"}],
        },
        {"type": "single_choice", "options": [{"value": 1, "text": Markup("<i>已净化</i>")}]},
        {"type": "multiple_choice", "options": [{"value": 0, "text": "甲"}, {"value": 3, "text": "丁"}]},
        {"type": "true_false", "options": []},
    ]
    answers = [None, 0, 2, 1, [3], [0, 3], [], True, False]
    template = '{% from "quizzes/_q.html" import inputs %}{{ inputs(view, aid, answer) }}'
    with app.test_request_context("/"):
        for view in views:
            for answer in answers:
                if (view["type"] == "multiple_choice") != isinstance(answer, list) and answer is not None:
                    continue  # answers are stored coerced: a list for multiple choice, never for the others
                ours = papers.choice_inputs(view, 17, answer)
                macro = render_template_string(template, view=view, aid=17, answer=answer)
                assert re.sub(r"\s+", " ", str(ours)).strip() == re.sub(r"\s+", " ", macro).strip(), (
                    view,
                    answer,
                )
        assert papers.choice_inputs({"type": "fill_blank", "options": [], "blanks": 1}, 1, None) is None
