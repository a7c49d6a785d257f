"""Hazard journey (issue 22), on a phone (390x844): a worker reports a hazard with a photo, the safety manager
grades and assigns it to the team leader of the department, the team leader rectifies with a photo, and the
manager (someone other than the rectifier) verifies and closes it. Each page must fit the screen."""

from __future__ import annotations

import datetime as dt
import io
import uuid

from PIL import Image, ImageDraw

from lms.core.timeutil import to_local
from tests.e2e.conftest import sign_in
from tests.e2e.helpers import open_page, watch_server_errors
from tests.e2e.helpers_ops import assert_fits, assert_page_ok, db_scalar, flash_text, snap

JOURNEY = "test_hazard_journey"


def _jpeg(color: tuple[int, int, int]) -> bytes:
    img = Image.new("RGB", (1200, 900), color)
    ImageDraw.Draw(img).rectangle((300, 200, 900, 700), fill=(240, 200, 40))
    buf = io.BytesIO()
    img.save(buf, "JPEG")
    return buf.getvalue()


def _person(browser, live_server, who: str):
    """``who``'s phone: a browser context of its own, signed in, collecting the server errors it meets."""
    pg = open_page(browser, live_server, "phone", JOURNEY, who)
    pg.errors = watch_server_errors(pg)
    sign_in(pg, who)
    assert "/login" not in pg.url, f"sign-in as {who} failed: {flash_text(pg)} {pg.inner_text('body')[:300]}"
    return pg


