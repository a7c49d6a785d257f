"""Question banks, exams and attempts: the domain logic. Services flush, never commit.

Attempt safety, in short:
- one open attempt per exam and person is a unique partial index; ``start_attempt`` inserts in a savepoint and, on
  a conflict, returns the attempt the concurrent request made;
- saves lock the attempt row, check it is open and within deadline + grace, and update an answer only when the
  sequence number is newer (a conditional UPDATE), so a stale save never overwrites a newer one;
- submitting is a conditional UPDATE ... WHERE status = 'open': only one request wins and grades.
"""

from __future__ import annotations

import datetime as dt
import html
import random
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from flask import has_request_context
from sqlalchemy import func, or_, select, union, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from lms.core import signals
from lms.core.db import db, utcnow
from lms.core.errors import Conflict, DomainError, NotFound
from lms.org.models import Person, User
from quizzes import grading
from quizzes.importers import ParsedQuestion, answer_fingerprint, fingerprint, parse_file
from quizzes.models import (
    ARCHIVED,
    COUNTS_HIGHEST,
    COUNTS_LAST,
    DIFFICULTIES,
    DRAFT,
    FINISHED,
    GRADED,
    MODE_EXAM,
    MODE_PRACTICE,
    OPEN,
    PASS_PERCENT,
    PASS_POINTS,
    PENDING_REVIEW,
    PUBLISHED,
    RULE_DRAW,
    RULE_FIXED,
    SHOW_AFTER_CLOSE,
    SHOW_AFTER_SUBMIT,
    SHOW_NEVER,
    STATUSES,
    SUBMITTED,
    Attempt,
    AttemptAnswer,
    AttemptQuestion,
    Exam,
    ExamExtension,
    MistakeEntry,
    PaperRule,
    Question,
    QuestionBank,
    QuestionVersion,
)
from quizzes.stats import exam_stats_for_people  # noqa: F401 - part of this module's public API
from quizzes.types import LETTERS, TYPE_NAMES, _, get_type

GRACE = dt.timedelta(seconds=5)
TYPE_LABELS_ZH = {
    "single_choice": "单选题",
    "multiple_choice": "多选题",
    "true_false": "判断题",
    "fill_blank": "填空题",
    "short_answer": "简答题",
    "matching": "匹配题",
    "numerical": "数值题",
}
DIFFICULTY_ZH = {"easy": "易", "medium": "中", "hard": "难"}
EXPORT_HEADERS = ["题型", "题干", *[f"选项{c}" for c in LETTERS], "答案", "解析", "难度", "分类", "分值"]


# ---------------------------------------------------------------- banks and questions


def bank_scope(enterprise_id: int) -> Any:
    """The condition for banks an enterprise may use: its own and the shared platform banks."""
    return or_(QuestionBank.enterprise_id == enterprise_id, QuestionBank.enterprise_id.is_(None))


def visible_banks(enterprise_id: int) -> list[QuestionBank]:
    """The enterprise's banks and the shared ones, with their question counts in ``bank.question_count``."""
    counts = dict(
        db.session.execute(
            select(Question.bank_id, func.count())
            .where(Question.status != ARCHIVED)
            .group_by(Question.bank_id)
        ).all()
    )
    banks = list(
        db.session.scalars(
            select(QuestionBank)
            .where(bank_scope(enterprise_id))
            .order_by(QuestionBank.enterprise_id.is_(None), QuestionBank.name)
        )
    )
    for b in banks:
        b.question_count = counts.get(b.id, 0)  # type: ignore[attr-defined]
    return banks


def get_bank(bank_id: int, enterprise_id: int) -> QuestionBank:
    """Load a bank the enterprise may use (its own or shared), else NotFound."""
    bank = db.session.get(QuestionBank, bank_id)
    if bank is None or bank.enterprise_id not in (enterprise_id, None):
        raise NotFound(_("Question bank not found."))
    return bank


def can_edit_bank(bank: QuestionBank, user: Any) -> bool:
    """Enterprise banks are edited by their staff; shared platform banks by platform administrators only."""
    if bank.enterprise_id is None:
        return getattr(user, "app_role", None) == "admin"
    return True


def create_bank(
    enterprise_id: int | None,
    name: str,
    *,
    partial_credit: bool = False,
    description: str | None = None,
    practice: bool = False,
) -> QuestionBank:
    """Create a bank; names are unique within an enterprise."""
    name = (name or "").strip()
    if not name:
        raise DomainError(_("A name is required."), field="name")
    taken = db.session.scalar(
        select(QuestionBank.id).where(
            QuestionBank.enterprise_id.is_(None)
            if enterprise_id is None
            else QuestionBank.enterprise_id == enterprise_id,
            QuestionBank.name == name,
        )
    )
    if taken:
        raise Conflict(_("A bank with this name already exists."), field="name")
    bank = QuestionBank(
        enterprise_id=enterprise_id,
        name=name[:200],
        partial_credit=partial_credit,
        description=description,
        status=PUBLISHED,
        practice=bool(practice),
    )
    db.session.add(bank)
    db.session.flush()
    return bank


def ensure_bank(enterprise_id: int | None, name: str) -> QuestionBank:
    """Return the bank called ``name`` in the enterprise, creating it if needed."""
    found = db.session.scalar(
        select(QuestionBank).where(
            QuestionBank.enterprise_id.is_(None)
            if enterprise_id is None
            else QuestionBank.enterprise_id == enterprise_id,
            QuestionBank.name == name.strip(),
        )
    )
    return found or create_bank(enterprise_id, name)


def update_bank(
    bank: QuestionBank,
    *,
    name: str,
    partial_credit: bool,
    status: str,
    description: str | None = None,
    practice: bool | None = None,
) -> QuestionBank:
    """Change a bank's settings; ``practice`` None leaves the practice mark as it is."""
    if status not in STATUSES:
        raise DomainError(_("Unknown status."), field="status")
    if not (name or "").strip():
        raise DomainError(_("A name is required."), field="name")
    bank.name, bank.partial_credit, bank.status, bank.description = (
        name.strip()[:200],
        partial_credit,
        status,
        description,
    )
    if practice is not None:
        bank.practice = bool(practice)
    db.session.flush()
    return bank


def _check_question(
    qtype: str,
    stem: str,
    options: list[str],
    key: Any,
    difficulty: str,
    points: Decimal,
    weights: Any = None,
    text_format: str = "plain",
) -> None:
    if qtype not in TYPE_NAMES:
        raise DomainError(_("Unknown question type."), field="type")
    if not (stem or "").strip():
        raise DomainError(_("The question text is required."), field="stem")
    if difficulty not in DIFFICULTIES:
        raise DomainError(_("Unknown difficulty."), field="difficulty")
    if points is None or Decimal(points) <= 0:
        raise DomainError(_("Points must be above 0."), field="points")
    if text_format not in ("plain", "html"):
        raise DomainError(_("Unknown text format."), field="text_format")
    problem = get_type(qtype).validate(options, key, weights)
    if problem:
        raise DomainError(problem, field="key")


def _snapshot(q: Question) -> QuestionVersion:
    v = QuestionVersion(
        question_id=q.id,
        number=q.version,
        type=q.type,
        stem=q.stem,
        options=list(q.options or []),
        key=q.key,
        explanation=q.explanation,
        points=q.points,
        weights=q.weights,
        feedback=q.feedback,
        text_format=q.text_format or "plain",
    )
    db.session.add(v)
    return v


