"""Journey 3: a trainer schedules an offline session, prints its sign-in sheet, uploads the filled sheet,
resolves the unknown row in the browser, commits, sees the attendees; the same sheet again changes nothing."""

from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl

from lms.core.timeutil import today as local_today  # the enterprise's calendar day (Asia/Shanghai)
from tests.e2e.conftest import sign_in
from tests.e2e.helpers_ops import (
    CJK,
    assert_fits,
    assert_page_ok,
    download,
    flash_text,
    pdf_text,
    snap,
    token,
)

AUDIENCE = "仓储物流部"  # 28 people in the demo roster
WALK_IN = (
    "GA9914",
    "马文然",
    "一车间",
)  # wrong employee number; the name is one person (GA1014) outside the audience
PRESENT = 6  # rows of the prefilled sheet that sign in


def _filled_sheet(prefilled: bytes, day: dt.date, start: int) -> tuple[bytes, list[str]]:
    """Fill the prefilled sheet as a clerk would: some sign in, one signs twice, a walk-in with a wrong number."""
    wb = openpyxl.load_workbook(io.BytesIO(prefilled))
    ws = wb.worksheets[0]
    header_row = next(r for r in range(1, 10) if any(str(c.value or "").strip() == "工号" for c in ws[r]))
    cols = {str(c.value).strip(): c.column for c in ws[header_row] if c.value}
    rows = [r for r in range(header_row + 1, ws.max_row + 1) if ws.cell(r, cols["工号"]).value]
    assert len(rows) >= PRESENT + 2, f"prefilled sheet lists too few people: {len(rows)}"
    signed = []
    for i, r in enumerate(rows[:PRESENT]):
        ws.cell(r, cols["签到时间"]).value = f"{day:%Y-%m-%d} {start - 1:02d}:{50 + i:02d}"
        ws.cell(r, cols["签名"]).value = "已签"
        ws.cell(r, cols["考核成绩"]).value = 80 + i
        signed.append(str(ws.cell(r, cols["姓名"]).value))
    # the first person signed a second time (a duplicate row), then a walk-in nobody knows by that number
    last = ws.max_row + 1
    first = rows[0]
    for name in ("序号", "工号", "姓名", "部门", "岗位"):
        ws.cell(last, cols[name]).value = ws.cell(first, cols[name]).value
    ws.cell(last, cols["签到时间"]).value = f"{day:%Y-%m-%d} {start - 1:02d}:59"
    ws.cell(last, cols["签名"]).value = "已签"
    ws.cell(last, cols["考核成绩"]).value = 80
    emp, name, dept = WALK_IN
    for key, value in (
        ("序号", 99),
        ("工号", emp),
        ("姓名", name),
        ("部门", dept),
        ("签到时间", f"{day:%Y-%m-%d} {start:02d}:02"),
        ("签名", "已签"),
        ("考核成绩", 90),
    ):
        ws.cell(last + 1, cols[key]).value = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), signed


