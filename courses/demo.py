"""Demo courses for ``lms demo``: four Chinese courses with real short videos, enrolments and progress.

Idempotent: a course that exists (by title in the enterprise) is left as it is, and progress is only played
into enrolments that have none.
"""

from __future__ import annotations

import datetime as dt
import secrets
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from lms.core.db import db, utcnow
from lms.core.jobs import DONE, Job, JobContext
from lms.core.storage import save_path
from quizzes.models import Exam

from . import progress as prog
from . import services
from .jobs import transcode_video
from .media import ffmpeg_binary
from .models import READY, Course, Lesson, VideoAsset

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
)

COURSES: list[dict[str, Any]] = [
    {
        "title": "有限空间作业安全",
        "category": "有限空间",
        "hours": 2,
        "description": "依据《工贸企业有限空间作业安全规定》，讲解有限空间的辨识、作业审批、通风检测、监护与应急救援。",
        "sections": [
            (
                "第一章 认识有限空间",
                [
                    (
                        "video",
                        "有限空间的危险有害因素",
                        {"caption": "Confined space hazards", "size": "1280x720"},
                    ),
                    (
                        "text",
                        "作业前的“先通风、再检测、后作业”",
                        {
                            "body": (
                                "## 作业程序\n\n1. **办理审批**：填写有限空间作业审批表，明确作业负责人、监护人和作业人员。\n"
                                "2. **先通风**：打开人孔、采用机械通风，严禁用纯氧通风。\n"
                                "3. **再检测**：检测氧含量（19.5%–23.5%）、可燃气体和有毒气体（硫化氢、一氧化碳）。\n"
                                "4. **后作业**：全程设专人监护，保持联络。\n\n"
                                "> 未经通风和检测合格，任何人不得进入有限空间作业。"
                            )
                        },
                    ),
                ],
            ),
            (
                "第二章 应急救援",
                [
                    (
                        "text",
                        "盲目施救的教训",
                        {
                            "body": (
                                "有限空间事故中，**超过一半的死亡者是施救人员**。\n\n"
                                "- 发现有人晕倒，立即呼救并报告，不得盲目进入；\n"
                                "- 救援人员须佩戴正压式空气呼吸器和安全绳；\n"
                                "- 优先采用非进入式救援（三脚架、绞盘）。"
                            )
                        },
                    ),
                    (
                        "exam",
                        "有限空间作业安全考试",
                        {"exam_title": "有限空间作业安全考试", "required": True},
                    ),
                ],
            ),
        ],
    },
    {
        "title": "安全用电基础",
        "category": "用电安全",
        "hours": 1,
        "description": "触电的原因与预防、临时用电管理、漏电保护器的使用与触电急救。",
        "sections": [
            (
                "第一章 触电与预防",
                [
                    ("video", "触电事故是怎样发生的", {"caption": "Electrical safety"}),
                    (
                        "text",
                        "临时用电“一机一闸一漏一箱”",
                        {
                            "body": (
                                "## 临时用电要求\n\n| 要求 | 说明 |\n|---|---|\n| 一机 | 每台设备单独供电 |\n"
                                "| 一闸 | 每台设备有独立开关 |\n| 一漏 | 安装漏电保护器 |\n| 一箱 | 配电箱加锁、有警示标志 |\n\n"
                                "非电工严禁私拉乱接电线。"
                            )
                        },
                    ),
                ],
            ),
        ],
    },
    {
        "title": "消防安全与应急疏散",
        "category": "消防安全",
        "hours": 1.5,
        "description": "火灾的预防、灭火器的正确使用、报警与疏散逃生。",
        "sections": [
            (
                "第一章 会报警、会灭初起火灾、会逃生",
                [
                    ("video", "灭火器的使用方法", {"caption": "Fire extinguisher"}),
                    (
                        "text",
                        "疏散逃生要点",
                        {
                            "body": (
                                "- 发现火情立即拨打 **119**，并报告班组长；\n- 用湿毛巾捂住口鼻，低姿沿疏散指示方向撤离；\n"
                                "- 不乘电梯，不返回取物；\n- 到达集合点后清点人数。"
                            )
                        },
                    ),
                    ("link", "应急管理部消防安全科普", {"url": "https://www.mem.gov.cn/", "required": False}),
                ],
            ),
        ],
    },
    {
        "title": "劳动防护用品正确使用",
        "category": "个体防护",
        "hours": 1,
        "description": "安全帽、防护眼镜、防毒面具、安全带等劳动防护用品的选用、佩戴与检查。",
        "sections": [
            (
                "第一章 常用防护用品",
                [
                    ("video", "安全帽和安全带的正确佩戴", {"caption": "PPE"}),
                    (
                        "text",
                        "防毒面具的选用",
                        {
                            "body": (
                                "过滤式防毒面具**只能在氧含量不低于 19.5% 的环境中使用**；缺氧或毒物浓度不明时，"
                                "必须使用隔绝式（正压式空气呼吸器）。\n\n每次使用前检查面罩气密性和滤毒罐有效期。"
                            )
                        },
                    ),
                ],
            ),
        ],
    },
]


