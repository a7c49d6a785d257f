"""Safety notices (安全信息发布): publish to departments, posts, roles or everyone; acknowledgement (签收)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, BinaryIO

import markdown as md
import nh3
from sqlalchemy import func, insert, literal, or_, select

from lms.core import timeutil
from lms.core.db import db, utcnow
from lms.core.errors import Conflict, DomainError, NotFound
from lms.culture import notify
from lms.culture.evidence import save_evidence
from lms.culture.models import Notice, NoticeAck, NoticeAttachment, NoticePublicity, NoticeTarget
from lms.org.models import PERSON_ACTIVE, Department, Person, PersonRole, Post, ResponsibilityRole, User

TARGET_KINDS = ("department", "post", "role", "person")
ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "u",
    "ul",
    "ol",
    "li",
    "h2",
    "h3",
    "h4",
    "blockquote",
    "code",
    "pre",
    "a",
    "hr",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}


def render_markdown(text: str) -> str:
    """Render Markdown to HTML and sanitise it (no script, no style, no event handler, safe links only)."""
    html = md.markdown(text or "", extensions=["tables", "sane_lists"])
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def _check_targets(enterprise_id: int, targets: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    out = []
    models = {"department": Department, "post": Post, "role": ResponsibilityRole, "person": Person}
    for kind, ref in targets:
        if kind not in TARGET_KINDS:
            raise DomainError(f"unknown audience {kind}", field="targets")
        obj = db.session.get(models[kind], int(ref))
        if obj is None or obj.enterprise_id != enterprise_id:
            raise DomainError("an audience is not in this enterprise", field="targets")
        out.append((kind, int(ref)))
    return sorted(set(out))


def save_notice(
    enterprise_id: int,
    *,
    title: str,
    body_md: str,
    targets: Iterable[tuple[str, int]],
    audience_all: bool,
    actor: User | None,
    notice: Notice | None = None,
    files: Iterable[tuple[BinaryIO, str]] = (),
) -> Notice:
    """Create or change a draft notice."""
    if not (title or "").strip():
        raise DomainError("a title is required", field="title")
    checked = _check_targets(enterprise_id, targets)
    if not audience_all and not checked:
        raise DomainError(
            "choose who the notice is for (departments, posts, roles) or everyone", field="targets"
        )
    if notice is None:
        notice = Notice(enterprise_id=enterprise_id, created_by_id=actor.id if actor else None)
        db.session.add(notice)
    elif notice.status != "draft":
        raise Conflict("a published notice cannot be changed")
    notice.title, notice.body_md = title.strip()[:200], body_md or ""
    notice.body_html, notice.audience_all = render_markdown(body_md), bool(audience_all)
    db.session.flush()
    notice.targets[:] = [NoticeTarget(notice_id=notice.id, kind=k, ref_id=r) for k, r in checked]
    for stream, filename in files:
        stored = save_evidence(stream, filename, enterprise_id=enterprise_id, actor=actor, purpose="notice")
        notice.attachments.append(NoticeAttachment(notice_id=notice.id, file_id=stored.id))
    db.session.flush()
    return notice


def audience(notice: Notice) -> Any:
    """Return ``select(Person.id)`` of the active people a notice addresses."""
    q = select(Person.id).where(Person.enterprise_id == notice.enterprise_id, Person.status == PERSON_ACTIVE)
    if notice.audience_all:
        return q
    conds = []
    for t in notice.targets:
        if t.kind == "department":
            dept = db.session.get(Department, t.ref_id)
            if dept is None:
                continue
            sub = select(Department.id).where(
                Department.enterprise_id == notice.enterprise_id,
                or_(Department.id == dept.id, Department.path.startswith(dept.path + "/", autoescape=True)),
            )
            conds.append(Person.department_id.in_(sub))
        elif t.kind == "post":
            conds.append(Person.post_id == t.ref_id)
        elif t.kind == "role":
            conds.append(Person.id.in_(select(PersonRole.person_id).where(PersonRole.role_id == t.ref_id)))
        elif t.kind == "person":
            conds.append(Person.id == t.ref_id)
    if not conds:
        return q.where(False)
    return q.where(or_(*conds))


def publish_notice(notice: Notice, actor: User | None) -> int:
    """Publish: everyone addressed becomes a recipient who must acknowledge; return how many."""
    if notice.status != "draft":
        raise Conflict("the notice is already published")
    notice.status, notice.published_at = "published", utcnow()
    notice.published_by_id = actor.id if actor else None
    people = audience(notice).subquery()
    db.session.execute(
        insert(NoticeAck).from_select(["notice_id", "person_id"], select(literal(notice.id), people.c.id))
    )
    db.session.flush()
    notify.tell(notice)  # in the app at once (and by e-mail when SMTP is set), not only by the daily job
    return int(
        db.session.scalar(select(func.count()).select_from(NoticeAck).where(NoticeAck.notice_id == notice.id))
        or 0
    )


def acknowledge(notice: Notice, person_id: int) -> bool:
    """Sign for a notice; return False if it was already signed for."""
    ack = db.session.get(NoticeAck, (notice.id, person_id))
    if ack is None or notice.status != "published":
        raise NotFound("notice not found")
    if ack.acknowledged_at is not None:
        return False
    ack.acknowledged_at = utcnow()
    db.session.flush()
    notify.acknowledged(notice, [person_id])
    return True


def unacknowledged_count(person_id: int | None) -> int:
    """How many published notices a person has not acknowledged yet (the badge on "Notices")."""
    if not person_id:
        return 0
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(NoticeAck)
            .join(Notice, Notice.id == NoticeAck.notice_id)
            .where(
                NoticeAck.person_id == person_id,
                NoticeAck.acknowledged_at.is_(None),
                Notice.status == "published",
            )
        )
        or 0
    )


def notices_for_person(person_id: int) -> list[tuple[Notice, dt.datetime | None]]:
    """A person's notices, unacknowledged first, newest first."""
    rows = db.session.execute(
        select(Notice, NoticeAck.acknowledged_at)
        .join(NoticeAck, NoticeAck.notice_id == Notice.id)
        .where(NoticeAck.person_id == person_id, Notice.status == "published")
        .order_by(NoticeAck.acknowledged_at.is_not(None), Notice.published_at.desc())
    ).all()
    return [(n, at) for n, at in rows]


