"""The question-type registry: one class per type, each with its own validation, grading and public view.

Keys (stored in ``Question.key`` / ``QuestionVersion.key``):
  single_choice    index of the right option (int, in the original option order)
  multiple_choice  sorted list of right option indexes
  true_false       bool
  fill_blank       one list of accepted answers per blank: [["预防为主"], ["42", "42V"]]; ``*`` is a wildcard
                   (any text, as in Moodle's short answer); ``\\*`` is a literal asterisk
  short_answer     a reference answer (text, may be empty); graded by hand
  matching         {"answers": [right text of each left item (the options)], "extra": [distractors]}
  numerical        [{"value": 1822.0 or None (any other answer), "tolerance": 0.0, "fraction": 1.0}, ...]

Weights (``Question.weights``, optional; Moodle's fractions): single/multiple choice one fraction per option
(multiple choice may have negative ones); fill_blank one list per blank, parallel to its accepted answers.
Without weights the key is all-or-nothing (and the bank's ``partial_credit`` applies to multiple choice).

Answers (what a learner sends): an option index, a list of indexes, a bool, a list of strings, a text; matching a
list of chosen texts (one per left item, original order); numerical a text.
``public_view`` never contains the key or the explanation.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

from flask import has_request_context
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

LETTERS = "ABCDEFGH"
BLANK_RE = re.compile(r"_{2,}|（\s*）|\(\s*\)")
EPS = 1e-6


def _(text: str, **values: Any) -> str:
    """Translate in a request (the user's language); outside one (CLI, jobs, tests) keep the English source."""
    if has_request_context():
        return gettext(text, **values)
    return text % values if values else text


def normalize_answer_text(value: Any) -> str:
    """Full-width → half-width, no spaces, case-folded: how fill-in answers are compared."""
    text = unicodedata.normalize("NFKC", str(value or ""))
    return re.sub(r"\s+", "", text).casefold().rstrip("。.")


_STAR_SPLIT = re.compile(r"(?<!\\)\*+")


def answer_matches(pattern: str, given: Any) -> bool:
    """Whether ``given`` matches an accepted answer: ``*`` is Moodle's wildcard, the rest compared normalised."""
    if "*" not in pattern:
        return normalize_answer_text(given) == normalize_answer_text(pattern)
    bits = [normalize_answer_text(b.replace("\\*", "*")) for b in _STAR_SPLIT.split(pattern)]
    if len(bits) == 1:  # only escaped asterisks
        return normalize_answer_text(given) == bits[0]
    regexp = "^" + ".*".join(re.escape(b) for b in bits) + "$"
    return re.match(regexp, normalize_answer_text(given), re.S) is not None


def pct(fraction: float) -> str:
    """A fraction as Moodle writes a weight: 0.5 → "50", 0.3333333 → "33.33333"."""
    value = round(fraction * 100, 5)
    return str(int(value)) if value == int(value) else str(value)


def rich(version: Any, text: str) -> Any:
    """Text of a question for a page: sanitised HTML (Markup) when the question is HTML, else plain text."""
    if getattr(version, "text_format", None) == "html":
        from quizzes.textfmt import sanitize

        return Markup(sanitize(text or ""))
    return text


def _weights(version: Any) -> Any:
    return getattr(version, "weights", None)


class QuestionType:
    name: str = ""
    label: Any = ""
    auto_graded: bool = True
    has_options: bool = False

    def validate(self, options: list[str], key: Any, weights: Any = None) -> str | None:
        """Return a problem with this options/key pair, or None."""
        return None

    def grade(self, answer: Any, key: Any, partial: bool = False, weights: Any = None) -> float | None:
        """Return the share of the points earned (0..1), or None when a person must grade it."""
        raise NotImplementedError

    def grade_version(
        self, version: Any, answer: Any, partial: bool = False, key: Any = None
    ) -> float | None:
        """Grade ``answer`` against a (question) version, with its weights; ``key`` overrides the version's."""
        return self.grade(answer, version.key if key is None else key, partial, _weights(version))

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
            "stem": rich(version, version.stem),
            "options": [{"value": i, "text": rich(version, version.options[i])} for i in order]
            if self.has_options
            else [],
            "blanks": self.blank_count(version) if self.name == "fill_blank" else 0,
        }

    def blank_count(self, version: Any) -> int:
        return 0

    def key_text(
        self, options: list[str], key: Any, option_order: list[int] | None = None, weights: Any = None
    ) -> str:
        """The key as a person reads it (letters in the order shown)."""
        return str(key or "")

    def answer_text(self, options: list[str], answer: Any, option_order: list[int] | None = None) -> str:
        return "" if self.is_blank(answer) else str(answer)


