"""Journey 4: the safety manager applies the statutory presets, sees coverage, drills into a department,
exports the named list as xlsx, and prints one person's training archive as a PDF."""

from __future__ import annotations

import re

from tests.e2e.conftest import sign_in
from tests.e2e.helpers_ops import (
    assert_fits,
    assert_page_ok,
    download,
    fetch,
    flash_text,
    pdf_text,
    snap,
    xlsx_rows,
)

DEPARTMENT = "一车间"


def test_manager_journey(page):
    wide: list[str] = []
    sign_in(page, "manager")
    assert "/training" in page.url, f"the manager's home is not the coverage dashboard: {page.url}"
    assert_page_ok(page, "dashboard")
    snap(page, "01-dashboard", wide)

    # requirements: apply the statutory presets (idempotent: nothing is reset without "overwrite")
    page.goto(page.base + "/training/requirements")
    assert_page_ok(page, "requirements")
    page.locator("form[action$='/requirements/presets']:not(:has(input[name=overwrite])) button").click()
    page.wait_for_load_state("networkidle")
    message = flash_text(page)
    assert "已应用法定预设" in message, f"no confirmation after applying the presets: {message!r}"
    text = assert_page_ok(page, "requirements after presets")
    assert text.count("法定") >= 5, "the statutory requirements are not listed after applying the presets"
    for wanted in ("主要负责人", "安全生产管理人员", "特种作业"):
        assert wanted in text, f"no statutory requirement for {wanted}"
    snap(page, "02-presets-applied", wide)

    # coverage: totals, charts and the table by department
    page.goto(page.base + "/training/")
    text = assert_page_ok(page, "dashboard after presets")
    assert re.search(r"\d+%", text), "no coverage percentage on the dashboard"
    assert page.locator(".chart, svg").count() >= 2, "the dashboard shows no chart"
    dept_card = page.locator(".card", has_text="按部门统计覆盖率").first
    assert dept_card.count(), "no coverage-by-department table"
    link = dept_card.locator("table a", has_text=re.compile(rf"^{DEPARTMENT}$")).first
    assert link.count(), f"{DEPARTMENT} is not in the coverage-by-department table"
    snap(page, "03-coverage", wide)

    # drill into the department: the named list of people not compliant there
    link.click()
    page.wait_for_load_state("networkidle")
    assert "/training/list" in page.url and "department=" in page.url, page.url
    text = assert_page_ok(page, "named list of a department")
    rows = page.locator("table.data tbody tr")
    assert rows.count() >= 1 and "—" != rows.first.inner_text().strip(), (
        "the department's named list is empty"
    )
    depts = {r.strip() for r in page.locator("table.data tbody tr td:nth-child(3)").all_inner_texts()}
    assert depts and all(d == DEPARTMENT or d.startswith(DEPARTMENT + "/") for d in depts), (
        f"the drill-down into {DEPARTMENT} lists other departments: {depts}"
    )
    snap(page, "04-department-list", wide)

    # export the list as xlsx and open it
    name, data = download(page, page.locator(".actions a", has_text="xlsx").first)
    assert name.endswith(".xlsx"), name
    sheet = xlsx_rows(data)
    header_at = next(i for i, r in enumerate(sheet) if r and "部门" in [str(c) for c in r])
    body = [r for r in sheet[header_at + 1 :] if any(c is not None for c in r)]
    assert body, "the exported list is empty"
    col = [str(c) for c in sheet[header_at]].index("部门")
    assert all(str(r[col]).startswith(DEPARTMENT) for r in body), (
        "the export is not filtered to the department"
    )
    on_screen = page.locator("table.data tbody tr td:nth-child(2)").first.inner_text().strip()
    assert any(on_screen in [str(c) for c in r] for r in body), (
        f"{on_screen} is on screen but not in the export"
    )

    # one person's archive on screen and as a PDF
    person = page.locator("table.data tbody tr td:nth-child(2) a").first
    person_name = person.inner_text().strip()
    person.click()
    page.wait_for_load_state("networkidle")
    assert re.search(r"/training/people/\d+$", page.url), page.url
    text = assert_page_ok(page, "archive")
    assert person_name in text and "安全生产教育和培训档案" in text
    snap(page, "05-archive", wide)
    href = page.locator(".actions a", has_text="PDF").first.get_attribute("href")
    status, headers, pdf = fetch(page, href)
    assert status == 200 and headers.get("content-type", "").startswith("application/pdf"), (status, headers)
    text = pdf_text(pdf)
    assert person_name in text, f"the archive PDF does not name {person_name}: {text[:300]!r}"
    assert "培训" in text, f"the archive PDF has no Chinese heading: {text[:300]!r}"
    assert_fits(page, wide)
