"""Moodle GIFT, read and written the way Moodle's own ``qformat_gift`` does (question/format/gift/format.php).

Every question comes out as Moodle reads it — type, weights (fractions), per-answer and general feedback, name,
category, text format — or is refused with a message that names the construct and the line. What Moodle reads in
a way this system cannot grade the same (a second answer block, a negative single-choice weight, lowercase
``{true}``, more than eight options …) is refused, never guessed.
"""

from __future__ import annotations

import re
from typing import Any

from lms.core.i18n import msg
from quizzes.textfmt import FORMAT_NAMES, needs_html, to_html, to_plain
from quizzes.types import BLANK_RE, LETTERS, pct

# Moodle's escapedchar_pre: "\\" is a backslash, "\:" "\#" "\=" "\{" "\}" "\~" literal, "\n" a line break.
_BS = "\ue000"
_ESCAPES = {"\\:": "\ue001", "\\#": "\ue002", "\\=": "\ue003", "\\{": "\ue004", "\\}": "\ue005", "\\~": "\ue006",
            "\\n": "\ue007"}  # fmt: skip
_UNESCAPE = {
    "\ue001": ":",
    "\ue002": "#",
    "\ue003": "=",
    "\ue004": "{",
    "\ue005": "}",
    "\ue006": "~",
    "\ue007": "\n",
}
_WEIGHT = re.compile(r"^%-*([0-9]{1,2})\.?([0-9]*)%")  # Moodle's $giftanswerweightregex
MOODLE_BLANK = "____"
TF_WORDS = ("T", "TRUE", "F", "FALSE")


class GiftRefusal(Exception):
    """A construct this reader refuses; the message names it."""


def escape_pre(text: str) -> str:
    text = text.replace("\\\\", _BS)
    for k, v in _ESCAPES.items():
        text = text.replace(k, v)
    return text.replace(_BS, "\\")


def escape_post(text: str) -> str:
    for k, v in _UNESCAPE.items():
        text = text.replace(k, v)
    return text


def text_with_format(text: str, default: str = "moodle") -> tuple[str, str]:
    """Moodle's parse_text_with_format: a leading [html]/[moodle]/[plain]/[markdown] sets the format."""
    fmt = default
    if text.startswith("["):
        end = text.find("]")
        name = text[1:end] if end > 0 else ""
        if name in FORMAT_NAMES:
            fmt = name
            text = text[end + 1 :]
    return escape_post(text).strip(), fmt


def weight_of(answer: str) -> tuple[float | None, str]:
    """Moodle's answerweightparser: ``%50%text`` → (0.5, "text"); no weight → (None, answer)."""
    if not _WEIGHT.match(answer):
        return None, answer
    body = answer[1:]
    end = body.find("%")
    raw = body[:end]
    try:
        value = float(raw) / 100
    except ValueError:  # "%--50%": Moodle's regex takes it, PHP reads it as 0
        value = 0.0
    return value, body[end + 1 :]


