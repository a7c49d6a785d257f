"""Coverage dashboard benchmark against one hand-written aggregate query over the same tables.

Usage (after ``lms db upgrade``, ``lms demo --size M`` and ``lms requirements apply-presets --enterprise BENCH-M``):

    LMS_INSTANCE_DIR=/tmp/perfM .venv/bin/python -m bench.bench_coverage --code BENCH-M
    LMS_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/perf .venv/bin/python -m bench.bench_coverage \
        --code BENCH-M

Prints one row per page: best-of-N milliseconds, statements per request, and the ratio to the hand-written query.
``--profile`` writes a pyinstrument HTML profile of the dashboard to /tmp.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from typing import Any

from bench.tasks import HAND_QUERY  # noqa: E402 - one definition of the hand-written query for both benches

PAGES = {
    "dashboard": "/training/",
    "csv by department": "/training/coverage/department?format=csv",
    "csv named list (all)": "/training/list?format=csv",
    "named list page": "/training/list?show=noncompliant",
}
PASSWORD = "bench-coverage-2026"


def _manager(code: str) -> str:
    from sqlalchemy import select

    from lms.core.db import db
    from lms.org.models import MANAGER, Enterprise, User
    from lms.org.services import hash_password

    ent = db.session.scalar(select(Enterprise).where(Enterprise.code == code))
    assert ent is not None, f"no enterprise {code}"
    name = f"bench-cov-{code.lower()}"
    user = db.session.scalar(select(User).where(User.username == name))
    if user is None:
        user = db.session.scalar(
            select(User)
            .where(User.enterprise_id == ent.id, User.person_id.is_not(None))
            .order_by(User.id.desc())
        )
        user.username = name
    user.app_role, user.must_change_password = MANAGER, False
    user.password_hash = hash_password(PASSWORD)
    db.session.commit()
    return name


def _old_path(ent_id: int) -> float:
    """The dashboard's data as it was fetched before the status table: 4 group-bys, totals, 2 counts, 2 lists
    and 12 month ends, each evaluating the status query again (with today's status query)."""
    from lms.core.db import db
    from lms.training import coverage

    as_of = dt.date.today()
    t = time.perf_counter()
    for by in coverage.BY_CHOICES:
        coverage.coverage(ent_id, by, as_of)
    coverage.totals(ent_id, as_of)
    coverage.named_list(ent_id, as_of, statuses=("overdue", "expired"), count=True)
    coverage.named_list(ent_id, as_of, expiring_within=30, count=True)
    coverage.named_list(ent_id, as_of, statuses=("overdue", "expired"), limit=15)
    coverage.named_list(ent_id, as_of, expiring_within=30, limit=15)
    for day in coverage.month_ends(as_of):
        coverage.totals(ent_id, day)
    elapsed = time.perf_counter() - t
    db.session.rollback()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--code", default="BENCH-M")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--old-path",
        action="store_true",
        help="also time the dashboard's former sequence of calls: each figure its own status query, 12 live trend points",
    )
    args = parser.parse_args()

    from sqlalchemy import event, select, text

    from lms.app import create_app
    from lms.core.db import db
    from lms.org.models import Enterprise

    app = create_app({"JOBS_MODE": "eager"})
    app.config["WTF_CSRF_ENABLED"] = False
    ctx = app.app_context()
    ctx.push()
    ent_id = db.session.scalar(select(Enterprise.id).where(Enterprise.code == args.code))
    people = db.session.scalar(text("SELECT count(*) FROM person WHERE enterprise_id = :e"), {"e": ent_id})
    records = db.session.scalar(
        text("SELECT count(*) FROM training_record WHERE enterprise_id = :e"), {"e": ent_id}
    )
    username = _manager(args.code)
    since = dt.datetime.now() - dt.timedelta(days=365)
    hand, hand_cpu = [], []
    for _ in range(args.repeat):
        t, c = time.perf_counter(), time.process_time()
        db.session.execute(text(HAND_QUERY), {"ent": ent_id, "since": since, "cutoff": since}).all()
        hand.append(time.perf_counter() - t)
        hand_cpu.append(time.process_time() - c)
    db.session.rollback()
    hand_ms = min(hand) * 1000
    hand_cpu_ms = min(hand_cpu) * 1000  # SQLite runs in this process: CPU time is robust on a busy machine

    client = app.test_client()
    resp = client.post("/login", data={"login": username, "password": PASSWORD})
    assert resp.status_code in (302, 303), resp.status_code
    statements: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda c, cur, s, *a: statements.append(s))
    out: dict[str, Any] = {
        "code": args.code,
        "dialect": db.engine.dialect.name,
        "people": people,
        "records": records,
        "hand_ms": round(hand_ms, 1),
        "hand_cpu_ms": round(hand_cpu_ms, 1),
        "pages": {},
    }
    print(
        f"{args.code} on {out['dialect']}: {people} people, {records} records; hand-written query {hand_ms:.0f} ms (cpu {hand_cpu_ms:.0f})"
    )
    for label in args.pages.split(","):
        path = PAGES[label]
        times, cpu = [], []
        for _ in range(args.repeat):
            statements.clear()
            t, c = time.perf_counter(), time.process_time()
            resp = client.get(path)
            body = resp.get_data()
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            assert resp.status_code == 200, (path, resp.status_code)
        ms = min(times) * 1000
        out["pages"][label] = {
            "ms": round(ms, 1),
            "statements": len(statements),
            "bytes": len(body),
            "ratio": round(ms / hand_ms, 2),
            "cpu_ms": round(min(cpu) * 1000, 1),
            "cpu_ratio": round(min(cpu) * 1000 / hand_cpu_ms, 2) if hand_cpu_ms else None,
        }
        print(
            f"  {label:24s} {ms:8.0f} ms  {len(statements):3d} statements  {len(body):9d} bytes  "
            f"ratio {ms / hand_ms:5.2f}  cpu {min(cpu) * 1000:7.0f} ms (ratio {min(cpu) * 1000 / max(hand_cpu_ms, 0.1):5.2f})"
        )
    if args.old_path:
        out["old_path_ms"] = round(_old_path(ent_id) * 1000, 1)
        print(
            f"  former call sequence (21 status evaluations, no HTTP/template): {out['old_path_ms']:.0f} ms"
        )
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
        client.get(PAGES["dashboard"])
        profiler.stop()
        path = f"/tmp/coverage-profile-{args.code}-{out['dialect']}.html"
        with open(path, "w") as f:
            f.write(profiler.output_html())
        print(profiler.output_text(unicode=True, color=False, show_all=False)[:6000])
        print("profile:", path)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
