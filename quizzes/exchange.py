"""Questions in and out of a bank: importing a file (all or nothing, duplicates reported), exporting
the import layout, Moodle GIFT and Moodle XML, and the empty template.

Parsing each format lives in ``importers`` (sheets, Aiken, text), ``gift`` and ``moodle_xml``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy import select

from lms.core.db import db
from quizzes.banks import comparable, create_question, update_question
from quizzes.importers import ParsedQuestion, answer_fingerprint, parse_file
from quizzes.models import (
    ARCHIVED,
    PUBLISHED,
    Question,
    QuestionBank,
    QuestionVersion,
)
from quizzes.types import LETTERS

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
        and comparable(q.points) == comparable(p.points)
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
