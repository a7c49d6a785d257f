"""The spreadsheet layouts Chinese exam systems export, read into ``ParsedQuestion`` items.

One reader for all of them; what a sheet looks like decides how it is read:
- options in columns 选项A…选项H (the common layout), or all in one cell (``A.xx B.yy``, ``A、xx``, ``(A)xx``, one
  per line, or a separator such as ``%$%``), or one row per option after the question row with ``是否正确项`` 0/1;
- the type as a word (单选题 …), as a number explained by a legend in the header (``题型（0单选，1判断，2多选）``),
  or given by the sheet's name (one sheet per type: 单选题, 多选题, 判断题, 填空题, 简答题 …);
- synonyms of the headers (正确选项/正确答案/标准答案, 题目详情/题目标题/试题内容, 整体解析/答案解析, 知识类/所属章节 …).
A sheet this cannot read is refused with a message that says which headers and layouts would be readable.
"""

from __future__ import annotations

import re
from typing import Any

from lms.core.errors import ImportRefused
from lms.core.i18n import msg
from lms.core.sheets.tables import read_tables
from lms.core.sheets.values import normalize_text

OPTION_CELL_SEPARATORS = ("%$%", "$$", "||", "｜", "|", "\n")
# A letter mark: "A." "A、" "A)" after a space or at the start, or "(A)" / "（A）" anywhere (Chinese text has no spaces).
_LETTER_MARK = re.compile(r"(?:[(（]\s*([A-HＡ-Ｈ])\s*[)）]|(?:^|(?<=\s))([A-HＡ-Ｈ])\s*[.．、:：)）])\s*")
_LEADING_MARK = re.compile(r"^\s*(?:[(（]\s*[A-HＡ-Ｈ]\s*[)）]|[A-HＡ-Ｈ]\s*[.．、:：)）])\s*")
_LEGEND_ITEM = re.compile(r"(\d+)\s*[:：=＝、.．-]?\s*([^\d,，;；、/|()（）\s]+)")
TRUE_FLAGS = {"1", "是", "正确", "对", "√", "y", "yes", "true", "t"}
FALSE_FLAGS = {"0", "否", "错误", "错", "×", "n", "no", "false", "f", ""}


# The words a sheet uses for each question type (a cell such as 单选题 / 多项选择 / 判断, or a header legend).
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
    "matching": ["匹配", "匹配题", "连线", "连线题", "配对题", "matching", "match"],
    "numerical": ["数值", "数值题", "计算题", "numerical", "numeric", "number"],
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


def parse_type(text: str) -> str | None:
    """Return the type named by a cell such as 单选题 / 多项选择 / 判断, or None."""
    key = re.sub(r"\s+", "", normalize_text(text).lower()).strip("[]【】()")
    return _TYPE_LOOKUP.get(key)


def legend_of(header: str) -> dict[str, str]:
    """The type legend of a header such as ``题型（0单选，1判断，2多选）`` → {"0": "single_choice", …}."""
    text = normalize_text(header)
    inside = re.findall(r"[(（\[【](.*?)[)）\]】]", text) or [text.split("题型", 1)[-1]]
    legend: dict[str, str] = {}
    for part in inside:
        for number, word in _LEGEND_ITEM.findall(part):
            qtype = parse_type(word)
            if qtype:
                legend[number] = qtype
    return legend


def split_option_cell(cell: str) -> list[str]:
    """All options in one cell → the options, in order (letters dropped)."""
    text = (cell or "").strip()
    if not text:
        return []
    for sep in OPTION_CELL_SEPARATORS:
        if sep in text:
            parts = [p.strip() for p in text.split(sep)]
            return [_LEADING_MARK.sub("", p, count=1).strip() for p in parts if p.strip()]
    marks = list(_LETTER_MARK.finditer(text))
    if len(marks) >= 2:
        out = []
        for i, m in enumerate(marks):
            end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
            out.append(text[m.end() : end].strip())
        return out
    return [text]


def header_refusal(filename: str, detail: str) -> ImportRefused:
    """The refusal of an unreadable question sheet: what was wrong and which headers and layouts are read."""
    return ImportRefused(
        msg(
            "%(file)s: no question header found (%(detail)s). Readable: a header row with the question text "
            "(题干, 题目, 试题内容, 题目详情 or 题目标题) and the answer (答案, 正确答案, 正确选项 or 标准答案) — or "
            "是否正确项 with one row per option; the type in a column (题型) or as the sheet's name (单选题, 多选题, "
            "判断题, 填空题, 简答题); options in columns 选项A…选项H or all in one column 选项. Download the template "
            "for an example.",
            file=filename,
            detail=detail,
        )
    )


def read_sheets(source: Any, filename: str, fields: dict[str, list[str]]) -> list[Any]:
    """The question tables of a spreadsheet (every sheet with a question header); refuse with the layouts read."""
    try:
        tables = read_tables(source, filename, fields, ("stem",), all_sheets=True)
    except ImportRefused as exc:
        message = str(exc.message)
        if "no header row" not in message:
            raise
        detail = message.split(": ", 1)[-1]
        raise header_refusal(filename, detail) from None
    return tables


def flag(value: str) -> bool | None:
    text = normalize_text(value).lower()
    if text in TRUE_FLAGS:
        return True
    if text in FALSE_FLAGS:
        return False
    return None