def ack_stats(notice_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """notice id → (addressed, acknowledged), in one grouped query."""
    ids = list(notice_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(NoticeAck.notice_id, func.count(), func.count(NoticeAck.acknowledged_at))
        .where(NoticeAck.notice_id.in_(ids))
        .group_by(NoticeAck.notice_id)
    ).all()
    return {nid: (int(total), int(acked)) for nid, total, acked in rows}


def recipients(notice: Notice, *, pending_only: bool = False) -> list[tuple[Person, dt.datetime | None]]:
    """Recipients with when they acknowledged (None: not yet), by department then employee number."""
    q = (
        select(Person, NoticeAck.acknowledged_at)
        .join(NoticeAck, NoticeAck.person_id == Person.id)
        .outerjoin(Department, Department.id == Person.department_id)
        .where(NoticeAck.notice_id == notice.id)
    )
    if pending_only:
        q = q.where(NoticeAck.acknowledged_at.is_(None))
    return [(p, at) for p, at in db.session.execute(q.order_by(Department.path, Person.employee_no)).all()]


def record_publicity(
    notice: Notice,
    *,
    held_on: dt.date,
    place: str,
    note: str | None,
    actor: User | None,
    photo: tuple[BinaryIO, str] | None = None,
) -> NoticePublicity:
    """Record offline publicity of a notice (a board, a meeting) with an optional photo."""
    if not (place or "").strip():
        raise DomainError("say where the notice was shown", field="place")
    if held_on > timeutil.today(notice) + dt.timedelta(days=1):
        raise DomainError("the date is in the future", field="held_on")
    stored = None
    if photo is not None:
        stored = save_evidence(
            photo[0], photo[1], enterprise_id=notice.enterprise_id, actor=actor, purpose="notice-publicity"
        )
    rec = NoticePublicity(
        notice_id=notice.id,
        held_on=held_on,
        place=place.strip()[:200],
        note=(note or "").strip() or None,
        photo_file_id=stored.id if stored else None,
        recorded_by_id=actor.id if actor else None,
    )
    notice.publicity.append(rec)
    db.session.flush()
    return rec


def target_labels(notice: Notice) -> list[str]:
    """Readable names of a notice's audience."""
    if notice.audience_all:
        return []
    out = []
    models = {
        "department": (Department, "path"),
        "post": (Post, "name"),
        "role": (ResponsibilityRole, "name"),
        "person": (Person, "name"),
    }
    for t in notice.targets:
        model, attr = models[t.kind]
        obj = db.session.get(model, t.ref_id)
        if obj is not None:
            out.append(getattr(obj, attr))
    return out


def add_recipients(notice: Notice, people: Iterable[Person]) -> int:
    """Address a published notice to more named people too (they must acknowledge it); return how many are new."""
    if notice.status != "published":
        raise Conflict("the notice is not published")
    have = set(db.session.scalars(select(NoticeAck.person_id).where(NoticeAck.notice_id == notice.id)))
    targets = {t.ref_id for t in notice.targets if t.kind == "person"}
    added: list[int] = []
    for person in people:
        if person.enterprise_id != notice.enterprise_id or person.status != PERSON_ACTIVE:
            raise NotFound("person not found")
        if person.id not in targets:
            notice.targets.append(NoticeTarget(notice_id=notice.id, kind="person", ref_id=person.id))
            targets.add(person.id)
        if person.id not in have:
            db.session.add(NoticeAck(notice_id=notice.id, person_id=person.id))
            have.add(person.id)
            added.append(person.id)
    db.session.flush()
    notify.tell(notice, added)
    return len(added)


def remove_recipient(notice: Notice, person_id: int) -> None:
    """Take someone off a notice they have not acknowledged yet (an acknowledgement is a record: it stays)."""
    ack = db.session.get(NoticeAck, (notice.id, person_id))
    if ack is None:
        raise NotFound("recipient not found")
    if ack.acknowledged_at is not None:
        raise Conflict("an acknowledged notice stays on the person's record")
    db.session.delete(ack)
    for t in [t for t in notice.targets if t.kind == "person" and t.ref_id == person_id]:
        notice.targets.remove(t)
    db.session.flush()


def file_of_notice(notice: Notice, file_id: int) -> Any:
    """Return the stored file if it belongs to the notice (attachment or publicity photo)."""
    ids = {a.file_id for a in notice.attachments} | {
        p.photo_file_id for p in notice.publicity if p.photo_file_id
    }
    if file_id not in ids:
        raise NotFound("file not found")
    from lms.core.storage import StoredFile

    return db.session.get(StoredFile, file_id)
