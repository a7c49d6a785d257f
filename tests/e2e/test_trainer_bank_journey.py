"""Journey 2: a trainer imports a question bank from xlsx, builds a random paper, learners take it, and
the trainer reads the item statistics.

The xlsx is made here in the common Chinese layout (题型, 题干, 选项A–D, 答案, 解析, 难度, 分类, 分值). The paper
draws 4 单选 + 2 多选 + 2 判断 from the new bank only. Three demo accounts with the known password sit it
in their own browser contexts: ``learner`` answers everything right, ``evaluator`` half, ``manager``
nothing right, so the results show a spread, a pass rate, difficulties, discriminations and option
frequencies.
"""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from openpyxl import Workbook

from tests.e2e.conftest import sign_in
from tests.e2e.helpers import (
    Soft,
    accept_dialogs,
    answer,
    db_rows,
    db_value,
    open_page,
    watch_server_errors,
)

JOURNEY = "test_trainer_bank_journey"
HEADERS = ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "答案", "解析", "难度", "分类", "分值"]
# (type, stem, options, answer as written, explanation, difficulty, category, points)
QUESTIONS = [
    (
        "单选题",
        "动火作业前，可燃气体检测合格后超过多长时间未动火应重新检测？",
        ["10分钟", "30分钟", "2小时", "8小时"],
        "B",
        "超过30分钟应重新检测。",
        "中",
        "动火作业",
        2,
    ),
    (
        "单选题",
        "一级动火作业许可证的有效期一般不超过：",
        ["8小时", "24小时", "72小时", "一周"],
        "A",
        "",
        "难",
        "动火作业",
        2,
    ),
    (
        "单选题",
        "进入有限空间前，氧含量应在什么范围内？",
        ["15%~18%", "19.5%~23.5%", "25%~30%", "10%~15%"],
        "B",
        "",
        "易",
        "有限空间",
        2,
    ),
    (
        "单选题",
        "有限空间作业时，监护人员应当：",
        ["进入空间协助作业", "在外持续监护", "去取工具", "同时监护多处"],
        "B",
        "",
        "易",
        "有限空间",
        2,
    ),
    (
        "单选题",
        "手持电动工具应当安装：",
        ["漏电保护器", "稳压器", "变频器", "计时器"],
        "A",
        "",
        "易",
        "用电安全",
        2,
    ),
    ("单选题", "安全电压的上限值一般为：", ["110V", "220V", "36V", "380V"], "C", "", "中", "用电安全", 2),
    (
        "多选题",
        "动火作业“三不动火”包括：",
        ["没有动火证不动火", "防火措施不落实不动火", "监护人不在场不动火", "天气晴朗不动火"],
        "A、B、C",
        "",
        "中",
        "动火作业",
        4,
    ),
    (
        "多选题",
        "有限空间作业的主要危险有：",
        ["缺氧窒息", "中毒", "燃爆", "晒伤"],
        "ABC",
        "",
        "易",
        "有限空间",
        4,
    ),
    (
        "多选题",
        "下列属于电气防火措施的有：",
        ["合理选用导线", "不超负荷用电", "定期检查线路", "用铜丝代替保险丝"],
        "A,B,C",
        "",
        "难",
        "用电安全",
        4,
    ),
    ("判断题", "动火作业结束后，应检查现场，确认无火种后方可离开。", [], "正确", "", "易", "动火作业", 1),
    (
        "判断题",
        "有限空间作业可以用纯氧通风换气。",
        [],
        "错误",
        "纯氧通风会增加燃爆风险。",
        "中",
        "有限空间",
        1,
    ),
    ("判断题", "非电工可以自行拆装电气线路。", [], "×", "", "易", "用电安全", 1),
]
LETTERS = "ABCD"
PAPER = [("single_choice", 4), ("multiple_choice", 2), ("true_false", 2)]
TAKERS = [("learner", 1.0), ("evaluator", 0.5), ("manager", 0.0)]


