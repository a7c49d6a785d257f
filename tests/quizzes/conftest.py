"""Fixtures for the quizzes tests: a bank with one question of each auto-graded type, and exams over it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

SAMPLES = __import__("pathlib").Path("/work/shared/samples/questions")
if not SAMPLES.exists():  # the repository's bundled copies
    SAMPLES = __import__("pathlib").Path(__file__).resolve().parents[2] / "quizzes" / "demo_data"

# Strings that only the keys / explanations contain: a page that shows any of them before the rules allow leaks.
SECRET_EXPLANATION = "解析秘密XYZ"
SECRET_BLANK = "预防为主"


@pytest.fixture
def bank(app: Any, enterprise: Any) -> Any:
    from quizzes import banks

    b = banks.create_bank(enterprise.id, "有限空间题库")
    banks.create_question(
        b,
        type="single_choice",
        stem="进入有限空间作业前，必须首先进行的是：",
        options=["气体检测", "穿戴防护服", "办理登记", "通知家属"],
        key=0,
        category="有限空间",
        difficulty="easy",
        points=2,
        explanation=SECRET_EXPLANATION,
    )
    banks.create_question(
        b,
        type="multiple_choice",
        stem="有限空间作业的主要危险有害因素包括：",
        options=["中毒", "缺氧窒息", "燃爆", "噪声"],
        key=[0, 1, 2],
        category="有限空间",
        points=4,
    )
    banks.create_question(
        b,
        type="true_false",
        stem="有限空间作业可以由一人单独进行。",
        key=False,
        category="有限空间",
        points=2,
    )
    banks.create_question(
        b,
        type="fill_blank",
        stem="我国安全生产方针是安全第一、____、综合治理。",
        key=[[SECRET_BLANK]],
        category="法律法规",
        points=2,
    )
    return b


@pytest.fixture
def make_exam(app: Any, enterprise: Any, bank: Any) -> Callable[..., Any]:
    """``make_exam(**settings)``: a published exam drawing every question of ``bank``."""
    from quizzes import exams

    def make(
        rules: list[dict[str, Any]] | None = None, ent: Any = None, b: Any = None, **settings: Any
    ) -> Any:
        values = {
            "title": "有限空间作业安全考试",
            "time_limit_minutes": 30,
            "attempts_allowed": 2,
            "pass_mark": Decimal("60"),
            **settings,
        }
        exam = exams.create_exam((ent or enterprise).id, **values)
        for rule in rules or [{"bank_id": (b or bank).id, "count": 4}]:
            exams.add_rule(exam, **rule)
        exams.publish_exam(exam)
        return exam

    return make


def right_answer(aq: Any) -> Any:
    """The right answer to an attempt question (for tests)."""
    return aq.version.key


def answer_all(attempt: Any, right: bool = True, now: dt.datetime | None = None) -> None:
    from quizzes import attempts

    for i, aq in enumerate(attempt.questions, start=1):
        key = aq.version.key
        if not right:
            key = {
                "single_choice": lambda k, n=len(aq.version.options): (k + 1) % n,
                "multiple_choice": lambda k: [3],
                "true_false": lambda k: not k,
                "fill_blank": lambda k: ["错"],
                "short_answer": lambda k: "",
            }[aq.version.type](key)
        elif aq.version.type == "fill_blank":
            key = [alts[0] for alts in key]
        attempts.save_answer(attempt, aq.id, key, attempt.seq + i, now=now)
