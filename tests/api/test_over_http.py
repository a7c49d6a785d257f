"""The API over real HTTP: the app served on loopback, called with urllib by keys of two enterprises and of a
regulator (scope respected, revoked key refused, rate limit answered 429)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any

import pytest
from werkzeug.serving import make_server

from lms.api import keys
from lms.core.db import db


@pytest.fixture
def base(app) -> Any:
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/api/v1"
    finally:
        server.shutdown()
        server.server_close()


def call(url: str, secret: str | None = None, body: Any = None, lang: str = "en") -> tuple[int, Any, Any]:
    headers = {"Accept-Language": lang, "Host": "lms.test"}
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(
        url, data=data, headers=headers, method="POST" if body is not None else "GET"
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback
            return resp.status, json.loads(resp.read()), resp.headers
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), exc.headers


def test_keys_over_http(base, world):
    db.session.commit()
    status, body, _h = call(f"{base}/people?limit=1000", world["secret_a"])
    assert status == 200 and {p["employee_no"] for p in body["items"]} >= {"A000", "M001"}
    assert not any(p["employee_no"].startswith("B") for p in body["items"])
    status, body, _h = call(f"{base}/people?limit=1000", world["secret_b"])
    assert status == 200 and {p["employee_no"] for p in body["items"]} == {"B000", "B001", "B002"}
    other = world["people_b"][0].id
    assert call(f"{base}/people/{other}", world["secret_a"])[0] == 404
    # The regulator: figures of both enterprises, names of neither (not shared), no writing.
    assert call(f"{base}/coverage/role?enterprise=APIA", world["secret_r"])[0] == 200
    assert call(f"{base}/coverage/role?enterprise=APIB", world["secret_r"])[0] == 200
    assert call(f"{base}/coverage/role?enterprise=APIC", world["secret_r"])[0] == 404
    assert call(f"{base}/people?enterprise=APIA", world["secret_r"])[0] == 404
    status, body, _h = call(
        f"{base}/records",
        world["secret_r"],
        body={
            "enterprise": "APIA",
            "external_id": "x",
            "employee_no": "A000",
            "topic": "t",
            "completed_at": "2026-11-01T10:00:00",
        },
    )
    assert status == 403 and body["error"]["code"] == "scope_missing"
    # A record written over HTTP by A's key.
    status, body, _h = call(
        f"{base}/records",
        world["secret_a"],
        body={
            "external_id": "HTTP-1",
            "employee_no": "A002",
            "topic": "外部培训",
            "hours": "2",
            "completed_at": "2026-11-01T10:00:00",
        },
    )
    assert status == 201 and body["record"]["completed_at"] == "2026-11-01T10:00:00+08:00"
    # Revoked: refused at once.
    keys.revoke_key(world["key_b"], actor=None)
    db.session.commit()
    status, body, _h = call(f"{base}/people", world["secret_b"])
    assert status == 401 and body["error"]["message"] == "The API key is unknown or revoked."
    # Rate limited: 429 with Retry-After.
    _key, slow = keys.create_key(
        name="限速", scopes=["people:read"], actor=None, enterprise=world["a"], rate_per_minute=2
    )
    db.session.commit()
    answers = [call(f"{base}/posts", slow) for _ in range(3)]
    assert [a[0] for a in answers] == [200, 200, 429]
    assert int(answers[2][2]["Retry-After"]) >= 1
