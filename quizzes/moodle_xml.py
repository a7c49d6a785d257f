"""Moodle XML (Moodle's default exchange format), both ways, parsed with a hardened parser (defusedxml).

Read: multichoice (single and multiple answer), truefalse, shortanswer, numerical, matching, essay, category
switches; descriptions are skipped with a note. Refused by name: embedded files (images — not stored: <file>,
``@@PLUGINFILE@@`` links, Moodle 1.9's <image>/<image_base64>) and images linked from another address (pages load
none); a picture inside the text as a ``data:`` URL is kept. Also refused: units on numerical answers,
case-sensitive short answers, and every other question type (cloze, calculated, drag and drop …). Written:
every question of a bank; re-reading the file gives the same questions, keys and weights.
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from lms.core.i18n import msg
from quizzes.gift import Builder, GiftRefusal, any_text, category_path
from quizzes.types import LETTERS, get_type

FORMATS = {"html": "html", "moodle_auto_format": "moodle", "plain_text": "plain", "markdown": "markdown"}
SUPPORTED = ("multichoice", "truefalse", "shortanswer", "numerical", "matching", "essay")


class XmlRefusal(GiftRefusal):
    """A construct this reader refuses; the message names it (the shared text checks raise GiftRefusal)."""


def _text(el: Element | None) -> str:
    if el is None:
        return ""
    t = el.find("text")
    return (t.text or "") if t is not None else (el.text or "")


def _part(el: Element | None, default: str = "moodle") -> tuple[str, str]:
    if el is None:
        return "", default
    if el.find("file") is not None:
        raise XmlRefusal(
            msg("an embedded file (image or attachment) in <%(tag)s>: files are not imported", tag=el.tag)
        )
    fmt = FORMATS.get(el.get("format") or "", default)
    text = _text(el)
    if "@@PLUGINFILE@@" in text:
        raise XmlRefusal(msg("a link to an embedded file (@@PLUGINFILE@@): files are not imported"))
    return text.strip(), fmt


def _fraction(el: Element) -> float:
    try:
        return round(float(el.get("fraction") or 0) / 100, 7)
    except ValueError:
        raise XmlRefusal(msg("answer weight “%(value)s” is not a number", value=el.get("fraction"))) from None


def _bool(el: Element | None, default: bool = False) -> bool:
    if el is None or el.text is None:
        return default
    return el.text.strip().lower() in ("1", "true", "yes")


def _question_lines(text: str) -> list[int]:
    """The line of each <question …> tag, in order (ElementTree does not keep line numbers)."""
    return [text.count("\n", 0, m.start()) + 1 for m in re.finditer(r"<question\b", text)]


def read_xml(text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Return (questions, errors, notes) of a Moodle XML file; each carries its ``row`` (line of <question>)."""
    try:
        root = SafeET.fromstring(text.encode("utf-8"), forbid_dtd=True)
    except DefusedXmlException as exc:
        raise XmlRefusal(
            msg("the XML file uses a forbidden construct (%(what)s)", what=type(exc).__name__)
        ) from None
    except SafeET.ParseError as exc:
        raise XmlRefusal(msg("the file is not well-formed XML: %(error)s", error=str(exc))) from None
    if root.tag != "quiz":
        raise XmlRefusal(msg("a Moodle XML file starts with <quiz>, not <%(tag)s>", tag=root.tag))
    lines = _question_lines(text)
    questions, errors, notes = [], [], []
    category: str | None = None
    for n, el in enumerate(root.findall("question")):
        row = lines[n] if n < len(lines) else n + 1
        qtype = el.get("type") or ""
        try:
            if qtype == "category":
                category = category_path(_text(el.find("category")))
                continue
            if qtype == "description":
                notes.append(
                    {
                        "row": row,
                        "message": msg("line %(line)s: a description (not a question) is skipped", line=row),
                    }
                )
                continue
            if qtype not in SUPPORTED:
                raise XmlRefusal(
                    msg(
                        "question type “%(type)s” is not supported (supported: %(list)s)",
                        type=qtype,
                        list=", ".join(SUPPORTED),
                    )
                )
            q = _read_question(el, qtype, category)
            problem = get_type(q["type"]).validate(q["options"], q["key"], q["weights"])
            if problem:
                raise XmlRefusal(problem)
            q["row"] = row
            questions.append(q)
        except GiftRefusal as exc:  # XmlRefusal, or a shared text check (an image from elsewhere …)
            errors.append(
                {
                    "row": row,
                    "field": "xml",
                    "message": msg("line %(line)s: %(problem)s", line=row, problem=exc.args[0]),
                }
            )
    return questions, errors, notes


