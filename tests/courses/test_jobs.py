"""Upload → transcode job (eager) → ready with renditions; bad files end failed and change nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from courses import services
from courses.models import FAILED, READY
from lms.core.db import db
from lms.core.jobs import Job
from lms.core.storage import StoredFile, path_of
from tests.fixtures.videos import make_audio_only, make_text_as_mp4, make_truncated, make_video


@pytest.fixture
def video_lesson(enterprise, make_course):
    course, _ = make_course(enterprise, duration=None, extra=("video",), publish=False)
    return course.sections[0].lessons[0]


def upload(lesson, path: Path, name: str | None = None):
    with open(path, "rb") as fh:
        return services.add_video(lesson, fh, name or path.name)


def test_upload_transcodes_to_ready(video_lesson, tmp_path):
    src = make_video(tmp_path / "phone.mp4", seconds=2, size="320x180")
    asset = upload(video_lesson, src)
    db.session.refresh(asset)
    assert asset.status == READY, asset.error
    assert asset.duration == pytest.approx(2, abs=0.3)
    assert [r["label"] for r in asset.renditions] == ["180p"]  # never upscaled
    for r in asset.renditions:
        assert path_of(r["key"]).stat().st_size == r["size"] > 0
    assert path_of(asset.poster_key).read_bytes()[:2] == b"\xff\xd8"
    assert asset.original is not None and path_of(asset.original.key).exists()  # the original is kept
    assert video_lesson.duration == asset.duration
    job = db.session.get(Job, asset.job_id)
    assert job.status == "done" and job.kind == "course-transcode"
    assert video_lesson.ready_video is asset


def test_two_renditions_for_720p(video_lesson, tmp_path):
    src = make_video(tmp_path / "hd.mp4", seconds=1, size="1280x720", audio=False)
    asset = upload(video_lesson, src)
    assert asset.status == READY, asset.error
    assert [(r["label"], r["height"]) for r in asset.renditions] == [("720p", 720), ("360p", 360)]


@pytest.mark.parametrize(
    "maker, expected",
    [
        (lambda p: make_audio_only(p / "voice.mp4"), "no video stream"),
        (lambda p: make_truncated(p / "cut.mp4", seconds=2), "truncated"),
        (lambda p: make_text_as_mp4(p / "notes.mp4"), "not a media file"),
    ],
)
def test_bad_files_fail_clearly_and_change_nothing_else(video_lesson, tmp_path, maker, expected):
    good = upload(video_lesson, make_video(tmp_path / "good.mp4", seconds=1, size="320x180"))
    assert good.status == READY
    duration = video_lesson.duration
    files_before = db.session.scalar(select(func.count(StoredFile.id)))
    bad = upload(video_lesson, maker(tmp_path))
    assert bad.status == FAILED
    assert expected in bad.error.lower()
    assert not bad.renditions and bad.poster_key is None
    # the lesson still plays the previous video; only the original of the bad upload was stored
    assert video_lesson.ready_video is good and video_lesson.duration == duration
    assert db.session.scalar(select(func.count(StoredFile.id))) == files_before + 1
    assert path_of(bad.original.key).exists()


def test_retry_a_failed_video(video_lesson, tmp_path):
    bad = upload(video_lesson, make_text_as_mp4(tmp_path / "x.mp4"))
    assert bad.status == FAILED
    first_job = bad.job_id
    # the file is replaced on disk by a good one (as if ffmpeg had been fixed), then retried
    make_video(path_of(bad.original.key), seconds=1, size="320x180")
    services.retry_video(bad)
    assert bad.status == READY and bad.job_id != first_job and bad.error is None
