"""Journey: a permit issuer (the manager) checks three people for 受限空间 work on a phone and on a desktop: one
qualified, one whose yearly retraining is overdue, one whose confined-space certificate has lapsed; sees why
each is or is not qualified and what would fix it, and saves a permit for the qualified one; its PDF names them
and carries the live re-check link; the live page re-checks them now."""

from __future__ import annotations

import re

from tests.e2e.conftest import sign_in
from tests.e2e.helpers import as_json, db_rows, db_value
from tests.e2e.helpers_ops import assert_fits, assert_page_ok, fetch, flash_text, pdf_text, snap


def _people(live_server):
    """The demo's three people: its approved permit's worker, and the two on its refused permit by reason."""
    refused = db_value(
        live_server,
        "SELECT id FROM permit WHERE status = 'refused' AND work_name = '受限空间作业' ORDER BY id LIMIT 1",
    )
    assert refused, "the demo saved no refused 受限空间 permit"
    found = {}
    for no, reasons in db_rows(
        live_server,
        "SELECT employee_no, reasons FROM permit_person WHERE permit_id = :p ORDER BY id",
        p=refused,
    ):
        codes = [r["code"] for r in as_json(reasons) or []]
        if any(c.startswith("requirement_") for c in codes):
            found["overdue"] = no
        elif "certificate_expired" in codes:
            found["lapsed"] = no
    found["qualified"] = db_value(
        live_server,
        "SELECT pp.employee_no FROM permit_person pp JOIN permit p ON p.id = pp.permit_id "
        "WHERE p.status = 'approved' AND p.work_name = '受限空间作业' AND pp.role = '作业人员' ORDER BY p.id LIMIT 1",
    )
    assert set(found) == {"overdue", "lapsed", "qualified"}, found
    return found


def _card(page, no):
    return page.locator(f"li.permit-person[data-employee-no='{no}']")


def test_permit_journey(page, live_server):
    wide: list[str] = []
    who = _people(live_server)
    sign_in(page, "manager")
    page.goto(page.base + "/permits/check")
    assert_page_ok(page, "check page")
    snap(page, "01-check-empty", wide)
    page.select_option("select[name=work]", label="受限空间作业")
    for key in ("qualified", "overdue", "lapsed"):
        page.fill("input[name=add]", who[key])
        page.select_option("select[name=role]", label="作业人员")
        page.locator("#check-form button[type=submit]").click()
        page.wait_for_load_state("networkidle")
        assert_page_ok(page, f"check after adding {who[key]}")
        assert _card(page, who[key]).count() == 1, f"{who[key]} was not added: {page.url}"
    text = assert_page_ok(page, "three people checked")
    assert "共检查 3 人：1 人合格，2 人不合格" in text, text[:1500]
    ok, late, lapsed = (_card(page, who[k]) for k in ("qualified", "overdue", "lapsed"))
    assert "合格" in ok.inner_text() and "不合格" not in ok.inner_text()
    late_text = late.inner_text()
    assert "不合格" in late_text and "逾期" in late_text and "完成“" in late_text, late_text
    lapsed_text = lapsed.inner_text()
    assert (
        "不合格" in lapsed_text and "受限空间作业安全培训合格证" in lapsed_text and "过期" in lapsed_text
    ), lapsed_text
    assert "重新参加" in lapsed_text, lapsed_text  # what would make them qualified
    assert page.locator("button[value=approved]").count() == 0  # nobody may approve this crew
    snap(page, "02-three-checked", wide)

    # take the two who are not qualified off, then approve and save for the qualified one
    for key in ("overdue", "lapsed"):
        _card(page, who[key]).locator("a.permit-remove").click()
        page.wait_for_load_state("networkidle")
    assert page.locator("li.permit-person").count() == 1
    page.fill("input[name=place]", f"二车间 T-201 储罐 {page.viewport_name}")
    snap(page, "03-ready-to-save", wide)
    page.locator("button[value=approved]").click()
    page.wait_for_load_state("networkidle")
    assert re.search(r"/permits/\d+$", page.url), f"not saved: {page.url} {flash_text(page)}"
    text = assert_page_ok(page, "saved permit")
    assert "已保存：批准" in flash_text(page), flash_text(page)
    assert who["qualified"] in text and "批准" in text
    snap(page, "04-permit", wide)
    permit_id = int(page.url.rsplit("/", 1)[1])
    rows = db_rows(live_server, "SELECT status, place FROM permit WHERE id = :i", i=permit_id)
    assert rows[0][0] == "approved" and page.viewport_name in rows[0][1]
    assert [
        r[0]
        for r in db_rows(
            live_server, "SELECT employee_no FROM permit_person WHERE permit_id = :i", i=permit_id
        )
    ] == [who["qualified"]]

    # the PDF to print names the person and the work; the live page re-checks now
    status, headers, data = fetch(page, f"/permits/{permit_id}/pdf")
    assert status == 200 and headers["content-type"].startswith("application/pdf")
    pdf = pdf_text(data)
    assert "受限空间作业" in pdf and who["qualified"] in pdf and "批准" in pdf, pdf[:500]
    page.goto(page.base + f"/permits/{permit_id}/live")
    text = assert_page_ok(page, "live re-check")
    assert "今日全部人员资格合格" in text, text[:800]
    snap(page, "05-live", wide)
    page.goto(page.base + "/permits/")
    text = assert_page_ok(page, "register")
    assert f"No.{permit_id}" in text
    snap(page, "06-register", wide)
    page.goto(page.base + "/permits/works")
    assert_page_ok(page, "works")
    snap(page, "07-works", wide)
    assert_fits(page, wide)


def test_a_learner_cannot_check(page, live_server):
    sign_in(page, "learner")
    resp = page.goto(page.base + "/permits/check")
    assert resp.status == 403
