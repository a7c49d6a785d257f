"""Attendance by sign-in sheet: parse, match people, preview, then commit all or nothing to the ledger.

One entry point, ``import_attendance``: a dry run reports every row (matched, ambiguous, unknown, duplicate,
absent, invalid) with its row number; a commit writes one training record per attendee with the session as
source, so uploading the same or a corrected sheet again replaces and never doubles. A workbook may carry
several sessions: one sheet per session (named by its sheet name or title, e.g. ``#12`` or the topic and
date) or a column naming the session.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from sqlalchemy import bindparam, delete, insert, inspect, select, update

from lms.core import signals
from lms.core.db import db, utcnow
from lms.core.errors import DomainError, ImportRefused
from lms.core.i18n import msg
from lms.core.sheets.tables import Table, read_tables
from lms.core.sheets.values import (
    normalize_employee_no,
    normalize_text,
    parse_date,
    parse_datetime,
    parse_decimal,
)
from lms.core.storage import StoredFile, save_bytes, save_path, save_stream
from lms.core.timeutil import format_local, format_span, iso_local, local_date, to_utc
from lms.ledger import services as ledger
from lms.ledger.models import KIND_OFFLINE, TrainingRecord
from lms.offline.checkin import checkin_hours, checkin_times
from lms.offline.models import (
    LOCKED,
    PLANNED,
    RECORDED,
    UPLOAD_COMMITTED,
    UPLOAD_PREVIEWED,
    UPLOAD_SUPERSEDED,
    Attendance,
    AttendanceUpload,
    OfflineSession,
)
from lms.offline.services import completed_at, ensure_may_change, ledger_level, started_at
from lms.org.models import ADMIN, MANAGER, Department, Enterprise, Person, User
from lms.org.sheet_columns import PERSON_COLUMNS

FIELDS: dict[str, list[str]] = {
    **PERSON_COLUMNS,
    "signed_in_at": [
        "签到时间",
        "签到时刻",
        "到场时间",
        "Signed in at",
        "Sign-in time",
        "Sign in time",
        "Time in",
    ],
    "signature": ["签名", "签字", "本人签名", "本人签字", "签到签名", "签到", "Signature", "Signed"],
    "score": [
        "成绩",
        "考核成绩",
        "考试成绩",
        "测试成绩",
        "得分",
        "分数",
        "考核结果",
        "Score",
        "Result",
        "Mark",
    ],
    "attendance": ["出勤", "出勤情况", "是否出勤", "是否参加", "Attendance", "Present"],
    "session": ["培训场次", "场次", "场次编号", "培训班次", "Session", "Session ID", "Session No"],
}
REQUIRED = ("name",)
MAX_UPLOAD_BYTES = 20 * 2**20
COMMIT_CHUNK = 1000  # rows recorded per round of statements
_ATTENDANCE = Attendance.__table__
UPLOAD_PURPOSE = "attendance-upload"

ABSENT_WORDS = {
    "缺席",
    "未到",
    "请假",
    "旷课",
    "未参加",
    "未出勤",
    "absent",
    "absence",
    "no show",
    "no-show",
    "否",
    "no",
    "×",
    "x",
    "✗",
}
MISSED_EXAM_WORDS = {"缺考", "未考", "缺测", "未参考", "missed", "missed exam", "no exam"}
PASS_WORDS = {"合格", "通过", "及格", "优秀", "良好", "pass", "passed"}
FAIL_WORDS = {"不合格", "未通过", "不及格", "fail", "failed"}
EMPTY_WORDS = {"", "-", "—", "--", "/", "无", "n/a", "na"}
PRESENT_WORDS = {"出勤", "到", "已到", "是", "yes", "present", "√", "✓", "✔", "y"}

MATCHED = "matched"
AMBIGUOUS = "ambiguous"
UNKNOWN = "unknown"
DUPLICATE = "duplicate"
INVALID = "invalid"
SKIPPED = "skipped"
OVERLAP = "overlap"  # the person holds another training record at that time

_SESSION_NO_RE = re.compile(r"(?:#|场次编号\s*[:：]?\s*#?|^S|^场次\s*)(\d{1,9})\b", re.I)
_DATE_IN_TEXT_RE = re.compile(r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}")


@dataclass(slots=True)
class Line:
    """One data row of the sheet and what became of it (slots: a sheet may have 100,000 of them)."""

    ref: str  # "12", or "Sheet!12" when the workbook has several sheets
    sheet: str | None
    row: int
    employee_no: str
    name: str
    department: str
    session: OfflineSession | None = None
    signed_in_at: dt.datetime | None = None
    score: Decimal | None = None
    passed: bool | None = None
    score_note: str | None = None
    absent: bool = False
    status: str = MATCHED
    person_id: int | None = None
    candidates: list[int] = field(default_factory=list)
    duplicate_of: str | None = None
    resolved: str | None = None  # "picked" or "skipped" by the trainer
    message: str | None = None

    def as_json(self, people: dict[int, dict[str, Any]]) -> dict[str, Any]:
        return {
            "row": self.row,
            "sheet": self.sheet,
            "ref": self.ref,
            "employee_no": self.employee_no,
            "name": self.name,
            "department": self.department,
            "session_id": self.session.id if self.session else None,
            "status": self.status,
            "person_id": self.person_id,
            "person": people.get(self.person_id) if self.person_id else None,
            "score": str(self.score) if self.score is not None else None,
            "passed": self.passed,
            "score_note": self.score_note,
            "absent": self.absent,
            "signed_in_at": iso_local(self.signed_in_at),
            "candidates": [people[c] for c in self.candidates if c in people],
            "duplicate_of": self.duplicate_of,
            "resolved": self.resolved,
            "message": self.message,
        }


@dataclass
class AttendanceResult:
    """What an import did or would do. Row numbers are the spreadsheet's own."""

    filename: str
    dry_run: bool
    committed: bool = False
    refused: bool = False
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    voided: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    sessions: list[OfflineSession] = field(default_factory=list)
    per_session: dict[int, dict[str, int]] = field(default_factory=dict)
    people: dict[int, dict[str, Any]] = field(default_factory=dict)
    upload_id: int | None = None
    # Sessions the sheet names (title, sheet name or 培训场次 column) other than the one it is imported into.
    named_sessions: list[OfflineSession] = field(default_factory=list)
    confirmed: bool = False  # the trainer confirmed the sheet is for the chosen session all the same
    # People who checked in by QR code, by (session id, person id): the hours their check-in earns. They stay
    # present whatever the sheet says, and their records keep those hours (a sheet never doubles them).
    checked_in: dict[tuple[int, int], Decimal] = field(default_factory=dict)

    def rows(self, status: str) -> list[Line]:
        return [line for line in self.lines if line.status == status]

    @property
    def attendees(self) -> list[Line]:
        return [line for line in self.rows(MATCHED) if not line.absent]

    @property
    def absentees(self) -> list[Line]:
        return [line for line in self.rows(MATCHED) if line.absent]

    @property
    def unresolved(self) -> list[Line]:
        return self.rows(AMBIGUOUS) + self.rows(UNKNOWN)

    def as_json(self) -> dict[str, Any]:
        def rows(status: str) -> list[dict[str, Any]]:
            return [line.as_json(self.people) for line in self.rows(status)]

        return {
            "file": self.filename,
            "dry_run": self.dry_run,
            "committed": self.committed,
            "refused": self.refused,
            "upload_id": self.upload_id,
            "sessions": [
                {
                    "id": s.id,
                    "topic": s.topic,
                    "starts_at": iso_local(s.starts_at, s),
                    **self.per_session.get(s.id, {}),
                }
                for s in self.sessions
            ],
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "voided": self.voided,
            "attendees": len(self.attendees),
            "errors": self.errors,
            "warnings": self.warnings,
            "matched": rows(MATCHED),
            "ambiguous": rows(AMBIGUOUS),
            "unknown": rows(UNKNOWN),
            "duplicates": rows(DUPLICATE),
            "skipped": rows(SKIPPED),
            "invalid": rows(INVALID),
            "overlaps": rows(OVERLAP),
            "named_sessions": [{"id": s.id, "topic": s.topic} for s in self.named_sessions],
            "confirmed": self.confirmed,
        }

    def summary(self) -> dict[str, Any]:
        """Counts only (kept on the upload row)."""
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "voided": self.voided,
            "attendees": len(self.attendees),
            "absent": len(self.absentees),
            "ambiguous": len(self.rows(AMBIGUOUS)),
            "unknown": len(self.rows(UNKNOWN)),
            "duplicates": len(self.rows(DUPLICATE)),
            "skipped": len(self.rows(SKIPPED)),
            "invalid": len(self.rows(INVALID)),
            "overlaps": len(self.rows(OVERLAP)),
            "errors": len(self.errors),
            "sessions": [s.id for s in self.sessions],
        }


