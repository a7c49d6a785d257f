"""The demo shows sign-in that no one can take away: ZJHG's 唐俊 shares 工号 GA1010 and phone with DEMO's learner."""

from __future__ import annotations

from sqlalchemy import select

from lms.core.db import db
from lms.org.models import Enterprise, LoginSession, Person, User


def test_demo_neighbour_shares_the_learners_number_and_the_learner_still_signs_in(app, client):
    from lms.demo import load_demo

    load_demo(echo=lambda *_: None)
    load_demo(echo=lambda *_: None)  # idempotent
    db.session.commit()
    zjhg = db.session.scalar(select(Enterprise).where(Enterprise.code == "ZJHG"))
    copies = db.session.scalars(select(Person).where(Person.employee_no == "GA1010")).all()
    assert len(copies) == 2 and {p.enterprise_id == zjhg.id for p in copies} == {True, False}
    learner = db.session.scalar(select(User).where(User.username == "learner"))
    assert len({p.phone for p in copies}) == 1
    for ident in ("GA1010", learner.person.phone):
        r = client.post("/login", data={"login": ident, "password": app.config["DEMO_PASSWORD"]})
        assert r.status_code == 302, ident
        with client.session_transaction() as s:
            token = s.get("_user_id")
        ls = db.session.scalar(select(LoginSession).where(LoginSession.token == token))
        assert ls is not None and ls.user_id == learner.id
        client.post("/logout")
