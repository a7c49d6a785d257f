"""Journey: a team leader (班组长 姜杰) runs a toolbox talk (班前会) from his phone in two taps; two workers scan the
QR code with their phones (one must sign in first and is brought back to the check-in) and check in; the leader's
screen lists them without a reload and shows the code changing; a second scan checks nobody in twice; the
leader closes check-in. Everything on phones (390x844). The QR code's URL is read from the page's data attribute,
the way a phone's camera reads it from the code: the token is never made up here."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.e2e.helpers import accept_dialogs, db_rows, open_page, watch_server_errors
from tests.e2e.helpers_ops import assert_fits, assert_page_ok, snap

JOURNEY = "test_checkin_journey"


def _code_path(leader) -> str:
    """The path of the code now on the leader's screen (the live server's public URL may name another host)."""
    url = leader.locator("#qr").get_attribute("data-checkin-url")
    assert url and url.startswith("http"), f"the QR code carries no absolute URL: {url!r}"
    path = urlsplit(url).path
    assert re.fullmatch(r"/offline/c/\d+/\d+\.\d+\.[A-Za-z0-9_-]{20}", path), path
    return path


def _check_in(who_page, path: str, *, sign_in_first: str | None = None, wide: list[str]) -> None:
    who_page.goto(who_page.base + path)
    if sign_in_first:
        # not signed in: the sign-in page, which brings the phone back to the check-in
        assert "/login" in who_page.url, f"the code did not ask to sign in: {who_page.url}"
        who_page.fill("input[name=login]", sign_in_first)
        who_page.fill("input[name=password]", "demo-2026")
        who_page.click("button[type=submit]")
        who_page.wait_for_load_state("networkidle")
    assert "/confirm" in who_page.url, (
        f"not on the confirm page: {who_page.url}\n{who_page.inner_text('body')[:500]}"
    )
    assert_page_ok(who_page, "check-in confirm")
    snap(who_page, "01-confirm", wide)
    who_page.click("#confirm-checkin")
    who_page.wait_for_load_state("networkidle")
    assert who_page.url.endswith("/done"), who_page.url
    text = assert_page_ok(who_page, "checked in")
    assert "已签到" in text
    snap(who_page, "02-done", wide)


def test_checkin_journey(browser, live_server):
    wide: list[str] = []
    leader = open_page(browser, live_server, "phone", JOURNEY, "leader")
    errors = watch_server_errors(leader)
    learner = worker = None
    try:
        # the team leader: 我的线下培训 (tap one) → 立即开始 10 分钟班前会 (tap two)
        leader.goto(leader.base + "/login")
        leader.fill("input[name=login]", "teamleader")
        leader.fill("input[name=password]", "demo-2026")
        leader.click("button[type=submit]")
        leader.wait_for_load_state("networkidle")
        leader.goto(leader.base + "/offline/mine")
        assert_page_ok(leader, "my classroom sessions")
        snap(leader, "01-mine", wide)
        leader.click("#quick-toolbox")
        leader.wait_for_load_state("networkidle")
        assert re.search(r"/offline/\d+/checkin$", leader.url), leader.url
        talk_id = int(leader.url.rsplit("/", 2)[1])
        text = assert_page_ok(leader, "check-in screen")
        assert "班前会" in text
        assert leader.locator("#qr svg").count() == 1
        snap(leader, "02-screen", wide)
        path = _code_path(leader)

        # the first worker scans before signing in; the sign-in brings him back to the check-in
        learner = open_page(browser, live_server, "phone", JOURNEY, "learner")
        errors += watch_server_errors(learner)
        _check_in(learner, path, sign_in_first="learner", wide=wide)

        # the second is signed in already; he scans the code on the screen now
        worker = open_page(browser, live_server, "phone", JOURNEY, "worker")
        errors += watch_server_errors(worker)
        worker.goto(worker.base + "/login")
        worker.fill("input[name=login]", "worker")
        worker.fill("input[name=password]", "demo-2026")
        worker.click("button[type=submit]")
        worker.wait_for_load_state("networkidle")
        _check_in(worker, _code_path(leader), wide=wide)

        # the leader's list fills by itself (no reload), and the code changes every 30 s
        first_step = leader.locator("#qr").get_attribute("data-step")
        # (locator assertions poll without eval: the pages' CSP allows no string evaluation)
        expect(leader.locator("#count-in")).to_have_text("2", timeout=20_000)
        names = leader.locator("#live-list").inner_text()
        assert "唐军杰" in names and "曹杰磊" in names, names
        expect(leader.locator("#qr")).not_to_have_attribute("data-step", first_step, timeout=40_000)
        assert _code_path(leader) != path
        assert leader.locator("#qr svg").count() == 1
        snap(leader, "03-live-list", wide)

        # the safety trainer follows the same talk on a desktop: the session page links to the live screen
        trainer = open_page(browser, live_server, "desktop", JOURNEY, "trainer")
        try:
            errors += watch_server_errors(trainer)
            trainer.goto(trainer.base + "/login")
            trainer.fill("input[name=login]", "trainer")
            trainer.fill("input[name=password]", "demo-2026")
            trainer.click("button[type=submit]")
            trainer.wait_for_load_state("networkidle")
            trainer.goto(trainer.base + f"/offline/{talk_id}")
            assert_page_ok(trainer, "session page")
            trainer.click(f"a[href='/offline/{talk_id}/checkin']")
            trainer.wait_for_load_state("networkidle")
            expect(trainer.locator("#count-in")).to_have_text("2")
            trainer.shot("01-screen")
        finally:
            trainer.context.close()

        # scanning again (a replay of the check-in) checks nobody in twice
        learner.goto(learner.base + _code_path(leader))
        assert "/confirm" in learner.url
        assert learner.locator("#confirm-checkin").count() == 0, "a second check-in was offered"
        assert "您已于" in learner.inner_text("body")

        rows = db_rows(
            live_server,
            "SELECT p.employee_no FROM offline_check_in c JOIN person p ON p.id = c.person_id "
            "WHERE c.session_id = :sid ORDER BY p.employee_no",
            sid=talk_id,
        )
        assert [r[0] for r in rows] == ["GA1010", "GA1031"]
        records = db_rows(
            live_server,
            "SELECT person_id FROM training_record WHERE source = :src AND voided_at IS NULL",
            src=f"offline_session:{talk_id}",
        )
        assert len(records) == 2

        # the leader closes check-in; a code scanned now is refused with a reason
        accept_dialogs(leader)
        path = _code_path(leader)
        leader.locator("form[action$='/checkin/close'] button[type=submit]").click()
        leader.wait_for_load_state("networkidle")
        assert leader.locator("#qr").count() == 0
        assert "签到已于" in leader.inner_text("body")
        worker.goto(worker.base + path)
        assert "签到未成功" in worker.inner_text("body") and "关闭" in worker.inner_text("body")
        snap(worker, "03-refused", wide)
        leader.goto(leader.base + "/offline/toolbox")
        text = assert_page_ok(leader, "toolbox talks")
        assert "班前安全讲话" in text and leader.locator("#start-toolbox").count() == 1
        snap(leader, "04-toolbox", wide)
        assert not errors, errors
        assert_fits(leader, wide)
    finally:
        for pg in (leader, learner, worker):
            if pg is not None:
                pg.context.close()
