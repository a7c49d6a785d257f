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
from lms.core.sheets import normalize_text, parse_decimal, read_table
from quizzes.models import DIFFICULTIES, EASY, HARD, MEDIUM
from quizzes.types import LETTERS, get_type

OPTION_FIELDS = {
    f"opt_{c.lower()}": [f"选项{c}", c, f"{c}选项", f"选项 {c}", f"Option {c}", f"答案{c}"] for c in LETTERS
}
FIELDS: dict[str, list[str]] = {
    "type": ["题型", "试题类型", "题目类型", "类型", "Type", "Question type"],
    "stem": ["题干", "题目", "试题内容", "题目内容", "试题", "问题", "Stem", "Question"],
    **OPTION_FIELDS,
    "answer": ["答案", "正确答案", "标准答案", "参考答案", "Answer", "Key"],
    "explanation": ["解析", "答案解析", "试题解析", "说明", "Explanation"],
    "difficulty": ["难度", "难易程度", "难易度", "Difficulty"],
    "category": ["分类", "知识点", "类别", "所属分类", "Category", "Topic"],
    "points": ["分值", "分数", "Points", "Score"],
}
REQUIRED = ("type", "stem", "answer")

TYPE_WORDS = {
    "single_choice": [
        "单选",
        "单选题",
        "单项选择",
        "单项选择题",
        "单择题",
        "选择题",
        "single",
        "single choice",
        "single_choice",
        "sc",
    ],
    "multiple_choice": [
        "多选",
        "多选题",
        "多项选择",
        "多项选择题",
        "不定项选择",
        "不定项选择题",
        "multiple",
        "multiple choice",
        "multiple_choice",
        "mc",
    ],
    "true_false": [
        "判断",
        "判断题",
        "是非题",
        "对错题",
        "true/false",
        "truefalse",
        "true_false",
        "tf",
        "判断正误",
    ],
    "fill_blank": ["填空", "填空题", "fill", "fill in the blank", "fill_blank", "blank"],
    "short_answer": [
        "简答",
        "简答题",
        "问答",
        "问答题",
        "论述题",
        "主观题",
        "short answer",
        "short_answer",
        "essay",
    ],
}
_TYPE_LOOKUP = {re.sub(r"\s+", "", w.lower()): t for t, words in TYPE_WORDS.items() for w in words}
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
}
_ANSWER_SPLIT = re.compile(r"[\s,，、;；/|.．]+")
_BLANK_SPLIT = re.compile(r"[;；]")
_ALT_SPLIT = re.compile(r"[|｜]")


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

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.stem, self.options)


@dataclass
class ParseResult:
    filename: str
    format: str
    questions: list[ParsedQuestion] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def error(self, row: int | None, fieldname: str | None, message: str) -> None:
        self.errors.append({"row": row, "field": fieldname, "message": message})


def fingerprint(stem: str, options: list[str]) -> str:
    """Return the identity of a question for duplicate detection: normalised stem and options."""
    norm = [
        re.sub(r"[\s_]+", "", unicodedata.normalize("NFKC", s or "")).rstrip("：:。.？?").casefold()
        for s in [stem, *options]
    ]
    return hashlib.sha256("\x1f".join(norm).encode()).hexdigest()


def parse_type(text: str) -> str | None:
    """Return the type named by a cell such as 单选题 / 多项选择 / 判断, or None."""
    key = re.sub(r"\s+", "", normalize_text(text).lower()).strip("[]【】()")
    return _TYPE_LOOKUP.get(key)


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
        letters = parse_letters(answer)
        if not answer:
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
        blanks = [
            [a.strip() for a in _ALT_SPLIT.split(b) if a.strip()] for b in _BLANK_SPLIT.split(answer or "")
        ]
        blanks = [b for b in blanks if b]
        if not blanks:
            result.error(row, "answer", msg("the answer is missing"))
        key = blanks
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
    problem = get_type(qtype).validate(opts, key)
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
    )


# ---------------------------------------------------------------- spreadsheets


def parse_sheet(source: Any, filename: str) -> ParseResult:
    """Read the Chinese layout from xlsx/xls/csv (encoding detected, title rows above the header allowed)."""
    table = read_table(source, filename, FIELDS, REQUIRED)
    result = ParseResult(filename=filename, format="sheet")
    index = table.column_index

    def raw(r: Any, name: str) -> str:
        # Stems and options keep their own punctuation (normalize_text would turn ，into ,).
        i = index.get(name)
        return (r.raw[i] or "").strip() if i is not None and i < len(r.raw) else ""

    for r in table.rows:
        v = r.values
        options = [raw(r, f"opt_{c.lower()}") for c in LETTERS]
        if not any([v.get("type"), v.get("stem"), v.get("answer"), *options]):
            continue
        q = build_question(
            r.row,
            v.get("type", ""),
            raw(r, "stem"),
            options,
            v.get("answer", ""),
            explanation=raw(r, "explanation"),
            difficulty=v.get("difficulty", ""),
            category=v.get("category", ""),
            points=v.get("points", ""),
            result=result,
        )
        if q is not None:
            result.questions.append(q)
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