def _read_question(el: Element, qtype: str, category: str | None) -> dict[str, Any]:
    for old_tag in ("image", "image_base64"):  # Moodle 1.9's picture of the question, beside its text
        if el.find(old_tag) is not None:
            raise XmlRefusal(
                msg(
                    "an embedded file (image or attachment) in <%(tag)s>: files are not imported", tag=old_tag
                )
            )
    b = Builder()
    b.add(_part(el.find("questiontext")))  # Moodle's default: moodle_auto_format
    qfmt = b.texts[0][1]  # answers, feedback and items default to the question text's format, as in Moodle
    b.add(_part(el.find("generalfeedback"), qfmt))
    name = _text(el.find("name")).strip()[:255] or None
    if not b.texts[0][0]:
        raise XmlRefusal(msg("the question text is missing"))
    try:
        points = float(el.findtext("defaultgrade") or 1)
    except ValueError:
        points = 1.0
    answers = el.findall("answer")
    options: list[int] = []
    key: Any
    weights: Any = None
    feedback: Any = None
    if qtype == "multichoice":
        single = _bool(el.find("single"), True)
        # Moodle's save_question_options skips a completely blank answer (no text, no weight, no feedback).
        answers = [
            a for a in answers if _text(a).strip() or _fraction(a) or _text(a.find("feedback")).strip()
        ]
        if len(answers) < 2:
            raise XmlRefusal(msg("a choice question needs at least two answers"))
        if len(answers) > len(LETTERS):
            raise XmlRefusal(msg("more than %(n)d options in a choice question", n=len(LETTERS)))
        fractions = [_fraction(a) for a in answers]
        options = [b.add(_part(a, qfmt)) for a in answers]
        feedback = {"options": [b.add(_part(a.find("feedback"), qfmt)) for a in answers]}
        if single:
            if any(f < 0 for f in fractions):
                raise XmlRefusal(
                    msg("a negative weight on an option of a single-choice question; not supported")
                )
            full = [i for i, f in enumerate(fractions) if abs(f - 1) < 1e-6]
            if not full:
                raise XmlRefusal(msg("a single-choice question needs one option worth 100 percent"))
            key = full[0]
            plain = sorted(fractions) == [0.0] * (len(fractions) - 1) + [1.0]
            weights = None if plain else fractions
            qt = "single_choice"
        else:
            key = [i for i, f in enumerate(fractions) if f > 0]
            weights = fractions
            qt = "multiple_choice"
    elif qtype == "truefalse":
        truth, fb = None, {}
        for n, a in enumerate(answers[:2]):
            word = _text(a).strip()
            if word not in ("true", "false"):
                word = "true" if n == 0 else "false"  # Moodle: an old file's localised words, true first
            fb[word] = b.add(_part(a.find("feedback"), qfmt))
            if _fraction(a) >= 1 - 1e-6:
                truth = word == "true"
        if truth is None:
            raise XmlRefusal(msg("a true/false question needs its right answer worth 100 percent"))
        key, qt, feedback = truth, "true_false", fb
    elif qtype == "shortanswer":
        if _bool(el.find("usecase")):
            raise XmlRefusal(
                msg(
                    "a case-sensitive short answer (usecase 1): answers here are compared without case; not supported"
                )
            )
        accepted = [_text(a).strip() for a in answers]
        if not accepted or any(not a for a in accepted):
            raise XmlRefusal(msg("a short-answer question needs non-empty accepted answers"))
        fractions = [_fraction(a) for a in answers]
        key = [accepted]
        weights = None if all(abs(f - 1) < 1e-6 for f in fractions) else [fractions]
        feedback = {"answers": [[b.add(_part(a.find("feedback"), qfmt)) for a in answers]]}
        qt = "fill_blank"
    elif qtype == "numerical":
        units = el.find("units")
        for unit in units.findall("unit") if units is not None else []:
            named = (unit.findtext("unit_name") or "").strip()
            if named or (unit.findtext("multiplier") or "1").strip() not in ("1", "1.0"):
                raise XmlRefusal(msg("units on a numerical question are not supported"))
        key, fbs = [], []
        for a in answers:
            raw = _text(a).strip()
            try:
                tol = abs(float(a.findtext("tolerance") or 0))
            except ValueError:
                raise XmlRefusal(msg("tolerance of “%(value)s” is not a number", value=raw)) from None
            if raw in ("*", ""):  # Moodle: an empty answer is "*", any other response
                value = None
            else:
                try:
                    value = float(raw)
                except ValueError:
                    raise XmlRefusal(msg("numerical answer “%(value)s” is not a number", value=raw)) from None
            key.append(
                {"value": value, "tolerance": tol if value is not None else 0.0, "fraction": _fraction(a)}
            )
            fbs.append(b.add(_part(a.find("feedback"), qfmt)))
        feedback = {"answers": fbs}
        qt = "numerical"
    elif qtype == "matching":
        rights, extra = [], []
        for sub in el.findall("subquestion"):
            left = _part(sub, qfmt)
            right = _text(sub.find("answer")).strip()
            if left[0]:
                options.append(b.add(left))
                rights.append(right)
            else:
                extra.append(right)
        key, qt = {"answers": rights, "extra": extra}, "matching"
    else:  # essay
        info = el.find("graderinfo")
        key, qt = (_part(info, qfmt)[0] if info is not None else ""), "short_answer"
    return _resolve(b, qt, name, category, options, key, weights, feedback, points)


