"""GIFT read as Moodle reads it, on Moodle's own documented inputs.

Each test quotes an input from Moodle (repository moodle/moodle): ``question/format/gift/tests/giftformat_test.php``
(“giftformat_test::<name>”), its fixture ``tests/fixtures/questions.gift.txt`` or the format's ``examples.txt``,
states what Moodle makes of it (the expected object in that test, or ``format.php``'s reading), and asserts that
ours is the same — or that the file is refused with a message naming the construct and the line.
"""

from __future__ import annotations

import pytest

from quizzes.importers import parse_file, parse_gift
from quizzes.textfmt import to_plain
from quizzes.types import get_type


def one(text: str):
    r = parse_gift(text, "t.gift")
    assert r.errors == [], r.errors
    assert len(r.questions) == 1
    return r.questions[0]


def refused(text: str) -> dict:
    r = parse_gift(text, "t.gift")
    assert r.questions == [] and len(r.errors) == 1, (r.questions, r.errors)
    return r.errors[0]


def grade(q, answer) -> float:
    return get_type(q.type).grade(answer, q.key, False, q.weights)


# ---------------------------------------------------------------- giftformat_test.php


def test_import_essay():
    # giftformat_test::test_import_essay — Moodle: qtype essay, name "Q8", questiontext "How are you?".
    q = one("// essay\n::Q8:: How are you? {}")
    assert (q.type, q.name, q.stem, q.key) == ("short_answer", "Q8", "How are you?", "")


def test_import_match_with_formats():
    # giftformat_test::test_import_match — Moodle: qtype match, questiontext 'Match the <b>activity</b> to the
    # description.' in FORMAT_HTML; subquestions Forum/Choice/Database/Wiki with their own formats, and an empty
    # subquestion "-> Chat" (a distractor answer).
    q = one(
        "// question: 2  name: Moodle activities\n"
        "::Moodle activities::[html]Match the <b>activity</b> to the description.{\n"
        "    =[html]An activity supporting asynchronous discussions. -> Forum\n"
        "    =[moodle]A teacher asks a question and specifies a choice of multiple responses. -> Choice\n"
        "    =[plain]A bank of record entries which participants can add to. -> Database\n"
        "    =[markdown]A collection of web pages that anyone can add to or edit. -> Wiki\n"
        "    = -> Chat\n"
        "}"
    )
    assert q.type == "matching" and q.name == "Moodle activities" and q.text_format == "html"
    assert q.stem == "Match the <b>activity</b> to the description."
    assert [to_plain(o, "html") for o in q.options] == [
        "An activity supporting asynchronous discussions.",
        "A teacher asks a question and specifies a choice of multiple responses.",
        "A bank of record entries which participants can add to.",
        "A collection of web pages that anyone can add to or edit.",
    ]
    assert q.options[3].startswith("<p>")  # markdown rendered, never shown raw
    assert q.key == {"answers": ["Forum", "Choice", "Database", "Wiki"], "extra": ["Chat"]}
    # Moodle grades a match question by the share of subquestions matched right.
    assert grade(q, ["Forum", "Choice", "Chat", "Wiki"]) == pytest.approx(0.75)


def test_import_multichoice_with_feedback():
    # giftformat_test::test_import_multichoice — Moodle: single = 1, answers yellow/red/blue, fraction (1, 0, 0),
    # feedback "right; good!", "wrong, it's yellow" (FORMAT_HTML), "wrong, it's yellow"; blue in FORMAT_PLAIN.
    q = one(
        "// multiple choice with specified feedback for right and wrong answers\n"
        "::Q2:: What's between orange and green in the spectrum?\n"
        "{\n    =yellow # right; good!\n    ~red # [html]wrong, it's yellow\n    ~[plain]blue # wrong, it's yellow\n}"
    )
    assert q.type == "single_choice" and q.key == 0 and q.weights is None and q.name == "Q2"
    assert [to_plain(o, q.text_format) for o in q.options] == ["yellow", "red", "blue"]
    assert [to_plain(f, q.text_format) for f in q.feedback["options"]] == [
        "right; good!",
        "wrong, it's yellow",
        "wrong, it's yellow",
    ]
    assert to_plain(q.stem, q.text_format) == "What's between orange and green in the spectrum?"


