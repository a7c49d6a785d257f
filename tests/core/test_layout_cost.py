"""The layout's kept parts (base.html, lms.core.nav.layout_part, issue 20): rendered once per language, role,
enterprise and page, never one reader's data on another's page, counts always live."""

from __future__ import annotations

import re

import flask_wtf.csrf
import pytest
from flask import request, url_for
from sqlalchemy import func, select

from lms.core.db import db
from lms.core.nav import language_links
from lms.culture import notices
from lms.culture.models import NoticeAck
from lms.training import notifications
from lms.training.models import Notification
from tests.conftest import login

PAGE = "/training/mine"


def _nav(page: str) -> str:
    found = re.search(r'<nav class="mainnav".*?</nav>', page, re.S)
    assert found, "no menu"
    return found[0]


def _bell(page: str) -> str | None:
    found = re.search(r'<span class="bell-count">([^<]+)</span>', page)
    return found[1] if found else None


def _badge(page: str) -> str | None:
    found = re.search(r'<span class="badge badge-overdue">(\d+)</span></a>', _nav(page))
    return found[1] if found else None


def _unread(user) -> int:
    return db.session.scalar(
        select(func.count()).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    )


def _unsigned(person) -> int:
    return db.session.scalar(
        select(func.count()).where(NoticeAck.person_id == person.id, NoticeAck.acknowledged_at.is_(None))
    )


def _note(user, key: str) -> Notification:
    n = Notification(enterprise_id=user.enterprise_id, user_id=user.id, kind="x", key=key, title=key)
    db.session.add(n)
    db.session.flush()
    return n


@pytest.fixture
def two(app, enterprise, make_person):
    """Two learners of one enterprise on the same page: 甲 with two unread notes and a notice to sign, 乙 none."""
    manager = make_person(enterprise, name="陆经理", department="安全环保部", app_role="manager")
    a = make_person(enterprise, name="甲学员", department="一车间")
    b = make_person(enterprise, name="乙学员", department="二车间")
    n = notices.save_notice(
        enterprise.id,
        title="冬季防火",
        body_md="注意防火",
        targets=[("department", a.department_id)],
        audience_all=False,
        actor=manager.user,
    )
    notices.publish_notice(n, manager.user)
    _note(a.user, "one")
    db.session.commit()
    ca, cb = app.test_client(), app.test_client()
    login(ca, a.user)
    login(cb, b.user)
    return a, b, n, ca, cb


def test_each_reader_sees_only_their_own_name_and_counts(two):
    a, b, _n, ca, cb = two
    assert _unread(a.user) == 2 and _unread(b.user) == 0 and _unsigned(a) == 1
    for _ in range(2):  # the second round is served from the kept parts
        pa = ca.get(PAGE).get_data(as_text=True)
        pb = cb.get(PAGE).get_data(as_text=True)
        assert "甲学员" in pa and "乙学员" not in pa
        assert "乙学员" in pb and "甲学员" not in pb
        assert _bell(pa) == "2" and 'class="bell has-unread"' in pa and "(2)" in pa
        assert _bell(pb) is None and 'class="bell"' in pb
        assert _badge(pa) == "1" and _badge(pb) is None
        # the same menu but for 甲's number on "Notices"
        assert _nav(pa).replace(' <span class="badge badge-overdue">1</span>', "") == _nav(pb)


def test_the_csrf_token_is_never_kept(app, two, monkeypatch):
    """Asked on every render (the tests' app context keeps one token in ``g``: count the calls instead)."""
    _a, _b, _n, ca, _cb = two
    calls = iter(range(1000))
    monkeypatch.setattr(flask_wtf.csrf, "generate_csrf", lambda: f"token-{next(calls)}")
    tokens = []
    for _ in range(3):
        page = ca.get(PAGE).get_data(as_text=True)
        tokens += re.findall(r'csrf[-_]token"[^>]*(?:content|value)="([^"]+)"', page)
    assert tokens == [f"token-{i}" for i in range(6)]


def test_counts_stay_live_after_reading_and_signing(two):
    a, _b, n, ca, _cb = two
    assert _bell(ca.get(PAGE).get_data(as_text=True)) == "2"
    one = db.session.scalar(
        select(Notification).where(Notification.user_id == a.user.id, Notification.key == "one")
    )
    assert ca.post(f"/training/notifications/{one.id}/read").status_code in (200, 302, 303)
    page = ca.get(PAGE).get_data(as_text=True)
    assert _bell(page) == "1" and _badge(page) == "1"
    notices.acknowledge(n, a.id)  # signing also marks its notification read
    db.session.commit()
    page = ca.get(PAGE).get_data(as_text=True)
    assert _bell(page) is None and 'class="bell"' in page and _badge(page) is None
    _note(a.user, "two")
    db.session.commit()
    assert _bell(ca.get(PAGE).get_data(as_text=True)) == "1"


