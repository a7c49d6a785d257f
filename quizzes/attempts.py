"""Sitting an exam: the person's standing, starting an attempt (drawing its paper), saving answers,
submitting (by the learner, at the deadline, by the periodic sweep).

Attempt safety, in short:
- one open attempt per exam and person is a unique partial index; ``start_attempt`` inserts in a savepoint and, on
  a conflict, returns the attempt the concurrent request made;
- saves lock the attempt row, check it is open and within deadline + grace, and update an answer only when the
  sequence number is newer (a conditional UPDATE), so a stale save never overwrites a newer one;
- submitting is a conditional UPDATE ... WHERE status = 'open': only one request wins and grades.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import random
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, Select, and_, bindparam, func, insert, literal, literal_column, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from lms.core import signals
from lms.core.db import db, utcnow
from lms.core.errors import Conflict, DomainError, NotFound
from lms.org.models import Person, User
from quizzes import grading, papers
from quizzes.exams import extension_for
from quizzes.key_policy import withheld_questions
from quizzes.models import (
    COUNTS_LAST,
    GRADED,
    MODE_EXAM,
    MODE_PRACTICE,
    OPEN,
    PUBLISHED,
    RULE_FIXED,
    SUBMITTED,
    Attempt,
    AttemptAnswer,
    AttemptQuestion,
    Exam,
    ExamExtension,
    Question,
    QuestionVersion,
)
from quizzes.types import _, get_type

GRACE = dt.timedelta(seconds=5)


# ---------------------------------------------------------------- standing


def open_attempt(exam_id: int, person_id: int) -> Attempt | None:
    return db.session.scalar(
        select(Attempt).where(
            Attempt.exam_id == exam_id, Attempt.person_id == person_id, Attempt.status == OPEN
        )
    )


def attempts_used(exam_id: int, person_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Attempt)
            .where(Attempt.exam_id == exam_id, Attempt.person_id == person_id)
        )
        or 0
    )


def attempts_left(exam: Exam, person_id: int) -> int | None:
    """Attempts the person may still start (None: unlimited)."""
    if exam.mode == MODE_PRACTICE or exam.attempts_allowed is None:
        return None
    ext = extension_for(exam.id, person_id)
    allowed = exam.attempts_allowed + (ext.extra_attempts if ext else 0)
    return max(allowed - attempts_used(exam.id, person_id), 0)


def availability(exam: Exam, person_id: int, now: dt.datetime | None = None) -> str | None:
    """Why the person cannot start an attempt now (a message), or None."""
    now = now or utcnow()
    if exam.status != PUBLISHED:
        return _("This exam is not open.")
    if exam.open_at and now < exam.open_at:
        return _("This exam opens later.")
    if exam.close_at and now >= exam.close_at:
        return _("This exam has closed.")
    left = attempts_left(exam, person_id)
    if left is not None and left <= 0:
        return _("You have used all your attempts.")
    return None


def has_passed(exam_id: int, person_id: int) -> bool:
    """Whether the person has a graded, passed attempt of the exam."""
    return bool(
        db.session.scalar(
            select(func.count())
            .select_from(Attempt)
            .where(
                Attempt.exam_id == exam_id,
                Attempt.person_id == person_id,
                Attempt.status == GRADED,
                Attempt.passed.is_(True),
            )
        )
    )


def _counting(exam: Exam, graded: list[Attempt]) -> Attempt | None:
    """``grading.counting_attempt`` over attempts already read: highest score (earliest first), or the last."""
    if not graded:
        return None
    if exam.counts == COUNTS_LAST:
        return max(graded, key=lambda a: (a.submitted_at or dt.datetime.min, a.number))
    return min(graded, key=lambda a: (-(a.score or 0), a.submitted_at or dt.datetime.min, a.number))


def standings(exams: list[Exam], person_id: int, now: dt.datetime | None = None) -> dict[int, dict[str, Any]]:
    """The person's standing in each exam (as ``person_result``, plus ``problem`` as ``availability`` and
    ``ext``), from two statements whatever the number of exams: their attempts and their extensions."""
    now = now or utcnow()
    ids = [e.id for e in exams]
    mine: dict[int, list[Attempt]] = {i: [] for i in ids}
    exts: dict[int, ExamExtension] = {}
    if ids:
        attempts_of, extensions_of = _standing_statements()
        bound = {"person_id": person_id, "ids": ids}
        for a in db.session.scalars(attempts_of, bound):
            mine[a.exam_id].append(a)
        exts = {x.exam_id: x for x in db.session.scalars(extensions_of, bound)}
    out = {}
    for exam in exams:
        rows, ext = mine[exam.id], exts.get(exam.id)
        counting = _counting(exam, [a for a in rows if a.status == GRADED])
        left = None
        if exam.mode != MODE_PRACTICE and exam.attempts_allowed is not None:
            left = max(exam.attempts_allowed + (ext.extra_attempts if ext else 0) - len(rows), 0)
        out[exam.id] = {
            "attempts_used": len(rows),
            "attempts_left": left,
            "counting": counting,
            "passed": bool(counting and counting.passed),
            "score": counting.score if counting else None,
            "open": next((a for a in rows if a.status == OPEN), None),
            "problem": _refusal(exam, now, len(rows), ext),
            "ext": ext,
        }
    return out


@functools.cache
def _standing_statements() -> tuple[Select, Select]:
    """The person's attempts and extensions in some exams (``person_id``, ``ids`` bound), built once."""
    return (
        select(Attempt).where(
            Attempt.person_id == bindparam("person_id"), Attempt.exam_id.in_(bindparam("ids", expanding=True))
        ),
        select(ExamExtension).where(
            ExamExtension.person_id == bindparam("person_id"),
            ExamExtension.exam_id.in_(bindparam("ids", expanding=True)),
        ),
    )