def test_import_multichoice_multi():
    # giftformat_test::test_import_multichoice_multi — Moodle: single = 0, fraction (0.5, -1, 0.5, -1).
    q = one(
        "::colours:: What's between orange and green in the spectrum?\n{\n"
        "    ~%50%yellow # right; good!\n    ~%-100%red # [html]wrong\n"
        "    ~%50%off-beige # right; good!\n    ~%-100%[plain]blue # wrong\n}"
    )
    assert q.type == "multiple_choice" and q.key == [0, 2] and q.weights == [0.5, -1.0, 0.5, -1.0]
    # Moodle's multiple response: the sum of the chosen fractions, within 0..1.
    assert grade(q, [0, 2]) == 1.0
    assert grade(q, [0]) == 0.5
    assert grade(q, [0, 1]) == 0.0
    assert grade(q, [0, 1, 2, 3]) == 0.0


def test_import_multichoice_multi_tricky():
    # giftformat_test::test_import_multichoice_multi_tricky — Moodle: single = 0 (no "="), fraction (1, -0.5, -0.5).
    q = one(
        "::colours:: What's between orange and green in the spectrum?\n{\n"
        "    ~%100%yellow # right; good!\n    ~%-50%red # wrong\n    ~%-50%blue # wrong\n}"
    )
    assert q.type == "multiple_choice" and q.key == [0] and q.weights == [1.0, -0.5, -0.5]
    assert grade(q, [0]) == 1.0 and grade(q, [0, 1]) == 0.5 and grade(q, [1, 2]) == 0.0


def test_import_numerical_with_wrong_feedback():
    # giftformat_test::test_import_numerical — Moodle: answer ('3', '*'), tolerance (2, ''), fraction (1, 0),
    # feedback ('', 'Completely wrong').
    q = one("// math range question\n::Q5:: What is a number from 1 to 5? {#3:2~#Completely wrong}")
    assert q.type == "numerical" and q.stem == "What is a number from 1 to 5?"
    assert q.key == [
        {"value": 3.0, "tolerance": 2.0, "fraction": 1.0},
        {"value": None, "tolerance": 0.0, "fraction": 0.0},
    ]
    assert q.feedback == {"answers": ["", "Completely wrong"]}
    assert (
        grade(q, "1") == 1.0 and grade(q, "5") == 1.0 and grade(q, "5.01") == 0.0 and grade(q, "abc") == 0.0
    )


def test_import_shortanswer_weights_and_wildcard():
    # giftformat_test::test_import_shortanswer — Moodle: answer ('Frog', 'Cat', '*'), fraction (1, 0.5, 0),
    # feedback per answer. "*" is Moodle's wildcard (any response), not a literal answer.
    q = one(
        "// question: 666  name: Shortanswer\n::Shortanswer::Which is the best animal?{\n"
        "    =Frog#Good!\n    =%50%Cat#What is it with Moodlers and cats?\n    =%0%*#Completely wrong\n}"
    )
    assert q.type == "fill_blank" and q.name == "Shortanswer" and q.stem == "Which is the best animal?"
    assert q.key == [["Frog", "Cat", "*"]] and q.weights == [[1.0, 0.5, 0.0]]
    assert q.feedback == {"answers": [["Good!", "What is it with Moodlers and cats?", "Completely wrong"]]}
    # Moodle compares in order (case-insensitive for GIFT, usecase 0): first match decides.
    assert grade(q, ["frog"]) == 1.0
    assert grade(q, ["Cat"]) == 0.5
    assert grade(q, ["Dog"]) == 0.0
    assert grade(q, ["*"]) == 0.0  # the asterisk is not an accepted literal answer


def test_import_shortanswer_with_general_feedback():
    # giftformat_test::test_import_shortanswer_with_general_feedback — Moodle: generalfeedback
    # 'Here is some general feedback!' in FORMAT_HTML.
    q = one(
        "::Shortanswer::Which is the best animal?{\n    =Frog#Good!\n    =%50%Cat#What is it with Moodlers and cats?\n"
        "    =%0%*#Completely wrong\n    ####[html]Here is some general feedback!\n}"
    )
    assert to_plain(q.explanation, "html") == "Here is some general feedback!"
    assert q.weights == [[1.0, 0.5, 0.0]]


def test_import_truefalse_with_feedback():
    # giftformat_test::test_import_truefalse — Moodle: correctanswer 0, feedbacktrue '42 is the Ultimate Answer.'
    # (shown to the wrong answer TRUE), feedbackfalse 'You gave the right answer.'
    q = one(
        "// true/false\n::Q1:: 42 is the Absolute Answer to everything.{\nFALSE#42 is the Ultimate Answer.#You gave the right answer.}"
    )
    assert q.type == "true_false" and q.key is False and q.name == "Q1"
    assert q.feedback == {"true": "42 is the Ultimate Answer.", "false": "You gave the right answer."}


