"""Pages for learners (my exams, take, results, mistake book) and trainers (banks, import, exams, results)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_pgettext
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm.attributes import set_committed_value

from lms.core import timeutil
from lms.core.db import db, keep_on_error, utcnow
from lms.core.errors import Conflict, DomainError, ImportRefused, NotFound
from lms.core.exports import xlsx_bytes
from lms.core.nav import nav_item
from lms.core.permissions import roles
from lms.core.requests import int_field, json_object
from lms.core.storage import StoredFile, discard, path_of, save_stream
from lms.org.access import EVERYONE_IN_ENTERPRISE, STAFF, acting_enterprise_id
from lms.org.models import LEARNER, Person
from quizzes import attempts, bp, builder, exchange, grading, key_policy, review, stats
from quizzes import banks as quiz_banks  # the view `banks` takes the module's name
from quizzes import exams as quiz_exams  # the view `exams` takes the module's name
from quizzes.forms import BankForm, ExamForm, ExtensionForm, GradeForm, QuestionForm, RuleForm, UploadForm
from quizzes.importers import ParseResult, build_question
from quizzes.models import (
    MODE_PRACTICE,
    OPEN,
    Attempt,
    AttemptQuestion,
    Exam,
    ExamExtension,
    Question,
    QuestionBank,
)
from quizzes.types import REGISTRY, answer_feedback, get_type, public_question, rich

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TAKERS = EVERYONE_IN_ENTERPRISE  # anyone with a person record may sit an exam

nav_item("quizzes.my_exams", lazy_pgettext("menu", "My exams"), (LEARNER, "evaluator"), order=30, icon="✎")
# The mistake book is linked from "My exams" (keeps the phone menu short).
# nav_item("quizzes.mistakes", lazy_pgettext("menu", "Mistake book"), (LEARNER, "evaluator"), order=31, icon="✗")
nav_item("quizzes.banks", lazy_pgettext("menu", "Question banks"), STAFF, order=40, icon="☰")
nav_item("quizzes.exams", lazy_pgettext("menu", "Exams"), STAFF, order=41, icon="✎")


def _person_id() -> int:
    pid = getattr(current_user, "person_id", None)
    if pid is None:
        abort(404)
    return pid


def _xlsx(data: bytes, name: str) -> Any:
    return send_file(io.BytesIO(data), as_attachment=True, download_name=name, mimetype=XLSX)


# ================================================================ learners


@bp.route("/")
@roles(*TAKERS)
def my_exams():
    from quizzes.assignments import my_assignments

    pid = _person_id()
    items = attempts.learner_exams(acting_enterprise_id(), pid)
    mine = my_assignments(pid)
    for it in items:
        it["assignment"] = mine.get(it["exam"].id)
    # Assigned exams first, the nearest due date first (those without one after); the rest keep their order.
    items.sort(
        key=lambda it: (
            it["assignment"] is None,
            it["assignment"] is None or it["assignment"].due_on is None,
            it["assignment"].due_on if it["assignment"] and it["assignment"].due_on else dt.date.max,
        )
    )
    return render_template("quizzes/my_exams.html", items=items)


@bp.route("/exams/<int:exam_id>/start", methods=["GET", "POST"])
@roles(*TAKERS)
def start(exam_id: int):
    exam = _found(quiz_exams.get_exam, exam_id, acting_enterprise_id())
    pid = _person_id()
    if exam.status != "published":
        abort(404)
    if request.method == "GET":
        standing = attempts.standings([exam], pid)[exam.id]  # two statements (issue 20)
        return render_template(
            "quizzes/start.html",
            exam=exam,
            standing=standing,
            problem=standing["problem"],
            ext=standing["ext"],
        )
    attempt = attempts.start_attempt(exam, db.session.get(Person, pid))
    return redirect(url_for("quizzes.take", attempt_id=attempt.id))


def _found(loader: Any, *args: Any) -> Any:
    """Call a service loader; its NotFound is a 404 for GET and POST alike (never a flash that says it exists)."""
    try:
        return loader(*args)
    except NotFound:
        abort(404)


def _own_attempt(attempt_id: int) -> Attempt:
    attempt = _found(attempts.my_attempt, attempt_id, getattr(current_user, "person_id", None))
    exam = db.session.get(Exam, attempt.exam_id)
    if exam.enterprise_id != acting_enterprise_id():
        abort(404)
    # Held by the attempt: the session keeps an object only while something refers to it, and the result page
    # asked for the exam three times (issue 20).
    set_committed_value(attempt, "exam", exam)
    return attempt


@bp.route("/attempts/<int:attempt_id>")
@roles(*TAKERS)
def take(attempt_id: int):
    # Built from the attempt's rows and the questions' cached public parts (quizzes.papers, issue 20).
    paper = _found(
        attempts.own_paper, attempt_id, getattr(current_user, "person_id", None), acting_enterprise_id()
    )
    if paper.status == OPEN and attempts.is_overdue(paper):
        attempts.submit_attempt(db.session.get(Attempt, paper.id), auto=True)
        db.session.flush()  # a GET that writes: the read unit stops here and runs again as a write unit
        flash(
            _("Time was up: your attempt was submitted with the answers saved before the deadline."),
            "warning",
        )
    if paper.status != OPEN or attempts.is_overdue(paper):
        return redirect(url_for("quizzes.result", attempt_id=paper.id))
    return render_template(
        "quizzes/take.html",
        attempt=paper,
        exam={"title": paper.exam_title},
        questions=paper.questions,
        seconds_left=attempts.seconds_left(paper),
        practice=paper.exam_mode == MODE_PRACTICE,
        type_labels={k: str(t.label) for k, t in REGISTRY.items()},  # translated once, not per question
    )


def _json_conflict(message: str) -> Any:
    return jsonify({"ok": False, "error": "conflict", "message": message}), 409


@bp.route("/attempts/<int:attempt_id>/answer", methods=["POST"])
@roles(*TAKERS)
def save(attempt_id: int):
    # The autosave is the busiest POST of an exam: two statements (the own attempt locked with the question's
    # type, the answer's conditional UPDATE), no objects loaded (issue 20).
    data = json_object()
    aq, seq = int_field(data, "aq"), int_field(data, "seq")
    try:
        result = attempts.save_own_answer(
            attempt_id,
            getattr(current_user, "person_id", None),
            acting_enterprise_id(),
            aq,
            data.get("answer"),
            seq,
        )
    except NotFound:
        abort(404)
    except attempts.TimeUp as exc:
        keep_on_error()  # the attempt is submitted, though the answer is 409
        return _json_conflict(exc.message)
    except Conflict as exc:
        db.session.rollback()
        return _json_conflict(exc.message)
    except (TypeError, ValueError):
        abort(400)
    return jsonify(result)


@bp.route("/attempts/<int:attempt_id>/flag", methods=["POST"])
@roles(*TAKERS)
def flag(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    data = json_object()
    try:
        attempts.set_flag(attempt, int_field(data, "aq"), bool(data.get("flagged")))
    except Conflict as exc:
        db.session.rollback()
        return _json_conflict(exc.message)
    return jsonify({"ok": True})


@bp.route("/attempts/<int:attempt_id>/check", methods=["POST"])
@roles(*TAKERS)
def check(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    data = json_object()
    return jsonify(review.practice_check(attempt, int_field(data, "aq")))


@bp.route("/attempts/<int:attempt_id>/state")
@roles(*TAKERS)
def state(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    return jsonify(
        {
            "status": attempt.status,
            "seq": max((aq.answer.seq for aq in attempt.questions if aq.answer), default=0),
            "seconds_left": attempts.seconds_left(attempt),
            "answers": {str(aq.id): aq.answer.answer for aq in attempt.questions if aq.answer},
            "flags": [aq.id for aq in attempt.questions if aq.flagged],
        }
    )


@bp.route("/attempts/<int:attempt_id>/submit", methods=["POST"])
@roles(*TAKERS)
def submit(attempt_id: int):
    # The attempt alone (the grading reads its questions once, issue 20).
    attempt = _found(
        attempts.own_attempt, attempt_id, getattr(current_user, "person_id", None), acting_enterprise_id()
    )
    attempts.submit_attempt(attempt, auto=attempts.is_overdue(attempt))
    return redirect(url_for("quizzes.result", attempt_id=attempt.id))


def _review(attempt: Attempt, show_key: bool, held_back: set[int] | None = None) -> list[dict[str, Any]]:
    """The attempt's questions with the learner's answers; with ``show_key`` the keys, except for the questions
    in ``held_back`` (another exam open to the learner may draw them)."""
    out = []
    for aq in attempt.questions:
        v = aq.version
        qtype = get_type(v.type)
        shown = show_key and aq.question_id not in (held_back or ())
        item = {
            "show_key": shown,
            "held_back": show_key and not shown,
            "aq": aq,
            "view": public_question(v, aq.option_order),
            "answer_text": qtype.answer_text(
                v.options, aq.answer.answer if aq.answer else None, aq.option_order
            ),
        }
        if shown:
            given = aq.answer.answer if aq.answer else None
            item.update(
                key_text=qtype.key_text(v.options, v.key, aq.option_order, v.weights),
                explanation=rich(v, v.explanation) if v.explanation else None,
                answer_feedback=rich(v, answer_feedback(v, given)),
                score=aq.answer.score if aq.answer else None,
                correct=aq.answer.correct if aq.answer else None,
                feedback=aq.answer.feedback if aq.answer else None,
            )
        out.append(item)
    return out


@bp.route("/attempts/<int:attempt_id>/result")
@roles(*TAKERS)
def result(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    if attempt.status == OPEN:
        if not attempts.is_overdue(attempt):
            return redirect(url_for("quizzes.take", attempt_id=attempt.id))
        attempts.submit_attempt(attempt, auto=True)
        db.session.flush()  # a GET that writes: the read unit stops here and runs again as a write unit
    exam = db.session.get(Exam, attempt.exam_id)
    show_key = key_policy.answers_visible(attempt)
    held_back = key_policy.review_held_back(attempt) if show_key else set()
    return render_template(
        "quizzes/result.html",
        attempt=attempt,
        exam=exam,
        show_key=show_key,
        show_score=review.score_visible(attempt),
        review=_review(attempt, show_key, held_back),
        standing=attempts.person_result(exam, attempt.person_id),
    )


@bp.route("/mistakes")
@roles(*TAKERS)
def mistakes():
    entries, held_back = review.practicable_mistakes(_person_id())
    items = []
    for e in entries:
        v = quiz_banks.current_version(e.question)
        items.append({"entry": e, "view": public_question(v)})
    return render_template("quizzes/mistakes.html", items=items, held_back=held_back)


@bp.route("/mistakes/<int:question_id>/check", methods=["POST"])
@roles(*TAKERS)
def mistake_check(question_id: int):
    data = json_object()
    res = review.mistake_check(_person_id(), question_id, data.get("answer"))
    return jsonify(res)


# ================================================================ trainers: banks and questions


def _bank(bank_id: int, edit: bool = False) -> QuestionBank:
    bank = _found(quiz_banks.get_bank, bank_id, acting_enterprise_id())
    if edit and not quiz_banks.can_edit_bank(bank, current_user):
        abort(403)
    return bank


@bp.route("/banks", methods=["GET", "POST"])
@roles(*STAFF)
def banks():
    form = BankForm()
    if form.validate_on_submit():
        shared = request.form.get("shared") == "1" and current_user.app_role == "admin"
        bank = quiz_banks.create_bank(
            None if shared else acting_enterprise_id(),
            form.name.data,
            partial_credit=form.partial_credit.data,
            description=form.description.data,
            practice=form.practice.data,
        )
        flash(_("Bank created."), "success")
        return redirect(url_for("quizzes.bank", bank_id=bank.id))
    return render_template(
        "quizzes/banks.html", banks=quiz_banks.visible_banks(acting_enterprise_id()), form=form
    )


@bp.route("/banks/<int:bank_id>")
@roles(*STAFF)
def bank(bank_id: int):
    b = _bank(bank_id)
    q = select(Question).where(Question.bank_id == b.id)
    for name in ("type", "category", "difficulty", "status"):
        if request.args.get(name):
            q = q.where(getattr(Question, name) == request.args[name])
    questions = list(db.session.scalars(q.order_by(Question.id)))
    categories = list(
        db.session.scalars(
            select(Question.category)
            .where(Question.bank_id == b.id, Question.category.is_not(None))
            .distinct()
            .order_by(Question.category)
        )
    )
    return render_template(
        "quizzes/bank.html",
        bank=b,
        questions=questions,
        categories=categories,
        types=REGISTRY,
        editable=quiz_banks.can_edit_bank(b, current_user),
        form=BankForm(obj=b),
    )


@bp.route("/banks/<int:bank_id>/edit", methods=["POST"])
@roles(*STAFF)
def bank_edit(bank_id: int):
    b = _bank(bank_id, edit=True)
    form = BankForm()
    if not form.validate_on_submit():
        raise DomainError(_("Check the form."))
    quiz_banks.update_bank(
        b,
        name=form.name.data,
        partial_credit=form.partial_credit.data,
        status=form.status.data,
        description=form.description.data,
        practice=form.practice.data,
    )
    flash(_("Saved."), "success")
    return redirect(url_for("quizzes.bank", bank_id=b.id))


class QuestionFormError(Exception):
    """The question form's values were refused: ``errors`` is a list of (field, message)."""

    def __init__(self, errors: list[tuple[str | None, str]]):
        super().__init__("; ".join(m for _f, m in errors))
        self.errors = errors


