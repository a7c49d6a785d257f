"""Times are stored UTC and read, typed, printed and exported in the enterprise's local time."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from flask import g
from sqlalchemy import select

from lms.core import timeutil
from lms.core.db import db
from lms.core.exports import csv_bytes
from lms.offline.models import OfflineSession
from lms.org.models import Enterprise
from quizzes.models import Exam
from tests.conftest import login

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("lms", "courses", "quizzes", "certificates")


# ---------------------------------------------------------------- conversions


def test_conversions_round_trip_and_offsets():
    local = dt.datetime(2026, 12, 10, 10, 30)
    assert timeutil.to_utc(local, "Asia/Shanghai") == dt.datetime(2026, 12, 10, 2, 30)
    assert timeutil.to_local(dt.datetime(2026, 12, 10, 2, 30), "Asia/Shanghai") == local
    # Summer time in Berlin: +02:00 in July, +01:00 in December.
    assert timeutil.to_utc(dt.datetime(2026, 7, 1, 10, 30), "Europe/Berlin") == dt.datetime(2026, 7, 1, 8, 30)
    assert timeutil.to_utc(local, "Europe/Berlin") == dt.datetime(2026, 12, 10, 9, 30)
    assert timeutil.iso_local(dt.datetime(2026, 12, 10, 2, 30), "Asia/Shanghai") == "2026-12-10T10:30+08:00"
    assert timeutil.iso_local(dt.datetime(2026, 12, 10, 4, 30), "Asia/Urumqi") == "2026-12-10T10:30+06:00"
    assert timeutil.local_date(dt.datetime(2026, 12, 10, 17, 0), "Asia/Shanghai") == dt.date(2026, 12, 11)
    assert (
        timeutil.format_span(
            dt.datetime(2026, 12, 10, 2, 30), dt.datetime(2026, 12, 10, 4, 0), "Asia/Shanghai"
        )
        == "2026-12-10 10:30–12:00"
    )
    assert timeutil.to_utc(None) is None and timeutil.iso_local(None) is None


def test_enterprise_zone_and_platform_default(app, make_enterprise, monkeypatch):
    ent = make_enterprise()
    assert ent.time_zone == "Asia/Shanghai"
    monkeypatch.setitem(app.config, "LMS_TIMEZONE", "Europe/Berlin")
    assert timeutil.default_zone_name() == "Europe/Berlin"
    other = make_enterprise()
    assert other.time_zone == "Europe/Berlin"
    urumqi = make_enterprise(time_zone="Asia/Urumqi")
    assert timeutil.zone(urumqi).key == "Asia/Urumqi"
    from lms.core.errors import DomainError

    with pytest.raises(DomainError):
        make_enterprise(time_zone="Mars/Olympus")


def test_exports_write_local_time(app, make_enterprise):
    when = dt.datetime(2026, 12, 10, 2, 30)  # stored UTC
    assert "2026-12-10 10:30" in csv_bytes(["t"], [[when]]).decode("utf-8-sig")
    with timeutil.use_zone(make_enterprise(time_zone="Europe/Berlin")):
        assert "2026-12-10 03:30" in csv_bytes(["t"], [[when]]).decode("utf-8-sig")


# ---------------------------------------------------------------- forms and pages


def test_exam_form_takes_local_time_and_stores_utc(client, enterprise, make_person):
    manager = make_person(enterprise, app_role="manager")
    db.session.commit()
    login(client, manager.user)
    resp = client.post(
        "/quizzes/exams/new",
        data={
            "title": "动火作业考试",
            "mode": "exam",
            "open_at": "2026-12-10T10:30",
            "close_at": "2026-12-12T18:00",
            "pass_mark": "60",
            "pass_mark_kind": "percent",
            "counts": "highest",
            "hours": "1",
            "show_answers": "after_submit",
        },
    )
    exam = db.session.scalar(select(Exam).where(Exam.title == "动火作业考试"))
    assert exam is not None, resp.get_data(as_text=True)[:3000]
    assert exam.open_at == dt.datetime(2026, 12, 10, 2, 30) and exam.close_at == dt.datetime(
        2026, 12, 12, 10, 0
    )
    form = client.get(f"/quizzes/exams/{exam.id}").get_data(as_text=True)
    assert 'value="2026-12-10T10:30"' in form and 'value="2026-12-12T18:00"' in form
    assert "UTC" not in form
    listing = client.get("/quizzes/exams").get_data(as_text=True)
    assert "2026-12-12 18:00" in listing


def test_session_form_takes_local_time_in_another_zone(client, make_enterprise, make_person):
    ent = make_enterprise(time_zone="Europe/Berlin")
    trainer = make_person(ent, app_role="trainer")
    db.session.commit()
    login(client, trainer.user)
    resp = client.post(
        "/offline/new",
        data={
            "topic": "叉车安全操作",
            "category": "场内机动车辆",
            "level": "team",
            "starts_at": "2026-12-03T10:30",
            "ends_at": "2026-12-03T12:00",
            "hours": "1.5",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    s = db.session.scalar(select(OfflineSession).where(OfflineSession.topic == "叉车安全操作"))
    assert (s.starts_at, s.ends_at) == (dt.datetime(2026, 12, 3, 9, 30), dt.datetime(2026, 12, 3, 11, 0))
    page = client.get(f"/offline/{s.id}").get_data(as_text=True)
    assert "2026-12-03 10:30" in page
    edit = client.get(f"/offline/{s.id}/edit").get_data(as_text=True)
    assert 'value="2026-12-03T10:30"' in edit
    assert "2026-12-03 10:30" in client.get("/offline/?month=2026-12").get_data(as_text=True)


def test_manager_sets_the_enterprise_zone(client, enterprise, make_person):
    manager = make_person(enterprise, app_role="manager")
    db.session.commit()
    login(client, manager.user)
    g.pop("csrf_token", None)  # the app context outlives requests in tests: a token of another client
    page = client.get("/org/settings").get_data(as_text=True)
    assert "Asia/Urumqi" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "password_policy": "random"}
    client.post("/org/settings", data={**form, "time_zone": "Asia/Urumqi"})
    assert db.session.get(Enterprise, enterprise.id).time_zone == "Asia/Urumqi"
    client.post("/org/settings", data={**form, "time_zone": "Nowhere/Else"})
    assert db.session.get(Enterprise, enterprise.id).time_zone == "Asia/Urumqi"


def test_admin_creates_an_enterprise_with_a_zone(client, make_user):
    admin = make_user("admin")
    db.session.commit()
    login(client, admin)
    resp = client.post(
        "/org/enterprises",
        data={"code": "TZB", "name": "柏林分公司", "password_policy": "random", "time_zone": "Europe/Berlin"},
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    ent = db.session.scalar(select(Enterprise).where(Enterprise.code == "TZB"))
    assert ent.time_zone == "Europe/Berlin"
    listing = client.get("/org/enterprises").get_data(as_text=True)  # the admin sees each enterprise's zone
    assert re.search(r"<td>TZB</td>.*?<td>Europe/Berlin</td>", listing, re.S)


# ---------------------------------------------------------------- no "UTC" where people read


def _sources() -> list[Path]:
    out = []
    for pkg in PACKAGES:
        out += [p for p in (ROOT / pkg).rglob("*") if p.suffix in (".html", ".po") and ".venv" not in p.parts]
    return out


def test_no_label_says_utc():
    offenders = []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".po":
            for m in re.finditer(r'^(msgid|msgstr) "(.*)"$', text, re.M):
                if "UTC" in m.group(2):
                    offenders.append(f"{path.relative_to(ROOT)}: {m.group(0)}")
        elif "UTC" in text:
            offenders.append(str(path.relative_to(ROOT)))
    label = re.compile(r"""_l?\(\s*["'][^"']*UTC[^"']*["']""")
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            if label.search(path.read_text(encoding="utf-8")):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


# ---------------------------------------------------------------- existing sessions become UTC


def test_migration_converts_stored_sessions_to_utc(tmp_path):
    """Sessions stored as local wall-clock time before the revision are UTC after it (and back on downgrade)."""
    import sqlalchemy as sa
    from alembic import command

    from lms.cli import alembic_config

    url = f"sqlite:///{tmp_path / 'tz.sqlite3'}"
    command.upgrade(alembic_config(url), "20261129_b7bb24")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO enterprise (id, code, name, high_risk, password_policy, share_names_with_regulator)"
                " VALUES (1, 'OLD', '老企业', 0, 'random', 0)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO offline_session (id, enterprise_id, topic, level, starts_at, ends_at, hours, status)"
                " VALUES (1, 1, '消防演练', 'other', '2026-11-20 10:30:00.000000', '2026-11-20 12:00:00.000000', 1.5,"
                " 'recorded')"
            )
        )
    command.upgrade(alembic_config(url), "20261205_a1")
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT starts_at, ends_at FROM offline_session WHERE id = 1")).one()
        zone = conn.execute(sa.text("SELECT time_zone FROM enterprise WHERE id = 1")).scalar()
    assert zone == "Asia/Shanghai"
    assert [dt.datetime.fromisoformat(str(v)) for v in row] == [
        dt.datetime(2026, 11, 20, 2, 30),
        dt.datetime(2026, 11, 20, 4, 0),
    ]
    command.downgrade(alembic_config(url), "20261129_b7bb24")
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT starts_at FROM offline_session WHERE id = 1")).one()
    assert dt.datetime.fromisoformat(str(row[0])) == dt.datetime(2026, 11, 20, 10, 30)
    engine.dispose()


