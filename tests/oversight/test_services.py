"""The risk coefficient: its factors read the figures of the packages that own them, the arithmetic adds up,
weights are per account, snapshots keep raw values, listings follow their rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from lms.core.db import db, utcnow
from lms.core.errors import Conflict, DomainError
from lms.core.timeutil import today as local_today
from lms.culture.models import Campaign, CampaignUnit, Framework
from lms.org.services import roles_by_name
from lms.oversight import services
from lms.oversight.models import Listing, RiskSnapshot, RiskWeight
from lms.training import coverage
from tests.training.helpers import rec, requirement

TODAY = local_today()
LONG_AGO = TODAY - dt.timedelta(days=400)


def _trained_and_late(ent, make_person, late=1, trained=1):
    """``trained`` people who did their 8 hours and ``late`` who did not, under one hours requirement."""
    requirement(ent, initial_days=30)
    people = []
    for i in range(trained):
        p = make_person(ent, hire_date=LONG_AGO)
        rec(p, LONG_AGO + dt.timedelta(days=5 + i), 8)
        people.append(p)
    for _ in range(late):
        people.append(make_person(ent, hire_date=LONG_AGO))
    return people


def _special_ops(ent, make_person, with_certificate: int, without: int):
    role_id = roles_by_name(ent.id)["特种作业人员"].id
    requirement(
        ent,
        name="特种作业操作证",
        kind="certificate",
        applies_to="role",
        role_id=role_id,
        hours_required=0,
        certificate_category="特种作业操作证",
        initial_days=0,
    )
    for i in range(with_certificate):
        p = make_person(ent, roles=("特种作业人员",), hire_date=LONG_AGO)
        issued = TODAY - dt.timedelta(days=200 + i)
        rec(
            p,
            issued,
            0,
            kind="certificate",
            category="特种作业操作证",
            topic="低压电工作业",
            valid_until=issued + dt.timedelta(days=365 * 5),
        )
    for _ in range(without):
        make_person(ent, roles=("特种作业人员",), hire_date=LONG_AGO)


def test_training_factors_are_the_regulator_pages_figures(make_enterprise, make_person):
    a, b = make_enterprise(), make_enterprise()
    _trained_and_late(a, make_person, late=1, trained=3)
    _trained_and_late(b, make_person, late=2, trained=0)
    values = services.factor_values([a.id, b.id], TODAY)
    # What the regulator's coverage page shows (lms.training.coverage.by_enterprise), enterprise by enterprise.
    for row in coverage.by_enterprise([a.id, b.id], TODAY):
        v = values[row["key"]]
        assert v["coverage"].value == row["share"]
        assert v["overdue"].value == row["late"] / row["people"]
    # And by hand: A has 3 of 4 people compliant, B none of 2.
    assert values[a.id]["coverage"].value == pytest.approx(0.75)
    assert values[a.id]["overdue"].value == pytest.approx(0.25)
    assert values[b.id]["coverage"].value == 0 and values[b.id]["overdue"].value == 1


def test_special_operation_certificates_lapsed_or_missing(enterprise, make_person):
    _special_ops(enterprise, make_person, with_certificate=3, without=1)
    v = services.factor_values([enterprise.id], TODAY)[enterprise.id]["certificates"]
    assert v.value == pytest.approx(0.25) and v.detail == "1 / 4"


def test_an_enterprise_without_requirements_has_no_training_data(enterprise, make_person):
    make_person(enterprise)
    v = services.factor_values([enterprise.id], TODAY)[enterprise.id]
    assert v["coverage"].value is None and v["overdue"].value is None and v["certificates"].value is None
    s = services.score(v, services.default_weights())
    assert {line.factor.key: line.level for line in s.lines}["coverage"] == 0


def _published(ent, kind, average_points, *, published_at, max_points=100, name=None):
    fw = Framework(enterprise_id=ent.id, name=f"{kind}框架", kind=kind, max_points=Decimal(max_points))
    db.session.add(fw)
    db.session.flush()
    c = Campaign(
        enterprise_id=ent.id,
        framework_id=fw.id,
        name=name or f"{kind}评价",
        period_start=dt.date(2026, 1, 1),
        period_end=dt.date(2026, 3, 31),
        status="published",
        published_at=published_at,
    )
    db.session.add(c)
    db.session.flush()
    for offset in (-5, 5):
        db.session.add(
            CampaignUnit(campaign_id=c.id, label=f"单元{offset}", score=Decimal(average_points + offset))
        )
    db.session.flush()
    return c


def test_culture_factor_reads_the_latest_published_result_one_query(make_enterprise):
    a, b, none = make_enterprise(), make_enterprise(), make_enterprise()
    _published(a, "culture", 90, published_at=utcnow() - dt.timedelta(days=100), name="旧")
    _published(a, "post", 60, published_at=utcnow() - dt.timedelta(days=10), name="新示范岗")
    _published(b, "culture", 40, published_at=utcnow() - dt.timedelta(days=5), max_points=50)
    # A draft campaign is no result.
    fw = db.session.scalars(select(Framework).where(Framework.enterprise_id == b.id)).first()
    db.session.add(
        Campaign(
            enterprise_id=b.id,
            framework_id=fw.id,
            name="草稿",
            period_start=dt.date(2026, 4, 1),
            period_end=dt.date(2026, 6, 30),
            status="draft",
        )
    )
    db.session.flush()
    values = services.factor_values([a.id, b.id, none.id], TODAY)
    assert (
        values[a.id]["culture"].value == pytest.approx(0.60) and "新示范岗" in values[a.id]["culture"].detail
    )
    assert values[b.id]["culture"].value == pytest.approx(0.80)
    assert values[none.id]["culture"].value is None
    # Before the newer one was published, the older one was the last result.
    earlier = services.factor_values([a.id], TODAY - dt.timedelta(days=30))[a.id]["culture"]
    assert earlier.value == pytest.approx(0.90)
    # No evaluation counts as half the culture weight.
    lines = {x.factor.key: x for x in services.score(values[none.id], services.default_weights()).lines}
    assert lines["culture"].level == 0.5


def test_high_risk_flag(make_enterprise):
    chem = make_enterprise(industry="危险化学品")
    mech = make_enterprise(industry="机械制造")
    values = services.factor_values([chem.id, mech.id], TODAY)
    assert values[chem.id]["high_risk"].value == 1.0 and values[mech.id]["high_risk"].value == 0.0


def test_score_arithmetic_contributions_add_up_and_counts_saturate():
    weights = services.default_weights()
    values = {
        "coverage": services.Value(0.8),  # level 0.2
        "overdue": services.Value(0.1),
        "certificates": services.Value(None),
        "hazards_open": services.Value(20),  # above "full at" 10: level 1
        "hazards_overdue": services.Value(1),  # 1 / 3
        "major_open": services.Value(1),
        "major_overdue": services.Value(0),
        "permits_refused": services.Value(None, available=False),
        "culture": services.Value(0.9),
        "high_risk": services.Value(1.0),
    }
    s = services.score(values, weights)
    by = {x.factor.key: x for x in s.lines}
    assert by["coverage"].level == pytest.approx(0.2)
    assert by["hazards_open"].level == 1.0
    assert by["hazards_overdue"].level == pytest.approx(1 / 3)
    assert by["permits_refused"].level == 0
    total_w = float(sum(w.weight for w in weights.values()))
    expected = 100 * sum(float(weights[k].weight) * by[k].level for k in by) / total_w
    assert s.total == round(expected, 1)
    assert sum(x.contribution for x in s.lines) == pytest.approx(expected)
    # A major open hazard weighs more than the same count of general ones.
    assert by["major_open"].contribution > 3 * (
        100 * float(weights["hazards_open"].weight) * (1 / 10) / total_w
    )
    assert services.band_of(s.total)[0] == s.band
    assert services.band_of(60)[0] == "major" and services.band_of(59.9)[0] == "high"
    assert services.band_of(0)[0] == "low"


@pytest.fixture(autouse=True)
def _english(app):
    """Messages are matched in English (the source strings); pages are Chinese by default."""
    with app.test_request_context(), force_locale("en"):
        yield


def test_weights_are_per_account_validated_and_reset(make_user):
    reg1, reg2 = make_user("regulator"), make_user("regulator")
    form = {f"weight_{k}": str(w.weight) for k, w in services.default_weights().items()}
    form.update({f"full_at_{k}": str(w.full_at) for k, w in services.default_weights().items() if w.full_at})
    form["weight_high_risk"] = "40"
    form["full_at_major_open"] = "2"
    services.save_weights(reg1, form)
    assert services.weights_for(reg1)["high_risk"].weight == Decimal(40)
    assert services.weights_for(reg1)["major_open"].full_at == Decimal(2)
    assert services.weights_for(reg2)["high_risk"].weight == Decimal(
        10
    )  # the other account keeps the defaults
    for bad, message in [
        ({"weight_coverage": "abc"}, "number"),
        ({"weight_coverage": "-1"}, "0"),
        ({"weight_coverage": "101"}, "100"),
        ({"weight_coverage": ""}, "required|weight"),
        ({"full_at_major_open": "0"}, "full"),
        ({"weight_coverage": "NaN"}, "number"),
    ]:
        with pytest.raises(DomainError, match=message):
            services.save_weights(reg1, {**form, **bad})
    with pytest.raises(DomainError):
        services.save_weights(reg1, {**form, **{f"weight_{k}": "0" for k in services.BY_KEY}})
    assert services.weights_for(reg1)["high_risk"].weight == Decimal(40)  # a refused form changes nothing
    services.reset_weights(reg1)
    assert (
        db.session.scalar(select(func.count()).select_from(RiskWeight).where(RiskWeight.user_id == reg1.id))
        == 0
    )


def test_ranking_sorted_filtered_and_listed(make_enterprise, make_person, make_user):
    chem = make_enterprise(industry="危险化学品")
    chem.region = "滨江区"
    mech = make_enterprise(industry="机械制造")
    mech.region = "临港区"
    _trained_and_late(chem, make_person, late=2, trained=0)
    _trained_and_late(mech, make_person, late=0, trained=2)
    reg = make_user("regulator")
    services.list_enterprise(mech, "复查", utcnow() + dt.timedelta(days=10), reg)
    w = services.default_weights()
    rows = services.ranking([chem.id, mech.id], TODAY, w)
    assert [r["enterprise"].id for r in rows] == [chem.id, mech.id]
    assert rows[0]["score"].total > rows[1]["score"].total
    assert rows[1]["listing"] is not None and rows[0]["listing"] is None
    assert [r["enterprise"].id for r in services.ranking([chem.id, mech.id], TODAY, w, region="临港区")] == [
        mech.id
    ]
    assert [
        r["enterprise"].id for r in services.ranking([chem.id, mech.id], TODAY, w, industry="危险化学品")
    ] == [chem.id]
    assert [r["enterprise"].id for r in services.ranking([chem.id, mech.id], TODAY, w, listed_only=True)] == [
        mech.id
    ]
    assert services.filter_choices([chem.id, mech.id]) == (["危险化学品", "机械制造"], ["临港区", "滨江区"])


def test_snapshots_keep_raw_values_and_are_rescored_with_the_weights(enterprise, make_person, make_user):
    _trained_and_late(enterprise, make_person, late=1, trained=1)
    last_month = services.months_back(TODAY, 2)[0]
    assert services.missing_months(enterprise.id, TODAY, 3) == services.months_back(TODAY, 3)[:-1]
    services.take_snapshot([enterprise.id], last_month, TODAY)
    services.take_snapshot([enterprise.id], last_month, TODAY)  # taken again: replaced, not doubled
    rows = db.session.scalars(
        select(RiskSnapshot).where(RiskSnapshot.enterprise_id == enterprise.id).order_by(RiskSnapshot.factor)
    ).all()
    assert len({r.factor for r in rows}) == len(rows)
    assert {r.as_of for r in rows} == {services.month_end(last_month)}
    kept = {r.factor: r.value for r in rows}
    expected = services.factor_values([enterprise.id], services.month_end(last_month))[enterprise.id]
    assert kept["coverage"] == expected["coverage"].value
    assert last_month not in services.missing_months(enterprise.id, TODAY, 3)
    reg = make_user("regulator")
    w = services.default_weights()
    t = services.trend(enterprise.id, TODAY, w, n=3)
    assert [m["score"] is None for m in t] == [True, False, True]  # no current score passed: none
    heavy = dict(w)
    heavy["overdue"] = services.Weight(Decimal(100), None)
    t2 = services.trend(enterprise.id, TODAY, heavy, n=3)
    assert t2[1]["score"].total != t[1]["score"].total  # the history is scored with the weights given
    assert reg.id
    with pytest.raises(DomainError):
        services.take_snapshot([enterprise.id], services.month_start(TODAY + dt.timedelta(days=40)), TODAY)


def test_listing_rules(enterprise, make_user):
    reg = make_user("regulator")
    soon = utcnow() + dt.timedelta(days=7)
    with pytest.raises(DomainError, match="reason"):
        services.list_enterprise(enterprise, "   ", soon, reg)
    with pytest.raises(DomainError, match="future"):
        services.list_enterprise(enterprise, "原因", utcnow() - dt.timedelta(minutes=1), reg)
    with pytest.raises(DomainError, match="long"):
        services.list_enterprise(enterprise, "长" * 2001, soon, reg)
    listing = services.list_enterprise(enterprise, "  重大隐患逾期  ", soon, reg)
    assert listing.reason == "重大隐患逾期" and listing.is_open and listing.listed_by_id == reg.id
    with pytest.raises(Conflict):
        services.list_enterprise(enterprise, "再次", soon, reg)
    with pytest.raises(DomainError, match="why"):
        services.lift(listing, "", reg)
    services.lift(listing, "整改完成", reg)
    assert not listing.is_open and listing.lift_note == "整改完成"
    with pytest.raises(Conflict):
        services.lift(listing, "again", reg)
    second = services.list_enterprise(enterprise, "新问题", soon, reg)  # listed again after the lift
    assert [x.id for x in services.listings_of(enterprise.id)][0] == second.id
    assert services.open_listings([enterprise.id]) == {enterprise.id: second}


def test_one_open_listing_per_enterprise_is_kept_by_the_database(enterprise, make_user):
    reg = make_user("regulator")
    services.list_enterprise(enterprise, "一", utcnow() + dt.timedelta(days=3), reg)
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(
            Listing(enterprise_id=enterprise.id, reason="二", deadline_at=utcnow(), listed_at=utcnow())
        )
        db.session.flush()


def test_the_enterprises_managers_are_told_when_it_is_listed_and_lifted(
    app, enterprise, make_user, make_enterprise
):
    from lms.training.models import Notification
    from lms.training.notifications import text

    reg = make_user("regulator")
    manager, trainer = make_user("manager", enterprise), make_user("trainer", enterprise)
    elsewhere = make_user("manager", make_enterprise())
    with app.test_request_context():  # as the regulator's pages do
        listing = services.list_enterprise(
            enterprise, "重大隐患逾期未整改", utcnow() + dt.timedelta(days=30), reg
        )
        services.lift(listing, "已整改销号", reg)

    def told(user):
        return db.session.scalars(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        ).all()

    notes = told(manager)
    assert [n.key for n in notes] == [f"listing:{listing.id}:listed", f"listing:{listing.id}:lifted"]
    assert "挂牌督查" in notes[0].title and "重大隐患逾期未整改" in notes[0].title
    with app.test_request_context(), force_locale("en"):
        assert text(notes[1]).startswith("The listed supervision of your enterprise is lifted")
    assert told(trainer) == [] and told(elsewhere) == []