def _form_text(value: Any) -> str:
    """A text field's value as text (a field missing from the POST may carry the object's list)."""
    if isinstance(value, list | tuple):
        return "\n".join(str(v) for v in value)
    return "" if value is None else str(value)


def _show_form_errors(form: QuestionForm, errors: list[tuple[str | None, str]]) -> None:
    """Put refusals next to their fields (the importer's "key" is the form's answer)."""
    for name, message in errors:
        name = {"key": "answer"}.get(name or "", name or "")
        target = getattr(form, name, None) if name in form._fields else form.answer
        target.errors = [*list(target.errors or []), message]


def _apply_question_form(form: QuestionForm) -> dict[str, Any]:
    result = ParseResult(filename="", format="form")
    options = [o.strip() for o in _form_text(form.options.data).splitlines() if o.strip()]
    parsed = build_question(
        0,
        form.type.data,
        (form.stem.data or "").strip(),
        options,
        _form_text(form.answer.data).strip(),
        explanation=(form.explanation.data or "").strip(),
        difficulty=form.difficulty.data,
        category=(form.category.data or "").strip(),
        points=str(form.points.data),
        result=result,
    )
    if parsed is None:
        raise QuestionFormError([(e.get("field"), e["message"]) for e in result.errors])
    return {
        "type": parsed.type,
        "stem": parsed.stem,
        "options": parsed.options,
        "key": parsed.key,
        "weights": parsed.weights,
        "explanation": parsed.explanation,
        "category": parsed.category,
        "difficulty": form.difficulty.data,
        "points": Decimal(str(form.points.data)),
        "status": form.status.data,
    }