class _People:
    """The enterprise's people, indexed for matching (one query, tuples only)."""

    def __init__(self, enterprise_id: int):
        paths = dict(
            db.session.execute(
                select(Department.id, Department.path).where(Department.enterprise_id == enterprise_id)
            ).all()
        )
        self.by_emp: dict[str, int] = {}
        self.by_name: dict[str, list[int]] = defaultdict(list)
        self.info: dict[int, dict[str, Any]] = {}
        self.paths: dict[int, str] = {}
        self.name_keys: dict[int, str] = {}
        rows = db.session.execute(
            select(Person.id, Person.employee_no, Person.name, Person.department_id, Person.status)
            .where(Person.enterprise_id == enterprise_id)
            .order_by(Person.employee_no)
        )
        for pid, emp, name, dept_id, status in rows:
            self.by_emp[emp.upper()] = pid
            key = _name_key(name)
            self.by_name[key].append(pid)
            self.name_keys[pid] = key
            path = paths.get(dept_id, "") if dept_id else ""
            self.paths[pid] = path
            self.info[pid] = {
                "id": pid,
                "employee_no": emp,
                "name": name,
                "department": path,
                "status": status,
            }

    def by_department(self, candidates: list[int], department: str) -> list[int]:
        want = department.replace(" ", "")
        if not want:
            return []
        out = []
        for pid in candidates:
            path = self.paths.get(pid, "")
            parts = path.split("/") if path else []
            if want == path or want in parts or path.startswith(want + "/") or want == path.replace("/", ""):
                out.append(pid)
        return out


@functools.lru_cache(maxsize=2**15)  # names recur (one row per session and person), words recur on every row
def _name_key(name: str) -> str:
    return normalize_text(name).replace(" ", "")


