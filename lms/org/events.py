"""The organisation's domain events: which people and which department trees a unit of work changed.

The org package owns the translation of changes to its tables into named events, so that no writer has to
remember to announce anything and no other package watches org's models:

* ``people_changed``: rows of ``person`` (``aspect`` PLACEMENT when a new or removed person, or a change of
  where and whether someone works: ``PLACEMENT_COLUMNS``; DETAILS when only other columns changed, a name or a
  phone), of ``person_role`` (ROLES: responsibility roles gained or lost) or of ``person_event`` (HISTORY:
  hired, moved, left, returned, away…);
* ``structure_changed``: rows of ``department`` (the tree: added, renamed, moved, removed).

Sent from each flush of org's models (one event per aspect and flush, right after it), and from each bulk
statement run through the session over these tables (the roster import inserts its new people, their events
and roles in a few executemany statements, and deletes lost roles by rows naming the person; one event before
the statement runs, naming its people when its rows name them, else "anyone"). Always within the transaction that makes the change, before it commits. A write through a raw
connection is not seen: write through the session. Receivers (``lms.training.listeners``) only take note,
without SQL: the roster import of 10,000 people flushes often, and the receiver writes what follows once.

The capture is installed when this module is imported: whoever subscribes imports it.
"""

from __future__ import annotations

from typing import Any

from blinker import Namespace
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from lms.core.changes import bulk_rows, bulk_table
from lms.org.models import Department, Person, PersonEvent, PersonRole

_signals = Namespace()

PLACEMENT = "placement"
DETAILS = "details"
ROLES = "roles"
HISTORY = "history"

# sender: the Session. kwargs: aspect (PLACEMENT, DETAILS, ROLES or HISTORY); person_ids (frozenset of person
# ids; None: people the statement did not name); enterprise_ids (frozenset: the enterprises of all those
# people when the sender knows them, empty when it does not; with person_ids None, the enterprises of the
# unnamed people, e.g. new people inserted in bulk; None: unknown). Both None: anyone, anywhere.
people_changed = _signals.signal("org.people-changed")
# sender: the Session. kwargs: enterprise_ids (frozenset of the enterprises whose department tree changed; None:
# any enterprise).
structure_changed = _signals.signal("org.structure-changed")

# Where and whether a person works: what the requirements that apply to them and their due dates follow.
PLACEMENT_COLUMNS = (
    "enterprise_id",
    "department_id",
    "post_id",
    "status",
    "left_on",
    "hire_date",
    "away_from",
    "returned_on",
)
PERSON = Person.__table__.name
ASPECT_OF_TABLE = {PersonRole.__table__.name: ROLES, PersonEvent.__table__.name: HISTORY}
DEPARTMENT = Department.__table__.name


def placement_changed(person: Person) -> bool:
    """Whether a flushed change of ``person`` touched where or whether they work (call within the flush)."""
    attrs = inspect(person).attrs
    return any(attrs[name].history.has_changes() for name in PLACEMENT_COLUMNS)


def _people(
    session: Session, aspect: str, person_ids: set[int] | None, enterprise_ids: set[int] | None
) -> None:
    people_changed.send(
        session,
        aspect=aspect,
        person_ids=None if person_ids is None else frozenset(person_ids),
        enterprise_ids=None if enterprise_ids is None else frozenset(enterprise_ids),
    )


@event.listens_for(Session, "after_flush")
def _org_flushed(session: Session, _ctx: Any) -> None:
    people: dict[str, tuple[set[int], set[int]]] = {}  # aspect → (people, their enterprises)
    departments: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Person):
            aspect = PLACEMENT if obj not in session.dirty or placement_changed(obj) else DETAILS
            ids, ents = people.setdefault(aspect, (set(), set()))
            ids.add(obj.id)
            if obj.enterprise_id is not None:
                ents.add(obj.enterprise_id)
        elif isinstance(obj, PersonRole | PersonEvent):
            aspect = ROLES if isinstance(obj, PersonRole) else HISTORY
            people.setdefault(aspect, (set(), set()))[0].add(obj.person_id)
        elif isinstance(obj, Department):
            departments.add(obj.enterprise_id)
    for aspect, (ids, ents) in people.items():
        _people(session, aspect, ids, ents)
    if departments:
        structure_changed.send(session, enterprise_ids=frozenset(departments))


@event.listens_for(Session, "do_orm_execute")
def _org_in_bulk(state: Any) -> None:
    name = bulk_table(state)
    if name is None:
        return
    session = state.session
    rows = bulk_rows(state)
    if name in ASPECT_OF_TABLE:
        aspect = ASPECT_OF_TABLE[name]
        if (state.is_insert or state.is_delete) and rows and all(r.get("person_id") for r in rows):
            _people(session, aspect, {int(r["person_id"]) for r in rows}, set())
        else:
            _people(session, aspect, None, None)
    elif name == PERSON:
        if state.is_insert and rows and all(r.get("enterprise_id") for r in rows):
            # New people (a roster import): named by their enterprises, their ids may not exist yet.
            _people(session, PLACEMENT, None, {int(r["enterprise_id"]) for r in rows})
        elif state.is_update and rows and all(r.get("id") for r in rows):  # a bulk UPDATE by primary key
            columns = {key for r in rows for key in r}
            aspect = PLACEMENT if columns & set(PLACEMENT_COLUMNS) else DETAILS
            _people(session, aspect, {int(r["id"]) for r in rows}, set())
        else:
            _people(session, PLACEMENT, None, None)
    elif name == DEPARTMENT:
        structure_changed.send(session, enterprise_ids=None)
