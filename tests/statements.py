"""The SQL statements a piece of a test sends: one listener on ``before_cursor_execute`` for every test that
counts statements.

    with recorded_statements(skip=TRANSACTION) as seen:
        client.get(url)
    assert len(seen) <= CEILING, seen

``seen`` is the list of the statements' text in the order they were sent, filled while the block runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from lms.core.db import db

# The statements of the test's own transaction (its savepoints) and the driver's BEGIN: not the code's work.
TRANSACTION = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN")


def verb(statement: str) -> str:
    """The statement's first word, upper case: ``SELECT``, ``UPDATE``, ``SAVEPOINT`` …"""
    return statement.lstrip().split(None, 1)[0].upper()


@contextmanager
def recorded_statements(
    *, skip: Iterable[str] = (), on: Any = None, into: list[str] | None = None
) -> Iterator[list[str]]:
    """The statements sent on ``on`` (the app's engine unless given) while the block runs, but those whose
    first word is in ``skip``; appended to ``into`` if given (to interleave them with other events)."""
    skip = frozenset(skip)
    seen: list[str] = [] if into is None else into
    target = db.engine if on is None else on

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if not skip or verb(statement) not in skip:
            seen.append(statement)

    event.listen(target, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(target, "before_cursor_execute", record)
