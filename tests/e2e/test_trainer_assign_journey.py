"""Journey: a trainer assigns a course to two named people found by search, sees who is assigned and removes
one; then builds a fixed exam by searching the bank, previews it as a learner sees it (no key) and publishes it.

Runs on the desktop and the phone viewport against the demo; each viewport uses its own people and exam.
"""

from __future__ import annotations

import re
import secrets

from tests.e2e.conftest import sign_in
from tests.e2e.helpers import accept_dialogs, db_rows, db_value, watch_server_errors

COURSE = "消防安全与应急疏散"
# viewport → (searched by 工号, searched by name): demo people of different departments
PEOPLE = {"desktop": (("GA1011", "林梅"), ("冯伟", "冯伟")), "phone": (("GA1012", "朱秀"), ("钟霞", "钟霞"))}


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert width <= 1, f"the page scrolls sideways by {width}px at {page.viewport_size}"


def _pick(page, query: str, name: str) -> None:
    """Type in the people search box and tick the person once the search has answered."""
    box = page.locator("[data-people-picker] input[type=search]")
    box.fill("")
    box.type(query, delay=20)
    row = page.locator(".picker-results label", has_text=name).first
    row.wait_for()
    row.locator("input[type=checkbox]").check()
    page.locator(".picker-chosen label", has_text=name).first.wait_for()  # moved to the chosen list


def test_trainer_assigns_a_course_to_two_named_people_and_builds_a_fixed_exam_by_search(page, live_server):
    vp = page.viewport_name
    errors = watch_server_errors(page)
    accept_dialogs(page)
    (q1, name1), (q2, name2) = PEOPLE[vp]
    course_id = db_value(live_server, "SELECT id FROM course WHERE title = :t", t=COURSE)
    assert course_id
    sign_in(page, "trainer")

    # --- assign the course to two named people
    page.goto(f"{page.base}/courses/{course_id}/assign")
    _no_sideways_scroll(page)
    _pick(page, q1, name1)
    _pick(page, q2, name2)
    page.fill("input[name=due_on]", "2030-06-30")
    page.shot("01-two-chosen")
    page.click("#assign-form button[name=go][value=preview]")
    page.wait_for_load_state("networkidle")
    preview = page.inner_text(".people-preview")
    assert name1 in preview and name2 in preview, preview
    page.shot("02-preview")
    page.click("#assign-form button[name=go][value=confirm]")
    page.wait_for_load_state("networkidle")
    assigned = page.inner_text("#assigned")
    assert name1 in assigned and name2 in assigned, assigned[:500]
    rows = db_rows(
        live_server,
        "SELECT p.name, e.source, e.due_on FROM course_enrolment e JOIN person p ON p.id = e.person_id "
        "WHERE e.course_id = :c AND p.name IN (:a, :b) ORDER BY p.name",
        c=course_id,
        a=name1,
        b=name2,
    )
    assert [(r[0], r[1]) for r in rows] == sorted([(name1, "assigned"), (name2, "assigned")]), rows
    assert all(str(r[2]).startswith("2030-06-30") for r in rows)
    _no_sideways_scroll(page)
    page.shot("03-assigned")

    # --- remove the second one
    page.locator(f"#assigned .assigned-item:has-text('{name2}') button").click()
    page.wait_for_load_state("networkidle")
    assert name2 not in page.inner_text("#assigned .assigned-list")
    assert name1 in page.inner_text("#assigned .assigned-list")
    page.shot("04-removed")

    # --- a fixed exam built by searching the bank
    title = f"有限空间专项测验-{vp}-{secrets.token_hex(2)}"
    page.goto(f"{page.base}/quizzes/exams/new")
    page.fill("input[name=title]", title)
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    exam_id = int(re.search(r"/exams/(\d+)", page.url).group(1))
    page.fill("#bq", "有限空间")
    page.select_option("#bt", "single_choice")
    page.click("#bank form[role=search] button[type=submit]")
    page.wait_for_load_state("networkidle")
    items = page.locator("#bank .bank-item")
    assert items.count() >= 2, page.inner_text("#bank")[:500]
    first = items.nth(0)
    first.locator("summary").click()  # the question's preview opens in place
    assert first.locator(".q-preview .stem").is_visible()
    page.shot("05-bank-search")
    _no_sideways_scroll(page)
    chosen_ids = []
    for i in range(2):
        box = items.nth(i).locator("input[name=question_ids]")
        box.check()
        chosen_ids.append(int(box.get_attribute("value")))
    page.click("#bank button:has-text('加入试卷')")
    page.wait_for_load_state("networkidle")
    fixed = db_rows(
        live_server,
        "SELECT question_id FROM exam_paper_rule WHERE exam_id = :e AND kind = 'fixed' ORDER BY position",
        e=exam_id,
    )
    assert [r[0] for r in fixed] == chosen_ids
    page.shot("06-paper")

    # --- the learner's view of the whole paper, then publish from it
    page.click("a:has-text('以学员身份预览')")
    page.wait_for_load_state("networkidle")
    assert page.locator(".paper-preview .question").count() == 2
    html = page.content()
    assert "正确答案" not in html and "解析" not in html
    _no_sideways_scroll(page)
    page.shot("07-learner-preview")
    page.click("main form button:has-text('发布')")
    page.wait_for_load_state("networkidle")
    assert db_value(live_server, "SELECT status FROM exam WHERE id = :e", e=exam_id) == "published"
    page.shot("08-published")
    assert not errors, errors
