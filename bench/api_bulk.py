"""API bulk upsert: POST /api/v1/people/bulk of N people vs the roster import of the same people from a file.

    .venv/bin/python -m bench.api_bulk [N] [--postgres URL]

Each side runs on a fresh database (schema by the migrations) into a fresh enterprise, and creates N people.
The file side is ``import_roster`` of an xlsx and of a csv (as `lms import-roster` runs it); the API side is the whole HTTP call
through the WSGI app (key check, JSON parsing and validation, the roster import, the answer). Target: <= 3x.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from bench.data import ROSTER_HEADERS, roster_file, roster_rows

FIELDS = {
    "工号": "employee_no",
    "姓名": "name",
    "部门": "department",
    "岗位": "post",
    "安全责任角色": "roles",
    "入职日期": "hire_date",
    "手机号": "phone",
}


def _app(url: str):
    from alembic import command

    from lms.app import create_app
    from lms.cli import alembic_config

    command.upgrade(alembic_config(url), "head")
    return create_app({"DATABASE_URL": url, "JOBS_MODE": "eager", "TESTING": True})


def _people(n: int) -> list[dict]:
    out = []
    for row in roster_rows(n):
        values = dict(zip(ROSTER_HEADERS, row, strict=False))
        p = {FIELDS[k]: str(v) for k, v in values.items() if v not in (None, "")}
        if "roles" in p:
            p["roles"] = [x for x in p["roles"].replace("，", "、").split("、") if x]
        out.append(p)
    return out


def _warm_up(folder: Path) -> None:
    """A small import first, so that neither side pays for first imports and first queries."""
    from lms.core.db import db
    from lms.org.roster import import_roster
    from lms.org.services import create_enterprise

    small = roster_file(folder, 20, "xlsx")
    import_roster(
        create_enterprise("WARM" + str(id(folder) % 1000), "预热"), small, small.name, dry_run=False
    )
    db.session.commit()


def run(n: int, url_file: str, url_api: str) -> dict:
    from lms.api.keys import create_key
    from lms.core.db import db
    from lms.org.roster import import_roster
    from lms.org.services import create_enterprise

    folder = Path(tempfile.mkdtemp(prefix="bench-api-"))
    file_s: dict[str, float] = {}
    for fmt in ("xlsx", "csv"):
        path = roster_file(folder, n, fmt)
        app = _app(url_file.replace("FMT", fmt))
        with app.app_context():
            _warm_up(folder)
            ent = create_enterprise("BENCHF", "文件导入企业")
            db.session.commit()
            started = time.perf_counter()
            result = import_roster(ent, path, path.name, dry_run=False)
            db.session.commit()
            file_s[fmt] = time.perf_counter() - started
            assert result.created == n, result.errors[:3]
        db.session.remove()
    db.session.remove()
    people = _people(n)
    app = _app(url_api)
    with app.app_context():
        _warm_up(folder)
        ent = create_enterprise("BENCHA", "接口同步企业")
        _key, secret = create_key(
            name="bench", scopes=["people:write"], actor=None, enterprise=ent, rate_per_minute=1000
        )
        db.session.commit()
        body = json.dumps({"people": people}, ensure_ascii=False).encode()
        client = app.test_client()
        started = time.perf_counter()
        r = client.post(
            "/api/v1/people/bulk",
            data=body,
            headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
        )
        api_s = time.perf_counter() - started
        assert r.status_code == 200 and r.json["created"] == n, r.get_data(as_text=True)[:500]
    return {
        "people": n,
        "api_seconds": round(api_s, 2),
        "body_mb": round(len(body) / 2**20, 2),
        **{f"file_{fmt}_seconds": round(v, 2) for fmt, v in file_s.items()},
        **{f"ratio_vs_{fmt}": round(api_s / v, 2) for fmt, v in file_s.items()},
    }


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 10_000
    folder = Path(tempfile.mkdtemp(prefix="bench-api-db-"))
    if "--postgres" in sys.argv:
        base = sys.argv[sys.argv.index("--postgres") + 1]
        out = run(n, base + "_FMT", base + "_api")
    else:
        out = run(n, f"sqlite:///{folder / 'file-FMT.sqlite3'}", f"sqlite:///{folder / 'api.sqlite3'}")
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
