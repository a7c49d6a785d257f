"""In-app notifications for learners (and the same by e-mail when SMTP is set).

Events: a course assigned, something due in 30/7/1 days, overdue or expired, an exam that opens or closes soon,
a classroom session tomorrow, and whatever other features add through the signals of ``lms.core.signals``
(``notification_events`` for the daily job, ``notify`` for the moment something happens): notices to
acknowledge (lms.culture), certificates issued or about to expire (certificates), later hazards and permits.

One row per person, event and thing: ``Notification.key`` (unique per user) says which, so running the job
again, or an event sent twice, never adds a row. The text is kept as an English template and its values
(``params``) and shown in the reader's language; ``title`` holds the text in the platform's default language,
for e-mail and for rows written before templates were kept.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Iterable
from typing import Any

import click
from flask import abort, current_app, has_request_context, redirect, request, url_for
from flask.cli import with_appcontext
from flask_babel import force_locale, gettext
from flask_login import current_user
from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.exc import IntegrityError

from courses.models import COMPLETED, SOURCE_ASSIGNED, Course, Enrolment
from lms.core import signals, timeutil
from lms.core.db import db, utcnow, writes
from lms.core.i18n import Message, msg
from lms.core.permissions import signed_in
from lms.offline.models import OfflineSession
from lms.offline.services import audience_select
from lms.org.models import Enterprise, Person, User
from lms.training import bp, mail
from lms.training.models import (
    DUE_SOON,
    EXPIRED,
    IN_GRACE,
    IN_PROGRESS,
    KIND_COURSE,
    NOT_STARTED,
    OVERDUE,
    Notification,
    Requirement,
)
from quizzes.exams import add_rule, create_exam, publish_exam
from quizzes.models import Attempt, Exam

log = logging.getLogger(__name__)

# Days before a due date at which a reminder goes out (the nearest one that applies, once each).
DUE_STEPS = (1, 7, 30)
# How the list page groups and marks kinds.
KIND_ICONS = {  # symbols every CJK/DejaVu font has (no colour emoji: intranet PCs and phones lack the font)
    "assigned": "✚",
    "due": "◷",
    "due_soon": "◷",  # rows of lms.training.reminders
    "in_grace": "⚠",
    "overdue": "⚠",
    "expired": "⚠",
    "exam": "✎",
    "session": "☷",
    "notice": "✉",
    "certificate": "✓",
    "summary": "☰",
}


# ---------------------------------------------------------------- events and storage


def event(
    kind: str,
    key: str,
    message: Message,
    *,
    person_id: int | None = None,
    user_id: int | None = None,
    link: str | None = None,
    body: Message | None = None,
) -> dict[str, Any]:
    """An event for ``store`` (the same shape receivers of ``notification_events`` return)."""
    return {
        "kind": kind,
        "key": key,
        "message": message,
        "person_id": person_id,
        "user_id": user_id,
        "link": link,
        "body": body,
    }


def _due_step(days_left: int) -> int | None:
    """The reminder step (1, 7 or 30 days) a due date ``days_left`` away falls in, or None."""
    if days_left < 0:
        return None
    return next((s for s in DUE_STEPS if days_left <= s), None)


def _in_default_language(message: Message | None) -> str | None:
    if message is None:
        return None
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE") or "zh_CN"):
        return gettext(message.template, **message.params) if message.params else gettext(message.template)


def _link(endpoint: str, **values: Any) -> str:
    """A path to ``endpoint``, also outside a request (the job, the CLI); an unknown endpoint raises BuildError."""
    if has_request_context():
        return url_for(endpoint, **values)
    with current_app.test_request_context("/"):
        return url_for(endpoint, **values)


def _users_of(enterprise_id: int, person_ids: Iterable[int] | None = None) -> dict[int, int]:
    """person id → enabled account id, for people of the enterprise who have one."""
    q = select(User.person_id, User.id).where(
        User.enterprise_id == enterprise_id, User.person_id.isnot(None), User.is_enabled.is_(True)
    )
    if person_ids is not None:
        ids = sorted(set(person_ids))
        if not ids:
            return {}
        q = q.where(User.person_id.in_(ids))
    return {pid: uid for pid, uid in db.session.execute(q.order_by(User.id)).all()}


def store(enterprise_id: int, events: Iterable[dict[str, Any]], *, email: bool = True) -> list[Notification]:
    """Create the notifications of ``events`` that do not exist yet (by user and key); e-mail the new ones."""
    events = list(events)
    users = _users_of(
        enterprise_id, [e["person_id"] for e in events if e.get("person_id") and not e.get("user_id")]
    )
    wanted: dict[tuple[int, str], dict[str, Any]] = {}
    for e in events:
        uid = e.get("user_id") or users.get(e.get("person_id") or 0)
        if uid is None or not e.get("key"):
            continue
        wanted.setdefault((uid, str(e["key"])[:120]), e)
    if not wanted:
        return []
    existing: set[tuple[int, str]] = set()
    uids = sorted({u for u, _ in wanted})
    for i in range(0, len(uids), 500):
        existing.update(
            db.session.execute(
                select(Notification.user_id, Notification.key).where(
                    Notification.user_id.in_(uids[i : i + 500])
                )
            ).all()
        )
    made = []
    for (uid, key), e in sorted(wanted.items()):
        if (uid, key) in existing:
            continue
        message: Message = e["message"]
        body: Message | None = e.get("body")
        params: dict[str, Any] = {"msg": message.template, "args": message.params}
        if body is not None:
            params.update(body=body.template, body_args=body.params)
        n = Notification(
            enterprise_id=enterprise_id,
            user_id=uid,
            kind=e["kind"],
            key=key,
            title=(_in_default_language(message) or str(message))[:300],
            body=_in_default_language(body),
            link=e.get("link"),
            params=params,
        )
        try:
            with db.session.begin_nested():  # two runs at once: the other's row counts
                db.session.add(n)
                db.session.flush()
        except IntegrityError:
            continue
        made.append(n)
    if made and email:
        _email(made)
    return made


def _email(notes: list[Notification]) -> int:
    """E-mail new notifications when SMTP is configured (the reminders' sender; in-app rows stay either way)."""
    if not current_app.config.get("SMTP_URL"):
        return 0
    return mail.send(notes)


def _quietly(what: str, work: Any) -> None:
    """Run a listener's work in a savepoint: a notification that fails never undoes what it tells about."""
    try:
        with db.session.begin_nested():
            work()
    except Exception:
        log.exception("could not store the notification of %s", what)


@signals.notify.connect
def _on_notify(sender: Any, *, enterprise_id: int, events: list[dict[str, Any]], **_: Any) -> None:
    _quietly("an event", lambda: store(enterprise_id, events))


# ---------------------------------------------------------------- at once: assignment, certificate


@signals.course_assigned.connect
def _on_course_assigned(sender: Any, *, person: Any, course: Any, **_: Any) -> None:
    due = getattr(sender, "due_on", None)
    # Built outside the savepoint: a wrong endpoint is a bug that must fail, not a notification to skip.
    assigned = _assigned_event(person.id, course.id, course.title, due)
    _quietly(f"course {course.id} assigned", lambda: store(person.enterprise_id, [assigned]))


def _assigned_event(person_id: int, course_id: int, title: str, due: dt.date | None) -> dict[str, Any]:
    return event(
        "assigned",
        f"assigned:course:{course_id}",
        msg("New course assigned to you: %(title)s", title=title),
        person_id=person_id,
        link=_link("courses.course", course_id=course_id),
        body=msg("Complete it by %(day)s.", day=due.isoformat()) if due else None,
    )


@signals.certificate_issued.connect
def _on_certificate_issued(sender: Any, *, person: Any, **_: Any) -> None:
    cert = sender
    issued = event(
        "certificate",
        f"certificate:{cert.id}:issued",
        msg("Certificate issued: %(title)s", title=cert.title),
        person_id=person.id,
        link=_link("certificates.detail", cert_id=cert.id),
        body=msg("Number %(number)s", number=cert.number),
    )
    _quietly(f"certificate {cert.id}", lambda: store(person.enterprise_id, [issued]))


# ---------------------------------------------------------------- the daily job


def _requirement_events(enterprise_id: int, as_of: dt.date) -> list[dict[str, Any]]:
    """Requirements due in 30/7/1 days, in grace, overdue or expired (from the one status function)."""
    from lms.training.coverage import named_list  # noqa: PLC0415 - coverage imports much; only the job needs it

    rows = named_list(
        enterprise_id, as_of, statuses=(NOT_STARTED, IN_PROGRESS, DUE_SOON, IN_GRACE, OVERDUE, EXPIRED)
    )
    courses = dict(
        db.session.execute(
            select(Requirement.id, Requirement.course_id).where(
                Requirement.enterprise_id == enterprise_id, Requirement.kind == KIND_COURSE
            )
        ).all()
    )
    mine = _link("training.mine")
    out = []
    for r in rows:
        due, status, name = r["due_on"], r["status"], r["requirement"]
        course_id = courses.get(r["requirement_id"])
        link = (_link("courses.course", course_id=course_id) if course_id else None) or mine
        body = (
            msg(
                "%(done)s of %(due)s hours done.", done=f"{r['hours_done'] or 0:g}", due=f"{r['hours_due']:g}"
            )
            if r["hours_due"]
            else None
        )
        # The keys of lms.training.reminders (req:<id>:<status>:<due>): whichever runs first, one row.
        if status in (OVERDUE, EXPIRED, IN_GRACE):
            message = {
                OVERDUE: msg("Overdue: %(name)s (was due on %(day)s)", name=name, day=str(due or "—")),
                EXPIRED: msg("Expired: %(name)s: train again", name=name),
                IN_GRACE: msg("Past its due date (in grace): %(name)s", name=name),
            }[status]
            kind = "expired" if status == EXPIRED else "overdue"
            out.append(
                event(
                    kind,
                    f"req:{r['requirement_id']}:{status}:{due or ''}",
                    message,
                    person_id=r["person_id"],
                    link=link,
                    body=body,
                )
            )
            continue
        if due is None:
            continue
        step = _due_step((due - as_of).days)
        if step is None:
            continue
        # The 30-day step shares the reminders' "due soon" key (req:<id>:due_soon:<due>): one row, not two.
        label = "due_soon" if step == 30 else f"due{step}"
        out.append(
            event(
                "due",
                f"req:{r['requirement_id']}:{label}:{due}",
                _due_message(name, due, (due - as_of).days),
                person_id=r["person_id"],
                link=link,
                body=body,
            )
        )
    return out


def _due_message(name: str, due: dt.date, days: int) -> Message:
    if days <= 0:
        return msg("Due today: %(name)s", name=name)
    if days == 1:
        return msg("Due tomorrow: %(name)s", name=name)
    return msg("Due in %(n)s days: %(name)s (by %(day)s)", n=days, name=name, day=due.isoformat())


def _course_events(enterprise_id: int, as_of: dt.date) -> list[dict[str, Any]]:
    """Assigned courses: the assignment, due in 30/7/1 days, overdue (unless a course requirement says it)."""
    rows = db.session.execute(
        select(Enrolment.person_id, Enrolment.course_id, Enrolment.due_on, Course.title)
        .join(Course, Course.id == Enrolment.course_id)
        .where(
            Enrolment.enterprise_id == enterprise_id,
            Enrolment.source == SOURCE_ASSIGNED,
            Enrolment.status != COMPLETED,
        )
        .order_by(Enrolment.id)
    ).all()
    out = []
    for person_id, course_id, due, title in rows:
        out.append(_assigned_event(person_id, course_id, title, due))
        if due is None:
            continue
        link = _link("courses.course", course_id=course_id)
        if due < as_of:
            out.append(
                event(
                    "overdue",
                    f"course:{course_id}:overdue:{due}",
                    msg("Overdue: %(name)s (was due on %(day)s)", name=title, day=due.isoformat()),
                    person_id=person_id,
                    link=link,
                )
            )
            continue
        step = _due_step((due - as_of).days)
        if step is not None:
            out.append(
                event(
                    "due",
                    f"course:{course_id}:due{step}:{due}",
                    _due_message(title, due, (due - as_of).days),
                    person_id=person_id,
                    link=link,
                )
            )
    return out


def _exam_events(enterprise_id: int, as_of: dt.date, now: dt.datetime) -> list[dict[str, Any]]:
    """Exams that open (within a day) or close in 7/1 days, for everyone who may sit them and has not passed."""
    exams = db.session.scalars(
        select(Exam)
        .where(
            Exam.enterprise_id == enterprise_id,
            Exam.status == "published",
            Exam.mode == "exam",
            (Exam.close_at.is_(None)) | (Exam.close_at > now),
        )
        .order_by(Exam.id)
    ).all()
    if not exams:
        return []
    people = list(
        db.session.scalars(
            select(Person.id)
            .where(Person.enterprise_id == enterprise_id, Person.status == "active")
            .order_by(Person.id)
        )
    )
    out = []
    for exam in exams:
        opens = exam.open_at is not None and now - dt.timedelta(days=3) <= exam.open_at <= now + dt.timedelta(
            days=1
        )
        closes_in = (timeutil.local_date(exam.close_at, exam) - as_of).days if exam.close_at else None
        step = _due_step(closes_in) if closes_in is not None and closes_in <= 7 else None
        if not opens and step is None:
            continue
        passed = set(
            db.session.scalars(
                select(Attempt.person_id).where(Attempt.exam_id == exam.id, Attempt.passed.is_(True))
            )
        )
        link = _link("quizzes.start", exam_id=exam.id)
        for pid in people:
            if pid in passed:
                continue
            if opens:
                when = timeutil.format_local(exam.open_at, exam)
                out.append(
                    event(
                        "exam",
                        f"exam:{exam.id}:opens",
                        msg("Exam opens %(when)s: %(title)s", when=when, title=exam.title),
                        person_id=pid,
                        link=link,
                    )
                )
            if step is not None:
                when = timeutil.format_local(exam.close_at, exam)
                out.append(
                    event(
                        "exam",
                        f"exam:{exam.id}:closes{step}",
                        msg("Exam closes %(when)s: %(title)s", when=when, title=exam.title),
                        person_id=pid,
                        link=link,
                    )
                )
    return out


def _session_events(enterprise_id: int, as_of: dt.date, now: dt.datetime) -> list[dict[str, Any]]:
    """Planned classroom sessions that start tomorrow (local day), for the people they are for."""
    start, end = timeutil.local_day_bounds(as_of + dt.timedelta(days=1), _enterprise(enterprise_id))
    sessions = db.session.scalars(
        select(OfflineSession)
        .where(
            OfflineSession.enterprise_id == enterprise_id,
            OfflineSession.status == "planned",
            OfflineSession.starts_at >= start,
            OfflineSession.starts_at < end,
        )
        .order_by(OfflineSession.id)
    ).all()
    link = _link("offline.mine")
    out = []
    for s in sessions:
        when = timeutil.format_local(s.starts_at, s)
        for pid in db.session.scalars(audience_select(s).order_by(Person.id)):
            out.append(
                event(
                    "session",
                    f"session:{s.id}:tomorrow",
                    msg("Classroom session tomorrow: %(topic)s, %(when)s", topic=s.topic, when=when),
                    person_id=pid,
                    link=link,
                    body=msg("Place: %(place)s", place=s.location) if s.location else None,
                )
            )
    return out


def _enterprise(enterprise_id: int) -> Enterprise | None:
    return db.session.get(Enterprise, enterprise_id)


def generate(as_of: dt.date | None = None, enterprise_ids: list[int] | None = None) -> dict[str, int]:
    """Make sure every notification due today exists (idempotent), e-mail the new ones; return counts."""
    now = utcnow()
    q = select(Enterprise.id).order_by(Enterprise.id)
    if enterprise_ids is not None:
        q = q.where(Enterprise.id.in_(enterprise_ids))
    created = 0
    for ent_id in list(db.session.scalars(q)):
        day = as_of or timeutil.today(_enterprise(ent_id))
        events = _requirement_events(ent_id, day)
        events += _course_events(ent_id, day)
        events += _exam_events(ent_id, day, now)
        events += _session_events(ent_id, day, now)
        for _receiver, found in signals.notification_events.send(
            None, enterprise_id=ent_id, as_of=day, now=now
        ):
            events += list(found or [])
        created += len(store(ent_id, events))
    return {"created": created}


@click.command("notify")
@click.option(
    "--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="The day (default: today)"
)
@click.option("--enterprise", "code", default=None, help="One enterprise's code (default: all)")
@with_appcontext
def notify_cmd(as_of: dt.datetime | None, code: str | None) -> None:
    """Create today's in-app notifications (and e-mail them when SMTP is set); safe to run again."""
    ids = None
    if code:
        ent = db.session.scalar(select(Enterprise).where(Enterprise.code == code))
        if ent is None:
            raise click.ClickException(f"no enterprise {code}")
        ids = [ent.id]
    result = generate(as_of.date() if as_of else None, ids)
    db.session.commit()
    click.echo(f"notifications created: {result['created']}")


commands = [notify_cmd]


# ---------------------------------------------------------------- reading


def text(n: Notification) -> str:
    """The notification's title in the reader's language."""
    params = n.params or {}
    if params.get("msg"):
        try:
            return gettext(params["msg"], **(params.get("args") or {}))
        except (KeyError, ValueError, TypeError):
            return n.title
    return n.title


def body_text(n: Notification) -> str | None:
    params = n.params or {}
    if params.get("body"):
        try:
            return gettext(params["body"], **(params.get("body_args") or {}))
        except (KeyError, ValueError, TypeError):
            return n.body
    return n.body


@functools.cache
def _unread() -> Select:
    """unread_count's statement, built once with the user id bound."""
    table = Notification.__table__
    return select(func.count(table.c.id)).where(
        table.c.user_id == bindparam("user_id"), table.c.read_at.is_(None)
    )


def unread_count(user_id: int) -> int:
    """How many unread notifications a user has (one COUNT on the (user_id, read_at) index).

    Every signed-in page's bell asks: a Core statement built once with the user id bound (no ORM entity to
    build, no statement and cache key to make per request), as the notices badge does (lms.culture.views).
    """
    return int(db.session.execute(_unread(), {"user_id": user_id}).scalar() or 0)


def _bell() -> int:
    """The current user's unread count, once per request."""
    if not getattr(current_user, "is_authenticated", False):
        return 0
    if not has_request_context():
        return unread_count(current_user.id)
    # Kept on the request (not on g: an app context may outlive many requests, as in the tests).
    held = getattr(request, "_lms_unread", None)
    if held is None:
        held = unread_count(current_user.id)
        request._lms_unread = held  # type: ignore[attr-defined]
    return held


@bp.app_context_processor
def _bell_context() -> dict[str, Any]:
    return {
        "unread_notifications": _bell,
        "notification_text": text,
        "notification_body": body_text,
        "notification_icons": KIND_ICONS,
    }


def for_user(user_id: int, *, unread_only: bool = False, limit: int = 200) -> list[Notification]:
    q = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        q = q.where(Notification.read_at.is_(None))
    return list(
        db.session.scalars(q.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit))
    )


