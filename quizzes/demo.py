"""Demo data: the sample banks, a published random-paper exam, a daily practice over a practice bank, finished
attempts, and the demo learner's mistake book."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from lms.core.db import db, utcnow
from lms.org.models import Department, Enterprise, Person
from lms.org.services import active_people_in
from quizzes import assignments, attempts, banks, exams, exchange
from quizzes.models import Attempt, Exam, Question, QuestionBank

DATA = Path(__file__).parent / "demo_data"
BANKS = [
    ("安全生产综合题库", "confined-space-bank.xlsx"),
    ("用电安全题库", "electrical.gift.txt"),
    ("个体防护题库", "ppe.aiken.txt"),
    # Exported from Moodle: partial credit, matching, numerical, missing word, per-answer feedback.
    ("消防与应急题库（Moodle 导入）", "fire-emergency.moodle.gift.txt"),
]
EXAM_TITLE = "有限空间作业安全考试"
PRACTICE_TITLE = "安全知识每日一练"
PRACTICE_BANK = "安全知识每日一练题库"
# The daily practice shows each key at once, so it draws from a bank marked for practice, never from the
# exams' banks (an exam's any-bank rule leaves practice banks out in turn).
PRACTICE_QUESTIONS: list[dict[str, Any]] = [
    {"type": "single_choice", "stem": "发现有人触电，首先应当：", "options": ["立即切断电源", "用手把人拉开",
     "打电话报告后原地等待", "往触电者身上泼水"], "key": 0, "category": "用电安全",
     "explanation": "先断电、再施救，避免施救者自身触电。"},
    {"type": "single_choice", "stem": "使用干粉灭火器扑救初起火灾时，喷嘴应对准：", "options": ["火焰根部",
     "火焰上部", "火焰中部", "烟雾最浓处"], "key": 0, "category": "消防安全",
     "explanation": "对准火焰根部左右扫射，由近及远。"},
    {"type": "single_choice", "stem": "安全帽的主要作用是：", "options": ["防止物体打击头部", "防晒",
     "保暖", "区分工种"], "key": 0, "category": "个体防护", "explanation": "安全帽用于防止坠落物、碰撞对头部的伤害。"},
    {"type": "single_choice", "stem": "从业人员发现直接危及人身安全的紧急情况时，有权：",
     "options": ["停止作业或者在采取可能的应急措施后撤离作业场所", "继续作业直到下班", "等待领导指示",
                 "先把设备擦拭干净"], "key": 0, "category": "法律法规",
     "explanation": "《安全生产法》赋予从业人员紧急避险权。"},
    {"type": "single_choice", "stem": "动火作业前必须办理：", "options": ["动火安全作业票", "工作联系单",
     "领料单", "请假条"], "key": 0, "category": "动火作业", "explanation": "特殊作业须办理相应的安全作业票。"},
    {"type": "multiple_choice", "stem": "劳动防护用品的“三会”是指：", "options": ["会检查可靠性",
     "会正确使用", "会正确维护保养", "会自行改装"], "key": [0, 1, 2], "category": "个体防护",
     "explanation": "防护用品不得擅自改装。"},
    {"type": "multiple_choice", "stem": "发生火灾时，正确的做法有：", "options": ["拨打119报警",
     "用湿毛巾捂住口鼻、低姿撤离", "乘坐电梯逃生", "按疏散指示标志撤离"], "key": [0, 1, 3],
     "category": "消防安全", "explanation": "火灾时电梯可能断电停运或成为烟囱，严禁乘坐。"},
    {"type": "true_false", "stem": "特种作业人员必须经专门的安全技术培训并考核合格，取得证书后方可上岗作业。",
     "key": True, "category": "法律法规", "explanation": "持证上岗是法定要求。"},
    {"type": "true_false", "stem": "有限空间作业时，可以向内通入纯氧改善空气。", "key": False,
     "category": "有限空间", "explanation": "纯氧会增加燃爆危险，应使用新鲜空气通风。"},
    {"type": "true_false", "stem": "电气设备着火时，可以直接用水扑救。", "key": False, "category": "用电安全",
     "explanation": "应先断电，再用干粉或二氧化碳灭火器扑救。"},
    {"type": "fill_blank", "stem": "安全生产工作应当坚持____第一、预防为主、综合治理的方针。",
     "key": [["安全"]], "category": "法律法规", "explanation": ""},
    {"type": "fill_blank", "stem": "火警报警电话是____。", "key": [["119"]], "category": "消防安全",
     "explanation": ""},
]  # fmt: skip


def _exam(ent: Enterprise, title: str, rules: list[dict[str, Any]], **settings: Any) -> Exam:
    exam = db.session.scalar(select(Exam).where(Exam.enterprise_id == ent.id, Exam.title == title))
    if exam is None:
        exam = exams.create_exam(ent.id, title=title, **settings)
        for rule in rules:
            exams.add_rule(exam, **rule)
        exams.publish_exam(exam)
    return exam


def _practice_bank(ent: Enterprise) -> QuestionBank:
    bank = banks.ensure_bank(ent.id, PRACTICE_BANK)
    bank.practice = True
    bank.description = bank.description or "日常练习用题，答题后即时显示答案和解析。"
    if not db.session.scalar(select(func.count()).select_from(Question).where(Question.bank_id == bank.id)):
        for values in PRACTICE_QUESTIONS:
            banks.create_question(bank, **values)
    return bank


def _learner_practice(exam: Exam, person: Person, rng: Any) -> None:
    """The demo learner did the daily practice once, with some mistakes: their mistake book has questions."""
    start = utcnow().replace(microsecond=0) - dt.timedelta(days=2, hours=3)
    attempt = attempts.start_attempt(exam, person, now=start, rng=rng)
    for n, aq in enumerate(attempt.questions, start=1):
        v = aq.version
        wrong = n % 2 == 1
        if v.type == "single_choice":
            answer = (v.key + 1) % len(v.options) if wrong else v.key
        elif v.type == "multiple_choice":
            answer = v.key[:1] if wrong else v.key
        elif v.type == "true_false":
            answer = (not v.key) if wrong else v.key
        else:
            answer = ["不清楚"] if wrong else [b[0] for b in v.key]
        attempts.save_answer(attempt, aq.id, answer, n, now=start + dt.timedelta(minutes=n))
    attempts.submit_attempt(attempt, now=start + dt.timedelta(minutes=len(attempt.questions) + 1))


def load(enterprise: Enterprise, ctx: Any) -> None:
    """Import the banks, create the exams, and let some demo people sit the exam (idempotent)."""
    practice_bank = _practice_bank(enterprise)
    bank_by_name = {}
    for name, filename in BANKS:
        bank = banks.ensure_bank(enterprise.id, name)
        result = exchange.import_questions(bank, DATA / filename, filename, dry_run=False)
        if not result.committed:
            raise RuntimeError(f"demo bank {filename} refused: {result.errors[:3]}")
        bank_by_name[name] = bank
    main = bank_by_name["安全生产综合题库"]
    exam = _exam(
        enterprise,
        EXAM_TITLE,
        [
            {"bank_id": main.id, "category": "有限空间", "count": 4},
            {"type": "single_choice", "count": 4},
            {"type": "true_false", "count": 2},
            {"type": "multiple_choice", "count": 1},
        ],
        description="考试时间30分钟，60分及格，可考两次，取最高分。",
        time_limit_minutes=30,
        attempts_allowed=2,
        pass_mark=Decimal("60"),
        hours=Decimal("1"),
        category="有限空间",
        show_answers="after_submit",
    )
    practice = _exam(
        enterprise,
        PRACTICE_TITLE,
        [{"bank_id": practice_bank.id, "count": 5}],
        mode="practice",
        description="每次从练习题库随机5题，答题后即时显示答案和解析。",
    )
    # The formal exam is assigned to 一车间 (the demo learner's workshop), due in ten days (idempotent).
    workshop = db.session.scalar(
        select(Department.id).where(Department.enterprise_id == enterprise.id, Department.path == "一车间")
    )
    if workshop is not None:
        people = active_people_in(enterprise.id, department_ids=[workshop])
        assignments.assign(exam, people, ctx.today + dt.timedelta(days=10), ctx.accounts.get("trainer"))
    if db.session.scalar(select(func.count()).select_from(Attempt).where(Attempt.exam_id == exam.id)):
        return
    learner = ctx.accounts.get("learner")
    if learner is not None and learner.person_id is not None:
        _learner_practice(practice, db.session.get(Person, learner.person_id), ctx.rng)
    skip = {learner.person_id} if learner is not None else set()
    people = [p for _no, p in sorted(ctx.people.items()) if p.id not in skip and p.status == "active"][:14]
    rng = ctx.rng
    for i, person in enumerate(people):
        skill = 0.35 + 0.6 * rng.random()
        start = utcnow().replace(microsecond=0) - dt.timedelta(days=20 - i, hours=rng.randrange(0, 6))
        attempt = attempts.start_attempt(exam, person, now=start, rng=rng)
        for n, aq in enumerate(attempt.questions, start=1):
            v = aq.version
            right = rng.random() < skill
            if v.type == "single_choice":
                answer = v.key if right else (v.key + 1 + rng.randrange(len(v.options) - 1)) % len(v.options)
            elif v.type == "multiple_choice":
                answer = v.key if right else sorted(set(v.key[:-1]) | {rng.randrange(len(v.options))})
            elif v.type == "true_false":
                answer = v.key if right else not v.key
            elif v.type == "fill_blank":
                answer = [b[0] for b in v.key] if right else ["不知道"]
            else:
                answer = "先通风、再检测、后作业。"
            if rng.random() < 0.95:
                attempts.save_answer(attempt, aq.id, answer, n, now=start + dt.timedelta(minutes=n))
        attempts.submit_attempt(attempt, now=start + dt.timedelta(minutes=len(attempt.questions) + 2))
    db.session.flush()
    ctx.echo(f"quizzes: {len(people)} demo attempts of {EXAM_TITLE}")