@bp.route("/banks/<int:bank_id>/questions/new", methods=["GET", "POST"])
@roles(*STAFF)
def question_new(bank_id: int):
    b = _bank(bank_id, edit=True)
    form = QuestionForm()
    if form.validate_on_submit():
        try:
            quiz_banks.create_question(b, **_apply_question_form(form))
        except QuestionFormError as exc:
            db.session.rollback()  # nothing of a refused question is kept
            _show_form_errors(form, exc.errors)
        except DomainError as exc:
            db.session.rollback()
            _show_form_errors(form, [(exc.field, exc.message)])
        else:
            flash(_("Question added."), "success")
            return redirect(url_for("quizzes.bank", bank_id=b.id))
    return render_template("quizzes/question_form.html", bank=b, form=form, question=None)


@bp.route("/questions/<int:question_id>/edit", methods=["GET", "POST"])
@roles(*STAFF)
def question_edit(question_id: int):
    q = _found(quiz_banks.get_question, question_id, acting_enterprise_id())
    b = _bank(q.bank_id, edit=True)
    # A POST is read from the form alone: a field it lacks is empty, not the stored value (a list for options).
    form = QuestionForm(obj=q) if request.method == "GET" else QuestionForm()
    if request.method == "GET":
        form.options.data = "\n".join(q.options or [])
        form.answer.data = exchange.answer_cell(q)
    if form.validate_on_submit():
        try:
            quiz_banks.update_question(q, **_apply_question_form(form))
        except QuestionFormError as exc:
            db.session.rollback()  # nothing of a refused question is kept
            _show_form_errors(form, exc.errors)
        except DomainError as exc:
            db.session.rollback()
            _show_form_errors(form, [(exc.field, exc.message)])
        else:
            flash(_("Saved. Attempts already made keep the version they saw."), "success")
            return redirect(url_for("quizzes.bank", bank_id=b.id))
    return render_template("quizzes/question_form.html", bank=b, form=form, question=q)


