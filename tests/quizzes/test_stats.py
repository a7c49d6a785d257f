import datetime as dt
from decimal import Decimal

from quizzes import attempts, stats
from tests.quizzes.conftest import answer_all

T0 = dt.datetime(2026, 3, 2, 8, 0, 0)


def _sit(exam, person, right_types):
    a = attempts.start_attempt(exam, person, now=T0)
    for i, aq in enumerate(a.questions, start=1):
        v = aq.version
        if v.type in right_types:
            answer = [b[0] for b in v.key] if v.type == "fill_blank" else v.key
        else:
            answer = {"multiple_choice": [3], "true_false": not v.key, "fill_blank": ["错"]}.get(v.type)
            if v.type == "single_choice":
                answer = (v.key + 1) % len(v.options)
        attempts.save_answer(a, aq.id, answer, i, now=T0)
    attempts.submit_attempt(a, now=T0 + dt.timedelta(minutes=5))
    return a


def test_summary_histogram_and_item_analysis(make_exam, make_person, enterprise):
    exam = make_exam(pass_mark=Decimal("60"), shuffle_options=False)
    everything = {"single_choice", "multiple_choice", "true_false", "fill_blank"}
    scores = [
        _sit(exam, make_person(enterprise), everything).score,  # 10
        _sit(exam, make_person(enterprise), everything).score,  # 10
        _sit(exam, make_person(enterprise), {"single_choice", "multiple_choice"}).score,  # 6
        _sit(exam, make_person(enterprise), {"true_false"}).score,  # 2
        _sit(exam, make_person(enterprise), set()).score,  # 0
    ]
    assert scores == [Decimal("10"), Decimal("10"), Decimal("6"), Decimal("2"), Decimal("0")]
    s = stats.summary(exam)
    assert (s["attempts"], s["people"], s["passed_people"]) == (5, 5, 3)
    assert s["pass_rate"] == 0.6 and s["average_pct"] == 56.0
    hist = dict(s["histogram"])
    assert hist["90–100"] == 2 and hist["60–70"] == 1 and hist["20–30"] == 1 and hist["0–10"] == 1
    items = {i["question"].type: i for i in stats.item_analysis(exam)}
    assert items["single_choice"]["difficulty"] == 0.6
    assert items["true_false"]["difficulty"] == 0.6
    # upper 27% = 2 best attempts (all right), lower 27% = 2 worst: discrimination of single choice = 1 - 0
    assert items["single_choice"]["discrimination"] == 1.0
    assert items["true_false"]["discrimination"] == 0.5
    opts = {o["label"]: o for o in items["single_choice"]["options"]}
    assert opts["A"]["count"] == 3 and opts["A"]["right"] and opts["B"]["count"] == 2
    tf = {o["label"]: o["count"] for o in items["true_false"]["options"]}
    assert tf == {"√": 2, "×": 3, "—": 0}
    headers, rows = stats.results_rows(exam)
    assert len(rows) == 5 and headers[0] == "工号"


def test_empty_exam_has_no_numbers(make_exam):
    exam = make_exam()
    s = stats.summary(exam)
    assert s["attempts"] == 0 and s["pass_rate"] is None and s["average_pct"] is None
    assert stats.item_analysis(exam) == []


def test_pending_attempts_do_not_count(make_exam, make_person, enterprise):
    exam = make_exam()
    a = attempts.start_attempt(exam, make_person(enterprise), now=T0)
    answer_all(a, now=T0)
    assert stats.summary(exam)["attempts"] == 0
