"""Building a fixed paper by searching the bank; the learner preview of the whole paper (no key in its HTML)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from lms.core.db import db
from quizzes import banks, builder, exams
from quizzes.models import Exam, PaperRule, Question
from tests.conftest import login
from tests.quizzes.conftest import SECRET_BLANK, SECRET_EXPLANATION


@pytest.fixture
def draft_exam(enterprise):
    exam = exams.create_exam(enterprise.id, title="班组长安全考试", time_limit_minutes=20, pass_mark=60)
    db.session.flush()
    return exam


@pytest.fixture
def foreign_question(make_enterprise):
    other = make_enterprise()
    b = banks.create_bank(other.id, "外企题库")
    return banks.create_question(
        b, type="true_false", stem="有限空间外企秘密题目。", key=True, category="有限空间", points=1
    )


def _stems(rows):
    return [q.stem for q in rows]


def test_search_filters_by_text_type_category_difficulty_and_stays_in_the_enterprise(
    enterprise, bank, draft_exam, foreign_question
):
    rows, total = builder.search_questions(enterprise.id, text="有限空间", exam=draft_exam)
    assert total == 3 and foreign_question.stem not in _stems(rows)
    rows, _ = builder.search_questions(enterprise.id, type="true_false")
    assert _stems(rows) == ["有限空间作业可以由一人单独进行。"]
    rows, _ = builder.search_questions(enterprise.id, category="法律法规")
    assert len(rows) == 1 and rows[0].type == "fill_blank"
    rows, _ = builder.search_questions(enterprise.id, difficulty="easy")
    assert [q.type for q in rows] == ["single_choice"]
    rows, _ = builder.search_questions(enterprise.id, text="有限空间 危险")
    assert [q.type for q in rows] == ["multiple_choice"]  # every word must match
    assert builder.search_questions(enterprise.id, text="%")[1] == 0
    assert (
        builder.search_questions(enterprise.id, type="no-such-type")[1] == 4
    )  # an unknown type is no filter


def test_trainer_builds_a_fixed_paper_by_search_and_previews_it(
    client, enterprise, make_person, bank, draft_exam
):
    trainer = make_person(enterprise, app_role="trainer")
    login(client, trainer.user)
    page = client.get(f"/quizzes/exams/{draft_exam.id}?bq=有限空间&bt=single_choice")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "进入有限空间作业前" in html and "一人单独进行" not in html
    assert 'name="question_id"' not in html  # nobody types question numbers any more
    wanted = db.session.scalars(
        select(Question.id)
        .where(Question.bank_id == bank.id, Question.type.in_(["single_choice", "fill_blank"]))
        .order_by(Question.id)
    ).all()
    r = client.post(
        f"/quizzes/exams/{draft_exam.id}/questions",
        data={"question_ids": [str(i) for i in wanted], "bq": "有限空间"},
    )
    assert r.status_code == 302 and "bq=" in r.headers["Location"]
    rules = db.session.scalars(
        select(PaperRule).where(PaperRule.exam_id == draft_exam.id).order_by(PaperRule.position)
    ).all()
    assert [(r.kind, r.question_id) for r in rules] == [("fixed", i) for i in wanted]
    # adding the same question again does not put it twice
    client.post(f"/quizzes/exams/{draft_exam.id}/questions", data={"question_ids": [str(wanted[0])]})
    assert (
        db.session.scalar(
            select(func.count()).select_from(PaperRule).where(PaperRule.exam_id == draft_exam.id)
        )
        == 2
    )
    # the builder marks questions already on the paper
    html = client.get(f"/quizzes/exams/{draft_exam.id}").get_data(as_text=True)
    assert html.count("disabled checked") == 2
    # the learner preview: every question, inputs, no key and no explanation in the HTML
    preview = client.get(f"/quizzes/exams/{draft_exam.id}/preview")
    assert preview.status_code == 200
    text = preview.get_data(as_text=True)
    assert "进入有限空间作业前" in text and "我国安全生产方针" in text
    assert SECRET_EXPLANATION not in text and SECRET_BLANK not in text
    assert 'name="a-p1"' in text and "checked" not in text
    assert not re.search(r"正确答案|Correct answer", text)
    assert "Publish" in text or "发布" in text
    db.session.refresh(draft_exam)
    assert draft_exam.status == "draft"  # a preview publishes nothing and saves no attempt


def test_preview_of_a_draw_rule_and_of_an_unfillable_rule(client, enterprise, make_person, bank, draft_exam):
    trainer = make_person(enterprise, app_role="trainer")
    login(client, trainer.user)
    exams.add_rule(draft_exam, bank_id=bank.id, count=2)
    r = client.get(f"/quizzes/exams/{draft_exam.id}/preview?seed=7")
    assert r.status_code == 200 and r.get_data(as_text=True).count('class="card question"') == 2
    assert SECRET_BLANK not in r.get_data(as_text=True)
    exams.add_rule(draft_exam, bank_id=bank.id, type="true_false", count=5)
    r = client.get(f"/quizzes/exams/{draft_exam.id}/preview")
    assert r.status_code == 200  # the problem is said, never a 500
    assert 'class="card question"' not in r.get_data(as_text=True)


def test_forged_question_of_another_enterprise_is_refused(
    client, enterprise, make_person, draft_exam, foreign_question, bank
):
    trainer = make_person(enterprise, app_role="trainer")
    login(client, trainer.user)
    html = client.get(f"/quizzes/exams/{draft_exam.id}?bq=外企").get_data(as_text=True)
    assert "外企秘密题目" not in html
    r = client.post(
        f"/quizzes/exams/{draft_exam.id}/questions", data={"question_ids": [str(foreign_question.id)]}
    )
    assert r.status_code == 404
    assert not db.session.scalars(select(PaperRule).where(PaperRule.exam_id == draft_exam.id)).all()
    r = client.post(f"/quizzes/exams/{draft_exam.id}/questions", data={"question_ids": ["abc"]})
    assert r.status_code in (302, 400)  # nothing ticked: said, never a 500
    assert not db.session.scalars(select(PaperRule).where(PaperRule.exam_id == draft_exam.id)).all()


def test_other_enterprise_and_learners_cannot_use_the_builder(
    client, app, make_enterprise, make_person, enterprise, draft_exam
):
    outsider = make_person(make_enterprise(), app_role="trainer")
    login(client, outsider.user)
    assert client.get(f"/quizzes/exams/{draft_exam.id}/preview").status_code == 404
    assert (
        client.post(f"/quizzes/exams/{draft_exam.id}/questions", data={"question_ids": ["1"]}).status_code
        == 404
    )
    learner_client = app.test_client()
    login(learner_client, make_person(enterprise).user)
    assert learner_client.get(f"/quizzes/exams/{draft_exam.id}/preview").status_code in (403, 404)
    assert db.session.get(Exam, draft_exam.id).status == "draft"


def test_forged_numbers_never_answer_500(client, enterprise, make_person, bank, draft_exam):
    login(client, make_person(enterprise, app_role="trainer").user)
    huge = "9" * 20
    assert client.get(f"/quizzes/exams/{draft_exam.id}?bp={huge}&bb={huge}&bt=x&bd=y").status_code == 200
    r = client.post(f"/quizzes/exams/{draft_exam.id}/questions", data={"question_ids": [huge]})
    assert r.status_code in (302, 400, 404)
    assert client.get(f"/quizzes/exams/{draft_exam.id}/preview?seed={huge}").status_code == 200
