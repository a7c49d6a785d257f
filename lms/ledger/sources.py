"""What a record's source is, in words a person reads: the one function pages, PDFs and exports use.

A source is stored as a key (``course_enrolment:57``, ``exam:1:person:10``, ``offline_session:4``,
``manual:…``, ``demo:…``): it makes re-recording replace, and it must never reach a person. ``source_labels``
says for a list of records what each source is (the course, the exam and the attempt, the classroom session
and its date, the sheet it was imported from, who entered it by hand), resolving set-based: a feature above
the ledger registers, for its prefix, a resolver that answers a whole list at once (one query, never one per
record). A source nobody resolves is named by the kind of training and its content, never by its key.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from lms.core.db import db
from lms.core.timeutil import format_local
from lms.ledger.models import TrainingRecord
from lms.org.models import User

# Reasons the system gives when it voids a record (people type their own): shown in the reader's language.
SYSTEM_REASONS = (
    _l("replaced by a new record from the same source"),
    _l("not on the latest sign-in sheet"),
    _l("the attempt that counts did not pass"),
)

Resolver = Callable[[Sequence[TrainingRecord]], dict[int, str]]
_RESOLVERS: dict[str, Resolver] = {}


def register(prefix: str, resolver: Resolver) -> None:
    """Let ``resolver`` name the records whose source starts with ``prefix:`` (record id → label)."""
    _RESOLVERS[prefix] = resolver


def prefix_of(source: str | None) -> str:
    return (source or "").split(":", 1)[0]


def kind_label(kind: str) -> str:
    """The kind of training in words."""
    return {
        "course": _("Online course"),
        "exam": _("Exam"),
        "offline": _("Classroom training"),
        "certificate": _("External certificate"),
        "manual": _("Entered by hand"),
    }.get(kind, kind)


def user_names(ids: set[int | None]) -> dict[int, str]:
    """Display names of users, in one query."""
    wanted = sorted(i for i in ids if i)
    if not wanted:
        return {}
    return {
        uid: name or username
        for uid, name, username in db.session.execute(
            select(User.id, User.display_name, User.username).where(User.id.in_(wanted))
        )
    }


def _generic(rec: TrainingRecord) -> str:
    return _("%(kind)s: %(topic)s", kind=kind_label(rec.kind), topic=rec.topic)


def _course(records: Sequence[TrainingRecord]) -> dict[int, str]:
    return {r.id: _("Online course 《%(title)s》", title=r.topic) for r in records}


def _exam(records: Sequence[TrainingRecord]) -> dict[int, str]:
    out = {}
    for r in records:
        number = (r.evidence or {}).get("attempt_number")
        out[r.id] = (
            _("Exam 《%(title)s》, attempt %(number)s", title=r.topic, number=number)
            if number
            else _("Exam 《%(title)s》", title=r.topic)
        )
    return out


def _manual(records: Sequence[TrainingRecord]) -> dict[int, str]:
    names = user_names({r.recorded_by_id for r in records})
    out = {}
    for r in records:
        who = names.get(r.recorded_by_id or 0)
        when = format_local(r.recorded_at, None, "%Y-%m-%d")
        out[r.id] = (
            _("Entered by hand by %(who)s on %(when)s", who=who, when=when)
            if who
            else _("Entered by hand on %(when)s", when=when)
        )
    return out


def _demo(records: Sequence[TrainingRecord]) -> dict[int, str]:
    return {r.id: _("Demonstration data: %(topic)s", topic=r.topic) for r in records}


_BUILT_IN: dict[str, Resolver] = {
    "course_enrolment": _course,
    "exam": _exam,
    "manual": _manual,
    "demo": _demo,
    "bench": _demo,
}


def source_labels(records: Sequence[TrainingRecord]) -> dict[int, str]:
    """Say what each record's source is (record id → words): a few queries for the whole list."""
    groups: dict[str, list[TrainingRecord]] = defaultdict(list)
    for r in records:
        groups[prefix_of(r.source)].append(r)
    out: dict[int, str] = {}
    for prefix, group in groups.items():
        resolver = _RESOLVERS.get(prefix) or _BUILT_IN.get(prefix)
        if resolver is not None:
            out.update(resolver(group))
    for r in records:
        if not out.get(r.id):
            out[r.id] = _generic(r)
    return out


def source_label(record: TrainingRecord) -> str:
    """What one record's source is (for one record; lists use ``source_labels``)."""
    return source_labels([record])[record.id]


def void_labels(records: Sequence[TrainingRecord]) -> dict[int, str]:
    """For voided records: when, by whom and why (record id → words); live records are left out."""
    voided = [r for r in records if r.voided_at is not None]
    names = user_names({r.voided_by_id for r in voided})
    out: dict[int, str] = {}
    for r in voided:
        who = names.get(r.voided_by_id or 0) or _("the system")
        why = _(r.void_reason) if r.void_reason else "—"  # a system reason translates; a typed one stays
        out[r.id] = _(
            "Voided on %(when)s by %(who)s: %(why)s",
            when=format_local(r.voided_at),
            who=who,
            why=why,
        )
    return out


def labels_for(records: Sequence[TrainingRecord]) -> dict[str, Any]:
    """Both label maps of a list, for templates: {"source": {id: …}, "void": {id: …}}."""
    return {"source": source_labels(records), "void": void_labels(records)}