def person_result(exam: Exam, person_id: int) -> dict[str, Any]:
    """The person's standing: attempts used and left, the counting attempt, whether passed."""
    standing = standings([exam], person_id)[exam.id]
    return {k: v for k, v in standing.items() if k not in ("problem", "ext")}


def learner_exams(enterprise_id: int, person_id: int) -> list[dict[str, Any]]:
    """Published exams and practices of the enterprise with the person's standing in each."""
    exams = list(db.session.scalars(_published_exams(), {"enterprise_id": enterprise_id}))
    each = standings(exams, person_id)
    return [{"exam": e, **{k: v for k, v in each[e.id].items() if k != "ext"}} for e in exams]


@functools.cache
def _published_exams() -> Select:
    """The published exams and practices of an enterprise (``enterprise_id`` bound), in ``learner_exams``' order,
    built once."""
    return (
        select(Exam)
        .where(Exam.enterprise_id == bindparam("enterprise_id"), Exam.status == PUBLISHED)
        .order_by(Exam.mode, Exam.close_at.is_(None), Exam.close_at, Exam.title)
    )


def my_attempt(attempt_id: int, person_id: int | None) -> Attempt:
    """Load the acting person's own attempt, else NotFound (someone else's attempt is never said to exist)."""
    # The paper, the result and the state read every question with its version and answer: three statements
    # in all instead of two per question (issue 20).
    attempt = db.session.get(
        Attempt,
        attempt_id,
        options=[
            selectinload(Attempt.questions).options(
                selectinload(AttemptQuestion.version), selectinload(AttemptQuestion.answer)
            )
        ],
    )
    if attempt is None or person_id is None or attempt.person_id != person_id:
        raise NotFound(_("Attempt not found."))
    return attempt


def _own_row(columns: Select, attempt_id: int, person_id: int | None, enterprise_id: int | None) -> Row:
    """``columns`` (of Attempt and Exam) of the acting person's attempt in the acting enterprise, else NotFound:
    the one check of ownership that the attempt and the paper pages share."""
    row = (
        db.session.execute(
            columns.join(Exam, Exam.id == Attempt.exam_id).where(
                Attempt.id == attempt_id, Attempt.person_id == person_id, Exam.enterprise_id == enterprise_id
            )
        ).first()
        if person_id is not None
        else None
    )
    if row is None:
        raise NotFound(_("Attempt not found."))
    return row


def own_attempt(attempt_id: int, person_id: int | None, enterprise_id: int | None) -> Attempt:
    """The acting person's attempt in the acting enterprise (with its exam, one statement), else NotFound."""
    row = _own_row(select(Attempt, Exam), attempt_id, person_id, enterprise_id)
    set_committed_value(row[0], "exam", row[1])  # the session keeps loaded objects only while referenced
    return row[0]