def create_question(
    bank: QuestionBank,
    *,
    type: str,
    stem: str,
    options: list[str] | None = None,
    key: Any,
    category: str | None = None,
    difficulty: str = "medium",
    points: Decimal | int = 1,
    explanation: str | None = None,
    status: str = PUBLISHED,
    name: str | None = None,
    weights: Any = None,
    feedback: Any = None,
    text_format: str = "plain",
) -> Question:
    """Create a question and its first version."""
    options = [o.strip() for o in options or []] if get_type(type).has_options else []
    points = Decimal(str(points))
    _check_question(type, stem, options, key, difficulty, points, weights, text_format)
    q = Question(
        bank_id=bank.id,
        type=type,
        stem=stem.strip(),
        options=options,
        key=key,
        category=category or None,
        difficulty=difficulty,
        points=points,
        explanation=explanation or None,
        status=status,
        fingerprint=fingerprint(stem, options),
        name=(name or None) and name[:255],
        weights=weights,
        feedback=feedback or None,
        text_format=text_format or "plain",
        version=1,
        updated_at=utcnow(),
    )
    db.session.add(q)
    db.session.flush()
    _snapshot(q)
    db.session.flush()
    return q


_CONTENT = ("type", "stem", "options", "key", "explanation", "points", "weights", "feedback", "text_format")


def update_question(q: Question, **values: Any) -> bool:
    """Change a question; a change of content makes a new version (attempts keep the one they saw). Return changed."""
    merged = {
        k: getattr(q, k)
        for k in (
            "type",
            "stem",
            "options",
            "key",
            "category",
            "difficulty",
            "points",
            "explanation",
            "status",
            "name",
            "weights",
            "feedback",
            "text_format",
        )
    }
    merged.update({k: v for k, v in values.items() if k in merged})
    merged["text_format"] = merged["text_format"] or "plain"
    if not get_type(merged["type"]).has_options:
        merged["options"] = []
    merged["points"] = Decimal(str(merged["points"]))
    merged["category"] = merged["category"] or None
    merged["explanation"] = merged["explanation"] or None
    _check_question(
        merged["type"],
        merged["stem"],
        merged["options"],
        merged["key"],
        merged["difficulty"],
        merged["points"],
        merged["weights"],
        merged["text_format"],
    )
    if merged["status"] not in STATUSES:
        raise DomainError(_("Unknown status."), field="status")
    content_changed = any(_norm(getattr(q, k)) != _norm(merged[k]) for k in _CONTENT)
    changed = content_changed or any(
        getattr(q, k) != merged[k] for k in ("category", "difficulty", "status", "name")
    )
    if not changed:
        return False
    for k, v in merged.items():
        setattr(q, k, v)
    q.fingerprint = fingerprint(q.stem, q.options)
    q.updated_at = utcnow()
    if content_changed:
        q.version += 1
        db.session.flush()
        _snapshot(q)
    db.session.flush()
    return True


def _norm(value: Any) -> Any:
    if isinstance(value, Decimal | float | int) and not isinstance(value, bool):
        return Decimal(str(value)).quantize(Decimal("0.01"))
    return value


def current_version(q: Question) -> QuestionVersion:
    return db.session.scalars(
        select(QuestionVersion).where(
            QuestionVersion.question_id == q.id, QuestionVersion.number == q.version
        )
    ).one()


def get_question(question_id: int, enterprise_id: int) -> Question:
    q = db.session.get(Question, question_id)
    if q is None or q.bank.enterprise_id not in (enterprise_id, None):
        raise NotFound(_("Question not found."))
    return q


# ---------------------------------------------------------------- import and export


@dataclass
class ImportResult:
    """What an import did or would do; ``errors`` carry the file's own row (or line) numbers."""

    filename: str
    dry_run: bool
    format: str = ""
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    committed: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.filename,
            "format": self.format,
            "dry_run": self.dry_run,
            "committed": self.committed,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors,
            "duplicates": self.duplicates,
            "notes": self.notes,
            "questions": self.rows,
        }


_IMPORTED = ("type", "stem", "options", "key", "explanation", "category", "difficulty", "points", "name",
             "weights", "feedback", "text_format")  # fmt: skip


def _same(q: Question, p: ParsedQuestion) -> bool:
    return (
        q.type == p.type
        and q.key == p.key
        and list(q.options or []) == p.options
        and q.stem == p.stem
        and (q.explanation or None) == p.explanation
        and q.difficulty == p.difficulty
        and (q.category or None) == p.category
        and _norm(q.points) == _norm(p.points)
        and q.weights == p.weights
        and (q.feedback or None) == (p.feedback or None)
        and (q.text_format or "plain") == p.text_format
        and (q.name or None) == (p.name or None)
        and q.status == PUBLISHED
    )


def import_questions(
    bank: QuestionBank, source: str | IO[bytes] | bytes | Any, filename: str, *, dry_run: bool = True
) -> ImportResult:
    """Import a bank file into ``bank``: all or nothing.

    A question with the same stem, options and answers as one before it in the file is a duplicate: reported and
    left out, never a reason to refuse the file. One with the same stem and options as a question of the bank is
    that question (updated when its answers changed, if that pairing is unambiguous).
    """
    parsed = parse_file(source, filename)
    result = ImportResult(
        filename=filename,
        dry_run=dry_run,
        format=parsed.format,
        errors=list(parsed.errors),
        notes=list(parsed.notes),
    )
    seen: dict[tuple[str, str], int] = {}
    per_stem: dict[str, int] = {}
    unique: list[ParsedQuestion] = []
    for p in parsed.questions:
        ident = (p.fingerprint, p.answer_fingerprint)
        if ident in seen:
            result.duplicates.append({"row": p.row, "duplicate_of": seen[ident], "stem": p.stem[:80]})
            continue
        seen[ident] = p.row
        per_stem[p.fingerprint] = per_stem.get(p.fingerprint, 0) + 1
        unique.append(p)
    existing: dict[str, list[Question]] = {}
    if per_stem:
        for q in db.session.scalars(
            select(Question)
            .where(Question.bank_id == bank.id, Question.fingerprint.in_(list(per_stem)))
            .order_by(Question.id)
        ):
            existing.setdefault(q.fingerprint, []).append(q)
    plan = []
    used: set[int] = set()
    for p in unique:
        candidates = [q for q in existing.get(p.fingerprint, []) if q.id not in used]
        same = [q for q in candidates if answer_fingerprint(q.key, q.weights) == p.answer_fingerprint]
        if same:
            q = same[0]
        elif len(candidates) == 1 and per_stem[p.fingerprint] == 1 and len(existing[p.fingerprint]) == 1:
            q = candidates[0]  # the same question with its answers corrected
        else:
            q = None
        if q is not None:
            used.add(q.id)
        action = "create" if q is None else ("unchanged" if _same(q, p) else "update")
        plan.append((p, q, action))
        result.rows.append({**p.as_json(), "action": action})
        counter = {"create": "created", "update": "updated", "unchanged": "unchanged"}[action]
        setattr(result, counter, getattr(result, counter) + 1)
    result.errors.sort(key=lambda e: e["row"] or 0)
    if result.errors or dry_run:
        return result
    for p, q, action in plan:
        values = {k: getattr(p, k) for k in _IMPORTED}
        if action == "create":
            create_question(bank, **values)
        elif action == "update":
            update_question(q, status=PUBLISHED, **values)
    result.committed = True
    return result


