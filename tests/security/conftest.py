"""Fixtures of the security suite: one enterprise with an exam of every question type, two learners, staff."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from lms.core.db import db

XSS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')
# Strings only the keys / explanations contain: any of them in a page or JSON sent during an attempt leaks.
SECRETS = {
    "single_choice": "单选解析机密A1",
    "multiple_choice": "多选解析机密B2",
    "true_false": "判断解析机密C3",
    "fill_blank": "填空解析机密D4",
    "short_answer": "简答解析机密E5",
}
BLANK_KEY = "填空答案机密F6"
SHORT_REFERENCE = "简答参考答案机密G7"


def add_every_type(bank: Any, stem_prefix: str = "") -> None:
    from quizzes import banks

    common = {"category": "安全", "points": 2}
    banks.create_question(
        bank,
        type="single_choice",
        stem=f"{stem_prefix}单选：先做什么？",
        options=["通风", "检测", "进入", "离开"],
        key=1,
        explanation=SECRETS["single_choice"],
        **common,
    )
    banks.create_question(
        bank,
        type="multiple_choice",
        stem=f"{stem_prefix}多选：危险有哪些？",
        options=["中毒", "缺氧", "燃爆", "噪声"],
        key=[0, 1, 2],
        explanation=SECRETS["multiple_choice"],
        **common,
    )
    banks.create_question(
        bank,
        type="true_false",
        stem=f"{stem_prefix}判断：可以一人作业。",
        key=False,
        explanation=SECRETS["true_false"],
        **common,
    )
    banks.create_question(
        bank,
        type="fill_blank",
        stem=f"{stem_prefix}填空：方针是安全第一、____。",
        key=[[BLANK_KEY]],
        explanation=SECRETS["fill_blank"],
        **common,
    )
    banks.create_question(
        bank,
        type="short_answer",
        stem=f"{stem_prefix}简答：说明作业流程。",
        key=SHORT_REFERENCE,
        explanation=SECRETS["short_answer"],
        **common,
    )


@pytest.fixture
def exam_world(enterprise: Any, make_person: Any, make_enterprise: Any) -> dict[str, Any]:
    """A published timed exam (answers shown right after submit) drawing one question of every type."""
    from quizzes import banks, exams

    bank = banks.create_bank(enterprise.id, "安全题库")
    add_every_type(bank)
    exam = exams.create_exam(
        enterprise.id,
        title="综合安全考试",
        time_limit_minutes=30,
        attempts_allowed=3,
        pass_mark=Decimal("60"),
        show_answers="after_submit",
        close_at=dt.datetime(2099, 1, 1),
    )
    exams.add_rule(exam, bank_id=bank.id, count=5)
    exams.publish_exam(exam)
    w = {
        "enterprise": enterprise,
        "bank": bank,
        "exam": exam,
        "alice": make_person(enterprise, name="爱丽丝"),
        "bob": make_person(enterprise, name="鲍勃"),
        "trainer": make_person(enterprise, app_role="trainer"),
        "manager": make_person(enterprise, app_role="manager"),
    }
    db.session.commit()
    return w