# ---------------------------------------------------------------- certificates


@pytest.mark.parametrize(
    ("zone", "day"), [("Asia/Shanghai", dt.date(2026, 3, 6)), ("Europe/Berlin", dt.date(2026, 3, 5))]
)
def test_certificate_dated_in_the_enterprise_zone(make_enterprise, make_person, zone, day):
    """A course completed at 17:30 UTC on 5 March is 6 March in Shanghai, still 5 March in Berlin."""
    from certificates import services as certificates
    from tests.certificates.helpers import complete_course, course

    ent = make_enterprise(time_zone=zone)
    person = make_person(ent)
    complete_course(person, course(), completed_at=dt.datetime(2026, 3, 5, 17, 30))
    assert certificates.certificates_for_person(person.id)[0].issued_on == day


def test_regulator_reads_an_enterprise_in_its_zone(app, make_enterprise, make_user):
    """A regulator has no enterprise: on the page of one enterprise, times are that enterprise's."""
    from flask_babel import refresh
    from flask_login import login_user

    ent = make_enterprise(time_zone="Asia/Urumqi")
    regulator = make_user("regulator")
    with app.test_request_context(f"/training/regulator/{ent.id}"):
        login_user(regulator)
        refresh()
        assert timeutil.zone().key == "Asia/Urumqi"
        assert timeutil.format_local(dt.datetime(2026, 12, 10, 4, 30)) == "2026-12-10 10:30"
    with app.test_request_context("/training/regulator"):
        login_user(regulator)
        refresh()
        assert timeutil.zone().key == "Asia/Shanghai"