def _letter(index: int, option_order: list[int] | None) -> str:
    pos = option_order.index(index) if option_order and index in option_order else index
    return LETTERS[pos] if pos < len(LETTERS) else str(pos + 1)


def _check_fractions(weights: Any, n: int) -> str | None:
    if not isinstance(weights, list) or len(weights) != n:
        return _("there must be one weight per option")
    if any(
        isinstance(w, bool) or not isinstance(w, int | float) or not -1 - EPS <= w <= 1 + EPS for w in weights
    ):
        return _("each weight must be between -100 and 100 percent")
    return None


class SingleChoice(QuestionType):
    name = "single_choice"
    label = _l("Single choice")
    has_options = True

    def validate(self, options: list[str], key: Any, weights: Any = None) -> str | None:
        if len(options) < 2:
            return _("a choice question needs at least two options")
        if not isinstance(key, int) or isinstance(key, bool) or not 0 <= key < len(options):
            return _("the answer must be one of the options")
        if weights is not None:
            problem = _check_fractions(weights, len(options))
            if problem:
                return problem
            if any(w < 0 for w in weights):
                return _("a single-choice option cannot have a negative weight")
            if abs(weights[key] - 1) > EPS:
                return _("the answer of a single-choice question must be worth 100 percent")
        return None

    def coerce_answer(self, answer: Any, n_options: int) -> Any:
        if answer is None or answer == "":
            return None
        value = int(answer)
        if not 0 <= value < n_options:
            raise ValueError("option out of range")
        return value

    def grade(self, answer: Any, key: Any, partial: bool = False, weights: Any = None) -> float:
        if answer is None:
            return 0.0
        if weights:
            return max(0.0, min(1.0, float(weights[answer]))) if 0 <= answer < len(weights) else 0.0
        return 1.0 if answer == key else 0.0

    def key_text(
        self, options: list[str], key: Any, option_order: list[int] | None = None, weights: Any = None
    ) -> str:
        if not isinstance(key, int):
            return ""
        text = _letter(key, option_order)
        if weights:
            others = [
                f"{_letter(i, option_order)} {pct(w)}%" for i, w in enumerate(weights) if i != key and w
            ]
            if others:
                text += " (" + ", ".join(sorted(others)) + ")"
        return text

    def answer_text(self, options: list[str], answer: Any, option_order: list[int] | None = None) -> str:
        return _letter(answer, option_order) if isinstance(answer, int) else ""


class MultipleChoice(QuestionType):
    name = "multiple_choice"
    label = _l("Multiple choice")
    has_options = True

    def validate(self, options: list[str], key: Any, weights: Any = None) -> str | None:
        if len(options) < 2:
            return _("a choice question needs at least two options")
        if (
            not isinstance(key, list)
            or not key
            or any(not isinstance(k, int) or not 0 <= k < len(options) for k in key)
        ):
            return _("the answers must be among the options")
        if weights is not None:
            problem = _check_fractions(weights, len(options))
            if problem:
                return problem
            if abs(sum(w for w in weights if w > 0) - 1) > 0.001:
                return _("the positive weights of a multiple-choice question must add up to 100 percent")
            if sorted(key) != [i for i, w in enumerate(weights) if w > 0]:
                return _("the answers must be the options with a positive weight")
        return None

    def coerce_answer(self, answer: Any, n_options: int) -> Any:
        if answer is None or answer == "":
            return []
        values = sorted({int(a) for a in (answer if isinstance(answer, list) else [answer])})
        if any(not 0 <= v < n_options for v in values):
            raise ValueError("option out of range")
        return values

    def grade(self, answer: Any, key: Any, partial: bool = False, weights: Any = None) -> float:
        chosen, right = set(answer or []), set(key or [])
        if not chosen or not right:
            return 0.0
        if weights:
            # Moodle's multiple response: the sum of the chosen options' fractions, kept within 0..1
            # (qtype_multichoice_multi_question::grade_response), judged right above 0.999999 and wrong below
            # 0.000001 (question_state::graded_state_for_fraction): three options of 33.33333 % are whole marks.
            total = max(
                0.0, min(1.0, round(sum(float(weights[i]) for i in chosen if 0 <= i < len(weights)), 7))
            )
            return 1.0 if total > 1 - EPS else 0.0 if total < EPS else total
        if chosen == right:
            return 1.0
        if partial and chosen <= right:
            return len(chosen) / len(right)
        return 0.0

    def key_text(
        self, options: list[str], key: Any, option_order: list[int] | None = None, weights: Any = None
    ) -> str:
        if weights:
            parts = sorted(f"{_letter(i, option_order)} {pct(w)}%" for i, w in enumerate(weights) if w)
            return ", ".join(parts)
        return "".join(sorted(_letter(k, option_order) for k in key or []))

    def answer_text(self, options: list[str], answer: Any, option_order: list[int] | None = None) -> str:
        return "".join(sorted(_letter(k, option_order) for k in answer or []))


