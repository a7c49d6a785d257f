from types import SimpleNamespace

import pytest

from quizzes.types import REGISTRY, get_type, normalize_answer_text, public_question


def test_single_choice():
    t = get_type("single_choice")
    assert t.grade(1, 1) == 1.0
    assert t.grade(0, 1) == 0.0
    assert t.grade(None, 1) == 0.0
    assert t.validate(["a"], 0)
    assert t.validate(["a", "b"], 2)
    assert t.validate(["a", "b"], 1) is None
    with pytest.raises(ValueError):
        t.coerce_answer(5, 4)


def test_multiple_choice_all_or_nothing_and_partial():
    t = get_type("multiple_choice")
    assert t.grade([0, 1, 3], [0, 1, 3]) == 1.0
    assert t.grade([0, 1], [0, 1, 3]) == 0.0
    assert t.grade([0, 1], [0, 1, 3], partial=True) == pytest.approx(2 / 3)
    assert t.grade([0, 2], [0, 1, 3], partial=True) == 0.0  # a wrong option earns nothing
    assert t.grade([], [0], partial=True) == 0.0
    assert t.coerce_answer(["2", 0, 0], 4) == [0, 2]
    assert t.key_text([], [0, 2], option_order=[2, 1, 0, 3]) == "AC"


def test_true_false():
    t = get_type("true_false")
    assert t.grade(True, True) == 1.0
    assert t.grade(False, True) == 0.0
    assert t.grade(None, False) == 0.0
    assert t.coerce_answer("false", 0) is False
    assert t.coerce_answer("true", 0) is True


def test_fill_blank_normalises_full_width_spaces_case():
    t = get_type("fill_blank")
    key = [["预防为主"], ["42", "42V"]]
    assert t.grade(["预防 为主", "４２ｖ"], key) == 1.0
    assert t.grade(["预防为主", "36"], key) == 0.5
    assert t.grade([], key) == 0.0
    assert normalize_answer_text("  ＡＢＣ  d ") == "abcd"


def test_short_answer_waits_for_a_person():
    t = get_type("short_answer")
    assert t.grade("先通风再检测", "") is None
    assert t.grade("  ", "") == 0.0
    assert not t.auto_graded


def test_public_view_never_contains_the_key():
    for name, key, options in [
        ("single_choice", 2, ["甲", "乙", "丙"]),
        ("multiple_choice", [0, 2], ["甲", "乙", "丙"]),
        ("true_false", True, []),
        ("fill_blank", [["秘密答案"]], []),
        ("short_answer", "参考秘密", []),
    ]:
        version = SimpleNamespace(
            type=name, stem="题干 ____", options=options, key=key, explanation="解析秘密"
        )
        view = public_question(version, [2, 0, 1] if options else None)
        text = repr(view)
        assert "key" not in view and "explanation" not in view
        assert "秘密" not in text
        if options:
            assert [o["text"] for o in view["options"]] == ["丙", "甲", "乙"]


def test_registry_is_complete():
    assert set(REGISTRY) == {
        "single_choice",
        "multiple_choice",
        "true_false",
        "fill_blank",
        "short_answer",
        "matching",
        "numerical",
    }


def test_answer_feedback_as_moodle_shows_it():
    from quizzes.importers import parse_gift
    from quizzes.types import answer_feedback

    def q(text):
        return parse_gift(text, "t.gift").questions[0]

    tf = q(
        "::Q1:: 42 is the Absolute Answer to everything.{FALSE#42 is the Ultimate Answer.#You gave the right answer.}"
    )
    assert answer_feedback(tf, True) == "42 is the Ultimate Answer."
    assert answer_feedback(tf, False) == "You gave the right answer."
    sa = q("Which is the best animal?{=Frog#Good! =%50%Cat#Cats? =%0%*#Completely wrong}")
    assert answer_feedback(sa, ["cat"]) == "Cats?" and answer_feedback(sa, ["dog"]) == "Completely wrong"
    num = q("What is a number from 1 to 5? {#3:2~#Completely wrong}")
    assert answer_feedback(num, "9") == "Completely wrong" and answer_feedback(num, "4") == ""
    mc = q("Colour?{=yellow#right ~red#wrong}")
    assert answer_feedback(mc, 1) == "wrong" and answer_feedback(mc, None) == ""


def test_numerical_reads_the_learners_number():
    from quizzes.types import parse_number

    assert parse_number("1,822") == 1822 and parse_number("1,5") == 1.5 and parse_number("１８２２") == 1822
    assert parse_number(" 3.25 ") == 3.25 and parse_number("abc") is None and parse_number("inf") is None
    t = get_type("numerical")
    key = [
        {"value": 1822.0, "tolerance": 0.0, "fraction": 1.0},
        {"value": 1822.0, "tolerance": 2.0, "fraction": 0.5},
    ]
    assert t.grade("1822", key) == 1.0 and t.grade("1,823", key) == 0.5 and t.grade("", key) == 0.0
    assert t.validate([], key) is None and t.validate([], [{"value": 1.0, "tolerance": 0, "fraction": 0.5}])


def test_matching_grades_per_item_and_hides_the_pairs():
    t = get_type("matching")
    key = {"answers": ["Ottawa", "Rome", "Tokyo"], "extra": ["Paris"]}
    assert t.grade(["Ottawa", "Rome", "Tokyo"], key) == 1.0
    assert t.grade(["Ottawa", "Paris", ""], key) == pytest.approx(1 / 3)
    v = SimpleNamespace(type="matching", stem="Match", options=["Canada", "Italy", "Japan"], key=key)
    view = public_question(v, [2, 0, 1])
    assert [o["text"] for o in view["options"]] == ["Japan", "Canada", "Italy"]
    assert view["choices"] == ["Ottawa", "Paris", "Rome", "Tokyo"] and "answers" not in str(view)
    assert t.key_text(v.options, key, [2, 0, 1]) == "A→Tokyo；B→Ottawa；C→Rome"  # letters as shown
    assert t.validate(["a"], {"answers": ["x"]}) and t.coerce_answer(["x", "y"], 3) == ["x", "y"]
