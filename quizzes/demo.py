"""Demo data: the sample banks, a published random-paper exam, a practice quiz and finished attempts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from lms.core.db import db, utcnow
from lms.org.models import Enterprise
from quizzes import services
from quizzes.models import Attempt, Exam

DATA = Path(__file__).parent / "demo_data"
BANKS = [
    ("安全生产综合题库", "confined-space-bank.xlsx"),
    ("用电安全题库", "electrical.gift.txt"),
    ("个体防护题库", "ppe.aiken.txt"),
]
EXAM_TITLE = "有限空间作业安全考试"
PRACTICE_TITLE = "安全知识每日一练"


def _exam(ent: Enterprise, title: str, rules: list[dict[str, Any]], **settings: Any) -> Exam:
    exam = db.session.scalar(select(Exam).where(Exam.enterprise_id == ent.id, Exam.title == title))
    if exam is None:
        exam = services.create_exam(ent.id, title=title, **settings)
        for rule in rules:
            services.add_rule(exam, **rule)
        services.publish_exam(exam)
    return exam


def load(enterprise: Enterprise, ctx: Any) -> None:
    """Import the banks, create the exams, and let some demo people sit the exam (idempotent)."""
    banks = {}
    for name, filename in BANKS:
        bank = services.ensure_bank(enterprise.id, name)
        result = services.import_questions(bank, DATA / filename, filename, dry_run=False)
        if not result.committed:
            raise RuntimeError(f"demo bank {filename} refused: {result.errors[:3]}")
        banks[name] = bank
    main = banks["安全生产综合题库"]
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
    _exam(enterprise, PRACTICE_TITLE, [{"count": 5}], mode="practice", description="每次随机5题，即时反馈。")
    if db.session.scalar(select(func.count()).select_from(Attempt).where(Attempt.exam_id == exam.id)):
        return
    learner = ctx.accounts.get("learner")
    skip = {learner.person_id} if learner is not None else set()
    people = [p for _no, p in sorted(ctx.people.items()) if p.id not in skip and p.status == "active"][:14]
    rng = ctx.rng
    for i, person in enumerate(people):
        skill = 0.35 + 0.6 * rng.random()
        start = utcnow().replace(microsecond=0) - dt.timedelta(days=20 - i, hours=rng.randrange(0, 6))
        attempt = services.start_attempt(exam, person, now=start, rng=rng)
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
                services.save_answer(attempt, aq.id, answer, n, now=start + dt.timedelta(minutes=n))
        services.submit_attempt(attempt, now=start + dt.timedelta(minutes=len(attempt.questions) + 2))
    db.session.flush()
    ctx.echo(f"quizzes: {len(people)} demo attempts of {EXAM_TITLE}")