def test_import_truefalse_with_feedback_and_general_feedback():
    # questions.gift.txt fixture (true/false, with general feedback) — Moodle: correctanswer 0 and the general
    # feedback after ####.
    q = one(
        "::Q1:: 42 is the Absolute Answer to everything.{\nFALSE#42 is the Ultimate Answer.#You gave the right answer.\n"
        "####This is, of course, a Hitchiker's Guide to the Galaxy reference.}"
    )
    assert (
        q.key is False and q.explanation == "This is, of course, a Hitchiker's Guide to the Galaxy reference."
    )


@pytest.mark.parametrize("word", ["T", "TRUE"])
def test_import_truefalse_true_answer(word):
    # giftformat_test::test_import_truefalse_true_answer1/2 — Moodle: name '2-08 TSL', correctanswer 1.
    q = one("// name 0-11\n::2-08 TSL::TSL is blablabla.{" + word + "}")
    assert (q.type, q.key, q.name, q.stem) == ("true_false", True, "2-08 TSL", "TSL is blablabla.")


def test_truefalse_as_moodle_exports_it():
    # giftformat_test::test_export_truefalse writes {TRUE#[html]42 is the Ultimate Answer.#You gave the right
    # answer.}; Moodle reads it back as correctanswer 1 with those feedbacks.
    q = one(
        "::Q1::42 is the Absolute Answer to everything.{TRUE#[html]42 is the Ultimate Answer.#You gave the right answer.}"
    )
    assert q.key is True and q.text_format == "html"
    assert to_plain(q.feedback["false"], "html") == "42 is the Ultimate Answer."
    assert to_plain(q.feedback["true"], "html") == "You gave the right answer."


def test_import_backslash():
    # giftformat_test::test_import_backslash (MDL-34171) — Moodle: questiontext 'A \ B \\ C' from 'A \\ B \\\\ C'.
    q = one("// essay\n::double backslash:: A \\\\ B \\\\\\\\ C{}")
    assert q.stem == "A \\ B \\\\ C"


def test_import_pre_content_with_escaped_braces():
    # giftformat_test::test_import_pre_content — Moodle: FORMAT_HTML, \{ and \} become braces inside <pre>.
    q = one(
        "::Q001::[html]<p>What would running the test method print?</p>\n<pre>\n    public void test() \\{\n"
        "        method1();\n    \\}\n</pre>\n{}"
    )
    assert q.type == "short_answer" and q.text_format == "html"
    assert "<pre>" in q.stem and "public void test() {" in q.stem and "}\n</pre>" in q.stem


def test_import_question_with_tags_in_comments():
    # giftformat_test::test_import_question_with_tags — comments are not part of the question.
    q = one(
        "// This question is to test importing tags: [tag:tag] [tag:other-tag].\n// And an idnumber: [id:myid].\n::Question name:: How are you? {}"
    )
    assert (q.name, q.stem, q.type) == ("Question name", "How are you?", "short_answer")


# ---------------------------------------------------------------- examples.txt


def test_missing_word_keeps_the_blank():
    # examples.txt / format.php header — Moodle: multichoice, entombed 100 %, questiontext
    # "Grant is _____ in Grant's tomb." (the blank where the answers stood).
    q = one("Grant is {~buried =entombed ~living} in Grant's tomb.")
    assert q.type == "single_choice" and q.key == 1
    assert q.stem == "Grant is ____ in Grant's tomb."


def test_missing_word_short_answer():
    # examples.txt "Two plus two equals {=four =4}." — Moodle: shortanswer with a blank in the text.
    q = one("Two plus two equals {=four =4}.")
    assert q.type == "fill_blank" and q.key == [["four", "4"]] and q.stem == "Two plus two equals ____."


def test_partial_credit_single_choice():
    # examples.txt "Difficult question.{~wrong answer ~%50%half credit answer =full credit answer}" — Moodle:
    # single = 1 (there is an "="), fractions (0, 0.5, 1): the half answer earns half.
    q = one("Difficult question.{~wrong answer ~%50%half credit answer =full credit answer}")
    assert q.type == "single_choice" and q.key == 2 and q.weights == [0.0, 0.5, 1.0]
    assert grade(q, 2) == 1.0 and grade(q, 1) == 0.5 and grade(q, 0) == 0.0


def test_issue_example_right_and_half():
    # The issue's case "=right ~%50%half": Moodle single = 1, fractions (1, 0.5). It was a multiple choice
    # where the right answer scored 0.
    q = one("Pick one.{=right ~%50%half}")
    assert q.type == "single_choice" and q.key == 0 and q.weights == [1.0, 0.5]
    assert grade(q, 0) == 1.0 and grade(q, 1) == 0.5


