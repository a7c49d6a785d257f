"""Journey: the regulator ranks the enterprises by risk, sees DEMO's training coverage and its hazards in DEMO's
risk coefficient factor by factor, lists DEMO for supervision (the manager sees it on their page) and lifts it;
ZJHG (listed by the demo) stands out; OTHER stays out of reach."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
import uuid

from tests.e2e.conftest import sign_in
from tests.e2e.helpers_ops import (
    assert_fits,
    assert_page_ok,
    body_text,
    db_scalar,
    download,
    snap,
    switch_user,
    xlsx_rows,
)

# A major hazard, reported and assigned in the past with a deadline already passed, through lms.hazards' own
# services, in the live server's database (the journey's setup; the regulator's pages then read it).
ADD_HAZARD = """
import datetime as dt, sys
from sqlalchemy import select
from lms.app import create_app
from lms.core.db import db, utcnow
from lms.hazards import services
from lms.hazards.models import HazardArea
from lms.org.models import Enterprise, Person, User
app = create_app()
with app.app_context():
    ent = db.session.scalar(select(Enterprise).where(Enterprise.code == "DEMO"))
    manager = db.session.scalar(select(User).where(User.username == "manager"))
    worker = db.session.scalar(select(User).where(User.username == "learner"))
    person = db.session.get(Person, manager.person_id)
    now = utcnow()
    hz = services.report(ent.id, worker, description=sys.argv[1], place="储罐区东侧", now=now - dt.timedelta(days=6))
    services.assign(hz, manager, grade="major", department_id=person.department_id, assignee_id=person.id,
                    deadline=now - dt.timedelta(days=1), now=now - dt.timedelta(days=5))
    db.session.commit()
