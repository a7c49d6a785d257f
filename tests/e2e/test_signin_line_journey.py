"""Journey (issue 20, the login storm): a worker signs in while a crowd is ahead of them in the line of sign-ins.

The sign-in page knows people are waiting and lets its script send the form: answered "your turn comes in about N
seconds" (503, X-Sign-In-Wait), the page shows the countdown in the worker's language, keeps the password in the
form, and when the crowd ahead is done it sends the form again by itself and opens the worker's home: nobody
retypes a password, nobody presses the button ten times. Outside a rush the page is a plain form.
"""

from __future__ import annotations

import time

from lms.core.slots import default_slots
from lms.org.signin import LINE_WINDOW
from tests.e2e.conftest import DEMO_PASSWORD
from tests.e2e.helpers import watch_server_errors


def test_a_worker_in_the_sign_in_line_waits_and_is_signed_in_by_the_page(page, live_server):
    errors = watch_server_errors(page)
    line = live_server["instance"] / "locks" / "signin.line"
    line.parent.mkdir(parents=True, exist_ok=True)
    window = LINE_WINDOW * default_slots()  # the live server's window (same machine, default slots)
    crowd = window + 3  # numbers given before the worker's: the window's and three more waiting
    try:
        page.goto(page.base + "/login")
        assert page.locator("form[data-line]").count() == 0  # no rush: a plain form
        # The crowd arrives (as the line's file holds it: numbers given, none done, one done a second).
        line.write_text(f"{crowd} 0 {time.time():.6f} 2.0 0.5 0.5")
        page.goto(page.base + "/login")
        assert page.locator("form[data-line]").count() == 1
        page.fill("input[name=login]", "worker")
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("button[type=submit]")
        status = page.locator("[data-line-status]")
        status.wait_for(state="visible")
        assert "正在排队" in status.inner_text() and "秒" in status.inner_text()
        assert page.locator("button[type=submit]").is_disabled()  # no second press while waiting
        assert page.input_value("input[name=password]") == DEMO_PASSWORD  # kept for the next try
        page.shot("waiting")
        assert "/login" in page.url
        # The crowd ahead is done: the worker's number (crowd) is next.
        line.write_text(f"{crowd + 1} {crowd} {time.time():.6f} 2.0 0.5 0.5")
        page.wait_for_url(lambda url: "/login" not in url, timeout=30_000)
        page.wait_for_load_state("load")
        page.shot("signed-in")
        assert page.locator("form[action$='/logout'], form[action*='logout']").count() >= 1
        issued, done = (int(x) for x in line.read_text().split()[:2])
        assert (issued, done) == (crowd + 1, crowd + 1)  # one number, used once, done
    finally:
        line.unlink(missing_ok=True)
    told = [e for e in errors if e.startswith("503 POST") and e.endswith("/login")]
    assert told, "the page was never told to wait"  # the line answered, as a 503 with the wait
    assert [e for e in errors if e not in told] == []
