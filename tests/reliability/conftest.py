"""The reliability suite: the app under gunicorn (several workers) with its own instance folder and database —
a fresh SQLite file, or a fresh PostgreSQL database next to LMS_TEST_DATABASE_URL's — driven over HTTP.

Seeding and checking go straight to that database: ``live.db()`` rebinds ``db.session`` to it for a block.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from lms.core.db import db

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Reliab1lity-pass"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database(inst: Path) -> tuple[str, Any]:
    """A fresh database URL for the server, and a function that drops it afterwards."""
    base = os.environ.get("LMS_TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        return f"sqlite:///{inst / 'lms.sqlite3'}", lambda: None
    from sqlalchemy.engine import make_url

    from lms.core.db import make_engine

    name = f"lms_rel_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(base).set(database=name).render_as_string(hide_password=False), drop


class Live:
    """A running gunicorn serving the app; ``start()``/``stop()``, ``worker_pids()``, ``db()``."""

    def __init__(self, workers: int = 4, threads: int = 4):
        self.inst = Path(tempfile.mkdtemp(prefix="lms-rel-"))
        self.url_db, self._drop = _database(self.inst)
        self.env = dict(
            os.environ,
            LMS_INSTANCE_DIR=str(self.inst),
            LMS_SECRET_KEY="rel-secret",
            LMS_DATABASE_URL=self.url_db,
            LMS_JOBS="thread",
            LMS_LOGIN_MAX_FAILURES="1000",
            # These tests sign people in to do something else; the bound on sign-ins (slots, line, pauses on a
            # busy host: tests/org/test_signin_line.py) would make them wait minutes on a loaded test machine.
            LMS_LOGIN_HASH_SLOTS="0",
        )
        self.workers, self.threads = workers, threads
        self.proc: subprocess.Popen | None = None
        self.base = ""
        code = (
            "import sys; from lms.app import create_app, import_models; from lms.core.db import Base, make_engine;"
            "app = create_app(); import_models(); e = make_engine(sys.argv[1]); Base.metadata.create_all(e)"
        )
        if os.environ.get("LMS_TEST_SCHEMA") == "create_all":
            subprocess.run(
                [sys.executable, "-c", code, self.url_db],
                env=self.env,
                check=True,
                capture_output=True,
                cwd=ROOT,
            )
        else:
            subprocess.run(
                [str(Path(sys.executable).parent / "lms"), "db", "upgrade"],
                env=self.env,
                check=True,
                capture_output=True,
                cwd=ROOT,
            )
        from lms.core.db import make_engine

        self.engine = make_engine(self.url_db)

    def start(self) -> None:
        port = _free_port()
        self.log = open(self.inst / "gunicorn.log", "ab")
        self.proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(self.workers),
                "--threads",
                str(self.threads),
                "--timeout",
                "120",
                "--backlog",
                "512",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        self.base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=1)
                return
            except Exception:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(self.log_text()[-3000:])

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)

    def log_text(self) -> str:
        return (self.inst / "gunicorn.log").read_text(errors="replace")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(x) for x in out.split()]

    @contextlib.contextmanager
    def db(self) -> Iterator[Any]:
        """``db.session`` bound to the server's database for the block (committing for real)."""
        old = dict(db._factory.kw)
        db.session.remove()
        db._factory.configure(bind=self.engine, join_transaction_mode="conditional_savepoint")
        try:
            yield db.session
        finally:
            db.session.remove()
            db._factory.configure(bind=old.get("bind"), join_transaction_mode="conditional_savepoint")

    def close(self) -> None:
        self.stop()
        self.engine.dispose()
        self._drop()


@pytest.fixture(scope="session")
def live(app: Any) -> Iterator[Live]:
    server = Live()
    server.start()
    yield server
    server.close()


class Browser:
    """A cookie jar and the CSRF token: what one person's browser needs (urllib only)."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)
        self.csrf = ""

    def request(
        self,
        method: str,
        path: str,
        data: dict[str, Any] | None = None,
        json_body: Any = None,
        timeout: float = 60,
    ) -> tuple[int, dict[str, str], bytes]:
        headers = {"X-CSRFToken": self.csrf, "Accept": "text/html"}
        body = None
        if json_body is not None:
            body, headers["Content-Type"] = json.dumps(json_body).encode(), "application/json"
            headers["Accept"] = "application/json"
        elif data is not None:
            body = urllib.parse.urlencode({"csrf_token": self.csrf, **data}).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with self.opener.open(req, timeout=timeout) as r:
                status, hdrs, content = r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            status, hdrs, content = e.code, dict(e.headers), e.read()
        m = re.search(rb'name="csrf[-_]token" (?:content|value)="([^"]+)"', content)
        if m:
            self.csrf = m.group(1).decode()
        return status, hdrs, content

    def post_login(self, username: str, password: str = PASSWORD, tries: int = 40) -> tuple[int, dict, bytes]:
        """Send the sign-in form; when the server is busy signing others in (503 with Retry-After, lms.core.slots)
        try again, as a person would (sooner than Retry-After says: the suite has no time to lose)."""
        self.request("GET", "/login")
        for _ in range(tries):
            status, hdrs, body = self.request(
                "POST", "/login", data={"login": username, "password": password}
            )
            if status != 503 or "Retry-After" not in hdrs:
                break
            time.sleep(random.uniform(0.1, 0.5))
        return status, hdrs, body

    def login(self, username: str, password: str = PASSWORD) -> None:
        status, hdrs, body = self.post_login(username, password)
        assert status in (302, 303), (status, body[:300])
        path = "/"
        for _ in range(4):  # follow the redirects to a page: its CSRF token belongs to the new session
            status, hdrs, body = self.request("GET", path)
            if status not in (301, 302, 303) or not hdrs.get("Location"):
                break
            path = hdrs["Location"].replace(self.base, "")
        assert status == 200 and self.csrf, (status, body[:200])


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
