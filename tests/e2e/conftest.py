"""Browser journeys: the app under gunicorn on loopback with the demo loaded, driven by Playwright + Chromium.

Each journey runs on a desktop and on a phone-sized viewport and saves screenshots under
tests/_artifacts/screenshots/ (ignored by git). Skipped when Debian's Chromium is not installed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "tests" / "_artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
VIEWPORTS = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}
DEMO_PASSWORD = "demo-2026"

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server() -> Iterator[dict[str, Any]]:
    """Serve a fresh demo installation (its own instance folder and database) under gunicorn."""
    if not CHROMIUM:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    inst = Path(tempfile.mkdtemp(prefix="lms-e2e-"))
    env = dict(
        os.environ,
        LMS_INSTANCE_DIR=str(inst),
        LMS_SECRET_KEY="e2e-secret",
        LMS_DEMO_PASSWORD=DEMO_PASSWORD,
        LMS_JOBS="thread",
    )
    env.pop("LMS_DATABASE_URL", None)
    pg = os.environ.get("LMS_TEST_DATABASE_URL")
    if pg and pg.startswith("postgresql"):
        from tests.conftest import _reset_schema, database_url

        pg = database_url("_e2e")  # a database of its own: the live server commits the demo into it
        env["LMS_DATABASE_URL"] = pg
        _reset_schema(pg)
    bindir = Path(sys.executable).parent
    lms = str(bindir / "lms")
    if not (pg and pg.startswith("postgresql")):
        subprocess.run([lms, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([lms, "demo"], env=env, check=True, capture_output=True)
    port = _free_port()
    proc = subprocess.Popen(
        [
            str(bindir / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--timeout",
            "120",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(inst / "gunicorn.log", "wb"),
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            break
        except Exception:
            time.sleep(0.2)
    else:
        proc.terminate()
        raise RuntimeError((inst / "gunicorn.log").read_text()[-3000:])
    yield {"url": base, "env": env, "instance": inst}
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM:
        pytest.skip("Chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        yield b
        b.close()


@pytest.fixture(params=list(VIEWPORTS))
def page(request: pytest.FixtureRequest, browser: Any, live_server: dict[str, Any]) -> Iterator[Any]:
    """A fresh browser context per journey and viewport; ``page.shot(name)`` saves a screenshot."""
    vp = request.param
    ctx = browser.new_context(
        viewport=VIEWPORTS[vp],
        locale="zh-CN",
        is_mobile=vp == "phone",
        has_touch=vp == "phone",
        accept_downloads=True,
    )
    pg = ctx.new_page()
    pg.set_default_timeout(40_000)  # a loaded 2-core CI machine is slow; a real hang still fails
    pg.base = live_server["url"]
    pg.viewport_name = vp
    SHOTS.mkdir(parents=True, exist_ok=True)
    journey = request.node.originalname

    def shot(name: str) -> Path:
        path = SHOTS / f"{journey}-{vp}-{name}.png"
        pg.screenshot(path=str(path), full_page=True)
        return path

    pg.shot = shot
    yield pg
    ctx.close()


def sign_in(page: Any, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the form."""
    page.goto(page.base + "/login")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
