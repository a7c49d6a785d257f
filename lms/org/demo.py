"""Demo of sign-in that no one can take away: the neighbour ZJHG employs a 唐俊 under DEMO's learner's 工号 and
phone (工号 repeat across companies all the time). DEMO's learner still signs in with ``GA1010`` or the phone and
the demo password; ZJHG's person is a different account that the sign-in never confuses with them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from lms.core.db import db
from lms.org.models import Enterprise, Person, PersonEvent
from lms.org.services import ensure_account, ensure_department, ensure_post

NEIGHBOUR = "ZJHG"
SHARED_EMPLOYEE_NO = "GA1010"


def load(enterprise: Enterprise, ctx: Any) -> None:
    """Give the neighbour a person with the demo learner's 工号 and phone (idempotent)."""
    other = db.session.scalar(select(Enterprise).where(Enterprise.code == NEIGHBOUR))
    learner = ctx.people.get(SHARED_EMPLOYEE_NO)
    if other is None or learner is None:
        return
    exists = db.session.scalar(
        select(Person.id).where(Person.enterprise_id == other.id, Person.employee_no == SHARED_EMPLOYEE_NO)
    )
    if exists is not None:
        return
    dept = ensure_department(other.id, "合成车间/丙班")
    person = Person(
        enterprise_id=other.id,
        employee_no=SHARED_EMPLOYEE_NO,
        name="唐俊",
        phone=learner.phone,
        hire_date=ctx.today.replace(year=ctx.today.year - 3),
        department_id=dept.id,
        post_id=ensure_post(other.id, "操作工", dept).id,
    )
    db.session.add(person)
    db.session.flush()
    db.session.add(PersonEvent(person_id=person.id, kind="hired", on=person.hire_date))
    ensure_account(person, other)
    ctx.echo(
        f"{NEIGHBOUR}: 唐俊 shares 工号 {SHARED_EMPLOYEE_NO} and the phone of DEMO's learner; "
        f"both still sign in as themselves"
    )
