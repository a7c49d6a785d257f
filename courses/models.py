"""Courses: catalogue, sections and lessons, video assets, enrolments and verified progress."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import Base, TimestampMixin, utcnow
from lms.core.storage import StoredFile, register_discard_source, register_key_source
from lms.org.models import Person

DRAFT, PUBLISHED, ARCHIVED = "draft", "published", "archived"
COURSE_STATUSES = (DRAFT, PUBLISHED, ARCHIVED)

VIDEO, DOCUMENT, TEXT, EXAM, LINK = "video", "document", "text", "exam", "link"
LESSON_KINDS = (VIDEO, DOCUMENT, TEXT, EXAM, LINK)

QUEUED, PROCESSING, READY, FAILED = "queued", "processing", "ready", "failed"

SOURCE_SELF, SOURCE_ASSIGNED = "self", "assigned"
ENROLLED, IN_PROGRESS, COMPLETED = "enrolled", "in_progress", "completed"
NOT_STARTED = "not_started"

DEFAULT_CATEGORIES = (
    "法律法规",
    "有限空间",
    "用电安全",
    "消防安全",
    "特种设备",
    "危险化学品",
    "个体防护",
    "应急救援",
)


class CourseCategory(Base):
    """A course category; each enterprise edits its own list (seeded with the defaults)."""

    __tablename__ = "course_category"
    __table_args__ = (UniqueConstraint("enterprise_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class Course(TimestampMixin, Base):
    """An online course; ``enterprise_id`` NULL means the shared platform library."""

    __tablename__ = "course"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int | None] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    cover_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id", ondelete="SET NULL"))
    category: Mapped[str | None] = mapped_column(String(100), index=True)
    hours: Mapped[Decimal] = mapped_column(Numeric(6, 1), default=Decimal("1"))
    status: Mapped[str] = mapped_column(String(16), default=DRAFT, index=True)
    self_enrol: Mapped[bool] = mapped_column(Boolean, default=True)
    forward_seek_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    max_playback_rate: Mapped[float] = mapped_column(Float, default=1.5)
    completion_threshold: Mapped[float] = mapped_column(Float, default=0.9)
    min_reading_seconds: Mapped[int] = mapped_column(Integer, default=60)
    issue_certificate: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime, onupdate=utcnow)

    cover: Mapped[StoredFile | None] = relationship()
    sections: Mapped[list[Section]] = relationship(
        back_populates="course", order_by="Section.position", cascade="all, delete-orphan"
    )
    lessons: Mapped[list[Lesson]] = relationship(order_by="Lesson.position", viewonly=True)


class Section(Base):
    """A chapter of a course."""

    __tablename__ = "course_section"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)

    course: Mapped[Course] = relationship(back_populates="sections")
    lessons: Mapped[list[Lesson]] = relationship(
        back_populates="section", order_by="Lesson.position", cascade="all, delete-orphan"
    )


class Lesson(TimestampMixin, Base):
    """One lesson: a video, a document, a text, an exam of quizzes or an external link."""

    __tablename__ = "course_lesson"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("course_section.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # An exam of ``quizzes`` (no foreign key: quizzes is a sibling package that may be absent).
    exam_id: Mapped[int | None] = mapped_column(Integer, index=True)
    body_markdown: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)  # sanitised by nh3
    url: Mapped[str | None] = mapped_column(String(1000))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id", ondelete="SET NULL"))
    document_token: Mapped[str | None] = mapped_column(String(64))
    duration: Mapped[float | None] = mapped_column(Float)  # seconds, of the ready video

    course: Mapped[Course] = relationship()
    section: Mapped[Section] = relationship(back_populates="lessons")
    document: Mapped[StoredFile | None] = relationship()
    videos: Mapped[list[VideoAsset]] = relationship(
        back_populates="lesson", order_by="VideoAsset.id", cascade="all, delete-orphan"
    )

    @property
    def ready_video(self) -> VideoAsset | None:
        """The newest asset that plays (a failed re-upload leaves the previous one in place)."""
        return next((v for v in reversed(self.videos) if v.status == READY), None)

    @property
    def latest_video(self) -> VideoAsset | None:
        return self.videos[-1] if self.videos else None


class VideoAsset(TimestampMixin, Base):
    """An uploaded video, its processing state and its renditions (the original is kept)."""

    __tablename__ = "course_video_asset"

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("course_lesson.id", ondelete="CASCADE"), index=True)
    original_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id", ondelete="SET NULL"))
    token: Mapped[str] = mapped_column(String(64), unique=True)  # in media URLs: unguessable
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    error: Mapped[str | None] = mapped_column(String(500))
    error_detail: Mapped[str | None] = mapped_column(Text)
    duration: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    # [{"label": "720p", "height": 720, "width": 1280, "key": "...", "size": 123}], largest first
    renditions: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    poster_key: Mapped[str | None] = mapped_column(String(200))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id", ondelete="SET NULL"))
    processed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    lesson: Mapped[Lesson] = relationship(back_populates="videos")
    original: Mapped[StoredFile | None] = relationship()

    def rendition(self, label: str) -> dict[str, Any] | None:
        return next((r for r in self.renditions or [] if r.get("label") == label), None)


class Enrolment(TimestampMixin, Base):
    """A person taking a course, self-enrolled or assigned (with a due date)."""

    __tablename__ = "course_enrolment"
    __table_args__ = (UniqueConstraint("course_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(16), default=SOURCE_SELF)
    status: Mapped[str] = mapped_column(String(16), default=ENROLLED)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("training_record.id", ondelete="SET NULL"))
    # Study time credited (seconds of content newly covered, document reading time).
    credited_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    # Wall-clock time up to which playback was credited: two tabs cannot credit the same real time twice.
    credited_wall_until: Mapped[dt.datetime | None] = mapped_column(DateTime)

    course: Mapped[Course] = relationship()
    person: Mapped[Person] = relationship()
    progress: Mapped[list[LessonProgress]] = relationship(
        back_populates="enrolment", cascade="all, delete-orphan"
    )


class LessonProgress(Base):
    """A person's progress in one lesson; ``intervals`` are the merged [start, end] seconds credited."""

    __tablename__ = "course_lesson_progress"
    __table_args__ = (UniqueConstraint("enrolment_id", "lesson_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("course_enrolment.id", ondelete="CASCADE"), index=True
    )
    lesson_id: Mapped[int] = mapped_column(ForeignKey("course_lesson.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=NOT_STARTED)
    credited_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    furthest_position: Mapped[float] = mapped_column(Float, default=0.0)
    last_position: Mapped[float] = mapped_column(Float, default=0.0)
    intervals: Mapped[list[list[float]] | None] = mapped_column(JSON)
    opened_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    enrolment: Mapped[Enrolment] = relationship(back_populates="progress")
    lesson: Mapped[Lesson] = relationship()


class PlaybackSession(Base):
    """One player (tab) playing a lesson: the anchor of the last heartbeat, server wall-clock time."""

    __tablename__ = "course_playback_session"
    __table_args__ = (UniqueConstraint("enrolment_id", "lesson_id", "token"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("course_enrolment.id", ondelete="CASCADE"), index=True
    )
    lesson_id: Mapped[int] = mapped_column(ForeignKey("course_lesson.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(64))
    last_wall: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_position: Mapped[float] = mapped_column(Float, default=0.0)
    playing: Mapped[bool] = mapped_column(Boolean, default=False)
    # The running budget (courses.progress): what this session credited may not exceed the wall time since
    # ``started_at`` × the course's maximum speed + ``slack_seconds`` (given once, at its start).
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    credited_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    slack_seconds: Mapped[float] = mapped_column(Float, default=0.0)


def _video_keys() -> Any:
    """Storage keys the video assets refer to outside ``stored_file`` (renditions, posters): kept by the sweep."""
    from sqlalchemy import select

    from lms.core.db import db

    for renditions, poster in db.session.execute(select(VideoAsset.renditions, VideoAsset.poster_key)):
        yield from (r.get("key") for r in renditions or [])
        if poster:
            yield poster


register_key_source(_video_keys)


def _superseded_failed_originals(cutoff: dt.datetime) -> Any:
    """Originals of videos that failed and were replaced by a later upload to the same lesson (refused uploads:
    their Retry is gone, so nothing will read them again). The latest upload of a lesson is kept even when it
    failed, for its Retry."""
    from sqlalchemy import and_, exists, select
    from sqlalchemy.orm import aliased

    from lms.core.db import db

    newer = aliased(VideoAsset)
    return db.session.scalars(
        select(StoredFile)
        .join(VideoAsset, VideoAsset.original_id == StoredFile.id)
        .where(
            VideoAsset.status == FAILED,
            StoredFile.created_at < cutoff,
            exists().where(and_(newer.lesson_id == VideoAsset.lesson_id, newer.id > VideoAsset.id)),
        )
    ).all()


register_discard_source(_superseded_failed_originals)
