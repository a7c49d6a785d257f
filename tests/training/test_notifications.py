"""In-app notifications: generated once per person, event and thing; shown with a bell; read and unread."""

from __future__ import annotations

import datetime as dt
import re
import smtplib
import socket
import threading

import pytest
from flask import url_for
from sqlalchemy import select
from werkzeug.routing import BuildError

from certificates import services as certs
from courses import services as courses
from lms.core.db import db, utcnow
from lms.core.i18n import msg
from lms.core.signals import notification_events
from lms.core.timeutil import today as local_today
from lms.culture.notices import publish_notice, save_notice
from lms.offline.services import create_session
from lms.training import notifications
from lms.training.models import Notification
from lms.training.notifications import event as make_event
from lms.training.notifications import generate
from quizzes.models import Exam
from tests.conftest import login
from tests.statements import recorded_statements
from tests.training.helpers import requirement

TODAY = local_today()


def _course(ent, title):
    course = courses.create_course(ent.id, title=title, category="有限空间", hours=2)
    section = courses.add_section(course, "第一章")
    courses.add_lesson(section, "text", "第1课", body_markdown="正文")
    db.session.flush()
    courses.set_status(course, "published")
    return course


def _read_at(note_id):
    return db.session.scalar(select(Notification.read_at).where(Notification.id == note_id))


def _notes(user):
    db.session.expire_all()  # the pages mark rows read with an UPDATE statement
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.key)
        )
    )


def _world(enterprise, make_person):
    """One learner with one of each event waiting, and a colleague with nothing."""
    p = make_person(enterprise, name="李提醒", hire_date=TODAY - dt.timedelta(days=400))
    requirement(enterprise, name="年度安全培训", hours_required=8, initial_days=30)  # overdue
    course = _course(enterprise, "受限空间作业")
    courses.assign(course, [p], due_on=TODAY + dt.timedelta(days=5))  # assigned, due within 7 days
    now = utcnow()
    db.session.add(
        Exam(
            enterprise_id=enterprise.id,
            title="特种作业考试",
            mode="exam",
            status="published",
            close_at=now + dt.timedelta(days=3),
        )
    )
    tomorrow = dt.datetime.combine(TODAY + dt.timedelta(days=1), dt.time(2, 0))  # 10:00 in Shanghai, in UTC
    create_session(
        enterprise.id,
        topic="消防演练",
        starts_at=tomorrow,
        hours=2,
        location="三楼会议室",
        targets={"department": [p.department_id]},
    )
    notice = save_notice(
        enterprise.id,
        title="关于冬季防火的通知",
        body_md="注意防火",
        targets=[],
        audience_all=True,
        actor=None,
    )
    publish_notice(notice, None)
    certs.issue(
        p, kind="course", source="test:cert:1", title="电工作业", valid_until=TODAY + dt.timedelta(days=20)
    )
    db.session.flush()
    return p, course


def test_every_event_once_and_again_never_twice(enterprise, make_person):
    p, course = _world(enterprise, make_person)
    generate(TODAY, [enterprise.id])
    kinds = {n.kind for n in _notes(p.user)}
    assert kinds >= {"overdue", "assigned", "due", "exam", "session", "notice", "certificate"}, kinds
    keys = [n.key for n in _notes(p.user)]
    assert f"assigned:course:{course.id}" in keys
    assert f"course:{course.id}:due7:{TODAY + dt.timedelta(days=5)}" in keys
    assert any(k.startswith("certificate:") and ":expires:" in k for k in keys)
    assert any(k.startswith("certificate:") and k.endswith(":issued") for k in keys)  # at once, on issue
    before = len(keys)
    assert generate(TODAY, [enterprise.id]) == {"created": 0}
    assert len(_notes(p.user)) == before == len(set(keys))
    # The next day's run adds only what is new that day (the 1-day step of the due course), nothing twice.
    generate(TODAY + dt.timedelta(days=4), [enterprise.id])
    new = [n.key for n in _notes(p.user) if n.key not in keys]
    assert f"course:{course.id}:due1:{TODAY + dt.timedelta(days=5)}" in new
    assert len(new) == len(set(new))


def test_assignment_notifies_at_once_with_a_link(enterprise, make_person):
    p = make_person(enterprise)
    course = _course(enterprise, "叉车安全")
    courses.assign(course, [p], due_on=TODAY + dt.timedelta(days=40))
    courses.assign(course, [p], due_on=TODAY + dt.timedelta(days=40))  # again: still one
    notes = _notes(p.user)
    assert [(n.kind, n.link) for n in notes] == [("assigned", f"/courses/{course.id}")]
    assert notes[0].title == "给你分配了新课程：叉车安全"
    assert notes[0].body == f"请于 {TODAY + dt.timedelta(days=40)} 前完成。"


