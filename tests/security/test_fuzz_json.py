"""A property-based fuzzer (hypothesis) against the JSON endpoints: video heartbeats, exam autosave/flag/check,
the mistake-book check and job status. Whatever the body — any JSON type, huge numbers, NaN, infinities,
negative values, unicode, not JSON at all — the answer is never a 5xx.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from courses import services as courses
from lms.core.db import db
from quizzes import attempts
from tests.conftest import login

FIELDS = ["aq", "answer", "seq", "flagged", "position", "rate", "playing", "session", "now", "duration"]
HUGE = [2**31, 2**63, 2**64 + 1, -(2**63) - 1, 10**30, -1, 0, 1e308, -1e308, 1e-320]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(HUGE),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["NaN", "Infinity", "-1", "1e999", "０", "١٢", "\u202e", "\x00", "'; DROP TABLE x;--"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
objects = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), values, max_size=6)


def _encode(body: Any) -> bytes:
    return json.dumps(body, allow_nan=True, ensure_ascii=False).encode("utf-8", "surrogatepass")


bodies = st.one_of(
    objects.map(_encode),
    values.map(_encode),
    st.binary(max_size=64),
    st.sampled_from(
        [
            b"",
            b"{",
            b"NaN",
            b"[]",
            b"null",
            b'{"aq": 1e999}',
            b'{"seq": -Infinity}',
            b'{"position": NaN, "rate": Infinity}',
            b"\xff\xfe\x00",
            b'{"aq":' + b"9" * 400 + b"}",
        ]
    ),
)


@pytest.fixture
def targets(client, exam_world, make_person):
    from lms.core.jobs import Job

    w = exam_world
    crs = courses.create_course(w["enterprise"].id, title="模糊课程", category="有限空间", hours=1)
    lesson = courses.add_lesson(courses.add_section(crs, "一"), "video", "视频")
    lesson.duration = 60.0
    from courses.models import READY, VideoAsset

    db.session.add(
        VideoAsset(
            lesson_id=lesson.id, token="fuzz-token-1234567890", status=READY, duration=60.0, renditions=[]
        )
    )
    courses.set_status(crs, "published")
    courses.enrol(crs, w["alice"], source="assigned")
    attempt = attempts.start_attempt(w["exam"], w["alice"])
    job = Job(
        kind="x",
        func="tests.core.jobfuncs.add_numbers",
        args=[1, 2],
        created_by_id=w["alice"].user.id,
        enterprise_id=w["enterprise"].id,
    )
    db.session.add(job)
    db.session.commit()
    login(client, w["alice"].user)
    return {
        "post": [
            f"/courses/lessons/{lesson.id}/heartbeat",
            f"/quizzes/attempts/{attempt.id}/answer",
            f"/quizzes/attempts/{attempt.id}/flag",
            f"/quizzes/attempts/{attempt.id}/check",
            f"/quizzes/mistakes/{attempt.questions[0].question_id}/check",
        ],
        "job": job.id,
    }


def _fuzz_settings(n: int):
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def test_json_endpoints_never_answer_5xx(client, targets):
    failures: dict[str, bytes] = {}

    @_fuzz_settings(160)
    @given(
        url=st.sampled_from(targets["post"]),
        body=bodies,
        ctype=st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain"]),
    )
    def post(url: str, body: bytes, ctype: str) -> None:
        where = url.rsplit("/", 1)[-1]
        try:
            r = client.post(url, data=body, content_type=ctype, headers={"Accept": "application/json"})
        except Exception as exc:  # the test app propagates a view's exception instead of answering 500
            failures.setdefault(f"{where}: {type(exc).__name__}: {str(exc)[:80]}", body[:100])
            db.session.rollback()
            return
        if r.status_code >= 500:
            failures.setdefault(f"{where}: {r.status_code}", body[:100])

    post()
    assert failures == {}, "\n".join(f"{k}  <-  {v!r}" for k, v in sorted(failures.items()))


def test_job_status_never_answers_5xx(client, targets):
    @_fuzz_settings(40)
    @given(
        job_id=st.one_of(st.sampled_from([targets["job"], 0, 2**31, 2**63, 2**64]), st.integers(0, 2**70)),
        fmt=st.one_of(st.none(), st.text(max_size=10), st.just("json")),
        accept=st.sampled_from(["application/json", "text/html", "*/*", "application/json;q=NaN", ""]),
    )
    def get(job_id: int, fmt: str | None, accept: str) -> None:
        try:
            r = client.get(
                f"/jobs/{job_id}",
                query_string={"format": fmt} if fmt is not None else {},
                headers={"Accept": accept},
            )
        except Exception as exc:  # propagated by the test app: a 500 in production
            raise AssertionError(f"/jobs/{job_id} {fmt!r} {accept!r}: {exc!r}") from None
        assert r.status_code < 500, (job_id, fmt, accept, r.status_code)
        if r.status_code == 200 and r.is_json:
            assert not any(isinstance(v, float) and math.isnan(v) for v in r.json.values())

    get()