@functools.lru_cache(maxsize=2**13)
def _word(text: str) -> str:
    return normalize_text(text).lower()


# ---------------------------------------------------------------- sessions named by the file


def resolve_session_ref(enterprise_id: int, text: str | None) -> OfflineSession | None:
    """Return the enterprise's session named by ``text``: "#12", "12", "S12", or a topic (with a date if several)."""
    text = normalize_text(text or "")
    if not text:
        return None
    match = _SESSION_NO_RE.search(text) or re.fullmatch(r"(\d{1,9})", text)
    if match:
        found = db.session.get(OfflineSession, int(match.group(1)))
        return found if found is not None and found.enterprise_id == enterprise_id else None
    key = text.replace(" ", "")
    rows = db.session.execute(
        select(OfflineSession.id, OfflineSession.topic, OfflineSession.starts_at).where(
            OfflineSession.enterprise_id == enterprise_id
        )
    ).all()
    hits = [
        (sid, topic, starts)
        for sid, topic, starts in rows
        if topic.replace(" ", "") and topic.replace(" ", "") in key
    ]
    if not hits:
        return None
    dates = set()
    for raw in _DATE_IN_TEXT_RE.findall(text):
        try:
            dates.add(parse_date(raw))
        except ValueError:
            continue
    if dates:  # the dates people write are local days; sessions are stored UTC
        from lms.org.timezone import enterprise_zone_name

        tz = enterprise_zone_name(enterprise_id)
        hits = [h for h in hits if local_date(h[2], tz) in dates]
    if hits:
        longest = max(len(h[1]) for h in hits)
        hits = [h for h in hits if len(h[1]) == longest]
    return db.session.get(OfflineSession, hits[0][0]) if len(hits) == 1 else None


def _table_session(
    enterprise_id: int, table: Table, default: OfflineSession | None, several: bool, result: AttendanceResult
) -> OfflineSession | None:
    by_name = resolve_session_ref(enterprise_id, table.sheet) if table.sheet else None
    by_title = resolve_session_ref(enterprise_id, table.title) if table.title else None
    named = by_name or by_title
    if default is not None:
        # Imported into a chosen session: a sheet that names another one is refused for it unless the trainer
        # confirms it in the preview (the same sheet committed to two sessions counts one afternoon twice).
        if named is not None and named.id != default.id:
            _named_other(result, named, default, None)
        return default
    return named


def _named_other(
    result: AttendanceResult, named: OfflineSession, default: OfflineSession, row: int | None
) -> None:
    """Note that the sheet names ``named`` while imported into ``default``: a problem until confirmed."""
    first = named not in result.named_sessions
    if first:
        result.named_sessions.append(named)
    if result.confirmed:
        if first:
            result.warnings.append(
                {
                    "row": None,
                    "field": "session",
                    "message": msg(
                        "the sheet names session #%(named_id)s (%(topic)s); confirmed: it is recorded for "
                        "session #%(session_id)s",
                        named_id=named.id,
                        topic=named.topic,
                        session_id=default.id,
                    ),
                }
            )
        return
    if first or row is not None:
        result.errors.append(
            {
                "row": row,
                "field": "session",
                "confirm": True,
                "message": msg(
                    "the sheet names session #%(named_id)s (%(topic)s, %(when)s), not session #%(session_id)s: "
                    "upload it to that session, or confirm that this sheet is for session #%(session_id)s",
                    named_id=named.id,
                    topic=named.topic,
                    when=format_local(named.starts_at, named),
                    session_id=default.id,
                ),
            }
        )


# ---------------------------------------------------------------- parsing


def _parse_score(text: str, line: Line, errors: list[dict[str, Any]]) -> None:
    word = _word(text)
    if word in EMPTY_WORDS:
        return
    if word in ABSENT_WORDS:
        line.absent, line.score_note = True, normalize_text(text)
        return
    if word in MISSED_EXAM_WORDS:
        line.score_note = normalize_text(text)  # present, but did not sit the test: hours count, no score
        return
    if word in PASS_WORDS:
        line.passed, line.score_note = True, normalize_text(text)
        return
    if word in FAIL_WORDS:
        line.passed, line.score_note = False, normalize_text(text)
        return
    try:
        score = parse_decimal(text)
    except ValueError:
        errors.append(
            {
                "row": line.row,
                "field": "score",
                "message": msg(
                    "score %(score)s is neither a number nor a word such as 缺考 / 缺席 / 合格",
                    score=repr(text),
                ),
            }
        )
        return
    if score is None:
        return
    if score < 0 or score > 1000:
        errors.append(
            {
                "row": line.row,
                "field": "score",
                "message": msg("score %(score)s is out of range", score=repr(text)),
            }
        )
        return
    line.score = score.quantize(Decimal("0.01"))


