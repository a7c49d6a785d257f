"""Pages under load: learner home, a course page, the manager dashboard vs hello world, same gunicorn, wrk.

Also SQL statements per request for each page on the M and L databases: they must stay flat.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from bench import sites
from bench.common import (
    SMOKE,
    Row,
    bench_env,
    guarded,
    postgres_available,
    rate_ratio,
    run_task,
    skipped,
    workdir,
)
from bench.http import Browser
from bench.server import NOOP_APP, Gunicorn, served, wrk, wrk_available

MIN_RATIO = 0.25
P99_MS = 100
CONNECTIONS = 32


def landing(base: str, username: str, password: str) -> tuple[str, str]:
    """Sign in and return (the path "/" sends this user to, the session cookie) without loading that page."""
    b = Browser(base)
    b.get("/login")
    resp = b.post("/login", {"login": username, "password": password}, follow=False)
    if resp.status not in (302, 303):
        raise RuntimeError(f"sign-in as {username} failed ({resp.status})")
    home = b.get("/", follow=False)
    path = (
        urllib.parse.urlsplit(home.headers.get("Location") or "/").path
        if home.status in (301, 302, 303)
        else "/"
    )
    return path, b.cookie_header()


def resolve_pages(base: str, info: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Sign in as the bench learner and manager; return {page: (path, cookie)} for the pages they land on."""
    pages: dict[str, tuple[str, str]] = {}
    path, cookie = landing(base, info["learner"], info["password"])
    pages["learner home"] = (path, cookie)
    if info.get("course_id"):
        pages["course page"] = (f"/courses/{info['course_id']}", cookie)
    pages["manager dashboard"] = landing(base, info["manager"], info["password"])
    return pages


def hello_rps(seconds: int, log: Any) -> dict[str, Any]:
    with Gunicorn("bench.hello_app:app", {}) as g:
        got = wrk(g.url + "/", seconds=seconds, connections=CONNECTIONS)
    log(f"hello world: {got['rps']:.0f} req/s, p99 {got['p99_ms']:.1f} ms")
    return got


def run(quick: bool, log: Any) -> list[Row]:
    if not wrk_available():
        return [skipped("pages", "all pages", "wrk is not installed (apt-get install wrk)")]
    seconds = (3 if SMOKE else 5) if quick else 15
    sizes = ["M"] if quick else ["M", "L"]
    kinds = ["sqlite"] + (["postgres"] if postgres_available() and not quick else [])
    rows: list[Row] = []
    hello = hello_rps(seconds, log)
    queries: dict[str, dict[str, int]] = {}
    for kind in kinds:
        for size in sizes:
            rows += guarded(
                "pages",
                f"pages on {kind} {size}",
                lambda kind=kind, size=size: _one_site(kind, size, seconds, hello, queries, log),
                log,
            )
    # Requests still running when gunicorn stopped leave PostgreSQL backends working: drop the databases now.
    sites.drop_all()
    for page, by_size in list(queries.items()):
        if page.endswith(" seconds"):
            continue
        alone = queries.get(page + " seconds", {})
        m, big = by_size.get("M"), by_size.get("L")
        rows.append(
            Row(
                "queries",
                f"{page}: SQL statements per request, M -> L",
                big if big is not None else m,
                m,
                "queries",
                "flat (L = M)",
                None if big is None else big <= m,
                None if big is None or not m else big / m,
                note=("" if big is not None else "M only (quick); ")
                + "one request alone: "
                + ", ".join(f"{k} {v:.2f} s" for k, v in alone.items()),
            )
        )
    return rows


def _one_site(
    kind: str, size: str, seconds: int, hello: dict[str, Any], queries: dict[str, dict[str, int]], log: Any
) -> list[Row]:
    rows: list[Row] = []
    info = sites.site(kind, size, log)
    with served("wsgi:app", info["env"], f"pages-{kind}-{size}") as g:
        pages = resolve_pages(g.url, info)
        for page, (path, cookie) in pages.items():
            got = wrk(g.url + path, seconds=seconds, connections=CONNECTIONS, cookie=cookie)
            log(
                f"{page} {path} {kind} {size}: {got['rps']:.0f} req/s, p99 {got['p99_ms']:.0f} ms, "
                f"non-200 {got['bad_status'] + got['other_status']}, socket errors {got['socket_errors']}"
            )
            clean = got["bad_status"] + got["other_status"] + got["socket_errors"] == 0
            rows.append(
                rate_ratio(
                    "pages",
                    f"{page} ({path}), {size}, {'SQLite' if kind == 'sqlite' else 'PostgreSQL'}",
                    got["rps"],
                    hello["rps"],
                    MIN_RATIO,
                    extra_ok=got["p99_ms"] < P99_MS and clean,
                    note=(
                        f"p99 {got['p99_ms']:.0f} ms"
                        if got["requests"]
                        else "no response within wrk's 10 s timeout"
                    )
                    + (
                        ""
                        if clean
                        else f", {got['bad_status'] + got['other_status']} non-200, {got['socket_errors']} socket errors"
                    ),
                    p50_ms=got["p50_ms"],
                    p99_ms=got["p99_ms"],
                    hello_p99_ms=hello["p99_ms"],
                    requests=got["requests"],
                )
            )
    if (
        size == "M"
    ):  # the floor: the same sign-in, session and permission checks, then nothing (one per database)
        with served(NOOP_APP, info["env"], f"pages-noop-{kind}") as g:
            cookie = pages["learner home"][1]
            got = wrk(g.url + "/bench/noop", seconds=seconds, connections=CONNECTIONS, cookie=cookie)
        log(f"signed-in no-op GET {kind}: {got['rps']:.0f} req/s, p99 {got['p99_ms']:.0f} ms")
        rows.append(
            rate_ratio(
                "pages",
                f"floor: signed-in no-op GET (/bench/noop), {'SQLite' if kind == 'sqlite' else 'PostgreSQL'}",
                got["rps"],
                hello["rps"],
                None,
                note=f"p99 {got['p99_ms']:.0f} ms; no target: what any signed-in page costs before its own work",
                p50_ms=got["p50_ms"],
                p99_ms=got["p99_ms"],
                requests=got["requests"],
            )
        )
    if kind == "sqlite":
        counted = run_task(
            "count_queries",
            {
                "url": info["url"],
                "password": info["password"],
                "accounts": {"learner": info["learner"], "manager": info["manager"]},
                "paths": {
                    "learner": [p for n, (p, _) in pages.items() if n != "manager dashboard"],
                    "manager": [pages["manager dashboard"][0]],
                },
            },
            env=bench_env(workdir(f"site-{kind}-{size}"), info["url"]),
        )
        for page, (path, _) in pages.items():
            queries.setdefault(page, {})[size] = counted[path]["queries"]
            queries.setdefault(page + " seconds", {})[size] = round(counted[path]["seconds"], 3)
        log(f"queries per request {size}: {queries}")
    return rows


