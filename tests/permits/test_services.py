"""The check: requirement status from lms.training's one read, certificates valid on the day, reasons and fixes."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from lms.core.errors import DomainError, NotFound
from lms.permits import services
from lms.permits.models import APPROVED, REFUSED
from lms.training import reading
from tests.permits.conftest import DAY, special_ops


def codes(result, person):
    r = next(r for r in result.people if r.person.id == person.id)
    return [f.code for f in r.findings]


def test_three_people_for_confined_space(scene):
    result = services.check(
        scene.work, [(scene.ok, "作业人员"), (scene.overdue, "作业人员"), (scene.lapsed, "监护人")], DAY
    )
    assert [r.qualified for r in result.people] == [True, False, False]
    assert not result.qualified
    assert codes(result, scene.overdue) == ["requirement_overdue"]
    assert codes(result, scene.lapsed) == ["certificate_expired"]
    lapsed = result.people[2]
    assert "2026-05-31" in str(lapsed.findings[0].reason) and "受限空间" in str(lapsed.findings[0].reason)
    assert "retrained" in str(lapsed.findings[0].fix)
    overdue = result.people[1]
    assert "从业人员每年再培训" in str(overdue.findings[0].reason)
    assert str(overdue.findings[0].fix).startswith("Complete 从业人员每年再培训")
    assert re.search(r": \d+(\.\d)?/8 hours done", str(overdue.findings[0].fix)), str(overdue.findings[0].fix)
    assert any("从业人员每年再培训" in str(m) for m in result.people[0].met)


def test_requirement_status_is_the_my_training_read(scene):
    """The status a check reports is the row the person's "my training" page reads, for every person."""
    for person in (scene.ok, scene.overdue, scene.lapsed):
        rows = reading.person_rows(scene.ent.id, person.id, DAY)
        annual = next(n.requirement for n in scene.work.needs if n.kind == "requirement")
        row = next(r for r in rows if r["requirement_id"] == annual.id)
        result = services.check(scene.work, [(person, "作业人员")], DAY)
        has_finding = any(f.code.startswith("requirement_") for f in result.people[0].findings)
        assert has_finding == (row["status"] not in ("complete", "exempt"))
        if has_finding:
            assert result.people[0].findings[0].code == f"requirement_{row['status']}"


def test_certificate_is_judged_on_the_day_of_the_work(scene):
    before = services.check(scene.work, [(scene.lapsed, "作业人员")], dt.date(2026, 5, 31))
    assert before.qualified  # the last valid day
    after = services.check(scene.work, [(scene.lapsed, "作业人员")], dt.date(2026, 6, 1))
    assert codes(after, scene.lapsed) == ["certificate_expired"]
    # a certificate issued after the day does not count: none held then
    early = services.check(scene.work, [(scene.ok, "作业人员")], dt.date(2026, 1, 4))
    assert "certificate_missing" in codes(early, scene.ok)


def test_revoked_internal_certificate(scene):
    from certificates.services import certificates_for_person, revoke

    cert = certificates_for_person(scene.ok.id)[0]
    revoke(cert, "录入错误", actor=None)
    result = services.check(scene.work, [(scene.ok, "作业人员")], DAY)
    assert codes(result, scene.ok) == ["certificate_revoked"]


def test_roles_without_needs_and_unknown_roles(scene):
    # 审批人 needs only the yearly retraining
    result = services.check(scene.work, [(scene.lapsed, "审批人")], DAY)
    assert result.qualified
    with pytest.raises(DomainError) as exc:
        services.check(scene.work, [(scene.ok, "司机")], DAY)
    assert exc.value.field == "role"


