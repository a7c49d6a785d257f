"""Stored codes read as words of the reader's language; the menu lights one entry."""

from __future__ import annotations

import re

from flask import g
from flask_babel import force_locale

from lms.core.labels import declare_labels, label


def test_a_code_reads_as_a_word_in_each_language(app):
    # a request resolves its catalogue once (kept on g, which the tests' app context outlives): one per language
    with app.test_request_context("/"), force_locale("en"):
        g.pop("_lms_translations", None)
        assert label("offline") == "Classroom training"
        assert label("team") == "Team level"
        assert label("valid") == "Valid"
        assert label(None) == ""
    with app.test_request_context("/"), force_locale("zh_CN"):
        g.pop("_lms_translations", None)
        assert label("offline") == "线下培训"
        assert label("team") == "班组级"
        assert label("valid") == "有效"


def test_an_undeclared_code_goes_through_its_catalogue_entry(app):
    declare_labels({"h7_probe": "Probe"})
    with app.test_request_context("/"), force_locale("en"):
        g.pop("_lms_translations", None)
        assert label("h7_probe") == "Probe"
        assert label("no such code") == "no such code"


def test_the_menu_lights_one_entry_on_a_page_outside_the_menu(client, login_as, session):
    login_as("manager")
    html = client.get("/quizzes/exams/new").get_data(as_text=True)
    nav = re.search(r'<nav class="mainnav".*?</nav>', html, re.S).group(0)
    lit = re.findall(r'<a href="([^"]+)" class="active">', nav)
    assert lit == ["/quizzes/exams"], lit