def answer_cell(q: Question | QuestionVersion) -> str:
    """The answer as the import layout writes it (see ``importers.build_question`` for the syntax of each type)."""
    from quizzes.importers import write_answer

    return write_answer(q.type, q.key, getattr(q, "weights", None))


def export_rows(bank: QuestionBank) -> tuple[list[str], list[list[Any]]]:
    """The bank as rows of the import layout (importing them back changes nothing)."""
    rows = []
    for q in db.session.scalars(
        select(Question).where(Question.bank_id == bank.id, Question.status != ARCHIVED).order_by(Question.id)
    ):
        opts = list(q.options or []) + [""] * (len(LETTERS) - len(q.options or []))
        rows.append(
            [
                TYPE_LABELS_ZH[q.type],
                q.stem,
                *opts,
                answer_cell(q),
                q.explanation or "",
                DIFFICULTY_ZH.get(q.difficulty, "中"),
                q.category or "",
                float(q.points),
            ]
        )
    return EXPORT_HEADERS, rows


def _bank_questions(bank: QuestionBank) -> list[Question]:
    return list(
        db.session.scalars(
            select(Question)
            .where(Question.bank_id == bank.id, Question.status != ARCHIVED)
            .order_by(Question.category.is_(None), Question.category, Question.id)
        )
    )


def export_gift(bank: QuestionBank) -> tuple[str, list[Question]]:
    """The bank as Moodle GIFT (re-importing it gives the same questions); also the questions GIFT cannot hold."""
    from quizzes.gift import write_gift

    return write_gift(_bank_questions(bank))


def export_moodle_xml(bank: QuestionBank) -> tuple[bytes, list[Question]]:
    """The bank as Moodle XML; also the questions it cannot hold (fill-ins of several blanks)."""
    from quizzes.moodle_xml import write_xml

    return write_xml(_bank_questions(bank))


def template_rows() -> tuple[list[str], list[list[Any]]]:
    """An empty template with one example per type."""
    blank = [""] * (len(LETTERS) - 4)
    return EXPORT_HEADERS, [
        [
            "单选题",
            "进入有限空间作业前，必须首先进行的是：",
            "气体检测",
            "穿戴防护服",
            "办理登记",
            "通知家属",
            *blank,
            "A",
            "先通风、再检测、后作业。",
            "易",
            "有限空间",
            2,
        ],
        [
            "多选题",
            "灭火的基本方法有：",
            "隔离法",
            "窒息法",
            "冷却法",
            "抑制法",
            *blank,
            "A、B、C、D",
            "",
            "中",
            "消防安全",
            4,
        ],
        ["判断题", "特种作业人员必须持证上岗。", "", "", "", "", *blank, "正确", "", "易", "法律法规", 1],
        [
            "填空题",
            "我国安全电压的最高额定值是____伏。",
            "",
            "",
            "",
            "",
            *blank,
            "42|42V",
            "多个空用；分隔，同一空的多个答案用|分隔",
            "中",
            "用电安全",
            2,
        ],
        [
            "简答题",
            "简述有限空间作业“先通风、再检测、后作业”的要求。",
            "",
            "",
            "",
            "",
            *blank,
            "参考答案…",
            "",
            "难",
            "有限空间",
            10,
        ],
        [
            "单选题",
            "发现有人触电，首先应当：",
            "切断电源",
            "用干木棒挑开电线",
            "用手拉开",
            "",
            *blank,
            "A:100%,B:50%",
            "部分得分：选项后写权重，如 A:100%,B:50%",
            "中",
            "用电安全",
            2,
        ],
        [
            "匹配题",
            "把火灾类别与适用的灭火器配对：",
            "电气设备火灾",
            "油类火灾",
            "",
            "",
            *blank,
            "二氧化碳灭火器；泡沫灭火器；+水",
            "选项为各匹配项；答案按选项顺序用；分隔，+开头的是干扰项",
            "中",
            "消防安全",
            4,
        ],
        [
            "数值题",
            "气瓶与明火的距离不小于多少米？",
            "",
            "",
            "",
            "",
            *blank,
            "10；10:2(50%)",
            "10:2 表示 10±2",
            "中",
            "动火作业",
            2,
        ],
    ]


# ---------------------------------------------------------------- exams and paper rules

EXAM_FIELDS = (
    "title",
    "description",
    "mode",
    "open_at",
    "close_at",
    "time_limit_minutes",
    "attempts_allowed",
    "pass_mark",
    "pass_mark_kind",
    "counts",
    "show_answers",
    "shuffle_questions",
    "shuffle_options",
    "course_id",
    "issue_certificate",
    "hours",
    "category",
)


def _check_exam(values: dict[str, Any]) -> None:
    if not (values.get("title") or "").strip():
        raise DomainError(_("A title is required."), field="title")
    if values.get("mode") not in (MODE_EXAM, MODE_PRACTICE):
        raise DomainError(_("Unknown mode."), field="mode")
    if values.get("pass_mark_kind") not in (PASS_POINTS, PASS_PERCENT):
        raise DomainError(_("Unknown pass mark kind."), field="pass_mark_kind")
    if values.get("counts") not in (COUNTS_HIGHEST, COUNTS_LAST):
        raise DomainError(_("Unknown counting rule."), field="counts")
    if values.get("show_answers") not in (SHOW_AFTER_SUBMIT, SHOW_AFTER_CLOSE, SHOW_NEVER):
        raise DomainError(_("Unknown answer visibility."), field="show_answers")
    limit = values.get("time_limit_minutes")
    if limit is not None and not 1 <= int(limit) <= 24 * 60:
        raise DomainError(_("The time limit must be between 1 and 1440 minutes."), field="time_limit_minutes")
    allowed = values.get("attempts_allowed")
    if allowed is not None and int(allowed) < 1:
        raise DomainError(_("At least one attempt must be allowed."), field="attempts_allowed")
    mark = Decimal(str(values.get("pass_mark") or 0))
    if mark < 0 or (values.get("pass_mark_kind") == PASS_PERCENT and mark > 100):
        raise DomainError(_("The pass mark must be between 0 and 100 percent."), field="pass_mark")
    if values.get("open_at") and values.get("close_at") and values["close_at"] <= values["open_at"]:
        raise DomainError(_("The exam must close after it opens."), field="close_at")
    if Decimal(str(values.get("hours") or 0)) < 0:
        raise DomainError(_("Hours cannot be negative."), field="hours")


def create_exam(enterprise_id: int, *, actor: User | None = None, **values: Any) -> Exam:
    """Create an exam (draft) with the given settings."""
    defaults = {
        "mode": MODE_EXAM,
        "pass_mark": Decimal("60"),
        "pass_mark_kind": PASS_PERCENT,
        "counts": COUNTS_HIGHEST,
        "show_answers": SHOW_AFTER_SUBMIT,
        "attempts_allowed": 1,
        "shuffle_questions": True,
        "shuffle_options": True,
        "hours": Decimal("0"),
        "issue_certificate": False,
    }
    merged = {**defaults, **{k: v for k, v in values.items() if k in EXAM_FIELDS}}
    _check_exam(merged)
    if merged["mode"] == MODE_PRACTICE:
        merged["attempts_allowed"] = None
    exam = Exam(
        enterprise_id=enterprise_id, status=DRAFT, created_by_id=actor.id if actor else None, **merged
    )
    exam.title = exam.title.strip()[:200]
    db.session.add(exam)
    db.session.flush()
    return exam


