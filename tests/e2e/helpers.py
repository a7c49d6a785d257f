"""Helpers for the browser journeys: more people in their own browser contexts, the live server's database,
answering exam questions, and soft checks that let a journey go on past a product bug and fail at the end."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.e2e.conftest import SHOTS, VIEWPORTS


def db_url(live_server: dict[str, Any]) -> str:
    """The SQLAlchemy URL of the live server's database (its SQLite file or the PostgreSQL URL)."""
    return (
        live_server["env"].get("LMS_DATABASE_URL")
        or f"sqlite:///{Path(live_server['instance']) / 'lms.sqlite3'}"
    )


@lru_cache
def _engine(url: str) -> Any:
    return create_engine(url, poolclass=NullPool)


def db_rows(live_server: dict[str, Any], sql: str, **params: Any) -> list[Any]:
    """Run one read-only query against the live server's database."""
    with _engine(db_url(live_server)).connect() as conn:
        return list(conn.execute(text(sql), params).all())


def db_value(live_server: dict[str, Any], sql: str, **params: Any) -> Any:
    rows = db_rows(live_server, sql, **params)
    return rows[0][0] if rows else None


def as_json(value: Any) -> Any:
    """A JSON column read with raw SQL: text on SQLite, already decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value


def open_page(browser: Any, live_server: dict[str, Any], viewport: str, journey: str, who: str) -> Any:
    """Another person's page in a fresh context of the same viewport; close it with ``page.context.close()``.

    ``page.shot(name)`` saves ``<journey>-<viewport>-<who>-<name>.png`` beside the journey's own screenshots.
    """
    ctx = browser.new_context(
        viewport=VIEWPORTS[viewport],
        locale="zh-CN",
        is_mobile=viewport == "phone",
        has_touch=viewport == "phone",
        accept_downloads=True,
    )
    pg = ctx.new_page()
    pg.set_default_timeout(20_000)
    pg.base = live_server["url"]
    pg.viewport_name = viewport
    accept_dialogs(pg)

    def shot(name: str) -> Path:
        path = SHOTS / f"{journey}-{viewport}-{who}-{name}.png"
        pg.screenshot(path=str(path), full_page=True)
        return path

    pg.shot = shot
    return pg


def accept_dialogs(page: Any) -> None:
    """Say yes to confirm() and alert() (pages ask before a reset, a submit, a publish)."""
    page.on("dialog", lambda dialog: dialog.accept())


def watch_server_errors(page: Any) -> list[str]:
    """Collect every 5xx answer the page receives (the list fills as the journey goes)."""
    errors: list[str] = []
    page.on(
        "response",
        lambda r: errors.append(f"{r.status} {r.request.method} {r.url}") if r.status >= 500 else None,
    )
    return errors


def answer(page: Any, aq_id: int, qtype: str, value: Any) -> None:
    """Give ``value`` (a canonical answer: option index, list of indexes, bool, list of blanks) to one
    question of the exam page and wait until the autosave of every change has been answered by the server."""
    section = page.locator(f"#q-{aq_id}")

    def saved(action: Any) -> None:
        with page.expect_response(lambda r: r.url.endswith("/answer") and r.request.method == "POST") as resp:
            action()
        assert resp.value.ok, f"autosave refused: {resp.value.status} {resp.value.text()[:300]}"

    if qtype == "single_choice":
        saved(lambda: section.locator(f"input[value='{int(value)}']").check())
    elif qtype == "true_false":
        saved(lambda: section.locator(f"input[value='{'true' if value else 'false'}']").check())
    elif qtype == "multiple_choice":
        for box in section.locator("input[type=checkbox][name]").all():
            want = int(box.get_attribute("value")) in set(value)
            if box.is_checked() != want:
                saved(lambda b=box, w=want: b.set_checked(w))
    elif qtype == "fill_blank":
        for i, field in enumerate(section.locator(".answers input[type=text]").all()):
            saved(lambda f=field, i=i: (f.fill(str(value[i])), f.dispatch_event("change")))
    else:
        raise AssertionError(f"the journey cannot answer a {qtype} question automatically")


def is_answered(page: Any, aq_id: int, qtype: str, value: Any) -> bool:
    """Whether the exam page shows ``value`` as the answer of one question (after a reload: the server's)."""
    section = page.locator(f"#q-{aq_id}")
    if qtype == "single_choice":
        return section.locator(f"input[value='{int(value)}']").is_checked()
    if qtype == "true_false":
        return section.locator(f"input[value='{'true' if value else 'false'}']").is_checked()
    if qtype == "multiple_choice":
        boxes = section.locator("input[type=checkbox][name]").all()
        return {int(b.get_attribute("value")) for b in boxes if b.is_checked()} == set(value)
    if qtype == "fill_blank":
        fields = section.locator(".answers input[type=text]").all()
        return [f.input_value() for f in fields] == [str(v) for v in value]
    return False


class Soft:
    """Checks that record a failure and let the journey go on, so one product bug does not hide the next step.
    Call ``done()`` at the end: it fails with every recorded problem."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def check(self, ok: Any, message: str) -> bool:
        if not ok:
            self.problems.append(message)
        return bool(ok)

    def done(self) -> None:
        assert not self.problems, "Problems found on the way:\n- " + "\n- ".join(self.problems)