class TrueFalse(QuestionType):
    name = "true_false"
    label = _l("True / false")

    def validate(self, options: list[str], key: Any, weights: Any = None) -> str | None:
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

    def grade(self, answer: Any, key: Any, partial: bool = False, weights: Any = None) -> float:
        return 1.0 if answer is not None and answer is key else 0.0

    def public_view(self, version: Any, option_order: list[int] | None = None) -> dict[str, Any]:
        view = super().public_view(version, option_order)
        view["options"] = [{"value": "true", "text": _("True")}, {"value": "false", "text": _("False")}]
        return view

    def key_text(
        self, options: list[str], key: Any, option_order: list[int] | None = None, weights: Any = None
    ) -> str:
        return _("True") if key else _("False")

    def answer_text(self, options: list[str], answer: Any, option_order: list[int] | None = None) -> str:
        return "" if answer is None else self.key_text(options, answer)


class FillBlank(QuestionType):
    name = "fill_blank"
    label = _l("Fill in the blank")

    def validate(self, options: list[str], key: Any, weights: Any = None) -> str | None:
        if not isinstance(key, list) or not key or any(not isinstance(b, list) or not b for b in key):
            return _("each blank needs at least one accepted answer")
        if weights is not None:
            if not isinstance(weights, list) or len(weights) != len(key):
                return _("there must be one weight per accepted answer")
            for accepted, ws in zip(key, weights, strict=True):
                problem = _check_fractions(ws, len(accepted))
                if problem:
                    return _("there must be one weight per accepted answer")
                if any(w < 0 for w in ws):
                    return _("an accepted answer cannot have a negative weight")
                if abs(max(ws) - 1) > EPS:
                    return _("each blank needs an accepted answer worth 100 percent")
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

    def grade(self, answer: Any, key: Any, partial: bool = False, weights: Any = None) -> float:
        blanks = key or []
        if not blanks:
            return 0.0
        given = list(answer or [])
        total = 0.0
        for i, accepted in enumerate(blanks):
            if i >= len(given) or not str(given[i]).strip():
                continue
            ws = weights[i] if weights and i < len(weights) else None
            # As Moodle: the first accepted answer that matches decides (``*`` last catches the rest).
            for j, pattern in enumerate(accepted):
                if answer_matches(pattern, given[i]):
                    total += float(ws[j]) if ws and j < len(ws) else 1.0
                    break
        return total / len(blanks)

    def key_text(
        self, options: list[str], key: Any, option_order: list[int] | None = None, weights: Any = None
    ) -> str:
        parts = []
        for i, accepted in enumerate(key or []):
            ws = weights[i] if weights and i < len(weights) else None
            parts.append(
                " / ".join(
                    a if not ws or abs(ws[j] - 1) < EPS else f"{a} ({pct(ws[j])}%)"
                    for j, a in enumerate(accepted)
                )
            )
        return "；".join(parts)

    def answer_text(self, options: list[str], answer: Any, option_order: list[int] | None = None) -> str:
        return "；".join(str(a) for a in answer or [])


