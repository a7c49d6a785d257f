"""The measured steps, each run in a fresh interpreter: ``python -m bench.tasks NAME '{json args}'``.

Each prints one JSON object with ``seconds`` (the measured part only, not start-up) and ``peak_mb`` (VmHWM
of the whole process, start-up included: that is what the operating system has to give the job).
"""

from __future__ import annotations

import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import Timer, peak_rss_mb, task_main

TASKS: dict[str, Callable[..., dict[str, Any]]] = {}


def task(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    TASKS[fn.__name__] = fn
    return fn


# ------------------------------------------------------------------------------------------- the app


def make_app(url: str, media: str | None = None, jobs: str = "eager") -> Any:
    """Create the LMS app on ``url`` (jobs eager unless told) and push an app context."""
    from lms.app import create_app

    overrides: dict[str, Any] = {"DATABASE_URL": url, "JOBS_MODE": jobs}
    if media:
        overrides["MEDIA_DIR"] = media
    app = create_app(overrides)
    app.app_context().push()
    return app


def create_schema(url: str) -> None:
    """Create every table the installed packages define (features land before their migrations)."""
    from lms.app import import_models
    from lms.core.db import Base, make_engine

    import_models()
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()


def bench_enterprise(code: str = "BENCH") -> Any:
    from sqlalchemy import select

    from lms.core.db import db
    from lms.org.models import Enterprise
    from lms.org.services import create_enterprise

    ent = db.session.scalar(select(Enterprise).where(Enterprise.code == code))
    if ent is None:
        ent = create_enterprise(code, "压测企业", industry="机械制造")
        db.session.commit()
    return ent


@task
def schema(url: str) -> dict[str, Any]:
    create_schema(url)
    return {"ok": True}


# ------------------------------------------------------------------------------------------- roster


def _end_unit(committed: bool) -> None:
    """End an import's unit as the command line does: commit what it committed, else roll back."""
    from lms.core.db import db

    if committed:
        db.session.commit()
    else:
        db.session.rollback()


def _import_figures(timer: Timer, result: Any) -> dict[str, Any]:
    """What every import task reports: time, memory, whether it committed, its first problems."""
    return {
        "seconds": timer.seconds,
        "peak_mb": peak_rss_mb(),
        "committed": result.committed,
        "first_errors": result.errors[:3],
    }


@task
def roster_import(url: str, path: str, dry_run: bool) -> dict[str, Any]:
    """lms.org.roster.import_roster on a fresh database: the dry run, or the commit."""
    create_schema(url)
    make_app(url)
    from lms.org.roster import import_roster

    ent = bench_enterprise()
    p = Path(path)
    with Timer() as t:
        result = import_roster(ent, p, p.name, dry_run=dry_run)
        _end_unit(result.committed)
    return {**_import_figures(t, result), "created": result.created, "errors": len(result.errors)}


@task
def raw_xlsx(path: str) -> dict[str, Any]:
    """openpyxl read-only iteration over every cell value: the least any xlsx import must do."""
    from openpyxl import load_workbook

    with Timer() as t:
        wb = load_workbook(path, read_only=True, data_only=True)
        n = 0
        for ws in wb.worksheets:
            for _row in ws.iter_rows(values_only=True):
                n += 1
        wb.close()
    return {"seconds": t.seconds, "peak_mb": peak_rss_mb(), "rows": n}


@task
def raw_csv(path: str) -> dict[str, Any]:
    """csv.reader over the file: the least any csv import must do."""
    import csv

    with Timer() as t:
        n = 0
        with open(path, newline="", encoding="utf-8-sig") as fh:
            for _row in csv.reader(fh):
                n += 1
    return {"seconds": t.seconds, "peak_mb": peak_rss_mb(), "rows": n}


# ------------------------------------------------------------------------------------------- certificates


def _cert_data(n: int) -> list[Any]:
    import datetime as dt

    from bench.data import roster_rows
    from certificates.render import CertificateData

    out = []
    for i, row in enumerate(roster_rows(n, prefix="C"), start=1):
        out.append(
            CertificateData(
                number=f"DEMO-2026-{i:06d}",
                verification_code=f"K7Q2M9X4{i:08d}",
                verify_url=f"https://lms.example.cn/v/K7Q2M9X4{i:08d}",
                holder_name=row[1],
                employee_no=row[0],
                enterprise="华安化工有限公司",
                course="有限空间作业安全培训",
                hours="8",
                score="92",
                issued_on=dt.date(2026, 3, 5),
                valid_until=dt.date(2029, 3, 4),
            )
        )
    return out


def _zip_folder(paths: list[Path], out: Path) -> None:
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for p in paths:
            zf.write(p, p.name)


@task
def certs_ours(n: int, out: str) -> dict[str, Any]:
    """certificates.render.CertificateRenderer.render_many + a zip of the PDFs (as the bulk job zips)."""
    from certificates.render import CertificateRenderer, CertificateTemplateData
    from lms.core.pdf import register_cjk_fonts

    font = register_cjk_fonts()
    certs = _cert_data(n)
    folder = Path(out)
    with Timer() as t:
        renderer = CertificateRenderer(CertificateTemplateData(issuer="华安化工有限公司"))
        paths = renderer.render_many(certs, folder / "pdf")
        _zip_folder(paths, folder / "certificates.zip")
    size = sum(p.stat().st_size for p in paths)
    return {"seconds": t.seconds, "peak_mb": peak_rss_mb(), "files": len(paths), "bytes": size, "font": font}


@task
def certs_limit(n: int, out: str) -> dict[str, Any]:
    """A minimal reportlab canvas page per PDF: the same font, the holder's line and a QR code; then a zip."""
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.pdfgen.canvas import Canvas

    from lms.core.pdf import register_cjk_fonts

    font = register_cjk_fonts()
    certs = _cert_data(n)
    folder = Path(out) / "pdf"
    folder.mkdir(parents=True, exist_ok=True)
    with Timer() as t:
        paths = []
        for cert in certs:
            path = folder / f"{cert.number}.pdf"
            c = Canvas(str(path), pagesize=landscape(A4), pageCompression=1)
            c.setFont(font, 28)
            c.drawCentredString(421, 480, "培训合格证书")
            c.setFont(font, 14)
            c.drawString(
                80,
                400,
                f"{cert.holder_name}（工号 {cert.employee_no}）完成《{cert.course}》培训，共 {cert.hours} 学时。",
            )
            c.drawString(80, 370, f"证书编号 {cert.number}  发证日期 {cert.issued_on.isoformat()}")
            qr = QrCodeWidget(cert.verify_url)
            x0, y0, x1, y1 = qr.getBounds()
            d = Drawing(90, 90, transform=[90 / (x1 - x0), 0, 0, 90 / (y1 - y0), 0, 0])
            d.add(qr)
            renderPDF.draw(d, c, 700, 60)
            c.showPage()
            c.save()
            paths.append(path)
        _zip_folder(paths, Path(out) / "certificates.zip")
    size = sum(p.stat().st_size for p in paths)
    return {"seconds": t.seconds, "peak_mb": peak_rss_mb(), "files": len(paths), "bytes": size, "font": font}


@task
def certs_job(n: int, url: str, media: str) -> dict[str, Any]:
    """certificates.jobs.start_bulk end to end (issue + render + zip + store) for a course's n graduates.

    Set-up (not timed): n people from a roster, a course, one ledger record per person. Jobs run in the
    in-process worker thread as in production without Redis (commits every few certificates).
    """
    import datetime as dt
    import io

    from sqlalchemy import select

    from bench.data import ROSTER_HEADERS, roster_rows
    from lms.core import jobs
    from lms.core.db import db
    from lms.core.exports import xlsx_bytes
    from lms.ledger import services as ledger
    from lms.org.models import Person
    from lms.org.roster import import_roster

    create_schema(url)
    make_app(url, media=media, jobs="thread")
    ent = bench_enterprise()
    result = import_roster(
        ent, io.BytesIO(xlsx_bytes(ROSTER_HEADERS, list(roster_rows(n, prefix="J")))), "r.xlsx", dry_run=False
    )
    assert not result.errors, result.errors[:3]
    from courses import services as course_services

    course = course_services.create_course(
        ent.id, title="有限空间作业安全培训", hours=8, issue_certificate=True
    )
    when = dt.datetime(2026, 3, 5, 8, 0)
    for person in db.session.scalars(select(Person).where(Person.enterprise_id == ent.id)):
        ledger.record(
            person,
            kind="course",
            topic=course.title,
            source=f"bench-course:{course.id}:{person.id}",
            hours=8,
            completed_at=when,
            course_id=course.id,
        )
    db.session.commit()
    from certificates.jobs import start_bulk
    from lms.core.jobs import Job

    with Timer() as t:
        job = start_bulk(ent.id, action="issue", achievement=f"course:{course.id}")
        job_id = job.id
        db.session.commit()
        jobs.wait_for_idle()
    db.session.remove()
    job = db.session.get(Job, job_id)
    return {
        "seconds": t.seconds,
        "peak_mb": peak_rss_mb(),
        "status": job.status,
        "error": job.error,
        "result": job.result,
    }


# ------------------------------------------------------------------------------------------- pages


BENCH_PASSWORD = "bench-2026-pass"


def _account(user: Any, username: str, role: str) -> None:
    from lms.org.services import hash_password

    user.username, user.app_role, user.must_change_password = username, role, False
    user.password_hash = hash_password(BENCH_PASSWORD)


@task
def pages_setup(url: str, size: str, media: str, course: bool = True) -> dict[str, Any]:
    """After ``lms demo --size``: bench accounts (learner, trainer, manager) and a published course everyone has.

    The course has a few text lessons and a video lesson (duration set as if transcoded, so heartbeats count).
    """
    from sqlalchemy import select

    from lms.core.db import db
    from lms.org.models import LEARNER, MANAGER, TRAINER, Enterprise, Person, User

    make_app(url, media=media)
    ent = db.session.scalar(select(Enterprise).where(Enterprise.code == f"BENCH-{size}"))
    users = list(
        db.session.scalars(
            select(User)
            .where(User.enterprise_id == ent.id, User.person_id.is_not(None))
            .order_by(User.id)
            .limit(3)
        )
    )
    _account(users[0], f"bench-learner-{size}".lower(), LEARNER)
    _account(users[1], f"bench-trainer-{size}".lower(), TRAINER)
    _account(users[2], f"bench-manager-{size}".lower(), MANAGER)
    db.session.flush()
    out: dict[str, Any] = {
        "password": BENCH_PASSWORD,
        "learner": users[0].username,
        "trainer": users[1].username,
        "manager": users[2].username,
        "enterprise_id": ent.id,
    }
    try:  # the statutory requirements, as a manager applies them on day one
        from lms.training.presets import apply_presets

        out["requirements"] = apply_presets(ent)["created"]
    except ImportError:
        pass
    try:
        from courses import services as cs
        from courses.models import PUBLISHED, TEXT, VIDEO

        if not course:
            raise ImportError("no course wanted")
    except ImportError:
        db.session.commit()
        _nightly(ent.id)
        return out
    course = cs.create_course(ent.id, actor=users[1], title="有限空间作业安全培训", hours=2)
    section = cs.add_section(course, "第一章 基础知识")
    for i in range(1, 4):
        cs.add_lesson(
            section,
            TEXT,
            f"第{i}节 有限空间的辨识",
            body_markdown="**有限空间**是指封闭或部分封闭的空间。" * 20,
        )
    video = cs.add_lesson(section, VIDEO, "第4节 事故案例视频")
    video.duration = 600.0
    cs.set_status(course, PUBLISHED)
    people = list(
        db.session.scalars(select(Person).where(Person.enterprise_id == ent.id, Person.status == "active"))
    )
    cs.assign(course, people, assigned_by=users[1])
    db.session.commit()
    if not db.is_sqlite:  # statistics for the new course's enrolments, as for the demo's bulk load
        from sqlalchemy import text

        db.session.execute(text("ANALYZE"))
        db.session.commit()
    _nightly(ent.id)
    out.update(course_id=course.id, video_lesson_id=video.id, enrolled=len(people))
    return out


def _nightly(ent_id: int) -> None:
    """What the nightly scheduled commands leave behind (docs/deploy.md): today's status rows kept
    (``lms reminders send`` / ``lms requirements refresh-status``) and the trend's closed months stored."""
    import datetime as dt

    from lms.core.db import db

    try:
        from lms.training import cache, coverage
    except ImportError:
        return
    cache.refresh(ent_id)
    coverage.trend(ent_id, dt.date.today())
    db.session.commit()


@task
def count_queries(
    url: str, accounts: dict[str, str], password: str, paths: dict[str, list[str]]
) -> dict[str, Any]:
    """SQL statements per request for each page (second request, warm), through the test client."""
    from sqlalchemy import event

    from lms.core.db import db

    app = make_app(url)
    app.config["WTF_CSRF_ENABLED"] = False
    count = {"n": 0}

    @event.listens_for(db.engine, "before_cursor_execute")
    def _count(*_args: Any) -> None:
        count["n"] += 1

    out: dict[str, Any] = {}
    for who, username in accounts.items():
        client = app.test_client()
        resp = client.post("/login", data={"login": username, "password": password})
        assert resp.status_code in (302, 303), (username, resp.status_code)
        for path in paths.get(who, []):
            for _ in range(2):  # the second, warm request counts
                count["n"] = 0
                with Timer() as t:
                    resp = client.get(path)
            out[path] = {"queries": count["n"], "status": resp.status_code, "seconds": t.seconds}
    return out


@task
def bench_sessions(url: str, n: int, enterprise_id: int, out: str, line: str) -> dict[str, Any]:
    """Signed-in sessions for ``n`` learners of the enterprise, as wrk request lines (no password hashing).

    Each session is a real login-session row plus the signed Flask cookie and CSRF token the product would
    have issued; ``line`` is the request template ("METHOD\tPATH\t{cookie}\t{csrf}\tBODY", {i} = viewer).
    """
    from flask import g, session
    from flask_wtf.csrf import generate_csrf
    from sqlalchemy import select

    from lms.core.db import db
    from lms.org.models import User
    from lms.org.services import start_session

    app = make_app(url)
    users = list(
        db.session.scalars(
            select(User)
            .where(
                User.enterprise_id == enterprise_id, User.app_role == "learner", User.person_id.is_not(None)
            )
            .order_by(User.id)
            .limit(n)
        )
    )
    serializer = app.session_interface.get_signing_serializer(app)
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    lines = []
    for i, user in enumerate(users):
        user.must_change_password = False
        ls = start_session(user, address="127.0.0.1", user_agent="wrk")
        with app.test_request_context("/"):
            g.pop("csrf_token", None)  # flask-wtf caches the token in g, which outlives this request here
            csrf = generate_csrf()
            session["_user_id"] = ls.token
            session["_fresh"] = True
            cookie = serializer.dumps(dict(session))
        lines.append(
            line.replace("{cookie}", f"{cookie_name}={cookie}").replace("{csrf}", csrf).replace("{i}", str(i))
        )
    db.session.commit()
    Path(out).write_text("\n".join(lines) + "\n")
    return {"sessions": len(lines)}


@task
def heartbeat_check(url: str, lesson_id: int) -> dict[str, Any]:
    """What the heartbeats left behind: playback sessions and credited seconds."""
    from sqlalchemy import func, select

    from courses.models import Enrolment, LessonProgress, PlaybackSession
    from lms.core.db import db

    make_app(url)
    return {
        "playback_sessions": db.session.scalar(
            select(func.count()).select_from(PlaybackSession).where(PlaybackSession.lesson_id == lesson_id)
        ),
        "progress_rows": db.session.scalar(
            select(func.count()).select_from(LessonProgress).where(LessonProgress.lesson_id == lesson_id)
        ),
        "credited_seconds": float(
            db.session.scalar(select(func.coalesce(func.sum(Enrolment.credited_seconds), 0))) or 0
        ),
    }


# ------------------------------------------------------------------------------------------- attendance


@task
def attendance_setup(url: str, code: str, rows: int, people: int, path: str) -> dict[str, Any]:
    """Held sessions of BENCH-<size> and a sign-in sheet of ``rows`` lines (``people`` per session, 培训场次 column)."""
    import datetime as dt

    from sqlalchemy import select

    from bench.data import write_sheet
    from lms.core.db import db
    from lms.offline import services as offline
    from lms.org.models import Department, Enterprise, Person

    make_app(url)
    ent = db.session.scalar(select(Enterprise).where(Enterprise.code == code))
    staff = list(
        db.session.execute(
            select(Person.employee_no, Person.name, Department.path)
            .join(Department, Department.id == Person.department_id, isouter=True)
            .where(Person.enterprise_id == ent.id, Person.status == "active")
            .order_by(Person.id)
            .limit(people)
        )
    )
    n_sessions = -(-rows // len(staff))
    sessions = []
    for i in range(n_sessions):
        start = dt.datetime(2026, 3, 2, 8, 30) + dt.timedelta(days=i)
        sessions.append(
            offline.create_session(
                ent.id,
                topic=f"{rows}人次签到压测第{i + 1}场",
                starts_at=start,
                ends_at=start + dt.timedelta(hours=4),
                hours=4,
                category="消防安全",
                level="company",
                instructor="戴伟",
            )
        )
    db.session.commit()

    def lines():
        k = 0
        for s in sessions:
            for emp, name, dept in staff:
                if k == rows:
                    return
                yield [f"#{s.id}", emp, name, dept or "", s.starts_at.strftime("%Y-%m-%d %H:%M"), "已签"]
                k += 1

    write_sheet(Path(path), ["培训场次", "工号", "姓名", "部门", "签到时间", "签名"], lines(), "签到表")
    return {"sessions": [s.id for s in sessions], "people": len(staff)}


@task
def attendance_import(url: str, code: str, path: str, dry_run: bool) -> dict[str, Any]:
    """lms.offline.attendance.import_attendance: parse + match (+ commit) a sign-in sheet with a 培训场次 column."""
    from sqlalchemy import select

    from lms.core.db import db
    from lms.offline.attendance import import_attendance
    from lms.org.models import Enterprise

    make_app(url)
    ent = db.session.scalar(select(Enterprise).where(Enterprise.code == code))
    p = Path(path)
    with Timer() as t:
        result = import_attendance(ent, p, p.name, dry_run=dry_run, max_bytes=p.stat().st_size + 1)
        _end_unit(result.committed)
    return {**_import_figures(t, result), "created": result.created, "summary": result.summary()}


# ------------------------------------------------------------------------------------------- coverage

HAND_QUERY = """
SELECT d.path, count(*) AS people,
       sum(CASE WHEN t.hours >= 24 THEN 1 ELSE 0 END) AS compliant,
       sum(CASE WHEN t.last_done IS NULL OR t.last_done < :cutoff THEN 1 ELSE 0 END) AS late
FROM person p
LEFT JOIN department d ON d.id = p.department_id
LEFT JOIN (SELECT person_id, sum(hours) AS hours, max(completed_at) AS last_done
           FROM training_record
           WHERE enterprise_id = :ent AND voided_at IS NULL AND completed_at >= :since
           GROUP BY person_id) t ON t.person_id = p.id
WHERE p.enterprise_id = :ent AND p.status = 'active'
GROUP BY d.path ORDER BY d.path
"""


@task
def coverage_hand(url: str, code: str, repeat: int = 3) -> dict[str, Any]:
    """The limit: one hand-written aggregate over person, department and training_record (best of ``repeat``)."""
    import datetime as dt

    from sqlalchemy import select, text

    from lms.core.db import db
    from lms.org.models import Enterprise

    make_app(url)
    ent_id = db.session.scalar(select(Enterprise.id).where(Enterprise.code == code))
    since = dt.datetime.now() - dt.timedelta(days=365)
    times, rows = [], []
    for _ in range(repeat):
        with Timer() as t:
            rows = db.session.execute(
                text(HAND_QUERY), {"ent": ent_id, "since": since, "cutoff": since}
            ).all()
        times.append(t.seconds)
    return {"seconds": min(times), "all": times, "groups": len(rows), "people": sum(r[1] for r in rows)}


@task
def coverage_pages(
    url: str,
    username: str,
    password: str,
    paths: list[str],
    repeat: int = 3,
    warmup: int = 0,
    touch: int = 0,
) -> dict[str, Any]:
    """The product: each coverage page or export through the app (test client, signed in), best of ``repeat``.

    ``warmup`` untimed requests first (today's status rows and the trend's closed months are then kept, as
    after the nightly ``lms requirements refresh-status``); ``touch`` > 0: before each timed request, that
    many people get a new training record (committed), so the request also recomputes their status.
    """
    import datetime as dt
    import random
    from decimal import Decimal

    from sqlalchemy import select

    from lms.core.db import db
    from lms.ledger import services as ledger
    from lms.org.models import Person, User

    app = make_app(url)
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    resp = client.post("/login", data={"login": username, "password": password})
    assert resp.status_code in (302, 303), resp.status_code
    ent_id = db.session.scalar(select(User.enterprise_id).where(User.username == username))
    people = list(db.session.scalars(select(Person.id).where(Person.enterprise_id == ent_id)))
    db.session.rollback()
    rng = random.Random(7)
    out: dict[str, Any] = {}
    for path in paths:
        for _ in range(warmup):
            client.get(path)
        times = []
        for _ in range(repeat):
            if touch:
                now = dt.datetime.now().replace(microsecond=0)
                for pid in rng.sample(people, touch):
                    person = db.session.get(Person, pid)
                    ledger.record(
                        person,
                        kind="offline",
                        hours=Decimal(2),
                        completed_at=now,
                        topic="班组安全活动",
                        category="应急救援",
                        source=f"bench-touch:{pid}:{rng.random()}",
                    )
                db.session.commit()
            with Timer() as t:
                resp = client.get(path)
                size = len(resp.get_data())
            times.append(t.seconds)
        out[path] = {
            "seconds": min(times),
            "all": times,
            "status": resp.status_code,
            "bytes": size,
            "lines": resp.get_data().count(b"\n") if "format=csv" in path else None,
        }
    out["peak_mb"] = peak_rss_mb()
    return out


@task
def coverage_refresh(url: str, code: str) -> dict[str, Any]:
    """The nightly whole recomputation of today's status rows (``lms requirements refresh-status --whole``)."""
    from sqlalchemy import select

    from lms.core.db import db
    from lms.org.models import Enterprise
    from lms.training.cache import refresh

    make_app(url)
    ent_id = db.session.scalar(select(Enterprise.id).where(Enterprise.code == code))
    with Timer() as t:
        done = refresh(ent_id, whole=True)
        db.session.commit()
    return {"seconds": t.seconds, "rows": done["rows"], "peak_mb": peak_rss_mb()}


# ------------------------------------------------------------------------------------------- exam storm


def single_choice_exam(
    enterprise_id: int, questions: int, *, bank_name: str, title: str, options: list[str], points: int
) -> Any:
    """A bank of ``questions`` + 10 single-choice questions (the first option right) and a published exam that
    draws ``questions`` of them, ``points`` each (flushed, not committed)."""
    from quizzes import banks, exams

    bank = banks.create_bank(enterprise_id, bank_name)
    for i in range(questions + 10):
        banks.create_question(
            bank,
            type="single_choice",
            stem=f"第{i + 1}题：进入有限空间作业前，应当首先做什么？",
            options=options,
            key=0,
            category="有限空间",
        )
    exam = exams.create_exam(enterprise_id, title=title, time_limit_minutes=120, attempts_allowed=1)
    exams.add_rule(exam, kind="draw", bank_id=bank.id, count=questions, points=points)
    exams.publish_exam(exam)
    return exam


@task
def exam_setup(url: str, code: str, questions: int) -> dict[str, Any]:
    """A bank of single-choice questions and a published exam drawing ``questions`` of them."""
    from sqlalchemy import select

    from lms.core.db import db
    from lms.org.models import Enterprise

    make_app(url)
    ent = db.session.scalar(select(Enterprise).where(Enterprise.code == code))
    exam = single_choice_exam(
        ent.id,
        questions,
        bank_name=f"压测题库{questions}-{int(time.time())}",
        title=f"有限空间作业安全考试（{questions}题）",
        options=["通风、检测", "直接进入", "只戴口罩", "无需审批"],
        points=2,
    )
    db.session.commit()
    return {"exam_id": exam.id}


@task
def exam_check(url: str, exam_id: int) -> dict[str, Any]:
    """What the storm left: submitted attempts and stored (non-empty) answers."""
    from sqlalchemy import func, select

    from lms.core.db import db
    from quizzes.models import Attempt, AttemptAnswer, AttemptQuestion

    make_app(url)
    attempts = dict(
        db.session.execute(
            select(Attempt.status, func.count()).where(Attempt.exam_id == exam_id).group_by(Attempt.status)
        ).all()
    )
    stored = db.session.scalar(
        select(func.count())
        .select_from(AttemptAnswer)
        .join(AttemptQuestion, AttemptQuestion.id == AttemptAnswer.attempt_question_id)
        .join(Attempt, Attempt.id == AttemptQuestion.attempt_id)
        .where(Attempt.exam_id == exam_id, AttemptAnswer.answer.is_not(None), AttemptAnswer.seq > 0)
    )
    return {"attempts": attempts, "answers_stored": stored}


# ------------------------------------------------------------------------------------------- main


if __name__ == "__main__":
    task_main(TASKS)