def _resolve_walk_in(page) -> None:
    """In the preview, pick the person for the unknown row and save the decision."""
    row = page.locator("tr", has_text=WALK_IN[0])
    select = row.locator("select")
    assert select.count() == 1, "the unknown row has no decision control in the preview"
    options = select.locator("option").all_inner_texts()
    pick = next((o for o in options if WALK_IN[1] in o), None)
    assert pick, f"the unknown row offers no candidate named {WALK_IN[1]}: {options}"
    select.select_option(label=pick.strip())
    page.locator("form[action$='/resolve'] button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert_page_ok(page, "preview after resolving")


def _upload(page, path: str) -> None:
    page.set_input_files("input[type=file][name=file]", path)
    page.locator("form[action$='/upload'] button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert "/uploads/" in page.url, f"upload did not reach the preview: {page.url} {flash_text(page)}"
    assert_page_ok(page, "preview")


def _stat(page, label: str) -> int:
    card = page.locator(".card.stat", has_text=label).first
    return int(card.locator(".value").inner_text().strip())


def _record(page) -> str:
    page.locator("form[action$='/commit'] button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert re.search(r"/offline/\d+$", page.url), f"commit stayed on {page.url}: {flash_text(page)}"
    assert_page_ok(page, "session after commit")
    return flash_text(page)


def test_offline_journey(page, tmp_path):
    wide: list[str] = []
    tok = token(page)
    topic = f"叉车安全操作培训 {tok}"
    day = local_today() - dt.timedelta(days=1)
    sign_in(page, "trainer")

    # the session list, then schedule a session for the warehouse
    page.goto(page.base + "/offline/")
    assert_page_ok(page, "session list")
    snap(page, "01-sessions", wide)
    page.goto(page.base + "/offline/new")
    assert_page_ok(page, "new session form")
    page.fill("input[name=topic]", topic)
    page.fill("input[name=category]", "特种设备")
    page.select_option("select[name=level]", "team")
    page.fill("input[name=instructor]", "张建国")
    # Desktop and phone may share one live server: their sessions are at different hours, since one person
    # attends one training at a time (the second import would rightly be refused as overlapping).
    start = 9 if page.viewport_name == "desktop" else 14
    page.fill("input[name=starts_at]", f"{day:%Y-%m-%d}T{start:02d}:00")
    page.fill("input[name=ends_at]", f"{day:%Y-%m-%d}T{start + 2:02d}:00")
    page.fill("input[name=location]", "仓库会议室")
    page.fill("input[name=hours]", "2")
    page.select_option("select[name=departments]", label=AUDIENCE)
    snap(page, "02-new-session", wide)
    page.locator("form:has(input[name=topic]) button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert re.search(r"/offline/\d+$", page.url), f"session not created: {page.url} {flash_text(page)}"
    session_url = page.url
    text = assert_page_ok(page, "session page")
    assert topic in text
    snap(page, "03-session", wide)

    # the sign-in sheets: prefilled xlsx with the audience, printable PDF with Chinese text
    name, xlsx = download(page, page.locator("a[href$='/signin.xlsx']"))
    assert name.endswith(".xlsx")
    sheet_text = " ".join(
        str(v)
        for row in openpyxl.load_workbook(io.BytesIO(xlsx)).worksheets[0].values
        for v in row
        if v is not None
    )
    assert topic in sheet_text and "冯伟" in sheet_text, sheet_text[:500]
    name, pdf = download(page, page.locator("a[href$='/signin.pdf']"))
    assert name.endswith(".pdf")
    text = pdf_text(pdf)
    assert "签到" in text and "冯伟" in text and len(CJK.findall(text)) > 50, (
        f"PDF text without Chinese: {text[:300]!r}"
    )

    # fill it in and upload: 6 present, one duplicate row, one walk-in with an unknown employee number
    data, signed = _filled_sheet(xlsx, day, start)
    sheet = tmp_path / f"签到表-{tok}.xlsx"
    sheet.write_bytes(data)
    _upload(page, str(sheet))
    assert _stat(page, "待处理") == 1, body_text_excerpt(page)
    assert _stat(page, "重复行") == 1, body_text_excerpt(page)
    snap(page, "04-preview", wide)
    _resolve_walk_in(page)
    assert _stat(page, "待处理") == 0, body_text_excerpt(page)
    snap(page, "05-resolved", wide)
    message = _record(page)
    assert re.search(rf"新增\s*{PRESENT + 1}\s*条", message), (
        f"expected {PRESENT + 1} records created: {message!r}"
    )
    snap(page, "06-attendees", wide)
    attendees = page.locator("section.card", has_text="参训人员").first.inner_text()
    for who in [*signed, WALK_IN[1]]:
        assert who in attendees, f"{who} missing from the attendees of {session_url}"
    attended = int(page.locator(".card.stat .value").first.inner_text())
    assert attended == PRESENT + 1, f"attendees stat {attended}, expected {PRESENT + 1}"

    # the same sheet again: the preview predicts nothing new, the commit changes nothing
    _upload(page, str(sheet))
    _resolve_walk_in(page)
    preview = page.inner_text("body")
    assert re.search(r"新增\s*0\s*条、更新\s*0\s*条", preview), (
        f"re-upload would change records: {preview[:800]}"
    )
    assert re.search(r"的\s*0\s*人的本场次记录将被作废", preview), (
        f"re-upload would void records: {preview[:800]}"
    )
    snap(page, "07-reupload-preview", wide)
    message = _record(page)
    assert re.search(rf"新增\s*0\s*条，更新\s*0\s*条，未变\s*{PRESENT + 1}\s*条，作废\s*0\s*条", message), (
        f"the same sheet again changed records: {message!r}"
    )
    attended_again = int(page.locator(".card.stat .value").first.inner_text())
    assert attended_again == attended, (
        f"attendees changed from {attended} to {attended_again} after the same sheet"
    )
    snap(page, "08-reupload-done", wide)
    assert_fits(page, wide)


def body_text_excerpt(page) -> str:
    return page.inner_text("body")[:1500]