def _resolve(
    b: Builder,
    qt: str,
    name: Any,
    category: Any,
    options: list[int],
    key: Any,
    weights: Any,
    feedback: Any,
    points: float,
) -> dict[str, Any]:
    def resolve(value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return b.get(value)
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return value

    fb = resolve(feedback) if feedback is not None else None
    if fb is not None and not any_text(fb):
        fb = None
    return {
        "type": qt,
        "name": name,
        "stem": b.get(0),
        "explanation": b.get(1) or None,
        "options": [b.get(i) for i in options],
        "key": key,
        "weights": weights,
        "feedback": fb,
        "text_format": "html" if b.html else "plain",
        "category": category,
        "points": points,
    }


# ---------------------------------------------------------------- writing


def _text_el(parent: Element, tag: str, text: str, fmt: str | None = None) -> Element:
    el = SubElement(parent, tag)
    if fmt:
        el.set("format", fmt)
    SubElement(el, "text").text = text or ""
    return el


def _num(value: float) -> str:
    return f"{value:.10g}"


def _pct(fraction: float) -> str:
    value = round(fraction * 100, 5)
    return str(int(value)) if value == int(value) else repr(value)


def write_question(quiz: Element, q: Any) -> bool:
    """Append ``q`` to ``quiz`` as Moodle XML; False when Moodle XML here cannot hold it (fill-in of many blanks)."""
    fmt = "html" if q.text_format == "html" else "plain_text"
    fb = q.feedback or {}
    kinds = {
        "single_choice": "multichoice",
        "multiple_choice": "multichoice",
        "true_false": "truefalse",
        "fill_blank": "shortanswer",
        "numerical": "numerical",
        "matching": "matching",
        "short_answer": "essay",
    }
    if q.type == "fill_blank" and len(q.key or []) != 1:
        return False
    el = SubElement(quiz, "question", type=kinds[q.type])
    _text_el(el, "name", q.name or "")  # Moodle names an unnamed question from its text
    _text_el(el, "questiontext", q.stem, fmt)
    _text_el(el, "generalfeedback", q.explanation or "", fmt)
    SubElement(el, "defaultgrade").text = _num(float(q.points))
    if q.type in ("single_choice", "multiple_choice"):
        single = q.type == "single_choice"
        weights = q.weights
        if not weights:
            right = [q.key] if single else list(q.key)
            weights = [(1.0 / len(right) if i in right else 0.0) for i in range(len(q.options))]
        SubElement(el, "single").text = "true" if single else "false"
        SubElement(el, "shuffleanswers").text = "true"
        SubElement(el, "answernumbering").text = "ABCD"
        ofb = fb.get("options") or []
        for i, option in enumerate(q.options):
            a = _text_el(el, "answer", option, fmt)
            a.set("fraction", _pct(weights[i]))
            _text_el(a, "feedback", ofb[i] if i < len(ofb) else "", fmt)
    elif q.type == "true_false":
        for word in ("true", "false"):
            a = _text_el(el, "answer", word, "moodle_auto_format")
            a.set("fraction", "100" if (word == "true") == bool(q.key) else "0")
            _text_el(a, "feedback", fb.get(word) or "", fmt)
    elif q.type == "fill_blank":
        SubElement(el, "usecase").text = "0"
        weights = (q.weights or [[1.0] * len(q.key[0])])[0]
        afb = (fb.get("answers") or [[]])[0]
        for j, accepted in enumerate(q.key[0]):
            a = _text_el(el, "answer", accepted, "moodle_auto_format")
            a.set("fraction", _pct(weights[j]))
            _text_el(a, "feedback", afb[j] if j < len(afb) else "", fmt)
    elif q.type == "numerical":
        afb = fb.get("answers") or []
        for j, item in enumerate(q.key):
            a = _text_el(
                el, "answer", "*" if item.get("value") is None else _num(item["value"]), "moodle_auto_format"
            )
            a.set("fraction", _pct(item.get("fraction", 1)))
            SubElement(a, "tolerance").text = _num(item.get("tolerance") or 0)
            _text_el(a, "feedback", afb[j] if j < len(afb) else "", fmt)
    elif q.type == "matching":
        SubElement(el, "shuffleanswers").text = "true"
        for left, right in zip(q.options, q.key["answers"], strict=False):
            sub = _text_el(el, "subquestion", left, fmt)
            _text_el(sub, "answer", right)
        for right in q.key.get("extra") or []:
            sub = _text_el(el, "subquestion", "", fmt)
            _text_el(sub, "answer", right)
    else:  # essay
        SubElement(el, "responseformat").text = "editor"
        _text_el(el, "graderinfo", str(q.key or ""), fmt)
    return True


def write_xml(questions: list[Any]) -> tuple[bytes, list[Any]]:
    """A bank's questions as a Moodle XML file (a category question before each category); also those left out."""
    quiz = Element("quiz")
    skipped = []
    category: Any = object()
    for q in questions:
        if (q.category or None) != category:
            category = q.category or None
            cat = SubElement(quiz, "question", type="category")
            _text_el(cat, "category", "$course$/top" + ("/" + category if category else ""))
        if not write_question(quiz, q):
            skipped.append(q)
    body = tostring(quiz, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8"), skipped