@dataclasses.dataclass
class Paper:
    """What the paper page shows of an open attempt: its questions as the person sees them (no key)."""

    id: int
    exam_id: int
    status: str
    deadline: dt.datetime | None
    exam_title: str
    exam_mode: str
    seq: int = 0
    questions: list[dict[str, Any]] = dataclasses.field(default_factory=list)


def own_paper(attempt_id: int, person_id: int | None, enterprise_id: int | None) -> Paper:
    """The acting person's attempt as its paper page shows it, else NotFound.

    Three statements: the attempt with its exam's title (only the person's own, in the acting enterprise), the
    questions with their saved answers, and (once per process and question version) the versions' public parts
    (``quizzes.papers``). The questions are read only while the attempt is open and in time.
    """
    row = _own_row(
        select(Attempt.id, Attempt.exam_id, Attempt.status, Attempt.deadline, Exam.title, Exam.mode),
        attempt_id,
        person_id,
        enterprise_id,
    )
    paper = Paper(*row)
    if paper.status != OPEN or is_overdue(paper):  # type: ignore[arg-type]
        return paper
    rows = db.session.execute(
        select(
            AttemptQuestion.id,
            AttemptQuestion.question_version_id,
            AttemptQuestion.option_order,
            AttemptQuestion.points,
            AttemptQuestion.flagged,
            AttemptAnswer.answer,
            AttemptAnswer.seq,
            QuestionVersion.created_at,
        )
        .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
        .outerjoin(AttemptAnswer, AttemptAnswer.attempt_question_id == AttemptQuestion.id)
        .where(AttemptQuestion.attempt_id == attempt_id)
        .order_by(AttemptQuestion.position)
    ).all()
    parts = papers.public_parts({r.question_version_id: r.created_at for r in rows})
    paper.questions = []
    for r in rows:
        view = papers.shown(parts[r.question_version_id], r.option_order)
        paper.questions.append(
            {"aq": r, "view": view, "answer": r.answer, "inputs": papers.choice_inputs(view, r.id, r.answer)}
        )
    paper.seq = max((r.seq or 0 for r in rows), default=0)
    return paper


# ---------------------------------------------------------------- the attempt


def _deadline(exam: Exam, started: dt.datetime, ext: ExamExtension | _Extra | None) -> dt.datetime | None:
    ends = []
    if exam.time_limit_minutes and exam.mode == MODE_EXAM:
        ends.append(
            started + dt.timedelta(minutes=exam.time_limit_minutes + (ext.extra_minutes if ext else 0))
        )
    if exam.close_at:
        ends.append(exam.close_at + dt.timedelta(minutes=ext.extra_minutes if ext else 0))
    return min(ends) if ends else None


def _draw(
    exam: Exam, person_id: int, rng: random.Random, now: dt.datetime | None = None, *, retake: bool = True
) -> list[tuple[papers.Candidate, Decimal]]:
    """The paper's questions with their points, drawn from the exam's shared pools (``quizzes.papers``).

    ``retake``: the person may have sat the exam before (their earlier questions are drawn last); False skips
    reading them.
    """
    # Practice shows keys at once: it never offers a question an exam still open to the person may draw.
    held = withheld_questions(person_id, exam.enterprise_id, now) if exam.mode == MODE_PRACTICE else set()
    seen: set[int] = set()
    if retake:
        seen = set(
            db.session.scalars(
                select(AttemptQuestion.question_id)
                .join(Attempt)
                .where(Attempt.exam_id == exam.id, Attempt.person_id == person_id)
            )
        )
    rules = list(exam.rules)
    pools = papers.pools(exam, rules)
    chosen: list[tuple[papers.Candidate, Decimal]] = []
    taken: set[int] = set()
    for rule, pool in zip(rules, pools, strict=True):
        if rule.kind == RULE_FIXED:
            group = [c for c in pool if c.question_id not in taken and c.question_id not in held]
        else:
            drawable = [c for c in pool if c.question_id not in taken]
            ids = [c for c in drawable if c.question_id not in held]
            fresh = [c for c in ids if c.question_id not in seen]
            old = [c for c in ids if c.question_id in seen]
            rng.shuffle(fresh)
            rng.shuffle(old)
            # A retake draws questions not seen before where the bank allows.
            group = (fresh + old)[: rule.count]
            # A practice short of questions because some are held back draws what it may (none: refused below).
            if len(group) < rule.count and not (held and len(drawable) >= rule.count):
                raise DomainError(
                    _(
                        "The paper cannot be drawn: rule %(n)d needs %(c)d questions but %(a)d are "
                        "available. Tell your trainer.",
                        n=rule.position,
                        c=rule.count,
                        a=len(ids),
                    )
                )
        if exam.shuffle_questions:
            rng.shuffle(group)
        for c in group:
            taken.add(c.question_id)
            chosen.append((c, Decimal(rule.points) if rule.points is not None else c.points))
    if not chosen:
        if held:
            raise DomainError(
                _(
                    "No practice questions are available to you now: their answers are held back while an "
                    "exam that uses them is open to you."
                )
            )
        raise DomainError(_("The paper has no questions yet."))
    return chosen


