"""Preset frameworks: an enterprise safety-culture framework after AQ/T 9004-2008 and a demonstration-post
scorecard on 100 points with veto items. Installed per enterprise, then editable like any framework."""

from __future__ import annotations

from typing import Any

# A node: (name, kind, weight, layer, config, children). Weights are percents of the parent.
Node = tuple[str, str, float, str | None, dict[str, Any] | None, list[Any]]


def _m(name: str, weight: float, layer: str | None = None, scale: int = 10, desc: str | None = None) -> Node:
    return (name, "manual", weight, layer, {"scale_max": scale, "description": desc}, [])


def _a(name: str, weight: float, metric: str, mapping: dict[str, Any], layer: str | None = None) -> Node:
    return (name, "automatic", weight, layer, {"metric": metric, "mapping": mapping}, [])


def _g(name: str, weight: float, children: list[Node], layer: str | None = None) -> Node:
    return (name, "group", weight, layer, None, children)


LINEAR_RATE = {"type": "linear", "zero": 0.6, "full": 1}

CULTURE_AQT9004 = {
    "key": "culture_aqt9004",
    "name": "企业安全文化建设评价（参照 AQ/T 9004-2008）",
    "kind": "culture",
    "description": "按《企业安全文化建设导则》AQ/T 9004-2008 的七个基本要素设置一级指标，"
    "每个二级指标同时归入理念文化、制度文化、行为文化、物态文化四个层次之一。",
    "tree": [
        _g(
            "安全承诺",
            15,
            [
                _m("安全价值观、愿景与使命", 40, "理念文化"),
                _m("决策层安全承诺与示范", 35, "理念文化"),
                _m("员工对安全承诺的认知与认同", 25, "理念文化"),
            ],
        ),
        _g(
            "行为规范与程序",
            15,
            [
                _m("安全规章制度与操作规程完善", 40, "制度文化"),
                _m("作业许可与规程执行", 35, "行为文化"),
                _a(
                    "培训按时完成率",
                    25,
                    "on_time_completion",
                    {"type": "linear", "zero": 0.5, "full": 1},
                    "制度文化",
                ),
            ],
        ),
        _g(
            "安全行为激励",
            10,
            [
                _m("安全绩效考核与奖惩机制", 50, "制度文化"),
                _m("不安全行为纠正与正向激励", 50, "行为文化"),
            ],
        ),
        _g(
            "安全信息传播与沟通",
            15,
            [
                _a(
                    "安全通知签收率",
                    40,
                    "notice_ack_rate",
                    {"type": "linear", "zero": 0.5, "full": 1},
                    "行为文化",
                ),
                _m("安全信息沟通渠道与反馈", 30, "制度文化"),
                _m("安全宣传栏与警示标识", 30, "物态文化"),
            ],
        ),
        _g(
            "自主学习与改进",
            20,
            [
                _a("培训覆盖率", 30, "training_coverage", LINEAR_RATE, "制度文化"),
                _a(
                    "人均学时达标率",
                    25,
                    "hours_per_head",
                    {"type": "linear", "zero": 0, "full": 1},
                    "行为文化",
                ),
                _a("考试合格率", 25, "exam_pass_rate", LINEAR_RATE, "行为文化"),
                _m("事故教训分享与持续改进", 20, "理念文化"),
            ],
        ),
        _g(
            "安全事务参与",
            10,
            [
                _m("员工参与隐患排查与合理化建议", 50, "行为文化"),
                _a(
                    "线下培训出勤率",
                    50,
                    "attendance_rate",
                    {"type": "linear", "zero": 0.7, "full": 1},
                    "行为文化",
                ),
            ],
        ),
        _g(
            "审核与评估",
            15,
            [
                _m("安全文化评估与审核", 40, "制度文化"),
                _m("作业环境与安全设施", 35, "物态文化"),
                _m("个体防护装备配备与使用", 25, "物态文化"),
            ],
        ),
    ],
}

DEMONSTRATION_POST = {
    "key": "demonstration_post",
    "name": "安全示范岗评分表（100 分）",
    "kind": "post",
    "description": "岗位（班组）安全示范岗创建考核，满分 100 分；有一票否决项的不得评为示范岗。",
    "tree": [
        _g(
            "创建目标和措施",
            10,
            [
                _m("创建目标与工作计划", 50, desc="有明确的创建目标、计划和责任分工"),
                _m("措施落实与台账", 50, desc="措施落实，台账齐全"),
            ],
        ),
        _g(
            "安全意识",
            15,
            [
                _a("安全通知签收率", 40, "notice_ack_rate", {"type": "linear", "zero": 0.5, "full": 1}),
                _m("班前会与安全活动", 60, desc="班前会、安全活动日开展情况"),
            ],
        ),
        _g(
            "安全培训",
            30,
            [
                _a("培训覆盖率", 30, "training_coverage", LINEAR_RATE),
                _a("人均学时达标率", 25, "hours_per_head", {"type": "linear", "zero": 0, "full": 1}),
                _a(
                    "考试合格率",
                    20,
                    "exam_pass_rate",
                    {"type": "bands", "bands": [[1, 100], [0.95, 90], [0.9, 80], [0.8, 60], [0.6, 30]]},
                ),
                _a("考试平均分", 10, "exam_average_score", {"type": "linear", "zero": 60, "full": 95}),
                _a("线下培训出勤率", 15, "attendance_rate", {"type": "linear", "zero": 0.7, "full": 1}),
            ],
        ),
        _g(
            "安全技能",
            20,
            [
                _m("岗位操作技能与应急处置能力", 60, desc="现场抽考"),
                _m("应急演练参与", 40),
            ],
        ),
        _g(
            "安全管理与监督",
            15,
            [
                _m("规章制度与操作规程执行", 50),
                _m("现场检查与“三违”管控", 50),
            ],
        ),
        _g(
            "隐患排查",
            10,
            [
                _m("隐患排查治理", 60),
                _m("隐患整改闭环", 40),
            ],
        ),
        (
            "缺席必修线下培训",
            "deduction",
            0,
            None,
            {
                "metric": "missed_required_sessions",
                "points_per": 10,
                "cap": 30,
                "description": "每缺席一次必修线下培训扣 10 分，最多扣 30 分",
            },
            [],
        ),
        (
            "“三违”被查处",
            "deduction",
            0,
            None,
            {"points_per": 5, "cap": 20, "description": "每查处一次违章指挥、违章作业、违反劳动纪律扣 5 分"},
            [],
        ),
        ("岗位发生生产安全事故", "veto", 0, None, {"description": "评价期内本岗位发生生产安全事故"}, []),
        (
            "人员未经培训或特种作业证过期上岗",
            "veto",
            0,
            None,
            {
                "metric": "overdue_people",
                "description": "本岗位有人员必修培训逾期未完成，或特种作业操作证过期",
            },
            [],
        ),
        ("瞒报、谎报事故", "veto", 0, None, {"description": "瞒报、谎报、迟报生产安全事故"}, []),
    ],
}

PRESETS = {p["key"]: p for p in (CULTURE_AQT9004, DEMONSTRATION_POST)}