class ShortAnswer(QuestionType):
    name = "short_answer"
    label = _l("Short answer")
    auto_graded = False

    def validate(self, options: list[str], key: Any, weights: Any = None) -> str | None:
        return None

    def coerce_answer(self, answer: Any, n_options: int) -> Any:
        return None if answer is None else str(answer)[:10000]

    def is_blank(self, answer: Any) -> bool:
        return not str(answer or "").strip()

    def grade(self, answer: Any, key: Any, partial: bool = False, weights: Any = None) -> float | None:
        return (
            0.0 if self.is_blank(answer) else None
        )  # nothing written earns nothing; the rest waits for a person


def matching_choices(key: Any) -> list[str]:
    """The texts a learner picks from in a matching question: every right answer and distractor, sorted."""
    if not isinstance(key, dict):
        return []
    return sorted({str(a) for a in [*(key.get("answers") or []), *(key.get("extra") or [])] if str(a)})


class Matching(QuestionType):
    """匹配题 / 连线题: each left item (an option) is matched with one of the right-hand texts."""

    name = "matching"
    label = _l("Matching")
    has_options = True

    def validate(self, options: list[str], key: Any, weights: Any = None) -> str | None:
        if len(options) < 2 or any(not o for o in options):
            return _("a matching question needs at least two items to match")
        answers = key.get("answers") if isinstance(key, dict) else None
        if not isinstance(answers, list) or len(answers) != len(options) or any(not str(a) for a in answers):
            return _("each item of a matching question needs its matching answer")
        if not isinstance(key.get("extra", []), list):
            return _("the extra answers of a matching question must be a list")
        return None

    def coerce_answer(self, answer: Any, n_options: int) -> Any:
        if answer is None or answer == "":
            return []
        values = answer if isinstance(answer, list) else [answer]
        if len(values) > n_options:
            raise ValueError("more answers than items")
        return [str(v)[:500] for v in values]

    def is_blank(self, answer: Any) -> bool:
        return not answer or all(not str(a).strip() for a in answer)

    def grade(self, answer: Any, key: Any, partial: bool = False, weights: Any = None) -> float:
        # Moodle: every item counts the same; the question earns the share of items matched right.
        right = (key or {}).get("answers") or []
        if not right:
            return 0.0
        given = list(answer or [])
        hits = sum(1 for i, r in enumerate(right) if i < len(given) and str(given[i]) == str(r))
        return hits / len(right)

    def public_view(self, version: Any, option_order: list[int] | None = None) -> dict[str, Any]:
        view = super().public_view(version, option_order)
        view["choices"] = matching_choices(version.key)
        return view

    def key_text(
        self, options: list[str], key: Any, option_order: list[int] | None = None, weights: Any = None
    ) -> str:
        answers = (key or {}).get("answers") or []
        order = option_order if option_order else list(range(len(answers)))
        return "；".join(f"{_letter(i, option_order)}→{answers[i]}" for i in order if i < len(answers))

    def answer_text(self, options: list[str], answer: Any, option_order: list[int] | None = None) -> str:
        given = list(answer or [])
        order = option_order if option_order else list(range(len(given)))
        return "；".join(f"{_letter(i, option_order)}→{given[i] or '—'}" for i in order if i < len(given))