def draw_paper(
    exam: Exam, person_id: int, rng: random.Random, now: dt.datetime | None = None
) -> list[tuple[Question, Decimal]]:
    """The questions a person would draw now, with their points (the exam preview's sample paper)."""
    drawn = _draw(exam, person_id, rng, now)
    by_id = {
        q.id: q
        for q in db.session.scalars(
            select(Question).where(Question.id.in_([c.question_id for c, _p in drawn]))
        )
    }
    return [(by_id[c.question_id], pts) for c, pts in drawn]


@dataclasses.dataclass(frozen=True)
class _Extra:
    """The person's extension for the exam, as ``_deadline`` and ``_refusal`` read it."""

    extra_minutes: int
    extra_attempts: int


def _standing_now(exam_id: int, person_id: int) -> tuple[int, int, int | None, _Extra | None]:
    """In one statement: how many attempts the person made, their highest number, their open attempt's id and
    their extension (extra minutes and attempts), if any."""
    extension = (
        select(ExamExtension.extra_minutes, ExamExtension.extra_attempts)
        .where(ExamExtension.exam_id == exam_id, ExamExtension.person_id == person_id)
        .subquery()
    )
    row = db.session.execute(
        select(
            select(func.count())
            .where(Attempt.exam_id == exam_id, Attempt.person_id == person_id)
            .scalar_subquery(),
            select(func.coalesce(func.max(Attempt.number), 0))
            .where(Attempt.exam_id == exam_id, Attempt.person_id == person_id)
            .scalar_subquery(),
            select(func.max(Attempt.id))
            .where(Attempt.exam_id == exam_id, Attempt.person_id == person_id, Attempt.status == OPEN)
            .scalar_subquery(),
            select(extension.c.extra_minutes).scalar_subquery(),
            select(extension.c.extra_attempts).scalar_subquery(),
        )
    ).one()
    used, last, open_id, minutes, attempts = row
    extra = _Extra(minutes or 0, attempts or 0) if minutes is not None or attempts is not None else None
    return int(used or 0), int(last or 0), open_id, extra


def _refusal(exam: Exam, now: dt.datetime, used: int, ext: _Extra | None) -> str | None:
    """``availability`` from what the start already read."""
    if exam.status != PUBLISHED:
        return _("This exam is not open.")
    if exam.open_at and now < exam.open_at:
        return _("This exam opens later.")
    if exam.close_at and now >= exam.close_at:
        return _("This exam has closed.")
    if exam.mode != MODE_PRACTICE and exam.attempts_allowed is not None:
        allowed = exam.attempts_allowed + (ext.extra_attempts if ext else 0)
        if allowed - used <= 0:
            return _("You have used all your attempts.")
    return None