def test_a_sheet_naming_a_session_by_its_local_day(make_enterprise):
    """A session at 07:00 on 13 November in Shanghai is stored on 12 November (UTC): the sheet's date still finds it."""
    from lms.offline import services as offline
    from lms.offline.attendance import resolve_session_ref

    ent = make_enterprise()
    early = offline.create_session(
        ent.id,
        topic="班前安全讲话",
        category="班组安全",
        hours="1",
        starts_at=timeutil.to_utc(dt.datetime(2026, 11, 13, 7, 0), ent),
    )
    offline.create_session(
        ent.id,
        topic="班前安全讲话",
        category="班组安全",
        hours="1",
        starts_at=timeutil.to_utc(dt.datetime(2026, 11, 12, 7, 0), ent),
    )
    assert early.starts_at.date() == dt.date(2026, 11, 12)
    assert resolve_session_ref(ent.id, "班前安全讲话 2026-11-13") is early


def test_sign_in_sheet_prints_local_time(make_enterprise):
    import io

    from pypdf import PdfReader

    from lms.offline import services as offline
    from lms.offline import signin

    ent = make_enterprise(time_zone="Europe/Berlin")
    s = offline.create_session(
        ent.id,
        topic="叉车安全操作",
        category="场内机动车辆",
        hours="1.5",
        starts_at=dt.datetime(2026, 12, 3, 9, 30),
        ends_at=dt.datetime(2026, 12, 3, 11, 0),  # UTC
    )
    assert "培训时间：2026-12-03 10:30-12:00" in signin.session_subtitle(s)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(signin.signin_pdf(s))).pages).replace(
        " ", ""
    )
    assert "2026-12-0310:30-12:00" in text


def test_cli_creates_an_enterprise_in_a_zone(app):
    import json

    runner = app.test_cli_runner()
    bad = runner.invoke(args=["enterprise", "create", "TZX", "某公司", "--time-zone", "Mars/Olympus"])
    assert bad.exit_code != 0 and "time zone" in bad.output
    ok = runner.invoke(args=["enterprise", "create", "TZU", "乌鲁木齐分公司", "--time-zone", "Asia/Urumqi"])
    assert ok.exit_code == 0, ok.output
    listed = json.loads(runner.invoke(args=["enterprise", "list", "--json"]).output)
    assert {"code": "TZU", "time_zone": "Asia/Urumqi"}.items() <= next(
        e for e in listed if e["code"] == "TZU"
    ).items()


def test_templates_compare_due_dates_with_the_local_day(app, make_enterprise, make_person, monkeypatch):
    """At 20:00 UTC it is already tomorrow in Shanghai: a course due today (UTC) is overdue there."""
    from flask import render_template_string
    from flask_babel import refresh
    from flask_login import login_user

    monkeypatch.setattr(timeutil, "_now_utc", lambda: dt.datetime(2026, 12, 10, 20, 0, tzinfo=dt.UTC))
    ent = make_enterprise()
    person = make_person(ent)
    with app.test_request_context("/"):
        login_user(person.user)
        refresh()
        assert render_template_string("{{ today() }}") == "2026-12-11"
