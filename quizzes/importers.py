"""Read question banks: spreadsheets in the common Chinese layout (xlsx, xls, csv), Moodle GIFT and Aiken.

Pure parsing: each reader returns ``ParsedQuestion`` items and row-numbered problems; ``services.import_questions``
decides what to create, update or leave alone, all or nothing.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from lms.core.errors import ImportRefused
from lms.core.i18n import msg
from lms.core.sheets.values import normalize_text, parse_decimal
from quizzes.layouts import TYPE_WORDS, parse_type
from quizzes.models import DIFFICULTIES, EASY, HARD, MEDIUM
from quizzes.types import LETTERS, get_type, normalize_answer_text

OPTION_FIELDS = {
    f"opt_{c.lower()}": [f"选项{c}", c, f"{c}选项", f"选项 {c}", f"Option {c}", f"答案{c}"] for c in LETTERS
}
FIELDS: dict[str, list[str]] = {
    "type": ["题型", "试题类型", "题目类型", "类型", "Type", "Question type"],
    "stem": [
        "题干",
        "题目",
        "试题内容",
        "题目内容",
        "试题",
        "问题",
        "题目详情",
        "题目标题",
        "Stem",
        "Question",
    ],
    **OPTION_FIELDS,
    "options": ["选项", "选项内容", "答案选项", "所有选项", "Options"],
    "is_correct": ["是否正确项", "是否正确", "正确项", "是否正确答案", "Is correct"],
    "answer": ["答案", "正确答案", "正确选项", "标准答案", "参考答案", "Answer", "Key"],
    "explanation": ["解析", "答案解析", "整体解析", "试题解析", "说明", "Explanation"],
    "difficulty": ["难度", "难易程度", "难易度", "Difficulty"],
    "category": [
        "分类",
        "知识点",
        "类别",
        "所属分类",
        "知识类",
        "知识类型名称",
        "所属章节",
        "章节",
        "Category",
        "Topic",
    ],
    "points": ["分值", "分数", "Points", "Score"],
    "separator": ["分隔符", "选项分隔符", "Separator"],
}
REQUIRED = ("type", "stem", "answer")

TRUE_WORDS = {"正确", "对", "√", "✓", "✔", "t", "true", "是", "y", "yes", "对的", "正确的"}
FALSE_WORDS = {"错误", "错", "×", "✗", "✘", "x", "f", "false", "否", "n", "no", "错的", "不正确"}
DIFFICULTY_WORDS = {
    EASY: {"易", "简单", "容易", "低", "easy", "1"},
    MEDIUM: {"中", "中等", "一般", "适中", "普通", "medium", "2"},
    HARD: {"难", "困难", "较难", "高", "hard", "difficult", "3"},
}
DEFAULT_POINTS = {
    "single_choice": Decimal("2"),
    "multiple_choice": Decimal("4"),
    "true_false": Decimal("1"),
    "fill_blank": Decimal("2"),
    "short_answer": Decimal("10"),
    "matching": Decimal("4"),
    "numerical": Decimal("2"),
}
_WEIGHTED_LETTER = re.compile(r"([A-H])\s*[:：=]\s*(-?\d+(?:\.\d+)?)\s*%")
_ALT_WEIGHT = re.compile(r"^(.*?)\s*[(（]\s*(-?\d+(?:\.\d+)?)\s*%\s*[)）]$")
_NUMERIC_ITEM = re.compile(
    r"^\s*(?P<a>[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)\s*"
    r"(?:(?P<op>\.\.|[:：±])\s*(?P<b>[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?))?\s*$",
    re.I,
)
_ANSWER_SPLIT = re.compile(r"[\s,，、;；/|.．]+")
_BLANK_SPLIT = re.compile(r"[;；]")
_ALT_SPLIT = re.compile(r"[|｜]")


def feedback_items(qtype: str, key: Any, feedback: Any) -> list[dict[str, str]]:
    """Each per-answer feedback beside the answer it is shown for (option letter, true/false, accepted answer,
    number), as the import preview lists them."""
    if not isinstance(feedback, dict):
        return []
    items: list[tuple[str, Any]] = []
    if qtype in ("single_choice", "multiple_choice"):
        items = [
            (LETTERS[i] if i < len(LETTERS) else str(i + 1), text)
            for i, text in enumerate(feedback.get("options") or [])
        ]
    elif qtype == "true_false":
        items = [
            (get_type(qtype).key_text([], value), feedback.get(word))
            for word, value in (("true", True), ("false", False))
        ]
    elif qtype == "fill_blank":
        for i, texts in enumerate(feedback.get("answers") or []):
            accepted = key[i] if isinstance(key, list) and i < len(key) and isinstance(key[i], list) else []
            items += [(accepted[j] if j < len(accepted) else "?", text) for j, text in enumerate(texts or [])]
    elif qtype == "numerical":
        for j, text in enumerate(feedback.get("answers") or []):
            entry = key[j] if isinstance(key, list) and j < len(key) else None
            label = get_type(qtype).key_text([], [entry]) if isinstance(entry, dict) else ""
            items.append((label or "*", text))
    return [
        {"answer": str(label), "feedback": str(text)} for label, text in items if text and str(text).strip()
    ]


@dataclass
class ParsedQuestion:
    row: int
    type: str
    stem: str
    options: list[str]
    key: Any
    explanation: str | None = None
    difficulty: str = MEDIUM
    category: str | None = None
    points: Decimal = Decimal("1")
    name: str | None = None
    weights: Any = None
    feedback: Any = None
    text_format: str = "plain"

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.stem, self.options)

    @property
    def answer_fingerprint(self) -> str:
        return answer_fingerprint(self.key, self.weights)

    def as_json(self) -> dict[str, Any]:
        """What the dry run lists for this question: enough to check it against the file by eye."""
        return {
            "row": self.row,
            "type": self.type,
            "name": self.name,
            "stem": self.stem,
            "options": self.options,
            "key": self.key,
            "key_text": get_type(self.type).key_text(self.options, self.key, None, self.weights),
            "weights": self.weights,
            "category": self.category,
            "feedback": self.feedback,
            "feedback_items": feedback_items(self.type, self.key, self.feedback),
            "explanation": self.explanation,
            "text_format": self.text_format,
            "difficulty": self.difficulty,
            "points": str(self.points),
        }


@dataclass
class ParseResult:
    filename: str
    format: str
    questions: list[ParsedQuestion] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)

    def error(self, row: int | None, fieldname: str | None, message: str) -> None:
        self.errors.append({"row": row, "field": fieldname, "message": message})


def fingerprint(stem: str, options: list[str]) -> str:
    """Return the identity of a question for duplicate detection: normalised stem and options."""
    norm = [
        re.sub(r"[\s_]+", "", unicodedata.normalize("NFKC", s or "")).rstrip("：:。.？?").casefold()
        for s in [stem, *options]
    ]
    return hashlib.sha256("\x1f".join(norm).encode()).hexdigest()


def answer_fingerprint(key: Any, weights: Any = None) -> str:
    """The identity of a question's answers: two questions with one stem but other answers are not duplicates."""
    import json

    def norm(value: Any) -> Any:
        if isinstance(value, str):
            return normalize_answer_text(value)
        if isinstance(value, list):
            return [norm(v) for v in value]
        if isinstance(value, dict):
            return {k: norm(v) for k, v in sorted(value.items())}
        if isinstance(value, float) and value == int(value):
            return int(value)
        return value

    data = json.dumps([norm(key), norm(weights)], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(data.encode()).hexdigest()


def parse_difficulty(text: str) -> str | None:
    value = normalize_text(text).lower()
    if not value:
        return MEDIUM
    for level, words in DIFFICULTY_WORDS.items():
        if value in words:
            return level
    return None


def parse_true_false(text: str, options: list[str]) -> bool | None:
    """Return the truth of an answer written as 正确/错误, 对/错, √/×, T/F, or A/B (first/second option)."""
    value = normalize_text(text).lower().rstrip("。.")
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    if value in ("a", "b"):
        opt = options[0 if value == "a" else 1] if len(options) >= 2 else ""
        if opt:
            truth = parse_true_false(opt, [])
            if truth is not None:
                return truth
        return value == "a"
    return None


def parse_letters(text: str) -> list[int] | None:
    """Return option indexes from answers written ``A``, ``ABD``, ``A,B,D``, ``A、B、D`` (full width too)."""
    value = normalize_text(text).upper()
    if not value:
        return None
    parts = [p for p in _ANSWER_SPLIT.split(value) if p]
    letters: list[str] = []
    for part in parts:
        if not all(ch in LETTERS for ch in part):
            return None
        letters.extend(part)
    return sorted({LETTERS.index(ch) for ch in letters}) if letters else None


def build_question(
    row: int,
    type_name: str,
    stem: str,
    options: list[str],
    answer: str,
    *,
    explanation: str = "",
    difficulty: str = "",
    category: str = "",
    points: str = "",
    result: ParseResult,
) -> ParsedQuestion | None:
    """Turn the text cells of one question into a ParsedQuestion, or add problems to ``result`` and return None."""
    problems_before = len(result.errors)
    weights: Any = None
    qtype = parse_type(type_name) if type_name else None
    if qtype is None:
        result.error(
            row,
            "type",
            msg("unknown question type “%(name)s”", name=type_name)
            if type_name
            else msg("question type is missing"),
        )
    if not stem:
        result.error(row, "stem", msg("the question text is missing"))
    # Options: keep their letters; a gap (A, C without B) is a problem for choice questions.
    last = max((i for i, o in enumerate(options) if o), default=-1)
    opts = options[: last + 1]
    key: Any = None
    if qtype in ("single_choice", "multiple_choice"):
        if any(not o for o in opts):
            result.error(row, "options", msg("an option between the first and the last is empty"))
        if len(opts) < 2:
            result.error(row, "options", msg("a choice question needs at least two options"))
        weighted = _WEIGHTED_LETTER.findall(unicodedata.normalize("NFKC", answer or "").upper())
        if weighted:
            weights = [0.0] * len(opts)
            for letter, value in weighted:
                if LETTERS.index(letter) < len(opts):
                    weights[LETTERS.index(letter)] = round(float(value) / 100, 7)
            right = [i for i, w in enumerate(weights) if w > 0]
            if qtype == "single_choice":
                full = [i for i, w in enumerate(weights) if abs(w - 1) < 1e-6]
                answer = LETTERS[full[0]] if full else ""
                if not full:
                    result.error(
                        row, "answer", msg("a single-choice question needs one option worth 100 percent")
                    )
            else:
                answer = "".join(LETTERS[i] for i in right)
        letters = parse_letters(answer)
        if not answer and weighted:
            pass
        elif not answer:
            result.error(row, "answer", msg("the answer is missing"))
        elif letters is None:
            result.error(
                row,
                "answer",
                msg("answer “%(answer)s” is not option letters such as A or ABD", answer=answer),
            )
        elif any(i >= len(opts) or not opts[i] for i in letters):
            result.error(
                row, "answer", msg("answer “%(answer)s” names an option that is empty", answer=answer)
            )
        elif qtype == "single_choice" and len(letters) != 1:
            result.error(
                row, "answer", msg("a single-choice question has one answer, not “%(answer)s”", answer=answer)
            )
        else:
            key = letters[0] if qtype == "single_choice" else letters
    elif qtype == "true_false":
        truth = parse_true_false(answer, opts)
        if not answer:
            result.error(row, "answer", msg("the answer is missing"))
        elif truth is None:
            result.error(
                row,
                "answer",
                msg("answer “%(answer)s” is not 正确/错误, 对/错, √/×, T/F or A/B", answer=answer),
            )
        key = truth
        opts = []
    elif qtype == "fill_blank":
        raw_blanks = [
            [a.strip() for a in _ALT_SPLIT.split(b) if a.strip()] for b in _BLANK_SPLIT.split(answer or "")
        ]
        blanks, blank_weights = [], []
        for b in raw_blanks:
            if not b:
                continue
            texts, ws = [], []
            for alt in b:
                m = _ALT_WEIGHT.match(alt)
                texts.append(m.group(1).strip() if m else alt)
                ws.append(round(float(m.group(2)) / 100, 7) if m else 1.0)
            blanks.append(texts)
            blank_weights.append(ws)
        if not blanks:
            result.error(row, "answer", msg("the answer is missing"))
        key = blanks
        if any(abs(w - 1) > 1e-6 for ws in blank_weights for w in ws):
            weights = blank_weights
        opts = []
    elif qtype == "matching":
        items = [a.strip() for a in _BLANK_SPLIT.split(answer or "") if a.strip()]
        rights = [a for a in items if not a.startswith("+")]
        extra = [a[1:].strip() for a in items if a.startswith("+") and a[1:].strip()]
        if any(not o for o in opts):
            result.error(row, "options", msg("an option between the first and the last is empty"))
        elif len(rights) != len(opts):
            result.error(
                row,
                "answer",
                msg(
                    "a matching question needs one answer per item, separated by ；(%(n)s items, %(m)s answers)",
                    n=len(opts),
                    m=len(rights),
                ),
            )
        key = {"answers": rights, "extra": extra}
    elif qtype == "numerical":
        key = []
        for item in [a.strip() for a in _BLANK_SPLIT.split(answer or "") if a.strip()]:
            m_w = _ALT_WEIGHT.match(item)
            body, fraction = (m_w.group(1), float(m_w.group(2)) / 100) if m_w else (item, 1.0)
            if body.strip() == "*":  # Moodle's "any other answer" (its own weight and feedback)
                key.append({"value": None, "tolerance": 0.0, "fraction": round(fraction, 7) if m_w else 0.0})
                continue
            m = _NUMERIC_ITEM.match(unicodedata.normalize("NFKC", body))
            if not m:
                result.error(
                    row,
                    "answer",
                    msg(
                        "numerical answer “%(answer)s” is not a number, number:margin or low..high",
                        answer=item,
                    ),
                )
                continue
            a = float(m.group("a"))
            b_ = float(m.group("b")) if m.group("b") else 0.0
            if m.group("op") == "..":
                key.append(
                    {"value": (a + b_) / 2, "tolerance": abs(b_ - a) / 2, "fraction": round(fraction, 7)}
                )
            else:
                key.append({"value": a, "tolerance": abs(b_), "fraction": round(fraction, 7)})
        if not answer:
            result.error(row, "answer", msg("the answer is missing"))
        opts = []
    elif qtype == "short_answer":
        key = answer or ""
        opts = []
    level = parse_difficulty(difficulty)
    if level is None:
        result.error(row, "difficulty", msg("difficulty “%(value)s” is not 易, 中 or 难", value=difficulty))
    pts: Decimal | None = None
    if points:
        try:
            pts = parse_decimal(points)
        except Exception:  # noqa: BLE001 - any unreadable number is reported on the row
            pts = None
        if pts is None or pts <= 0 or pts > 1000:
            result.error(row, "points", msg("points “%(value)s” must be a number above 0", value=points))
            pts = None
    if len(result.errors) > problems_before or qtype is None:
        return None
    if (
        weights is not None
        and qtype == "single_choice"
        and sorted(weights) == [0.0] * (len(weights) - 1) + [1.0]
    ):
        weights = None  # plain all-or-nothing
    problem = get_type(qtype).validate(opts, key, weights)
    if problem:
        result.error(row, "answer", problem)
        return None
    return ParsedQuestion(
        row=row,
        type=qtype,
        stem=stem,
        options=opts,
        key=key,
        explanation=explanation or None,
        difficulty=level or MEDIUM,
        category=category or None,
        points=pts if pts is not None else DEFAULT_POINTS[qtype],
        weights=weights,
    )


def write_answer(qtype: str, key: Any, weights: Any = None) -> str:
    """The answer cell as ``build_question`` reads it back: letters (``A:100%,B:50%`` with weights), 正确/错误,
    blanks by ；and alternatives by | (``Cat(50%)``), matching answers by ；(``+extra``), numbers ``1822:5``."""
    from quizzes.types import pct

    if qtype in ("single_choice", "multiple_choice"):
        if weights:
            return ",".join(f"{LETTERS[i]}:{pct(w)}%" for i, w in enumerate(weights) if w)
        keys = [key] if qtype == "single_choice" else key
        return "".join(LETTERS[k] for k in keys or [])
    if qtype == "true_false":
        return "正确" if key else "错误"
    if qtype == "fill_blank":
        blanks = []
        for i, accepted in enumerate(key or []):
            ws = weights[i] if weights and i < len(weights) else [1.0] * len(accepted)
            blanks.append(
                "|".join(
                    a if abs(w - 1) < 1e-6 else f"{a}({pct(w)}%)" for a, w in zip(accepted, ws, strict=False)
                )
            )
        return "；".join(blanks)
    if qtype == "matching":
        return "；".join([*(key or {}).get("answers", []), *("+" + e for e in (key or {}).get("extra", []))])
    if qtype == "numerical":
        parts = []
        for a in key or []:
            if a.get("value") is None:
                parts.append("*" if not a.get("fraction") else f"*({pct(a['fraction'])}%)")
                continue
            text = f"{a['value']:g}" + (f":{a['tolerance']:g}" if a.get("tolerance") else "")
            parts.append(text if abs(a.get("fraction", 1) - 1) < 1e-6 else f"{text}({pct(a['fraction'])}%)")
        return "；".join(parts)
    return str(key or "")


# ---------------------------------------------------------------- spreadsheets


def parse_sheet(source: Any, filename: str) -> ParseResult:
    """Read the Chinese layouts from xlsx/xls/csv (see quizzes.layouts): every sheet with a question header."""
    from quizzes import layouts

    tables = layouts.read_sheets(source, filename, FIELDS)
    result = ParseResult(filename=filename, format="sheet")
    words = "、".join(w for words in TYPE_WORDS.values() for w in words[:1])
    for table in tables:
        index = table.column_index
        where = f"{table.sheet}: " if len(tables) > 1 and table.sheet else ""

        def raw(r: Any, name: str, index: dict[str, int] = index) -> str:
            # Stems and options keep their own punctuation (normalize_text would turn ，into ,).
            i = index.get(name)
            return (r.raw[i] or "").strip() if i is not None and i < len(r.raw) else ""

        sheet_type = parse_type(table.sheet or "") if table.sheet else None
        legend = layouts.legend_of(table.columns.get("type", ""))
        per_option = "is_correct" in index
        if "type" not in index and sheet_type is None:
            near = next(
                (
                    h
                    for h in table.extra_headers
                    if any(word in h for word in ("题型", "类型")) and layouts.legend_of(h)
                ),
                None,
            )
            if (
                near
            ):  # "题型 0单选，1判断，2多选": the legend not set apart, so the header is not read as 题型
                result.error(
                    table.header_row,
                    "type",
                    msg(
                        "%(where)sthe header “%(header)s” looks like the type column with its legend: put the legend "
                        "in brackets, 题型（0单选，1判断，2多选）, or on the cell's second line",
                        where=where,
                        header=near,
                    ),
                )
                continue
            result.error(
                table.header_row,
                "type",
                msg(
                    "%(where)sno type column (题型) and the sheet's name “%(sheet)s” is not a type such as 单选题",
                    where=where,
                    sheet=table.sheet or "",
                ),
            )
            continue
        if "answer" not in index and not per_option:
            result.error(
                table.header_row,
                "answer",
                msg(
                    "%(where)sno answer column (答案, 正确答案, 正确选项 or 标准答案) and no 是否正确项 column for one "
                    "row per option",
                    where=where,
                ),
            )
            continue

        def type_of(r: Any, legend: dict[str, str] = legend, sheet_type: str | None = sheet_type) -> str:
            value = r.values.get("type", "")
            if not value:
                return sheet_type or ""
            if value.isdigit():
                if value in legend:
                    return legend[value]
                result.error(
                    r.row,
                    "type",
                    msg(
                        "type “%(value)s” is a number, but the header gives no legend such as 题型（0单选，1判断，"
                        "2多选）; write the type as a word: %(words)s",
                        value=value,
                        words=words,
                    ),
                )
                return "\x00"
            return value

        pending: dict[str, Any] | None = None

        def finish(p: dict[str, Any] | None, per_option: bool = per_option) -> None:
            if p is None:
                return
            options, flags = p["options"], p["flags"]
            answer = p["answer"]
            qtype = parse_type(p["type"]) if p["type"] else None
            if per_option and flags:
                if qtype == "true_false":
                    right = [o for o, f in zip(options, flags, strict=True) if f]
                    answer = right[0] if len(right) == 1 else answer
                    options = []
                elif qtype in ("single_choice", "multiple_choice"):
                    answer = "".join(LETTERS[i] for i, f in enumerate(flags) if f and i < len(LETTERS))
            q = build_question(
                p["row"],
                p["type"],
                p["stem"],
                options,
                answer,
                explanation=p["explanation"],
                difficulty=p["difficulty"],
                category=p["category"],
                points=p["points"],
                result=result,
            )
            if q is not None:
                result.questions.append(q)

        for r in table.rows:
            v = r.values
            columns = [raw(r, f"opt_{c.lower()}") for c in LETTERS]
            stem = raw(r, "stem")
            cell = raw(r, "options")
            if per_option and (raw(r, "is_correct") or (not stem and cell)):
                # An option row of the question above (是否正确项 filled): its text and whether it is right.
                text = cell or stem
                if pending is None:
                    if text:
                        result.error(r.row, "options", msg("an option row before any question row"))
                    continue
                if text:
                    truth = layouts.flag(raw(r, "is_correct"))
                    if truth is None:
                        result.error(
                            r.row,
                            "is_correct",
                            msg("是否正确项 “%(value)s” is not 1/0 (是/否)", value=raw(r, "is_correct")),
                        )
                    pending["options"].append(text)
                    pending["flags"].append(bool(truth))
                continue
            if not any([v.get("type"), stem, v.get("answer"), cell, *columns]):
                continue
            finish(pending)
            pending = None
            qtype_text = type_of(r)
            if qtype_text == "\x00":
                continue
            if cell and not any(columns):
                separator = raw(r, "separator")
                columns = (
                    [p.strip() for p in cell.split(separator) if p.strip()]
                    if separator
                    else layouts.split_option_cell(cell)
                )
            pending = {
                "row": r.row,
                "type": qtype_text,
                "stem": stem,
                "options": [] if per_option else columns,
                "flags": [],
                "answer": v.get("answer", ""),
                "explanation": raw(r, "explanation"),
                "difficulty": v.get("difficulty", ""),
                "category": v.get("category", ""),
                "points": v.get("points", ""),
            }
        finish(pending)
    if not result.questions and not result.errors:
        raise ImportRefused(msg("%(file)s: the file holds no questions", file=filename))
    return result


# ---------------------------------------------------------------- Aiken


_AIKEN_OPTION = re.compile(r"^([A-HＡ-Ｈ])\s*[.．、)）:：]\s*(.*)$")
_AIKEN_ANSWER = re.compile(r"^ANSWER\s*[:：]\s*(.+)$", re.I)


def parse_aiken(text: str, filename: str, category: str | None = None) -> ParseResult:
    """Read Aiken: a stem line, lettered options, ``ANSWER: B`` (several letters make a multiple choice)."""
    result = ParseResult(filename=filename, format="aiken")
    stem: list[str] = []
    options: list[str] = []
    start = 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if not stem and not options:
            start = lineno
        m_ans = _AIKEN_ANSWER.match(unicodedata.normalize("NFKC", line))
        m_opt = _AIKEN_OPTION.match(line)
        if m_ans:
            letters = parse_letters(m_ans.group(1))
            qtype = "multiple_choice" if letters and len(letters) > 1 else "single_choice"
            q = build_question(
                start, qtype, " ".join(stem), options, m_ans.group(1), category=category or "", result=result
            )
            if q is not None:
                result.questions.append(q)
            stem, options = [], []
        elif m_opt and stem:
            idx = LETTERS.index(unicodedata.normalize("NFKC", m_opt.group(1)))
            while len(options) < idx:
                options.append("")
            options.append(m_opt.group(2).strip())
        elif options:
            result.error(
                start, "options", msg("line %(line)s: text after the options but no ANSWER line", line=lineno)
            )
            stem, options = [line], []
            start = lineno
        else:
            stem.append(line)
    if stem or options:
        result.error(start, "answer", msg("the last question has no ANSWER line"))
    return result


# ---------------------------------------------------------------- GIFT


def parse_gift(text: str, filename: str) -> ParseResult:
    """Read Moodle GIFT exactly as Moodle does (see quizzes.gift); refuse by name what cannot be graded the same."""
    from quizzes import gift

    result = ParseResult(filename=filename, format="gift")
    category: str | None = None
    for block in gift.iter_blocks(text):
        line = gift.first_line(block)
        try:
            read = gift.read_question(block, category)
        except gift.GiftRefusal as exc:
            message = exc.args[0]
            result.error(line, "gift", msg("line %(line)s: %(problem)s", line=line, problem=message))
            continue
        if read is None:
            continue
        if isinstance(read, str):
            category = read[len("$CATEGORY:") :] or None
            continue
        problem = get_type(read["type"]).validate(read["options"], read["key"], read["weights"])
        if problem:
            result.error(line, "answer", msg("line %(line)s: %(problem)s", line=line, problem=problem))
            continue
        result.questions.append(
            ParsedQuestion(
                row=line,
                type=read["type"],
                stem=read["stem"],
                options=read["options"],
                key=read["key"],
                explanation=read["explanation"],
                category=read["category"],
                points=Decimal("1"),
                name=read["name"],
                weights=read["weights"],
                feedback=read["feedback"],
                text_format=read["text_format"],
            )
        )
    return result


# ---------------------------------------------------------------- dispatch


def _decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise ImportRefused(msg("the text file is neither UTF-8 nor GBK"))


_GIFT_BLOCK = re.compile(r"\{\s*(?:[=~#}]|\[(?:html|moodle|plain|markdown)\]|(?:TRUE|FALSE|T|F)\s*[#}])")


def detect_text_format(text: str, filename: str) -> str | None:
    """Return ``xml``, ``gift`` or ``aiken`` when ``text`` looks like one, else None (a csv is read as a sheet)."""
    name = filename.lower()
    head = text.lstrip("\ufeff \r\n\t")[:2000]
    if name.endswith(".xml") or head.startswith("<?xml") or head.startswith("<quiz"):
        return "xml"
    if name.endswith((".csv", ".tsv")):
        return None  # a cell may well hold "{=…}"; a csv is a sheet
    if (
        ".gift" in name
        or re.search(r"^\s*::.+?::", text, re.M)
        or re.search(r"^\$CATEGORY:", text, re.M)
        or _GIFT_BLOCK.search(text)
    ):
        return "gift"
    if ".aiken" in name or re.search(r"^ANSWER\s*[:：]\s*[A-H]", text, re.M | re.I):
        return "aiken"
    return None


def parse_moodle_xml(text: str, filename: str) -> ParseResult:
    """Read Moodle XML (see quizzes.moodle_xml): the same questions Moodle exported, or refusals by name."""
    from quizzes import moodle_xml

    result = ParseResult(filename=filename, format="moodle_xml")
    try:
        questions, errors, notes = moodle_xml.read_xml(text)
    except moodle_xml.XmlRefusal as exc:
        raise ImportRefused(msg("%(file)s: %(problem)s", file=filename, problem=exc.args[0])) from None
    result.errors.extend(errors)
    result.notes.extend(notes)
    for q in questions:
        result.questions.append(
            ParsedQuestion(
                row=q["row"],
                type=q["type"],
                stem=q["stem"],
                options=q["options"],
                key=q["key"],
                explanation=q["explanation"],
                category=q["category"],
                points=Decimal(str(q["points"])).quantize(Decimal("0.01"))
                if q["points"] > 0
                else Decimal("1"),
                name=q["name"],
                weights=q["weights"],
                feedback=q["feedback"],
                text_format=q["text_format"],
            )
        )
    return result


def parse_file(source: str | os.PathLike[str] | bytes | IO[bytes], filename: str) -> ParseResult:
    """Parse any supported bank file: xlsx/xls/csv by content, GIFT and Aiken text by their shape."""
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as fh:
            data = fh.read()
    elif isinstance(source, bytes):
        data = source
    else:
        data = source.read()
    if not data:
        raise ImportRefused(msg("%(file)s is empty", file=filename))
    if not data.startswith((b"PK", b"\xd0\xcf\x11\xe0")):
        try:
            text = _decode(data[: 4 * 2**20])
        except ImportRefused:
            text = ""
        kind = detect_text_format(text, filename) if text else None
        if kind == "xml":
            return parse_moodle_xml(_decode(data), filename)
        if kind == "gift":
            return parse_gift(_decode(data), filename)
        if kind == "aiken":
            return parse_aiken(_decode(data), filename)
    return parse_sheet(io.BytesIO(data), filename)


__all__ = [
    "DIFFICULTIES",
    "FIELDS",
    "ParseResult",
    "ParsedQuestion",
    "fingerprint",
    "parse_file",
    "parse_gift",
    "parse_aiken",
    "parse_sheet",
]