def _parse_line(
    r: Any,
    table: Table,
    ref: str,
    session: OfflineSession | None,
    result: AttendanceResult,
) -> tuple[Line, list[dict[str, Any]], bool]:
    """Parse one row; the flag says whether the row counts as absent if the sheet has presence columns."""
    v = r.values
    errors: list[dict[str, Any]] = []
    line = Line(
        ref=ref,
        sheet=table.sheet,
        row=r.row,
        employee_no=normalize_employee_no(v.get("employee_no", "")),
        name=normalize_text(v.get("name", "")),
        department=normalize_text(v.get("department", "")),
        session=session,
    )
    if not line.employee_no and not line.name:
        errors.append(
            {
                "row": r.row,
                "field": "name",
                "message": msg("the row has neither an employee number nor a name"),
            }
        )
    _parse_score(v.get("score", ""), line, errors)
    presence = _word(v.get("attendance", ""))
    if presence in ABSENT_WORDS:
        line.absent, line.score_note = True, line.score_note or normalize_text(v.get("attendance", ""))
    elif presence and presence not in PRESENT_WORDS and presence not in EMPTY_WORDS:
        errors.append(
            {
                "row": r.row,
                "field": "attendance",
                "message": msg(
                    "attendance %(value)s is neither present (出勤) nor absent (缺席)",
                    value=repr(v.get("attendance")),
                ),
            }
        )
    signed = v.get("signed_in_at", "")
    if signed and _word(signed) not in EMPTY_WORDS:
        try:
            # The sheet is in local time of the session's enterprise; stored UTC.
            day = local_date(session.starts_at, session) if session else None
            line.signed_in_at = to_utc(parse_datetime(signed, default_date=day), session)
        except ValueError:
            if _word(signed) in ABSENT_WORDS:
                line.absent = True
            else:
                result.warnings.append(
                    {
                        "row": r.row,
                        "field": "signed_in_at",
                        "message": msg("sign-in time %(value)s is not a time; ignored", value=repr(signed)),
                    }
                )
    signature = _word(v.get("signature", ""))
    if signature in ABSENT_WORDS:
        line.absent, line.score_note = True, line.score_note or normalize_text(v.get("signature", ""))
    # On a prefilled sheet (one whose rows carry sign-in times or signatures), a person listed but neither
    # signed nor signed in is absent; whether the sheet is one is known only once all its rows are read.
    unsigned = (
        not line.absent
        and not signed
        and signature in EMPTY_WORDS
        and line.score is None
        and line.passed is None
        and not line.score_note
        and presence not in PRESENT_WORDS
    )
    return line, errors, unsigned


def _has_presence(values: dict[str, str]) -> bool:
    return (
        _word(values.get("signed_in_at", "")) not in EMPTY_WORDS
        or _word(values.get("signature", "")) not in EMPTY_WORDS
    )


def _match(line: Line, people: _People) -> None:
    if line.employee_no:
        pid = people.by_emp.get(line.employee_no.upper())
        if pid is not None:
            line.person_id = pid
            known = people.name_keys[pid]
            if line.name and _name_key(line.name) != known:
                line.message = msg(
                    "name on the sheet (%(name)s) differs from %(known)s",
                    name=line.name,
                    known=people.info[pid]["name"],
                )
            return
        line.status = UNKNOWN
        line.candidates = list(people.by_name.get(_name_key(line.name), []))[:20] if line.name else []
        line.message = msg("no person with employee number %(number)s", number=line.employee_no)
        return
    candidates = people.by_name.get(_name_key(line.name), [])
    if len(candidates) == 1:
        line.person_id = candidates[0]
        return
    if not candidates:
        line.status, line.message = UNKNOWN, msg("no person named %(name)s", name=line.name)
        return
    narrowed = people.by_department(candidates, line.department)
    if len(narrowed) == 1:
        line.person_id = narrowed[0]
        return
    line.status = AMBIGUOUS
    line.candidates = (narrowed or candidates)[:20]
    if line.department:
        line.message = msg(
            "%(count)s people are named %(name)s; the department %(department)s does not tell them apart",
            count=len(candidates),
            name=line.name,
            department=line.department,
        )
    else:
        line.message = msg("%(count)s people are named %(name)s", count=len(candidates), name=line.name)


def _apply_resolution(line: Line, choice: Any, people: _People, errors: list[dict[str, Any]]) -> None:
    if choice in (None, "", "keep"):
        return
    if choice == "skip":
        line.status, line.resolved, line.person_id = SKIPPED, "skipped", None
        return
    try:
        pid = int(choice)
    except (TypeError, ValueError):
        errors.append(
            {
                "row": line.row,
                "field": "person",
                "message": msg("resolution %(choice)s is not a person", choice=repr(choice)),
            }
        )
        return
    if pid not in people.info:
        errors.append(
            {
                "row": line.row,
                "field": "person",
                "message": msg("the chosen person is not in this enterprise"),
            }
        )
        return
    line.status, line.person_id, line.resolved = MATCHED, pid, "picked"
    line.message = None


def _dedupe(lines: list[Line], resolutions: dict[str, Any]) -> None:
    groups: dict[tuple[int, int], list[Line]] = defaultdict(list)
    for line in lines:
        if line.status == MATCHED and line.person_id is not None and line.session is not None:
            groups[(line.session.id, line.person_id)].append(line)
    for group in groups.values():
        if len(group) < 2:
            continue
        kept = [x for x in group if resolutions.get(x.ref) == "keep"]
        present = [x for x in group if not x.absent]
        primary = kept[0] if kept else (present[0] if present else group[0])
        for other in group:
            if other is not primary:
                other.status, other.duplicate_of = DUPLICATE, primary.ref
                differs = (other.score, other.absent, other.score_note) != (
                    primary.score,
                    primary.absent,
                    primary.score_note,
                )
                if differs:
                    other.message = msg(
                        "same person as row %(row)s; counted once (the rows differ: the kept row wins)",
                        row=primary.ref,
                    )
                else:
                    other.message = msg("same person as row %(row)s; counted once", row=primary.ref)


