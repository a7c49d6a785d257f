"""Statutory presets: the requirements the regulations set, applied per enterprise and editable afterwards.

Figures follow 《生产经营单位安全培训规定》(原国家安全生产监督管理总局令第3号, 2013年第63号令、2015年第80号令修订)
and 《特种作业人员安全技术培训考核管理规定》(原国家安全生产监督管理总局令第30号, 第63号、第80号令修订);
high-risk enterprises get the higher figures. Whether an enterprise is high-risk follows from its industry
(``lms.org.industry``); ``set_industry`` changes it and re-derives the figures, ``statutory_check`` says whether
an edited preset still meets its statutory minimum.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from lms.core.db import db
from lms.org.industry import is_high_risk
from lms.org.models import Enterprise
from lms.org.services import roles_by_name
from lms.training.models import (
    APPLIES_EVERYONE,
    APPLIES_ROLE,
    KIND_CERTIFICATE,
    KIND_HOURS,
    KIND_THREE_LEVEL,
    RECUR_CALENDAR_YEAR,
    RECUR_ONCE,
    RECUR_ROLLING,
    Requirement,
)
from lms.training.status import SPECIAL_OPERATIONS_CATEGORY

__all__ = ["PRESETS", "SPECIAL_OPERATIONS_CATEGORY", "apply_presets", "set_industry", "statutory_check"]

REG_TRAINING = "《生产经营单位安全培训规定》(原国家安全监管总局令第3号, 第63号、第80号令修订)"
REG_LAW = "《中华人民共和国安全生产法》(2021年修正)"
REG_SPECIAL = "《特种作业人员安全技术培训考核管理规定》(原国家安全监管总局令第30号, 第63号、第80号令修订)"


@dataclass(frozen=True)
class Preset:
    key: str
    name: str
    kind: str
    applies_to: str
    role: str | None
    hours: tuple[int, int]  # (normal, high-risk)
    recurrence: str
    months: int | None
    initial_days: int
    grace_days: int
    reminder_days: int
    description: str
    certificate_category: str | None = None
    pre_job: bool = False


def _principal(role: str, key: str) -> list[Preset]:
    return [
        Preset(
            f"{key}_initial",
            f"{role}初次安全培训",
            KIND_HOURS,
            APPLIES_ROLE,
            role,
            (32, 48),
            RECUR_ONCE,
            None,
            183,
            0,
            30,
            f"{REG_TRAINING}第九条：{role}初次安全培训时间不得少于32学时；煤矿、非煤矿山、危险化学品、烟花爆竹、"
            f"金属冶炼等生产经营单位不得少于48学时。第二十四条：高危行业{role}自任职之日起6个月内须经考核合格。"
            f"另见{REG_LAW}第二十七条。",
        ),
        Preset(
            f"{key}_annual",
            f"{role}每年再培训",
            KIND_HOURS,
            APPLIES_ROLE,
            role,
            (12, 16),
            RECUR_CALENDAR_YEAR,
            None,
            0,
            30,
            60,
            f"{REG_TRAINING}第九条：{role}每年再培训时间不得少于12学时；高危行业不得少于16学时。",
        ),
    ]


PRESETS: list[Preset] = [
    *_principal("主要负责人", "principal"),
    *_principal("安全生产管理人员", "safety_manager"),
    Preset(
        "new_hire_prejob",
        "新上岗从业人员岗前安全培训",
        KIND_HOURS,
        APPLIES_EVERYONE,
        None,
        (24, 72),
        RECUR_ONCE,
        None,
        0,
        0,
        14,
        f"{REG_TRAINING}第十三条：新上岗的从业人员岗前安全培训时间不得少于24学时；煤矿、非煤矿山、危险化学品、"
        f"烟花爆竹、金属冶炼等生产经营单位新上岗的从业人员安全培训时间不得少于72学时。"
        f"{REG_LAW}第二十八条：未经安全生产教育和培训合格的从业人员，不得上岗作业。"
        f"只计上岗（入职）之日及之前一年内的培训学时；三级安全教育（厂级、车间级、班组级）的学时计入岗前培训学时"
        f"（第十二条：三级安全培训教育即岗前安全培训）。",
        pre_job=True,
    ),
    Preset(
        "employee_annual",
        "从业人员每年再培训",
        KIND_HOURS,
        APPLIES_EVERYONE,
        None,
        (8, 20),
        RECUR_CALENDAR_YEAR,
        None,
        0,
        30,
        60,
        f"{REG_TRAINING}第十三条：高危行业从业人员每年再培训的时间不得少于20学时；其他生产经营单位从业人员"
        f"每年接受再培训时间不得少于8学时（各地实施细则的通行要求）。{REG_LAW}第二十八条。",
    ),
    Preset(
        "three_level",
        "三级安全教育（厂级/车间级/班组级）",
        KIND_THREE_LEVEL,
        APPLIES_EVERYONE,
        None,
        (0, 0),
        RECUR_ONCE,
        None,
        7,
        0,
        7,
        f"{REG_TRAINING}第十二条：加工、制造业等生产单位的其他从业人员，在上岗前必须经过厂（矿）、车间（工段、区、队）、"
        f"班组三级安全培训教育；第十七条：从业人员在本生产经营单位内调整工作岗位或离岗一年以上重新上岗时，"
        f"应当重新接受车间（工段、区、队）和班组级的安全培训。",
    ),
    Preset(
        "special_ops_certificate",
        "特种作业操作证（有效期6年）",
        KIND_CERTIFICATE,
        APPLIES_ROLE,
        "特种作业人员",
        (0, 0),
        RECUR_ONCE,
        None,
        0,
        0,
        90,
        f"{REG_LAW}第三十条：特种作业人员必须按照国家有关规定经专门的安全作业培训，取得相应资格，方可上岗作业。"
        f"{REG_SPECIAL}第十九条：特种作业操作证有效期为6年，在全国范围内有效；第二十一条：每3年复审1次，"
        f"未按期复审的操作证失效（复审记为同类别的证书记录，日期为复审日期）。有效期超过6年或早于发证日期的操作证不予登记。",
        certificate_category=SPECIAL_OPERATIONS_CATEGORY,
    ),
    Preset(
        "special_ops_review",
        "特种作业操作证复审前安全培训（每3年）",
        KIND_HOURS,
        APPLIES_ROLE,
        "特种作业人员",
        (8, 8),
        RECUR_ROLLING,
        36,
        0,
        0,
        90,
        f"{REG_SPECIAL}第二十一条：特种作业操作证每3年复审1次；第二十三条：申请复审或者延期复审前，"
        f"特种作业人员应当参加必要的安全培训并考试合格，安全培训时间不少于8个学时。"
        f"只计与本人特种作业操作证作业类别相同的培训（培训类别须出现在操作证名称中，如“电工作业”）。",
        certificate_category=SPECIAL_OPERATIONS_CATEGORY,
    ),
]


def preset_values(preset: Preset, enterprise: Enterprise, role_ids: dict[str, int]) -> dict[str, Any] | None:
    """Return the column values of ``preset`` for ``enterprise``; None when the role it needs is missing."""
    role_id = None
    if preset.role is not None:
        role_id = role_ids.get(preset.role)
        if role_id is None:
            return None
    hours = preset.hours[1] if enterprise.high_risk else preset.hours[0]
    return {
        "name": preset.name,
        "description": preset.description,
        "kind": preset.kind,
        "applies_to": preset.applies_to,
        "role_id": role_id,
        "hours_required": Decimal(hours),
        "recurrence": preset.recurrence,
        "recurrence_months": preset.months,
        "initial_days": preset.initial_days,
        "grace_days": preset.grace_days,
        "reminder_days": preset.reminder_days,
        "certificate_category": preset.certificate_category,
        "pre_job": preset.pre_job,
    }


def apply_presets(enterprise: Enterprise, *, overwrite: bool = False) -> dict[str, int]:
    """Create the statutory requirements of ``enterprise`` that it lacks (``overwrite``: reset edited ones).

    Idempotent: a preset already applied (same ``preset_key``) is left as the enterprise edited it.
    """
    role_ids = {name: r.id for name, r in roles_by_name(enterprise.id).items()}
    existing = {
        r.preset_key: r
        for r in db.session.scalars(
            select(Requirement).where(
                Requirement.enterprise_id == enterprise.id, Requirement.preset_key.isnot(None)
            )
        )
    }
    counts = {"created": 0, "updated": 0, "unchanged": 0, "skipped": 0}
    for preset in PRESETS:
        values = preset_values(preset, enterprise, role_ids)
        if values is None:
            counts["skipped"] += 1
            continue
        row = existing.get(preset.key)
        if row is None:
            db.session.add(
                Requirement(enterprise_id=enterprise.id, preset_key=preset.key, active=True, **values)
            )
            counts["created"] += 1
        elif overwrite:
            for k, v in values.items():
                setattr(row, k, v)
            row.active = True
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    db.session.flush()
    return counts


PRESETS_BY_KEY: dict[str, Preset] = {p.key: p for p in PRESETS}


def statutory_hours(preset: Preset, high_risk: bool) -> Decimal:
    """The statutory minimum hours of ``preset`` for a normal or a high-risk enterprise."""
    return Decimal(preset.hours[1] if high_risk else preset.hours[0])


def statutory_check(req: Requirement, enterprise: Enterprise) -> tuple[bool, str | None]:
    """Whether ``req`` (a preset, maybe edited) still meets its statutory minimum; else why not.

    A requirement that is no preset is not statutory (False, None).
    """
    preset = PRESETS_BY_KEY.get(req.preset_key or "")
    if preset is None:
        return False, None
    if preset.kind == KIND_HOURS:
        minimum = statutory_hours(preset, bool(enterprise.high_risk))
        if (req.hours_required or Decimal(0)) < minimum:
            return False, _(
                "Below the statutory minimum of %(m)s hours (now %(h)s): no longer statutory.",
                m=format(minimum.normalize(), "f"),
                h=format((req.hours_required or Decimal(0)).normalize(), "f"),
            )
    if preset.pre_job and not req.pre_job:
        return False, _("Counts training after the start: no longer statutory pre-job training.")
    if preset.kind == KIND_CERTIFICATE and req.certificate_category != preset.certificate_category:
        return False, _("Matches another certificate than the statutory one.")
    if not req.active:
        return False, _("Inactive.")
    return True, None


def set_industry(enterprise: Enterprise, industry: str | None) -> list[dict[str, Any]]:
    """Set the industry, derive high-risk from it and re-derive the preset hours; return what changed.

    A preset at the old statutory figure (or below the new minimum) moves to the new figure; one edited above
    both is kept as edited. Each change: key, name, old, new (hours).
    """
    industry = (industry or "").strip()[:100] or None
    was_high = bool(enterprise.high_risk)
    enterprise.industry = industry
    enterprise.high_risk = is_high_risk(industry)
    return rederive(enterprise, was_high)


def rederive(enterprise: Enterprise, was_high: bool) -> list[dict[str, Any]]:
    """Move the preset hours of ``enterprise`` from the figures of ``was_high`` to its current ones."""
    now_high = bool(enterprise.high_risk)
    changes: list[dict[str, Any]] = []
    if was_high == now_high:
        return changes
    rows = db.session.scalars(
        select(Requirement).where(
            Requirement.enterprise_id == enterprise.id, Requirement.preset_key.isnot(None)
        )
    )
    for row in rows:
        preset = PRESETS_BY_KEY.get(row.preset_key or "")
        if preset is None or preset.kind != KIND_HOURS:
            continue
        old_fig, new_fig = statutory_hours(preset, was_high), statutory_hours(preset, now_high)
        current = row.hours_required or Decimal(0)
        if old_fig == new_fig or not (current == old_fig or current < new_fig):
            continue
        row.hours_required = new_fig
        changes.append({"key": preset.key, "name": row.name, "old": current, "new": new_fig})
    db.session.flush()
    return changes
