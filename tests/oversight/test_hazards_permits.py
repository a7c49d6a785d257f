"""The hazard and permit factors read lms.hazards.hazard_counts and lms.permits.permit_counts (real rows,
made through the hazards' own services), and major hazards weigh most."""

from __future__ import annotations

import datetime as dt

from lms.core.db import db, utcnow
from lms.core.timeutil import today as local_today
from lms.hazards import services as hazards
from lms.hazards.models import HazardArea
from lms.oversight import services
from lms.permits.models import APPROVED, REFUSED, Permit

TODAY = local_today()
DAY = dt.timedelta(days=1)


def _cast(ent, make_person):
    manager = make_person(ent, department="安环部", app_role="manager").user
    worker = make_person(ent).user
    assignee = make_person(ent, department="二车间/维修班")
    area = HazardArea(enterprise_id=ent.id, name="二车间", sort_order=10)
    db.session.add(area)
    db.session.flush()
    return manager, worker, assignee, area


def _hazard(ent, cast, grade, deadline_in_days, reported_days_ago=10):
    manager, worker, assignee, area = cast
    now = utcnow()
    hz = hazards.report(
        ent.id, worker, description=f"{grade}隐患", area_id=area.id, now=now - reported_days_ago * DAY
    )
    hazards.assign(
        hz,
        manager,
        grade=grade,
        department_id=assignee.department_id,
        assignee_id=assignee.id,
        deadline=now + deadline_in_days * DAY,
        now=now - (reported_days_ago - 1) * DAY,
    )
    return hz


def test_hazard_factors_split_general_and_major(make_enterprise, make_person):
    ent, calm = make_enterprise(), make_enterprise()
    cast = _cast(ent, make_person)
    _hazard(ent, cast, "general", 5)  # open, on time
    _hazard(ent, cast, "general", -2)  # open, overdue
    _hazard(ent, cast, "major", -1)  # major, overdue
    _hazard(ent, cast, "major", 7)  # major, open
    counts = hazards.hazard_counts([ent.id], utcnow())[ent.id]
    values = services.factor_values([ent.id, calm.id], TODAY)
    v = values[ent.id]
    assert v["major_open"].value == counts["major_open"] == 2
    assert v["major_overdue"].value == counts["major_overdue"] == 1
    assert v["hazards_open"].value == counts["open"] - counts["major_open"] == 2
    assert v["hazards_overdue"].value == counts["overdue"] - counts["major_overdue"] == 1
    assert all(values[calm.id][k].value == 0 for k in ("hazards_open", "major_open", "major_overdue"))
    lines = {x.factor.key: x for x in services.score(v, services.default_weights()).lines}
    # One overdue major hazard weighs more than one overdue general one.
    assert lines["major_overdue"].contribution > lines["hazards_overdue"].contribution > 0
    # As of before any was reported, nothing was open.
    past = services.factor_values([ent.id], TODAY - 30 * DAY)[ent.id]
    assert past["hazards_open"].value == 0 and past["major_open"].value == 0


def _permit(ent, status, checked_on):
    start = utcnow()
    db.session.add(
        Permit(
            enterprise_id=ent.id,
            work_name="动火作业",
            place="罐区",
            starts_at=start,
            ends_at=start + dt.timedelta(hours=4),
            status=status,
            checked_on=checked_on,
            checked_by_name="审核员",
        )
    )


def test_permit_factor_is_the_share_refused_in_90_days(make_enterprise):
    ent, none = make_enterprise(), make_enterprise()
    _permit(ent, APPROVED, TODAY)
    _permit(ent, REFUSED, TODAY - 10 * DAY)
    _permit(ent, APPROVED, TODAY - 40 * DAY)  # another month, still within 90 days
    _permit(ent, APPROVED, TODAY - 89 * DAY)  # the 90th day: counted
    _permit(ent, REFUSED, TODAY - 90 * DAY)  # day 91: not counted
    db.session.flush()
    values = services.factor_values([ent.id, none.id], TODAY)
    assert values[ent.id]["permits_refused"].value == 0.25
    assert values[ent.id]["permits_refused"].detail == "1 / 4"
    assert values[none.id]["permits_refused"].value is None and values[none.id]["permits_refused"].available
