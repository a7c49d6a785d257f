"""The eight special operations of GB 30871-2022 as presets: roles a permit names, citation, what each role needs.

Loaded per enterprise and editable afterwards (``load_presets`` adds what is missing and never overwrites an
edit). A need that names a requirement of the training matrix refers to it by the statutory preset it came from
(``Requirement.preset_key``, see lms.training.presets); an enterprise without that requirement gets no such need.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from lms.core.db import db
from lms.org.models import Enterprise
from lms.permits.models import (
    NEED_INTERNAL,
    NEED_REQUIREMENT,
    NEED_SPECIAL_EQUIPMENT,
    NEED_SPECIAL_OPS,
    PermitNeed,
    PermitWork,
)
from lms.training.models import Requirement

STANDARD = "GB 30871-2022《危险化学品企业特殊作业安全规范》"
REG_SPECIAL = "《特种作业人员安全技术培训考核管理规定》第五条：特种作业人员必须经专门的安全技术培训并考核合格，取得特种作业操作证后，方可上岗作业"
REG_EQUIPMENT = "《中华人民共和国特种设备安全法》第十四条：特种设备作业人员应当按照国家有关规定取得相应资格，方可从事相关工作"
REG_TRAINING = "《生产经营单位安全培训规定》第九条：从业人员每年应当接受再培训"

COMMON_ROLES = ("作业人员", "监护人", "作业负责人", "审批人")
ANNUAL = "employee_annual"  # lms.training.presets: 从业人员每年再培训


@dataclass(frozen=True)
class NeedPreset:
    role: str | None  # None: every role of the permit
    kind: str
    requirement_key: str | None = None
    match: str | None = None


@dataclass(frozen=True)
class WorkPreset:
    key: str
    name: str
    chapter: str
    roles: tuple[str, ...]
    needs: tuple[NeedPreset, ...]
    extra: str = ""

    @property
    def citation(self) -> str:
        parts = [f"{STANDARD}{self.chapter}", REG_TRAINING]
        if any(n.kind == NEED_SPECIAL_OPS for n in self.needs):
            parts.append(REG_SPECIAL)
        if any(n.kind == NEED_SPECIAL_EQUIPMENT for n in self.needs):
            parts.append(REG_EQUIPMENT)
        if self.extra:
            parts.append(self.extra)
        return "；".join(parts) + "。"


_ALL = NeedPreset(None, NEED_REQUIREMENT, requirement_key=ANNUAL)

PRESETS: tuple[WorkPreset, ...] = (
    WorkPreset(
        "hot_work",
        "动火作业",
        "第5章 动火作业",
        COMMON_ROLES,
        (_ALL, NeedPreset("作业人员", NEED_SPECIAL_OPS, match="焊接与热切割")),
        "动火作业人员中的焊工须持熔化焊接与热切割作业操作证",
    ),
    WorkPreset(
        "confined_space",
        "受限空间作业",
        "第6章 受限空间作业",
        COMMON_ROLES,
        (
            _ALL,
            NeedPreset("作业人员", NEED_INTERNAL, match="受限空间"),
            NeedPreset("监护人", NEED_INTERNAL, match="受限空间"),
        ),
        "作业人员和监护人须经受限空间作业安全培训并考核合格（本企业内部证书）",
    ),
    WorkPreset("blind_plate", "盲板抽堵作业", "第7章 盲板抽堵作业", COMMON_ROLES, (_ALL,)),
    WorkPreset(
        "work_at_height",
        "高处作业",
        "第8章 高处作业",
        COMMON_ROLES,
        (_ALL, NeedPreset("作业人员", NEED_SPECIAL_OPS, match="高处")),
        "登高架设、高处安装维护拆除作业人员须持高处作业操作证",
    ),
    WorkPreset(
        "lifting",
        "吊装作业",
        "第9章 吊装作业",
        ("起重机司机", "指挥人员", "司索人员", "监护人", "作业负责人", "审批人"),
        (
            _ALL,
            NeedPreset("起重机司机", NEED_SPECIAL_EQUIPMENT, match="起重机"),
            NeedPreset("指挥人员", NEED_SPECIAL_EQUIPMENT, match="起重机指挥"),
        ),
    ),
    WorkPreset(
        "temporary_power",
        "临时用电作业",
        "第10章 临时用电作业",
        ("电工", "监护人", "作业负责人", "审批人"),
        (_ALL, NeedPreset("电工", NEED_SPECIAL_OPS, match="电工")),
        "临时用电线路的安装、维修、拆除由持电工作业操作证的人员进行",
    ),
    WorkPreset("excavation", "动土作业", "第11章 动土作业", COMMON_ROLES, (_ALL,)),
    WorkPreset("road_closure", "断路作业", "第12章 断路作业", COMMON_ROLES, (_ALL,)),
)


def load_presets(enterprise: Enterprise) -> int:
    """Add the preset works the enterprise lacks (an edited or removed need is left as it is); return how many."""
    have = set(db.session.scalars(select(PermitWork.key).where(PermitWork.enterprise_id == enterprise.id)))
    req_ids = {
        key: rid
        for key, rid in db.session.execute(
            select(Requirement.preset_key, Requirement.id).where(
                Requirement.enterprise_id == enterprise.id,
                Requirement.preset_key.is_not(None),
                Requirement.active.is_(True),
            )
        )
    }
    added = 0
    for order, preset in enumerate(PRESETS):
        if preset.key in have:
            continue
        work = PermitWork(
            enterprise_id=enterprise.id,
            key=preset.key,
            name=preset.name,
            citation=preset.citation,
            roles="|".join(preset.roles),
            sort_order=order,
            active=True,
        )
        for need in preset.needs:
            if need.kind == NEED_REQUIREMENT:
                rid = req_ids.get(need.requirement_key or "")
                if rid is None:
                    continue
                work.needs.append(PermitNeed(role=need.role, kind=need.kind, requirement_id=rid))
            else:
                work.needs.append(PermitNeed(role=need.role, kind=need.kind, match=need.match))
        db.session.add(work)
        added += 1
    db.session.flush()
    return added
