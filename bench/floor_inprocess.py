"""The signed-in floor, in-process (issue 20): CPU and SQL statements of the requests every page pays for.

    .venv/bin/python -m bench.floor_inprocess [--database-url URL] [--n 2000] [--profile KIND]

On a fresh database (a temporary SQLite file unless ``--database-url`` names one, whose tables are dropped and
made again: never a database you keep) with one enterprise and one signed-in learner, through the Flask test
client of ``bench.hello_app.create_noop_app()`` with CSRF on (as in production), it times with
``time.process_time()`` and counts the statements of:

* ``signed-in GET``: ``GET /bench/noop`` (the floor of the page benchmarks);
* ``JSON POST``: ``POST /bench/noop`` with a JSON body and ``X-CSRFToken`` (an autosave's floor);
* ``static``: ``GET /static/css/app.css?v=<hash>`` with the session cookie (a browser sends it);
* ``anonymous page``: ``GET /login`` without a cookie (a rendered page);
* ``signed-in page``: ``GET /account`` (the layout with the menu and the bell).

The first 200 requests of each kind warm up and are not counted. ``--profile KIND`` prints cProfile's top
functions for that kind instead.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from typing import Any

WARMUP = 200
_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}


def build(url: str) -> tuple[Any, dict[str, Any]]:
    """The no-op app on ``url`` with one enterprise and a signed-in learner; (app, request kinds)."""
    from flask import url_for
    from sqlalchemy import event

    from bench.hello_app import create_noop_app
    from lms.app import import_models
    from lms.core.db import Base, db, make_engine

    engine = make_engine(url)
    import_models()
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    engine.dispose()
    os.environ["LMS_DATABASE_URL"] = url
    os.environ.setdefault("LMS_JOBS", "eager")
    app = create_noop_app()
    app.config.update(WTF_CSRF_ENABLED=True, SERVER_NAME="lms.test")
    from lms.org.models import User
    from lms.org.services import create_enterprise, hash_password

    with app.app_context():
        ent = create_enterprise("FLOOR", "地板企业")
        db.session.flush()
        db.session.add(
            User(
                username="floor",
                password_hash=hash_password("Floor-2026-pw"),
                display_name="Floor",
                app_role="learner",
                enterprise_id=ent.id,
                must_change_password=False,
            )
        )
        db.session.commit()
        with app.test_request_context():
            css = url_for("static", filename="css/app.css")
        db.session.remove()
    client = app.test_client()
    resp = client.post(
        "/login", data={"login": "floor", "password": "Floor-2026-pw", "csrf_token": _csrf(client)}
    )
    assert resp.status_code in (302, 303), resp.status_code
    token = _csrf(client, "/account")
    statements = [0]

    @event.listens_for(db.engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # Statements of the work; transaction control (BEGIN, COMMIT, ROLLBACK) not counted: SQLite's BEGIN
        # goes to the driver directly, unseen by SQLAlchemy's events.
        if statement.lstrip()[:8].upper().split(None, 1)[0] not in _CONTROL:
            statements[0] += 1

    anon = app.test_client()
    kinds = {
        "signed-in GET": lambda: client.get("/bench/noop"),
        "JSON POST": lambda: client.post(
            "/bench/noop", json={"seq": 1, "answer": "A"}, headers={"X-CSRFToken": token}
        ),
        "static": lambda: client.get(css),
        "anonymous page": lambda: anon.get("/login"),
        "signed-in page": lambda: client.get("/account"),
    }
    return app, {"kinds": kinds, "statements": statements}


def _csrf(client: Any, path: str = "/login") -> str:
    import re

    page = client.get(path).get_data(as_text=True)
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'<meta name="csrf-token" content="([^"]+)"', page
    )
    assert m, page[:500]
    return m.group(1)


def measure(kinds: dict[str, Any], statements: list[int], n: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name, call in kinds.items():
        for _ in range(WARMUP):
            assert call().status_code == 200, name
        cpu: list[float] = []
        counted: list[int] = []
        for _ in range(n):
            statements[0] = 0
            t = time.process_time()
            resp = call()
            cpu.append(time.process_time() - t)
            counted.append(statements[0])
            assert resp.status_code == 200, (name, resp.status_code)
        out[name] = {
            "cpu_ms_median": round(statistics.median(cpu) * 1000, 3),
            "cpu_ms_mean": round(statistics.fmean(cpu) * 1000, 3),
            "statements": max(counted),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--profile")
    args = parser.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="lms-floor-")
    os.environ.setdefault("LMS_INSTANCE_DIR", tmp)
    url = args.database_url or f"sqlite:///{tmp}/floor.sqlite3"
    _app, ctx = build(url)
    if args.profile:
        call = ctx["kinds"][args.profile]
        for _ in range(WARMUP):
            call()
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(args.n):
            call()
        prof.disable()
        pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(30)
        pstats.Stats(prof, stream=sys.stdout).sort_stats("cumulative").print_stats(60)
        return 0
    results = measure(ctx["kinds"], ctx["statements"], args.n)
    print(f"{'request':<16} {'CPU ms median':>14} {'mean':>8} {'statements':>11}")
    for name, r in results.items():
        print(f"{name:<16} {r['cpu_ms_median']:>14.3f} {r['cpu_ms_mean']:>8.3f} {r['statements']:>11}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