def parse_number(text: Any) -> float | None:
    """A learner's number: full-width digits and spaces allowed, a comma as decimal point; else None."""
    value = unicodedata.normalize("NFKC", str(text or "")).strip().replace(" ", "")
    if re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d*)?", value):
        value = value.replace(",", "")  # thousands separators: 1,822
    elif value.count(",") == 1 and "." not in value:
        value = value.replace(",", ".")  # a decimal comma: 1,5
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _num(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e15 else str(value)


class Numerical(QuestionType):
    """数值题: accepted values with a tolerance (a range is its midpoint ± half width), partial credit each."""

    name = "numerical"
    label = _l("Numerical")

    def validate(self, options: list[str], key: Any, weights: Any = None) -> str | None:
        if not isinstance(key, list) or not key:
            return _("a numerical question needs at least one accepted value")
        for a in key:
            if not isinstance(a, dict):
                return _("a numerical question needs at least one accepted value")
            value, tol, frac = a.get("value"), a.get("tolerance", 0), a.get("fraction", 1)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                return _("an accepted value must be a number")
            if isinstance(tol, bool) or not isinstance(tol, int | float) or tol < 0:
                return _("a tolerance must be a number of 0 or more")
            if isinstance(frac, bool) or not isinstance(frac, int | float) or not -EPS <= frac <= 1 + EPS:
                return _("a weight must be between 0 and 100 percent")
        if not any(a.get("value") is not None and abs(a.get("fraction", 1) - 1) < EPS for a in key):
            return _("a numerical question needs an accepted value worth 100 percent")
        return None

    def coerce_answer(self, answer: Any, n_options: int) -> Any:
        return None if answer is None else str(answer)[:100]

    def is_blank(self, answer: Any) -> bool:
        return not str(answer or "").strip()

    def grade(self, answer: Any, key: Any, partial: bool = False, weights: Any = None) -> float:
        number = parse_number(answer)
        if number is None:
            return 0.0
        for a in key or []:
            value = a.get("value")
            if value is None:
                return float(a.get("fraction", 0))
            tol = abs(float(a.get("tolerance") or 0))
            slack = 1e-12 * max(1.0, abs(value))  # float noise, as Moodle's own epsilon
            if value - tol - slack <= number <= value + tol + slack:
                return float(a.get("fraction", 1))
        return 0.0

    def key_text(
        self, options: list[str], key: Any, option_order: list[int] | None = None, weights: Any = None
    ) -> str:
        parts = []
        for a in key or []:
            if a.get("value") is None:
                continue
            text = _num(a["value"]) + (f" ± {_num(a['tolerance'])}" if a.get("tolerance") else "")
            if abs(a.get("fraction", 1) - 1) > EPS:
                text += f" ({pct(a['fraction'])}%)"
            parts.append(text)
        return " / ".join(parts)


REGISTRY: dict[str, QuestionType] = {
    t.name: t
    for t in (
        SingleChoice(),
        MultipleChoice(),
        TrueFalse(),
        FillBlank(),
        ShortAnswer(),
        Matching(),
        Numerical(),
    )
}
TYPE_NAMES = tuple(REGISTRY)


def get_type(name: str) -> QuestionType:
    """Return the type called ``name`` (KeyError if unknown)."""
    return REGISTRY[name]


def public_question(version: Any, option_order: list[int] | None = None) -> dict[str, Any]:
    """Return what the browser may see of ``version`` (no key, no explanation)."""
    return get_type(version.type).public_view(version, option_order)


def key_text_of(version: Any, option_order: list[int] | None = None) -> str:
    """The key of a question or version as a person reads it, weights included."""
    return get_type(version.type).key_text(
        version.options or [], version.key, option_order, _weights(version)
    )


def answer_feedback(version: Any, answer: Any) -> str:
    """Moodle's per-answer feedback for ``answer`` (the chosen options', the matching accepted answer's …), or ""."""
    fb = getattr(version, "feedback", None)
    if not fb or answer is None or answer == "" or answer == []:
        return ""
    qtype, key = version.type, version.key
    parts: list[str] = []
    if qtype == "true_false" and isinstance(answer, bool):
        parts.append(fb.get("true" if answer else "false") or "")
    elif qtype in ("single_choice", "multiple_choice"):
        texts = fb.get("options") or []
        chosen = answer if isinstance(answer, list) else [answer]
        parts.extend(texts[i] for i in chosen if isinstance(i, int) and 0 <= i < len(texts))
    elif qtype == "fill_blank":
        for i, accepted in enumerate(key or []):
            texts = (fb.get("answers") or [])[i] if i < len(fb.get("answers") or []) else []
            given = answer[i] if isinstance(answer, list) and i < len(answer) else ""
            if not str(given).strip():
                continue
            for j, pattern in enumerate(accepted):
                if answer_matches(pattern, given):
                    parts.append(texts[j] if j < len(texts) else "")
                    break
    elif qtype == "numerical":
        texts = fb.get("answers") or []
        number = parse_number(answer)
        for j, a in enumerate(key or []):
            value = a.get("value")
            tol = abs(float(a.get("tolerance") or 0))
            if value is None or (number is not None and value - tol - 1e-12 <= number <= value + tol + 1e-12):
                parts.append(texts[j] if j < len(texts) else "")
                break
    return "；".join(p for p in parts if p and p.strip())
