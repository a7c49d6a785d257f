"""``lms courses ...`` commands."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from lms.core.db import db


@click.group("courses")
def courses_group() -> None:
    """Online courses."""


@courses_group.command("retry-failed")
@with_appcontext
def retry_failed() -> None:
    """Queue every failed video again (after fixing ffmpeg, for instance)."""
    from . import services
    from .models import FAILED, VideoAsset

    n = 0
    for asset in db.session.scalars(select(VideoAsset).where(VideoAsset.status == FAILED)):
        services.retry_video(asset)
        n += 1
    db.session.commit()
    from lms.core.jobs import wait_for_idle

    wait_for_idle(timeout=3600)
    click.echo(f"{n} videos queued again")


commands = [courses_group]
