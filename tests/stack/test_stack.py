"""The scaled-out stack on loopback, as separate processes: two gunicorn instances on one PostgreSQL database
sharing one media directory, one RQ worker (``lms worker``) on Redis.

A trainer uploads a 3-second video through instance A; the transcode job runs on the worker (the web
instances only enqueue: LMS_REDIS_URL puts them in RQ mode); an enrolled learner then plays a rendition
through instance B with a Range request (206). Skipped when PostgreSQL, Redis or the courses upload route is
not available. Run: ``.venv/bin/pytest -m stack tests/stack``.

The schema comes from ``lms db upgrade``; tables of features whose migration the lead has not generated yet
are created from the models afterwards (a no-op once every feature has its revision).
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.http import Browser
from bench.server import Gunicorn

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DB_NAME = "lms_stack_test"
PG_ADMIN = (
    os.environ.get("LMS_TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
).replace("postgresql+psycopg://", "postgresql://")
REDIS_URL = os.environ.get("LMS_STACK_REDIS_URL") or "redis://127.0.0.1:6379/14"
PASSWORD = "stack-2026-pass"

SETUP = r"""
import sys
from sqlalchemy import inspect, select
from lms.app import create_app, import_models
from lms.core.db import Base, db
app = create_app()
with app.app_context():
    import_models()
    Base.metadata.create_all(db.engine)  # tables of features not yet in a migration (no-op otherwise)
    from lms.org.models import Enterprise, Person, User
    from lms.org.services import hash_password
    from courses import services as cs
    from courses.models import PUBLISHED, VIDEO
    ent = db.session.scalar(select(Enterprise).where(Enterprise.code == "BENCH-M"))
    trainer, learner = db.session.scalars(select(User).where(User.enterprise_id == ent.id, User.person_id.is_not(None))
                                          .order_by(User.id).limit(2)).all()
    pw = hash_password(sys.argv[1])
    for u, name, role in ((trainer, "stack-trainer", "trainer"), (learner, "stack-learner", "learner")):
        u.username, u.app_role, u.password_hash, u.must_change_password = name, role, pw, False
    course = cs.create_course(ent.id, actor=trainer, title="Stack test course")
    section = cs.add_section(course, "Videos")
    lesson = cs.add_lesson(section, VIDEO, "A three-second video")
    cs.set_status(course, PUBLISHED)
    cs.enrol(course, db.session.get(Person, learner.person_id))
    db.session.commit()
    print("LESSON", lesson.id)
"""


def _postgres_ok() -> bool:
    try:
        import psycopg

        psycopg.connect(PG_ADMIN, connect_timeout=3).close()
        return True
    except Exception:
        return False


def _redis_ok() -> bool:
    try:
        from redis import Redis

        return bool(Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping())
    except Exception:
        return False


def _upload_route() -> bool:
    if importlib.util.find_spec("courses") is None:
        return False
    try:
        import courses.views as views
    except Exception:
        return False
    return hasattr(views, "video_upload")


def _run(args: list[str], env: dict[str, str], timeout: float = 120) -> str:
    t = time.monotonic()
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(args[:3])} failed ({proc.returncode}):\n{proc.stdout[-1500:]}\n{proc.stderr[-3000:]}"
        )
    print(f"{' '.join(a.rsplit('/', 1)[-1] for a in args[:3])}: {time.monotonic() - t:.1f} s")
    return proc.stdout


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[dict[str, Any]]:
    if not _postgres_ok():
        pytest.skip("PostgreSQL not reachable")
    if not _redis_ok():
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    if not _upload_route():
        pytest.skip("the courses package's upload route is not there")
    import psycopg
    from redis import Redis

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    Redis.from_url(REDIS_URL).flushdb()
    url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + DB_NAME
    media = tmp_path / "shared-media"
    env = {
        **os.environ,
        "LMS_DATABASE_URL": url,
        "LMS_REDIS_URL": REDIS_URL,
        "LMS_MEDIA_DIR": str(media),
        "LMS_INSTANCE_DIR": str(tmp_path / "instance"),
        "LMS_SECRET_KEY": "stack-test-shared-secret",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("LMS_JOBS", None)
    _run([str(BIN / "lms"), "db", "upgrade"], env)
    # 1,000 generated people of enterprise BENCH-M (the full demo enterprise takes minutes on a busy machine)
    _run([str(BIN / "lms"), "demo", "--size", "M", "--no-records"], env, timeout=300)
    out = _run([str(BIN / "python"), "-c", SETUP, PASSWORD], env)
    lesson_id = int(re.search(r"LESSON (\d+)", out).group(1))
    worker_log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [str(BIN / "lms"), "worker"],
        cwd=ROOT,
        env=env,
        stdout=open(worker_log, "wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        with (
            Gunicorn("wsgi:app", env, workers=2, ready_path="/healthz", log=tmp_path / "a.log") as a,
            Gunicorn("wsgi:app", env, workers=2, ready_path="/healthz", log=tmp_path / "b.log") as b,
        ):
            yield {
                "a": a.url,
                "b": b.url,
                "lesson_id": lesson_id,
                "worker_log": worker_log,
                "media": media,
                "logs": tmp_path,
            }
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        Redis.from_url(REDIS_URL).flushdb()


def _video(path: Path) -> bytes:
    from courses.media import ffmpeg_binary

    subprocess.run(
        [
            ffmpeg_binary(),
            "-nostdin",
            "-y",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=25:duration=3",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=3",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            "-movflags",
            "+faststart",
            str(path),
        ],
        check=True,
        timeout=60,
    )
    return path.read_bytes()


def test_upload_on_a_transcode_on_worker_play_on_b(stack: dict[str, Any], tmp_path: Path) -> None:
    started = time.monotonic()
    trainer = Browser(stack["a"])
    trainer.login("stack-trainer", PASSWORD)
    trainer.get(
        f"/courses/lessons/{stack['lesson_id']}/edit"
    )  # the page with the upload form and its CSRF token
    resp = trainer.post_file(
        f"/courses/lessons/{stack['lesson_id']}/video",
        "file",
        "clip.mp4",
        _video(tmp_path / "clip.mp4"),
        content_type="video/mp4",
        headers={"Accept": "application/json"},
    )
    assert resp.status == 200, resp.text[:500]
    job_id = resp.json()["job"]
    assert job_id

    status: dict[str, Any] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = trainer.request(f"/jobs/{job_id}", headers={"Accept": "application/json"}).json()
        if status["status"] in ("done", "failed"):
            break
        time.sleep(0.5)
    worker_log = stack["worker_log"].read_text(errors="replace")
    assert status.get("status") == "done", (status, worker_log[-2000:])
    assert "run_job" in worker_log or "lms.core.jobs" in worker_log, worker_log[
        -2000:
    ]  # it ran on the worker

    learner = Browser(stack["b"])
    learner.login("stack-learner", PASSWORD)
    page = learner.get(f"/courses/lessons/{stack['lesson_id']}")
    assert page.status == 200
    sources = re.findall(r'/courses/media/[^"\'\s<>]+', page.text)
    videos = [s for s in sources if not s.endswith("/poster")]
    assert videos, page.text[:2000]
    part = learner.request(videos[0].replace("&amp;", "&"), headers={"Range": "bytes=0-1023"})
    assert part.status == 206, (part.status, part.headers)
    assert len(part.body) == 1024
    assert part.headers["Content-Range"].startswith("bytes 0-1023/")
    assert part.body[4:8] == b"ftyp"  # an MP4 from the shared media directory
    assert any(stack["media"].rglob("*.mp4"))
    assert time.monotonic() - started < 60
