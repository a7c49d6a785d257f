"""Keys over HTTP: two enterprises and a regulator, scopes, revocation, rate limits, the call log, errors."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from lms.api import keys
from lms.api.models import ApiCall, ApiKey
from lms.core.db import db
from tests.api.conftest import auth


def test_no_key_bad_key_and_revoked_key_are_refused(client, world):
    r = client.get("/api/v1/people")
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    r = client.get("/api/v1/people", headers=auth("lms_deadbeef_" + "x" * 43))
    assert r.status_code == 401 and r.json["error"]["code"] == "invalid_key"
    # A key is only found by its whole secret: the visible prefix alone opens nothing.
    r = client.get("/api/v1/people", headers=auth(world["key_a"].prefix + "_wrong"))
    assert r.status_code == 401
    assert client.get("/api/v1/people", headers=auth(world["secret_a"])).status_code == 200
    keys.revoke_key(world["key_a"], actor=None)
    db.session.commit()
    r = client.get("/api/v1/people", headers=auth(world["secret_a"]))
    assert r.status_code == 401 and r.json["error"]["code"] == "invalid_key"


def test_secret_is_stored_hashed_with_a_visible_prefix(world):
    key = db.session.get(ApiKey, world["key_a"].id)
    assert world["secret_a"].startswith(key.prefix + "_")
    assert world["secret_a"] not in (key.secret_hash, key.prefix)
    assert key.secret_hash == keys.hash_token(world["secret_a"])


def test_each_key_reaches_its_own_enterprise_only(client, world):
    r = client.get("/api/v1/people?limit=1000", headers=auth(world["secret_a"]))
    assert {p["employee_no"] for p in r.json["items"]} == {"M001", "A000", "A001", "A002", "A003", "A004"}
    r = client.get("/api/v1/people?limit=1000", headers=auth(world["secret_b"]))
    assert {p["employee_no"] for p in r.json["items"]} == {"B000", "B001", "B002"}
    other = world["people_b"][0]
    for url in (
        f"/api/v1/people/{other.id}",
        f"/api/v1/status/people/{other.id}",
        "/api/v1/people?enterprise=APIB",
        f"/api/v1/records?person_id={other.id}",
        "/api/v1/coverage/role?enterprise=APIB",
        "/api/v1/people?employee_no=B000&enterprise=APIB",
        "/api/v1/departments?enterprise=APIB",
    ):
        r = client.get(url, headers=auth(world["secret_a"]))
        assert r.status_code == 404, url
        assert r.json["error"]["code"] == "not_found"
        assert "乙" not in r.get_data(as_text=True)
    # Writing into another enterprise: a person of B is not found by A's key, whatever the body says.
    r = client.post(
        "/api/v1/records",
        headers=auth(world["secret_a"]),
        json={
            "enterprise": "APIB",
            "external_id": "x-1",
            "employee_no": "B000",
            "topic": "t",
            "completed_at": "2026-11-01T10:00:00",
        },
    )
    assert r.status_code == 404
    r = client.post(
        "/api/v1/records",
        headers=auth(world["secret_b"]),
        json={
            "external_id": "x-1",
            "employee_no": "B000",
            "topic": "外部培训",
            "completed_at": "2026-11-01T10:00:00",
        },
    )
    assert r.status_code == 201
    rid = r.json["record"]["id"]
    r = client.post(f"/api/v1/records/{rid}/void", headers=auth(world["secret_a"]), json={"reason": "x"})
    assert r.status_code == 404
    r = client.post(
        "/api/v1/people/bulk",
        headers=auth(world["secret_a"]),
        json={"enterprise": "APIB", "people": [{"employee_no": "B000", "name": "改名"}]},
    )
    assert r.status_code == 404
    assert {
        e["code"] for e in client.get("/api/v1/enterprises", headers=auth(world["secret_a"])).json["items"]
    } == {"APIA"}


def test_scopes_are_respected(client, world):
    _key, secret = keys.create_key(name="只读", scopes=["people:read"], actor=None, enterprise=world["a"])
    db.session.commit()
    assert client.get("/api/v1/people", headers=auth(secret)).status_code == 200
    for method, url, body in (
        ("get", "/api/v1/records", None),
        ("get", "/api/v1/coverage/role", None),
        ("get", "/api/v1/certificates", None),
        ("post", "/api/v1/people/bulk", {"people": [{"employee_no": "N1", "name": "新"}]}),
        (
            "post",
            "/api/v1/records",
            {"external_id": "e", "employee_no": "A000", "topic": "t", "completed_at": "2026-11-01T10:00:00"},
        ),
    ):
        r = getattr(client, method)(url, headers=auth(secret), json=body)
        assert r.status_code == 403, url
        assert r.json["error"]["code"] == "scope_missing"


def test_regulator_key_reads_its_scope_of_enterprises_only(client, world):
    h = auth(world["secret_r"])
    r = client.get("/api/v1/enterprises", headers=h)
    assert [e["code"] for e in r.json["items"]] == ["APIA", "APIB"]
    r = client.get("/api/v1/coverage/role", headers=h)
    assert r.status_code == 400 and r.json["error"]["code"] == "enterprise_required"
    assert client.get("/api/v1/coverage/role?enterprise=APIA", headers=h).status_code == 200
    assert client.get("/api/v1/coverage/role?enterprise=APIB", headers=h).status_code == 200
    assert client.get("/api/v1/coverage/role?enterprise=APIC", headers=h).status_code == 404  # not assigned
    # Names only where the enterprise shares them with its regulator (as on the regulator's pages).
    assert client.get("/api/v1/people?enterprise=APIA", headers=h).status_code == 404
    world["a"].share_names_with_regulator = True
    db.session.commit()
    assert client.get("/api/v1/people?enterprise=APIA", headers=h).status_code == 200
    # Read only: no write scope, and the scope it lacks is refused.
    r = client.post(
        "/api/v1/records",
        headers=h,
        json={
            "enterprise": "APIA",
            "external_id": "e",
            "employee_no": "A000",
            "topic": "t",
            "completed_at": "2026-11-01T10:00:00",
        },
    )
    assert r.status_code == 403
    # The assignment ends: the key no longer reaches the enterprise.
    from lms.org.models import RegulatorAssignment

    db.session.delete(db.session.get(RegulatorAssignment, (world["regulator"].id, world["b"].id)))
    db.session.commit()
    assert client.get("/api/v1/coverage/role?enterprise=APIB", headers=h).status_code == 404


def test_regulator_key_cannot_be_made_to_write_or_reach_beyond_assignments(world):
    import pytest

    from lms.core.errors import DomainError

    with pytest.raises(DomainError):
        keys.create_key(
            name="x",
            scopes=["people:write"],
            actor=None,
            regulator=world["regulator"],
            enterprise_ids=[world["a"].id],
        )
    with pytest.raises(DomainError):
        keys.create_key(
            name="x",
            scopes=["status:read"],
            actor=None,
            regulator=world["regulator"],
            enterprise_ids=[world["c"].id],
        )


def test_rate_limit_answers_429_with_retry_after_and_every_call_is_logged(client, world):
    key, secret = keys.create_key(
        name="慢", scopes=["people:read"], actor=None, enterprise=world["a"], rate_per_minute=3
    )
    db.session.commit()
    codes = [client.get("/api/v1/departments", headers=auth(secret)).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200]
    assert codes[3:] == [429, 429]
    r = client.get("/api/v1/departments", headers=auth(secret, "en"))
    assert r.status_code == 429 and r.json["error"]["code"] == "rate_limited"
    assert 1 <= int(r.headers["Retry-After"]) <= 121
    # Another key is not slowed by this one.
    assert client.get("/api/v1/departments", headers=auth(world["secret_a"])).status_code == 200
    logged = db.session.execute(
        select(ApiCall.status, ApiCall.path).where(ApiCall.api_key_id == key.id).order_by(ApiCall.id)
    ).all()
    assert [s for s, _p in logged] == [200, 200, 200, 429, 429, 429]
    assert all(p == "/api/v1/departments" for _s, p in logged)


def test_log_is_bounded(client, world, monkeypatch):
    monkeypatch.setattr(keys, "LOG_PRUNE_EVERY", 1)
    monkeypatch.setenv("LMS_API_LOG_ROWS", "3")
    for _ in range(6):
        client.get("/api/v1/departments", headers=auth(world["secret_a"]))
    assert db.session.scalar(select(func.count()).select_from(ApiCall)) <= 3


def test_errors_are_json_in_the_callers_language(client, world):
    zh = client.get("/api/v1/people/999999", headers=auth(world["secret_a"]))
    en = client.get("/api/v1/people/999999", headers=auth(world["secret_a"], "en-US,en;q=0.9"))
    assert zh.status_code == en.status_code == 404
    assert zh.json["error"]["code"] == en.json["error"]["code"] == "not_found"
    assert en.json["error"]["message"] == "Not found, or not yours to see."
    assert zh.json["error"]["message"] != en.json["error"]["message"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh.json["error"]["message"])  # Chinese by default
    r = client.get("/api/v1/no-such-thing", headers=auth(world["secret_a"], "en"))
    assert r.status_code == 404 and set(r.json["error"]) >= {"code", "message"}


def test_forged_cursor_and_bad_queries_are_400(client, world):
    h = auth(world["secret_a"])
    for url in (
        "/api/v1/people?cursor=!!!",
        "/api/v1/people?cursor=aWQ6LTE",
        "/api/v1/people?limit=0",
        "/api/v1/people?limit=10000",
        "/api/v1/people?department_id=99999999999",
        "/api/v1/people?status=gone",
        "/api/v1/people?unknown=1",
        "/api/v1/records?since=yesterday",
        "/api/v1/people?employee_no=%00",
        "/api/v1/coverage/role?as_of=2026-13-01",
    ):
        r = client.get(url, headers=h)
        assert r.status_code == 400, (url, r.status_code)
        assert r.json["error"]["code"] in ("invalid_request", "invalid_cursor")


def test_cursor_pagination_walks_every_person_once(client, world, make_person):
    for i in range(7):
        make_person(world["a"], employee_no=f"P{i:02d}")
    db.session.commit()
    seen, cursor, pages = [], None, 0
    while True:
        r = client.get(
            "/api/v1/people?limit=4" + (f"&cursor={cursor}" if cursor else ""),
            headers=auth(world["secret_a"]),
        )
        seen += [p["id"] for p in r.json["items"]]
        pages += 1
        cursor = r.json["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 13 and pages == 4


def test_bad_bodies_never_give_500(client, world):
    h = {**auth(world["secret_a"]), "Content-Type": "application/json"}
    bodies = [
        b"",
        b"{",
        b"[]",
        b"null",
        b'"x"',
        b'{"people": 1}',
        b'{"people": [1]}',
        b'{"people": [{"name": 1}]}',
        b'{"people": [{"employee_no": "\\u0000", "name": "x"}]}',
        b'{"people": [{"employee_no": "a", "name": "b", "hire_date": "1e999"}]}',
        json.dumps({"external_id": "a b", "employee_no": "A000", "topic": "t", "completed_at": "x"}).encode(),
        json.dumps(
            {
                "external_id": "e1",
                "employee_no": "A000",
                "topic": "t",
                "hours": 1e308,
                "completed_at": "2026-11-01T10:00:00",
            }
        ).encode(),
        json.dumps(
            {
                "external_id": "e1",
                "employee_no": "A000",
                "topic": "t",
                "hours": "NaN",
                "completed_at": "2026-11-01T10:00:00",
            }
        ).encode(),
        b'{"reason": ""}',
        b"\xff\xfe",
    ]
    for url in (
        "/api/v1/people/bulk",
        "/api/v1/records",
        "/api/v1/records/1/void",
        "/api/v1/records/99999999999/void",
    ):
        for body in bodies:
            r = client.post(url, headers=h, data=body)
            assert r.status_code < 500, (url, body, r.status_code)
            assert r.status_code in (400, 404, 409, 422), (url, body, r.status_code)
            assert "error" in r.json or "errors" in r.json


def test_unknown_paths_and_methods_answer_json(client, world):
    r = client.delete("/api/v1/people", headers=auth(world["secret_a"], "en"))
    assert (
        r.status_code == 405
        and r.json["error"]["code"] == "method_not_allowed"
        and r.headers["Allow"] == "GET"
    )
    r = client.put("/api/v1/records", headers=auth(world["secret_a"]))
    assert r.status_code == 405 and r.headers["Allow"] == "GET, POST"
    r = client.get("/api/v1/people/bulk", headers=auth(world["secret_a"]))
    assert r.status_code == 405 and r.headers["Allow"] == "POST"
    r = client.get("/api/v1/peoples", headers=auth(world["secret_a"]))
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


def test_sliding_window_and_retry_after_are_exact(world):
    """The window over explicit times: a refused call does not count, and Retry-After is when a call fits."""
    key, _secret = keys.create_key(
        name="窗口", scopes=["people:read"], actor=None, enterprise=world["a"], rate_per_minute=3
    )
    db.session.flush()
    info = keys.KeyInfo(key.id, key.prefix, key.enterprise_id, None, frozenset(key.scope_list), 3)
    start = 1_800_000_000 - 1_800_000_000 % 60 + 10  # 10 s into a minute
    assert [keys.count_call(info, start + i) for i in range(3)] == [0, 0, 0]
    wait = keys.count_call(info, start + 3)
    assert wait == 67  # 47 s to the next minute, then 20 s until the 3 calls weigh 2
    assert keys.count_call(info, start + 3) == 67  # refusals do not push it further
    assert keys.count_call(info, start + 3 + wait - 2) > 0
    assert keys.count_call(info, start + 3 + wait) == 0
    assert keys.retry_after(previous=6, current=0, limit=3, into=0.0) == 40  # 6 weigh 2 after 40 s


def test_the_log_keeps_no_verification_code(client, world):
    client.get("/api/v1/certificates/verify?number=X-1&code=SECRETCODE", headers=auth(world["secret_a"]))
    path = db.session.scalar(
        select(ApiCall.path).where(ApiCall.api_key_id == world["key_a"].id).order_by(ApiCall.id.desc())
    )
    assert "SECRETCODE" not in path and path.startswith("/api/v1/certificates/verify?number=X-1")
