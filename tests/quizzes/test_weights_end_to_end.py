"""Weights, matching and numerical from import to paper, grading, item analysis, mistake book and the CLI preview."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from lms.core.db import db
from quizzes import attempts, banks, exams, exchange, review, stats

T0 = dt.datetime(2026, 12, 1, 8, 0)

GIFT = """$CATEGORY: $course$/top/用电安全

::W1:: 发现有人触电，首先应当{=切断电源 ~%50%用干木棒挑开电线 ~用手拉开}

::W2:: 电气防火措施有{~%50%定期检查线路绝缘 ~%50%不超负荷用电 ~%-100%用铜丝代替保险丝}

::W3:: 把火灾类别与灭火器配对。{=电气火灾 -> 二氧化碳 =油类火灾 -> 泡沫 = -> 水}

::W4:: 《安全生产法》首次施行于哪一年？{#=2002:0 =%50%2002:1}

::W5:: 安全电压最高额定值是多少伏？{=42 =%50%4* =%0%*#不对}
"""


def _import(enterprise):
    bank = banks.create_bank(enterprise.id, "权重题库")
    result = exchange.import_questions(bank, GIFT.encode(), "w.gift", dry_run=False)
    assert result.errors == [] and result.created == 5
    return bank


def _by_name(attempt):
    return {aq.version.question.name: aq for aq in attempt.questions}


def test_partial_credit_through_an_exam(app, enterprise, make_person):
    bank = _import(enterprise)
    exam = exams.create_exam(enterprise.id, title="权重考试", attempts_allowed=3, pass_mark=Decimal("60"))
    exams.add_rule(exam, bank_id=bank.id, count=5)
    exams.publish_exam(exam)
    person = make_person(enterprise)
    a = attempts.start_attempt(exam, person, now=T0)
    q = _by_name(a)
    answers = {
        "W1": 1,  # 50 %
        "W2": [0, 2],  # 0.5 - 1 → 0
        "W3": ["二氧化碳", "水"],  # one of two items → 50 %
        "W4": "2001",  # within 1 → 50 %
        "W5": ["45"],  # 4* → 50 %
    }
    for i, (name, answer) in enumerate(answers.items(), start=1):
        attempts.save_answer(a, q[name].id, answer, i, now=T0)
    attempts.submit_attempt(a, now=T0)
    scores = {name: q[name].answer.score for name in answers}
    points = {name: q[name].points for name in answers}
    assert scores == {
        "W1": points["W1"] / 2,
        "W2": Decimal("0.00"),
        "W3": points["W3"] / 2,
        "W4": points["W4"] / 2,
        "W5": points["W5"] / 2,
    }
    # Partly right is not right: each goes to the mistake book, and the book renders the new types.
    assert {m.question.name for m in review.mistakes(person.id)} == set(answers)
    rows = {r["question"].name: r for r in stats.item_analysis(exam)}
    assert rows["W3"]["difficulty"] == 0.5
    assert [o["count"] for o in rows["W3"]["options"]] == [1, 0, 0]  # item A matched once, B never, no blank


def test_take_page_and_mistake_book_show_matching_and_numerical(app, enterprise, make_person, client):
    from tests.conftest import login

    bank = _import(enterprise)
    exam = exams.create_exam(enterprise.id, title="页面考试", pass_mark=Decimal("60"))
    exams.add_rule(exam, bank_id=bank.id, count=5)
    exams.publish_exam(exam)
    person = make_person(enterprise)
    a = attempts.start_attempt(exam, person)
    db.session.commit()
    login(client, person.user)
    page = client.get(f"/quizzes/attempts/{a.id}").get_data(as_text=True)
    assert 'data-item="0"' in page and '<option value="泡沫"' in page and 'inputmode="decimal"' in page
    assert "二氧化碳</option>" in page  # the choices are listed …
    assert "电气火灾 → " not in page  # … but never the pairing


def test_authoring_form_makes_matching_and_numerical(app, enterprise, client, login_as):
    from quizzes.models import Question

    bank = banks.create_bank(enterprise.id, "表单题库")
    db.session.commit()
    login_as("trainer")
    resp = client.post(
        f"/quizzes/banks/{bank.id}/questions/new",
        data={
            "type": "matching",
            "stem": "配对：",
            "options": "电气火灾\n油类火灾",
            "answer": "二氧化碳；泡沫；+水",
            "difficulty": "medium",
            "points": "4",
            "status": "published",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[-500:]
    resp = client.post(
        f"/quizzes/banks/{bank.id}/questions/new",
        data={
            "type": "numerical",
            "stem": "哪一年？",
            "answer": "2002；2002:1(50%)",
            "difficulty": "medium",
            "points": "2",
            "status": "published",
        },
    )
    assert resp.status_code == 302
    resp = client.post(
        f"/quizzes/banks/{bank.id}/questions/new",
        data={
            "type": "single_choice",
            "stem": "首先应当：",
            "options": "断电\n拉人\n呼救",
            "answer": "A:100%,C:50%",
            "difficulty": "medium",
            "points": "2",
            "status": "published",
        },
    )
    assert resp.status_code == 302
    qs = {q.type: q for q in db.session.query(Question).filter_by(bank_id=bank.id)}
    assert qs["matching"].key == {"answers": ["二氧化碳", "泡沫"], "extra": ["水"]}
    assert qs["numerical"].key == [
        {"value": 2002.0, "tolerance": 0.0, "fraction": 1.0},
        {"value": 2002.0, "tolerance": 1.0, "fraction": 0.5},
    ]
    assert (qs["single_choice"].key, qs["single_choice"].weights) == (0, [1.0, 0.0, 0.5])
    edit = client.get(f"/quizzes/questions/{qs['single_choice'].id}/edit").get_data(as_text=True)
    assert "A:100%,C:50%" in edit  # the answer cell round-trips the weights


def test_cli_dry_run_json_lists_each_question(app, enterprise, tmp_path):
    from quizzes.cli import import_questions_cmd

    db.session.commit()
    path = tmp_path / "w.gift"
    path.write_text(
        GIFT + "\n::W1b:: 发现有人触电，首先应当{=切断电源 ~%50%用干木棒挑开电线 ~用手拉开}\n",
        encoding="utf-8",
    )
    res = app.test_cli_runner().invoke(
        import_questions_cmd,
        [str(path), "--enterprise", enterprise.code, "--bank", "预览", "--dry-run", "--json"],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["format"] == "gift" and data["created"] == 5 and data["errors"] == []
    assert data["duplicates"] == [{"row": 13, "duplicate_of": 3, "stem": "发现有人触电，首先应当"}]
    first = data["questions"][0]
    assert {
        k: first[k] for k in ("row", "type", "stem", "options", "key", "weights", "category", "name")
    } == {
        "row": 3,
        "type": "single_choice",
        "stem": "发现有人触电，首先应当",
        "options": ["切断电源", "用干木棒挑开电线", "用手拉开"],
        "key": 0,
        "weights": [1.0, 0.5, 0.0],
        "category": "用电安全",
        "name": "W1",
    }
    assert first["key_text"] == "A (B 50%)"
    w5 = data["questions"][4]
    assert w5["feedback"] == {"answers": [["", "", "不对"]]} and w5["weights"] == [[1.0, 0.5, 0.0]]
    assert w5["feedback_items"] == [{"answer": "*", "feedback": "不对"}]  # the feedback beside its answer


def test_mistake_book_shows_matching_and_numerical(app, enterprise, make_person, client):
    from tests.conftest import login

    bank = _import(enterprise)
    bank.practice = True  # practice shows keys at once: a practice bank's mistakes are released
    exam = exams.create_exam(enterprise.id, title="练习", mode="practice")
    exams.add_rule(exam, bank_id=bank.id, count=5)
    exams.publish_exam(exam)
    person = make_person(enterprise)
    a = attempts.start_attempt(exam, person, now=T0)
    q = _by_name(a)
    attempts.save_answer(a, q["W3"].id, ["泡沫", "二氧化碳"], 1, now=T0)
    attempts.save_answer(a, q["W4"].id, "1990", 2, now=T0)
    attempts.submit_attempt(a, now=T0)
    db.session.commit()
    login(client, person.user)
    page = client.get("/quizzes/mistakes").get_data(as_text=True)
    assert "把火灾类别与灭火器配对。" in page and '<option value="泡沫"' in page
    assert "《安全生产法》首次施行于哪一年？" in page and 'inputmode="decimal"' in page
    res = client.post(f"/quizzes/mistakes/{q['W4'].question_id}/check", json={"answer": "2002"})
    assert res.status_code == 200 and res.get_json()["correct"] is True
    res = client.post(f"/quizzes/mistakes/{q['W3'].question_id}/check", json={"answer": ["二氧化碳", "泡沫"]})
    assert res.get_json()["correct"] is True


def test_html_question_is_rendered_sanitised(app, enterprise, make_person, client):
    from tests.conftest import login

    bank = banks.create_bank(enterprise.id, "格式题库")
    text = "::H::[html]<p>注意<b>粗体</b><img src=data:image/gif;base64,R0lGODlhAQABAAAAACw= onerror=alert(1)></p>{=<i>对</i> ~错}\n\n::M::[markdown]**加粗** 题{T}\n"
    assert exchange.import_questions(bank, text.encode(), "f.gift", dry_run=False).committed
    exam = exams.create_exam(enterprise.id, title="格式考试", shuffle_options=False)
    exams.add_rule(exam, bank_id=bank.id, count=2)
    exams.publish_exam(exam)
    person = make_person(enterprise)
    a = attempts.start_attempt(exam, person)
    db.session.commit()
    login(client, person.user)
    page = client.get(f"/quizzes/attempts/{a.id}").get_data(as_text=True)
    assert "<b>粗体</b>" in page and "<i>对</i>" in page and "<strong>加粗</strong>" in page
    assert "onerror" not in page and "**" not in page and "&lt;b&gt;" not in page


def test_result_page_shows_weights_and_the_feedback_on_the_answer(app, enterprise, make_person, client):
    from tests.conftest import login

    bank = banks.create_bank(enterprise.id, "反馈题库")
    text = "::R1:: 发现有人触电，首先应当{=切断电源#对，先断电。 ~%50%用干木棒挑开电线#可以，但先断电更安全。 ~用手拉开#危险！}\n"
    assert exchange.import_questions(bank, text.encode(), "r.gift", dry_run=False).committed
    exam = exams.create_exam(
        enterprise.id, title="反馈考试", shuffle_options=False, show_answers="after_submit"
    )
    exams.add_rule(exam, bank_id=bank.id, count=1)
    exams.publish_exam(exam)
    person = make_person(enterprise)
    a = attempts.start_attempt(exam, person, now=T0)
    attempts.save_answer(a, a.questions[0].id, 1, 1, now=T0)
    attempts.submit_attempt(a, now=T0)
    assert a.questions[0].answer.score == a.questions[0].points / 2
    db.session.commit()
    login(client, person.user)
    page = client.get(f"/quizzes/attempts/{a.id}/result").get_data(as_text=True)
    assert "可以，但先断电更安全。" in page and "危险！" not in page
    assert "A (B 50%)" in page


def test_cli_dry_run_text_lists_questions_and_duplicates(app, enterprise, tmp_path):
    from quizzes.cli import import_questions_cmd

    db.session.commit()
    path = tmp_path / "w.gift"
    path.write_text(
        GIFT + "\n::W1b:: 发现有人触电，首先应当{=切断电源 ~%50%用干木棒挑开电线 ~用手拉开}\n",
        encoding="utf-8",
    )
    res = app.test_cli_runner().invoke(
        import_questions_cmd, [str(path), "--enterprise", enterprise.code, "--bank", "文本预览", "--dry-run"]
    )
    assert res.exit_code == 0, res.output
    assert "row 13: duplicate of row 3, imported once" in res.output
    assert "row 3: single_choice: 发现有人触电，首先应当 — A (B 50%)" in res.output


def test_web_preview_lists_weights_names_categories_and_duplicates(app, enterprise, client, login_as):
    import io

    bank = banks.create_bank(enterprise.id, "网页预览")
    db.session.commit()
    login_as("trainer")
    data = (GIFT + "\n::W1b:: 发现有人触电，首先应当{=切断电源 ~%50%用干木棒挑开电线 ~用手拉开}\n").encode()
    resp = client.post(
        f"/quizzes/banks/{bank.id}/import",
        data={"file": (io.BytesIO(data), "moodle.txt")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "A (B 50%)" in page and "2002 ± 1 (50%)" in page and "A→二氧化碳" in page
    assert "W1" in page and "用电安全" in page and "匹配题" in page and "数值题" in page
    assert "第13行与第3行重复" in page
    assert "*: 不对" in page  # per-answer feedback beside the answer it is shown for


def test_equal_split_is_correct_through_an_exam_and_stays_out_of_the_mistake_book(
    app, enterprise, make_person
):
    # Moodle writes a three-right-options question as ~%33.33333% each (and so does our GIFT export of an
    # all-or-nothing multiple choice); all three chosen sum to 0.9999999, which Moodle judges right.
    bank = banks.create_bank(enterprise.id, "均分题库")
    text = "::E1:: 灭火的基本方法有{~%33.33333%隔离 ~%33.33333%窒息 ~%33.33333%冷却 ~浇油}\n"
    assert exchange.import_questions(bank, text.encode(), "e.gift", dry_run=False).committed
    exam = exams.create_exam(enterprise.id, title="均分考试", shuffle_options=False, pass_mark=Decimal("60"))
    exams.add_rule(exam, bank_id=bank.id, count=1, points=Decimal("3"))
    exams.publish_exam(exam)
    person = make_person(enterprise)
    a = attempts.start_attempt(exam, person, now=T0)
    attempts.save_answer(a, a.questions[0].id, [0, 1, 2], 1, now=T0)
    attempts.submit_attempt(a, now=T0)
    answer = a.questions[0].answer
    assert (answer.score, answer.correct, a.score, a.passed) == (Decimal("3.00"), True, Decimal("3.00"), True)
    assert review.mistakes(person.id) == []
    assert review.feedback_for(a.questions[0], [0, 1, 2])["correct"] is True


def test_refusal_of_a_linked_image_is_shown_translated_in_the_preview(app, enterprise, client, login_as):
    import io

    bank = banks.create_bank(enterprise.id, "图片题库")
    db.session.commit()
    login_as("trainer")
    text = '::P1::[html]<p>该标志表示：<img src\\="https\\://moodle.example.com/pluginfile.php/9/a.png"></p>{T}\n'
    resp = client.post(
        f"/quizzes/banks/{bank.id}/import",
        data={"file": (io.BytesIO(text.encode()), "pictures.gift")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "第 1 行" in page and "图片链接到外部地址" in page
