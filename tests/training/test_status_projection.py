"""The kept status rows are a projection of the ledger's and the organisation's domain events.

After every kind of change, made the way the product makes it (ledger and org services, bulk statements, the
roster import) and committed, the kept status read (``reading.read``, from ``training_status``) equals the live
recompute (``status.statuses``), and the stale marks name just the people the change concerns (or the whole
enterprise for requirements, departments and new people). lms.training watches no model of the ledger or of
org: muting their events leaves the kept rows unmarked.
"""

from __future__ import annotations

import ast
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from lms.core.db import db
from lms.ledger import events as ledger_events
from lms.ledger import services as ledger
from lms.ledger.models import TrainingRecord
from lms.org import events as org_events
from lms.org.models import Department, Person, PersonRole, Post
from lms.org.roster import import_roster
from lms.org.services import ensure_department, ensure_post, move_person, roles_by_name, set_roles, set_status
from lms.training import cache, marks, reading
from lms.training.models import Exemption, StatusDirty, StatusState
from lms.training.services import save_requirement
from tests.training.helpers import insert_records_in_bulk, kept_status, live_status, rec, requirement

ROOT = Path(__file__).resolve().parents[2]


def _live(ent_id):
    return live_status(ent_id, cache.today(ent_id))


def _marked(ent_id):
    """What the committed change marked: "whole" (the enterprise waits) or the people waiting."""
    if db.session.scalar(select(StatusState.as_of).where(StatusState.enterprise_id == ent_id)) is None:
        return "whole"
    return set(db.session.scalars(select(StatusDirty.person_id).where(StatusDirty.enterprise_id == ent_id)))


def _kept_read(ent_id):
    with reading.read(ent_id, cache.today(ent_id)) as s:
        assert s.kept
        return kept_status(s.rows)


class World:
    def __init__(self, ent, make_person):
        self.ent = ent
        today = cache.today(ent.id)
        self.today = today
        roles = roles_by_name(ent.id)
        self.frontline, self.special = roles["一线从业人员"], roles["特种作业人员"]
        self.second = ensure_department(ent.id, "二车间")
        self.electrician = ensure_post(ent.id, "电工", None)
        self.reqs = {
            "everyone": requirement(ent, hours_required=Decimal(8), initial_days=30),
            "year": requirement(ent, hours_required=Decimal(4), recurrence="calendar_year", grace_days=0),
            "role": requirement(ent, applies_to="role", role_id=self.special.id, hours_required=Decimal(4)),
            "post": requirement(
                ent, applies_to="post", post_id=self.electrician.id, hours_required=Decimal(2)
            ),
            "dept": requirement(
                ent, applies_to="department", department_id=self.second.id, hours_required=Decimal(2)
            ),
        }
        self.people = [make_person(ent, hire_date=dt.date(2020, 1, 1)) for _ in range(8)]
        for p in self.people[:4]:
            rec(p, dt.date(2020, 2, 1), 8)  # the once-requirement done, long ago
        self.last_year = rec(self.people[1], dt.date(today.year - 1, 6, 1), 4, source="redate-me")
        db.session.commit()


@pytest.fixture
def world(enterprise, make_person):
    w = World(enterprise, make_person)
    assert _kept_read(enterprise.id) == _live(enterprise.id)  # built whole by the first read
    db.session.commit()
    assert _marked(enterprise.id) == set()
    return w


def _after(w, change, expect, *, alters=True):
    """Make ``change``, commit, check what it marked, then that the kept read equals the live recompute."""
    ent_id = w.ent.id
    before = _live(ent_id)
    change()
    db.session.commit()  # the unit of work ends: the events' marks are written before the commit
    marked = _marked(ent_id)
    assert marked == expect, (change.__name__, marked)
    live = _live(ent_id)
    if alters:
        assert live != before, f"{change.__name__} must alter a status for the check to mean anything"
    assert _kept_read(ent_id) == live, change.__name__
    db.session.commit()
    assert _marked(ent_id) == set()