@bp.route("/questions/<int:question_id>")
@roles(*STAFF)
def question_preview(question_id: int):
    q = _found(quiz_banks.get_question, question_id, acting_enterprise_id())
    v = quiz_banks.current_version(q)
    qtype = get_type(v.type)
    return render_template(
        "quizzes/question_preview.html",
        q=q,
        view=public_question(v),
        key_text=qtype.key_text(v.options, v.key, None, v.weights),
        version=v,
    )


@bp.route("/banks/<int:bank_id>/import", methods=["GET", "POST"])
@roles(*STAFF)
def import_upload(bank_id: int):
    b = _bank(bank_id, edit=True)
    form = UploadForm()
    if form.validate_on_submit():
        f = form.file.data
        stored = save_stream(
            f.stream,
            f.filename or "questions",
            purpose="question-import",
            enterprise_id=acting_enterprise_id(),
            uploaded_by_id=current_user.id,
            max_bytes=20 * 1024 * 1024,
        )
        return redirect(url_for("quizzes.import_preview", bank_id=b.id, file_id=stored.id))
    return render_template("quizzes/import_upload.html", bank=b, form=form)


def _import_file(file_id: int) -> StoredFile:
    stored = db.session.get(StoredFile, file_id)
    if (
        stored is None
        or stored.enterprise_id != acting_enterprise_id()
        or stored.purpose != "question-import"
    ):
        abort(404)
    return stored