def test_special_operations_certificate_and_its_review(scene):
    ok = services.check(scene.hot, [(scene.welder, "作业人员")], DAY)
    assert ok.qualified, [str(f.reason) for f in ok.people[0].findings]
    assert any("T320100000001" in str(m) for m in ok.people[0].met)
    # reviewed 2025-02-20: the next review is due by 2028-02-20 (the yearly retraining is overdue by then too)
    assert "certificate_review_missed" not in codes(
        services.check(scene.hot, [(scene.welder, "作业人员")], dt.date(2028, 2, 20)), scene.welder
    )
    assert "certificate_review_missed" in codes(
        services.check(scene.hot, [(scene.welder, "作业人员")], dt.date(2028, 2, 21)), scene.welder
    )
    missing = services.check(scene.hot, [(scene.ok, "作业人员")], DAY)
    assert codes(missing, scene.ok) == ["certificate_missing"]
    assert "焊接与热切割" in str(missing.people[0].findings[0].reason)


def test_missed_review_lapses_a_special_operations_certificate(scene, make_person):
    from tests.permits.conftest import hours

    p = make_person(scene.ent, name="电焊乙", employee_no="P1005")
    hours(p, 2025)
    hours(p, 2026)
    special_ops(p, "熔化焊接与热切割作业", dt.date(2022, 3, 1), dt.date(2028, 2, 28), "T320100000002")
    result = services.check(scene.hot, [(p, "作业人员")], DAY)  # no review by 2025-03-01
    assert codes(result, p) == ["certificate_review_missed"]
    assert "2025-03-01" in str(result.people[0].findings[0].reason)
    assert "certificate_review_missed" not in codes(
        services.check(scene.hot, [(p, "作业人员")], dt.date(2025, 3, 1)), p
    )


def test_a_person_who_left_is_not_qualified(scene):
    scene.ok.status, scene.ok.left_on = "left", dt.date(2026, 6, 1)
    result = services.check(scene.work, [(scene.ok, "作业人员")], DAY)
    assert codes(result, scene.ok) == ["left"]


def test_another_enterprises_person_is_refused(scene, make_enterprise, make_person):
    other = make_person(make_enterprise(), employee_no="P1001")
    with pytest.raises(NotFound):
        services.check(scene.work, [(other, "作业人员")], DAY)


def test_find_people_by_number_name_and_certificate_qr(scene, make_enterprise, make_person):
    from certificates.documents import verify_url
    from certificates.services import certificates_for_person

    assert services.find_people(scene.ent.id, " p1001 ".upper()) == [scene.ok]
    assert services.find_people(scene.ent.id, "吴逾期") == [scene.overdue]
    cert = certificates_for_person(scene.lapsed.id)[0]
    assert services.find_people(scene.ent.id, verify_url(cert)) == [scene.lapsed]
    with pytest.raises(DomainError) as exc:
        services.find_people(scene.ent.id, verify_url(cert).replace(cert.verification_code, "X" * 26))
    assert exc.value.field == "add"
    foreign = make_person(make_enterprise(), name="外企人员")
    from certificates.services import issue

    foreign_cert = issue(
        foreign, kind="manual", source="t:foreign", title="受限空间作业安全培训合格证"
    ).certificate
    with pytest.raises(DomainError):
        services.find_people(scene.ent.id, verify_url(foreign_cert))
    with pytest.raises(DomainError):
        services.find_people(scene.ent.id, "外企人员")
    twins = [make_person(scene.ent, name="张伟", employee_no=no) for no in ("P2002", "P2001")]
    assert services.find_people(scene.ent.id, "张伟") == sorted(twins, key=lambda p: p.employee_no)