def start_attempt(
    exam: Exam, person: Person, *, now: dt.datetime | None = None, rng: random.Random | None = None
) -> Attempt:
    """Return the person's open attempt, or start one: questions frozen, deadline set by the server.

    Concurrent starts make one attempt: the unique partial index on open attempts refuses the second insert,
    which then returns the attempt the first request made. What every taker shares (the rules' pools of
    questions and their current versions) comes from ``quizzes.papers``; per person: their standing, the draw
    and the inserts.
    """
    now = now or utcnow()
    if person.enterprise_id != exam.enterprise_id:
        raise NotFound(_("Exam not found."))
    used, last_number, open_id, ext = _standing_now(exam.id, person.id)
    if open_id is not None:
        existing = db.session.get(Attempt, open_id)
        if not is_overdue(existing, now):
            return existing
        submit_attempt(existing, now=now, auto=True)
    problem = _refusal(exam, now, used, ext)
    if problem:
        raise DomainError(problem)
    rng = rng or random.Random()
    paper = _draw(exam, person.id, rng, now, retake=used > 0)
    try:
        with db.session.begin_nested():
            attempt = Attempt(
                exam_id=exam.id,
                person_id=person.id,
                number=last_number + 1,
                started_at=now,
                deadline=_deadline(exam, now, ext),
                status=OPEN,
                seq=0,
                max_score=sum((p for _c, p in paper), Decimal("0")),
            )
            db.session.add(attempt)
            db.session.flush()
            rows = []
            for pos, (c, pts) in enumerate(paper, start=1):
                order = None
                if get_type(c.type).has_options:
                    order = list(range(c.n_options))
                    if exam.shuffle_options:
                        rng.shuffle(order)
                rows.append(
                    {
                        "attempt_id": attempt.id,
                        "question_version_id": c.version_id,
                        "question_id": c.question_id,
                        "position": pos,
                        "option_order": order,
                        "points": pts,
                        "flagged": False,
                    }
                )
            # Two statements for the whole paper (the ORM sent one INSERT per row on SQLite, 40 for 20
            # questions): the questions (one executemany, no RETURNING: with it SQLAlchemy wrote one INSERT of 20
            # rows, a statement too long for psycopg's cache that it parsed again on every start, 3 ms of CPU),
            # then their empty answers (JSON null, as before) from the questions just inserted.
            aq_table, answer_table = AttemptQuestion.__table__, AttemptAnswer.__table__
            db.session.execute(insert(aq_table), rows)
            db.session.execute(
                insert(answer_table).from_select(
                    ["attempt_question_id", "answer", "seq"],
                    select(aq_table.c.id, literal_column("'null'"), literal(0))
                    .where(aq_table.c.attempt_id == attempt.id)
                    .order_by(aq_table.c.position),
                )
            )
            db.session.expire(attempt, ["questions"])
    except IntegrityError:
        # Another request started one in the meantime (unique open attempt / attempt number): use it.
        existing = open_attempt(exam.id, person.id)
        if existing is not None:
            return existing
        raise Conflict(_("Another attempt was started at the same time. Reload the page.")) from None
    return attempt


def is_overdue(attempt: Attempt, now: dt.datetime | None = None) -> bool:
    """Whether an open attempt is past its deadline and the grace period."""
    now = now or utcnow()
    return attempt.status == OPEN and attempt.deadline is not None and now > attempt.deadline + GRACE


def seconds_left(attempt: Attempt, now: dt.datetime | None = None) -> int | None:
    if attempt.deadline is None:
        return None
    return max(int((attempt.deadline - (now or utcnow())).total_seconds()), 0)


def close_if_overdue(attempt: Attempt, now: dt.datetime | None = None) -> bool:
    """Submit an open attempt left past its deadline with what was saved; return whether it did."""
    if is_overdue(attempt, now):
        submit_attempt(attempt, now=now, auto=True)
        return True
    return False


def attempt_question(attempt: Attempt, aq_id: int) -> AttemptQuestion:
    aq = db.session.execute(
        select(AttemptQuestion)
        .options(joinedload(AttemptQuestion.version))
        .where(AttemptQuestion.id == aq_id, AttemptQuestion.attempt_id == attempt.id)
    ).scalar_one_or_none()
    if aq is None:
        raise NotFound(_("Question not found."))
    return aq


def _lock_open(attempt: Attempt, now: dt.datetime, *, locked: bool = False) -> None:
    """Refuse unless the attempt is open and in time; ``locked``: the caller already loaded it FOR UPDATE."""
    if not locked:
        db.session.refresh(
            attempt, with_for_update=True
        )  # PostgreSQL: waits for a concurrent submit to finish
    if attempt.status != OPEN:
        raise Conflict(_("This attempt has been submitted; the answer was not saved."))
    if is_overdue(attempt, now):
        raise Conflict(
            _(
                "Time is up: answers can no longer be saved. Your attempt is submitted with the answers "
                "saved before the deadline."
            )
        )


