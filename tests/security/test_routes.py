"""Every route × every role × another enterprise's object ids: the expected status, never another's data.

The world is the real demo (DEMO, ZJHG, OTHER with every feature's data). Attackers are accounts of each role
in OTHER (and the regulator, who is not assigned OTHER); every GET route whose URL takes ids is called with the
ids of DEMO's objects (and OTHER's for the regulator). Nothing may answer 200.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from lms.core.db import Base, db
from lms.core.permissions import PUBLIC, access_of
from tests.conftest import TEST_PASSWORD, login

ALLOWED = {301, 302, 303, 400, 401, 403, 404, 405, 409, 410}
ALIASES = {
    "session": ["offline_session"],
    "file": ["stored_file"],
    "upload": ["attendance_upload"],
    "attempt": ["exam_attempt", "quiz_attempt", "attempt"],
    "record": ["training_record"],
    "user": ["user_account"],
    "template": ["certificate_template"],
    "job": ["job"],
}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _models_for(param: str) -> list[Any]:
    stem = param[:-3] if param.endswith("_id") else param
    names = ALIASES.get(stem, []) + [stem]
    found = []
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        table = getattr(cls, "__tablename__", "")
        if any(table == n or _snake(cls.__name__) == n for n in names):
            found.append(cls)
    found += [
        m.class_
        for m in Base.registry.mappers
        if m.class_ not in found
        and any(getattr(m.class_, "__tablename__", "").endswith("_" + n) for n in names)
    ]
    return found


def _victim_id(models: list[Any], enterprise_id: int) -> int | None:
    for cls in models:
        cols = {c.key for c in sa_inspect(cls).columns}
        if "enterprise_id" in cols:
            oid = db.session.scalar(select(cls.id).where(cls.enterprise_id == enterprise_id).limit(1))
            if oid is not None:
                return oid
    return None


def _routes(app: Any) -> list[Any]:
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static") or "GET" not in rule.methods:
            continue
        out.append(rule)
    return out


def test_every_view_declares_access(app):
    missing = [
        r.endpoint
        for r in app.url_map.iter_rules()
        if r.endpoint != "static"
        and not r.endpoint.endswith(".static")
        and access_of(app.view_functions[r.endpoint]) is None
    ]
    assert missing == []


def test_anonymous_is_sent_to_sign_in(app, client):
    for rule in _routes(app):
        view = app.view_functions[rule.endpoint]
        if access_of(view) == PUBLIC:
            continue
        url = _fill(rule, lambda p: 1)
        if url is None:
            continue
        r = client.get(url)
        assert r.status_code in (302, 401, 404), f"{url} → {r.status_code}"
        if r.status_code == 302:
            assert "/login" in r.headers["Location"], url


def _fill(rule: Any, pick: Any) -> str | None:
    values = {}
    for arg in rule.arguments:
        conv = rule._converters.get(arg)
        kind = type(conv).__name__ if conv else "UnicodeConverter"
        if kind == "IntegerConverter":
            v = pick(arg)
            if v is None:
                return None
            values[arg] = v
        else:
            values[arg] = "x"
    try:
        from flask import url_for

        return url_for(rule.endpoint, **values, _external=False)
    except Exception:
        return None


@pytest.fixture
def world(app):
    from lms.demo import load_demo
    from lms.org.models import Enterprise

    load_demo(echo=lambda *_: None)
    db.session.commit()
    ents = {e.code: e for e in db.session.scalars(select(Enterprise))}
    return ents


def test_other_enterprise_ids_never_answer(app, world, make_person):
    """One demo world (loading it takes seconds), every role in turn with a fresh client."""
    from lms.org.models import User
    from lms.org.services import hash_password

    leaks: list[str] = []
    checked = 0
    for role in ["learner", "trainer", "manager", "evaluator", "regulator"]:
        victim = world["DEMO"] if role != "regulator" else world["OTHER"]
        if role == "regulator":
            attacker = db.session.scalar(select(User).where(User.username == "regulator"))
            attacker.password_hash = hash_password(TEST_PASSWORD)
        else:
            attacker = make_person(world["OTHER"], app_role=role).user
        db.session.commit()
        client = app.test_client()
        login(client, attacker)
        for rule in _routes(app):
            if access_of(app.view_functions[rule.endpoint]) == PUBLIC or not any(
                type(rule._converters.get(a)).__name__ == "IntegerConverter" for a in rule.arguments
            ):
                continue
            url = _fill(rule, lambda p, v=victim: _victim_id(_models_for(p), v.id))
            if url is None:
                continue
            checked += 1
            r = client.get(url)
            if r.status_code not in ALLOWED:
                leaks.append(f"{role}: {rule.endpoint} {url} → {r.status_code}")
    assert leaks == []
    assert checked > 50