def update_exam(exam: Exam, **values: Any) -> Exam:
    merged = {k: getattr(exam, k) for k in EXAM_FIELDS}
    merged.update({k: v for k, v in values.items() if k in EXAM_FIELDS})
    _check_exam(merged)
    if merged["mode"] == MODE_PRACTICE:
        merged["attempts_allowed"] = None
    for k, v in merged.items():
        setattr(exam, k, v)
    db.session.flush()
    return exam


def _rule_query(rule: PaperRule, enterprise_id: int) -> Any:
    q = (
        select(Question.id)
        .join(QuestionBank, QuestionBank.id == Question.bank_id)
        .where(Question.status == PUBLISHED, QuestionBank.status != ARCHIVED, bank_scope(enterprise_id))
    )
    if rule.bank_id:
        q = q.where(Question.bank_id == rule.bank_id)
    elif rule.exam is not None and rule.exam.mode == MODE_EXAM:
        # Keys of a practice bank are shown in practice: an exam draws from one only by a rule that names it.
        q = q.where(QuestionBank.practice.is_(False))
    if rule.type:
        q = q.where(Question.type == rule.type)
    if rule.category:
        q = q.where(Question.category == rule.category)
    if rule.difficulty:
        q = q.where(Question.difficulty == rule.difficulty)
    return q


def rule_available(rule: PaperRule, enterprise_id: int) -> int:
    """How many published questions a rule may draw from."""
    if rule.kind == RULE_FIXED:
        return 1 if rule.question is not None and rule.question.status == PUBLISHED else 0
    return (
        db.session.scalar(select(func.count()).select_from(_rule_query(rule, enterprise_id).subquery())) or 0
    )


def add_rule(
    exam: Exam,
    *,
    kind: str = RULE_DRAW,
    question_id: int | None = None,
    bank_id: int | None = None,
    type: str | None = None,
    category: str | None = None,
    difficulty: str | None = None,
    count: int = 1,
    points: Decimal | None = None,
) -> PaperRule:
    """Add a fixed question or a draw rule to the paper."""
    if kind not in (RULE_FIXED, RULE_DRAW):
        raise DomainError(_("Unknown rule kind."), field="kind")
    if kind == RULE_FIXED:
        if question_id is None:
            raise DomainError(_("Choose a question."), field="question_id")
        get_question(question_id, exam.enterprise_id)
        count = 1
    else:
        if bank_id is not None:
            get_bank(bank_id, exam.enterprise_id)
        if type and type not in TYPE_NAMES:
            raise DomainError(_("Unknown question type."), field="type")
        if difficulty and difficulty not in DIFFICULTIES:
            raise DomainError(_("Unknown difficulty."), field="difficulty")
        if not 1 <= int(count) <= 500:
            raise DomainError(_("Draw between 1 and 500 questions."), field="count")
    if points is not None and Decimal(points) <= 0:
        raise DomainError(_("Points must be above 0."), field="points")
    position = (
        db.session.scalar(select(func.max(PaperRule.position)).where(PaperRule.exam_id == exam.id)) or 0
    ) + 1
    rule = PaperRule(
        exam_id=exam.id,
        position=position,
        kind=kind,
        question_id=question_id if kind == RULE_FIXED else None,
        bank_id=bank_id if kind == RULE_DRAW else None,
        type=type or None,
        category=category or None,
        difficulty=difficulty or None,
        count=int(count),
        points=points,
    )
    db.session.add(rule)
    db.session.flush()
    db.session.refresh(exam)
    return rule


def delete_rule(exam: Exam, rule_id: int) -> None:
    rule = db.session.get(PaperRule, rule_id)
    if rule is None or rule.exam_id != exam.id:
        raise NotFound(_("Rule not found."))
    db.session.delete(rule)
    db.session.flush()
    db.session.refresh(exam)


def paper_problems(exam: Exam) -> list[str]:
    """What keeps the paper from being drawn (empty: every rule can be satisfied)."""
    problems = []
    if not exam.rules:
        problems.append(_("The paper has no questions yet."))
    for rule in exam.rules:
        available = rule_available(rule, exam.enterprise_id)
        if available < rule.count:
            problems.append(
                _(
                    "Rule %(n)d needs %(c)d questions but the bank has %(a)d.",
                    n=rule.position,
                    c=rule.count,
                    a=available,
                )
            )
    return problems


def publish_exam(exam: Exam) -> Exam:
    problems = paper_problems(exam)
    if problems:
        raise DomainError(" ".join(problems))
    exam.status = PUBLISHED
    db.session.flush()
    return exam


def set_exam_status(exam: Exam, status: str) -> Exam:
    if status == PUBLISHED:
        return publish_exam(exam)
    if status not in STATUSES:
        raise DomainError(_("Unknown status."), field="status")
    exam.status = status
    db.session.flush()
    return exam


def get_exam(exam_id: int, enterprise_id: int) -> Exam:
    exam = db.session.get(Exam, exam_id)
    if exam is None or exam.enterprise_id != enterprise_id:
        raise NotFound(_("Exam not found."))
    return exam


def find_exams(
    enterprise_id: int, *, published_only: bool = True, mode: str | None = MODE_EXAM
) -> list[Exam]:
    """The enterprise's exams (for a course's lesson picker: published exam-mode ones by default)."""
    q = select(Exam).where(Exam.enterprise_id == enterprise_id)
    if published_only:
        q = q.where(Exam.status == PUBLISHED)
    if mode:
        q = q.where(Exam.mode == mode)
    return list(db.session.scalars(q.order_by(Exam.title)))


def has_passed(exam_id: int, person_id: int) -> bool:
    """Whether the person has a graded, passed attempt of the exam."""
    return bool(
        db.session.scalar(
            select(func.count())
            .select_from(Attempt)
            .where(
                Attempt.exam_id == exam_id,
                Attempt.person_id == person_id,
                Attempt.status == GRADED,
                Attempt.passed.is_(True),
            )
        )
    )


def person_result(exam: Exam, person_id: int) -> dict[str, Any]:
    """The person's standing: attempts used and left, the counting attempt, whether passed."""
    counting = grading.counting_attempt(exam, person_id)
    used = attempts_used(exam.id, person_id)
    left = attempts_left(exam, person_id)
    return {
        "attempts_used": used,
        "attempts_left": left,
        "counting": counting,
        "passed": bool(counting and counting.passed),
        "score": counting.score if counting else None,
        "open": open_attempt(exam.id, person_id),
    }


# ---------------------------------------------------------------- extensions


def extension_for(exam_id: int, person_id: int) -> ExamExtension | None:
    return db.session.scalar(
        select(ExamExtension).where(ExamExtension.exam_id == exam_id, ExamExtension.person_id == person_id)
    )


def set_extension(
    exam: Exam,
    person: Person,
    *,
    extra_minutes: int = 0,
    extra_attempts: int = 0,
    note: str | None = None,
    actor: User | None = None,
) -> ExamExtension:
    """Grant (or change) a person's extra minutes and attempts for an exam."""
    if person.enterprise_id != exam.enterprise_id:
        raise NotFound(_("Person not found."))
    if extra_minutes < 0 or extra_attempts < 0 or extra_minutes > 24 * 60 or extra_attempts > 100:
        raise DomainError(_("Extra time and attempts must be zero or more."), field="extra_minutes")
    ext = extension_for(exam.id, person.id)
    if ext is None:
        ext = ExamExtension(exam_id=exam.id, person_id=person.id)
        db.session.add(ext)
    ext.extra_minutes, ext.extra_attempts, ext.note = extra_minutes, extra_attempts, note
    ext.granted_by_id, ext.granted_at = (actor.id if actor else None), utcnow()
    db.session.flush()
    return ext


