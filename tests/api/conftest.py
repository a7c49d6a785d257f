"""Fixtures of the API tests: two enterprises with people, a regulator, and keys of each."""

from __future__ import annotations

from typing import Any

import pytest

from lms.api import keys
from lms.api.models import SCOPES
from lms.core.db import db
from lms.org.models import REGULATOR, RegulatorAssignment, User


@pytest.fixture
def world(make_enterprise, make_person, password_hash) -> dict[str, Any]:
    a = make_enterprise(code="APIA", name="甲化工")
    b = make_enterprise(code="APIB", name="乙机械")
    c = make_enterprise(code="APIC", name="丙矿业")
    manager = make_person(a, name="管理员甲", employee_no="M001", app_role="manager")
    people_a = [make_person(a, name=f"甲员工{i}", employee_no=f"A{i:03d}") for i in range(5)]
    people_b = [make_person(b, name=f"乙员工{i}", employee_no=f"B{i:03d}") for i in range(3)]
    make_person(c, name="丙员工", employee_no="C001")
    regulator = User(
        username="api-regulator",
        password_hash=password_hash,
        display_name="区应急管理局",
        app_role=REGULATOR,
        must_change_password=False,
    )
    db.session.add(regulator)
    db.session.flush()
    for ent in (a, b):
        db.session.add(RegulatorAssignment(user_id=regulator.id, enterprise_id=ent.id))
    db.session.flush()
    key_a, secret_a = keys.create_key(
        name="HR 甲", scopes=SCOPES, actor=manager.user, enterprise=a, rate_per_minute=10_000
    )
    key_b, secret_b = keys.create_key(name="HR 乙", scopes=SCOPES, actor=None, enterprise=b)
    key_r, secret_r = keys.create_key(
        name="监管",
        scopes=["status:read", "people:read", "records:read"],
        actor=None,
        regulator=regulator,
        enterprise_ids=[a.id, b.id],
    )
    db.session.commit()
    return {
        "a": a,
        "b": b,
        "c": c,
        "manager": manager,
        "people_a": people_a,
        "people_b": people_b,
        "regulator": regulator,
        "key_a": key_a,
        "key_b": key_b,
        "key_r": key_r,
        "secret_a": secret_a,
        "secret_b": secret_b,
        "secret_r": secret_r,
    }


def auth(secret: str, lang: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {secret}"}
    if lang:
        headers["Accept-Language"] = lang
    return headers