def test_save_permit_approved_and_refused(scene):
    start = dt.datetime.combine(DAY, dt.time(9, 0))
    permit = services.save_permit(
        scene.work,
        [(scene.ok, "作业人员")],
        place="T-201 储罐",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=8),
        status=APPROVED,
        actor=scene.manager,
    )
    assert permit.status == APPROVED and permit.people[0].qualified
    assert permit.starts_at == dt.datetime(2026, 6, 15, 1, 0)  # 09:00 in Shanghai, stored UTC
    assert permit.checked_by_name == scene.manager.display_name
    with pytest.raises(DomainError) as exc:
        services.save_permit(
            scene.work,
            [(scene.ok, "作业人员"), (scene.lapsed, "监护人")],
            place="T-202",
            starts_at=start,
            ends_at=start + dt.timedelta(hours=2),
            status=APPROVED,
            actor=scene.manager,
        )
    assert exc.value.field == "status" and "郑过期" in str(exc.value.message)
    refused = services.save_permit(
        scene.work,
        [(scene.ok, "作业人员"), (scene.lapsed, "监护人")],
        place="T-202",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
        status=REFUSED,
        actor=scene.manager,
    )
    assert [pp.qualified for pp in refused.people] == [True, False]
    kept = refused.people[1].reasons[0]
    assert kept["code"] == "certificate_expired"
    assert str(services.stored_message(kept["reason"])).startswith("Certificate 受限空间作业安全培训合格证")


def test_a_window_that_reaches_a_day_someone_is_not_qualified(scene):
    start = dt.datetime(2026, 5, 31, 20, 0)  # the certificate's last day, ending the next morning
    with pytest.raises(DomainError):
        services.save_permit(
            scene.work,
            [(scene.lapsed, "作业人员")],
            place="夜间检修",
            starts_at=start,
            ends_at=start + dt.timedelta(hours=10),
            status=APPROVED,
            actor=scene.manager,
        )


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("place", {"place": "  "}),
        ("place", {"place": "x" * 201}),
        ("ends_at", {"ends_at": dt.datetime(2026, 6, 15, 8, 0)}),
        ("ends_at", {"ends_at": dt.datetime(2026, 6, 23, 9, 0)}),
        ("status", {"status": "maybe"}),
        ("people", {"entries": []}),
    ],
)
def test_save_permit_refuses_bad_input_naming_the_field(scene, field, kwargs):
    values = {
        "entries": [(scene.ok, "作业人员")],
        "place": "T-201",
        "starts_at": dt.datetime(2026, 6, 15, 9, 0),
        "ends_at": dt.datetime(2026, 6, 15, 17, 0),
        "status": APPROVED,
    }
    values.update(kwargs)
    entries = values.pop("entries")
    with pytest.raises(DomainError) as exc:
        services.save_permit(scene.work, entries, actor=scene.manager, **values)
    assert exc.value.field == field


def test_the_same_person_twice(scene):
    with pytest.raises(DomainError) as exc:
        services.save_permit(
            scene.work,
            [(scene.ok, "作业人员"), (scene.ok, "监护人")],
            place="x",
            starts_at=dt.datetime(2026, 6, 15, 9),
            ends_at=dt.datetime(2026, 6, 15, 10),
            status=REFUSED,
            actor=scene.manager,
        )
    assert exc.value.field == "people"


def test_find_work_by_short_name_key_or_id(scene):
    assert services.find_work(scene.ent.id, "受限空间") == scene.work
    assert services.find_work(scene.ent.id, "confined_space") == scene.work
    assert services.find_work(scene.ent.id, str(scene.work.id)) == scene.work
    with pytest.raises(DomainError) as exc:
        services.find_work(scene.ent.id, "潜水")
    assert exc.value.field == "work"


def test_dates_far_from_today_are_refused(scene):
    for day in (dt.date(1, 1, 1), dt.date(9999, 12, 31)):
        with pytest.raises(DomainError) as exc:
            services.check(scene.work, [(scene.ok, "作业人员")], day)
        assert exc.value.field == "date"
    with pytest.raises(DomainError) as exc:
        services.save_permit(
            scene.work,
            [(scene.ok, "作业人员")],
            place="x",
            starts_at=dt.datetime(1, 1, 1, 9),
            ends_at=dt.datetime(1, 1, 1, 10),
            status=REFUSED,
            actor=scene.manager,
        )
    assert exc.value.field == "date"
