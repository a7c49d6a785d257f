"""Course fixtures: a published course with a video lesson of a known duration (no ffmpeg needed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lms.core.db import db


@pytest.fixture
def make_course(app: Any) -> Callable[..., Any]:
    """``make_course(enterprise, duration=100.0, extra=("text",), publish=True, **settings)`` → (course, lessons)."""
    from courses import services
    from courses.models import READY, VideoAsset

    def make(
        enterprise: Any,
        duration: float | None = 100.0,
        extra: tuple[str, ...] = (),
        publish: bool = True,
        **settings: Any,
    ) -> tuple[Any, list[Any]]:
        course = services.create_course(
            enterprise.id if enterprise is not None else None,
            title=settings.pop("title", "有限空间作业安全"),
            category="有限空间",
            hours=2,
            **settings,
        )
        section = services.add_section(course, "第一章")
        lessons = []
        if duration:
            video = services.add_lesson(section, "video", "视频：有限空间的危险")
            video.duration = duration
            db.session.add(
                VideoAsset(
                    lesson_id=video.id,
                    token=f"tok-{video.id}-x",
                    status=READY,
                    duration=duration,
                    renditions=[],
                )
            )
            lessons.append(video)
        for kind in extra:
            kwargs: dict[str, Any] = {}
            if kind == "text":
                kwargs["body_markdown"] = "## 作业前\n\n- 先通风\n- 再检测"
            if kind == "link":
                kwargs["url"] = "https://example.org/law"
            if kind == "exam":
                kwargs["exam_id"] = 4242
            lessons.append(services.add_lesson(section, kind, f"{kind} 课时", **kwargs))
        db.session.flush()
        if publish:
            services.set_status(course, "published")
        return course, lessons

    return make
