"""Journey 5: a regulator sees the enterprises assigned to them (DEMO, ZJHG) and is refused any other (OTHER),
even by typing its id into the address bar."""

from __future__ import annotations

import re

from tests.e2e.conftest import sign_in
from tests.e2e.helpers_ops import assert_fits, assert_page_ok, body_text, db_scalar, download, snap, xlsx_rows

ASSIGNED = {"DEMO": "华安化工有限公司", "ZJHG": "中骏化工有限公司"}
NOT_ASSIGNED = ("OTHER", "远航机械有限公司")


def _refused(page, url: str, what: str) -> None:
    resp = page.goto(url)
    assert resp is not None and resp.status == 404, (
        f"{what}: {url} answered {resp and resp.status}, expected 404"
    )
    text = body_text(page)
    assert "404" in text and "未找到" in text, f"{what}: not the 404 page: {text[:500]}"
    assert NOT_ASSIGNED[1] not in text and NOT_ASSIGNED[0] not in text, (
        f"{what}: the refusal names the enterprise"
    )


def test_regulator_journey(page, live_server):
    wide: list[str] = []
    sign_in(page, "regulator")
    assert "/training/regulator" in page.url, f"the regulator's home is not the overseen list: {page.url}"
    text = assert_page_ok(page, "enterprises overseen")
    for code, name in ASSIGNED.items():
        assert name in text and code in text, f"{code} ({name}) is assigned but not listed"
    assert NOT_ASSIGNED[1] not in text and NOT_ASSIGNED[0] not in text.split(), (
        "OTHER is listed to the regulator"
    )
    assert page.locator("svg, .chart").count() >= 1, "no coverage chart for the overseen enterprises"
    snap(page, "01-overseen", wide)

    # the overseen list as xlsx: the two assigned enterprises, not the other one
    _name, data = download(page, page.locator("a", has_text="xlsx").first)
    cells = {str(c) for row in xlsx_rows(data) for c in row if c is not None}
    assert {"DEMO", "ZJHG"} <= cells and "OTHER" not in cells, f"export of the overseen enterprises: {cells}"

    # each assigned enterprise opens with its figures
    ids = {}
    for code, name in ASSIGNED.items():
        page.goto(page.base + "/training/regulator")
        page.locator("table.data a", has_text=name).click()
        page.wait_for_load_state("networkidle")
        m = re.search(r"/training/regulator/(\d+)", page.url)
        assert m, page.url
        ids[code] = int(m.group(1))
        text = assert_page_ok(page, f"enterprise {code}")
        assert name in text and code in text and re.search(r"\d+%", text), f"{code} page shows no figures"
        snap(page, f"02-{code.lower()}", wide)

    # the named list of DEMO, when the enterprise shares names, stays inside DEMO
    page.goto(f"{page.base}/training/regulator/{ids['DEMO']}")
    named = page.locator("a", has_text="人员名单")
    if named.count():
        named.first.click()
        page.wait_for_load_state("networkidle")
        text = assert_page_ok(page, "DEMO named list")
        assert "ZH" not in " ".join(page.locator("table.data tbody td:first-child").all_inner_texts()), text[
            :300
        ]
        snap(page, "03-demo-list", wide)

    # change the id in the address bar to OTHER's: refused with the 404 page, as for an id that does not exist
    other_id = db_scalar(live_server, "SELECT id FROM enterprise WHERE code = :c", c=NOT_ASSIGNED[0])
    assert other_id and other_id not in ids.values()
    base = f"{page.base}/training/regulator"
    _refused(page, f"{base}/{other_id}", "OTHER's page")
    snap(page, "04-other-refused", wide)
    _refused(page, f"{base}/{other_id}/list", "OTHER's named list")
    _refused(page, f"{base}/{other_id}?format=xlsx", "OTHER's export")
    _refused(page, f"{base}/{other_id}/list?format=csv", "OTHER's named-list export")
    _refused(page, f"{base}/999999", "an id that does not exist")
    # the regulator is no member of any enterprise: the managers' pages are not theirs
    resp = page.goto(page.base + "/training/")
    assert resp is not None and resp.status in (403, 404), (
        f"the manager dashboard answered {resp and resp.status}"
    )
    assert NOT_ASSIGNED[1] not in body_text(page)
    assert_fits(page, wide)
