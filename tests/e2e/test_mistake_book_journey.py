"""Journey: the demo learner practises the mistake book (issue 16 and 18).

The demo learner did the daily practice (a bank marked for practice) with some answers wrong. In the mistake
book, checking nothing says to answer first and shows no key; a wrong answer reads
回答错误。你的答案：…。正确答案：…。 with a choice's letter and text and the explanation; a right answer reads 回答正确。 and the question leaves the book. The
keys are read from the live server's database, never from the page.
"""

from __future__ import annotations

from tests.e2e.conftest import sign_in
from tests.e2e.helpers import as_json, db_rows, watch_server_errors

LETTERS = "ABCDEFGH"


def _question(live_server, question_id: int):
    row = db_rows(
        live_server,
        "SELECT type, options, key, explanation FROM quiz_question WHERE id = :q",
        q=question_id,
    )[0]
    return row[0], as_json(row[1]) or [], as_json(row[2]), row[3] or ""


def _wrong(qtype: str, options: list[str], key):
    if qtype == "single_choice":
        return (key + 1) % len(options)
    if qtype == "multiple_choice":
        return [next(i for i in range(len(options)) if i not in key)]
    if qtype == "true_false":
        return not key
    return ["不知道"]


def _give(section, qtype: str, value) -> None:
    if qtype == "single_choice":
        section.locator(f"input[value='{int(value)}']").check()
    elif qtype == "true_false":
        section.locator(f"input[value='{'true' if value else 'false'}']").check()
    elif qtype == "multiple_choice":
        for box in section.locator("input[type=checkbox][name]").all():
            box.set_checked(int(box.get_attribute("value")) in set(value))
    else:
        for i, field in enumerate(section.locator(".answers input[type=text]").all()):
            field.fill(str(value[i]) if i < len(value) else "")


def _expected_key(qtype: str, options: list[str], key) -> str:
    if qtype == "single_choice":
        return f"{LETTERS[key]}. {options[key]}"
    if qtype == "multiple_choice":
        return "；".join(f"{LETTERS[k]}. {options[k]}" for k in sorted(key))
    if qtype == "true_false":
        return "对" if key else "错"
    return "；".join(" / ".join(b) for b in key)


def _check(page, section) -> str:
    """Click Check and return the feedback once the page has written the server's answer."""
    box = section.locator("[data-feedback]")
    box.evaluate("el => { el.textContent = ''; }")  # the answer to an earlier check must not be read again
    with page.expect_response(lambda r: "/check" in r.url and r.request.method == "POST") as resp:
        section.locator("[data-mistake-check]").click()
    assert resp.value.ok, resp.value.text()[:300]
    box.locator("p").first.wait_for()
    return box.inner_text()


def test_mistake_book_feedback_reads_clearly(page, live_server):
    errors = watch_server_errors(page)
    sign_in(page, "learner")
    page.goto(page.base + "/quizzes/mistakes")
    cards = page.locator("#mistakes section.question")
    auto = [c for c in cards.all() if c.get_attribute("data-type") != "short_answer"]
    assert auto, page.inner_text("main")
    page.shot("01-book")
    section = auto[0]
    qid = int(section.get_attribute("data-aq"))
    qtype, options, key, explanation = _question(live_server, qid)
    assert qtype == section.get_attribute("data-type")

    # Nothing chosen: no key, a request to answer first.
    if qtype in ("single_choice", "true_false", "multiple_choice"):
        said = _check(page, section)
        assert "请先选择或填写答案" in said and _expected_key(qtype, options, key) not in said

    _give(section, qtype, _wrong(qtype, options, key))
    said = _check(page, section)
    wrong = _wrong(qtype, options, key)
    assert said.startswith("回答错误。你的答案："), said  # what I answered, then the key: never ambiguous
    assert f"。正确答案：{_expected_key(qtype, options, key)}。" in said, said
    if qtype == "true_false":
        assert f"你的答案：{'对' if wrong else '错'}。" in said, said
    if explanation:
        assert f"解析: {explanation}" in said or f"解析：{explanation}" in said, said
    page.shot("02-wrong")

    right = [b[0] for b in key] if qtype == "fill_blank" else key
    _give(section, qtype, right)
    said = _check(page, section)
    assert said.startswith("回答正确。"), said
    page.shot("03-right")
    page.reload()
    assert page.locator(f"#mistakes section.question[data-aq='{qid}']").count() == 0
    assert not errors, errors