# ---------------------------------------------------------------- attempts


def open_attempt(exam_id: int, person_id: int) -> Attempt | None:
    return db.session.scalar(
        select(Attempt).where(
            Attempt.exam_id == exam_id, Attempt.person_id == person_id, Attempt.status == OPEN
        )
    )


def attempts_used(exam_id: int, person_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Attempt)
            .where(Attempt.exam_id == exam_id, Attempt.person_id == person_id)
        )
        or 0
    )


def attempts_left(exam: Exam, person_id: int) -> int | None:
    """Attempts the person may still start (None: unlimited)."""
    if exam.mode == MODE_PRACTICE or exam.attempts_allowed is None:
        return None
    ext = extension_for(exam.id, person_id)
    allowed = exam.attempts_allowed + (ext.extra_attempts if ext else 0)
    return max(allowed - attempts_used(exam.id, person_id), 0)


def availability(exam: Exam, person_id: int, now: dt.datetime | None = None) -> str | None:
    """Why the person cannot start an attempt now (a message), or None."""
    now = now or utcnow()
    if exam.status != PUBLISHED:
        return _("This exam is not open.")
    if exam.open_at and now < exam.open_at:
        return _("This exam opens later.")
    if exam.close_at and now >= exam.close_at:
        return _("This exam has closed.")
    left = attempts_left(exam, person_id)
    if left is not None and left <= 0:
        return _("You have used all your attempts.")
    return None


def _deadline(exam: Exam, started: dt.datetime, ext: ExamExtension | None) -> dt.datetime | None:
    ends = []
    if exam.time_limit_minutes and exam.mode == MODE_EXAM:
        ends.append(
            started + dt.timedelta(minutes=exam.time_limit_minutes + (ext.extra_minutes if ext else 0))
        )
    if exam.close_at:
        ends.append(exam.close_at + dt.timedelta(minutes=ext.extra_minutes if ext else 0))
    return min(ends) if ends else None


def _draw_paper(
    exam: Exam, person_id: int, rng: random.Random, now: dt.datetime | None = None
) -> list[tuple[Question, Decimal]]:
    # Practice shows keys at once: it never offers a question an exam still open to the person may draw.
    held = withheld_questions(person_id, exam.enterprise_id, now) if exam.mode == MODE_PRACTICE else set()
    seen = set(
        db.session.scalars(
            select(AttemptQuestion.question_id)
            .join(Attempt)
            .where(Attempt.exam_id == exam.id, Attempt.person_id == person_id)
        )
    )
    chosen: list[tuple[Question, Decimal]] = []
    taken: set[int] = set()
    for rule in exam.rules:
        if rule.kind == RULE_FIXED:
            q = rule.question
            if q is None or q.status != PUBLISHED or q.id in taken or q.id in held:
                continue
            group = [q]
        else:
            drawable = [
                i for i in db.session.scalars(_rule_query(rule, exam.enterprise_id)) if i not in taken
            ]
            ids = [i for i in drawable if i not in held]
            fresh = [i for i in ids if i not in seen]
            old = [i for i in ids if i in seen]
            rng.shuffle(fresh)
            rng.shuffle(old)
            pick = (fresh + old)[
                : rule.count
            ]  # a retake draws questions not seen before where the bank allows
            # A practice short of questions because some are held back draws what it may (none: refused below).
            if len(pick) < rule.count and not (held and len(drawable) >= rule.count):
                raise DomainError(
                    _(
                        "The paper cannot be drawn: rule %(n)d needs %(c)d questions but %(a)d are "
                        "available. Tell your trainer.",
                        n=rule.position,
                        c=rule.count,
                        a=len(ids),
                    )
                )
            by_id = {q.id: q for q in db.session.scalars(select(Question).where(Question.id.in_(pick)))}
            group = [by_id[i] for i in pick]
        if exam.shuffle_questions:
            rng.shuffle(group)
        for q in group:
            taken.add(q.id)
            chosen.append((q, Decimal(rule.points) if rule.points is not None else Decimal(q.points)))
    if not chosen:
        if held:
            raise DomainError(
                _(
                    "No practice questions are available to you now: their answers are held back while an "
                    "exam that uses them is open to you."
                )
            )
        raise DomainError(_("The paper has no questions yet."))
    return chosen


def start_attempt(
    exam: Exam, person: Person, *, now: dt.datetime | None = None, rng: random.Random | None = None
) -> Attempt:
    """Return the person's open attempt, or start one: questions frozen, deadline set by the server.

    Concurrent starts make one attempt: the unique partial index on open attempts refuses the second insert,
    which then returns the attempt the first request made.
    """
    now = now or utcnow()
    if person.enterprise_id != exam.enterprise_id:
        raise NotFound(_("Exam not found."))
    existing = open_attempt(exam.id, person.id)
    if existing is not None:
        if not is_overdue(existing, now):
            return existing
        submit_attempt(existing, now=now, auto=True)
    problem = availability(exam, person.id, now)
    if problem:
        raise DomainError(problem)
    rng = rng or random.Random()
    paper = _draw_paper(exam, person.id, rng, now)
    ext = extension_for(exam.id, person.id)
    number = (
        db.session.scalar(
            select(func.max(Attempt.number)).where(Attempt.exam_id == exam.id, Attempt.person_id == person.id)
        )
        or 0
    ) + 1
    versions = {
        v.question_id: v
        for v in db.session.scalars(
            select(QuestionVersion)
            .join(Question, Question.id == QuestionVersion.question_id)
            .where(Question.id.in_([q.id for q, _p in paper]), QuestionVersion.number == Question.version)
        )
    }
    try:
        with db.session.begin_nested():
            attempt = Attempt(
                exam_id=exam.id,
                person_id=person.id,
                number=number,
                started_at=now,
                deadline=_deadline(exam, now, ext),
                status=OPEN,
                seq=0,
                max_score=sum((p for _q, p in paper), Decimal("0")),
            )
            db.session.add(attempt)
            db.session.flush()
            questions = []
            for pos, (q, pts) in enumerate(paper, start=1):
                order = None
                if get_type(q.type).has_options:
                    order = list(range(len(q.options)))
                    if exam.shuffle_options:
                        rng.shuffle(order)
                aq = AttemptQuestion(
                    attempt_id=attempt.id,
                    question_version_id=versions[q.id].id,
                    question_id=q.id,
                    position=pos,
                    option_order=order,
                    points=pts,
                )
                questions.append(aq)
            # One batched INSERT per table (ids come back with RETURNING) instead of two statements per question.
            db.session.add_all(questions)
            db.session.flush()
            db.session.add_all(
                [AttemptAnswer(attempt_question_id=aq.id, answer=None, seq=0) for aq in questions]
            )
            db.session.flush()
    except IntegrityError:
        # Another request started one in the meantime (unique open attempt / attempt number): use it.
        existing = open_attempt(exam.id, person.id)
        if existing is not None:
            return existing
        raise Conflict(_("Another attempt was started at the same time. Reload the page.")) from None
    return attempt


