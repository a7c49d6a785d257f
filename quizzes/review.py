"""What a learner is told about answers: the key and their answer as they read them, the feedback of
a practice check, and the mistake book. Whether a key may be shown at all is ``key_policy``'s answer.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

from flask import has_request_context
from sqlalchemy import select

from lms.core.db import db, utcnow
from lms.core.errors import DomainError, NotFound
from lms.org.models import Person
from quizzes.attempts import attempt_question
from quizzes.banks import current_version
from quizzes.key_policy import released_questions, withheld_questions
from quizzes.models import (
    GRADED,
    MODE_PRACTICE,
    Attempt,
    AttemptQuestion,
    Exam,
    MistakeEntry,
    QuestionVersion,
)
from quizzes.types import LETTERS, _, get_type


def _plain(version: QuestionVersion, text: str) -> str:
    if getattr(version, "text_format", None) == "html":
        return html.unescape(re.sub(r"<[^>]*>", "", text or "")).strip()
    return text or ""


def key_label(version: QuestionVersion, option_order: list[int] | None = None) -> str:
    """The key as a learner reads it: a choice as the letter shown and the option's text ("B. 检测")."""
    if version.type in ("single_choice", "multiple_choice"):
        keys = [version.key] if version.type == "single_choice" else list(version.key or [])
        return _choice_labels(version, keys, option_order)
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
    aq = attempt_question(attempt, aq_id)
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


# ---------------------------------------------------------------- mistake book


def mistakes(person_id: int, *, include_mastered: bool = False) -> list[MistakeEntry]:
    q = select(MistakeEntry).where(MistakeEntry.person_id == person_id)
    if not include_mastered:
        q = q.where(MistakeEntry.mastered_at.is_(None))
    return list(db.session.scalars(q.order_by(MistakeEntry.last_wrong_at.desc())))


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