class TimeUp(Conflict):
    """An answer came after the deadline (plus grace): the attempt was submitted with what was saved before."""


def _answer_seqs(attempt_id: Any) -> Any:
    """The highest sequence number saved among an attempt's answers (a scalar subquery)."""
    return (
        select(func.coalesce(func.max(AttemptAnswer.seq), 0))
        .join(AttemptQuestion, AttemptQuestion.id == AttemptAnswer.attempt_question_id)
        .where(AttemptQuestion.attempt_id == attempt_id)
        .scalar_subquery()
    )


def attempt_seq(attempt_id: int) -> int:
    """The highest save sequence number accepted for an attempt (while it is open, from its answers)."""
    return int(db.session.scalar(select(_answer_seqs(attempt_id))) or 0)


@functools.cache
def _autosave_statements(with_enterprise: bool) -> tuple[Any, Any]:
    """The autosave's two statements, built once (Core, on the tables: no ORM work per request)."""
    att, aq, ver, ans, exam = (
        Attempt.__table__,
        AttemptQuestion.__table__,
        QuestionVersion.__table__,
        AttemptAnswer.__table__,
        Exam.__table__,
    )
    saved_seq = (
        select(func.coalesce(func.max(ans.c.seq), 0))
        .join(aq, aq.c.id == ans.c.attempt_question_id)
        .where(aq.c.attempt_id == att.c.id)
        .scalar_subquery()
    )
    frm = att.outerjoin(aq, and_(aq.c.id == bindparam("aq_id"), aq.c.attempt_id == att.c.id)).outerjoin(
        ver, ver.c.id == aq.c.question_version_id
    )
    lookup = select(
        att.c.status,
        att.c.deadline,
        saved_seq.label("saved_seq"),
        aq.c.id.label("aq_id"),
        aq.c.option_order,
        ver.c.type,
    ).where(att.c.id == bindparam("attempt_id"), att.c.person_id == bindparam("person_id"))
    if with_enterprise:
        frm = frm.join(exam, exam.c.id == att.c.exam_id)
        lookup = lookup.where(exam.c.enterprise_id == bindparam("enterprise_id"))
    lookup = lookup.select_from(frm).with_for_update(of=att)
    store = (
        update(ans)
        .where(ans.c.attempt_question_id == bindparam("aq_id"), ans.c.seq < bindparam("new_seq"))
        .values(
            answer=bindparam("new_answer", type_=ans.c.answer.type),
            seq=bindparam("new_seq"),
            saved_at=bindparam("now", type_=ans.c.saved_at.type),
        )
    )
    return lookup, store