def _make_bank(path: Path, tag: str) -> dict[str, tuple[str, object]]:
    """Write the bank; return the canonical key by stem as the page shows it (type, key)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "题库"
    ws.append(HEADERS)
    keys: dict[str, tuple[str, object]] = {}
    for qtype, stem, options, ans, expl, diff, cat, pts in QUESTIONS:
        stem = f"{stem}（{tag}）"
        opts = options + [None] * (4 - len(options))
        ws.append([qtype, stem, *opts, ans, expl or None, diff, cat, pts])
        letters = [c for c in ans if c in LETTERS]
        if qtype == "单选题":
            keys[stem] = ("single_choice", LETTERS.index(letters[0]))
        elif qtype == "多选题":
            keys[stem] = ("multiple_choice", sorted(LETTERS.index(c) for c in letters))
        else:
            keys[stem] = ("true_false", ans in ("正确", "对", "√"))
    wb.save(path)
    return keys


def _wrong(qtype: str, key: object, n_options: int) -> object:
    if qtype == "single_choice":
        return (int(key) + 1) % n_options
    if qtype == "multiple_choice":
        return [i for i in range(n_options) if i not in key][:1] or [0]
    return not key


def _take_exam(browser, live_server, vp: str, who: str, skill: float, title: str, keys: dict) -> int:
    """One person signs in, finds the exam under "my exams", answers, submits; return the attempt id."""
    lp = open_page(browser, live_server, vp, JOURNEY, who)
    try:
        sign_in(lp, who)
        lp.goto(lp.base + "/quizzes/")
        card = lp.locator("main section.card", has=lp.locator("h2", has_text=title))
        assert card.count() == 1, f"{who} does not see the published exam {title} under my exams"
        card.locator("a.button").first.click()
        lp.wait_for_url(re.compile(r"/quizzes/exams/\d+/start$"))
        lp.click("main form[method=post] button[type=submit]")
        lp.wait_for_url(re.compile(r"/quizzes/attempts/\d+$"))
        attempt_id = int(lp.url.rsplit("/", 1)[1])
        sections = lp.locator("section.question").all()
        assert len(sections) == sum(n for _t, n in PAPER), f"the paper has {len(sections)} questions"
        right_count = round(len(sections) * skill)
        for i, section in enumerate(sections):
            stem = section.locator(".stem").inner_text().strip()
            assert stem in keys, f"a question from outside the new bank was drawn: {stem}"
            qtype, key = keys[stem]
            assert section.get_attribute("data-type") == qtype
            n_options = section.locator("input[name]").count()
            value = key if i < right_count else _wrong(qtype, key, n_options)
            answer(lp, int(section.get_attribute("data-aq")), qtype, value)
        if who == "learner":
            lp.evaluate("window.scrollTo(0, 0)")
            lp.shot("01-taking")
        lp.click("#submit-form button[type=submit]")  # confirm() is accepted
        lp.wait_for_url(re.compile(rf"/quizzes/attempts/{attempt_id}/result$"))
        if who == "learner":
            lp.shot("02-result")
        return attempt_id
    finally:
        lp.context.close()


def test_trainer_bank_journey(page, browser, live_server, tmp_path):
    started = time.monotonic()
    vp = page.viewport_name
    base = page.base
    soft = Soft()
    accept_dialogs(page)
    errors = watch_server_errors(page)
    tag = f"{vp}-{secrets.token_hex(2)}"
    bank_name = f"E2E动火与有限空间题库-{tag}"
    title = f"E2E随机组卷考试-{tag}"
    xlsx = tmp_path / f"题库导入-{tag}.xlsx"
    keys = _make_bank(xlsx, tag)

    # -- a new bank, then the xlsx: preview first, nothing saved until the commit
    sign_in(page, "trainer")
    page.goto(base + "/quizzes/banks")
    page.fill("#name", bank_name)
    page.click("main form[method=post] button[type=submit]")
    page.wait_for_url(re.compile(r"/quizzes/banks/\d+$"))
    bank_id = int(page.url.rsplit("/", 1)[1])
    page.click(f"main a[href='/quizzes/banks/{bank_id}/import']")
    page.set_input_files("#file", str(xlsx))
    page.shot("01-import-upload")
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(rf"/quizzes/banks/{bank_id}/import/\d+$"))
    page.shot("02-import-preview")
    stats = [s.strip() for s in page.locator("main .stat .value").all_inner_texts()]
    assert stats[:4] == ["12", "0", "0", "0"], (
        f"preview counts (create, update, unchanged, problems): {stats}"
    )
    assert page.locator("main table.data tbody tr").count() == 12
    assert db_value(live_server, "SELECT count(*) FROM quiz_question WHERE bank_id = :b", b=bank_id) == 0, (
        "the preview saved questions"
    )
    page.click("main form[action$='/commit'] button")
    page.wait_for_url(re.compile(rf"/quizzes/banks/{bank_id}$"))
    assert page.locator("main table.data tbody tr").count() == 12
    assert db_value(live_server, "SELECT count(*) FROM quiz_question WHERE bank_id = :b", b=bank_id) == 12
    page.shot("03-bank")

    # -- an exam with a random paper drawn from the new bank
    page.goto(base + "/quizzes/exams/new")
    page.fill("#title", title)
    page.fill("#description", "随机抽题：单选4题、多选2题、判断2题。")
    page.fill("#time_limit_minutes", "20")
    page.fill("#attempts_allowed", "1")
    page.fill("#pass_mark", "60")
    page.select_option("#pass_mark_kind", "percent")
    page.select_option("#show_answers", "after_submit")
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/quizzes/exams/\d+$"))
    exam_id = int(page.url.rsplit("/", 1)[1])
    for qtype, count in PAPER:
        page.select_option("#bank_id", label=bank_name)
        page.select_option("#type", qtype)
        page.fill("#count", str(count))
        page.click(f"main form[action$='/exams/{exam_id}/rules'] button[type=submit]")
        page.wait_for_load_state("networkidle")
    rows = page.locator("main .paper-rules .paper-rule")
    assert rows.count() == len(PAPER), page.inner_text("main")[:1500]
    available = [int(rows.nth(i).get_attribute("data-available")) for i in range(rows.count())]
    assert available == [6, 3, 3], f"questions available per rule: {available}"
    assert not page.locator("main .flash-warning").count(), page.locator(
        "main .flash-warning"
    ).all_inner_texts()
    page.click("main form[action$='/status']:has(input[name=status][value=published]) button")
    page.wait_for_load_state("networkidle")
    assert db_value(live_server, "SELECT status FROM exam WHERE id = :e", e=exam_id) == "published"
    page.shot("04-paper-published")

    # -- three people sit it, each in their own browser
    attempts = {who: _take_exam(browser, live_server, vp, who, skill, title, keys) for who, skill in TAKERS}
    graded = db_rows(
        live_server,
        "SELECT a.id, a.status, a.score, a.max_score, a.passed FROM exam_attempt a WHERE a.exam_id = :e",
        e=exam_id,
    )
    assert len(graded) == 3 and all(r.status == "graded" for r in graded), graded
    by_id = {r.id: r for r in graded}
    assert (
        by_id[attempts["learner"]].passed
        and by_id[attempts["learner"]].score == by_id[attempts["learner"]].max_score
    )
    assert not by_id[attempts["manager"]].passed and by_id[attempts["manager"]].score == 0
    drawn = db_rows(
        live_server,
        "SELECT DISTINCT q.bank_id FROM exam_attempt_question aq "
        "JOIN quiz_question q ON q.id = aq.question_id "
        "JOIN exam_attempt a ON a.id = aq.attempt_id WHERE a.exam_id = :e",
        e=exam_id,
    )
    assert [r[0] for r in drawn] == [bank_id], f"questions drawn from banks {drawn}"

    # -- the trainer's results: summary, histogram, item statistics
    page.goto(f"{base}/quizzes/exams/{exam_id}/results")
    page.shot("05-results")
    values = [v.strip() for v in page.locator("main .grid .stat .value").all_inner_texts()]
    assert values[0] == "3" and values[1] == "3", f"people / attempts graded: {values}"
    assert values[2] == "33%" or values[2].startswith("33"), f"pass rate: {values[2]}"
    bars = page.locator("main figure.chart svg rect.chart-bar")
    assert bars.count() == 10, "the score histogram has not 10 bins"
    heights = [float(bars.nth(i).get_attribute("height")) for i in range(10)]
    assert heights[0] > 0 and heights[9] > 0, f"the histogram misses the 0% or the 100% attempt: {heights}"
    items = page.locator("main table.data").nth(0).locator("tbody tr")
    n_items = items.count()
    drawn_questions = db_value(
        live_server,
        "SELECT count(DISTINCT aq.question_id) FROM exam_attempt_question aq JOIN exam_attempt a "
        "ON a.id = aq.attempt_id WHERE a.exam_id = :e",
        e=exam_id,
    )
    assert n_items == drawn_questions, (
        f"{n_items} rows of item statistics for {drawn_questions} questions drawn"
    )
    text = page.inner_text("main table.data >> nth=0")
    assert re.search(r"\d+%", text), "no difficulty (share correct) in the item table"
    discriminations = [items.nth(i).locator("td").nth(4).inner_text().strip() for i in range(n_items)]
    soft.check(
        any(re.fullmatch(r"-?\d\.\d\d", d) for d in discriminations),
        f"[{vp}] /quizzes/exams/{exam_id}/results: no discrimination shown for any question: "
        f"{discriminations}",
    )
    option_cells = [items.nth(i).locator("td").nth(5).inner_text() for i in range(n_items)]
    assert any(re.search(r"A \d+%", c) for c in option_cells), f"no option frequencies: {option_cells[:3]}"
    assert any("√" in c for c in option_cells), "no true/false frequencies"
    assert items.locator("td .badge-passed").count() >= n_items, "the right options are not marked"
    soft.check(not errors, f"[{vp}] server errors during the journey: {errors}")
    elapsed = time.monotonic() - started
    soft.check(elapsed < 60, f"[{vp}] the journey took {elapsed:.0f}s")
    soft.done()
