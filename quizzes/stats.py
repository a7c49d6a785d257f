"""Results and item analysis, computed in SQL where practical.

- difficulty: the mean share of the points earned on a question (1.0 = everybody right);
- discrimination: upper-lower 27 % — the mean share in the best 27 % of attempts minus that in the worst 27 %
  (ranked by total score, window functions in SQL);
- option frequencies: how often each option was chosen (read from the answers' JSON, per question).
Only graded exam attempts count.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, and_, case, cast, func, select

from lms.core.db import db
from quizzes.models import (
    GRADED,
    MODE_EXAM,
    Attempt,
    AttemptAnswer,
    AttemptQuestion,
    Exam,
    Question,
    QuestionVersion,
)
from quizzes.types import LETTERS


def summary(exam: Exam) -> dict[str, Any]:
    """Attempts, people, pass rate, average percent, and a 10-bin histogram of percent scores."""
    graded = (
        select(Attempt)
        .where(Attempt.exam_id == exam.id, Attempt.status == GRADED, Attempt.max_score > 0)
        .subquery()
    )
    pct = graded.c.score * 100 / graded.c.max_score
    row = db.session.execute(
        select(
            func.count(),
            func.count(func.distinct(graded.c.person_id)),
            func.avg(pct),
            func.sum(case((graded.c.passed.is_(True), 1), else_=0)),
            func.max(graded.c.score),
            func.min(graded.c.score),
        )
    ).one()
    attempts, people, avg, passed, best, worst = row
    bin_expr = cast(graded.c.score * 10 / graded.c.max_score, Integer)
    bins = dict(db.session.execute(select(bin_expr, func.count()).group_by(bin_expr)).all())
    histogram = []
    for i in range(10):
        n = bins.get(i, 0) + (bins.get(10, 0) if i == 9 else 0)
        histogram.append((f"{i * 10}–{i * 10 + 10 if i < 9 else 100}", n))
    passed_people = db.session.scalar(
        select(func.count(func.distinct(graded.c.person_id))).where(graded.c.passed.is_(True))
    )
    pending = db.session.scalar(
        select(func.count())
        .select_from(Attempt)
        .where(Attempt.exam_id == exam.id, Attempt.status == "pending_review")
    )
    return {
        "attempts": attempts or 0,
        "people": people or 0,
        "passed_attempts": passed or 0,
        "passed_people": passed_people or 0,
        "pass_rate": (passed_people or 0) / people if people else None,
        "average_pct": float(avg) if avg is not None else None,
        "best": best,
        "worst": worst,
        "histogram": histogram,
        "pending": pending or 0,
    }


def item_analysis(exam: Exam) -> list[dict[str, Any]]:
    """Per question of the exam: how many answered, difficulty, discrimination, option frequencies."""
    ranked = (
        select(
            Attempt.id.label("attempt_id"),
            func.row_number().over(order_by=(Attempt.score.desc(), Attempt.id)).label("rn"),
            func.count().over().label("n"),
        )
        .where(Attempt.exam_id == exam.id, Attempt.status == GRADED)
        .subquery()
    )
    # ceil(27 % of n) in integer arithmetic: // is floor division in SQLAlchemy 2 (/ would be true division)
    k = (ranked.c.n * 27 + 99) // 100
    share = AttemptAnswer.score / AttemptQuestion.points
    upper = and_(ranked.c.rn <= k)
    lower = and_(ranked.c.rn > ranked.c.n - k)
    rows = db.session.execute(
        select(
            AttemptQuestion.question_id,
            func.count(),
            func.avg(share),
            func.avg(case((upper, share))),
            func.avg(case((lower, share))),
            func.sum(case((AttemptAnswer.correct.is_(True), 1), else_=0)),
        )
        .join(ranked, ranked.c.attempt_id == AttemptQuestion.attempt_id)
        .join(AttemptAnswer, AttemptAnswer.attempt_question_id == AttemptQuestion.id)
        .where(AttemptQuestion.points > 0, AttemptAnswer.score.is_not(None))
        .group_by(AttemptQuestion.question_id)
    ).all()
    if not rows:
        return []
    qids = [r[0] for r in rows]
    questions = {q.id: q for q in db.session.scalars(select(Question).where(Question.id.in_(qids)))}
    freqs = option_frequencies(exam, qids)
    out = []
    for qid, n, diff, up, low, right in rows:
        q = questions[qid]
        out.append(
            {
                "question": q,
                "answered": n,
                "right": right or 0,
                "difficulty": float(diff) if diff is not None else None,
                "discrimination": float(up) - float(low)
                if up is not None and low is not None and n >= 2
                else None,
                "options": freqs.get(qid, []),
            }
        )
    out.sort(key=lambda r: r["difficulty"] if r["difficulty"] is not None else 2)
    return out


def option_frequencies(exam: Exam, question_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """How often each option was chosen, per choice question (original option order, with the right ones marked)."""
    rows = db.session.execute(
        select(
            AttemptQuestion.question_id,
            QuestionVersion.options,
            QuestionVersion.key,
            QuestionVersion.type,
            AttemptAnswer.answer,
        )
        .join(Attempt, Attempt.id == AttemptQuestion.attempt_id)
        .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
        .join(AttemptAnswer, AttemptAnswer.attempt_question_id == AttemptQuestion.id)
        .where(
            Attempt.exam_id == exam.id,
            Attempt.status == GRADED,
            AttemptQuestion.question_id.in_(question_ids),
            QuestionVersion.type.in_(("single_choice", "multiple_choice", "true_false", "matching")),
        )
    ).all()
    counts: dict[int, Counter[Any]] = {}
    meta: dict[int, tuple[list[str], Any, str]] = {}
    totals: Counter[int] = Counter()
    for qid, options, key, qtype, answer in rows:
        meta[qid] = (options or [], key, qtype)
        totals[qid] += 1
        c = counts.setdefault(qid, Counter())
        if answer is None or answer == [] or (qtype == "matching" and not any(answer)):
            c["blank"] += 1
        elif qtype == "matching":
            # Per item: how many matched it right (a matching answer is one chosen text per item).
            right = (key or {}).get("answers") or []
            c.update(i for i, r in enumerate(right) if i < len(answer) and str(answer[i]) == str(r))
        elif isinstance(answer, list):
            c.update(answer)
        else:
            c[answer] += 1
    out: dict[int, list[dict[str, Any]]] = {}
    for qid, (options, key, qtype) in meta.items():
        c, total = counts[qid], totals[qid] or 1
        if qtype == "true_false":
            items = [("√", True, key is True), ("×", False, key is False)]
        elif qtype == "matching":
            items = [(f"{LETTERS[i] if i < len(LETTERS) else i + 1}✓", i, True) for i in range(len(options))]
        else:
            right = set(key if isinstance(key, list) else [key])
            items = [(LETTERS[i], i, i in right) for i in range(len(options))]
        out[qid] = [
            {"label": label, "count": c.get(value, 0), "share": c.get(value, 0) / total, "right": is_right}
            for label, value, is_right in items
        ]
        out[qid].append(
            {"label": "—", "count": c.get("blank", 0), "share": c.get("blank", 0) / total, "right": False}
        )
    return out


def exam_stats_for_people(
    person_ids: Any, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> tuple[float | None, float | None]:
    """Return (pass rate 0..1, average percent score 0..100) of exam-mode results of ``person_ids`` in a window.

    ``person_ids`` is a subquery (or list) of person ids. Each (exam, person) pair with a graded attempt submitted
    in [since, until) counts once, by its best attempt in the window; the pass rate is the share of pairs passed.
    Both are None when there is nothing to measure.
    """
    pct = Attempt.score * 100 / Attempt.max_score
    q = (
        select(
            Attempt.exam_id,
            Attempt.person_id,
            func.max(pct).label("pct"),
            func.max(case((Attempt.passed.is_(True), 1), else_=0)).label("passed"),
        )
        .join(Exam, Exam.id == Attempt.exam_id)
        .where(
            Exam.mode == MODE_EXAM,
            Attempt.status == GRADED,
            Attempt.max_score > 0,
            Attempt.person_id.in_(person_ids),
        )
    )
    if since is not None:
        q = q.where(Attempt.submitted_at >= since)
    if until is not None:
        q = q.where(Attempt.submitted_at < until)
    best = q.group_by(Attempt.exam_id, Attempt.person_id).subquery()
    n, passed, avg = db.session.execute(
        select(func.count(), func.sum(best.c.passed), func.avg(best.c.pct))
    ).one()
    if not n:
        return None, None
    return float(passed or 0) / n, float(Decimal(str(avg)).quantize(Decimal("0.01")))


def results_rows(exam: Exam) -> tuple[list[str], list[list[Any]]]:
    """Every finished attempt of the exam, for the xlsx export."""
    from lms.org.models import Department, Person

    rows = db.session.execute(
        select(
            Person.employee_no,
            Person.name,
            Department.path,
            Attempt.number,
            Attempt.started_at,
            Attempt.submitted_at,
            Attempt.status,
            Attempt.score,
            Attempt.max_score,
            Attempt.passed,
            Attempt.auto_submitted,
        )
        .join(Person, Person.id == Attempt.person_id)
        .outerjoin(Department, Department.id == Person.department_id)
        .where(Attempt.exam_id == exam.id, Attempt.status != "open")
        .order_by(Department.path, Person.employee_no, Attempt.number)
    ).all()
    headers = [
        "工号",
        "姓名",
        "部门",
        "第几次",
        "开始时间",
        "交卷时间",
        "状态",
        "得分",
        "满分",
        "是否通过",
        "超时自动交卷",
    ]
    status_zh = {"graded": "已评分", "pending_review": "待阅卷", "submitted": "已交卷"}
    return headers, [
        [
            r[0],
            r[1],
            r[2] or "",
            r[3],
            r[4],
            r[5],
            status_zh.get(r[6], r[6]),
            r[7],
            r[8],
            "是" if r[9] else ("否" if r[9] is False else ""),
            "是" if r[10] else "否",
        ]
        for r in rows
    ]