"""


def _menu(page, label: str) -> None:
    """Follow a menu entry (on a phone the menu folds behind its toggle)."""
    toggle = page.locator("label.nav-toggle-label")
    if toggle.count() and toggle.first.is_visible():
        toggle.first.click()
    page.locator("nav a", has_text=label).first.click()
    page.wait_for_load_state("networkidle")


def _factor(page, key: str) -> str:
    return page.locator(f'tr[data-factor="{key}"] td[data-value]').inner_text().strip()


def _contribution(page, key: str) -> float:
    return float(page.locator(f'tr[data-factor="{key}"] td[data-contribution]').inner_text().strip())


def test_risk_journey(page, live_server):
    wide: list[str] = []
    ids = {
        code: db_scalar(live_server, "SELECT id FROM enterprise WHERE code = :c", c=code)
        for code in ("DEMO", "ZJHG", "OTHER")
    }
    sign_in(page, "regulator")
    _menu(page, "风险研判")
    assert page.url.rstrip("/").endswith("/oversight"), page.url
    text = assert_page_ok(page, "risk ranking")
    cards = page.locator("li[data-enterprise]")
    codes = [cards.nth(i).get_attribute("data-enterprise") for i in range(cards.count())]
    assert sorted(codes) == ["DEMO", "ZJHG"], codes  # OTHER is not the regulator's
    scores = [float(x) for x in page.locator("li[data-enterprise] [data-figure=risk]").all_inner_texts()]
    assert scores == sorted(scores, reverse=True), f"not sorted by risk: {scores}"
    zjhg = page.locator('li[data-enterprise="ZJHG"]')
    assert zjhg.locator("[data-listed]").count() == 1, "ZJHG is listed by the demo and must stand out"
    assert "远航机械" not in text
    snap(page, "01-ranking", wide)

    # the filters: by region
    page.select_option("#region", "滨江区")
    page.locator("form.toolbar button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert [x.get_attribute("data-enterprise") for x in page.locator("li[data-enterprise]").all()] == ["ZJHG"]
    _name, data = download(page, page.locator("a", has_text="xlsx").first)
    cells = {str(c) for row in xlsx_rows(data) for c in row if c is not None}
    assert "ZJHG" in cells and "DEMO" not in cells and "OTHER" not in cells

    # DEMO's coverage in its score is the coverage page's figure
    page.goto(f"{page.base}/training/regulator/{ids['DEMO']}")
    coverage = page.locator("[data-figure=coverage]").inner_text().strip()
    page.goto(f"{page.base}/oversight/{ids['DEMO']}")
    assert_page_ok(page, "DEMO risk")
    assert _factor(page, "coverage").split()[0] == coverage, (_factor(page, "coverage"), coverage)
    majors_before = int(_factor(page, "major_overdue"))
    total_before = float(page.locator("[data-figure=risk]").first.inner_text())
    assert page.locator("svg rect[data-month]").count() >= 2, "no monthly history for DEMO"

    # a major hazard goes overdue in DEMO: the regulator sees it in DEMO's score
    what = f"可燃气体报警器失效-{page.viewport_name}-{uuid.uuid4().hex[:6]}"
    subprocess.run(
        [sys.executable, "-c", ADD_HAZARD, what], env=live_server["env"], check=True, capture_output=True
    )
    page.reload()
    page.wait_for_load_state("networkidle")
    assert int(_factor(page, "major_overdue")) == majors_before + 1
    assert _contribution(page, "major_overdue") > 0
    total_after = float(page.locator("[data-figure=risk]").first.inner_text())
    assert total_after >= total_before
    contributions = [float(x) for x in page.locator("td[data-contribution]").all_inner_texts()]
    assert abs(sum(contributions) - total_after) < 0.6, (contributions, total_after)
    snap(page, "02-demo-risk", wide)

    # list DEMO with a reason and a local deadline (a previous viewport's listing is lifted first)
    if page.locator("[data-listing=open]").count():
        page.fill("textarea[name=note]", "上一轮复查合格")
        page.locator("button", has_text="摘牌").click()
        page.wait_for_load_state("networkidle")
    reason = f"重大隐患逾期未整改-{uuid.uuid4().hex[:6]}"
    deadline = (dt.date.today() + dt.timedelta(days=20)).isoformat()
    page.fill("textarea[name=reason]", reason)
    page.fill("input[name=deadline]", f"{deadline}T17:00")
    page.locator("button", has_text="挂牌督查").last.click()
    page.wait_for_load_state("networkidle")
    text = assert_page_ok(page, "DEMO listed")
    assert page.locator("[data-listing=open]").count() == 1 and reason in text and f"{deadline} 17:00" in text
    snap(page, "03-demo-listed", wide)
    page.goto(page.base + "/oversight/")
    assert page.locator('li[data-enterprise="DEMO"] [data-listed]').count() == 1

    # the enterprise's manager sees it from their menu
    switch_user(page, "manager")
    _menu(page, "挂牌督查")
    text = assert_page_ok(page, "manager's listed supervision")
    assert reason in text and f"{deadline} 17:00" in text and page.locator("[data-listing=open]").count() == 1
    snap(page, "04-manager-banner", wide)
    for url in ("/oversight/", f"/oversight/{ids['DEMO']}", "/oversight/weights"):
        resp = page.goto(page.base + url)
        assert resp is not None and resp.status == 403, f"the manager reached {url}"

    # the regulator lifts it with a note; the manager's banner goes
    switch_user(page, "regulator")
    page.goto(f"{page.base}/oversight/{ids['DEMO']}")
    note = f"复查合格-{uuid.uuid4().hex[:6]}"
    page.fill("textarea[name=note]", note)
    page.locator("button", has_text="摘牌").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-listing=open]").count() == 0 and note in body_text(page)
    switch_user(page, "manager")
    page.goto(page.base + "/oversight/supervision")
    text = body_text(page)
    assert page.locator("[data-listing=none]").count() == 1 and note in text and reason in text

    # OTHER is out of reach: its page, a listing posted with a valid form token, and its lifting
    switch_user(page, "regulator")
    page.goto(f"{page.base}/oversight/{ids['ZJHG']}")
    snap(page, "05-zjhg-listed", wide)
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    resp = page.goto(f"{page.base}/oversight/{ids['OTHER']}")
    assert resp is not None and resp.status == 404 and "远航机械" not in body_text(page)
    posted = page.context.request.post(
        f"{page.base}/oversight/{ids['OTHER']}/list",
        form={"csrf_token": token, "reason": "越权", "deadline": f"{deadline}T17:00"},
        max_redirects=0,
    )
    assert posted.status == 404, posted.status
    assert not db_scalar(
        live_server, "SELECT count(*) FROM oversight_listing WHERE enterprise_id = :e", e=ids["OTHER"]
    )
    page.goto(page.base + "/oversight/weights")
    assert_page_ok(page, "weights")
    assert re.search(r"权重", body_text(page))
    snap(page, "06-weights", wide)
    if page.viewport_name == "desktop":  # the pages on a common laptop screen as well
        page.set_viewport_size({"width": 1366, "height": 900})
        for name, url in (
            ("07-ranking-1366", "/oversight/"),
            ("08-demo-risk-1366", f"/oversight/{ids['DEMO']}"),
        ):
            page.goto(page.base + url)
            assert_page_ok(page, name)
            snap(page, name, wide)
    assert_fits(page, wide)