def test_weights_with_feedback_jesus_hometown():
    # examples.txt "::Jesus' hometown::" — Moodle: single choice, fractions (0, 0.25, 0.5, 1), a feedback each,
    # text after "}" so a blank in the text.
    q = one(
        "::Jesus' hometown::Jesus Christ was from {\n    ~Jerusalem#This was an important city, but the wrong answer.\n"
        "    ~%25%Bethlehem#He was born here, but not raised here.\n    ~%50%Galilee#You need to be more specific.\n"
        "    =Nazareth#Yes! That's right!}."
    )
    assert q.type == "single_choice" and q.key == 3 and q.weights == [0.0, 0.25, 0.5, 1.0]
    assert q.stem == "Jesus Christ was from ____." and q.feedback["options"][3] == "Yes! That's right!"


def test_short_answer_weights_missing_word():
    # examples.txt "::Jesus' hometown:: … {=Nazareth =%75%Nazereth =%25%Bethlehem}." — Moodle: shortanswer,
    # fractions (1, 0.75, 0.25).
    q = one(
        "::Jesus' hometown:: Jesus Christ was from {\n    =Nazareth#Yes! That's right!\n"
        "    =%75%Nazereth#Right, but misspelled.\n    =%25%Bethlehem#He was born here, but not raised here.}."
    )
    assert q.type == "fill_blank" and q.weights == [[1.0, 0.75, 0.25]]
    assert grade(q, ["nazereth"]) == 0.75


@pytest.mark.parametrize(
    ("text", "key", "weights"),
    [
        # examples.txt ===Multiple Answers=== — Moodle: single = 0, fractions as written.
        (
            "What two people are entombed in Grant's tomb? {\n ~No one\n ~%50%Grant\n ~%50%Grant's wife\n ~Grant's father }",
            [1, 2],
            [0.0, 0.5, 0.5, 0.0],
        ),
        (
            "What two people are entombed in Grant's tomb? {\n ~%-50%No one\n ~%50%Grant\n ~%50%Grant's wife\n ~%-50%Grant's father }",
            [1, 2],
            [-0.5, 0.5, 0.5, -0.5],
        ),
    ],
)
def test_multiple_answers(text, key, weights):
    q = one(text)
    assert q.type == "multiple_choice" and q.key == key and q.weights == weights
    assert q.stem == "What two people are entombed in Grant's tomb?"


@pytest.mark.parametrize(
    ("text", "key", "stem"),
    [
        # examples.txt ===Numerical=== — Moodle: answer/tolerance as below; "min..max" is the midpoint ± half.
        (
            "When was Ulysses S. Grant born? {#1822}",
            [{"value": 1822.0, "tolerance": 0.0, "fraction": 1.0}],
            None,
        ),
        (
            "What is the value of pi (to 3 decimal places)? {#3.1415:0.0005}.",
            [{"value": 3.1415, "tolerance": 0.0005, "fraction": 1.0}],
            "What is the value of pi (to 3 decimal places)? ____.",
        ),
        (
            "What is the value of pi (to 3 decimal places)? {#3.141..3.142}.",
            [{"value": 3.1415, "tolerance": pytest.approx(0.0005), "fraction": 1.0}],
            None,
        ),
        (
            "When was Ulysses S. Grant born? {#\n    =1822:0\n    =%50%1822:2}",
            [
                {"value": 1822.0, "tolerance": 0.0, "fraction": 1.0},
                {"value": 1822.0, "tolerance": 2.0, "fraction": 0.5},
            ],
            None,
        ),
        (
            "When was Ulysses S. Grant born?{#1822:5}",
            [{"value": 1822.0, "tolerance": 5.0, "fraction": 1.0}],
            None,
        ),
    ],
)
def test_numerical(text, key, stem):
    q = one(text)
    assert q.type == "numerical"
    assert q.key[0]["value"] == pytest.approx(key[0]["value"])
    assert q.key[1:] == key[1:] and q.key[0]["tolerance"] == key[0]["tolerance"]
    if stem:
        assert q.stem == stem


def test_numerical_partial_credit_grading():
    # examples.txt "Numerical example": =1822:0 full marks, =%50%1822:2 half for being within 2 years.
    q = one(
        "::Numerical example::\nWhen was Ulysses S. Grant born? {#\n     =1822:0      #Correct! 100% credit\n     =%50%1822:2  #He was born in 1822.\n}"
    )
    assert grade(q, "1822") == 1.0 and grade(q, "1821") == 0.5 and grade(q, "1819") == 0.0
    assert q.feedback["answers"][0] == "Correct! 100% credit"


