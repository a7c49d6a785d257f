"""Value→points mappings, weights, deductions, vetoes, ranks: pure functions."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from lms.core.errors import DomainError
from lms.culture import scoring


def test_linear_mapping_between_thresholds():
    m = {"type": "linear", "zero": 0.6, "full": 1}
    assert scoring.map_value(0.5, m) == 0
    assert scoring.map_value(0.8, m) == D("0.5")
    assert scoring.map_value(1.2, m) == 1
    assert scoring.map_value(None, m) is None


def test_linear_mapping_lower_is_better():
    m = {"type": "linear", "zero": 5, "full": 0}
    assert scoring.map_value(0, m) == 1
    assert scoring.map_value(5, m) == 0
    assert scoring.map_value(D("2.5"), m) == D("0.5")


def test_band_mapping():
    m = {"type": "bands", "bands": [[1, 100], [0.95, 90], [0.9, 80], [0.8, 60]]}
    assert scoring.map_value(1, m) == 1
    assert scoring.map_value(D("0.96"), m) == D("0.9")
    assert scoring.map_value(D("0.85"), m) == D("0.6")
    assert scoring.map_value(D("0.5"), m) == 0
    low = {"type": "bands", "bands": [[0, 100], [2, 50]], "lower_is_better": True}
    assert scoring.map_value(0, low) == 1
    assert scoring.map_value(2, low) == D("0.5")
    assert scoring.map_value(3, low) == 0


def test_bad_mappings_refused():
    with pytest.raises(DomainError):
        scoring.validate_mapping({"type": "linear", "zero": 1, "full": 1})
    with pytest.raises(DomainError):
        scoring.validate_mapping({"type": "bands", "bands": []})
    with pytest.raises(DomainError):
        scoring.validate_mapping({"type": "spline"})


def _ind(id, name, kind, weight=0, parent=None, **config):
    return {
        "id": id,
        "parent_id": parent,
        "name": name,
        "kind": kind,
        "weight": weight,
        "config": config,
        "sort_order": id,
    }


def test_weights_must_sum_to_100_per_level_and_name_the_level():
    inds = [
        _ind(1, "安全培训", "group", 60),
        _ind(2, "安全技能", "manual", 40),
        _ind(3, "覆盖率", "automatic", 50, parent=1),
        _ind(4, "考试", "automatic", 45, parent=1),
    ]
    with pytest.raises(DomainError, match="安全培训.*95"):
        scoring.check_weights(inds)
    inds[3]["weight"] = 50
    scoring.check_weights(inds)
    inds[0]["weight"] = 70
    with pytest.raises(DomainError, match="评分表"):
        scoring.check_weights(inds, root_name="评分表")


def test_deductions_veto_and_not_applicable_weights():
    snap = {
        "max_points": 100,
        "indicators": [
            _ind(1, "培训", "group", 50),
            _ind(2, "技能", "manual", 50, scale_max=10),
            _ind(3, "覆盖率", "automatic", 50, parent=1, mapping={"type": "linear", "zero": 0, "full": 1}),
            _ind(
                4, "考试合格率", "automatic", 50, parent=1, mapping={"type": "linear", "zero": 0, "full": 1}
            ),
            _ind(5, "缺课", "deduction", points_per=10, cap=15),
            _ind(6, "事故", "veto"),
        ],
    }
    # No exam in the period: its weight goes to coverage.
    res = scoring.compute(snap, {2: D(8), 3: D("0.9"), 4: None, 5: 0, 6: 0})
    assert res.score == D("85.00")  # 0.9 * 50 + 0.8 * 50
    assert res.breakdown["3"]["max_points"] == "50.00"
    assert res.breakdown["4"]["points"] is None
    assert not res.vetoed
    res = scoring.compute(snap, {2: D(8), 3: D("0.9"), 4: D("0.5"), 5: 2, 6: 1})
    assert res.score == D("60.00")  # 22.5 + 12.5 + 40 - min(20, 15)
    assert res.vetoed and res.veto_reasons == ["事故"]
    assert [n for n, _ in res.top_level] == ["培训", "技能"]


def test_levels_and_ranks():
    bands = [
        {"min": 90, "label": "示范岗"},
        {"min": 80, "label": "良好"},
        {"min": 60, "label": "合格"},
        {"min": 0, "label": "待改进"},
    ]
    assert scoring.level_for(D("90"), bands) == "示范岗"
    assert scoring.level_for(D("89.99"), bands) == "良好"
    assert scoring.level_for(D("10"), bands) == "待改进"
    ranks = scoring.rank([(1, D(80), False), (2, D(95), True), (3, D(90), False), (4, D(80), False)])
    assert ranks == {3: 1, 1: 2, 4: 2, 2: 4}
