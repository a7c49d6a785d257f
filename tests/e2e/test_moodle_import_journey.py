"""Journey (issue 17): a trainer imports a bank exported from Moodle (GIFT), sees Moodle's weights in the preview,
builds a paper over it, and a learner answers a matching and a numerical question in the browser.

The exam shuffles options: the matching items are shown in another order than stored, so the page must send the
chosen texts in the items' own order (data-item) — checked by reloading the page and by the server's score.
"""

from __future__ import annotations

import re
import secrets

from tests.e2e.conftest import sign_in
from tests.e2e.helpers import accept_dialogs, as_json, db_rows, db_value, open_page, watch_server_errors

GIFT = """// exported from Moodle
$CATEGORY: $course$/top/默认/消防

::M1:: 发现初起火灾，最先应当（{tag}）{{=报警并扑救 ~%50%先报告班组长 ~跑开}}

::M2:: 把火灾类别与灭火器配对（{tag}）。{{=电气火灾 -> 二氧化碳 =油类火灾 -> 泡沫 =木材火灾 -> 水 = -> 沙土}}

::M3:: 气瓶与明火的距离不小于多少米（{tag}）？{{#=10:0 =%50%10:2}}
"""


def _saved(page, action) -> None:
    with page.expect_response(lambda r: r.url.endswith("/answer") and r.request.method == "POST") as resp:
        action()
    assert resp.value.ok, resp.value.text()[:300]


def test_moodle_gift_import_and_matching_numerical_in_the_browser(page, browser, live_server, tmp_path):
    vp = page.viewport_name
    base = page.base
    accept_dialogs(page)
    errors = watch_server_errors(page)
    tag = f"{vp}-{secrets.token_hex(2)}"
    bank_name = f"E2E-Moodle导入-{tag}"
    title = f"E2E-Moodle题考试-{tag}"
    path = tmp_path / f"moodle-{tag}.txt"  # no .gift in the name: read as GIFT by its shape
    path.write_text(GIFT.format(tag=tag), encoding="utf-8")

    sign_in(page, "trainer")
    page.goto(base + "/quizzes/banks")
    page.fill("#name", bank_name)
    page.click("main form[method=post] button[type=submit]")
    page.wait_for_url(re.compile(r"/quizzes/banks/\d+$"))
    bank_id = int(page.url.rsplit("/", 1)[1])
    page.goto(f"{base}/quizzes/banks/{bank_id}/import")
    page.set_input_files("#file", str(path))
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(rf"/quizzes/banks/{bank_id}/import/\d+$"))
    preview = page.inner_text("main")
    assert "A (B 50%)" in preview, preview[:1500]  # Moodle's weight, shown before anything is saved
    assert "10 ± 2 (50%)" in preview and "默认/消防" in preview
    page.shot("01-preview")
    page.click("main form[action$='/commit'] button")
    page.wait_for_url(re.compile(rf"/quizzes/banks/{bank_id}$"))
    assert db_value(live_server, "SELECT count(*) FROM quiz_question WHERE bank_id = :b", b=bank_id) == 3

    page.goto(base + "/quizzes/exams/new")
    page.fill("#title", title)
    page.fill("#attempts_allowed", "1")
    page.fill("#pass_mark", "60")
    page.select_option("#show_answers", "after_submit")
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/quizzes/exams/\d+$"))
    exam_id = int(page.url.rsplit("/", 1)[1])
    page.select_option("#bank_id", label=bank_name)
    page.fill("#count", "3")
    page.click(f"main form[action$='/exams/{exam_id}/rules'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.click("main form[action$='/status']:has(input[name=status][value=published]) button")
    page.wait_for_load_state("networkidle")
    assert db_value(live_server, "SELECT status FROM exam WHERE id = :e", e=exam_id) == "published"

    lp = open_page(browser, live_server, vp, "test_moodle_import_journey", "learner")
    try:
        sign_in(lp, "learner")
        lp.goto(f"{base}/quizzes/exams/{exam_id}/start")
        lp.click("main form[method=post] button[type=submit]")
        lp.wait_for_url(re.compile(r"/quizzes/attempts/\d+$"))
        attempt_id = int(lp.url.rsplit("/", 1)[1])
        by_type = {s.get_attribute("data-type"): s for s in lp.locator("section.question").all()}
        assert set(by_type) == {"single_choice", "matching", "numerical"}
        # single choice: the 50 % option (its index in the stored order is 1)
        _saved(lp, lambda: by_type["single_choice"].locator("input[value='1']").check())
        # matching: item 0 (电气火灾) right, item 1 (油类火灾) wrong, item 2 (木材火灾) right
        match = by_type["matching"]
        wanted = {0: "二氧化碳", 1: "沙土", 2: "水"}
        for item, text in wanted.items():
            _saved(lp, lambda i=item, t=text: match.locator(f"select[data-item='{i}']").select_option(t))
        # numerical: within 2 of 10 → 50 %
        field = by_type["numerical"].locator("input[type=text]")
        _saved(lp, lambda: (field.fill("11.5"), field.dispatch_event("change")))
        lp.shot("02-taking")
        lp.reload()
        match = lp.locator("section.question[data-type=matching]")
        shown = {i: match.locator(f"select[data-item='{i}']").input_value() for i in wanted}
        assert shown == wanted, f"the page shows {shown} after a reload"
        saved = db_rows(
            live_server,
            "SELECT v.type, ans.answer FROM exam_attempt_question aq "
            "JOIN quiz_question_version v ON v.id = aq.question_version_id "
            "JOIN exam_attempt_answer ans ON ans.attempt_question_id = aq.id WHERE aq.attempt_id = :a",
            a=attempt_id,
        )
        answers = {r[0]: as_json(r[1]) for r in saved}
        assert answers["matching"] == ["二氧化碳", "沙土", "水"] and answers["numerical"] == "11.5"
        lp.click("#submit-form button[type=submit]")
        lp.wait_for_url(re.compile(rf"/quizzes/attempts/{attempt_id}/result$"))
        lp.shot("03-result")
    finally:
        lp.context.close()
    scores = db_rows(
        live_server,
        "SELECT v.type, ans.score, aq.points FROM exam_attempt_question aq "
        "JOIN quiz_question_version v ON v.id = aq.question_version_id "
        "JOIN exam_attempt_answer ans ON ans.attempt_question_id = aq.id WHERE aq.attempt_id = :a",
        a=attempt_id,
    )
    shares = {r[0]: float(r[1]) / float(r[2]) for r in scores}
    assert shares["single_choice"] == 0.5 and shares["numerical"] == 0.5, shares
    assert abs(shares["matching"] - 2 / 3) < 0.01, shares
    assert not errors, errors