def test_matching_examples():
    # examples.txt — Moodle: match, subquestion → subanswer pairs (spaces around -> trimmed).
    q = one(
        "Match the following countries with their corresponding capitals. {\n    =Canada -> Ottawa\n"
        "    =Italy  -> Rome\n    =Japan  -> Tokyo\n    =India  -> New Delhi\n    }"
    )
    assert q.type == "matching" and q.options == ["Canada", "Italy", "Japan", "India"]
    assert q.key == {"answers": ["Ottawa", "Rome", "Tokyo", "New Delhi"], "extra": []}
    q = one(
        "Match the following countries with their corresponding\ncapitals.{=Canada->Ottawa =Italy->Rome =Japan->Tokyo}"
    )
    assert q.key["answers"] == ["Ottawa", "Rome", "Tokyo"]


def test_markdown_is_rendered_never_raw():
    # examples.txt "===Specify text format===" — Moodle: FORMAT_MARKDOWN, shown rendered.
    q = one(
        "[markdown]Who's buried in **Grant's tomb**?{\n=no one#excellent answer!\n=nobody#excellent answer!}"
    )
    assert q.text_format == "html" and "<strong>Grant's tomb</strong>" in q.stem and "**" not in q.stem
    assert q.key == [["no one", "nobody"]]


def test_html_is_sanitised():
    # Not one of Moodle's inputs: Moodle stores [html] text as written and cleans it each time it shows it
    # (format_text); we clean it once on import, so a script or handler never reaches a page.
    q = one('[html]<p onclick="x()">Safe?</p><script>alert(1)</script>{T}')
    assert q.stem == "<p>Safe?</p>" and q.key is True


def test_special_characters_escaped():
    # examples.txt ===Special Characters=== — Moodle: options "= 2 + 2", "= 2 + 3" (right), "= 2 + 4".
    q = one("Which answer equals 5? {\n     ~ \\= 2 + 2\n     = \\= 2 + 3\n     ~ \\= 2 + 4  }")
    assert q.type == "single_choice" and q.options == ["= 2 + 2", "= 2 + 3", "= 2 + 4"] and q.key == 1


def test_control_characters_example():
    # examples.txt "::GIFT Control Characters::" — Moodle: six options ~ = # { } \ ; the backslash is right.
    q = one(
        "::GIFT Control Characters::\nWhich of the following is NOT a control character for the GIFT import format? {\n"
        "   ~ \\~     # \\~ is a control character.\n   ~ \\=     # \\= is a control character.\n"
        "   ~ \\#     # \\# is a control character.\n   ~ \\{     # \\{ is a control character.\n"
        "   ~ \\}     # \\} is a control character.\n   = \\\\     # Correct! \\\\ (backslash) is not a control character.\n}"
    )
    assert q.options == ["~", "=", "#", "{", "}", "\\"] and q.key == 5
    assert q.feedback["options"][0] == "~ is a control character."


def test_category_path_kept():
    # Moodle 4's exporter writes "$CATEGORY: $course$/top/Default for X/Sub" before a category's questions and
    # creates that category path on import; ours keeps the path below top (the fixture's form without "top" is
    # test_moodle_fixture_questions_in_category).
    r = parse_gift("$CATEGORY: $course$/top/Default for 安全/用电\n\n::A::甲 {T}\n", "t.gift")
    assert r.errors == [] and r.questions[0].category == "Default for 安全/用电"


def test_gift_without_titles_is_read_as_gift():
    # examples.txt starts with questions without ::title::; it was taken for a spreadsheet.
    data = (
        b"//  EXAMPLE QUESTIONS\n\nWho's buried in Grant's tomb?{~Grant ~Jefferson =no one}\n\n"
        b"Grant is buried in Grant's tomb.{FALSE}\n\nWhen was Ulysses S. Grant born?{#1822:1}\n"
    )
    r = parse_file(data, "questions.txt")
    assert r.format == "gift" and r.errors == []
    assert [q.type for q in r.questions] == ["single_choice", "true_false", "numerical"]


# ---------------------------------------------------------------- refused by name, with the line


def test_lowercase_true_is_refused_by_name():
    # format.php compares with ('T', 'TRUE', 'F', 'FALSE') case-sensitively: Moodle makes "{true}" a short answer
    # accepting "true". We refuse rather than guess.
    e = refused("\n\nThe sky is blue.{true}")
    assert e["row"] == 3 and "{true}" in e["message"] and "line 3" in e["message"]


