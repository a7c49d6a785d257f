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
