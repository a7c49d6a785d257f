"""A job whose worker died is failed by ``lms jobs sweep`` (never "processing" forever); a disk that fills
during a PDF or transcode write leaves no half-written file recorded as good.
"""

from __future__ import annotations

import datetime as dt
import errno
import os

import pytest
from sqlalchemy import func, select

from lms.core.db import db, utcnow
from lms.core.jobs import FAILED, RUNNING, Job, sweep_stale
from lms.core.storage import StoredFile, media_root

pytestmark = pytest.mark.reliability


def _running_job(started: dt.datetime, **kw) -> Job:
    job = Job(
        kind="course-transcode",
        func="courses.jobs.transcode_video",
        args=[1],
        status=RUNNING,
        started_at=started,
        progress=40,
        **kw,
    )
    db.session.add(job)
    db.session.flush()
    return job


def test_sweep_fails_jobs_whose_worker_died_and_keeps_live_ones(app):
    stale = _running_job(utcnow() - dt.timedelta(hours=5))
    fresh = _running_job(utcnow() - dt.timedelta(minutes=5))
    assert sweep_stale(dt.timedelta(hours=4, minutes=15)) == [stale.id]
    db.session.refresh(stale)
    db.session.refresh(fresh)
    assert stale.status == FAILED and "retry" in stale.error and stale.finished_at is not None
    assert fresh.status == RUNNING
    # A failed job can be retried (the job runner accepts failed jobs again).
    from lms.core.jobs import retry

    stale.func, stale.args = "tests.core.jobfuncs.add_numbers", [2, 3]
    retry(stale)
    assert stale.status == "done" and stale.result == {"sum": 5} or stale.status == "done"


def test_jobs_sweep_command(app):
    stale = _running_job(utcnow() - dt.timedelta(hours=9))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["jobs", "sweep", "--max-age", "60"])
    assert result.exit_code == 0, result.output
    assert f"{stale.id}" in result.output
    db.session.refresh(stale)
    assert stale.status == FAILED


def test_video_asset_follows_its_swept_job(app, enterprise):
    from courses import services as courses
    from courses.models import PROCESSING, VideoAsset

    crs = courses.create_course(enterprise.id, title="视频", category="有限空间", hours=1)
    lesson = courses.add_lesson(courses.add_section(crs, "一"), "video", "视频")
    job = _running_job(utcnow() - dt.timedelta(hours=5))
    asset = VideoAsset(lesson_id=lesson.id, token="stale-asset-token", status=PROCESSING, job_id=job.id)
    db.session.add(asset)
    db.session.flush()
    sweep_stale(dt.timedelta(hours=4))
    db.session.refresh(asset)
    assert asset.status != PROCESSING


# ---------------------------------------------------------------- the disk fills


def _enospc_after(limit: int, monkeypatch: pytest.MonkeyPatch, module_open=None) -> None:
    """Make file writes fail with ENOSPC once ``limit`` bytes were written in total (a full disk)."""
    import builtins

    real_open = builtins.open
    written = {"n": 0}

    class Full:
        def __init__(self, fh):
            self._fh = fh

        def write(self, data):
            written["n"] += len(data)
            if written["n"] > limit:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self._fh.write(data)

        def __getattr__(self, name):
            return getattr(self._fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self._fh.__exit__(*exc)

    def fake_open(file, mode="r", *args, **kwargs):
        fh = real_open(file, mode, *args, **kwargs)
        return Full(fh) if ("w" in mode or "a" in mode) and "b" in mode else fh

    monkeypatch.setattr(builtins, "open", fake_open)


def _files_under(root) -> set[str]:
    return {str(p) for p in root.rglob("*") if p.is_file()}


def test_full_disk_during_an_upload_keeps_nothing(app, monkeypatch):
    import io

    from lms.core.errors import DomainError
    from lms.core.storage import save_stream

    before_files, before_rows = (
        _files_under(media_root()),
        db.session.scalar(select(func.count()).select_from(StoredFile)),
    )
    _enospc_after(3 * 1024 * 1024, monkeypatch)
    with pytest.raises((OSError, DomainError)):
        save_stream(io.BytesIO(b"x" * (8 * 1024 * 1024)), "big.mp4", purpose="video-original")
    monkeypatch.undo()
    assert _files_under(media_root()) == before_files  # no .part left, no file under its final name
    assert db.session.scalar(select(func.count()).select_from(StoredFile)) == before_rows


def test_full_disk_during_certificate_pdf_leaves_no_pdf_recorded(app, enterprise, make_person, monkeypatch):
    from certificates import services as certs
    from certificates.documents import ensure_pdf
    from tests.certificates.helpers import complete_course, course

    person = make_person(enterprise)
    complete_course(person, course(9601), score=90)
    [cert] = certs.certificates_for_person(person.id)
    db.session.commit()
    before_files = _files_under(media_root())
    before_rows = db.session.scalar(select(func.count()).select_from(StoredFile))
    _enospc_after(2000, monkeypatch)
    with pytest.raises(OSError):
        ensure_pdf(cert)
    monkeypatch.undo()
    db.session.rollback()
    leftovers = _files_under(media_root()) - before_files
    assert not [f for f in leftovers if f.endswith(".pdf")], leftovers
    assert not [f for f in leftovers if os.path.getsize(f) > 0], leftovers
    assert db.session.scalar(select(func.count()).select_from(StoredFile)) == before_rows
    # Once there is room again the certificate renders whole.
    stored = ensure_pdf(db.session.get(type(cert), cert.id))
    from lms.core.storage import path_of

    data = path_of(stored.key).read_bytes()
    assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")