# ------------------------------------------------------------------------------------------- in-process (issue 20)

IN_PROCESS_PAGES = ("floor", "layout", "learner home", "my training", "course page", "manager dashboard")


def in_process(info: dict[str, Any], n: int = 300, rounds: int = 3) -> dict[str, dict[str, float]]:
    """CPU per request (``time.process_time``, best of ``rounds`` rounds of ``n``) and SQL statements of one warm
    request of each page of a bench site (``sites.site``'s info), through the Flask test client of
    ``create_noop_app()``. Two floors: ``/bench/noop`` (signed in, nothing rendered) and ``/bench/layout`` (signed
    in, ``base.html`` around the word "ok": the menu, the bell and the notices badge every page shows)."""
    import os
    import time

    from flask import render_template
    from sqlalchemy import event

    from bench.hello_app import create_noop_app
    from lms.core.db import db
    from lms.core.permissions import signed_in

    os.environ.update(info["env"])
    app = create_noop_app()
    with app.app_context():
        _add_missing_indexes()

    compiled: list[Any] = []

    def layout() -> str:
        # Compiled once, as every real page's template is (render_template_string compiled it on every request:
        # ~0.5 ms of the layout figure was the bench's own parsing, not the page's work).
        if not compiled:
            compiled.append(
                app.jinja_env.from_string('{% extends "base.html" %}{% block content %}ok{% endblock %}')
            )
        return render_template(compiled[0])

    app.add_url_rule("/bench/layout", "bench_layout", signed_in(layout))
    app.config["WTF_CSRF_ENABLED"] = False
    seen = {"n": 0}

    def count(*_args: Any) -> None:
        seen["n"] += 1

    event.listen(db.engine, "before_cursor_execute", count)

    def client(username: str) -> Any:
        c = app.test_client()
        r = c.post("/login", data={"login": username, "password": info["password"]})
        assert r.status_code in (302, 303), (username, r.status_code)
        return c

    learner, manager = client(info["learner"]), client(info["manager"])
    paths = {
        "floor": (learner, "/bench/noop"),
        "layout": (learner, "/bench/layout"),
        "learner home": (learner, "/"),
        "my training": (learner, "/training/mine"),
        "course page": (learner, f"/courses/{info['course_id']}"),
        "manager dashboard": (manager, "/training/"),
    }
    out: dict[str, dict[str, float]] = {}
    for page in IN_PROCESS_PAGES:
        c, path = paths[page]
        for _ in range(5):
            assert c.get(path).status_code == 200, (page, path)
        seen["n"] = 0
        c.get(path)
        statements = seen["n"]
        times = max(20, n // 5) if page == "manager dashboard" else n
        best = float("inf")
        for _ in range(rounds):
            t = time.process_time()
            for _ in range(times):
                c.get(path)
            best = min(best, (time.process_time() - t) / times)
        out[page] = {"cpu_ms": round(best * 1000, 2), "statements": statements}
    return out


def _add_missing_indexes() -> None:
    """Create the models' indexes that a kept site (built by an older tree) lacks, so that the pages are
    measured with this tree's schema (a new index comes with a migration; kept sites are not migrated)."""
    from sqlalchemy import inspect

    from lms.app import import_models
    from lms.core.db import Base, db

    import_models()
    with db.engine.begin() as conn:
        tables = set(inspect(conn).get_table_names())
        for table in Base.metadata.sorted_tables:
            for index in table.indexes if table.name in tables else ():
                index.create(conn, checkfirst=True)


if __name__ == "__main__":  # python -m bench.pages SITE_JSON [N]: a site kept by BENCH_REUSE=1 (site.json)
    import json
    import sys

    got = in_process(json.loads(open(sys.argv[1]).read()), int(sys.argv[2]) if len(sys.argv) > 2 else 300)
    for name, row in got.items():
        print(f"{name:18s} {row['cpu_ms']:7.2f} ms  {row['statements']} statements")
