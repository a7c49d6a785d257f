"""Editing a question through the form: a missing or bad field is a form error on the page, never a 500."""

from __future__ import annotations

from sqlalchemy import func, select

from lms.core.db import db
from quizzes.models import Question
from tests.conftest import login


def _choice(bank):
    return next(q for q in bank.questions if q.type == "single_choice")


def test_edit_without_options_field_is_a_form_error(client, bank, make_person, enterprise):
    q = _choice(bank)
    trainer = make_person(enterprise, app_role="trainer")
    db.session.commit()
    login(client, trainer.user)
    before = (q.version, list(q.options), q.key)
    # A POST without any ``options`` field (a hand-made request, an old form): seen as a 500.
    r = client.post(
        f"/quizzes/questions/{q.id}/edit",
        data={
            "type": "single_choice",
            "stem": q.stem,
            "answer": "A",
            "points": "2",
            "difficulty": "easy",
            "status": "published",
        },
    )
    assert r.status_code == 200, r.status_code
    page = r.get_data(as_text=True)
    assert 'class="error"' in page and "has-error" in page
    db.session.expire_all()
    q = db.session.get(Question, q.id)
    assert (q.version, list(q.options), q.key) == before


def test_edit_with_too_few_options_is_a_form_error_and_a_good_edit_saves(
    client, bank, make_person, enterprise
):
    q = _choice(bank)
    trainer = make_person(enterprise, app_role="trainer")
    db.session.commit()
    login(client, trainer.user)
    base = {
        "type": "single_choice",
        "stem": q.stem,
        "points": "2",
        "difficulty": "easy",
        "status": "published",
    }
    r = client.post(f"/quizzes/questions/{q.id}/edit", data={**base, "options": "只有一个", "answer": "A"})
    assert r.status_code == 200 and 'class="error"' in r.get_data(as_text=True)
    r = client.post(
        f"/quizzes/questions/{q.id}/edit", data={**base, "options": "气体检测\n办理登记", "answer": "B"}
    )
    assert r.status_code == 302
    db.session.expire_all()
    q = db.session.get(Question, q.id)
    assert q.options == ["气体检测", "办理登记"] and q.key == 1 and q.version == 2


def test_new_question_with_a_bad_answer_is_a_form_error(client, bank, make_person, enterprise):
    trainer = make_person(enterprise, app_role="trainer")
    db.session.commit()
    login(client, trainer.user)
    n = len(bank.questions)
    r = client.post(
        f"/quizzes/banks/{bank.id}/questions/new",
        data={
            "type": "true_false",
            "stem": "可以一人作业。",
            "answer": "也许",
            "points": "1",
            "difficulty": "easy",
            "status": "published",
        },
    )
    assert r.status_code == 200 and 'class="error"' in r.get_data(as_text=True)
    db.session.expire_all()
    assert (
        db.session.scalar(select(func.count()).select_from(Question).where(Question.bank_id == bank.id)) == n
    )
