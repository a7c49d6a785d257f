"""Every catalogue is complete: no string shown in English to a Chinese user."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from lms.core.i18n import TRANSLATION_DIRS

CATALOGS = [p for d in TRANSLATION_DIRS for p in d.glob("zh_CN/LC_MESSAGES/messages.po")]


def test_core_catalogue_exists():
    assert Path(TRANSLATION_DIRS[0], "zh_CN/LC_MESSAGES/messages.po").exists()


@pytest.mark.parametrize("po", CATALOGS, ids=[str(p.parent.parent.parent.parent.name) for p in CATALOGS])
def test_catalogue_complete(po):
    with open(po, "rb") as fh:
        catalog = read_po(fh)
    missing = [
        m.id for m in catalog if m.id and not (m.string if isinstance(m.string, str) else all(m.string))
    ]
    assert missing == [], f"{po}: untranslated {missing[:10]}"
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert fuzzy == [], f"{po}: fuzzy entries {fuzzy[:10]}"


def test_each_package_keeps_its_own_meaning(client, login_as):
    """'People' is 人员 in the menu and on the people page, 人数 (headcount) in a coverage table."""
    login_as("manager")
    people = client.get("/org/people").get_data(as_text=True)
    assert "<h1>人员" in people
    dashboard = client.get("/training/").get_data(as_text=True)
    assert ">人员</a>" in dashboard  # the menu entry (context "menu")
    assert "人数" in dashboard  # the coverage table's column


def test_force_locale_inside_a_request_reads_that_locales_catalogue(app):
    """A notification stored in the platform's language while an English page is served: neither catalogue may
    leak into the other (the per-request catalogue cache is per locale)."""
    from flask_babel import force_locale, gettext

    with app.test_request_context("/?lang=en"), force_locale("en"):
        assert gettext("Overdue") == "Overdue"
        with force_locale("zh_CN"):
            assert gettext("Overdue") != "Overdue"  # the Chinese word
        assert gettext("Overdue") == "Overdue"
    with app.test_request_context(), force_locale("zh_CN"):
        chinese = gettext("Overdue")
        with force_locale("en"):
            assert gettext("Overdue") == "Overdue"
        assert gettext("Overdue") == chinese != "Overdue"
