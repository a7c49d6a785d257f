"""Reading a bulk statement run through the session, for the packages that turn changes of their own tables
into domain events (``lms.ledger.events``, ``lms.org.events``).

Each package watches only its own tables (a flush of its models, and ``insert``/``update``/``delete``
statements executed through the session: imports write thousands of rows in one executemany) and tells the
floors above what changed by its own signals. These helpers say which table such a statement writes and which
rows it names, so that every package reads statements the same way.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def bulk_table(state: Any) -> str | None:
    """The name of the table an INSERT/UPDATE/DELETE run through the session writes (None: not a write).

    ``state`` is the ``ORMExecuteState`` of a ``do_orm_execute`` listener: Core statements over a table and ORM
    statements over an entity both count.
    """
    if not (state.is_insert or state.is_update or state.is_delete):
        return None
    stmt = state.statement
    target = getattr(stmt, "table", None)
    name = getattr(target, "name", None)
    if name is None:
        entity = getattr(target, "entity", None) or getattr(stmt, "entity_description", {}).get("entity")
        name = getattr(getattr(entity, "__table__", None), "name", None)
    return name


def bulk_rows(state: Any) -> list[dict[str, Any]]:
    """The parameter rows of the statement (an executemany's list; empty when the statement names none)."""
    params = state.parameters
    if isinstance(params, list):
        return params
    return [params] if isinstance(params, dict) and params else []


def day_of(value: Any) -> dt.date | None:
    """The calendar day of a stored date or naive datetime (None for anything else)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None