def save_own_answer(
    attempt_id: int,
    person_id: int | None,
    enterprise_id: int | None,
    aq_id: int,
    answer: Any,
    seq: int,
    *,
    now: dt.datetime | None = None,
    submit_late: bool = True,
) -> dict[str, Any]:
    """Save one answer of the acting person's open attempt if ``seq`` is newer than the saved one.

    The autosave, every answer of every taker: two statements. One reads the attempt (only the person's own, in
    the acting enterprise: otherwise NotFound, as if it did not exist), locks its row (PostgreSQL: a save waits
    for a concurrent submit and then sees it submitted), and reads the answered question's type and option
    count and the attempt's highest saved sequence number; one conditional UPDATE stores the answer only if
    ``seq`` is newer. Refused: a submitted attempt (Conflict), one past its deadline plus grace (TimeUp, after
    submitting it when ``submit_late``), an answer the question's type cannot take (DomainError).
    ``enterprise_id`` None: do not check the enterprise (a service caller that already holds the attempt).
    """
    now = now or utcnow()
    seq = int(seq)
    lookup, store = _autosave_statements(enterprise_id is not None)
    params = {
        "aq_id": aq_id,
        "attempt_id": attempt_id,
        "person_id": person_id,
        "enterprise_id": enterprise_id,
    }
    row = db.session.execute(lookup, params).first() if person_id is not None else None
    if row is None:
        raise NotFound(_("Attempt not found."))
    if row.status != OPEN:
        raise Conflict(_("This attempt has been submitted; the answer was not saved."))
    if row.deadline is not None and now > row.deadline + GRACE:
        if submit_late:
            submit_attempt(db.session.get(Attempt, attempt_id), now=now, auto=True)
        raise TimeUp(
            _(
                "Time is up: answers can no longer be saved. Your attempt is submitted with the answers "
                "saved before the deadline."
            )
        )
    if row.aq_id is None:
        raise NotFound(_("Question not found."))
    qtype = get_type(row.type)
    n_options = len(row.option_order or [])
    if qtype.has_options and row.option_order is None:  # not made by start_attempt: count the options
        n_options = len(
            db.session.scalar(
                select(QuestionVersion.options)
                .join(AttemptQuestion, AttemptQuestion.question_version_id == QuestionVersion.id)
                .where(AttemptQuestion.id == aq_id)
            )
            or []
        )
    try:
        value = qtype.coerce_answer(answer, n_options)
    except (TypeError, ValueError):
        raise DomainError(_("This answer cannot be saved.")) from None
    res = db.session.execute(store, {"aq_id": aq_id, "new_seq": seq, "new_answer": value, "now": now})
    # An answer object this session already holds (a caller that loaded the attempt) is read again when used.
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, AttemptAnswer) and obj.__dict__.get("attempt_question_id") == aq_id:
            db.session.expire(obj)
    stale = res.rowcount == 0
    return {
        "ok": True,
        "stale": stale,
        "seq": max(int(row.saved_seq or 0), 0 if stale else seq),
        "saved_at": now.isoformat() + "Z",
    }


def save_answer(
    attempt: Attempt,
    aq_id: int,
    answer: Any,
    seq: int,
    *,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Save one answer of ``attempt`` if ``seq`` is newer than the saved one; refuse after the deadline (plus
    grace) with a Conflict (the attempt is left as it is). ``attempt.seq`` follows the highest accepted."""
    result = save_own_answer(
        attempt.id, attempt.person_id, None, aq_id, answer, seq, now=now, submit_late=False
    )
    set_committed_value(attempt, "seq", result["seq"])
    return result


def set_flag(attempt: Attempt, aq_id: int, flagged: bool, *, now: dt.datetime | None = None) -> None:
    _lock_open(attempt, now or utcnow())
    aq = attempt_question(attempt, aq_id)
    aq.flagged = bool(flagged)
    db.session.flush()


def submit_attempt(
    attempt: Attempt, *, now: dt.datetime | None = None, auto: bool = False, actor: User | None = None
) -> bool:
    """Submit and grade an open attempt once; a second (concurrent or repeated) submit does nothing.

    Return whether this call submitted it.
    """
    now = now or utcnow()
    submitted_at = min(now, attempt.deadline + GRACE) if auto and attempt.deadline else now
    res = db.session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.status == OPEN)
        # The highest sequence number saved is kept on the attempt once it is closed (the autosave only
        # writes the answer).
        .values(
            status=SUBMITTED, submitted_at=submitted_at, auto_submitted=auto, seq=_answer_seqs(Attempt.id)
        )
        .execution_options(synchronize_session=False)
    )
    # Its columns only: the attempt's questions are read once, by the grading.
    db.session.refresh(attempt, [c.key for c in Attempt.__mapper__.column_attrs])
    if res.rowcount != 1:
        return False
    person = db.session.get(Person, attempt.person_id)  # held here: the grading's ledger sync reads it too
    grading.grade_attempt(attempt, reason="auto_submit" if auto else "submit", actor=actor)
    exam = db.session.get(Exam, attempt.exam_id)
    signals.exam_submitted.send(attempt, person=person, exam=exam)
    return True


def close_overdue(now: dt.datetime | None = None, *, limit: int = 1000) -> int:
    """Submit every open attempt past its deadline (the periodic sweep); return how many."""
    now = now or utcnow()
    ids = list(
        db.session.scalars(
            select(Attempt.id)
            .where(Attempt.status == OPEN, Attempt.deadline.is_not(None), Attempt.deadline < now - GRACE)
            .limit(limit)
        )
    )
    n = 0
    for attempt_id in ids:
        attempt = db.session.get(Attempt, attempt_id)
        if attempt is not None and submit_attempt(attempt, now=now, auto=True):
            n += 1
    return n