_GIFT_ESCAPES = {"\\~": "\x01", "\\=": "\x02", "\\#": "\x03", "\\{": "\x04", "\\}": "\x05", "\\:": "\x06"}
_GIFT_UNESCAPE = {v: k[1] for k, v in _GIFT_ESCAPES.items()}


def _gift_unescape(text: str) -> str:
    for k, v in _GIFT_UNESCAPE.items():
        text = text.replace(k, v)
    return re.sub(r"\[(html|moodle|plain|markdown)\]", "", text).strip()


def _gift_answers(body: str) -> list[tuple[str, str, str | None]]:
    """Split a GIFT answer block into (mark '=' or '~', text with any %weight%, feedback)."""
    parts = re.split(r"([=~])", body)
    out = []
    mark = None
    for piece in parts:
        if piece in ("=", "~"):
            mark = piece
        elif mark is not None:
            text, _, feedback = piece.partition("#")
            out.append((mark, text.strip(), feedback.strip() or None))
    return out


def parse_gift(text: str, filename: str) -> ParseResult:
    """Read Moodle GIFT: multiple choice (=right ~wrong, ~%50% weights), {T}/{F}, short answers {=a =b}, essays {}."""
    result = ParseResult(filename=filename, format="gift")
    for k, v in _GIFT_ESCAPES.items():
        text = text.replace(k, v)
    category: str | None = None
    lines = text.splitlines()
    block: list[str] = []
    block_start = 0

    def flush() -> None:
        nonlocal block
        if block:
            _gift_question(" \n".join(block), block_start, category, result)
        block = []

    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if line.startswith("//"):
            continue
        m_cat = re.match(r"^\$CATEGORY:\s*(.+)$", line)
        if m_cat:
            flush()
            category = m_cat.group(1).strip().split("/")[-1] or None
            continue
        if not line:
            flush()
            continue
        if not block:
            block_start = lineno
        block.append(line)
    flush()
    return result


def _gift_question(text: str, row: int, category: str | None, result: ParseResult) -> None:
    text = text.strip()
    m_title = re.match(r"^::(.*?)::\s*", text, re.S)
    if m_title:
        text = text[m_title.end() :]
    m = re.search(r"\{(.*?)\}", text, re.S)
    if m is None:
        result.error(row, "answer", msg("no answer block { … } in this GIFT question"))
        return
    body = m.group(1).strip()
    before, after = text[: m.start()].strip(), text[m.end() :].strip()
    explanation = None
    general = re.search(r"####(.*)$", body, re.S)
    if general:
        explanation = _gift_unescape(general.group(1))
        body = body[: general.start()].strip()
    if body.upper() in ("T", "TRUE", "F", "FALSE"):
        stem = _gift_unescape(f"{before} {after}".strip())
        q = build_question(
            row,
            "true_false",
            stem,
            [],
            "T" if body.upper().startswith("T") else "F",
            explanation=explanation or "",
            category=category or "",
            result=result,
        )
    elif body == "":
        stem = _gift_unescape(f"{before} {after}".strip())
        q = build_question(
            row,
            "short_answer",
            stem,
            [],
            "",
            explanation=explanation or "",
            category=category or "",
            result=result,
        )
    else:
        answers = _gift_answers(body)
        if any(a[0] == "~" for a in answers):
            stem = _gift_unescape(f"{before} {after}".strip())
            options, right = [], []
            for i, (mark, txt, _fb) in enumerate(answers):
                weight = re.match(r"^%(-?\d+(?:\.\d+)?)%\s*", txt)
                value = float(weight.group(1)) if weight else (100.0 if mark == "=" else 0.0)
                options.append(_gift_unescape(txt[weight.end() :] if weight else txt))
                if value > 0:
                    right.append(i)
            letters = "".join(LETTERS[i] for i in right if i < len(LETTERS))
            qtype = (
                "multiple_choice"
                if len(right) > 1 or any(re.match(r"^%", a[1]) for a in answers)
                else "single_choice"
            )
            q = build_question(
                row,
                qtype,
                stem,
                options,
                letters,
                explanation=explanation or "",
                category=category or "",
                result=result,
            )
        else:
            # {=a =b} inside the text: a blank with accepted answers; at the end: a short-answer match, same thing.
            stem = _gift_unescape(f"{before} ____ {after}".strip() if after else f"{before} ____")
            accepted = "|".join(_gift_unescape(re.sub(r"^%\d+%", "", a[1])) for a in answers if a[0] == "=")
            q = build_question(
                row,
                "fill_blank",
                stem,
                [],
                accepted,
                explanation=explanation or "",
                category=category or "",
                result=result,
            )
    if q is not None:
        result.questions.append(q)


# ---------------------------------------------------------------- dispatch


def _decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise ImportRefused(msg("the text file is neither UTF-8 nor GBK"))


def detect_text_format(text: str, filename: str) -> str | None:
    """Return ``gift`` or ``aiken`` when ``text`` looks like one, else None (a csv is read as a sheet)."""
    name = filename.lower()
    if ".gift" in name or re.search(r"^\s*::.+?::", text, re.M) or re.search(r"\{\s*[=~TF]", text):
        return "gift"
    if ".aiken" in name or re.search(r"^ANSWER\s*[:：]\s*[A-H]", text, re.M | re.I):
        return "aiken"
    return None


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