def test_other_features_add_events_through_the_signal(enterprise, make_person):
    """The hook for hazards and permits: a receiver of notification_events returns events."""
    p = make_person(enterprise)

    def hazards(sender, *, enterprise_id, as_of, **_):
        return [
            make_event(
                "hazard",
                "hazard:7:due",
                msg("Hazard to rectify by %(day)s", day=str(as_of)),
                person_id=p.id,
                link="/hazards/7",
            )
        ]

    notification_events.connect(hazards)
    try:
        generate(TODAY, [enterprise.id])
        generate(TODAY, [enterprise.id])
    finally:
        notification_events.disconnect(hazards)
    assert [(n.kind, n.key, n.link) for n in _notes(p.user)] == [("hazard", "hazard:7:due", "/hazards/7")]


def test_bell_list_read_unread_and_other_peoples_notes(client, enterprise, make_person, app):
    p, course = _world(enterprise, make_person)
    other = make_person(enterprise)
    generate(TODAY, [enterprise.id])
    mine = _notes(p.user)
    theirs = _notes(other.user)
    assert theirs  # the notice and the exam are for the colleague too
    login(client, p.user)

    with recorded_statements() as seen:
        page = client.get("/training/mine").get_data(as_text=True)
    counts = [st for st in seen if "count(" in st.lower() and "notification" in st.lower()]
    assert len(counts) == 1  # the bell: one COUNT per page
    assert f'<span class="bell-count">{len(mine)}</span>' in page

    listing = client.get("/training/notifications").get_data(as_text=True)
    assert "已逾期：年度安全培训" in listing and "明天有线下课堂：消防演练" in listing
    assert "有新的安全通知待签收：关于冬季防火的通知" in listing

    note = next(n for n in mine if n.kind == "assigned")
    opened = client.get(f"/training/notifications/{note.id}/open")
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/courses/{course.id}")
    assert _read_at(note.id) is not None
    client.post(f"/training/notifications/{note.id}/read", data={"unread": "1"})
    assert _read_at(note.id) is None
    client.post(f"/training/notifications/{note.id}/read")
    assert _read_at(note.id) is not None
    page = client.get("/training/notifications").get_data(as_text=True)
    assert f'<span class="bell-count">{len(mine) - 1}</span>' in page

    # Someone else's notification: never opened, never marked, never said to exist.
    foreign = theirs[0]
    assert client.get(f"/training/notifications/{foreign.id}/open").status_code == 404
    assert client.post(f"/training/notifications/{foreign.id}/read").status_code == 404
    assert _read_at(foreign.id) is None

    client.post("/training/notifications")  # mark all
    assert all(n.read_at for n in _notes(p.user))
    assert all(n.read_at is None for n in _notes(other.user))
    assert 'class="bell-count"' not in client.get("/training/notifications").get_data(as_text=True)


def test_a_stored_link_to_another_site_is_never_followed(client, enterprise, make_person):
    p = make_person(enterprise)
    n = Notification(
        enterprise_id=enterprise.id,
        user_id=p.user.id,
        kind="x",
        key="x",
        title="t",
        link="//evil.example/phish",
    )
    db.session.add(n)
    db.session.flush()
    login(client, p.user)
    r = client.get(f"/training/notifications/{n.id}/open")
    assert r.status_code == 302 and r.headers["Location"].endswith("/training/notifications")


def test_shown_in_the_readers_language(client, enterprise, make_person):
    p = make_person(enterprise)
    course = _course(enterprise, "Forklift safety")
    courses.assign(course, [p])
    p.user.locale = "en"
    db.session.flush()
    login(client, p.user)
    page = client.get("/training/notifications").get_data(as_text=True)
    assert "New course assigned to you: Forklift safety" in page
    assert "给你分配了新课程" not in page