@bp.route("/banks/<int:bank_id>/import/<int:file_id>")
@roles(*STAFF)
def import_preview(bank_id: int, file_id: int):
    b = _bank(bank_id, edit=True)
    stored = _import_file(file_id)
    try:
        res = exchange.import_questions(b, path_of(stored.key), stored.original_name, dry_run=True)
    except ImportRefused as exc:
        # A refused file (an unreadable header …) is explained on the preview page, in the reader's language.
        # Nothing can ever be imported from it: it is not kept (issue 16).
        db.session.rollback()
        stored.original_name  # noqa: B018 - loaded for the page before the row goes
        discard(stored)
        return render_template(
            "quizzes/import_preview.html",
            bank=b,
            result=None,
            refusal=exc.message,
            stored=stored,
            types=REGISTRY,
        )
    db.session.rollback()
    return render_template("quizzes/import_preview.html", bank=b, result=res, stored=stored, types=REGISTRY)


@bp.route("/banks/<int:bank_id>/import/<int:file_id>/commit", methods=["POST"])
@roles(*STAFF)
def import_commit(bank_id: int, file_id: int):
    b = _bank(bank_id, edit=True)
    stored = _import_file(file_id)
    res = exchange.import_questions(b, path_of(stored.key), stored.original_name, dry_run=False)
    if not res.committed:
        db.session.rollback()
        flash(_("Nothing was imported: fix the rows listed and upload again."), "error")
        return redirect(url_for("quizzes.import_preview", bank_id=b.id, file_id=stored.id))
    flash(
        _(
            "Questions imported: %(c)d created, %(u)d updated, %(n)d unchanged.",
            c=res.created,
            u=res.updated,
            n=res.unchanged,
        ),
        "success",
    )
    return redirect(url_for("quizzes.bank", bank_id=b.id))


@bp.route("/banks/<int:bank_id>/export.xlsx")
@roles(*STAFF)
def bank_export(bank_id: int):
    b = _bank(bank_id)
    headers, rows = exchange.export_rows(b)
    return _xlsx(xlsx_bytes(headers, rows, sheet_title="题库"), f"bank-{b.id}.xlsx")


@bp.route("/banks/<int:bank_id>/export.gift.txt")
@roles(*STAFF)
def bank_export_gift(bank_id: int):
    b = _bank(bank_id)
    text, _skipped = exchange.export_gift(b)
    return send_file(
        io.BytesIO(text.encode("utf-8")),
        as_attachment=True,
        download_name=f"bank-{b.id}.gift.txt",
        mimetype="text/plain; charset=utf-8",
    )


@bp.route("/banks/<int:bank_id>/export.xml")
@roles(*STAFF)
def bank_export_xml(bank_id: int):
    b = _bank(bank_id)
    data, _skipped = exchange.export_moodle_xml(b)
    return send_file(
        io.BytesIO(data),
        as_attachment=True,
        download_name=f"bank-{b.id}.moodle.xml",
        mimetype="application/xml",
    )


@bp.route("/template.xlsx")
@roles(*STAFF)
def template():
    headers, rows = exchange.template_rows()
    return _xlsx(xlsx_bytes(headers, rows, sheet_title="题库"), "question-template.xlsx")


# ================================================================ trainers: exams


def _exam(exam_id: int) -> Exam:
    return _found(quiz_exams.get_exam, exam_id, acting_enterprise_id())


def _exam_values(form: ExamForm) -> dict[str, Any]:
    return {k: getattr(form, k).data for k in quiz_exams.EXAM_FIELDS if hasattr(form, k)} | {
        # Typed in the enterprise's local time; stored UTC.
        "open_at": timeutil.to_utc(form.open_at.data),
        "close_at": timeutil.to_utc(form.close_at.data),
        "hours": form.hours.data or Decimal("0"),
        "category": form.category.data or None,
        "description": form.description.data or None,
    }


@bp.route("/exams")
@roles(*STAFF)
def exams():
    rows = list(
        db.session.scalars(
            select(Exam).where(Exam.enterprise_id == acting_enterprise_id()).order_by(Exam.created_at.desc())
        )
    )
    counts = (
        dict(
            db.session.execute(
                select(Attempt.exam_id, func.count())
                .where(Attempt.exam_id.in_([e.id for e in rows]), Attempt.status != OPEN)
                .group_by(Attempt.exam_id)
            ).all()
        )
        if rows
        else {}
    )
    return render_template("quizzes/exams.html", exams=rows, counts=counts)