def test_second_answer_block_is_refused():
    # format.php takes the first "{" and the first "}" as the answers: Moodle would show "B {=y}." in the text,
    # braces and all, and ask only the first blank. Refused rather than half-read.
    e = refused("A {=x} and B {=y}.")
    assert "second answer block" in e["message"] and "line 1" in e["message"]


def test_description_is_refused_by_name():
    # format.php: text without braces is a "description" (no answers, no mark). Refused, not skipped: in a GIFT file
    # written by hand it is far more often a question whose answer block was forgotten. (Moodle XML names the
    # type, so a description there is skipped with a note.)
    e = refused("// c\n::D:: Just some text")
    assert "description" in e["message"] and e["row"] == 2


def test_negative_single_choice_weight_refused():
    # Moodle: single = 1 (there is an "="), fractions (1, -0.5): choosing b gives the question a negative mark.
    # A question here scores 0 at least, so the file is refused rather than graded otherwise.
    e = refused("Q {=a ~%-50%b}")
    assert "negative weight" in e["message"]


def test_multiple_answers_not_adding_up_refused():
    # Moodle's multichoice save_question_options refuses it too ("fractionsaddwrong": the positive grades of a
    # multiple-answer question must add up to 100 %).
    e = refused("Q {~%50%a ~%30%b ~c}")
    assert "add up to 80%" in e["message"] and "line 1" in e["message"]


def test_numerical_not_a_number_refused():
    # format.php checks `!(is_numeric($ans) || $ans = '*')`: the assignment turns a non-number into "*", so
    # Moodle reads {#abc} as "any answer, full marks" — a silently wrong key. Refused by name.
    e = refused("Year? {#abc}")
    assert "numerical answer “abc”" in e["message"]


def test_category_line_must_stand_alone():
    # format.php reads the whole block as the category's name ("a\n::Q:: text {T}"): the question is lost in it.
    e = refused("$CATEGORY: a\n::Q:: text {T}")
    assert "$CATEGORY" in e["message"]


def test_refusals_do_not_hide_good_questions():
    # Not a question of Moodle's reading: each refused question is listed with its line and the others are still
    # read for the preview; nothing is imported until every problem is fixed (all or nothing).
    r = parse_gift("::A:: ok {T}\n\n::B:: bad {true}\n\n::C:: ok too {F}\n", "t.gift")
    assert [q.name for q in r.questions] == ["A", "C"] and [e["row"] for e in r.errors] == [3]


def test_truefalse_with_all_feedback_as_moodle_exports_it():
    # giftformat_test::test_export_question_with_tags_and_idnumber — Moodle writes a true/false question with
    # wrong-answer, right-answer and general feedback, tags and idnumber in a comment; read back: correctanswer 1,
    # feedbackfalse "This is the wrong answer.", feedbacktrue "This is the right answer.", general feedback.
    q = one(
        "// question: 5  name: True/false question\n// [id:myid] [tag:tag1] [tag:tag2]\n"
        "::True/false question::[html]The answer is true.{TRUE#This is the wrong answer.#This is the right answer."
        "####You should have selected true.}"
    )
    assert q.key is True and q.text_format == "html" and q.name == "True/false question"
    assert to_plain(q.feedback["false"], "html") == "This is the wrong answer."
    assert to_plain(q.feedback["true"], "html") == "This is the right answer."
    assert to_plain(q.explanation, "html") == "You should have selected true."


# ---------------------------------------------------------------- more of Moodle's own inputs


def test_equal_split_of_a_multiple_answer_question_is_whole_marks():
    # format.php writequestion writes a multiple-answer option of fraction 0.3333333 (the 33.33333 % of Moodle's
    # weight menu) as "~%33.33333%". Moodle sums the chosen fractions (0.9999999 for all three) and judges a sum
    # above 0.999999 right (question/engine/states.php, graded_state_for_fraction): full marks, "correct".
    q = one("::Q8::Which are fire-fighting methods?{\n\t~%33.33333%cooling\n\t~%33.33333%smothering\n"
            "\t~%33.33333%starving\n\t~petrol\n}")  # fmt: skip
    assert q.type == "multiple_choice" and q.key == [0, 1, 2] and q.weights == [0.3333333] * 3 + [0.0]
    assert grade(q, [0, 1, 2]) == 1.0
    assert grade(q, [0, 1]) == pytest.approx(0.6666666)
    assert grade(q, [3]) == 0.0


