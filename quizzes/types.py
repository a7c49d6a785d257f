"""The question-type registry: one class per type, each with its own validation, grading and public view.

Keys (stored in ``Question.key`` / ``QuestionVersion.key``):
  single_choice    index of the right option (int, in the original option order)
  multiple_choice  sorted list of right option indexes
  true_false       bool
  fill_blank       one list of accepted answers per blank: [["预防为主"], ["42", "42V"]]
  short_answer     a reference answer (text, may be empty); graded by hand

Answers (what a learner sends): an option index, a list of indexes, a bool, a list of strings, a text.
``public_view`` never contains the key or the explanation.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from flask import has_request_context
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

LETTERS = "ABCDEFGH"
BLANK_RE = re.compile(r"_{2,}|（\s*）|\(\s*\)")


def _(text: str, **values: Any) -> str:
    """Translate in a request (the user's language); outside one (CLI, jobs, tests) keep the English source."""
    if has_request_context():
        return gettext(text, **values)
    return text % values if values else text


def normalize_answer_text(value: Any) -> str:
    """Full-width → half-width, no spaces, case-folded: how fill-in answers are compared."""
    text = unicodedata.normalize("NFKC", str(value or ""))
    return re.sub(r"\s+", "", text).casefold().rstrip("。.")


class QuestionType:
    name: str = ""
    label: Any = ""
    auto_graded: bool = True
    has_options: bool = False

    def validate(self, options: list[str], key: Any) -> str | None:
        """Return a problem with this options/key pair, or None."""
        return None

    def grade(self, answer: Any, key: Any, partial: bool = False) -> float | None:
        """Return the share of the points earned (0..1), or None when a person must grade it."""
        raise NotImplementedError

    def is_blank(self, answer: Any) -> bool:
        return answer is None or answer == "" or answer == []

    def coerce_answer(self, answer: Any, n_options: int) -> Any:
        """Return the answer in canonical form, or raise ValueError for one that cannot be stored."""
        return answer

    def public_view(self, version: Any, option_order: list[int] | None = None) -> dict[str, Any]:
        """What the browser may see of a question before the rules allow the key: never the key."""
        order = option_order if option_order is not None else list(range(len(version.options or [])))
        return {
            "type": self.name,
            "stem": version.stem,
            "options": [{"value": i, "text": version.options[i]} for i in order] if self.has_options else [],
            "blanks": self.blank_count(version) if self.name == "fill_blank" else 0,
        }

    def blank_count(self, version: Any) -> int:
        return 0

    def key_text(self, options: list[str], key: Any, option_order: list[int] | None = None) -> str:
        """The key as a person reads it (letters in the order shown)."""
        return str(key or "")

    def answer_text(self, options: list[str], answer: Any, option_order: list[int] | None = None) -> str:
        return "" if self.is_blank(answer) else str(answer)


def _letter(index: int, option_order: list[int] | None) -> str:
    pos = option_order.index(index) if option_order and index in option_order else index
    return LETTERS[pos] if pos < len(LETTERS) else str(pos + 1)


class SingleChoice(QuestionType):
    name = "single_choice"
    label = _l("Single choice")
    has_options = True

    def validate(self, options: list[str], key: Any) -> str | None:
        if len(options) < 2:
            return _("a choice question needs at least two options")
        if not isinstance(key, int) or isinstance(key, bool) or not 0 <= key < len(options):
            return _("the answer must be one of the options")
        return None

    def coerce_answer(self, answer: Any, n_options: int) -> Any:
        if answer is None or answer == "":
            return None
        value = int(answer)
        if not 0 <= value < n_options:
            raise ValueError("option out of range")
        return value

    def grade(self, answer: Any, key: Any, partial: bool = False) -> float:
        return 1.0 if answer is not None and answer == key else 0.0

    def key_text(self, options: list[str], key: Any, option_order: list[int] | None = None) -> str:
        return _letter(key, option_order) if isinstance(key, int) else ""

    def answer_text(self, options: list[str], answer: Any, option_order: list[int] | None = None) -> str:
        return _letter(answer, option_order) if isinstance(answer, int) else ""


class MultipleChoice(QuestionType):
    name = "multiple_choice"
    label = _l("Multiple choice")
    has_options = True

    def validate(self, options: list[str], key: Any) -> str | None:
        if len(options) < 2:
            return _("a choice question needs at least two options")
        if (
            not isinstance(key, list)
            or not key
            or any(not isinstance(k, int) or not 0 <= k < len(options) for k in key)
        ):
            return _("the answers must be among the options")
        return None

    def coerce_answer(self, answer: Any, n_options: int) -> Any:
        if answer is None or answer == "":
            return []
        values = sorted({int(a) for a in (answer if isinstance(answer, list) else [answer])})
        if any(not 0 <= v < n_options for v in values):
            raise ValueError("option out of range")
        return values

    def grade(self, answer: Any, key: Any, partial: bool = False) -> float:
        chosen, right = set(answer or []), set(key or [])
        if not chosen or not right:
            return 0.0
        if chosen == right:
            return 1.0
        if partial and chosen <= right:
            return len(chosen) / len(right)
        return 0.0

    def key_text(self, options: list[str], key: Any, option_order: list[int] | None = None) -> str:
        return "".join(sorted(_letter(k, option_order) for k in key or []))

    def answer_text(self, options: list[str], answer: Any, option_order: list[int] | None = None) -> str:
        return "".join(sorted(_letter(k, option_order) for k in answer or []))


class TrueFalse(QuestionType):
    name = "true_false"
    label = _l("True / false")

    def validate(self, options: list[str], key: Any) -> str | None:
        return None if isinstance(key, bool) else _("the answer must be true or false")

    def coerce_answer(self, answer: Any, n_options: int) -> Any:
        if answer is None or answer == "":
            return None
        if isinstance(answer, bool):
            return answer
        if str(answer).lower() in ("true", "1", "t"):
            return True
        if str(answer).lower() in ("false", "0", "f"):
            return False
        raise ValueError("not a true/false answer")

    def grade(self, answer: Any, key: Any, partial: bool = False) -> float:
        return 1.0 if answer is not None and answer is key else 0.0

    def public_view(self, version: Any, option_order: list[int] | None = None) -> dict[str, Any]:
        view = super().public_view(version, option_order)
        view["options"] = [{"value": "true", "text": _("True")}, {"value": "false", "text": _("False")}]
        return view

    def key_text(self, options: list[str], key: Any, option_order: list[int] | None = None) -> str:
        return _("True") if key else _("False")

    def answer_text(self, options: list[str], answer: Any, option_order: list[int] | None = None) -> str:
        return "" if answer is None else self.key_text(options, answer)


class FillBlank(QuestionType):
    name = "fill_blank"
    label = _l("Fill in the blank")

    def validate(self, options: list[str], key: Any) -> str | None:
        if not isinstance(key, list) or not key or any(not isinstance(b, list) or not b for b in key):
            return _("each blank needs at least one accepted answer")
        return None

    def blank_count(self, version: Any) -> int:
        return max(len(version.key or []), 1) if version.key else max(len(BLANK_RE.findall(version.stem)), 1)

    def coerce_answer(self, answer: Any, n_options: int) -> Any:
        if answer is None:
            return []
        values = answer if isinstance(answer, list) else [answer]
        return [str(v)[:500] for v in values[:20]]

    def is_blank(self, answer: Any) -> bool:
        return not answer or all(not str(a).strip() for a in answer)

    def grade(self, answer: Any, key: Any, partial: bool = False) -> float:
        blanks = key or []
        if not blanks:
            return 0.0
        given = list(answer or [])
        right = 0
        for i, accepted in enumerate(blanks):
            if i < len(given) and normalize_answer_text(given[i]) in {
                normalize_answer_text(a) for a in accepted
            }:
                right += 1
        return right / len(blanks)

    def key_text(self, options: list[str], key: Any, option_order: list[int] | None = None) -> str:
        return "；".join(" / ".join(b) for b in key or [])

    def answer_text(self, options: list[str], answer: Any, option_order: list[int] | None = None) -> str:
        return "；".join(str(a) for a in answer or [])


class ShortAnswer(QuestionType):
    name = "short_answer"
    label = _l("Short answer")
    auto_graded = False

    def validate(self, options: list[str], key: Any) -> str | None:
        return None

    def coerce_answer(self, answer: Any, n_options: int) -> Any:
        return None if answer is None else str(answer)[:10000]

    def is_blank(self, answer: Any) -> bool:
        return not str(answer or "").strip()

    def grade(self, answer: Any, key: Any, partial: bool = False) -> float | None:
        return (
            0.0 if self.is_blank(answer) else None
        )  # nothing written earns nothing; the rest waits for a person


REGISTRY: dict[str, QuestionType] = {
    t.name: t for t in (SingleChoice(), MultipleChoice(), TrueFalse(), FillBlank(), ShortAnswer())
}
TYPE_NAMES = tuple(REGISTRY)


def get_type(name: str) -> QuestionType:
    """Return the type called ``name`` (KeyError if unknown)."""
    return REGISTRY[name]


def public_question(version: Any, option_order: list[int] | None = None) -> dict[str, Any]:
    """Return what the browser may see of ``version`` (no key, no explanation)."""
    return get_type(version.type).public_view(version, option_order)
