"""Small helpers shared by the operations journeys (offline, manager, regulator, evaluator)."""

from __future__ import annotations

import io
import re
import uuid
from typing import Any

from tests.e2e.conftest import sign_in

ERROR_MARKERS = ("出错了", "Traceback", "Internal Server Error")
CJK = re.compile(r"[\u4e00-\u9fff]")


def token(page: Any) -> str:
    """A name part unique to this run and viewport (journeys share one server)."""
    return f"{page.viewport_name}-{uuid.uuid4().hex[:6]}"


def body_text(page: Any) -> str:
    return page.inner_text("body")


def assert_page_ok(page: Any, where: str) -> str:
    """The page rendered: no error page, no traceback. Returns the body text."""
    text = body_text(page)
    for marker in ERROR_MARKERS:
        assert marker not in text, f"{where}: error page at {page.url}:\n{text[:1500]}"
    return text


def flash_text(page: Any) -> str:
    flashes = page.locator(".flash")
    return " | ".join(flashes.all_inner_texts()) if flashes.count() else ""


def switch_user(page: Any, username: str) -> None:
    """Sign the browser context out and sign in as someone else."""
    page.context.clear_cookies()
    sign_in(page, username)
    assert "/login" not in page.url, f"sign-in as {username} failed: {body_text(page)[:500]}"


def accept_confirms(page: Any) -> None:
    """Buttons with data-confirm ask window.confirm(); say yes (Playwright dismisses dialogs by default)."""
    page.on("dialog", lambda dialog: dialog.accept())


def download(page: Any, locator: Any) -> tuple[str, bytes]:
    """Click a link that downloads a file; return (suggested file name, bytes)."""
    with page.expect_download() as info:
        locator.click()
    dl = info.value
    path = dl.path()
    assert path, f"download of {dl.url} failed: {dl.failure()}"
    with open(path, "rb") as fh:
        return dl.suggested_filename, fh.read()


def fetch(page: Any, href: str) -> tuple[int, dict[str, str], bytes]:
    """GET a URL with the browser's cookies (for files served inline, e.g. a PDF shown in the browser)."""
    url = href if href.startswith("http") else page.base + href
    resp = page.context.request.get(url)
    return resp.status, resp.headers, resp.body()


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    assert data[:5] == b"%PDF-", f"not a PDF: {data[:60]!r}"
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(p.extract_text() or "" for p in reader.pages)


def xlsx_rows(data: bytes) -> list[tuple[Any, ...]]:
    import openpyxl

    assert data[:2] == b"PK", f"not an xlsx: {data[:60]!r}"
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    ws = wb.worksheets[0]
    return [tuple(r) for r in ws.iter_rows(values_only=True)]


def db_scalar(live_server: dict[str, Any], sql: str, **params: Any) -> Any:
    """Read one value from the live server's database (to learn an id the UI does not show)."""
    from sqlalchemy import create_engine, text

    url = live_server["env"].get("LMS_DATABASE_URL") or f"sqlite:///{live_server['instance'] / 'lms.sqlite3'}"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def snap(page: Any, name: str, wide: list[str]) -> None:
    """Save a screenshot and note when the page is wider than the screen (a phone user must scroll sideways).

    Wide tables scroll inside their ``.table-wrap``; only the page itself overflowing counts."""
    page.shot(name)
    # a phone widens its layout viewport to the content, so compare with the screen, not window.innerWidth
    extra = page.evaluate("document.documentElement.scrollWidth") - page.viewport_size["width"]
    if extra > 1:
        wide.append(f"{name} ({page.url}): {extra}px wider than the {page.viewport_name} screen")


def assert_fits(page: Any, wide: list[str]) -> None:
    assert not wide, "pages overflow the screen sideways (see tests/_artifacts/screenshots):\n" + "\n".join(
        wide
    )