MOODLE_FIXTURE_IN_CATEGORY = """// question: 0  name: switch category to $course$/Default for New Features
$CATEGORY: $course$/Default for New Features

// question: 44  name: Moodle activities
::Moodle activities::[html]Match the activity to the description.{
\t=An activity supporting asynchronous discussions. -> Forum
\t=A teacher asks a question and specifies a choice of multiple responses. -> Choice
\t=A bank of record entries which participants can add to. -> Database
\t=A collection of web pages that anyone can add to or edit. -> Wiki
\t= -> Chat
}

// question: 43  name: Greeting
::Greeting::[html]<a href\\="http\\://demo.moodle.net/file.php/5/media/bonjour.mp3">Listen to this greeting\\:</a><br /><br />What language is being spoken?{
\t~English#Sorry, listen again.
\t=French#Yes, well done!
\t~German#Sorry, listen again.
\t~Spanish#Sorry, listen again.
}

// question: 46  name: Moodle user
::Moodle user::[html]Anyone who uses Moodle is a ...{
\t=%100%Moodler#
}

// question: 45  name: Moodle acronym
::Moodle acronym::[html]Moodle is an acronym for <span style\\="font-style\\: italic;">Modular Object-Oriented Dynamic Learning Environment</span>.{TRUE}
"""


def test_moodle_fixture_questions_in_category():
    # The whole fixture question/format/gift/tests/fixtures/questions_in_category.gift.txt (what Moodle's exporter
    # writes for a category). Moodle: every question in the category "Default for New Features" ($course$ and no
    # "top" in this older form); a match question with the distractor "Chat"; a single-choice question (French
    # 100 %, a feedback each) whose link's "\=" and "\:" are a plain "=" and ":"; a short answer "Moodler" (100 %,
    # empty feedback after "#"); true/false, true. Style attributes are dropped by our sanitiser, the text kept.
    r = parse_file(MOODLE_FIXTURE_IN_CATEGORY.encode(), "questions_in_category.gift.txt")
    assert r.format == "gift" and r.errors == []
    match, greeting, user, acronym = r.questions
    assert {q.category for q in r.questions} == {"Default for New Features"}
    assert (match.type, match.name) == ("matching", "Moodle activities")
    assert match.key == {"answers": ["Forum", "Choice", "Database", "Wiki"], "extra": ["Chat"]}
    assert (greeting.type, greeting.key, greeting.options) == (
        "single_choice",
        1,
        ["English", "French", "German", "Spanish"],
    )
    assert 'href="http://demo.moodle.net/file.php/5/media/bonjour.mp3"' in greeting.stem
    assert (
        "Listen to this greeting:" in greeting.stem and greeting.feedback["options"][1] == "Yes, well done!"
    )
    assert (user.type, user.key, user.weights, user.feedback) == ("fill_blank", [["Moodler"]], None, None)
    assert (acronym.type, acronym.key) == ("true_false", True)
    assert to_plain(acronym.stem, "html") == (
        "Moodle is an acronym for Modular Object-Oriented Dynamic Learning Environment."
    )  # fmt: skip


def test_what_moodles_exporter_writes_reads_back_as_moodle_reads_it():
    # The texts giftformat_test::test_export_match, test_export_shortanswer_with_general_feedback and
    # test_export_backslash expect Moodle to write; Moodle reads each back as the question it exported: the
    # match's first item is HTML with an escaped "\=" in its attribute, items in other formats, "= -> Chat" a
    # distractor; "=%100%Frog#Good!" weights and feedback, "####[html]" general feedback; "A \\\\ B" a backslash.
    text = (
        "// question: 666  name: Moodle activities\n"
        "::Moodle activities::[html]Match the <b>activity</b> to the description.{\n"
        '\t=<div class\\="frog">An activity supporting asynchronous discussions.</div> -> Forum\n'
        "\t=[moodle]A teacher asks a question and specifies a choice of multiple responses. -> Choice\n"
        "\t=[plain]A bank of record entries which participants can add to. -> Database\n"
        "\t=[markdown]A collection of web pages that anyone can add to or edit. -> Wiki\n"
        "\t= -> Chat\n}\n\n"
        "// question: 666  name: Shortanswer\n::Shortanswer::Which is the best animal?{\n"
        "\t=%100%Frog#Good!\n\t=%50%Cat#What is it with Moodlers and cats?\n\t=%0%*#Completely wrong\n"
        "\t####[html]Here is some general feedback!\n}\n\n"
        "// question: 666  name: backslash\n::backslash::A \\\\ B \\\\\\\\ C{}\n\n"
    )
    r = parse_gift(text, "export.gift")
    assert r.errors == []
    match, short, essay = r.questions
    assert match.options[0] == '<div class="frog">An activity supporting asynchronous discussions.</div>'
    assert match.key == {"answers": ["Forum", "Choice", "Database", "Wiki"], "extra": ["Chat"]}
    assert (short.key, short.weights) == ([["Frog", "Cat", "*"]], [[1.0, 0.5, 0.0]])
    assert short.feedback["answers"][0][0] == "Good!" and to_plain(short.explanation, "html") == (
        "Here is some general feedback!"
    )  # fmt: skip
    assert (essay.type, essay.stem) == ("short_answer", "A \\ B \\\\ C")


