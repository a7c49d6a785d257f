"""Property-based: whatever the query string or the body, the API answers JSON and never a 5xx."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import auth

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**31, 2**63, -1, 0, 10**30, 1e308, -1e-320]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "NaN",
            "Infinity",
            "0001-01-01",
            "9999-12-31T23:59:59+14:00",
            "2026-02-30",
            "\x00",
            "\u202e",
            "'; DROP TABLE person;--",
            "A000",
            "lms_x",
            "一车间/甲班",
            "%",
            "_",
            "2026-11-01T10:00:00",
        ]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
RECORD_FIELDS = [
    "external_id",
    "employee_no",
    "kind",
    "topic",
    "hours",
    "completed_at",
    "started_at",
    "category",
    "level",
    "score",
    "passed",
    "valid_until",
    "certificate_no",
    "note",
    "enterprise",
]
PERSON_FIELDS = [
    "employee_no",
    "name",
    "department",
    "post",
    "roles",
    "hire_date",
    "away_from",
    "returned_on",
    "phone",
    "status",
]
QUERY_FIELDS = [
    "enterprise",
    "cursor",
    "limit",
    "department_id",
    "post_id",
    "role",
    "status",
    "employee_no",
    "person_id",
    "since",
    "until",
    "kind",
    "source",
    "external_id",
    "include_voided",
    "as_of",
    "role_id",
    "number",
    "code",
]
GETS = [
    "/api/v1/people",
    "/api/v1/records",
    "/api/v1/certificates",
    "/api/v1/coverage/role",
    "/api/v1/departments",
    "/api/v1/certificates/verify",
    "/api/v1/xapi/statements",
    "/api/v1/status/people/1",
]

query_values = st.one_of(
    st.text(max_size=20),
    st.integers().map(str),
    st.sampled_from(
        [
            "0",
            "-1",
            "2147483648",
            "99999999999999999999",
            "1e3",
            "true",
            "2026-13-40",
            "0001-01-01",
            "9999-12-31",
            "aWQ6MQ",
            "aWQ6LTE",
            "!!",
            "APIA",
            "APIB",
        ]
    ),
)


def _check(r: Any) -> None:
    assert r.status_code < 500, (r.status_code, r.get_data(as_text=True)[:300])
    body = r.get_json(silent=True)
    assert isinstance(body, dict)


@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    path=st.sampled_from(GETS),
    params=st.dictionaries(st.sampled_from(QUERY_FIELDS), query_values, max_size=4),
)
def test_any_query_string(client, world, path, params):
    _check(client.get(path + "?" + urlencode(params), headers=auth(world["secret_a"])))


@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(fields=st.dictionaries(st.sampled_from(RECORD_FIELDS), VALUES, max_size=8))
def test_any_record_body(client, world, fields):
    base = {"external_id": "F-1", "employee_no": "A000", "topic": "t", "completed_at": "2026-11-01T10:00:00"}
    body = json.dumps({**base, **fields}, allow_nan=True).encode("utf-8", "surrogatepass")
    _check(
        client.post(
            "/api/v1/records",
            headers={**auth(world["secret_a"]), "Content-Type": "application/json"},
            data=body,
        )
    )


@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    people=st.lists(st.dictionaries(st.sampled_from(PERSON_FIELDS), VALUES, max_size=6), max_size=4),
    dry_run=VALUES,
)
def test_any_bulk_body(client, world, people, dry_run):
    body = json.dumps({"people": people, "dry_run": dry_run}, allow_nan=True).encode("utf-8", "surrogatepass")
    _check(
        client.post(
            "/api/v1/people/bulk",
            headers={**auth(world["secret_a"]), "Content-Type": "application/json"},
            data=body,
        )
    )
