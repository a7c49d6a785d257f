"""Every demo account signs in and lands on its own home; the layout works on a phone."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import sign_in


@pytest.mark.parametrize("username", ["admin", "manager", "trainer", "learner", "evaluator", "regulator"])
def test_demo_account_home(page, username):
    sign_in(page, username)
    assert "/login" not in page.url, page.content()[:2000]
    assert page.locator(".topbar").is_visible()
    body = page.inner_text("body")
    assert "出错了" not in body and "Traceback" not in body
    page.shot(f"home-{username}")
    if page.viewport_name == "phone":
        # the menu folds behind a toggle and opens
        page.click("label.nav-toggle-label")
        assert page.locator("nav.mainnav").is_visible()