def is_overdue(attempt: Attempt, now: dt.datetime | None = None) -> bool:
    """Whether an open attempt is past its deadline and the grace period."""
    now = now or utcnow()
    return attempt.status == OPEN and attempt.deadline is not None and now > attempt.deadline + GRACE


def seconds_left(attempt: Attempt, now: dt.datetime | None = None) -> int | None:
    if attempt.deadline is None:
        return None
    return max(int((attempt.deadline - (now or utcnow())).total_seconds()), 0)


def close_if_overdue(attempt: Attempt, now: dt.datetime | None = None) -> bool:
    """Submit an open attempt left past its deadline with what was saved; return whether it did."""
    if is_overdue(attempt, now):
        submit_attempt(attempt, now=now, auto=True)
        return True
    return False


def _attempt_question(attempt: Attempt, aq_id: int) -> AttemptQuestion:
    aq = db.session.execute(
        select(AttemptQuestion)
        .options(joinedload(AttemptQuestion.version))
        .where(AttemptQuestion.id == aq_id, AttemptQuestion.attempt_id == attempt.id)
    ).scalar_one_or_none()
    if aq is None:
        raise NotFound(_("Question not found."))
    return aq


def _lock_open(attempt: Attempt, now: dt.datetime, *, locked: bool = False) -> None:
    """Refuse unless the attempt is open and in time; ``locked``: the caller already loaded it FOR UPDATE."""
    if not locked:
        db.session.refresh(
            attempt, with_for_update=True
        )  # PostgreSQL: waits for a concurrent submit to finish
    if attempt.status != OPEN:
        raise Conflict(_("This attempt has been submitted; the answer was not saved."))
    if is_overdue(attempt, now):
        raise Conflict(
            _(
                "Time is up: answers can no longer be saved. Your attempt is submitted with the answers "
                "saved before the deadline."
            )
        )


def lock_own_attempt(attempt_id: int, person_id: int | None, enterprise_id: int | None) -> Attempt:
    """The acting person's attempt in the acting enterprise, locked for an answer (one statement), else NotFound.

    For the autosave: what ``my_attempt`` and ``save_answer``'s lock would read in three statements.
    """
    row = db.session.execute(
        select(Attempt, Exam.enterprise_id)
        .join(Exam, Exam.id == Attempt.exam_id)
        .where(Attempt.id == attempt_id)
        .with_for_update(of=Attempt)
        .execution_options(populate_existing=True)
    ).first()
    if row is None or person_id is None or row[0].person_id != person_id or row[1] != enterprise_id:
        raise NotFound(_("Attempt not found."))
    return row[0]


def save_answer(
    attempt: Attempt,
    aq_id: int,
    answer: Any,
    seq: int,
    *,
    now: dt.datetime | None = None,
    locked: bool = False,
) -> dict[str, Any]:
    """Save one answer if ``seq`` is newer than the saved one; refuse after the deadline (plus grace).

    ``locked``: the attempt was loaded by ``lock_own_attempt`` in this transaction (its row is current and held).
    """
    now = now or utcnow()
    _lock_open(attempt, now, locked=locked)
    aq = _attempt_question(attempt, aq_id)
    try:
        value = get_type(aq.version.type).coerce_answer(answer, len(aq.version.options or []))
    except (TypeError, ValueError):
        raise DomainError(_("This answer cannot be saved.")) from None
    seq = int(seq)
    res = db.session.execute(
        update(AttemptAnswer)
        .where(AttemptAnswer.attempt_question_id == aq.id, AttemptAnswer.seq < seq)
        .values(answer=value, seq=seq, saved_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.seq < seq)
        .values(seq=seq)
        .execution_options(synchronize_session=False)
    )
    # The row is locked, so its new seq is known without reading it back.
    set_committed_value(attempt, "seq", max(attempt.seq or 0, seq))
    db.session.expire(aq)
    return {"ok": True, "stale": res.rowcount == 0, "seq": attempt.seq, "saved_at": now.isoformat() + "Z"}


def set_flag(attempt: Attempt, aq_id: int, flagged: bool, *, now: dt.datetime | None = None) -> None:
    _lock_open(attempt, now or utcnow())
    aq = _attempt_question(attempt, aq_id)
    aq.flagged = bool(flagged)
    db.session.flush()


def submit_attempt(
    attempt: Attempt, *, now: dt.datetime | None = None, auto: bool = False, actor: User | None = None
) -> bool:
    """Submit and grade an open attempt once; a second (concurrent or repeated) submit does nothing.

    Return whether this call submitted it.
    """
    now = now or utcnow()
    submitted_at = min(now, attempt.deadline + GRACE) if auto and attempt.deadline else now
    res = db.session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.status == OPEN)
        .values(status=SUBMITTED, submitted_at=submitted_at, auto_submitted=auto)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(attempt)
    if res.rowcount != 1:
        return False
    grading.grade_attempt(attempt, reason="auto_submit" if auto else "submit", actor=actor)
    exam = db.session.get(Exam, attempt.exam_id)
    signals.exam_submitted.send(attempt, person=db.session.get(Person, attempt.person_id), exam=exam)
    return True


def close_overdue(now: dt.datetime | None = None, *, limit: int = 1000) -> int:
    """Submit every open attempt past its deadline (the periodic sweep); return how many."""
    now = now or utcnow()
    ids = list(
        db.session.scalars(
            select(Attempt.id)
            .where(Attempt.status == OPEN, Attempt.deadline.is_not(None), Attempt.deadline < now - GRACE)
            .limit(limit)
        )
    )
    n = 0
    for attempt_id in ids:
        attempt = db.session.get(Attempt, attempt_id)
        if attempt is not None and submit_attempt(attempt, now=now, auto=True):
            n += 1
    return n


def grade_answer(
    attempt_question: AttemptQuestion, score: Decimal, *, actor: User, feedback: str | None = None
) -> Attempt:
    """Grade a short answer by hand; when none is left pending, the attempt is graded (and may pass)."""
    attempt = attempt_question.attempt
    if attempt.status not in FINISHED:
        raise DomainError(_("The attempt is still open."))
    score = Decimal(str(score))
    if score < 0 or score > attempt_question.points:
        raise DomainError(
            _("The score must be between 0 and %(p)s.", p=attempt_question.points), field="score"
        )
    ans = attempt_question.answer
    ans.score, ans.correct = score.quantize(Decimal("0.01")), score >= attempt_question.points
    ans.graded_by_id, ans.graded_at, ans.feedback = actor.id, utcnow(), feedback or None
    db.session.flush()
    return grading.grade_attempt(attempt, reason="manual", actor=actor)


def grading_queue(enterprise_id: int, exam_id: int | None = None) -> list[AttemptQuestion]:
    """Short answers waiting for a person to grade them."""
    q = (
        select(AttemptQuestion)
        .join(Attempt)
        .join(Exam)
        .join(AttemptAnswer)
        .where(
            Exam.enterprise_id == enterprise_id,
            Attempt.status == PENDING_REVIEW,
            AttemptAnswer.graded_at.is_(None),
        )
        .order_by(Attempt.submitted_at, AttemptQuestion.position)
    )
    if exam_id:
        q = q.where(Exam.id == exam_id)
    return [aq for aq in db.session.scalars(q) if not get_type(aq.version.type).auto_graded]