# ---------------------------------------------------------------- the import


def import_attendance(
    enterprise: Enterprise,
    source: str | os.PathLike[str] | bytes | IO[bytes],
    filename: str,
    *,
    session: OfflineSession | None = None,
    dry_run: bool = True,
    resolutions: dict[str, Any] | None = None,
    skip_unresolved: bool = False,
    actor: User | None = None,
    upload: AttendanceUpload | None = None,
    reason: str | None = None,
    max_bytes: int | None = None,
    confirm_session: bool = False,
) -> AttendanceResult:
    """Check a sign-in sheet and, unless ``dry_run`` or anything is wrong, record the attendance (all or nothing).

    ``resolutions`` maps a row ref ("12" or "Sheet!12") to a person id, "skip", or "keep" (the duplicate row
    that wins). Ambiguous or unknown rows left unresolved refuse the commit unless ``skip_unresolved``.
    A sheet imported into ``session`` that names another session (title, sheet name, 培训场次 column) is
    refused unless ``confirm_session`` (the trainer's confirmation, kept on the upload). An attendee who
    holds another training record at the session's time is refused (listed as an overlap; skip the row).
    """
    result = AttendanceResult(filename=filename, dry_run=dry_run, confirmed=confirm_session)
    resolutions = {str(k): v for k, v in (resolutions or {}).items()}
    if session is not None and session.enterprise_id != enterprise.id:
        raise DomainError("the session is not part of this enterprise")
    if not dry_run:
        # Two trainers committing sheets at the same moment take turns (PostgreSQL row lock; SQLite's write
        # lock already serialises): the second sees the first one's records and changes nothing twice.
        from sqlalchemy import select as _select

        from lms.org.models import Enterprise as _Enterprise

        db.session.execute(_select(_Enterprise.id).where(_Enterprise.id == enterprise.id).with_for_update())
    try:
        # Streaming (openpyxl read-only, merged cells read from the sheet XML): rows are read one by one and
        # never all held, so a 100,000-row sheet stays within bounded memory.
        tables = read_tables(
            source,
            filename,
            FIELDS,
            REQUIRED,
            all_sheets=True,
            max_bytes=max_bytes or MAX_UPLOAD_BYTES,
            streaming=True,
        )
        _read_lines(enterprise, tables, result, session, resolutions)
    except ImportRefused as exc:  # also raised while streaming, when a damaged part of the file is reached
        result = AttendanceResult(filename=filename, dry_run=dry_run, refused=True, confirmed=confirm_session)
        result.errors.append({"row": None, "field": None, "message": exc.message})
        return result
    if not result.lines and not result.errors:
        result.errors.append(
            {"row": None, "field": None, "message": msg("%(file)s has no attendance rows", file=filename)}
        )
    _dedupe(result.lines, resolutions)
    _merge_check_ins(result)
    _plan(result)
    if result.errors:
        result.refused = not dry_run
        return result
    unresolved = result.unresolved
    if unresolved and not dry_run and not skip_unresolved:
        result.refused = True
        result.errors.append(
            {
                "row": None,
                "field": None,
                "message": msg(
                    "%(count)s rows are ambiguous or unknown (rows %(rows)s): pick the person or skip each one, "
                    "or skip all unresolved rows",
                    count=len(unresolved),
                    rows=", ".join(x.ref for x in unresolved[:20]),
                ),
            }
        )
        return result
    if dry_run:
        return result
    problems = [p for s in result.sessions if (p := _locked_problem(s, actor, reason))]
    if problems:
        result.refused = True
        result.errors.extend({"row": None, "field": "reason", "message": p} for p in problems)
        return result
    for line in unresolved:
        line.status, line.resolved = SKIPPED, "skipped"
    _commit(
        enterprise,
        result,
        source,
        filename,
        actor=actor,
        upload=upload,
        reason=reason,
        default_session=session,
    )
    return result


