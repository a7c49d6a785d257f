"""hazard_counts (read by oversight) and overdue_hazards (read by reminders), checked against the hazards by hand."""

from __future__ import annotations

import datetime as dt

from lms.hazards import services
from tests.hazards.conftest import NOW, photo

DAY = dt.timedelta(days=1)


def _assign(h, hz, grade, deadline, at):
    return services.assign(
        hz,
        h.manager,
        grade=grade,
        department_id=h.assignee_person.department_id,
        assignee_id=h.assignee_person.id,
        deadline=deadline,
        now=at,
    )


def _report(h, at, text="隐患"):
    return services.report(h.ent.id, h.worker, description=text, area_id=h.area.id, now=at)


def test_counts_now_and_as_of_the_past(h, make_enterprise):
    empty = make_enterprise()
    a = _report(h, NOW - 40 * DAY, "A")  # reported long ago, general, overdue
    _assign(h, a, "general", NOW - 30 * DAY, NOW - 39 * DAY)
    b = _report(h, NOW - 10 * DAY, "B")  # major, overdue since NOW - 2 days
    _assign(h, b, "major", NOW - 2 * DAY, NOW - 9 * DAY)
    c = _report(h, NOW - 5 * DAY, "C")  # major, rectified in time (not overdue), open
    _assign(h, c, "major", NOW + 5 * DAY, NOW - 4 * DAY)
    services.rectify(c, h.assignee, note="ok", photos=[photo()], now=NOW - 3 * DAY)
    d = _report(h, NOW - 1 * DAY, "D")  # just reported
    e = _report(h, NOW - 20 * DAY, "E")  # closed: not open
    _assign(h, e, "general", NOW - 15 * DAY, NOW - 19 * DAY)
    services.rectify(e, h.assignee, note="ok", photos=[photo()], now=NOW - 18 * DAY)
    services.verify(e, h.manager, passed=True, now=NOW - 17 * DAY)
    services.close(e, h.manager, now=NOW - 17 * DAY)
    f = _report(h, NOW - 3 * DAY, "F")
    services.dismiss(f, h.manager, note="重复", now=NOW - 2 * DAY)

    counts = services.hazard_counts([h.ent.id, empty.id], NOW)
    assert counts[empty.id] == {
        "open": 0,
        "overdue": 0,
        "major_open": 0,
        "major_overdue": 0,
        "reported_30d": 0,
    }
    assert counts[h.ent.id] == {
        "open": 4,
        "overdue": 2,
        "major_open": 2,
        "major_overdue": 1,
        "reported_30d": 5,
    }

    # recomputed another way: from the hazards' current rows
    hazards = [a, b, c, d, e, f]
    open_ = [x for x in hazards if x.status in ("reported", "assigned", "rectified")]
    overdue = [x for x in hazards if services.is_overdue(x, NOW)]
    assert counts[h.ent.id]["open"] == len(open_) and counts[h.ent.id]["overdue"] == len(overdue)
    assert counts[h.ent.id]["major_overdue"] == len([x for x in overdue if x.grade == "major"])

    # as of 12 days ago: A overdue, E already closed, B–D and F not reported yet (A and E reported within 30 days)
    past = services.hazard_counts({h.ent.id}, NOW - 12 * DAY)
    assert past[h.ent.id] == {"open": 1, "overdue": 1, "major_open": 0, "major_overdue": 0, "reported_30d": 2}
    # as of 2.5 days ago: A, B, C and F open (F not yet dismissed, D not yet reported), B not yet overdue
    mid = services.hazard_counts([h.ent.id], NOW - dt.timedelta(days=2, hours=12))
    assert mid[h.ent.id]["open"] == 4 and mid[h.ent.id]["overdue"] == 1
    assert services.hazard_counts([], NOW) == {}


def test_overdue_hazards_escalate(h):
    late = _report(h, NOW - 10 * DAY, "一般，逾期1天")
    _assign(h, late, "general", NOW - 1 * DAY, NOW - 9 * DAY)
    later = _report(h, NOW - 10 * DAY, "一般，逾期5天")
    _assign(h, later, "general", NOW - 5 * DAY, NOW - 9 * DAY)
    major = _report(h, NOW - 10 * DAY, "重大，逾期1小时")
    _assign(h, major, "major", NOW - dt.timedelta(hours=1), NOW - 9 * DAY)
    fine = _report(h, NOW - 10 * DAY, "未到期")
    _assign(h, fine, "general", NOW + DAY, NOW - 9 * DAY)

    rows = services.overdue_hazards(h.ent.id, NOW)
    assert [r["hazard_id"] for r in rows] == [later.id, late.id, major.id]
    by_id = {r["hazard_id"]: r for r in rows}
    managers = sorted([h.manager.id, h.manager2.id])
    assert by_id[late.id]["notify_user_ids"] == [h.assignee.id] and not by_id[late.id]["escalated"]
    assert by_id[later.id]["days_overdue"] == 5 and by_id[later.id]["escalated"]
    assert by_id[later.id]["notify_user_ids"] == sorted([h.assignee.id, *managers])
    assert by_id[major.id]["escalated"] and by_id[major.id]["notify_user_ids"] == sorted(
        [h.assignee.id, *managers]
    )
    assert by_id[late.id]["url_path"] == f"/hazards/{late.id}" and by_id[late.id]["place"] == "二车间"
    assert services.overdue_hazards(h.ent.id, NOW - 8 * DAY) == []
