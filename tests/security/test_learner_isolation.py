"""A learner cannot read another learner's attempt, progress, certificate file or media in the same enterprise:
knowing the ids (or the media token) in the URL is not enough.
"""

from __future__ import annotations

from typing import Any

import pytest

from courses import services as courses
from courses.models import READY, VideoAsset
from lms.core.db import db
from lms.core.storage import save_bytes
from quizzes import attempts
from tests.certificates.helpers import complete_course, course
from tests.conftest import login

VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42" + b"alice-only-video" * 64
POSTER_BYTES = b"\xff\xd8\xff\xe0alice-only-poster"


@pytest.fixture
def alices_things(exam_world: dict[str, Any]) -> dict[str, Any]:
    from certificates import services as certs

    w = exam_world
    alice = w["alice"]
    # A finished and an open attempt.
    done = attempts.start_attempt(w["exam"], alice)
    attempts.submit_attempt(done)
    open_attempt = attempts.start_attempt(w["exam"], alice)
    # A course only Alice is enrolled in, with a processed video whose files exist.
    crs = courses.create_course(w["enterprise"].id, title="爱丽丝的专项课程", category="有限空间", hours=2)
    section = courses.add_section(crs, "第一章")
    lesson = courses.add_lesson(section, "video", "专项视频")
    video = save_bytes(VIDEO_BYTES, "v.mp4", purpose="video", enterprise_id=w["enterprise"].id)
    poster = save_bytes(POSTER_BYTES, "p.jpg", purpose="video-poster", enterprise_id=w["enterprise"].id)
    asset = VideoAsset(
        lesson_id=lesson.id,
        token="alice-secret-token-0123456789",
        status=READY,
        duration=10.0,
        original_id=video.id,
        poster_key=poster.key,
        renditions=[{"label": "360p", "height": 360, "width": 640, "key": video.key, "size": 1}],
    )
    db.session.add(asset)
    lesson.duration = 10.0
    db.session.flush()
    courses.set_status(crs, "published")
    courses.enrol(crs, alice, source="assigned")
    # A certificate.
    complete_course(alice, course(9401, title="爱丽丝的证书课程"), score=90)
    [cert] = certs.certificates_for_person(alice.id)
    db.session.commit()
    return {"done": done, "open": open_attempt, "course": crs, "lesson": lesson, "asset": asset, "cert": cert}


def test_learner_cannot_reach_another_learners_things(client, exam_world, alices_things):
    w, a = exam_world, alices_things
    # The control: Alice herself gets every one of these.
    login(client, w["alice"].user)
    own = {
        f"/quizzes/attempts/{a['done'].id}/result": 200,
        f"/quizzes/attempts/{a['open'].id}": 200,
        f"/quizzes/attempts/{a['open'].id}/state": 200,
        f"/courses/media/{a['asset'].token}/360p": 200,
        f"/courses/media/{a['asset'].token}/poster": 200,
        f"/certificates/{a['cert'].id}/pdf": 200,
        f"/courses/lessons/{a['lesson'].id}": 200,
    }
    for url, status in own.items():
        assert client.get(url).status_code == status, url
    client.post("/logout")

    login(client, w["bob"].user)
    leaks = []
    for url in [
        *own,
        f"/quizzes/attempts/{a['done'].id}",
        f"/quizzes/attempts/{a['done'].id}/state",
        f"/quizzes/attempts/{a['done'].id}/review",
        f"/courses/media/{a['asset'].token}/original",
        f"/training/people/{w['alice'].id}",
        f"/training/people/{w['alice'].id}?format=pdf",
        f"/offline/person/{w['alice'].id}",
        f"/courses/{a['course'].id}/progress",
        f"/courses/{a['course'].id}/progress.xlsx",
        f"/org/people/{w['alice'].id}",
    ]:
        r = client.get(url)
        body = r.get_data()
        # A self-enrol course sends a non-enrolled learner from a lesson to its course page: not a leak.
        to_course = r.status_code == 302 and r.headers["Location"].endswith(f"/courses/{a['course'].id}")
        if (
            (r.status_code not in (403, 404) and not to_course)
            or VIDEO_BYTES[:40] in body
            or b"alice-only" in body
        ):
            leaks.append(f"GET {url} -> {r.status_code}")
    aq = a["open"].questions[0]
    posts = {
        f"/quizzes/attempts/{a['open'].id}/answer": {"aq": aq.id, "answer": None, "seq": 99},
        f"/quizzes/attempts/{a['open'].id}/flag": {"aq": aq.id, "flagged": True},
        f"/quizzes/attempts/{a['open'].id}/submit": None,
        f"/courses/lessons/{a['lesson'].id}/heartbeat": {"session": "s", "position": 9, "playing": True},
        f"/courses/lessons/{a['lesson'].id}/done": None,
    }
    for url, body in posts.items():
        r = client.post(url, json=body) if body is not None else client.post(url)
        if r.status_code not in (403, 404):
            leaks.append(f"POST {url} -> {r.status_code}")
    assert leaks == []
    # Bob's pages never show Alice's attempt, course progress or certificate.
    mine = "".join(
        client.get(u).get_data(as_text=True)
        for u in ("/quizzes/", "/courses/my", "/certificates/mine", "/training/mine")
    )
    assert a["cert"].number not in mine and "爱丽丝的专项课程" not in mine
    db.session.expire_all()
    assert db.session.get(type(a["open"]), a["open"].id).status == "open"
    assert not any(q.flagged for q in db.session.get(type(a["open"]), a["open"].id).questions)