def comment(answer: str, default: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """Moodle's commentparser: ``text#feedback``."""
    text, sep, feedback = answer.partition("#")
    return text_with_format(text.strip(), default), text_with_format(feedback.strip(), default) if sep else (
        "",
        default,
    )


def category_path(raw: str) -> str | None:
    """``$course$/top/Default for X/Sub`` → ``Default for X/Sub`` (Moodle's ``//`` is a slash in a name)."""
    text = raw.strip()
    text = re.sub(r"^\$[a-z0-9]+\$/?", "", text)
    parts = [p.strip().replace("\ue008", "/") for p in text.replace("//", "\ue008").split("/")]
    if parts and parts[0] == "top":
        parts = parts[1:]
    parts = [p for p in parts if p]
    if not parts:
        return None
    path = "/".join(parts)
    return path if len(path) <= 100 else "…" + path[-99:]


_IMG_SRC = re.compile(r"<img\b[^>]*?\bsrc=\"([^\"]*)\"", re.I)


def check_images(html_text: str) -> str:
    """Refuse a picture the page could not show: one linked from an address (Content-Security-Policy lets pages
    load images only from this site or a ``data:`` URL, and an imported link points elsewhere). A picture inside
    the text as a ``data:image/…`` URL is kept."""
    for src in _IMG_SRC.findall(html_text):
        if not src.strip().lower().startswith("data:image/"):
            shown = src if len(src) <= 80 else src[:77] + "…"
            raise GiftRefusal(
                msg(
                    "an image linked from an address (%(src)s): pictures are not fetched from other sites, so "
                    "it would not show; put the picture in the text as a data: URL or remove it",
                    src=shown,
                )
            )
    return html_text


class Builder:
    """Collect the texts of one question with their formats, then store them plain or as sanitised HTML."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def add(self, part: tuple[str, str]) -> int:
        self.texts.append(part)
        return len(self.texts) - 1

    @property
    def html(self) -> bool:
        return any(needs_html(t, f) for t, f in self.texts if t)

    def get(self, index: int) -> str:
        text, fmt = self.texts[index]
        if not text:
            return ""
        return check_images(to_html(text, fmt)) if self.html else text

    def plain(self, index: int) -> str:
        text, fmt = self.texts[index]
        return to_plain(text, fmt)


def read_question(lines: list[tuple[int, str]], category: str | None) -> dict[str, Any] | str | None:
    """Read one blank-line-separated block; return a question dict, a category path ("$CATEGORY"), or None.

    Raises GiftRefusal with a message naming what is refused.
    """
    kept = [line for _n, line in lines if not line.strip().startswith("//")]
    text = "\n".join(kept).strip()
    if not text:
        return None
    text = escape_pre(text)
    if text.startswith("$CATEGORY:"):
        cat_lines = text.splitlines()
        if len(cat_lines) > 1:
            raise GiftRefusal(
                msg(
                    "a $CATEGORY line must stand alone, followed by a blank line (Moodle would take the "
                    "question below it as part of the category name)"
                )
            )
        return "$CATEGORY:" + (category_path(escape_post(text[10:])) or "")
    name = None
    if text.startswith("::"):
        text = text[2:]
        end = text.find("::")
        if end >= 0:
            name = escape_post(text[:end]).strip()[:255] or None
            text = text[end + 2 :].strip()
    start, finish = text.find("{"), text.find("}")
    if start < 0 and finish < 0:
        raise GiftRefusal(
            msg(
                "text without an answer block { … }: Moodle would import it as a description, not a question; "
                "add the answers or remove it"
            )
        )
    if start < 0 or finish < 0 or finish < start:
        raise GiftRefusal(msg("an answer block is not closed: a { without its } (or a } without its {)"))
    if "{" in text[finish + 1 :] or "}" in text[finish + 1 :]:
        raise GiftRefusal(
            msg(
                "a second answer block { … } in one question: GIFT has one per question (Moodle would show the "
                "second as text); use one question per blank"
            )
        )
    answertext = text[start + 1 : finish].strip()
    if text.endswith("}"):
        questiontext = text[:start] + text[finish + 1 :]
        blank = False
    else:
        questiontext = text[:start] + MOODLE_BLANK + text[finish + 1 :]
        blank = True
    general = ""
    sep = answertext.rfind("####")
    if sep >= 0:
        general = answertext[sep + 4 :]
        answertext = answertext[:sep].strip()
    b = Builder()
    stem_part = text_with_format(questiontext)
    qfmt = stem_part[1]
    b.add(stem_part)
    b.add(text_with_format(general.strip(), qfmt))
    if not stem_part[0].replace(MOODLE_BLANK, "").strip():
        raise GiftRefusal(msg("the question text is missing"))

    if answertext == "":
        return _finish(b, name, category, "short_answer", [], "", None, None)
    if answertext.startswith("#"):
        return _numerical(b, name, category, answertext[1:], qfmt)
    if "~" in answertext:
        return _multichoice(b, name, category, answertext, qfmt)
    if "=" in answertext and "->" in answertext:
        return _matching(b, name, category, answertext, qfmt)
    tf_check = answertext.split("#", 1)[0].strip() if answertext.find("#") > 0 else answertext
    if tf_check in TF_WORDS:
        bits = answertext.split("#", 2)
        wrong = b.add(text_with_format(bits[1].strip(), qfmt)) if len(bits) > 1 else b.add(("", qfmt))
        right = b.add(text_with_format(bits[2].strip(), qfmt)) if len(bits) > 2 else b.add(("", qfmt))
        truth = tf_check in ("T", "TRUE")
        return _finish(b, name, category, "true_false", [], truth, None, {"wrong": wrong, "right": right})
    if tf_check.upper() in TF_WORDS:
        raise GiftRefusal(
            msg(
                "{%(word)s}: Moodle reads a lowercase true/false word as a short answer that accepts the text "
                "“%(word)s”; write {TRUE}/{FALSE} or {T}/{F} for a true/false question",
                word=escape_post(tf_check),
            )
        )
    return _shortanswer(b, name, category, answertext, qfmt, blank)


def _split_answers(answertext: str, mark: str) -> list[str]:
    answers = answertext.split(mark)
    if answers and not answers[0].strip():
        answers = answers[1:]
    return answers


def _multichoice(
    b: Builder, name: str | None, category: str | None, answertext: str, qfmt: str
) -> dict[str, Any]:
    single = "=" in answertext
    answers = _split_answers(answertext.replace("=", "~="), "~")
    if len(answers) < 2:
        raise GiftRefusal(msg("a choice question needs at least two answers"))
    if len(answers) > len(LETTERS):
        raise GiftRefusal(msg("more than %(n)d options in a choice question", n=len(LETTERS)))
    options, fractions, feedback = [], [], []
    for answer in answers:
        answer = answer.strip()
        if answer.startswith("="):
            weight, answer = 1.0, answer[1:]
        else:
            weight, answer = weight_of(answer)
            weight = 0.0 if weight is None else weight
        text, fb = comment(answer, qfmt)
        if not text[0].strip() and not weight and not fb[0].strip():
            continue  # Moodle's save_question_options skips a completely blank answer ("{~ =a ~b}")
        options.append(b.add(text))
        feedback.append(b.add(fb))
        fractions.append(round(weight, 7))
    if len(options) < 2:
        raise GiftRefusal(msg("a choice question needs at least two answers"))
    if single:
        if any(f < 0 for f in fractions):
            raise GiftRefusal(
                msg(
                    "a negative weight on an option of a single-choice question (Moodle would take marks away); "
                    "not supported"
                )
            )
        if not any(abs(f - 1) < 1e-6 for f in fractions):
            raise GiftRefusal(msg("a single-choice question needs one option worth 100 percent"))
        key = next(i for i, f in enumerate(fractions) if abs(f - 1) < 1e-6)
        plain = sorted(fractions) == [0.0] * (len(fractions) - 1) + [1.0]
        return _finish(
            b,
            name,
            category,
            "single_choice",
            options,
            key,
            None if plain else fractions,
            {"options": feedback},
        )
    positive = sum(f for f in fractions if f > 0)
    if abs(positive - 1) > 0.001:
        raise GiftRefusal(
            msg(
                "the positive weights of a multiple-answer question add up to %(sum)s%%, not 100%% "
                "(Moodle refuses it too)",
                sum=pct(positive),
            )
        )
    key = [i for i, f in enumerate(fractions) if f > 0]
    return _finish(b, name, category, "multiple_choice", options, key, fractions, {"options": feedback})


def _matching(
    b: Builder, name: str | None, category: str | None, answertext: str, qfmt: str
) -> dict[str, Any]:
    answers = _split_answers(answertext, "=")
    if len(answers) < 2:
        raise GiftRefusal(msg("a matching question needs at least two pairs"))
    lefts, rights, extra = [], [], []
    for answer in answers:
        answer = answer.strip()
        if "->" not in answer:
            raise GiftRefusal(msg("matching pair “%(pair)s” has no ->", pair=escape_post(answer)[:60]))
        marker = answer.find("->")
        left = text_with_format(answer[:marker].strip(), qfmt)
        right = escape_post(answer[marker + 2 :]).strip()
        if not left[0]:
            extra.append(right)
        else:
            lefts.append(b.add(left))
            rights.append(right)
    if len(lefts) < 2:
        raise GiftRefusal(msg("a matching question needs at least two pairs"))
    return _finish(b, name, category, "matching", lefts, {"answers": rights, "extra": extra}, None, None)


def _number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def _numerical(
    b: Builder, name: str | None, category: str | None, answertext: str, qfmt: str
) -> dict[str, Any]:
    wrong = ""
    pos = answertext.find("~")
    if pos >= 0:
        answertext, wrong = answertext[:pos], answertext[pos:]
    answers = _split_answers(answertext, "=")
    if not answers:
        raise GiftRefusal(msg("a numerical question {# … } has no answer"))
    key, feedback = [], []
    for answer in answers:
        answer = answer.strip()
        weight, answer = weight_of(answer)
        (text, _f), fb = comment(answer, qfmt)
        if ".." in text[1:]:
            low, high = text.split("..", 1)
            lo, hi = _number(low), _number(high)
            if lo is None or hi is None:
                raise GiftRefusal(msg("numerical range “%(text)s” is not two numbers", text=text))
            value, tol = (lo + hi) / 2, hi - (lo + hi) / 2
        elif ":" in text[1:]:
            ans, margin = text.split(":", 1)
            value, tol = _number(ans), _number(margin)
            if value is None or tol is None:
                raise GiftRefusal(msg("numerical answer “%(text)s” is not number:margin", text=text))
        else:
            value, tol = _number(text), 0.0
            if value is None:
                raise GiftRefusal(msg("numerical answer “%(text)s” is not a number", text=text))
        if tol < 0:
            raise GiftRefusal(msg("numerical answer “%(text)s” has a negative margin", text=text))
        key.append({"value": value, "tolerance": abs(tol), "fraction": 1.0 if weight is None else weight})
        feedback.append(b.add(fb))
    if wrong:
        _t, fb = comment(wrong[1:], qfmt)
        key.append({"value": None, "tolerance": 0.0, "fraction": 0.0})
        feedback.append(b.add(fb))
    return _finish(b, name, category, "numerical", [], key, None, {"answers": feedback})


def _shortanswer(
    b: Builder, name: str | None, category: str | None, answertext: str, qfmt: str, blank: bool
) -> dict[str, Any]:
    answers = _split_answers(answertext, "=")
    if not answers:
        raise GiftRefusal(msg("a short-answer question needs at least one answer"))
    accepted, fractions, feedback = [], [], []
    for answer in answers:
        answer = answer.strip()
        weight, answer = weight_of(answer)
        (text, _f), fb = comment(answer, qfmt)
        if not text:
            raise GiftRefusal(msg("an empty accepted answer in a short-answer question"))
        accepted.append(text)
        fractions.append(1.0 if weight is None else round(weight, 7))
        feedback.append(b.add(fb))
    if any(f < 0 for f in fractions):
        raise GiftRefusal(msg("a negative weight on a short answer; not supported"))
    if not any(abs(f - 1) < 1e-6 for f in fractions):
        raise GiftRefusal(msg("a short-answer question needs one accepted answer worth 100 percent"))
    weights = None if all(abs(f - 1) < 1e-6 for f in fractions) else [fractions]
    return _finish(b, name, category, "fill_blank", [], [accepted], weights, {"answers": [feedback]})


def _finish(
    b: Builder,
    name: str | None,
    category: str | None,
    qtype: str,
    options: list[int],
    key: Any,
    weights: Any,
    feedback: Any,
) -> dict[str, Any]:
    def resolve(value: Any) -> Any:
        if isinstance(value, int):
            return b.get(value)
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return value

    fb = resolve(feedback) if feedback is not None else None
    if qtype == "true_false" and fb is not None:
        # Moodle: the first feedback is shown to a wrong answer, the second to a right one.
        fb = (
            {"true": fb["right"], "false": fb["wrong"]}
            if key
            else {"true": fb["wrong"], "false": fb["right"]}
        )
    if fb is not None and not any_text(fb):
        fb = None
    return {
        "type": qtype,
        "name": name,
        "stem": b.get(0),
        "stem_plain": b.plain(0),
        "explanation": b.get(1) or None,
        "options": [b.get(i) for i in options],
        "key": key,
        "weights": weights,
        "feedback": fb,
        "text_format": "html" if b.html else "plain",
        "category": category,
    }


def any_text(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list):
        return any(any_text(v) for v in value)
    if isinstance(value, dict):
        return any(any_text(v) for v in value.values())
    return False


def iter_blocks(text: str) -> list[list[tuple[int, str]]]:
    """Split a GIFT file into questions at blank lines, as Moodle's readquestions (lines trimmed)."""
    blocks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            if current:
                blocks.append(current)
            current = []
        else:
            current.append((lineno, line))
    if current:
        blocks.append(current)
    return blocks


def first_line(block: list[tuple[int, str]]) -> int:
    for n, line in block:
        if not line.startswith("//"):
            return n
    return block[0][0]


# ---------------------------------------------------------------- writing


def repchar(text: str) -> str:
    """Moodle's repchar: escape the characters GIFT reserves; a line break becomes \\n."""
    out = text.replace("\\", "\\\\")
    for ch in "#=~{}:":
        out = out.replace(ch, "\\" + ch)
    return out.replace("\r", "").replace("\n", "\\n")


def _text(q: Any, text: str) -> str:
    if not text:
        return ""
    if q.text_format == "html":
        return "[html]" + repchar(text)
    from quizzes.textfmt import looks_like_html

    return ("[plain]" if looks_like_html(text) else "") + repchar(text)


def _fb(q: Any, text: Any) -> str:
    return "#" + _text(q, text) if text else ""


def _with_block(q: Any, stem: str, block: str) -> str:
    m = BLANK_RE.search(stem) if q.type in ("single_choice", "multiple_choice", "fill_blank") else None
    if m and stem[m.end() :].strip():
        return _text(q, stem[: m.start()]) + block + repchar(stem[m.end() :])
    return _text(q, stem) + block


def write_question(q: Any) -> str | None:
    """One question as GIFT (as Moodle's writequestion), or None when GIFT cannot hold it."""
    name = "::" + repchar(q.name) + "::" if q.name else ""  # no name: none comes back either
    fb = q.feedback or {}
    general = ("\t####" + _text(q, q.explanation) + "\n") if q.explanation else ""
    if q.type == "true_false":
        right, wrong = (fb.get("true"), fb.get("false")) if q.key else (fb.get("false"), fb.get("true"))
        body = "TRUE" if q.key else "FALSE"
        if wrong:
            body += "#" + _text(q, wrong)
        elif right:
            body += "#"
        if right:
            body += "#" + _text(q, right)
        if q.explanation:
            body += "####" + _text(q, q.explanation)
        return name + _text(q, q.stem) + "{" + body + "}\n"
    if q.type == "short_answer":
        return (
            name
            + _text(q, q.stem)
            + "{"
            + ("####" + _text(q, q.explanation) if q.explanation else "")
            + "}\n"
        )
    lines: list[str] = []
    if q.type in ("single_choice", "multiple_choice"):
        weights = q.weights or [
            1.0 if (i == q.key if q.type == "single_choice" else i in (q.key or [])) else 0.0
            for i in range(len(q.options))
        ]
        if q.type == "multiple_choice" and not q.weights:
            n = len(q.key or [])
            weights = [round(1 / n, 7) if w else 0.0 for w in weights]
        feedback = fb.get("options") if isinstance(fb, dict) else None
        for i, option in enumerate(q.options):
            w = weights[i]
            mark = (
                "="
                if (abs(w - 1) < 1e-9 and q.type == "single_choice")
                else ("~" if w == 0 else f"~%{pct(w)}%")
            )
            lines.append("\t" + mark + _text(q, option) + _fb(q, feedback[i] if feedback else ""))
    elif q.type == "fill_blank":
        if len(q.key or []) != 1:
            return None
        weights = (q.weights or [[1.0] * len(q.key[0])])[0]
        feedback = (fb.get("answers") or [[]])[0] if isinstance(fb, dict) else []
        for j, accepted in enumerate(q.key[0]):
            lines.append(
                f"\t=%{pct(weights[j])}%"
                + repchar(accepted)
                + "#"
                + (_text(q, feedback[j]) if j < len(feedback) else "")
            )
    elif q.type == "matching":
        for left, right in zip(q.options, q.key["answers"], strict=False):
            lines.append("\t=" + _text(q, left) + " -> " + repchar(right))
        for right in q.key.get("extra") or []:
            lines.append("\t= -> " + repchar(right))
    elif q.type == "numerical":
        feedback = fb.get("answers") or [] if isinstance(fb, dict) else []
        for j, a in enumerate(q.key):
            text = _text(q, feedback[j]) if j < len(feedback) and feedback[j] else ""
            if a.get("value") is None:
                lines.append("\t~#" + text)
            else:
                lines.append(f"\t=%{pct(a['fraction'])}%{a['value']:g}:{a['tolerance']:g}#" + text)
    else:  # a type GIFT cannot hold
        return None
    block = "{" + ("#" if q.type == "numerical" else "") + "\n" + "\n".join(lines) + "\n" + general + "}"
    return name + _with_block(q, q.stem, block) + "\n"


def write_gift(questions: list[Any]) -> tuple[str, list[Any]]:
    """A bank's questions as a GIFT file, one $CATEGORY block per category; also the questions left out."""
    out: list[str] = []
    skipped: list[Any] = []
    category: Any = object()
    for q in questions:
        text = write_question(q)
        if text is None:
            skipped.append(q)
            continue
        if (q.category or None) != category:
            category = q.category or None
            out.append("$CATEGORY: $course$/top" + ("/" + category if category else "") + "\n\n")
        out.append(f"// question: {q.id}  name: {q.name or ''}\n" + text + "\n")
    return "".join(out), skipped
