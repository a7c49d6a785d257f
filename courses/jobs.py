"""The transcode job: original → 720p/360p H.264 MP4 + poster, stored under MEDIA_DIR.

A file that can't be used ends the asset ``failed`` with the pipeline's message; nothing else is touched (the
lesson keeps any previous ready video). The job itself ends done either way, so the asset carries the state
and the course page offers its own retry.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from typing import Any

from flask import current_app
from sqlalchemy import update

from lms.core.db import db, utcnow
from lms.core.jobs import Job, JobContext
from lms.core.storage import media_root, new_key, path_of, scrub_paths

from .media import MediaError, ffmpeg_binary, transcode
from .models import FAILED, PROCESSING, READY, Lesson, VideoAsset

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 4 * 3600
# The job's messages (English in the job row; translated where they are shown, courses.views.JOB_MESSAGES).
CHECKING_MESSAGE, CONVERTING_MESSAGE, READY_MESSAGE = "Checking the video", "Converting", "Ready"


def transcode_video(ctx: JobContext, asset_id: int) -> dict[str, Any]:
    """Transcode one uploaded video (run through ``lms.core.jobs.enqueue``)."""
    asset = db.session.get(VideoAsset, asset_id)
    if asset is None:
        return {"status": "missing"}
    if asset.original is None:
        _fail(asset, "The original file is missing.", "")
        return {"status": FAILED, "error": asset.error}
    asset.status, asset.error, asset.error_detail = PROCESSING, None, None
    if asset.job_id is None:
        asset.job_id = ctx.job_id
    src = path_of(asset.original.key)
    ctx.progress(1, CHECKING_MESSAGE)
    if not ctx.eager:
        db.session.commit()  # show "processing" and let progress be written on its own connection (SQLite)
    work = media_root() / "tmp" / f"transcode-{asset_id}-{secrets.token_hex(6)}"
    config = current_app.config
    heights = tuple(config.get("COURSES_VIDEO_HEIGHTS", (720, 360)))
    try:
        result = transcode(
            src,
            work,
            heights=heights,
            ffmpeg=ffmpeg_binary(config.get("FFMPEG")),
            timeout=float(config.get("COURSES_TRANSCODE_TIMEOUT", DEFAULT_TIMEOUT)),
            on_progress=lambda pct: ctx.progress(min(98.0, pct), CONVERTING_MESSAGE),
        )
        renditions = []
        for r in result.renditions:
            key = new_key("video", ".mp4")
            dest = path_of(key)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(r.path), dest)
            renditions.append(
                {
                    "label": r.label,
                    "height": r.height,
                    "width": r.width,
                    "key": key,
                    "size": r.size,
                    "kbps": r.bitrate_kbps,
                }
            )
        poster_key = new_key("video-poster", ".jpg")
        path_of(poster_key).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(result.poster), path_of(poster_key))
    except MediaError as exc:
        if not ctx.eager:
            db.session.rollback()
        asset = db.session.get(VideoAsset, asset_id)
        _fail(asset, exc.message, exc.detail)
        return {"status": FAILED, "error": exc.message, "code": exc.code}
    except (
        Exception
    ) as exc:  # an unexpected failure still ends in a visible state, never "processing" forever
        log.exception("transcoding video asset %s failed", asset_id)
        if not ctx.eager:
            db.session.rollback()
        asset = db.session.get(VideoAsset, asset_id)
        _fail(asset, "The video could not be processed.", f"{exc.__class__.__name__}: {exc}")
        return {"status": FAILED, "error": asset.error}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    asset = db.session.get(VideoAsset, asset_id)
    old_keys = [r["key"] for r in asset.renditions or []] + ([asset.poster_key] if asset.poster_key else [])
    asset.renditions = renditions
    asset.poster_key = poster_key
    asset.duration = round(result.duration, 3)
    best = renditions[0] if renditions else {}
    asset.width, asset.height = best.get("width"), best.get("height")
    asset.status, asset.processed_at = READY, utcnow()
    lesson = db.session.get(Lesson, asset.lesson_id)
    lesson.duration = asset.duration
    # The job row says so in the same transaction that makes the asset ready: the runner marks the job done
    # only in a later one, and until then (or for good, if the worker dies in between) it read "98 % /
    # Converting" beside a video that plays.
    db.session.execute(update(Job).where(Job.id == ctx.job_id).values(progress=100, message=READY_MESSAGE))
    db.session.flush()
    for key in old_keys:  # a retried asset that had been ready before
        _unlink(key)
    return {"status": READY, "duration": asset.duration, "renditions": [r["label"] for r in renditions]}


def _fail(asset: VideoAsset, message: str, detail: str) -> None:
    # the detail is shown to trainers: no absolute server path in it (storage keys, working directories)
    asset.status, asset.error, asset.error_detail = FAILED, message[:500], scrub_paths(detail)[-4000:]
    db.session.flush()


def _unlink(key: str) -> None:
    try:
        os.unlink(path_of(key))
    except OSError:
        pass
