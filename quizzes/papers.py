"""What every taker of an exam shares, computed once per process and checked on each use (issue 20).

On exam day thousands of people start the same exam and load papers made of the same questions. Two caches,
both per process (gunicorn workers share nothing; each keeps its own and checks it against the database):

- **Pools**: for each rule of an exam, the questions it may draw, with their current version id, type, option
  count and points. Cached by exam and by the rules themselves (kind, bank, filters, count, points), and checked
  on every start against a *stamp* that the database computes in one statement: per rule, how many questions it
  may draw, the sum of their ids and of their current versions' ids, and their latest ``updated_at``. An edited
  question (new version), a question added, published, unpublished or moved out of the rule's filters, a bank
  archived or marked for practice all change the stamp, so the next start recomputes the pool: a start always
  draws the current versions of the questions the rules allow now, as without the cache.
- **Public parts**: a question version as the browser may see it (stem and options rendered and sanitised, the
  blanks, a matching question's choices), cached by version id and creation time. Versions are never changed
  (an edit makes a new one), so an entry never goes stale. Never the key, the weights or the explanation.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from decimal import Decimal
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import and_, func, literal, select, union_all

from lms.core.db import db
from quizzes.exams import rule_query
from quizzes.models import PUBLISHED, RULE_FIXED, Exam, PaperRule, Question, QuestionVersion
from quizzes.types import get_type

MAX_EXAMS = 256  # pools kept per process (least recently used dropped first)
MAX_VERSIONS = 20_000  # public parts kept per process


@dataclasses.dataclass(frozen=True, slots=True)
class Candidate:
    """A question a rule may draw, as its current version stands."""

    question_id: int
    version_id: int
    type: str
    n_options: int  # 0 for a type without options
    points: Decimal


@dataclasses.dataclass(frozen=True, slots=True)
class Pools:
    """Per rule (in the rules' order), what it may draw; ``stamp`` is what the database said when computed."""

    signature: tuple[Any, ...]
    stamp: tuple[Any, ...]
    by_rule: tuple[tuple[Candidate, ...], ...]


_lock = threading.Lock()
_pools: OrderedDict[int, Pools] = OrderedDict()
_parts: OrderedDict[tuple[int, Any], dict[str, Any]] = OrderedDict()


def clear() -> None:
    """Forget everything cached (tests; never needed for correctness)."""
    with _lock:
        _pools.clear()
        _parts.clear()


def _signature(exam: Exam, rules: list[PaperRule]) -> tuple[Any, ...]:
    rules_key = tuple(
        (r.id, r.kind, r.question_id, r.bank_id, r.type, r.category, r.difficulty, r.count, r.points)
        for r in rules
    )
    return (exam.enterprise_id, exam.mode, rules_key)


def _candidates(rule: PaperRule, exam: Exam) -> Any:
    """The rule's drawable questions joined with their current version (a select of question id, version id)."""
    if rule.kind == RULE_FIXED:
        q = select(Question.id).where(Question.id == rule.question_id, Question.status == PUBLISHED)
    else:
        q = rule_query(rule, exam.enterprise_id)
    return q.join(
        QuestionVersion,
        and_(QuestionVersion.question_id == Question.id, QuestionVersion.number == Question.version),
    )


def _stamp(exam: Exam, rules: list[PaperRule]) -> tuple[Any, ...]:
    """One statement: per rule, count, sum of question ids and of version ids, latest change."""
    parts = []
    for pos, rule in enumerate(rules):
        sub = (
            _candidates(rule, exam)
            .add_columns(QuestionVersion.id.label("vid"), Question.updated_at)
            .subquery()
        )
        parts.append(
            select(
                literal(pos).label("pos"),
                func.count(),
                func.coalesce(func.sum(sub.c.id), 0),
                func.coalesce(func.sum(sub.c.vid), 0),
                func.max(sub.c.updated_at),
            ).select_from(sub)
        )
    if not parts:
        return ()
    stmt = parts[0] if len(parts) == 1 else union_all(*parts)
    rows = sorted(tuple(r) for r in db.session.execute(stmt).all())
    return tuple((int(n), int(s), int(v), str(u)) for _pos, n, s, v, u in rows)


def _load(exam: Exam, rules: list[PaperRule]) -> tuple[tuple[Candidate, ...], ...]:
    out = []
    for rule in rules:
        rows = db.session.execute(
            _candidates(rule, exam)
            .add_columns(
                QuestionVersion.id, QuestionVersion.type, QuestionVersion.options, QuestionVersion.points
            )
            .order_by(Question.id)
        ).all()
        out.append(
            tuple(
                Candidate(
                    qid,
                    vid,
                    qtype,
                    len(options or []) if get_type(qtype).has_options else 0,
                    Decimal(points),
                )
                for qid, vid, qtype, options, points in rows
            )
        )
    return tuple(out)


def pools(exam: Exam, rules: list[PaperRule]) -> tuple[tuple[Candidate, ...], ...]:
    """What each rule may draw now: the cached pools when the database's stamp still matches, else fresh ones."""
    signature = _signature(exam, rules)
    stamp = _stamp(exam, rules)
    with _lock:
        cached = _pools.get(exam.id)
        if cached is not None:
            _pools.move_to_end(exam.id)
    if cached is not None and cached.signature == signature and cached.stamp == stamp:
        return cached.by_rule
    fresh = Pools(signature, stamp, _load(exam, rules))
    # The stamp read before the pools: a change committed in between makes the next start look again.
    with _lock:
        _pools[exam.id] = fresh
        _pools.move_to_end(exam.id)
        while len(_pools) > MAX_EXAMS:
            _pools.popitem(last=False)
    return fresh.by_rule


# ---------------------------------------------------------------- public parts of a version

_TRUE_FALSE = ({"value": "true", "text": _l("True")}, {"value": "false", "text": _l("False")})


def _public(version: Any) -> dict[str, Any]:
    view = get_type(version.type).public_view(version, None)
    if version.type == "true_false":
        # Labels in the reader's language (lazy strings, translated when shown), not the first reader's.
        view["options"] = list(_TRUE_FALSE)
    return view


def public_parts(versions: dict[int, Any]) -> dict[int, dict[str, Any]]:
    """The public view (options in their original order) of each version id, keyed by id.

    ``versions``: {version id: creation time}. Versions not cached yet are loaded in one statement.
    """
    out: dict[int, dict[str, Any]] = {}
    missing = []
    with _lock:
        for vid, created in versions.items():
            view = _parts.get((vid, created))
            if view is None:
                missing.append(vid)
            else:
                out[vid] = view
    if missing:
        loaded = db.session.scalars(select(QuestionVersion).where(QuestionVersion.id.in_(missing))).all()
        with _lock:
            for v in loaded:
                view = _public(v)
                out[v.id] = view
                _parts[(v.id, v.created_at)] = view
            while len(_parts) > MAX_VERSIONS:
                _parts.popitem(last=False)
    return out


def shown(view: dict[str, Any], option_order: list[int] | None) -> dict[str, Any]:
    """A cached public view with its options in the order one person sees them."""
    if option_order is None or not view["options"] or view["type"] == "true_false":
        return view
    options = view["options"]
    return {**view, "options": [options[i] for i in option_order]}


# ---------------------------------------------------------------- the inputs of a choice question

_LETTERS = "ABCDEFGH"


def choice_inputs(view: dict[str, Any], aid: int, answer: Any) -> Markup | None:
    """The inputs of a single/multiple choice or true/false question as ``quizzes/_q.html``'s ``inputs`` macro
    writes them (not disabled), built from the view's texts; None for other types (the macro writes them).

    Every paper shows 20 or so of these; a macro call per option was most of the paper's CPU (issue 20).
    """
    qtype = view["type"]
    if qtype == "true_false":
        on_true, on_false = ("checked" if answer is True else ""), ("checked" if answer is False else "")
        return Markup(
            f'<label class="opt"><input type="radio" name="a-{aid}" value="true" {on_true} > √ '
            f"{escape(gettext('True'))}</label>\n"
            f'<label class="opt"><input type="radio" name="a-{aid}" value="false" {on_false} > × '
            f"{escape(gettext('False'))}</label>"
        )
    if qtype == "single_choice":
        kind, chosen = "radio", (lambda v: answer == v)
    elif qtype == "multiple_choice":
        kind, chosen = "checkbox", (lambda v: isinstance(answer, list) and v in answer)
    else:
        return None
    parts = []
    for n, o in enumerate(view["options"]):
        letter = _LETTERS[n] if n < len(_LETTERS) else ""
        checked = "checked" if chosen(o["value"]) else ""
        parts.append(
            f'<label class="opt"><input type="{kind}" name="a-{aid}" value="{o["value"]}" {checked} > '
            f"<b>{letter}.</b> {escape(o['text'])}</label>"
        )
    return Markup("".join(parts))
