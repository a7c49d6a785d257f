"""The state machine: every transition allowed and refused, by role and by person; the event log; counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from lms.core.errors import Conflict, DomainError, Forbidden, NotFound
from lms.hazards import services
from lms.hazards.models import ASSIGNED, CLOSED, DISMISSED, RECTIFIED, REPORTED, VERIFIED
from tests.hazards.conftest import NOW, photo

DAY = dt.timedelta(days=1)
PLAN = {
    "plan_measures": "加装防护罩",
    "plan_responsibility": "二车间主任负责",
    "plan_funds": "12000",
    "plan_time_limit": "12月10日前完成",
    "plan_contingency": "停机挂牌，配灭火器",
}


def reported(h, **kw):
    return services.report(
        h.ent.id,
        h.worker,
        description="冲床防护罩缺失",
        area_id=h.area.id,
        category_id=h.category.id,
        photos=[photo()],
        now=NOW,
        **kw,
    )


def assigned(h, grade="general", **kw):
    hz = reported(h)
    return services.assign(
        hz,
        h.manager,
        grade=grade,
        department_id=h.assignee_person.department_id,
        assignee_id=h.assignee_person.id,
        deadline=NOW + 7 * DAY,
        now=NOW + dt.timedelta(hours=1),
        **kw,
    )


def rectified(h, grade="general", by=None, **kw):
    hz = assigned(h, grade, **kw)
    return services.rectify(
        hz, by or h.assignee, note="已加装防护罩", photos=[photo((40, 160, 60))], now=NOW + 2 * DAY
    )


def verified(h, **kw):
    hz = rectified(h, **kw)
    return services.verify(hz, h.manager, passed=True, now=NOW + 3 * DAY)


def closed(h):
    return services.close(verified(h), h.manager, now=NOW + 3 * DAY)


def test_report_keeps_reporter_photos_and_first_event(h):
    hz = reported(h)
    assert (
        hz.status == REPORTED
        and hz.reporter_id == h.worker.id
        and hz.reporter_person_id == h.worker.person_id
    )
    assert [p.stage for p in hz.photos] == ["report"]
    assert [(e.action, e.from_status, e.to_status, e.actor_id, e.at) for e in hz.events] == [
        ("report", None, REPORTED, h.worker.id, NOW)
    ]


def test_report_needs_description_and_place(h):
    with pytest.raises(DomainError) as e:
        services.report(h.ent.id, h.worker, description="  ", area_id=h.area.id)
    assert e.value.field == "description"
    with pytest.raises(DomainError) as e:
        services.report(h.ent.id, h.worker, description="漏油")
    assert e.value.field == "place"
    hz = services.report(h.ent.id, h.worker, description="漏油", place="空压机房门口")
    assert services.place_label(hz) == "空压机房门口"


def test_report_refuses_areas_of_another_enterprise(h, make_enterprise):
    from lms.core.db import db
    from lms.hazards.models import HazardArea

    other = make_enterprise()
    foreign = HazardArea(enterprise_id=other.id, name="外厂区")
    db.session.add(foreign)
    db.session.flush()
    with pytest.raises(DomainError) as e:
        services.report(h.ent.id, h.worker, description="x", area_id=foreign.id)
    assert e.value.field == "area_id"
    with pytest.raises(Forbidden):
        services.report(other.id, h.worker, description="x", place="门口")


def test_anonymous_only_when_allowed_and_then_nobody_is_kept(h):
    with pytest.raises(DomainError) as e:
        reported(h, anonymous=True)
    assert e.value.field == "anonymous"
    services.save_settings(h.ent.id, allow_anonymous=True, keep_location=False, actor=h.manager)
    hz = reported(h, anonymous=True)
    assert hz.reporter_id is None and hz.reporter_person_id is None and hz.anonymous
    assert hz.events[0].actor_id is None and hz.photos[0].uploaded_by_id is None
    assert not services.can_see(h.worker, hz)  # not even the reporter can be told apart
    assert services.can_see(h.manager, hz)


def test_full_path_with_event_log(h):
    hz = closed(h)
    assert hz.status == CLOSED
    assert [(e.action, e.from_status, e.to_status) for e in hz.events] == [
        ("report", None, REPORTED),
        ("assign", REPORTED, ASSIGNED),
        ("rectify", ASSIGNED, RECTIFIED),
        ("verify", RECTIFIED, VERIFIED),
        ("close", VERIFIED, CLOSED),
    ]
    assert [e.actor_id for e in hz.events] == [
        h.worker.id,
        h.manager.id,
        h.assignee.id,
        h.manager.id,
        h.manager.id,
    ]
    assert hz.events[2].detail == {"on_time": True}


# Every action from every state: refused with Conflict where the state does not allow it.
STATE_BUILDERS = {
    REPORTED: reported,
    ASSIGNED: assigned,
    RECTIFIED: rectified,
    VERIFIED: verified,
    CLOSED: closed,
    DISMISSED: lambda h: services.dismiss(reported(h), h.manager, note="重复上报", now=NOW),
}


def _do(action, hz, h, actor):
    later = NOW + 4 * DAY
    if action in ("assign", "reassign"):
        return getattr(services, action)(
            hz,
            actor,
            grade="general",
            department_id=h.assignee_person.department_id,
            assignee_id=h.assignee_person.id,
            deadline=later + 7 * DAY,
            now=later,
        )
    if action == "dismiss":
        return services.dismiss(hz, actor, note="不是隐患", now=later)
    if action == "rectify":
        return services.rectify(hz, actor, note="done", photos=[photo()], now=later)
    if action == "verify":
        return services.verify(hz, actor, passed=True, now=later)
    if action == "reject":
        return services.verify(hz, actor, passed=False, note="不到位", now=later)
    if action == "close":
        return services.close(hz, actor, now=later)
    if action == "reopen":
        return services.reopen(hz, actor, note="复查发现", deadline=later + 7 * DAY, now=later)
    if action == "plan":
        return services.record_plan(hz, actor, PLAN, now=later)
    raise AssertionError(action)


ALLOWED_FROM = {
    "assign": {REPORTED},
    "dismiss": {REPORTED},
    "reassign": {ASSIGNED},
    "rectify": {ASSIGNED},
    "reject": {RECTIFIED},
    "verify": {RECTIFIED},
    "close": {VERIFIED},
    "reopen": {CLOSED, DISMISSED},
}
EXPECTED_TO = {
    ("assign", REPORTED): ASSIGNED,
    ("dismiss", REPORTED): DISMISSED,
    ("reassign", ASSIGNED): ASSIGNED,
    ("rectify", ASSIGNED): RECTIFIED,
    ("reject", RECTIFIED): ASSIGNED,
    ("verify", RECTIFIED): VERIFIED,
    ("close", VERIFIED): CLOSED,
    ("reopen", CLOSED): ASSIGNED,
    ("reopen", DISMISSED): REPORTED,
}


@pytest.mark.parametrize("state", list(STATE_BUILDERS))
@pytest.mark.parametrize("action", list(ALLOWED_FROM))
def test_transition_by_state(h, state, action):
    hz = STATE_BUILDERS[state](h)
    # the manager2 never rectified anything: the state alone decides
    actor = h.manager2
    if state in ALLOWED_FROM[action]:
        n = len(hz.events)
        _do(action, hz, h, actor)
        assert hz.status == EXPECTED_TO[(action, state)]
        assert len(hz.events) == n + 1
        last = hz.events[-1]
        assert last.action == action
        assert (last.from_status, last.to_status, last.actor_id) == (state, hz.status, actor.id)
    else:
        with pytest.raises(Conflict):
            _do(action, hz, h, actor)
        assert hz.status == state


MANAGER_ONLY = {
    "assign": REPORTED,
    "dismiss": REPORTED,
    "reassign": ASSIGNED,
    "verify": RECTIFIED,
    "reject": RECTIFIED,
    "close": VERIFIED,
    "reopen": CLOSED,
}


@pytest.mark.parametrize("action", list(MANAGER_ONLY))
@pytest.mark.parametrize("who", ["worker", "assignee", "other"])
def test_manager_only_actions_refused_to_others(h, action, who):
    hz = STATE_BUILDERS[MANAGER_ONLY[action]](h)
    with pytest.raises(Forbidden):
        _do(action, hz, h, getattr(h, who))
    assert hz.status == MANAGER_ONLY[action]


def test_trainer_is_not_a_safety_manager(h, make_person):
    trainer = make_person(h.ent, app_role="trainer").user
    with pytest.raises(Forbidden):
        _do("assign", reported(h), h, trainer)


def test_manager_of_another_enterprise_is_refused(h, make_enterprise, make_person):
    stranger = make_person(make_enterprise(), app_role="manager").user
    hz = reported(h)
    with pytest.raises(Forbidden):
        _do("assign", hz, h, stranger)
    with pytest.raises(NotFound):
        services.get_hazard(h.ent.id, hz.id, stranger)


def test_admin_acts_as_safety_manager(h, make_user):
    admin = make_user("admin")
    hz = _do("assign", reported(h), h, admin)
    assert hz.status == ASSIGNED


@pytest.mark.parametrize(
    "who,allowed", [("assignee", True), ("manager", True), ("worker", False), ("other", False)]
)
def test_rectify_by_person(h, who, allowed):
    hz = assigned(h)
    if allowed:
        _do("rectify", hz, h, getattr(h, who))
        assert hz.status == RECTIFIED and hz.rectified_by_id == getattr(h, who).id
    else:
        with pytest.raises(Forbidden):
            _do("rectify", hz, h, getattr(h, who))


def test_rectify_needs_note_and_photo(h):
    hz = assigned(h)
    with pytest.raises(DomainError) as e:
        services.rectify(hz, h.assignee, note="", photos=[photo()])
    assert e.value.field == "note"
    with pytest.raises(DomainError) as e:
        services.rectify(hz, h.assignee, note="done", photos=[])
    assert e.value.field == "photos"
    assert hz.status == ASSIGNED


@pytest.mark.parametrize("action", ["verify", "reject"])
def test_rectifier_cannot_verify_own_work(h, action):
    hz = rectified(h, by=h.manager)  # the manager rectified it himself
    with pytest.raises(Forbidden, match="整改人以外"):
        _do(action, hz, h, h.manager)
    _do(action, hz, h, h.manager2)
    assert hz.status == (VERIFIED if action == "verify" else ASSIGNED)


def test_reject_needs_a_reason_and_sends_back(h):
    hz = rectified(h)
    with pytest.raises(DomainError) as e:
        services.verify(hz, h.manager, passed=False, note="")
    assert e.value.field == "note"
    services.verify(hz, h.manager, passed=False, note="防护罩未固定", now=NOW + 3 * DAY)
    assert hz.status == ASSIGNED and hz.rectified_at is None
    services.rectify(hz, h.assignee, note="已固定", photos=[photo()], now=NOW + 4 * DAY)
    assert hz.status == RECTIFIED


def test_assign_validates_fields(h, make_enterprise, make_person):
    hz = reported(h)
    base = dict(
        grade="general",
        department_id=h.assignee_person.department_id,
        assignee_id=h.assignee_person.id,
        deadline=NOW + DAY,
        now=NOW,
    )
    for field, value in [
        ("grade", "huge"),
        ("department_id", None),
        ("assignee_id", None),
        ("deadline", None),
        ("deadline", NOW - DAY),
    ]:
        with pytest.raises(DomainError) as e:
            services.assign(hz, h.manager, **{**base, field: value})
        assert e.value.field == field
    foreign = make_person(make_enterprise())
    with pytest.raises(DomainError) as e:
        services.assign(hz, h.manager, **{**base, "assignee_id": foreign.id})
    assert e.value.field == "assignee_id"
    with pytest.raises(DomainError) as e:
        services.assign(hz, h.manager, **{**base, "department_id": foreign.department_id})
    assert e.value.field == "department_id"
    assert hz.status == REPORTED and len(hz.events) == 1


def test_major_hazard_needs_the_five_items_before_acceptance(h):
    hz = rectified(h, grade="major")
    with pytest.raises(Forbidden, match="五落实"):
        services.verify(hz, h.manager, passed=True)
    for key in services.PLAN_ITEMS:  # one item missing is still refused
        services.record_plan(hz, h.manager, {**PLAN, key: ""}, now=NOW + 3 * DAY)
        assert services.missing_plan_items(hz) == [key]
        with pytest.raises(Forbidden):
            services.verify(hz, h.manager, passed=True)
    services.record_plan(hz, h.assignee, PLAN, now=NOW + 3 * DAY)
    assert hz.plan_funds == Decimal("12000.00") and services.missing_plan_items(hz) == []
    services.verify(hz, h.manager, passed=True, now=NOW + 3 * DAY)
    assert hz.status == VERIFIED


def test_five_items_at_assignment_and_refused_for_general(h):
    hz = assigned(h, grade="major", plan=PLAN)
    assert services.missing_plan_items(hz) == []
    general = assigned(h)
    with pytest.raises(Forbidden, match="重大隐患"):
        services.record_plan(general, h.manager, PLAN)
    with pytest.raises(DomainError) as e:
        services.record_plan(hz, h.manager, {"plan_funds": "很多"})
    assert e.value.field == "plan_funds"
    with pytest.raises(Forbidden):
        services.record_plan(hz, h.worker, PLAN)


def test_reopen_closed_needs_reason_and_future_deadline(h):
    hz = closed(h)
    with pytest.raises(DomainError) as e:
        services.reopen(hz, h.manager, note="", deadline=NOW + 9 * DAY, now=NOW + 4 * DAY)
    assert e.value.field == "note"
    with pytest.raises(DomainError) as e:
        services.reopen(hz, h.manager, note="复发", deadline=NOW, now=NOW + 4 * DAY)
    assert e.value.field == "deadline"
    services.reopen(hz, h.manager, note="复发", deadline=NOW + 9 * DAY, now=NOW + 4 * DAY)
    assert (
        hz.status == ASSIGNED and hz.reopen_count == 1 and hz.closed_at is None and hz.rectified_by_id is None
    )


def test_allowed_actions(h):
    hz = rectified(h)
    assert services.allowed_actions(h.manager, hz) == ["reject", "verify"]
    assert services.allowed_actions(h.assignee, hz) == []
    assert services.allowed_actions(h.assignee, assigned(h)) == ["rectify"]
    assert services.allowed_actions(h.manager, reported(h)) == ["assign", "dismiss"]


def test_visibility(h):
    hz = assigned(h)
    assert (
        services.can_see(h.worker, hz)
        and services.can_see(h.assignee, hz)
        and services.can_see(h.manager, hz)
    )
    assert not services.can_see(h.other, hz)
    from lms.core.db import db

    def ids(u):
        return list(
            db.session.scalars(services.visible_query(h.ent.id, u).with_only_columns(services.Hazard.id))
        )

    assert ids(h.other) == [] and ids(h.worker) == [hz.id] and ids(h.assignee) == [hz.id]
