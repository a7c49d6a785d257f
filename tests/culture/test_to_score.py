"""Waiting for your scores (评分): the campaigns list and the culture overview lead an evaluator (and a unit
leader at the self-assessment) straight to the units they still have to score."""

from __future__ import annotations

import re

from lms.core.db import db, utcnow
from lms.culture import lifecycle
from tests.conftest import login


def _score_links(html: str) -> list[str]:
    return re.findall(r'href="(/culture/campaigns/\d+/units/\d+/score)"', html)


def test_an_evaluator_is_led_to_the_units_left_to_score(client, world):
    c = world["campaign"]
    lifecycle.start_self_assessment(c)
    lifecycle.start_review(c)
    db.session.commit()
    a, b = world["unit_a"], world["unit_b"]
    login(client, world["evaluator"].user)
    for page in ("/culture/campaigns", "/culture/"):
        html = client.get(page).text
        assert "待您评分" in html, page
        assert _score_links(html) == [
            f"/culture/campaigns/{c.id}/units/{a.id}/score",
            f"/culture/campaigns/{c.id}/units/{b.id}/score",
        ], page
    a.reviewed_at = utcnow()
    db.session.commit()
    assert _score_links(client.get("/culture/campaigns").text) == [
        f"/culture/campaigns/{c.id}/units/{b.id}/score"
    ]
    # the scoring page: a score input and an evidence upload per hand-scored indicator
    html = client.get(f"/culture/campaigns/{c.id}/units/{b.id}/score").text
    assert 'class="data score-table"' in html
    assert (
        len(re.findall(r'name="value_\d+"', html))
        == len(re.findall(r'type="file" name="files_\d+"', html))
        > 3
    )


def test_nobody_else_is_asked(app, world):
    c = world["campaign"]
    lifecycle.start_self_assessment(c)
    lifecycle.start_review(c)
    db.session.commit()
    for who in ("outsider_eval", "a1"):  # an evaluator of no campaign, a learner
        client = app.test_client()
        login(client, world[who].user)
        html = client.get("/culture/campaigns").text
        assert "待您评分" not in html and not _score_links(html), who


def test_a_unit_leader_is_asked_for_the_self_assessment(app, client, world):
    c = world["campaign"]
    lifecycle.start_self_assessment(c)
    db.session.commit()
    leader = world["leader_a"].user
    mine = [u for u in c.units if u.leader_user_id == leader.id]
    assert mine, "the team leader leads no unit"
    login(client, leader)
    html = client.get("/culture/").text
    assert _score_links(html) == [f"/culture/campaigns/{c.id}/units/{u.id}/score" for u in mine]
    assert "自评" in html
    ev = world["evaluator"].user  # an evaluator scores at the review step: now only a unit they lead, if any
    other = app.test_client()
    login(other, ev)
    assert _score_links(other.get("/culture/campaigns").text) == [
        f"/culture/campaigns/{c.id}/units/{u.id}/score" for u in c.units if u.leader_user_id == ev.id
    ]