def regrade_exam(exam: Exam, *, actor: User | None = None, question_id: int | None = None) -> int:
    """Regrade finished attempts with the questions' current keys (after a correction); history is kept."""
    q = select(Attempt).where(Attempt.exam_id == exam.id, Attempt.status.in_((GRADED, PENDING_REVIEW)))
    if question_id is not None:
        q = q.where(
            Attempt.id.in_(
                select(AttemptQuestion.attempt_id).where(AttemptQuestion.question_id == question_id)
            )
        )
    n = 0
    for attempt in list(db.session.scalars(q)):
        grading.grade_attempt(
            attempt, reason="regrade", actor=actor, latest_keys=True, question_id=question_id
        )
        n += 1
    return n


# ---------------------------------------------------------------- when a key may be shown
#
# A key (with its explanation and per-answer feedback, and even whether an answer is right: for a true/false
# question that is the key) reaches a learner only
# - for an attempt, by the review policy of its exam (never / after submit / after close);
# - in practice (a practice paper, the mistake book), for a question an exam still open to the learner may not
#   draw (unless its bank is marked for practice), and, in the mistake book, that the policy of an exam the
#   learner sat it in releases;
# - never for a blank answer: checking nothing is not a way to read the key.


def exams_open_to(person_id: int, enterprise_id: int, now: dt.datetime | None = None) -> list[Exam]:
    """Formal exams the person may still sit, now or once they open: published, not closed, attempts left."""
    now = now or utcnow()
    exams = list(
        db.session.scalars(
            select(Exam).where(
                Exam.enterprise_id == enterprise_id,
                Exam.mode == MODE_EXAM,
                Exam.status == PUBLISHED,
                or_(Exam.close_at.is_(None), Exam.close_at > now),
            )
        )
    )
    if not exams:
        return []
    ids = [e.id for e in exams]
    used = dict(
        db.session.execute(
            select(Attempt.exam_id, func.count())
            .where(Attempt.person_id == person_id, Attempt.exam_id.in_(ids))
            .group_by(Attempt.exam_id)
        ).all()
    )
    sitting = set(
        db.session.scalars(
            select(Attempt.exam_id).where(
                Attempt.person_id == person_id, Attempt.exam_id.in_(ids), Attempt.status == OPEN
            )
        )
    )
    extra = dict(
        db.session.execute(
            select(ExamExtension.exam_id, ExamExtension.extra_attempts).where(
                ExamExtension.person_id == person_id, ExamExtension.exam_id.in_(ids)
            )
        ).all()
    )
    return [
        e
        for e in exams
        if e.id in sitting
        or e.attempts_allowed is None
        or used.get(e.id, 0) < e.attempts_allowed + (extra.get(e.id) or 0)
    ]


def _rule_scope(rule: PaperRule, enterprise_id: int) -> Any:
    """Ids of every question a rule may draw, whatever its status today, outside banks marked for practice."""
    q = (
        select(Question.id)
        .join(QuestionBank, QuestionBank.id == Question.bank_id)
        .where(bank_scope(enterprise_id), QuestionBank.practice.is_(False))
    )
    if rule.kind == RULE_FIXED:
        return q.where(Question.id == rule.question_id)
    if rule.bank_id:
        q = q.where(Question.bank_id == rule.bank_id)
    if rule.type:
        q = q.where(Question.type == rule.type)
    if rule.category:
        q = q.where(Question.category == rule.category)
    if rule.difficulty:
        q = q.where(Question.difficulty == rule.difficulty)
    return q


def withheld_questions(
    person_id: int,
    enterprise_id: int,
    now: dt.datetime | None = None,
    *,
    except_exam_id: int | None = None,
    among: list[int] | set[int] | None = None,
) -> set[int]:
    """Ids of the questions an exam open to the person may draw (banks marked for practice excepted);
    ``among``: only those of these ids."""
    if among is not None and not among:
        return set()
    parts = [
        _rule_scope(rule, exam.enterprise_id)
        if among is None
        else _rule_scope(rule, exam.enterprise_id).where(Question.id.in_(list(among)))
        for exam in exams_open_to(person_id, enterprise_id, now)
        if exam.id != except_exam_id
        for rule in exam.rules
        if rule.kind != RULE_FIXED or rule.question_id is not None
    ]
    if not parts:
        return set()
    return set(db.session.scalars(union(*parts)))


def _review_opens_at(exam: Exam) -> dt.datetime | None:
    """When an after-close exam's answers may be shown: at its close, or later if an extension runs past it."""
    if exam.close_at is None:
        return None
    longest = db.session.scalar(
        select(func.max(ExamExtension.extra_minutes)).where(ExamExtension.exam_id == exam.id)
    )
    return exam.close_at + dt.timedelta(minutes=longest or 0)


def answers_visible(attempt: Attempt, now: dt.datetime | None = None) -> bool:
    """Whether the exam's review policy lets the learner see this attempt's keys and explanations now."""
    if attempt.status == OPEN:
        return False
    exam = db.session.get(Exam, attempt.exam_id)
    if exam.mode == MODE_PRACTICE:
        return True
    if exam.show_answers == SHOW_AFTER_SUBMIT:
        return True
    if exam.show_answers == SHOW_AFTER_CLOSE:
        opens = _review_opens_at(exam)
        return opens is not None and (now or utcnow()) >= opens
    return False


def review_held_back(attempt: Attempt, now: dt.datetime | None = None) -> set[int]:
    """Question ids of an attempt whose keys stay hidden although its policy shows keys: another exam open to
    the learner may draw them (for a practice, any exam)."""
    exam = db.session.get(Exam, attempt.exam_id)
    person = db.session.get(Person, attempt.person_id)
    ids = {aq.question_id for aq in attempt.questions}
    return withheld_questions(
        person.id,
        person.enterprise_id,
        now,
        except_exam_id=None if exam.mode == MODE_PRACTICE else exam.id,
        among=ids,
    )


def _plain(version: QuestionVersion, text: str) -> str:
    if getattr(version, "text_format", None) == "html":
        return html.unescape(re.sub(r"<[^>]*>", "", text or "")).strip()
    return text or ""


def key_label(version: QuestionVersion, option_order: list[int] | None = None) -> str:
    """The key as a learner reads it: a choice as the letter shown and the option's text ("B. 检测")."""
    if version.type in ("single_choice", "multiple_choice"):
        options = list(version.options or [])
        keys = [version.key] if version.type == "single_choice" else list(version.key or [])
        order = option_order if option_order else list(range(len(options)))
        shown = sorted(
            (order.index(k) if k in order else k, k)
            for k in keys
            if isinstance(k, int) and not isinstance(k, bool) and 0 <= k < len(options)
        )
        return _("; ").join(
            f"{LETTERS[pos] if pos < len(LETTERS) else pos + 1}. {_plain(version, options[k])}"
            for pos, k in shown
        )
    return get_type(version.type).key_text(
        version.options, version.key, option_order, getattr(version, "weights", None)
    )


def _choice_labels(version: QuestionVersion, indexes: list[Any], option_order: list[int] | None) -> str:
    """Options as the learner saw them: the letter shown and the option's text ("B. 检测")."""
    options = list(version.options or [])
    order = option_order if option_order else list(range(len(options)))
    shown = sorted(
        (order.index(k) if k in order else k, k)
        for k in indexes
        if isinstance(k, int) and not isinstance(k, bool) and 0 <= k < len(options)
    )
    return _("; ").join(
        f"{LETTERS[pos] if pos < len(LETTERS) else pos + 1}. {_plain(version, options[k])}"
        for pos, k in shown
    )


