"""``lms demo``: the demo enterprise in Chinese, and generated enterprises of any size for benchmarks.

Idempotent: running it twice changes nothing. Each feature adds its part in ``<package>/demo.py`` with a
``load(enterprise, ctx)`` function; they run in floor order after the organisation is in place.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from certificates import demo as certificates_demo
from courses import demo as courses_demo
from lms.api import demo as api_demo
from lms.core.db import db
from lms.culture import demo as culture_demo
from lms.hazards import demo as hazards_demo
from lms.offline import demo as offline_demo
from lms.org import demo as org_demo
from lms.org.models import (
    ADMIN,
    EVALUATOR,
    LEARNER,
    MANAGER,
    REGULATOR,
    TRAINER,
    Enterprise,
    Person,
    RegulatorAssignment,
    User,
)
from lms.org.roster import import_roster
from lms.org.services import create_enterprise, hash_password
from lms.org.timezone import enterprise_today
from lms.oversight import demo as oversight_demo
from lms.permits import demo as permits_demo
from lms.training import demo as training_demo
from lms.training import notifications
from quizzes import demo as quizzes_demo

DEMO_CODE = "DEMO"
ROSTER = Path(__file__).parent / "demo_data" / "roster.xlsx"
# Feature demo modules, in floor order (a later one may use what an earlier one made).
FEATURE_DEMOS = [
    org_demo,
    quizzes_demo,
    courses_demo,
    offline_demo,
    training_demo,
    certificates_demo,
    culture_demo,
    hazards_demo,
    permits_demo,
    oversight_demo,
    api_demo,
    notifications,
]  # last: today's notifications of everything above

# Demo accounts: user name → (employee number or None, application role, what the account shows).
DEMO_ACCOUNTS = {
    "admin": (None, ADMIN, "platform administrator: every enterprise"),
    "manager": ("GA1003", MANAGER, "safety manager of DEMO (陆华, 安全总监)"),
    "trainer": ("GA1001", TRAINER, "trainer of DEMO (戴伟, 安全管理员)"),
    "learner": ("GA1010", LEARNER, "employee of DEMO (唐军杰, 一车间操作工)"),
    "evaluator": ("GA1047", EVALUATOR, "evaluator of DEMO (罗文, 三车间班组长)"),
    "teamleader": ("GA1020", LEARNER, "team leader of DEMO (姜杰, 一车间班组长): toolbox talks, QR check-in"),
    "worker": ("GA1031", LEARNER, "employee of DEMO (曹杰磊, 一车间操作工): checks in by QR code"),
    "regulator": (None, REGULATOR, "regulator: sees DEMO and ZJHG, not OTHER"),
}


@dataclass
class DemoContext:
    """What feature demos get: the people, the demo accounts, a seeded random generator."""

    enterprise: Enterprise
    people: dict[str, Person]
    accounts: dict[str, User]
    today: dt.date
    rng: random.Random
    echo: Callable[[str], None]
    media_dir: Path
    extra: dict[str, Any] = field(default_factory=dict)


def _ensure_enterprise(code: str, name: str, **kwargs: Any) -> Enterprise:
    ent = db.session.scalar(select(Enterprise).where(Enterprise.code == code))
    return ent or create_enterprise(code, name, **kwargs)


def load_demo(echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Load the demo enterprise DEMO, two neighbours for the regulator view, and every feature's demo data."""
    password = current_app.config["DEMO_PASSWORD"]
    ent = _ensure_enterprise(DEMO_CODE, "华安化工有限公司", industry="危险化学品", high_risk=True)
    result = import_roster(ent, ROSTER, ROSTER.name, dry_run=False)
    if result.errors:
        raise RuntimeError(f"demo roster refused: {result.errors[:3]}")
    echo(f"DEMO: {result.created} people created, {result.unchanged} unchanged")
    pw_hash = None
    people = {
        p.employee_no: p for p in db.session.scalars(select(Person).where(Person.enterprise_id == ent.id))
    }
    accounts: dict[str, User] = {}
    for username, (emp, role, _what) in DEMO_ACCOUNTS.items():
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            pw_hash = pw_hash or hash_password(password)
            if emp is not None:
                user = db.session.scalar(select(User).where(User.person_id == people[emp].id))
                user.username = username
            else:
                user = User(
                    username=username,
                    display_name={"admin": "平台管理员", "regulator": "区安全生产服务中心"}[username],
                    enterprise_id=ent.id if role == ADMIN else None,
                )
                db.session.add(user)
            user.password_hash, user.app_role, user.must_change_password = pw_hash, role, False
        accounts[username] = user
    db.session.flush()
    # Neighbours for the regulator: one assigned (ZJHG), one not (OTHER).
    neighbours = [
        ("ZJHG", "中骏化工有限公司", "危险化学品", True),
        ("OTHER", "远航机械有限公司", "机械制造", False),
    ]
    for code, name, industry, high_risk in neighbours:
        other = _ensure_enterprise(code, name, industry=industry, high_risk=high_risk)
        _small_roster(other, 24 if code == "ZJHG" else 16)
    for code in (DEMO_CODE, "ZJHG"):
        e = db.session.scalar(select(Enterprise).where(Enterprise.code == code))
        if db.session.get(RegulatorAssignment, (accounts["regulator"].id, e.id)) is None:
            db.session.add(RegulatorAssignment(user_id=accounts["regulator"].id, enterprise_id=e.id))
    db.session.flush()
    ctx = DemoContext(
        enterprise=ent,
        people=people,
        accounts=accounts,
        today=enterprise_today(ent.id),
        rng=random.Random(2026),
        echo=echo,
        media_dir=Path(current_app.config["MEDIA_DIR"]),
    )
    for module in FEATURE_DEMOS:
        module.load(ent, ctx)
        db.session.flush()
        echo(f"{module.__name__}: loaded")
    return {"password": password, "accounts": [(u, DEMO_ACCOUNTS[u][2]) for u in DEMO_ACCOUNTS]}


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华飞玉萍红娥玲芬建国建华志强海燕文博宇浩然子涵欣怡梓轩"
DEPARTMENTS = [
    "一车间/甲班",
    "一车间/乙班",
    "二车间/甲班",
    "二车间/乙班",
    "三车间/焊接班",
    "仓储物流部",
    "设备动力部/电工班",
    "安全环保部",
    "总经理办公室",
]
POSTS = [
    ("操作工", "一线从业人员"),
    ("班组长", "班组长"),
    ("焊工", "特种作业人员"),
    ("电工", "特种作业人员"),
    ("叉车司机", "特种设备作业人员"),
    ("仓管员", "一线从业人员"),
    ("安全管理员", "安全生产管理人员"),
    ("设备维修工", "一线从业人员"),
]