def test_hazard_journey(browser, live_server):
    wide: list[str] = []
    mark = uuid.uuid4().hex[:6]
    text = f"冲床旁地面油污未清理，易滑倒 {mark}"

    # 1. the worker reports it from the phone, with a photo from the camera
    worker = _person(browser, live_server, "worker")
    worker.goto(worker.base + "/hazards/report")
    assert_page_ok(worker, "report form")
    photo_input = worker.locator("input[type=file][name=photos]")
    assert (
        photo_input.get_attribute("capture") == "environment"
        and photo_input.get_attribute("accept") == "image/*"
    )
    snap(worker, "report-form", wide)
    photo_input.set_input_files(
        [{"name": "IMG_2041.JPG", "mimeType": "image/jpeg", "buffer": _jpeg((90, 90, 90))}]
    )
    worker.select_option("select[name=area_id]", label="一车间")
    worker.fill("input[name=place]", "2 号冲床旁")
    worker.select_option("select[name=category_id]", label="作业环境")
    worker.fill("textarea[name=description]", text)
    worker.click("button[type=submit].hz-big")
    worker.wait_for_load_state("networkidle")
    assert "已上报" in flash_text(worker), flash_text(worker)
    assert_page_ok(worker, "reported hazard")
    snap(worker, "reported", wide)
    hazard_id = db_scalar(live_server, "SELECT id FROM hazard WHERE description = :d", d=text)
    assert hazard_id, "the report was not stored"
    assert worker.locator(".hz-photos img").count() == 1

    # 2. the safety manager grades it and assigns it to the team leader with a local deadline
    manager = _person(browser, live_server, "manager")
    manager.goto(manager.base + "/hazards/")
    assert_page_ok(manager, "hazard overview")
    snap(manager, "overview", wide)
    manager.locator(".hz-card", has_text=mark).first.click()
    manager.wait_for_load_state("networkidle")
    assert f"/hazards/{hazard_id}" in manager.url
    leader_person = db_scalar(live_server, "SELECT person_id FROM user_account WHERE username = 'teamleader'")
    leader_dept = db_scalar(live_server, "SELECT department_id FROM person WHERE id = :p", p=leader_person)
    manager.select_option("select[name=a-grade]", value="general")
    manager.select_option("select[name=a-department_id]", value=str(leader_dept))
    manager.select_option("select[name=a-assignee_id]", value=str(leader_person))
    deadline_local = (
        to_local(dt.datetime.now(dt.UTC).replace(tzinfo=None), "Asia/Shanghai") + dt.timedelta(days=3)
    ).replace(hour=17, minute=30, second=0, microsecond=0)
    manager.fill("input[name=a-deadline]", deadline_local.strftime("%Y-%m-%dT%H:%M"))
    manager.fill("textarea[name=a-note]", "今天下班前清理并铺设防滑垫")
    snap(manager, "assign", wide)
    manager.locator("#assign button[type=submit]").last.click()
    manager.wait_for_load_state("networkidle")
    assert "已评估并指派" in flash_text(manager), flash_text(manager)
    stored = db_scalar(live_server, "SELECT deadline FROM hazard WHERE id = :i", i=hazard_id)
    stored = stored if isinstance(stored, dt.datetime) else dt.datetime.fromisoformat(str(stored))
    assert stored == deadline_local - dt.timedelta(hours=8), "the deadline is stored in UTC"
    assert deadline_local.strftime("%Y-%m-%d 17:30") in manager.inner_text("body")

    # 3. the team leader finds it under My hazards and rectifies it with a photo
    leader = _person(browser, live_server, "teamleader")
    leader.goto(leader.base + "/hazards/mine")
    assert_page_ok(leader, "my hazards")
    snap(leader, "mine", wide)
    leader.locator(".hz-card", has_text=mark).first.click()
    leader.wait_for_load_state("networkidle")
    leader.locator("input[name=r-photos]").set_input_files(
        [{"name": "after.jpg", "mimeType": "image/jpeg", "buffer": _jpeg((40, 150, 60))}]
    )
    leader.fill("textarea[name=r-note]", "已清理油污并铺设防滑垫")
    snap(leader, "rectify", wide)
    leader.locator("#rectify button[type=submit]").click()
    leader.wait_for_load_state("networkidle")
    assert "整改已提交" in flash_text(leader), flash_text(leader)
    assert leader.locator("#verify").count() == 0  # the rectifier cannot verify it

    # 4. the manager, who did not rectify it, verifies and closes it
    manager.goto(manager.base + f"/hazards/{hazard_id}")
    assert manager.locator(".hz-photos img").count() == 2
    manager.fill("textarea[name=v-note]", "现场复查合格")
    manager.locator("#verify button", has_text="验收通过").click()
    manager.wait_for_load_state("networkidle")
    assert "验收通过" in flash_text(manager), flash_text(manager)
    manager.locator("#close button[type=submit]").click()
    manager.wait_for_load_state("networkidle")
    assert "已销号" in flash_text(manager), flash_text(manager)
    body = assert_page_ok(manager, "closed hazard")
    snap(manager, "closed", wide)
    for step in ("上报", "评估并指派", "提交整改", "已验收", "已销号"):
        assert step in body, step
    assert db_scalar(live_server, "SELECT status FROM hazard WHERE id = :i", i=hazard_id) == "closed"
    assert db_scalar(live_server, "SELECT count(*) FROM hazard_event WHERE hazard_id = :i", i=hazard_id) == 5

    # 5. the manager's other pages, on the phone: board by state, department and area, list, monthly report,
    #    settings, a major hazard with its five items; none may scroll sideways
    major = db_scalar(live_server, "SELECT min(id) FROM hazard WHERE grade = 'major' AND status = 'assigned'")
    for name, path in (
        ("board", "/hazards/board"),
        ("board-department", "/hazards/board?by=department"),
        ("board-area", "/hazards/board?by=area"),
        ("list", "/hazards/list?open=1"),
        ("monthly", "/hazards/monthly"),
        ("settings", "/hazards/settings"),
        ("major", f"/hazards/{major}"),
    ):
        manager.goto(manager.base + path)
        assert_page_ok(manager, name)
        snap(manager, name, wide)
    assert "五落实" in manager.inner_text("body")

    for who, pg in (("worker", worker), ("manager", manager), ("teamleader", leader)):
        assert not pg.errors, f"{who}: server errors {pg.errors}"
        pg.context.close()
    assert_fits(None, wide)