@bp.route("/exams/new", methods=["GET", "POST"])
@roles(*STAFF)
def exam_new():
    form = ExamForm()
    if form.validate_on_submit():
        exam = quiz_exams.create_exam(acting_enterprise_id(), actor=current_user, **_exam_values(form))
        flash(_("Exam created. Now add questions to the paper."), "success")
        return redirect(url_for("quizzes.exam_edit", exam_id=exam.id))
    return render_template("quizzes/exam_form.html", form=form, exam=None)


@bp.route("/exams/<int:exam_id>", methods=["GET", "POST"])
@roles(*STAFF)
def exam_edit(exam_id: int):
    exam = _exam(exam_id)
    form = ExamForm(obj=exam)
    if request.method == "GET":
        form.open_at.data, form.close_at.data = (
            timeutil.to_local(exam.open_at),
            timeutil.to_local(exam.close_at),
        )
    if form.validate_on_submit():
        quiz_exams.update_exam(exam, **_exam_values(form))
        flash(_("Saved."), "success")
        return redirect(url_for("quizzes.exam_edit", exam_id=exam.id))
    rule_form = RuleForm()
    banks = quiz_banks.visible_banks(exam.enterprise_id)
    rule_form.bank_id.choices = [(0, _("Any bank"))] + [(b.id, b.name) for b in banks]
    rules = [{"rule": r, "available": quiz_exams.rule_available(r, exam.enterprise_id)} for r in exam.rules]
    categories = list(
        db.session.scalars(
            select(Question.category)
            .join(QuestionBank)
            .where(quiz_banks.bank_scope(exam.enterprise_id), Question.category.is_not(None))
            .distinct()
            .order_by(Question.category)
        )
    )
    search = _bank_search(exam, banks)
    return render_template(
        "quizzes/exam_edit.html",
        exam=exam,
        form=form,
        rule_form=rule_form,
        rules=rules,
        problems=quiz_exams.paper_problems(exam),
        categories=categories,
        types=REGISTRY,
        banks=banks,
        search=search,
        total_points=builder.paper_points(exam),
    )