def _read_lines(
    enterprise: Enterprise,
    tables: list[Table],
    result: AttendanceResult,
    session: OfflineSession | None,
    resolutions: dict[str, Any],
) -> None:
    """Parse and match every row of the tables into ``result.lines`` (one pass over streamed rows)."""
    people = _People(enterprise.id)
    result.people = people.info
    several = len(tables) > 1
    session_cache: dict[str, OfflineSession | None] = {}
    for table in tables:
        table_session = _table_session(enterprise.id, table, session, several, result)
        if table_session is None and "session" not in table.columns:
            if table.sheet and several:
                problem = msg(
                    'sheet "%(sheet)s" names no session of this enterprise: choose the session, name the sheet '
                    "after it (e.g. #12) or add a 培训场次 column",
                    sheet=table.sheet,
                )
            else:
                problem = msg(
                    "%(file)s names no session of this enterprise: choose the session, name the sheet "
                    "after it (e.g. #12) or add a 培训场次 column",
                    file=result.filename,
                )
            result.errors.append({"row": None, "field": "session", "message": problem})
            for _row in table.rows:  # read to the end all the same: a damaged part refuses the file
                pass
            continue
        # Rows without a sign-in time or signature count as absent only when the sheet uses those columns
        # (a prefilled sheet); a hand-typed list of attendees with the column left blank counts everyone.
        has_presence = False
        unsigned_lines: list[Line] = []
        for r in table.rows:
            if not has_presence:
                has_presence = _has_presence(r.values)
            ref = f"{table.sheet}!{r.row}" if several else str(r.row)
            row_session = table_session
            session_errors: list[dict[str, Any]] = []
            named = r.values.get("session", "")
            if named:
                if named not in session_cache:
                    session_cache[named] = resolve_session_ref(enterprise.id, named)
                row_session = session_cache[named]
                if session is not None and row_session is not None and row_session.id != session.id:
                    _named_other(result, row_session, session, None)
                    row_session = session
                if row_session is None:
                    session_errors.append(
                        {
                            "row": r.row,
                            "field": "session",
                            "message": msg(
                                "no session of this enterprise is named %(name)s", name=repr(named)
                            ),
                        }
                    )
            elif row_session is None:
                session_errors.append(
                    {"row": r.row, "field": "session", "message": msg("the session cell is empty")}
                )
            line, errors, unsigned = _parse_line(r, table, ref, row_session, result)
            if unsigned:
                unsigned_lines.append(line)
            errors = session_errors + errors
            if errors or row_session is None:
                line.status = INVALID
                if len(errors) == 1:
                    line.message = errors[0]["message"]  # keeps a single problem translatable
                else:
                    line.message = "; ".join(e["message"] for e in errors) or msg("no session")
            else:
                _match(line, people)
            choice = resolutions.get(ref)
            if choice == "skip":
                errors = []  # the trainer chose to leave the row out, readable or not
            if choice == "skip" or (choice is not None and line.status != INVALID):
                _apply_resolution(line, choice, people, errors)
            result.errors.extend(errors)
            if line.session is not None and line.session not in result.sessions:
                result.sessions.append(line.session)
            result.lines.append(line)
        if has_presence:
            for line in unsigned_lines:
                # A prefilled sheet: the person is listed but neither signed nor signed in.
                line.absent, line.score_note = True, "未签到"


def _locked_problem(session: OfflineSession, actor: User | None, reason: str | None) -> str | None:
    if session.status != LOCKED:
        return None
    if actor is not None and actor.app_role not in (MANAGER, ADMIN):
        return msg(
            "session #%(session_id)s is locked; only a safety manager may change its attendance",
            session_id=session.id,
        )
    if not (reason or "").strip():
        return msg(
            "session #%(session_id)s is locked; give a reason for changing its attendance",
            session_id=session.id,
        )
    return None


def _session_values(session: OfflineSession) -> dict[str, Any]:
    """The values of a session's records that every attendee shares."""
    return {
        "kind": KIND_OFFLINE,
        "topic": session.topic,
        "category": session.category,
        "level": ledger_level(session),
        "course_id": session.course_id,
        "hours": session.hours,
        "started_at": started_at(session),
        "completed_at": completed_at(session),
    }


def session_span(session: OfflineSession, person_id: int) -> ledger.Span | None:
    """The time a session takes from an attendee, as the ledger's overlap check sees it."""
    return ledger.span_of(person_id, session.source, ledger.prepare_fact(**_session_values(session)))


def _values(
    session: OfflineSession,
    line: Line,
    shared: dict[str, Any] | None = None,
    checked_in: dict[tuple[int, int], Decimal] | None = None,
) -> dict[str, Any]:
    values = {**(shared or _session_values(session)), "score": line.score, "passed": line.passed}
    hours = (checked_in or {}).get((session.id, line.person_id or 0))
    if hours is not None:
        values["hours"] = hours  # what the QR check-in and check-out earned
    return values


def _merge_check_ins(result: AttendanceResult) -> None:
    """Merge the sheet with the sessions' QR check-ins: a person who checked in is present (a prefilled sheet
    marks them absent because they did not sign the paper) and keeps the hours the check-in earned."""
    ids = sorted(s.id for s in result.sessions)
    result.checked_in = checkin_hours(ids)
    if not result.checked_in:
        return
    times = checkin_times(ids)
    for line in result.lines:
        if line.status != MATCHED or line.session is None or line.person_id is None:
            continue
        key = (line.session.id, line.person_id)
        if key not in result.checked_in:
            continue
        if line.absent:
            line.absent = False
            line.score_note = None  # the word that marked the absence
            line.message = msg("checked in by QR code; counted present")
        if line.signed_in_at is None:
            line.signed_in_at = times.get(key)


def _same(record: TrainingRecord, values: dict[str, Any]) -> bool:
    def norm(value: Any) -> Any:
        if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
            return Decimal(str(value)).quantize(Decimal("0.01"))
        if isinstance(value, dt.datetime):
            return value.replace(microsecond=0, tzinfo=None)
        return value

    return all(norm(getattr(record, key)) == norm(value) for key, value in values.items())


_PLAN_COLUMNS = (
    TrainingRecord.source,
    TrainingRecord.person_id,
    TrainingRecord.kind,
    TrainingRecord.topic,
    TrainingRecord.category,
    TrainingRecord.level,
    TrainingRecord.course_id,
    TrainingRecord.hours,
    TrainingRecord.started_at,
    TrainingRecord.completed_at,
    TrainingRecord.score,
    TrainingRecord.passed,
)


