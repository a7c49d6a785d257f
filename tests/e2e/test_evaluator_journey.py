"""Journey 6: a demonstration-post campaign from start to published results.

The manager creates a campaign for the last quarter (a period that is over: results of a running one are only
provisional) on the preset demonstration-post scorecard with a few units and the evaluator,
hands it to the evaluators; the evaluator scores the manual indicators of every unit; the manager calculates and
publishes; the results show a ranking and radar charts, and the PDF report has Chinese text.
"""

from __future__ import annotations

import re

from lms.core.timeutil import today as local_today  # the enterprise's calendar day (Asia/Shanghai)
from tests.e2e.helpers_ops import (
    CJK,
    accept_confirms,
    assert_fits,
    assert_page_ok,
    download,
    flash_text,
    pdf_text,
    snap,
    switch_user,
    token,
)

PRESET = "安全示范岗评分表"
EVALUATOR_NAME = "罗文"
UNITS = 3


def _action(page, label: str, expected: str) -> None:
    page.locator("form[action$='/action'] button", has_text=label).click()
    page.wait_for_load_state("networkidle")
    assert_page_ok(page, f"campaign after {label}")
    flashes = flash_text(page)
    assert expected in flashes, f"{label}: {flashes!r}"
    assert "已完成：" not in flashes, f"{label}: {flashes!r}"  # "开始自评" once said "已完成：自评"


