"""The unit of work (lms.core.db, the request wrapper in lms.app): read units never write, a GET that finds it
must write runs again as a write unit (once, before answering), and a GET's write unit is committed by the wrapper.
"""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text, update

from lms.core.db import READ, WRITE, WriteNeeded, db, require_write, unit, unit_mode
from lms.core.timeutil import today as local_today  # the enterprise's calendar day (Asia/Shanghai)
from lms.org.models import Enterprise
from tests.conftest import login

TODAY = local_today()


def test_a_read_unit_refuses_a_write_before_the_database_sees_it(enterprise):
    db.session.commit()
    with unit(READ) as state:
        with pytest.raises(WriteNeeded):
            db.session.execute(update(Enterprise).where(Enterprise.id == enterprise.id).values(name="改过"))
        assert state.refused
    db.session.rollback()
    assert db.session.get(Enterprise, enterprise.id).name != "改过"
    with unit(READ), pytest.raises(WriteNeeded):
        enterprise.name = "也改过"
        db.session.flush()  # the ORM's UPDATE is refused the same way
    db.session.rollback()


def test_a_read_unit_may_use_temporary_tables_and_read(enterprise):
    with unit(READ) as state:
        db.session.execute(text("CREATE TEMPORARY TABLE tmp_unit_check AS SELECT 1 AS n"))
        db.session.execute(text("INSERT INTO tmp_unit_check (n) VALUES (2)"))
        assert db.session.scalar(text("SELECT sum(n) FROM tmp_unit_check")) == 3
        db.session.execute(text("DROP TABLE tmp_unit_check"))
        assert db.session.scalar(select(func.count()).select_from(Enterprise)) >= 1
        assert not state.refused


def test_require_write_stops_a_read_unit_only():
    assert unit_mode() == WRITE  # no unit opened: jobs, commands and tests write as before
    require_write()
    with unit(READ) as state, pytest.raises(WriteNeeded):
        require_write()
    assert state.refused
    with unit(WRITE):
        require_write()


def _lesson_world(enterprise, make_person):
    from courses import services as courses

    learner = make_person(enterprise)
    course = courses.create_course(enterprise.id, title="有限空间作业安全", category="有限空间", hours=2)
    section = courses.add_section(course, "第一章")
    lesson = courses.add_lesson(section, "text", "作业前须知", body_markdown="先通风，再检测")
    db.session.flush()
    courses.set_status(course, "published")
    courses.enrol(course, learner, source="assigned")
    db.session.commit()
    return learner, lesson


def test_a_first_open_runs_again_as_a_write_unit_and_a_second_open_only_reads(
    client, enterprise, make_person, caplog
):
    from courses.models import LessonProgress

    learner, lesson = _lesson_world(enterprise, make_person)
    login(client, learner.user)
    with caplog.at_level(logging.INFO, logger="lms.app"):
        first = client.get(f"/courses/lessons/{lesson.id}")
    assert first.status_code == 200
    assert [r.message for r in caplog.records if "runs again" in r.message] == [
        f"GET /courses/lessons/{lesson.id} writes: it runs again as a write unit"
    ]
    opened = db.session.scalars(select(LessonProgress).where(LessonProgress.lesson_id == lesson.id)).all()
    assert len(opened) == 1 and opened[0].opened_at is not None
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="lms.app"):
        again = client.get(f"/courses/lessons/{lesson.id}")
    assert again.status_code == 200
    assert not [r for r in caplog.records if "runs again" in r.message]  # nothing to write: a plain read
    assert unit_mode() == WRITE  # the request's unit ended with it


def test_the_wrapper_commits_a_get_that_ran_as_a_write_unit(client, enterprise, make_person):
    """A learner's own page recomputes their waiting status rows: the view does not commit, the wrapper does."""
    from lms.training import cache
    from tests.training.helpers import rec, requirement

    learner = make_person(enterprise)
    make_person(enterprise)
    requirement(enterprise, name="岗前培训", hours_required=Decimal(4), initial_days=0)
    cache.refresh(enterprise.id)
    db.session.commit()
    rec(learner, TODAY, 4)
    db.session.commit()
    assert not cache.usable_for_person(enterprise.id, learner.id, TODAY)
    login(client, learner.user)
    assert client.get("/training/mine").status_code == 200
    db.session.rollback()  # whatever the request left uncommitted goes
    assert cache.usable_for_person(enterprise.id, learner.id, TODAY)


def test_a_refreshed_person_keeps_the_row_count_of_the_enterprise(enterprise, make_person):
    """The state's row count follows a person's recompute (SQLite counted no rows for the WITH … INSERT)."""
    from lms.training import cache
    from tests.training.helpers import rec, requirement

    people = [make_person(enterprise) for _ in range(3)]
    requirement(enterprise, name="岗前培训", hours_required=Decimal(4), initial_days=0)
    requirement(enterprise, name="年度再培训", hours_required=Decimal(8), initial_days=0)
    cache.refresh(enterprise.id)
    rec(people[0], TODAY, 4)
    db.session.flush()
    assert cache.refresh_person(enterprise.id, people[0].id)
    kept = db.session.scalar(
        select(func.count()).select_from(cache.ROWS).where(cache.ROWS.c.enterprise_id == enterprise.id)
    )
    state_rows = db.session.execute(
        select(cache.STATE.c.rows).where(cache.STATE.c.enterprise_id == enterprise.id)
    ).scalar()
    assert kept == 6 and state_rows == kept


def test_a_learner_page_reads_only_when_there_is_nothing_for_it_to_recompute(
    client, enterprise, make_person, caplog
):
    """The enterprise's kept rows were never built (that waits for a dashboard or the nightly run): the learner's
    own page computes live in its read unit, without asking for a write unit it would not use."""
    from tests.training.helpers import requirement

    learner = make_person(enterprise)
    requirement(enterprise, name="岗前培训", hours_required=Decimal(4), initial_days=0)
    db.session.commit()
    login(client, learner.user)
    with caplog.at_level(logging.INFO, logger="lms.app"):
        page = client.get("/training/mine")
    assert page.status_code == 200 and "岗前培训" in page.get_data(as_text=True)
    assert not [r for r in caplog.records if "runs again" in r.message]