def _matched_by_session(result: AttendanceResult) -> dict[int, list[Line]]:
    """The matched lines of each session (in sheet order), keyed by id(session)."""
    out: dict[int, list[Line]] = defaultdict(list)
    for line in result.lines:
        if line.status == MATCHED and line.session is not None:
            out[id(line.session)].append(line)
    return out


def _find_overlaps(result: AttendanceResult) -> None:
    """Mark attendees who hold another training record at the session's time (set-based, one query a chunk).

    The row becomes an overlap and a problem: the commit is refused until the row is skipped or the other
    record is voided. Two sessions of one sheet that overlap for the same person are caught the same way.
    """
    spans: dict[tuple[str, int], Line] = {}
    for line in result.lines:
        if line.status == MATCHED and not line.absent and line.session is not None:
            spans.setdefault((line.session.source, line.person_id), line)  # type: ignore[arg-type]
    shapes: dict[int, ledger.Span | None] = {}
    wanted = []
    for (source, person_id), line in spans.items():
        assert line.session is not None
        if id(line.session) not in shapes:
            shapes[id(line.session)] = session_span(line.session, 0)
        shape = shapes[id(line.session)]
        if shape is not None:
            wanted.append(ledger.Span(person_id, source, shape.started_at, shape.completed_at, shape.topic))
    for found in ledger.find_overlaps(wanted):
        line = spans[(found.span.source, found.span.person_id)]
        if line.status == OVERLAP:
            continue
        line.status = OVERLAP
        line.message = found.message()
        who = result.people.get(line.person_id or 0, {})
        result.errors.append(
            {
                "row": line.row,
                "field": "time",
                "message": msg(
                    "%(employee_no)s %(name)s already holds %(topic)s (%(when)s) at this time: a person attends "
                    "one training at a time",
                    employee_no=who.get("employee_no", ""),
                    name=who.get("name", ""),
                    topic=found.other_topic,
                    when=format_span(found.other_started_at, found.other_completed_at),
                ),
            }
        )


def _plan(result: AttendanceResult) -> None:
    """Predict created / updated / unchanged / voided per session from the live records (the dry-run figures)."""
    _find_overlaps(result)
    sources = {s.source: s for s in result.sessions}
    live: dict[tuple[str, int], Any] = {}  # rows of the compared columns: no ORM object per record
    if sources:
        for rec in db.session.execute(
            select(*_PLAN_COLUMNS).where(
                TrainingRecord.source.in_(list(sources)), TrainingRecord.voided_at.is_(None)
            )
        ):
            live[(rec.source, rec.person_id)] = rec
    matched = _matched_by_session(result)
    for s in result.sessions:
        figures = {"created": 0, "updated": 0, "unchanged": 0, "voided": 0, "attendees": 0, "absent": 0}
        keep = set()
        shared = _session_values(s)
        for line in matched.get(id(s), ()):
            if line.absent:
                figures["absent"] += 1
                continue
            keep.add(line.person_id)
            figures["attendees"] += 1
            rec = live.get((s.source, line.person_id))  # type: ignore[arg-type]
            if rec is None:
                figures["created"] += 1
            elif _same(rec, _values(s, line, shared, result.checked_in)):
                figures["unchanged"] += 1
            else:
                figures["updated"] += 1
        keep |= {pid for (sid, pid) in result.checked_in if sid == s.id}  # QR check-ins stay
        figures["voided"] = sum(1 for (src, pid) in live if src == s.source and pid not in keep)
        result.per_session[s.id] = figures
    for key in ("created", "updated", "unchanged", "voided"):
        setattr(result, key, sum(f[key] for f in result.per_session.values()))


def store_source(source: Any, filename: str, *, enterprise_id: int, actor: User | None) -> StoredFile:
    """Keep the uploaded sheet as evidence."""
    kwargs: dict[str, Any] = {
        "purpose": UPLOAD_PURPOSE,
        "enterprise_id": enterprise_id,
        "uploaded_by_id": actor.id if actor else None,
    }
    if isinstance(source, bytes | bytearray):
        return save_bytes(bytes(source), filename, **kwargs)
    if isinstance(source, str | os.PathLike):
        return save_path(Path(source), filename, **kwargs)
    source.seek(0)
    return save_stream(source, filename, **kwargs)