def _judgement(value: Any) -> str:
    """对 / 错 for a true/false answer: "正确/错误" would read as a verdict on the answer itself."""
    word = "True" if value else "False"
    if not has_request_context():
        return word
    from flask_babel import pgettext  # noqa: PLC0415

    return pgettext("true-false answer", word)


def answer_label(version: QuestionVersion, answer: Any, option_order: list[int] | None = None) -> str:
    """The learner's own answer as they read it: letters and texts of choices, 对/错, the words written."""
    if answer is None:
        return "—"
    if version.type == "single_choice":
        return _choice_labels(version, [answer], option_order) or "—"
    if version.type == "multiple_choice":
        return _choice_labels(version, list(answer or []), option_order) or "—"
    if version.type == "true_false":
        return _judgement(answer)
    return get_type(version.type).answer_text(version.options, answer, option_order) or "—"


def _feedback_key_label(version: QuestionVersion, option_order: list[int] | None) -> str:
    if version.type == "true_false" and isinstance(version.key, bool):
        return _judgement(version.key)
    return key_label(version, option_order)


def _held_back(message: str) -> dict[str, Any]:
    return {"correct": None, "held_back": True, "message": message}


def _blank() -> dict[str, Any]:
    return {"correct": None, "blank": True, "message": _("Choose or write an answer first.")}


def practice_check(attempt: Attempt, aq_id: int, now: dt.datetime | None = None) -> dict[str, Any]:
    """Practice mode: the saved answer's result, key and explanation (immediate feedback), within the policy."""
    exam = db.session.get(Exam, attempt.exam_id)
    if exam.mode != MODE_PRACTICE:
        raise DomainError(_("Answers are shown after the exam."))
    aq = _attempt_question(attempt, aq_id)
    answer = aq.answer.answer if aq.answer else None
    if get_type(aq.version.type).is_blank(answer):
        return _blank()
    person = db.session.get(Person, attempt.person_id)
    if withheld_questions(person.id, person.enterprise_id, now, among=[aq.question_id]):
        return _held_back(_("This question is used by an exam open to you: its answer is shown after it."))
    return feedback_for(aq, answer)


def feedback_for(
    aq: AttemptQuestion | None, answer: Any, version: QuestionVersion | None = None
) -> dict[str, Any]:
    """Whether ``answer`` is right, the key, the explanation and a sentence saying so. Callers check the policy."""
    version = version or aq.version
    qtype = get_type(version.type)
    partial = bool(version.question.bank.partial_credit)
    fraction = qtype.grade_version(version, answer, partial) if not qtype.is_blank(answer) else 0.0
    order = aq.option_order if aq is not None else None
    label = _feedback_key_label(version, order)
    given = answer_label(version, answer, order)
    if fraction is None:
        message = (
            _("A trainer grades this kind of question. Reference answer: “%(key)s”.", key=label)
            if label
            else _("A trainer grades this kind of question.")
        )
    elif fraction >= 1.0:
        message = _("Correct.")
    elif fraction > 0:
        message = _(
            "Partly correct. Your answer: %(answer)s. The full answer: %(key)s.", answer=given, key=label
        )
    else:
        message = _("Incorrect. Your answer: %(answer)s. Correct answer: %(key)s.", answer=given, key=label)
    return {
        "correct": None if fraction is None else fraction >= 1.0,
        "key": qtype.key_text(version.options, version.key, order, version.weights),
        "key_label": label,
        "explanation": _plain(version, version.explanation or ""),  # shown as text, never as HTML
        "message": message,
    }


def score_visible(attempt: Attempt) -> bool:
    return attempt.status == GRADED


def my_attempt(attempt_id: int, person_id: int | None) -> Attempt:
    """Load the acting person's own attempt, else NotFound (someone else's attempt is never said to exist)."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or person_id is None or attempt.person_id != person_id:
        raise NotFound(_("Attempt not found."))
    return attempt


def learner_exams(enterprise_id: int, person_id: int) -> list[dict[str, Any]]:
    """Published exams and practices of the enterprise with the person's standing in each."""
    exams = list(
        db.session.scalars(
            select(Exam)
            .where(Exam.enterprise_id == enterprise_id, Exam.status == PUBLISHED)
            .order_by(Exam.mode, Exam.close_at.is_(None), Exam.close_at, Exam.title)
        )
    )
    return [{"exam": e, **person_result(e, person_id), "problem": availability(e, person_id)} for e in exams]


# ---------------------------------------------------------------- mistake book


def mistakes(person_id: int, *, include_mastered: bool = False) -> list[MistakeEntry]:
    q = select(MistakeEntry).where(MistakeEntry.person_id == person_id)
    if not include_mastered:
        q = q.where(MistakeEntry.mastered_at.is_(None))
    return list(db.session.scalars(q.order_by(MistakeEntry.last_wrong_at.desc())))


def released_questions(
    person_id: int, question_ids: list[int] | set[int], now: dt.datetime | None = None
) -> set[int]:
    """Of ``question_ids``, those whose key the person may practise with: a finished attempt of theirs that
    contains the question has a policy that shows keys now, and no exam open to them may draw it."""
    question_ids = list(question_ids)
    if not question_ids:
        return set()
    rows = db.session.execute(
        select(AttemptQuestion.question_id, Attempt)
        .join(Attempt, Attempt.id == AttemptQuestion.attempt_id)
        .where(
            Attempt.person_id == person_id,
            Attempt.status.in_(FINISHED),
            AttemptQuestion.question_id.in_(question_ids),
        )
    ).all()
    visible: dict[int, bool] = {}
    shown = set()
    for qid, attempt in rows:
        if attempt.id not in visible:
            visible[attempt.id] = answers_visible(attempt, now)
        if visible[attempt.id]:
            shown.add(qid)
    if not shown:
        return shown
    person = db.session.get(Person, person_id)
    return shown - withheld_questions(person_id, person.enterprise_id, now, among=shown)


def practicable_mistakes(person_id: int, now: dt.datetime | None = None) -> tuple[list[MistakeEntry], int]:
    """The mistake book as the person may practise it, and how many entries are held back for now.

    An entry whose key is not released is not listed at all: that a true/false answer was wrong is its key.
    """
    entries = mistakes(person_id)
    released = released_questions(person_id, {e.question_id for e in entries}, now)
    shown = [e for e in entries if e.question_id in released]
    return shown, len(entries) - len(shown)


def mistake_check(
    person_id: int, question_id: int, answer: Any, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Check a practice answer to a question of the person's mistake book; a right answer masters it.

    Within the policy: a blank answer, or a question whose key is not released, learns nothing.
    """
    entry = db.session.scalar(
        select(MistakeEntry).where(
            MistakeEntry.person_id == person_id, MistakeEntry.question_id == question_id
        )
    )
    if entry is None:
        raise NotFound(_("Question not found."))
    version = current_version(entry.question)
    qtype = get_type(version.type)
    try:
        value = qtype.coerce_answer(answer, len(version.options or []))
    except (TypeError, ValueError):
        raise DomainError(_("This answer cannot be saved.")) from None
    if qtype.is_blank(value):
        return _blank()
    if question_id not in released_questions(person_id, [question_id], now):
        return _held_back(_("The answer to this question is not released yet."))
    result = feedback_for(None, value, version)
    if result["correct"]:
        entry.mastered_at = utcnow()
    db.session.flush()
    return result