def _font() -> str | None:
    return next((f for f in FONT_CANDIDATES if Path(f).exists()), None)


def _make_video(path: Path, title: str, caption: str, seconds: int = 6, size: str = "640x360") -> Path:
    """Generate a short 640x360 clip with ffmpeg's lavfi sources (the title drawn on it when possible)."""
    binary = ffmpeg_binary(current_app.config.get("FFMPEG"))
    base = [
        binary,
        "-hide_banner",
        "-nostdin",
        "-v",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={size}:rate=25:duration={seconds}",
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=523:sample_rate=44100:duration={seconds}",
    ]
    tail = [
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        "-movflags",
        "+faststart",
        str(path),
    ]
    font = _font()
    attempts = []
    text_file = path.with_suffix(".txt")
    text_file.write_text(title if font else caption, encoding="utf-8")
    draw = (
        f"drawtext=textfile='{text_file}':fontsize=34:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=12:"
        "x=(w-text_w)/2:y=h-text_h-30"
    )
    if font:
        attempts.append(base + ["-vf", f"{draw}:fontfile='{font}'"] + tail)
    attempts.append(base + ["-vf", draw] + tail)
    attempts.append(base + tail)
    for cmd in attempts:
        if subprocess.run(cmd, capture_output=True, timeout=120).returncode == 0:
            return path
    raise RuntimeError("ffmpeg could not generate the demo video")


def _attach_video(lesson: Lesson, title: str, caption: str, workdir: Path, size: str = "640x360") -> None:
    if any(v.status == READY for v in lesson.videos):
        return
    src = _make_video(workdir / f"lesson-{lesson.id}.mp4", title, caption, size=size)
    stored = save_path(
        src, f"{title}.mp4", purpose="video-original", enterprise_id=lesson.course.enterprise_id
    )
    asset = VideoAsset(
        lesson_id=lesson.id, original_id=stored.id, token=secrets.token_urlsafe(24), status="queued"
    )
    db.session.add(asset)
    db.session.flush()
    job = Job(
        kind="course-transcode",
        func="courses.jobs.transcode_video",
        args=[asset.id],
        status="running",
        enterprise_id=lesson.course.enterprise_id,
        started_at=utcnow(),
    )
    db.session.add(job)
    db.session.flush()
    asset.job_id = job.id
    result = transcode_video(JobContext(job.id, eager=True), asset.id)
    job.status, job.progress, job.result, job.finished_at = DONE, 100, result, utcnow()
    db.session.flush()
    db.session.refresh(lesson)


def _exam_id(enterprise_id: int, title: str) -> int | None:
    return db.session.scalar(select(Exam.id).where(Exam.enterprise_id == enterprise_id, Exam.title == title))


def _build(enterprise: Any, spec: dict[str, Any], workdir: Path, trainer: Any) -> Course:
    course = db.session.scalar(
        select(Course).where(Course.enterprise_id == enterprise.id, Course.title == spec["title"])
    )
    if course is not None:
        return course
    course = services.create_course(
        enterprise.id,
        actor=trainer,
        title=spec["title"],
        description=spec["description"],
        category=spec["category"],
        hours=spec["hours"],
        self_enrol=True,
        min_reading_seconds=30,
    )
    for section_title, lessons in spec["sections"]:
        section = services.add_section(course, section_title)
        for kind, title, extra in lessons:
            if kind == "exam":
                exam_id = _exam_id(enterprise.id, extra["exam_title"])
                if exam_id is None:
                    continue  # the quizzes demo is absent: no exam lesson
                services.add_lesson(
                    section,
                    "exam",
                    title,
                    exam_id=exam_id,
                    body_markdown="通过本考试（80 分及格）后，本课时自动完成。",
                )
                continue
            lesson = services.add_lesson(
                section,
                kind,
                title,
                body_markdown=extra.get("body"),
                url=extra.get("url"),
                required=extra.get("required", True),
            )
            if kind == "video":
                _attach_video(lesson, title, extra.get("caption", ""), workdir, extra.get("size", "640x360"))
    services.set_status(course, "published")
    return course


