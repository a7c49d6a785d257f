"""Domain errors raised by services and turned into messages by views."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain refused an action; the message is shown to the user."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    """The object does not exist or is outside the actor's reach (never say which)."""

    status_code = 404


class Forbidden(DomainError):
    """The actor may not do this."""

    status_code = 403


class Conflict(DomainError):
    """The action conflicts with the current state (e.g. a locked session)."""

    status_code = 409


class ImportRefused(DomainError):
    """An uploaded file was refused as a whole (not a spreadsheet, empty, hostile …)."""

    status_code = 400