def test_evaluator_journey(page):
    wide: list[str] = []
    tok = token(page)
    name = f"示范岗评选 {tok}"
    accept_confirms(page)

    # the manager creates the campaign on the preset scorecard, with the evaluator
    switch_user(page, "manager")
    page.goto(page.base + "/culture/campaigns/new")
    assert_page_ok(page, "new campaign")
    page.fill("input[name=name]", name)
    today = local_today()
    quarter = (today.month - 1) // 3 + 1
    year, quarter = (today.year, quarter - 1) if quarter > 1 else (today.year - 1, 4)
    page.fill("input[name=year]", str(year))
    page.select_option("select[name=quarter]", str(quarter))
    options = page.locator("select[name=framework_id] option").all_inner_texts()
    preset = next((o for o in options if PRESET in o), None)
    assert preset, f"the demonstration-post preset is not offered: {options}"
    page.select_option("select[name=framework_id]", label=preset)
    page.select_option("select[name=unit_kind]", "department_post")
    evaluators = page.locator("select[name=evaluators] option").all_inner_texts()
    ev = next((o for o in evaluators if EVALUATOR_NAME in o), None)
    assert ev, f"the evaluator is not offered: {evaluators}"
    page.select_option("select[name=evaluators]", label=ev)
    snap(page, "01-new-campaign", wide)
    page.locator("main form:has(input[name=name]) button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert re.search(r"/culture/campaigns/\d+$", page.url), (
        f"campaign not created: {page.url} {flash_text(page)}"
    )
    campaign_url = page.url
    assert_page_ok(page, "draft campaign")

    # keep a few units: the first ones of the warehouse and workshops
    boxes = page.locator("input[type=checkbox][name=unit]")
    assert boxes.count() > UNITS, "fewer candidate units than expected"
    for i in range(boxes.count()):
        boxes.nth(i).set_checked(i < UNITS)
    ev_box = page.locator("label.check", has_text=EVALUATOR_NAME).locator("input[name=evaluator]")
    assert ev_box.is_checked(), "the evaluator chosen on creation is not assigned"
    page.locator("form[action$='/setup'] button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert_page_ok(page, "campaign setup saved")
    units = page.locator("section.card table.data tbody tr")
    assert units.count() == UNITS, f"{units.count()} units after keeping {UNITS}"
    labels = [
        u.strip() for u in page.locator("section.card table.data tbody tr td:first-child").all_inner_texts()
    ]
    snap(page, "02-draft", wide)
    _action(page, "开始自评", "自评已开始")
    _action(page, "提交评价人评审", "评审已开始")
    snap(page, "03-review", wide)

    # the evaluator scores the manual indicators of each unit
    switch_user(page, "evaluator")
    page.goto(page.base + "/culture/campaigns")
    assert_page_ok(page, "evaluator's campaigns")
    page.locator("a", has_text=name).first.click()
    page.wait_for_load_state("networkidle")
    assert page.url == campaign_url, page.url
    score_links = page.locator("a[href$='/score']")
    assert score_links.count() == UNITS, f"the evaluator can score {score_links.count()} of {UNITS} units"
    hrefs = [score_links.nth(i).get_attribute("href") for i in range(UNITS)]
    for n, href in enumerate(hrefs):
        page.goto(page.base + href)
        assert_page_ok(page, f"scoring unit {n + 1}")
        manual = page.locator("input[type=number][name^=value_][max]")
        assert manual.count() >= 3, "no manual indicators to score"
        for i in range(manual.count()):
            field = manual.nth(i)
            top = float(field.get_attribute("max") or 10)
            field.fill(str(top - (n + i) % 3))  # different units, different scores
        page.locator("textarea[name^=note_]").first.fill(f"现场检查 {tok}")
        if n == 0:
            snap(page, "04-scoring", wide)
        page.locator("button[name=then][value=submit]").click()
        page.wait_for_load_state("networkidle")
        assert_page_ok(page, f"unit {n + 1} scored")
        assert "评分已保存" in flash_text(page), flash_text(page)
    page.goto(campaign_url)
    reviewed = page.locator("section.card table.data tbody tr", has_text="已评审").count()
    assert reviewed == UNITS, f"{reviewed} of {UNITS} units marked reviewed"
    snap(page, "05-reviewed", wide)

    # the manager calculates and publishes
    switch_user(page, "manager")
    page.goto(campaign_url)
    _action(page, "计算得分", "得分已计算")
    scores = page.locator("section.card table.data tbody tr td:nth-child(5)").all_inner_texts()
    assert len(scores) == UNITS and all(re.search(r"\d", s) for s in scores), (
        f"scores after calculation: {scores}"
    )
    _action(page, "公示结果", "结果已公示")
    snap(page, "06-published", wide)

    # results: a ranking and one radar chart per unit
    # (the link's label is the catalogue's "Results"; it reads 成绩 where quizzes' catalogue wins the merge)
    page.locator("main a[href$='/results']").first.click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/results"), page.url
    text = assert_page_ok(page, "results")
    ranks = [r.strip() for r in page.locator("table.data tbody tr td:first-child").all_inner_texts()]
    assert ranks == [str(i) for i in range(1, UNITS + 1)], f"the ranking is not 1..{UNITS}: {ranks}"
    for label in labels:
        assert label in text, f"{label} missing from the results"
    radars = page.locator("figure.chart.radar svg")
    assert radars.count() == UNITS, f"{radars.count()} radar charts for {UNITS} units"
    assert page.locator("figure.chart.radar polygon.radar-area").count() == UNITS
    snap(page, "07-results", wide)

    # one unit's detail: each indicator's contribution and its radar
    first = page.locator("table.data tbody tr td:nth-child(2) a").first
    first_label = first.inner_text().strip()
    first.click()
    page.wait_for_load_state("networkidle")
    assert re.search(r"/units/\d+$", page.url), page.url
    text = assert_page_ok(page, "unit result")
    assert first_label in text, f"the unit page does not name {first_label}"
    assert page.locator("figure.chart.radar svg").count() >= 1, "no radar chart on the unit's result page"
    snap(page, "08-unit-result", wide)
    page.go_back()

    # the PDF report opens with Chinese text
    filename, pdf = download(page, page.locator("a[href$='/report.pdf']").first)
    assert filename.endswith(".pdf"), filename
    text = pdf_text(pdf)
    assert len(CJK.findall(text)) > 30, f"the PDF report has no Chinese text: {text[:300]!r}"
    assert labels[0].split("·")[0] in text, (
        f"the PDF report does not name the unit {labels[0]}: {text[:500]!r}"
    )
    assert_fits(page, wide)