def own(user_id: int, note_id: int) -> Notification | None:
    """The user's own notification (None for anybody else's: never said to exist)."""
    n = db.session.get(Notification, note_id)
    return n if n is not None and n.user_id == user_id else None


def mark_read(user_id: int, note_id: int | None = None) -> int:
    """Mark one of the user's notifications (or all) as read; return how many changed."""
    q = Notification.__table__.update().where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if note_id is not None:
        q = q.where(Notification.id == note_id)
    return db.session.execute(q.values(read_at=utcnow())).rowcount or 0


def mark_unread(user_id: int, note_id: int) -> int:
    """Mark one of the user's notifications unread again."""
    q = Notification.__table__.update().where(Notification.user_id == user_id, Notification.id == note_id)
    return db.session.execute(q.values(read_at=None)).rowcount or 0


def safe_link(link: str | None) -> str | None:
    """A stored link if it is a path of this site (never another host)."""
    if not link or not link.startswith("/") or link.startswith("//") or "\\" in link:
        return None
    return link


# ---------------------------------------------------------------- pages (the list is training.notifications)


@bp.route("/notifications/<int:note_id>/open")
@signed_in
@writes
def notification_open(note_id: int) -> Any:
    """Open what a notification is about, marking it read (one's own only)."""
    n = own(current_user.id, note_id)
    if n is None:
        abort(404)
    mark_read(current_user.id, n.id)
    return redirect(safe_link(n.link) or url_for("training.notifications"))