def _play_through(enrolment: Any, lesson: Lesson, start: dt.datetime, share: float = 1.0) -> dt.datetime:
    """Watch a video lesson through the real credit rules (heartbeats every 5 s of simulated time)."""
    duration = float(lesson.duration or 0)
    end = duration * share
    t, pos = 0.0, 0.0
    prog.heartbeat(enrolment, lesson, f"demo-{enrolment.id}-{lesson.id}", 0, now=start)
    while pos < end:
        step = min(5.0, end - pos)
        t, pos = t + max(step, prog.MIN_INTERVAL), pos + step  # never sooner than the server credits
        prog.heartbeat(
            enrolment, lesson, f"demo-{enrolment.id}-{lesson.id}", pos, now=start + dt.timedelta(seconds=t)
        )
    return start + dt.timedelta(seconds=t + 1)


def _learn(enrolment: Any, course: Course, when: dt.datetime, complete: bool) -> None:
    lessons = services.ordered_lessons(course)
    t = when
    for lesson in lessons:
        if lesson.kind == "video" and lesson.duration:
            t = _play_through(enrolment, lesson, t, 1.0 if complete else 0.5)
            if not complete:
                return
        elif lesson.kind in ("text", "link"):
            prog.open_lesson(enrolment, lesson, now=t)
            prog.mark_read(enrolment, lesson, now=t + dt.timedelta(seconds=40))
            t += dt.timedelta(seconds=60)
        # exam lessons complete through the quizzes demo's passed attempts (exam_passed)


def load(enterprise: Any, ctx: Any) -> None:
    """Create the demo courses, enrol demo people with due dates, play some progress and completions."""
    trainer = ctx.accounts.get("trainer")
    with tempfile.TemporaryDirectory(prefix="lms-demo-video-") as tmp:
        courses = [_build(enterprise, spec, Path(tmp), trainer) for spec in COURSES]
    people = sorted((p for p in ctx.people.values() if p.status == "active"), key=lambda p: p.employee_no)
    learner = ctx.accounts.get("learner")
    learner_person = learner.person if learner is not None else None
    rng = ctx.rng
    due = ctx.today + dt.timedelta(days=30)
    for i, course in enumerate(courses):
        group = people[i * 3 : i * 3 + 14]
        if learner_person is not None and learner_person not in group:
            group.append(learner_person)
        for k, person in enumerate(group):
            enrolment, _new = services.enrol(
                course,
                person,
                source="assigned",
                assigned_by=trainer,
                due_on=due if i != 2 else ctx.today - dt.timedelta(days=3),
            )
            if enrolment.progress or enrolment.status == "completed":
                continue
            if person is learner_person:
                if i == 1:
                    _learn(
                        enrolment,
                        course,
                        dt.datetime.combine(ctx.today - dt.timedelta(days=5), dt.time(11, 30)),
                        True,
                    )
                elif i == 0:
                    _learn(
                        enrolment,
                        course,
                        dt.datetime.combine(ctx.today - dt.timedelta(days=1), dt.time(12, 0)),
                        False,
                    )
                continue
            roll = rng.random()
            # Online study after the shift (19:00–21:00 in Shanghai; stored UTC): the classroom sessions of the
            # offline demo, some on fixed dates, are in the daytime, and one person attends one training at a time.
            start = dt.datetime.combine(
                ctx.today - dt.timedelta(days=rng.randrange(1, 20)), dt.time(11 + k % 3, 0)
            )
            if roll < 0.45:
                _learn(enrolment, course, start, True)
            elif roll < 0.75:
                _learn(enrolment, course, start, False)
    db.session.flush()
    ctx.extra["courses"] = {c.title: c.id for c in courses}
    ctx.echo(f"  courses: {len(courses)} with videos, enrolments for {len(people[:20])}+ people")