class _Inbox:
    """A tiny SMTP server on localhost that keeps what it receives (a real socket, a real smtplib client)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.messages: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        f = conn.makefile("rb")

        def say(line: str) -> None:
            conn.sendall((line + "\r\n").encode())

        say("220 test")
        data = None
        while True:
            line = f.readline()
            if not line:
                break
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if data is not None:
                if text == ".":
                    self.messages.append("\n".join(data))
                    data = None
                    say("250 ok")
                else:
                    data.append(text)
                continue
            cmd = text.split(" ", 1)[0].upper()
            if cmd in ("EHLO", "HELO"):
                say("250 test")
            elif cmd == "DATA":
                data = []
                say("354 go")
            elif cmd == "QUIT":
                say("221 bye")
                break
            else:
                say("250 ok")
        conn.close()
        self.sock.close()


def test_the_same_events_go_by_email_when_smtp_is_set(app, enterprise, make_person):
    inbox = _Inbox()
    p = make_person(enterprise)
    p.user.username = "li.tixing@example.com"
    db.session.flush()
    old = app.config.get("SMTP_URL")
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{inbox.port}"
    try:
        course = _course(enterprise, "动火作业")
        courses.assign(course, [p], due_on=TODAY + dt.timedelta(days=40))
    finally:
        app.config["SMTP_URL"] = old
    inbox.thread.join(5)
    assert len(inbox.messages) == 1
    raw = inbox.messages[0]
    assert "li.tixing@example.com" in raw
    note = _notes(p.user)[0]
    assert note.emailed_at is not None
    assert smtplib  # the client side is the reminders' real smtplib sender
    assert re.search(r"Subject: .+", raw)


def test_the_reminders_job_and_this_one_make_one_row_per_event(enterprise, make_person):
    """``lms training remind`` and ``lms notify`` share their keys: a requirement due soon or overdue is told once."""
    from lms.training.reminders import send_reminders

    soon = make_person(enterprise, hire_date=TODAY - dt.timedelta(days=10))
    late = make_person(enterprise, hire_date=TODAY - dt.timedelta(days=400))
    requirement(enterprise, name="岗前培训", hours_required=8, initial_days=30, reminder_days=30)
    send_reminders(TODAY, [enterprise.id])
    generate(TODAY, [enterprise.id])
    send_reminders(TODAY, [enterprise.id])
    assert [n.kind for n in _notes(soon.user)] == ["due_soon"]  # the reminders' row, no second one
    assert [n.kind for n in _notes(late.user)] == ["overdue"]


def test_status_reminders_are_shown_in_the_readers_language(client, enterprise, make_person, make_user):
    """Seen: the rows of ``lms reminders send`` kept Chinese titles, so an English reader got Chinese reminders."""
    from lms.training.reminders import send_reminders

    late = make_person(enterprise, hire_date=TODAY - dt.timedelta(days=400))
    requirement(enterprise, name="Induction", hours_required=8, initial_days=30)
    manager = make_user("manager", enterprise)
    send_reminders(TODAY, [enterprise.id])
    assert [n.kind for n in _notes(late.user)] == ["overdue"]
    assert "已逾期" in _notes(late.user)[0].title  # stored in the platform's language (e-mail, old readers)
    late.user.locale = manager.locale = "en"
    db.session.flush()
    login(client, late.user)
    page = client.get("/training/notifications").get_data(as_text=True)
    assert "Overdue: Induction" in page and "已逾期" not in page
    assert db.session.scalars(select(Notification.kind).where(Notification.user_id == manager.id)).all() == [
        "summary"
    ]
    other = client.application.test_client()  # the manager, in a browser of their own
    login(other, manager)
    page = other.get("/training/notifications").get_data(as_text=True)
    assert "Training reminders of" in page and "培训提醒汇总" not in page


def test_every_event_links_to_its_page(enterprise, make_person):
    """Links are built from fixed endpoints: each event of the world leads to the page it is about."""
    p, course = _world(enterprise, make_person)
    generate(TODAY, [enterprise.id])
    links = {}
    for n in _notes(p.user):
        links.setdefault(n.kind, set()).add(n.link)
    exam = db.session.scalar(select(Exam).where(Exam.enterprise_id == enterprise.id))
    cert = certs.existing_for_source("test:cert:1")
    assert links["assigned"] == links["due"] == {f"/courses/{course.id}"}
    assert links["overdue"] == {"/training/mine"}  # an hours requirement: the learner's own page
    assert links["exam"] == {f"/quizzes/exams/{exam.id}/start"}
    assert links["session"] == {"/offline/mine"}
    assert links["certificate"] == {f"/certificates/{cert.id}"}


def test_an_unknown_endpoint_fails_instead_of_dropping_the_link(app, enterprise, make_person, monkeypatch):
    """A wrong endpoint is a bug: it raises, also from a listener whose storing is kept in a savepoint."""
    with pytest.raises(BuildError):
        notifications._link("courses.no_such_page")
    monkeypatch.setattr(
        notifications, "_link", lambda endpoint, **values: url_for("courses.no_such_page", **values)
    )
    p = make_person(enterprise)
    course = _course(enterprise, "叉车安全")
    with pytest.raises(BuildError):
        courses.assign(course, [p], due_on=TODAY + dt.timedelta(days=40))
