"""Job functions used by the job tests (importable by path, as real jobs are)."""

from __future__ import annotations

from lms.core.db import db


def add_numbers(ctx, a: int, b: int) -> dict:
    ctx.progress(50, "halfway")
    return {"sum": a + b}


def fail(ctx, message: str) -> None:
    raise ValueError(message)


def create_enterprise(ctx, code: str) -> dict:
    from lms.org.services import create_enterprise as make

    ent = make(code, f"作业创建{code}")
    db.session.flush()
    return {"id": ent.id}