@bp.route("/notifications/<int:note_id>/read", methods=["POST"])
@signed_in
def notification_read(note_id: int) -> Any:
    """Mark one of one's notifications read (or unread again with unread=1)."""
    n = own(current_user.id, note_id)
    if n is None:
        abort(404)
    if request.form.get("unread") == "1":
        mark_unread(current_user.id, n.id)
    else:
        mark_read(current_user.id, n.id)
    return redirect(url_for("training.notifications"))


# ---------------------------------------------------------------- demo (last of lms demo's parts)

DEMO_EXAM = "消防安全知识考试（本周截止）"


def load(enterprise: Enterprise, ctx: Any) -> None:
    """The demo learner has an exam closing within days; then today's notifications are made for everyone."""
    exam = db.session.scalar(select(Exam).where(Exam.enterprise_id == enterprise.id, Exam.title == DEMO_EXAM))
    if exam is None:
        exam = create_exam(
            enterprise.id,
            title=DEMO_EXAM,
            description="本周五前完成，20分钟，60分及格，可考两次。",
            time_limit_minutes=20,
            attempts_allowed=2,
            category="消防安全",
            show_answers="after_submit",
            close_at=utcnow().replace(microsecond=0, second=0) + dt.timedelta(days=4),
        )
        add_rule(exam, type="single_choice", count=5)
        add_rule(exam, type="true_false", count=3)
        publish_exam(exam)
    result = generate(ctx.today, [enterprise.id])
    ctx.echo(f"  notifications: {result['created']} for today")