def test_kept_read_equals_live_after_every_kind_of_change(world):
    w = world
    a, b, c, d, e, f, g, h = w.people
    today = w.today
    at_nine = dt.datetime.combine(today, dt.time(1))  # naive UTC: 09:00 in Shanghai, the same day

    def record_added():
        rec(e, today, 8)

    _after(w, record_added, {e.id})
    added = db.session.scalar(
        select(TrainingRecord).where(TrainingRecord.person_id == e.id, TrainingRecord.voided_at.is_(None))
    )

    def record_voided():
        ledger.void(added.id, reason="录入错误", actor=None)

    _after(w, record_voided, {e.id})

    def record_redated():  # same source, another day: the ledger voids the old row and adds the new one
        outcome = ledger.record(
            b, kind="offline", topic="安全培训", hours=4, completed_at=at_nine, source="redate-me"
        ).outcome
        assert outcome == "replaced"

    _after(w, record_redated, {b.id})

    def exemption_granted():
        db.session.add(
            Exemption(
                enterprise_id=w.ent.id,
                person_id=c.id,
                requirement_id=w.reqs["year"].id,
                reason="病休",
                valid_from=today,
            )
        )

    _after(w, exemption_granted, {c.id})

    def role_added():
        set_roles(d, [w.frontline, w.special], on=today)

    _after(w, role_added, {d.id})

    def role_removed():
        set_roles(d, [w.frontline], on=today)

    _after(w, role_removed, {d.id})

    def moved_department():
        move_person(e, department=w.second, post=db.session.get(Post, e.post_id), on=today)

    _after(w, moved_department, {e.id})

    def moved_post():
        move_person(e, department=w.second, post=w.electrician, on=today)

    _after(w, moved_post, {e.id})

    def left():
        set_status(f, "left", on=today)

    _after(w, left, {f.id})

    def returned():
        set_status(f, "active", on=today)

    _after(w, returned, {f.id})

    def hire_date_corrected():  # a column of the person alone (the person form), no event in the history
        h.hire_date = today - dt.timedelta(days=10)

    _after(w, hire_date_corrected, {h.id})

    def hire_date_updated_in_bulk():  # an UPDATE by primary key through the session
        db.session.execute(update(Person), [dict(id=g.id, hire_date=today - dt.timedelta(days=20))])

    _after(w, hire_date_updated_in_bulk, {g.id})

    def role_added_without_a_flush():  # flushed only by the commit itself
        db.session.add(PersonRole(person_id=g.id, role_id=w.special.id, since=today))

    _after(w, role_added_without_a_flush, {g.id})

    def records_inserted_in_bulk():
        insert_records_in_bulk(w.ent.id, (g, h), Decimal(4), at_nine)

    _after(w, records_inserted_in_bulk, {g.id, h.id})

    def records_of_an_import():
        long_ago = dt.datetime(2021, 3, 1, 1)
        items = [
            dict(
                person=p,
                kind="offline",
                topic="岗前培训",
                hours=8,
                completed_at=long_ago,
                source=f"imp:{p.id}",
            )
            for p in (f, h)
        ]
        ledger.record_many(items, actor=None)

    _after(w, records_of_an_import, {f.id, h.id})

    def name_changed():  # changes no status: nothing is marked, the kept rows stay exact
        a.name, a.phone = "改名", "13900000000"

    _after(w, name_changed, set(), alters=False)

    def requirement_changed():
        req = w.reqs["everyone"]
        fields = {
            name: getattr(req, name)
            for name in (
                "name",
                "kind",
                "applies_to",
                "recurrence",
                "initial_days",
                "grace_days",
                "reminder_days",
                "active",
                "issue_certificate",
            )
        }
        save_requirement(w.ent.id, {**fields, "hours_required": 12}, req)

    _after(w, requirement_changed, "whole")

    def department_changed():
        dept = db.session.get(Department, a.department_id)
        dept.name = dept.name + "新"

    _after(w, department_changed, "whole", alters=False)

    def roster_imported():  # new people (bulk inserts) and an update (a person moved to the electricians)
        emp = b.employee_no
        csv = (
            "工号,姓名,部门,岗位,入职日期,角色\n"
            f"{emp},{b.name},二车间,电工,2020-01-01,一线从业人员\n"
            "R001,新人甲,一车间/甲班,操作工,2020-01-01,一线从业人员\n"
            "R002,新人乙,二车间,电工,2020-01-01,一线从业人员|特种作业人员\n"
        ).encode()
        result = import_roster(w.ent, csv, "roster.csv", dry_run=False)
        assert not result.errors, result.errors

    _after(w, roster_imported, "whole")
    r002 = db.session.scalar(
        select(Person.id).where(Person.enterprise_id == w.ent.id, Person.employee_no == "R002")
    )

    def roster_removed_a_role():  # a re-import: one person loses a role (a DELETE naming them), nobody else
        csv = (
            "工号,姓名,部门,岗位,入职日期,角色\n"
            "R001,新人甲,一车间/甲班,操作工,2020-01-01,一线从业人员\n"
            "R002,新人乙,二车间,电工,2020-01-01,一线从业人员\n"
        ).encode()
        result = import_roster(w.ent, csv, "roster.csv", dry_run=False)
        assert not result.errors, result.errors

    _after(w, roster_removed_a_role, {r002})


def test_lms_training_listens_to_no_model_of_the_ledger_or_org(world):
    """With the ledger's and org's events muted, their changes leave the kept rows unmarked: lms.training
    learns of them only through the events (it watches only its own tables on the session)."""
    w = world
    a, b, c, *_ = w.people
    today = w.today
    signals = (ledger_events.records_changed, org_events.people_changed, org_events.structure_changed)
    with signals[0].muted(), signals[1].muted(), signals[2].muted():
        rec(a, today, 8)
        set_roles(b, [w.frontline, w.special], on=today)
        move_person(c, department=w.second, post=w.electrician, on=today)
        db.session.execute(Person.__table__.update().where(Person.id == c.id).values(hire_date=today))
        dept = db.session.get(Department, a.department_id)
        dept.name = dept.name + "改"
        db.session.flush()
        assert not marks.has_collected(db.session())
        db.session.commit()
    assert _marked(w.ent.id) == set()
    # The capture of each package's tables lives in that package.
    assert event.contains(Session, "after_flush", ledger_events._records_flushed)
    assert event.contains(Session, "do_orm_execute", ledger_events._records_in_bulk)
    assert event.contains(Session, "after_flush", org_events._org_flushed)
    assert event.contains(Session, "do_orm_execute", org_events._org_in_bulk)


def test_no_session_listener_in_lms_training_names_a_ledger_or_org_model():
    """Only lms/training/listeners.py hooks the session, and it imports no model of the ledger or org."""
    hooked = []
    for path in sorted((ROOT / "lms" / "training").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("listens_for", "listen")
                and node.args
                and getattr(node.args[0], "id", getattr(node.args[0], "attr", None)) == "Session"
            ):
                hooked.append(path.relative_to(ROOT).as_posix())
    assert set(hooked) == {"lms/training/listeners.py"}
    tree = ast.parse((ROOT / "lms/training/listeners.py").read_text(encoding="utf-8"))
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    } | {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    assert not imported & {"lms.ledger.models", "lms.org.models"}, imported
    assert {"lms.ledger.events", "lms.org.events"} <= imported