def _fake_people(n: int, prefix: str, rng: random.Random) -> list[list[Any]]:
    rows = []
    for i in range(1, n + 1):
        post, role = POSTS[0] if rng.random() < 0.55 else rng.choice(POSTS)
        dept = "安全环保部" if role == "安全生产管理人员" else rng.choice(DEPARTMENTS[:7])
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        hired = dt.date(2010, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 16))
        rows.append(
            [f"{prefix}{i:06d}", name, dept, post, role, hired.isoformat(), f"13{rng.randrange(10**9):09d}"]
        )
    return rows


def _small_roster(ent: Enterprise, n: int) -> None:
    import io

    from lms.core.exports import xlsx_bytes

    rng = random.Random(ent.code)
    data = xlsx_bytes(
        ["工号", "姓名", "部门", "岗位", "安全责任角色", "入职日期", "手机号"],
        _fake_people(n, ent.code[:2], rng),
    )
    result = import_roster(ent, io.BytesIO(data), f"{ent.code}.xlsx", dry_run=False)
    if result.errors:
        raise RuntimeError(f"{ent.code} roster refused: {result.errors[:3]}")


SIZES = {"M": 1_000, "L": 10_000, "XL": 50_000}


def load_sized(
    size: str, *, with_records: bool = True, echo: Callable[[str], None] = print
) -> dict[str, Any]:
    """Generate enterprise BENCH-<size> with 1,000 / 10,000 / 50,000 people (and ~40 records each) for benchmarks."""
    import io

    from lms.core.exports import xlsx_bytes

    n = SIZES[size]
    code = f"BENCH-{size}"
    ent = _ensure_enterprise(code, f"压测企业{size}", industry="机械制造")
    rng = random.Random(size)
    data = xlsx_bytes(
        ["工号", "姓名", "部门", "岗位", "安全责任角色", "入职日期", "手机号"], _fake_people(n, "B", rng)
    )
    result = import_roster(
        ent,
        io.BytesIO(data),
        f"{code}.xlsx",
        dry_run=False,
        on_progress=lambda d, t: echo(f"  people {d}/{t}") if d % 10000 == 0 else None,
    )
    echo(f"{code}: {result.created} created, {result.unchanged} unchanged")
    db.session.flush()
    if with_records:
        _bulk_records(ent, rng, echo)
    return {"password": current_app.config["DEMO_PASSWORD"], "accounts": []}


def _bulk_records(ent: Enterprise, rng: random.Random, echo: Callable[[str], None]) -> None:
    """Insert ~40 live records per person with one executemany per chunk (2 million for XL)."""
    from sqlalchemy import func, insert

    from lms.ledger.models import TrainingRecord

    if db.session.scalar(
        select(func.count()).select_from(TrainingRecord).where(TrainingRecord.enterprise_id == ent.id)
    ):
        echo("  records already present")
        return
    ids = list(db.session.scalars(select(Person.id).where(Person.enterprise_id == ent.id)))
    categories = [
        "法律法规",
        "有限空间",
        "用电安全",
        "消防安全",
        "特种设备",
        "危险化学品",
        "个体防护",
        "应急救援",
    ]
    now = dt.datetime.now().replace(microsecond=0)
    batch: list[dict[str, Any]] = []
    total = 0
    for pid in ids:
        for k in range(40):
            done = now - dt.timedelta(days=rng.randrange(0, 730), minutes=rng.randrange(0, 600))
            batch.append(
                {
                    "enterprise_id": ent.id,
                    "person_id": pid,
                    "kind": "offline" if k % 3 == 0 else "course",
                    "topic": f"安全培训{k % 12 + 1}",
                    "category": categories[k % 8],
                    "hours": rng.choice((1, 2, 4)),
                    "completed_at": done,
                    "source": f"bench:{pid}:{k}",
                    "recorded_at": now,
                }
            )
        if len(batch) >= 20_000:
            db.session.execute(insert(TrainingRecord), batch)
            total += len(batch)
            batch.clear()
            echo(f"  records {total}")
    if batch:
        db.session.execute(insert(TrainingRecord), batch)
        total += len(batch)
    echo(f"  {total} records")