def _bank_search(exam: Exam, banks: list[QuestionBank]) -> dict[str, Any]:
    """The bank search of the exam builder, from the query string (``bq``, ``bt``, ``bc``, ``bd``, ``bb``)."""
    args = request.args
    f = {
        "bq": (args.get("bq") or "").strip()[:100],
        "bt": args.get("bt") or "",
        "bc": (args.get("bc") or "").strip()[:100],
        "bd": args.get("bd") or "",
        "bb": args.get("bb", type=int) or 0,
    }
    if f["bb"] and f["bb"] not in {b.id for b in banks}:
        f["bb"] = 0
    page = min(max(1, args.get("bp", 1, type=int) or 1), 10_000)
    rows, total = builder.search_questions(
        exam.enterprise_id,
        text=f["bq"],
        type=f["bt"] or None,
        category=f["bc"] or None,
        difficulty=f["bd"] or None,
        bank_id=f["bb"] or None,
        exam=exam,
        page=page,
    )
    on_paper = builder.fixed_question_ids(exam)
    items = []
    for q in rows:
        v = quiz_banks.current_version(q)
        items.append(
            {
                "q": q,
                "view": public_question(v),
                "key_text": get_type(v.type).key_text(v.options, v.key, None, v.weights),
                "on_paper": q.id in on_paper,
            }
        )
    pages = max(1, -(-total // builder.PAGE_SIZE))
    return {"filters": f, "rows": items, "total": total, "page": min(page, pages), "pages": pages}


@bp.route("/exams/<int:exam_id>/questions", methods=["POST"])
@roles(*STAFF)
def exam_questions_add(exam_id: int):
    exam = _exam(exam_id)
    ids = [int(x) for x in request.form.getlist("question_ids") if x.isdigit() and len(x) <= 9]
    if not ids:
        raise DomainError(_("Tick the questions to add."))
    points = None
    raw = (request.form.get("points") or "").strip()
    if raw:
        try:
            points = Decimal(raw)
        except ArithmeticError:
            raise DomainError(_("Points must be above 0.")) from None
    try:
        added = builder.add_fixed_questions(exam, ids, points=points)
    except NotFound:
        abort(404)
    flash(_("%(n)s questions added to the paper.", n=added), "success")
    back = {k: v for k, v in request.form.items() if k in ("bq", "bt", "bc", "bd", "bb", "bp") and v}
    return redirect(url_for("quizzes.exam_edit", exam_id=exam.id, **back) + "#paper")


@bp.route("/exams/<int:exam_id>/preview")
@roles(*STAFF)
def exam_preview(exam_id: int):
    """The whole paper as a learner sees it (one possible draw; no key, nothing saved)."""
    exam = _exam(exam_id)
    seed = request.args.get("seed", 1, type=int) or 1
    problem = None
    questions: list[dict[str, Any]] = []
    try:
        questions = builder.sample_paper(exam, seed)
    except DomainError as exc:
        problem = str(exc)
    return render_template(
        "quizzes/exam_preview.html",
        exam=exam,
        questions=questions,
        problem=problem,
        seed=seed,
        draws=any(r.kind != "fixed" for r in exam.rules),
        total=sum((item["points"] for item in questions), Decimal(0)),
        type_labels={k: t.label for k, t in REGISTRY.items()},
    )


@bp.route("/exams/<int:exam_id>/rules", methods=["POST"])
@roles(*STAFF)
def rule_add(exam_id: int):
    exam = _exam(exam_id)
    form = RuleForm()
    form.bank_id.choices = [(0, "")] + [(b.id, b.name) for b in quiz_banks.visible_banks(exam.enterprise_id)]
    if not form.validate_on_submit():
        raise DomainError(
            _("Check the rule: %(e)s", e="; ".join(f"{k}: {v[0]}" for k, v in form.errors.items()))
        )
    quiz_exams.add_rule(
        exam,
        kind=form.kind.data,
        question_id=form.question_id.data,
        bank_id=form.bank_id.data or None,
        type=form.type.data or None,
        category=(form.category.data or "").strip() or None,
        difficulty=form.difficulty.data or None,
        count=form.count.data or 1,
        points=form.points.data,
    )
    return redirect(url_for("quizzes.exam_edit", exam_id=exam.id))


@bp.route("/exams/<int:exam_id>/rules/<int:rule_id>/delete", methods=["POST"])
@roles(*STAFF)
def rule_delete(exam_id: int, rule_id: int):
    exam = _exam(exam_id)
    quiz_exams.delete_rule(exam, rule_id)
    return redirect(url_for("quizzes.exam_edit", exam_id=exam.id))


@bp.route("/exams/<int:exam_id>/status", methods=["POST"])
@roles(*STAFF)
def exam_status(exam_id: int):
    exam = _exam(exam_id)
    quiz_exams.set_exam_status(exam, request.form.get("status", ""))
    flash(_("Status changed."), "success")
    return redirect(url_for("quizzes.exam_edit", exam_id=exam.id))


@bp.route("/exams/<int:exam_id>/results")
@roles(*STAFF)
def exam_results(exam_id: int):
    exam = _exam(exam_id)
    rows = db.session.execute(
        select(Attempt, Person)
        .join(Person, Person.id == Attempt.person_id)
        .where(Attempt.exam_id == exam.id)
        .order_by(Attempt.submitted_at.desc().nulls_last(), Attempt.id.desc())
        .limit(500)
    ).all()
    return render_template(
        "quizzes/results.html",
        exam=exam,
        summary=stats.summary(exam),
        items=stats.item_analysis(exam),
        attempts=rows,
        types=REGISTRY,
    )


@bp.route("/exams/<int:exam_id>/results.xlsx")
@roles(*STAFF)
def exam_export(exam_id: int):
    exam = _exam(exam_id)
    headers, rows = stats.results_rows(exam)
    items = stats.item_analysis(exam)
    from lms.core.exports import write_xlsx

    out = io.BytesIO()
    item_rows = [
        [
            i["question"].id,
            i["question"].stem,
            i["answered"],
            i["difficulty"],
            i["discrimination"],
            " ".join(f"{o['label']}:{o['count']}" for o in i["options"]),
        ]
        for i in items
    ]
    write_xlsx(
        out,
        {
            "成绩": (headers, rows),
            "试题分析": (["题号", "题干", "作答人次", "难度(得分率)", "区分度", "选项分布"], item_rows),
        },
    )
    return _xlsx(out.getvalue(), f"exam-{exam.id}-results.xlsx")


@bp.route("/exams/<int:exam_id>/regrade", methods=["POST"])
@roles(*STAFF)
def regrade(exam_id: int):
    exam = _exam(exam_id)
    n = grading.regrade_exam(exam, actor=current_user)
    flash(
        _(
            "%(n)d attempts regraded with the current answers; the previous scores are kept in the history.",
            n=n,
        ),
        "success",
    )
    return redirect(url_for("quizzes.exam_results", exam_id=exam.id))


@bp.route("/attempts/<int:attempt_id>/review")
@roles(*STAFF)
def attempt_review(attempt_id: int):
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None:
        abort(404)
    exam = _exam(attempt.exam_id)
    if attempt.status == OPEN:
        abort(404)  # an open attempt is the learner's alone until submitted
    return render_template(
        "quizzes/attempt_review.html",
        attempt=attempt,
        exam=exam,
        review=_review(attempt, True),
        person=db.session.get(Person, attempt.person_id),
    )


@bp.route("/grading")
@roles(*STAFF)
def grading_queue():
    queue = grading.grading_queue(acting_enterprise_id(), request.args.get("exam_id", type=int))
    return render_template("quizzes/grading.html", queue=queue, form=GradeForm())


@bp.route("/grading/<int:aq_id>", methods=["POST"])
@roles(*STAFF)
def grade(aq_id: int):
    aq = db.session.get(AttemptQuestion, aq_id)
    if aq is None:
        abort(404)
    _exam(aq.attempt.exam_id)
    form = GradeForm()
    if not form.validate_on_submit():
        raise DomainError(_("Enter a score."), field="score")
    grading.grade_answer(aq, form.score.data, actor=current_user, feedback=form.feedback.data)
    flash(_("Graded."), "success")
    return redirect(url_for("quizzes.grading_queue"))


@bp.route("/exams/<int:exam_id>/extensions", methods=["GET", "POST"])
@roles(*STAFF)
def extensions(exam_id: int):
    exam = _exam(exam_id)
    form = ExtensionForm()
    if form.validate_on_submit():
        person = db.session.scalar(
            select(Person).where(
                Person.enterprise_id == exam.enterprise_id,
                Person.employee_no == form.employee_no.data.strip(),
            )
        )
        if person is None:
            raise DomainError(_("No person with this employee number."), field="employee_no")
        quiz_exams.set_extension(
            exam,
            person,
            extra_minutes=form.extra_minutes.data or 0,
            extra_attempts=form.extra_attempts.data or 0,
            note=form.note.data,
            actor=current_user,
        )
        flash(_("Extension saved."), "success")
        return redirect(url_for("quizzes.extensions", exam_id=exam.id))
    rows = db.session.execute(
        select(ExamExtension, Person)
        .join(Person, Person.id == ExamExtension.person_id)
        .where(ExamExtension.exam_id == exam.id)
        .order_by(Person.employee_no)
    ).all()
    return render_template("quizzes/extensions.html", exam=exam, form=form, rows=rows, now=utcnow())


# ================================================================ trainers: assign an exam to named people


@bp.route("/exams/<int:exam_id>/assign", methods=["GET", "POST"])
@roles(*STAFF)
def exam_assign(exam_id: int):
    """Assign the exam to named people found by search and to whole departments, posts or roles."""
    from lms.org.people_search import people_by_ids, search_people
    from lms.org.services import set_audience_choices
    from quizzes import assignments
    from quizzes.forms import ExamAssignForm

    exam = _exam(exam_id)
    ent = exam.enterprise_id
    form = ExamAssignForm()
    set_audience_choices(form, ent)
    q = (request.args.get("q") or "").strip()[:100]
    chosen: list[Person] = []
    if request.method == "POST":
        raw = request.form.getlist("person_ids")
        ids = {int(i) for i in raw if i.isdigit() and len(i) <= 9}
        if len(ids) != len(set(raw)):
            abort(400)
        chosen = people_by_ids(ent, ids)
        if len(chosen) != len(ids):
            abort(404)  # someone of another enterprise (or gone): never say whom
    if form.validate_on_submit():
        people = assignments.audience(
            ent,
            department_ids=form.departments.data or [],
            post_ids=form.posts.data or [],
            role_ids=form.roles.data or [],
            person_ids=[p.id for p in chosen],
        )
        if not people:
            flash(_("Nobody matches the choice."), "error")
        else:
            counts = _found(assignments.assign, exam, people, form.due_on.data, current_user)
            flash(_("%(created)s people assigned, %(existing)s already were.", **counts), "success")
            return redirect(url_for("quizzes.exam_assign", exam_id=exam.id) + "#assigned")
    found = search_people(ent, q) if q else []
    chosen_ids = {c.id for c in chosen}
    return render_template(
        "quizzes/exam_assign.html",
        exam=exam,
        form=form,
        q=q,
        found=[p for p in found if p.id not in chosen_ids],
        chosen=chosen,
        assigned=assignments.assigned_people(exam),
    )


@bp.route("/exams/<int:exam_id>/assign/remove", methods=["POST"])
@roles(*STAFF)
def exam_unassign(exam_id: int):
    from quizzes import assignments

    exam = _exam(exam_id)
    person_id = request.form.get("person_id", type=int)
    if not person_id:
        abort(400)
    person = db.session.get(Person, person_id) if 0 < person_id < 2**31 else None
    if person is None or person.enterprise_id != exam.enterprise_id:
        abort(404)
    _found(assignments.unassign, exam, person)
    flash(_("%(name)s no longer has this exam assigned.", name=person.name), "success")
    return redirect(url_for("quizzes.exam_assign", exam_id=exam.id) + "#assigned")