def test_languages_are_kept_apart(two):
    a, b, _n, ca, cb = two
    b.user.locale = "en"
    db.session.commit()
    for _ in range(2):
        pa = ca.get(PAGE).get_data(as_text=True)
        pb = cb.get(PAGE).get_data(as_text=True)
        assert '<html lang="zh-CN">' in pa and '<html lang="en">' in pb
        assert ">Sign out</button>" in pb and ">Sign out</button>" not in pa
        assert "Safety Training</title>" in pb and "Safety Training</title>" not in pa
        assert ">Learner</small>" in pb and ">Learner</small>" not in pa


def test_roles_and_pages_have_their_own_menu(app, two, make_person, enterprise):
    a, _b, _n, ca, _cb = two
    manager = make_person(enterprise, name="王主管", department="安全环保部", app_role="manager")
    db.session.commit()
    cm = app.test_client()
    login(cm, manager.user)
    with app.test_request_context():
        coverage = url_for("training.dashboard")
    for _ in range(2):
        learner_nav = _nav(ca.get(PAGE).get_data(as_text=True))
        manager_nav = _nav(cm.get(PAGE).get_data(as_text=True))
        assert f'href="{coverage}"' in manager_nav and f'href="{coverage}"' not in learner_nav
    # the active entry follows the page
    mine = _nav(ca.get(PAGE).get_data(as_text=True))
    assert re.search(rf'href="{PAGE}" class="active"', mine)
    account = ca.get("/account").get_data(as_text=True)
    assert not re.search(rf'href="{PAGE}" class="active"', _nav(account))
    assert 'class="nav-account active"' in account and 'class="nav-account active"' not in mine


def test_a_changed_static_file_changes_the_kept_url(app, two, monkeypatch):
    _a, _b, _n, ca, _cb = two
    css = re.compile(r'href="([^"]*/static/css/app\.css\?v=([0-9a-f]+))"')
    first = css.search(ca.get(PAGE).get_data(as_text=True))
    assert first
    hashes = app.extensions["lms_static_hashes"]
    real = hashes.of

    def changed(path: str) -> str | None:
        return "0123456789ab" if path.endswith("css/app.css") else real(path)

    monkeypatch.setattr(hashes, "of", changed)
    again = css.search(ca.get(PAGE).get_data(as_text=True))
    assert again and again[2] == "0123456789ab" != first[2]


@pytest.mark.parametrize("path", ["/", "/courses/12", "/a b/c?d=e&f", "/课程/甲", "/x/%41/~!$'()*,;:@"])
def test_language_links_are_url_for(app, path):
    with app.test_request_context(path):
        expected = [
            (url_for("auth.set_language", lang=code, next=request.path), label)
            for code, label in app.config["LANGUAGES"].items()
        ]
        assert language_links() == expected


def test_unread_count_is_the_rows(two):
    a, b, _n, _ca, _cb = two
    assert notifications.unread_count(a.user.id) == _unread(a.user) == 2
    assert notifications.unread_count(b.user.id) == 0


def test_one_request_may_render_in_two_languages(app):
    """The key is taken once per render, not once per request (a page rendered under force_locale)."""
    from flask import render_template_string
    from flask_babel import force_locale

    page = '{% extends "base.html" %}{% block content %}ok{% endblock %}'
    with app.test_request_context("/login"):
        first = render_template_string(page)
        with force_locale("en"):
            second = render_template_string(page)
        third = render_template_string(page)
    assert '<html lang="zh-CN">' in first and '<html lang="zh-CN">' in third
    assert '<html lang="en">' in second and "Safety Training</title>" in second
    assert "Safety Training</title>" not in first


def test_a_plain_value_is_never_kept_as_live(app):
    """``live()`` keeps the object, not its text: a plain value would be the first reader's for everyone."""
    from flask import render_template_string

    with app.test_request_context("/login"), pytest.raises(TypeError):
        render_template_string(
            '{% call(live) layout_part("test-plain-live") %}{{ live("a name") }}{% endcall %}'
        )
