"""Demo data: areas, categories and a dozen and a half hazards of DEMO in every state, with generated photos.

Every hazard goes through the real services (the state machine and its event log), back-dated from the demo's
today in the enterprise's local time. Idempotent: nothing is added when DEMO already has hazards.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from PIL import Image, ImageDraw
from sqlalchemy import func, select

from lms.core.db import db
from lms.core.timeutil import to_utc
from lms.hazards import services
from lms.hazards.media import process_photo
from lms.hazards.models import Hazard, HazardArea
from lms.org.models import ADMIN, MANAGER, PERSON_ACTIVE, Department, Enterprise, Person, User

AREAS = ["一车间", "二车间", "三车间焊接区", "储罐区", "成品仓库", "配电房", "办公楼", "厂区道路"]

PLAN = {
    "plan_measures": "立即停用相关设备并挂牌；更换失效部件，增设检测点，整改后由设备动力部复测。",
    "plan_responsibility": "设备动力部负责实施，部门经理为第一责任人，安全环保部监督。",
    "plan_funds": "18000",
    "plan_time_limit": "7 日内完成更换和复测，整改期间每班巡检两次并记录。",
    "plan_contingency": "整改期间储罐区禁止动火作业，现场配置推车式灭火器 2 具，执行《储罐区泄漏应急预案》。",
}


def _picture(seed: int, after: bool = False) -> bytes:
    """A simple generated scene (no text: no font needed): a floor, a machine, a warning sign or a tick."""
    img = Image.new("RGB", (800, 600), (200 - seed * 7 % 60, 205 - seed * 11 % 50, 210 - seed * 5 % 40))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 420, 800, 600), fill=(120, 120, 118))  # floor
    d.rectangle((120 + seed * 13 % 200, 180, 420 + seed * 13 % 200, 430), fill=(70, 110, 160))  # a machine
    for x in range(0, 800, 60):  # yellow and black floor marking
        d.polygon([(x, 440), (x + 30, 440), (x + 10, 470), (x - 20, 470)], fill=(235, 190, 30))
    if after:
        d.ellipse((560, 60, 740, 240), fill=(46, 125, 50))
        d.line((600, 150, 640, 195, 705, 105), fill=(255, 255, 255), width=18)
    else:
        d.polygon([(650, 60), (750, 230), (550, 230)], fill=(230, 180, 20), outline=(20, 20, 20))
        d.rectangle((643, 110, 657, 180), fill=(20, 20, 20))
        d.ellipse((641, 192, 659, 210), fill=(20, 20, 20))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def _photo(seed: int, after: bool = False) -> services.Photo:
    return process_photo(_picture(seed, after), f"demo-{seed}.jpg")


def _person_in(ent_id: int, path_prefix: str, skip: set[int]) -> Person | None:
    return db.session.scalar(
        select(Person)
        .join(Department, Department.id == Person.department_id)
        .join(User, User.person_id == Person.id)
        .where(
            Person.enterprise_id == ent_id,
            Person.status == PERSON_ACTIVE,
            Department.path.startswith(path_prefix),
            Person.id.not_in(skip or {0}),
        )
        .order_by(Person.employee_no)
    )


def load(ent: Enterprise, ctx: Any) -> None:
    """Add DEMO's hazards (once)."""
    if db.session.scalar(select(func.count(Hazard.id)).where(Hazard.enterprise_id == ent.id)):
        return
    accounts = getattr(ctx, "accounts", {}) or {}
    manager = accounts.get("manager") or db.session.scalar(
        select(User)
        .where(User.enterprise_id == ent.id, User.app_role.in_((MANAGER, ADMIN)))
        .order_by(User.id)
    )
    if manager is None:
        return
    services.ensure_presets(ent.id)
    services.save_settings(ent.id, allow_anonymous=True, keep_location=False, actor=manager)
    area = {}
    for i, name in enumerate(AREAS):
        row = db.session.scalar(
            select(HazardArea).where(HazardArea.enterprise_id == ent.id, HazardArea.name == name)
        )
        area[name] = row or services.save_choice(HazardArea, ent.id, name, sort_order=(i + 1) * 10)
    cat = {c.name: c.id for c in services.categories(ent.id)}

    taken: set[int] = {manager.person_id} if manager.person_id else set()

    def person(*prefixes: str) -> Person | None:
        for prefix in prefixes:  # the first department of these that the roster has
            p = _person_in(ent.id, prefix, taken)
            if p is not None:
                taken.add(p.id)
                return p
        return None

    reporters = [
        u
        for u in (
            accounts.get("learner"),
            accounts.get("worker"),
            accounts.get("teamleader"),
            accounts.get("evaluator"),
        )
        if u is not None
    ]
    if not reporters:
        reporters = list(
            db.session.scalars(select(User).where(User.enterprise_id == ent.id).order_by(User.id).limit(4))
        )
    fixers = {
        key: person(*prefixes)
        for key, prefixes in (
            ("w1", ("一车间",)),
            ("w2", ("二车间",)),
            ("w3", ("三车间",)),
            ("power", ("设备动力部", "三车间")),
            ("store", ("仓储物流部",)),
            ("office", ("总经理办公室", "安全环保部")),
        )
    }
    learner_person = accounts.get("teamleader").person if accounts.get("teamleader") is not None else None
    if learner_person is not None:  # the team leader account has something to rectify in the demo
        fixers["w1"] = learner_person
    fixers = {k: v for k, v in fixers.items() if v is not None}
    if not fixers:
        return
    default_fixer = next(iter(fixers.values()))
    today = ctx.today

    def at(days_ago: float, hour: int = 9, minute: int = 0) -> dt.datetime:
        local = dt.datetime.combine(today - dt.timedelta(days=int(days_ago)), dt.time(hour, minute))
        return to_utc(local, ent)

    seed = iter(range(1, 100))

    def report(
        days_ago: float,
        area_name: str | None,
        category: str,
        text: str,
        *,
        place: str | None = None,
        reporter: int = 0,
        anonymous: bool = False,
        hour: int = 9,
    ) -> Hazard:
        return services.report(
            ent.id,
            reporters[reporter % len(reporters)],
            description=text,
            area_id=area[area_name].id if area_name else None,
            place=place,
            category_id=cat.get(category),
            anonymous=anonymous,
            photos=[_photo(next(seed))],
            now=at(days_ago, hour),
        )

    def assign(
        h: Hazard,
        who: str,
        days_ago: float,
        deadline_days: int,
        grade: str = "general",
        plan: dict[str, str] | None = None,
    ) -> Hazard:
        p = fixers.get(who, default_fixer)
        return services.assign(
            h,
            manager,
            grade=grade,
            department_id=p.department_id,
            assignee_id=p.id,
            deadline=at(days_ago - deadline_days, 17, 30),
            now=at(days_ago, 10),
            note="请按期整改并上传整改照片。",
            plan=plan,
        )

    def rectify(h: Hazard, days_ago: float, note: str) -> Hazard:
        user = db.session.scalar(select(User).where(User.person_id == h.assignee_id))
        return services.rectify(
            h, user, note=note, photos=[_photo(next(seed), after=True)], now=at(days_ago, 15)
        )

    def accept(h: Hazard, days_ago: float) -> Hazard:
        return services.verify(h, manager, passed=True, note="现场复查合格。", now=at(days_ago, 16))

    def close(h: Hazard, days_ago: float) -> Hazard:
        return services.close(h, manager, now=at(days_ago, 16, 30))

    # to be graded
    report(
        1,
        "一车间",
        "机械防护",
        "3 号冲床防护罩拆下后未装回，操作时手可伸入危险区。",
        place="3 号冲床",
        hour=8,
    )
    report(0, "成品仓库", "消防安全", "仓库东门两具干粉灭火器压力表指针在红区，已过期。", reporter=1, hour=8)
    report(2, None, "违章作业", "夜班有人在装卸区吸烟。", place="北门装卸平台", anonymous=True)
    # being rectified: on time, overdue (escalated), major overdue, major with its five items
    cable = report(3, "配电房", "用电安全", "配电房电缆桥架盖板缺失约 2 米，电缆外露。", reporter=2)
    assign(cable, "power", 3, 8)
    h = report(
        12,
        "厂区道路",
        "作业环境",
        "叉车通道上堆放废旧托盘，占用通道一半宽度。",
        place="2 号路与 3 号路交叉口",
    )
    assign(h, "store", 11, 5)
    h = report(9, "储罐区", "危险化学品", "2 号甲醇储罐静电接地线断开，接地卡子锈蚀。", reporter=1)
    assign(h, "power", 9, 7, grade="major", plan={k: v for k, v in PLAN.items() if k != "plan_contingency"})
    h = report(4, "三车间焊接区", "特种设备", "氧气瓶与乙炔瓶混放且未固定，间距不足 5 米。", reporter=3)
    assign(
        h,
        "w3",
        4,
        10,
        grade="major",
        plan={**PLAN, "plan_funds": "6500", "plan_responsibility": "三车间主任负责，焊接班班组长落实。"},
    )
    h = report(6, "一车间", "个体防护", "打磨工位员工未佩戴防护眼镜和耳塞。", reporter=2)
    assign(h, "w1", 6, 9)
    # sent back once, then rectified again: to be verified
    h = report(8, "二车间", "作业环境", "安全通道被待加工件占用，疏散指示被遮挡。")
    assign(h, "w2", 8, 6)
    rectify(h, 6, "已将工件移至待加工区。")
    services.verify(
        h, manager, passed=False, note="通道西段仍有两箱工件，疏散指示牌仍被遮挡。", now=at(5, 16)
    )
    rectify(h, 4, "已全部清理并在地面划线，疏散指示牌已露出。")
    # a major hazard rectified, with its five items: to be verified
    h = report(15, "储罐区", "危险化学品", "可燃气体报警器 3 号探头失效，测试无报警。", reporter=3)
    assign(h, "power", 15, 10, grade="major", plan=PLAN)
    rectify(h, 8, "已更换探头并标定，联动测试正常，附测试记录照片。")
    # verified, to be closed
    h = report(10, "办公楼", "消防安全", "二楼东侧应急照明灯按测试按钮不亮。", reporter=1)
    assign(h, "office", 10, 7)
    rectify(h, 7, "已更换蓄电池，测试正常。")
    accept(h, 6)
    # closed: on time, late, last month
    h = report(20, "一车间", "用电安全", "电焊机外壳未接地。", reporter=2)
    assign(h, "w1", 20, 5)
    rectify(h, 18, "已加装接地线并测试。")
    accept(h, 17)
    close(h, 17)
    h = report(26, "成品仓库", "作业环境", "B 区货架第三层超载，横梁变形。")
    assign(h, "store", 26, 5)
    rectify(h, 18, "已卸载并更换横梁，张贴限载标识。")
    accept(h, 17)
    close(h, 16)
    h = report(40, "二车间", "机械防护", "皮带输送机尾部无防护网。", reporter=3)
    assign(h, "w2", 40, 10)
    rectify(h, 33, "已加装防护网。")
    accept(h, 32)
    close(h, 32)
    # closed, then found again: reopened and being rectified
    h = report(35, "二车间", "机械防护", "2 号剪板机急停按钮按下后设备不停。", reporter=1)
    assign(h, "w2", 35, 3)
    rectify(h, 33, "已更换急停按钮。")
    accept(h, 32)
    close(h, 32)
    services.reopen(
        h, manager, note="复查发现急停回路接线松动，再次失效。", deadline=at(-4, 17, 30), now=at(2, 10)
    )
    # dismissed (a duplicate)
    h = report(5, "配电房", "用电安全", "配电房电缆外露。", reporter=1)
    services.dismiss(h, manager, note=f"与 {cable.code} 重复，已合并处理。", now=at(5, 11))
    db.session.flush()