def _commit(
    enterprise: Enterprise,
    result: AttendanceResult,
    source: Any,
    filename: str,
    *,
    actor: User | None,
    upload: AttendanceUpload | None,
    reason: str | None,
    default_session: OfflineSession | None,
) -> None:
    session_db = db.session
    for s in result.sessions:
        ensure_may_change(s, actor, reason, "attendance", {"file": filename})
    if upload is None:
        stored = store_source(source, filename, enterprise_id=enterprise.id, actor=actor)
        upload = AttendanceUpload(
            enterprise_id=enterprise.id,
            stored_file_id=stored.id,
            session_id=(default_session or result.sessions[0]).id if result.sessions else None,
            uploaded_by_id=actor.id if actor else None,
            status=UPLOAD_PREVIEWED,
        )
        session_db.add(upload)
        session_db.flush()
    result.upload_id = upload.id
    if result.named_sessions and result.confirmed:
        upload.confirmation = upload.confirmation or confirmation(result, default_session, actor)
    totals = {"created": 0, "replaced": 0, "unchanged": 0}
    voided = 0
    matched = _matched_by_session(result)
    for s in result.sessions:
        lines = matched.get(id(s), [])
        shared = _session_values(s)
        keep: set[int] = set()  # attendees: their records stay live
        # The session's attendance rows (person → row id); what is left after the sheet's rows goes.
        existing: dict[int, int] = dict(
            session_db.execute(
                select(Attendance.person_id, Attendance.id).where(Attendance.session_id == s.id)
            ).all()
        )
        # Chunks keep the statements few (one SELECT, one multi-row INSERT per table and chunk) and the memory
        # flat: nothing per row outlives its chunk but the Line itself.
        for start in range(0, len(lines), COMMIT_CHUNK):
            chunk = lines[start : start + COMMIT_CHUNK]
            attendees = [line for line in chunk if not line.absent]
            outcomes = ledger.record_many(
                (
                    {
                        "person_id": line.person_id,
                        "enterprise_id": enterprise.id,
                        "source": s.source,
                        "evidence": {"upload_id": upload.id, "row": line.row, "sheet": line.sheet},
                        **_values(s, line, shared, result.checked_in),
                    }
                    for line in attendees
                ),
                actor=actor,
            )
            record_ids: dict[int, int] = {}
            for line, outcome in zip(attendees, outcomes, strict=True):
                assert line.person_id is not None
                keep.add(line.person_id)
                totals[outcome.outcome] += 1
                record_ids[line.person_id] = outcome.record_id
            del outcomes
            now = utcnow()
            inserts: list[dict[str, Any]] = []
            updates: list[dict[str, Any]] = []
            for line in chunk:
                assert line.person_id is not None
                row = {
                    "score": line.score,
                    "passed": line.passed,
                    "score_note": line.score_note,
                    "absent": line.absent,
                    "signed_in_at": line.signed_in_at,
                    "upload_id": upload.id,
                    "row": line.row,
                    "sheet": line.sheet,
                    "record_id": record_ids.get(line.person_id),
                    "recorded_at": now,
                }
                att_id = existing.pop(line.person_id, None)
                if att_id is None:
                    inserts.append({"session_id": s.id, "person_id": line.person_id, **row})
                else:
                    updates.append({"att_id": att_id, **row})
            if inserts:
                session_db.execute(insert(_ATTENDANCE), inserts)
            if updates:
                session_db.execute(
                    update(_ATTENDANCE).where(_ATTENDANCE.c.id == bindparam("att_id")), updates
                )
        # Attendance rows of people no longer on the sheet go, but for those who checked in by QR code.
        checked_in = {pid for (sid, pid) in result.checked_in if sid == s.id}
        keep |= checked_in
        gone = sorted(att_id for pid, att_id in existing.items() if pid not in checked_in)
        for start in range(0, len(gone), COMMIT_CHUNK):
            part = gone[start : start + COMMIT_CHUNK]
            session_db.execute(delete(_ATTENDANCE).where(_ATTENDANCE.c.id.in_(part)))
        _expire_attendance(s.id)
        voided += ledger.void_source(
            s.source, reason="not on the latest sign-in sheet", actor=actor, keep_person_ids=keep or None
        )
        if s.status in (PLANNED, "held"):
            s.status = RECORDED
        for older in session_db.scalars(
            select(AttendanceUpload).where(
                AttendanceUpload.session_id == s.id,
                AttendanceUpload.status == UPLOAD_COMMITTED,
                AttendanceUpload.id != upload.id,
            )
        ):
            older.status = UPLOAD_SUPERSEDED
    session_db.flush()
    result.created, result.updated, result.unchanged = (
        totals["created"],
        totals["replaced"],
        totals["unchanged"],
    )
    result.voided = voided
    result.committed = True
    upload.status = UPLOAD_COMMITTED
    upload.committed_at = utcnow()
    upload.summary = result.summary()
    session_db.flush()
    for s in result.sessions:
        ids = sorted({x.person_id for x in matched.get(id(s), ()) if not x.absent})  # type: ignore[type-var]
        signals.attendance_recorded.send(s, person_ids=ids, session=s)


def confirmation(
    result: AttendanceResult, session: OfflineSession | None, actor: User | None
) -> dict[str, Any]:
    """What the upload keeps of a trainer's confirmation that a sheet naming other sessions is for ``session``."""
    return {
        "named": [{"id": s.id, "topic": s.topic} for s in result.named_sessions],
        "session_id": session.id if session else None,
        "by_id": actor.id if actor else None,
        "by": actor.display_name if actor else None,
        "at": utcnow().isoformat(timespec="seconds"),
    }


def _expire_attendance(session_id: int) -> None:
    """Attendance rows are written with plain statements: drop stale copies the ORM may hold of them."""
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Attendance) and inspect(obj).dict.get("session_id") == session_id:
            db.session.expire(obj)


def upload_source(upload: AttendanceUpload) -> tuple[Any, str]:
    """Return (path, original name) of an upload's stored sheet."""
    from lms.core.storage import path_of

    stored = db.session.get(StoredFile, upload.stored_file_id)
    assert stored is not None
    return path_of(stored.key), stored.original_name


def read_bytes_limited(stream: IO[bytes], limit: int) -> bytes | None:
    """Return the stream's bytes, or None when it exceeds ``limit``."""
    data = stream.read(limit + 1)
    return None if len(data) > limit else data