def test_examples_true_false_with_one_feedback():
    # examples.txt ===Percentage Answer Weights=== "Grant is buried in Grant's tomb.{FALSE#No one is buried in
    # Grant's tomb.}" — format.php split_truefalse_comment: the first "#" part is the wrong answer's feedback, so
    # Moodle: correctanswer 0, feedbacktrue "No one is buried in Grant's tomb.", feedbackfalse "".
    q = one("Grant is buried in Grant's tomb.{FALSE#No one is buried in Grant's tomb.}")
    assert q.key is False and q.feedback == {"true": "No one is buried in Grant's tomb.", "false": ""}


def test_examples_names_and_a_blank_across_lines():
    # examples.txt ===Question Name===: "::Kanji Origins::…{=China}" — Moodle: shortanswer (no "~"), one answer
    # China at 100 %, the name; "::Thanksgiving Date::… {~second ~third =fourth} Thursday of November." —
    # multichoice single, the blank where the answers stood, the text across two lines.
    q = one("::Kanji Origins::Japanese characters originally\ncame from what country? {=China}")
    assert (q.type, q.name, q.key, q.weights) == ("fill_blank", "Kanji Origins", [["China"]], None)
    q = one(
        "::Thanksgiving Date::The American holiday of Thanksgiving is\n"
        "celebrated on the {~second ~third =fourth} Thursday of November."
    )
    assert (q.type, q.key, q.options) == ("single_choice", 2, ["second", "third", "fourth"])
    assert q.stem == "The American holiday of Thanksgiving is\ncelebrated on the ____ Thursday of November."


def test_an_image_from_another_address_is_refused_and_an_inline_one_kept():
    # Moodle keeps an <img> of [html] text as written and the browser fetches it. Pages here load pictures only
    # from this site or a data: URL, so a linked picture would never show: refused by name. One inside the text
    # (data:image/…) is kept.
    e = refused(
        '::Q::[html]<p>This sign means:<img src\\="https\\://moodle.example.com/pluginfile.php/9/a.png"></p>{T}'
    )
    assert "image linked from an address" in e["message"] and "line 1" in e["message"]
    q = one(
        '::Q::[html]<p>This sign means:<img src\\="data:image/png;base64,iVBORw0KGgo\\=" alt\\="sign"></p>{T}'
    )
    assert '<img src="data:image/png;base64,iVBORw0KGgo=" alt="sign">' in q.stem


def test_a_blank_answer_is_dropped_as_moodle_saves_it():
    # format.php turns "{~ =a ~b}" into the answers "", "a" (100 %), "b"; Moodle's save_question_options then
    # skips an answer with no text, no weight and no feedback: the question has two options, "a" right. A blank
    # option with feedback is kept, as Moodle keeps it.
    q = one("Pick.{~ =a ~b}")
    assert (q.options, q.key) == (["a", "b"], 0)
    q = one("Pick.{~#nothing here =a ~b}")
    assert (q.options, q.key, q.feedback["options"][0]) == (["", "a", "b"], 1, "nothing here")


@pytest.mark.parametrize("encode", [
    lambda s: s.replace("\n", "\r\n").encode("utf-8"),  # a file saved on Windows (giftformat_test normalises \r\n)
    lambda s: b"\xef\xbb\xbf" + s.encode("utf-8"),  # with a byte-order mark
    lambda s: s.replace("Moodle", "题库").encode("gbk"),  # a Chinese editor's default encoding
])  # fmt: skip
def test_moodle_fixture_in_other_line_endings_and_encodings(encode):
    r = parse_file(encode(MOODLE_FIXTURE_IN_CATEGORY), "questions_in_category.txt")
    assert r.format == "gift" and r.errors == []
    assert [q.type for q in r.questions] == ["matching", "single_choice", "fill_blank", "true_false"]
    assert r.questions[1].feedback["options"][1] == "Yes, well done!"
