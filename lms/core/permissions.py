"""Deny by default: every view declares who may use it, checked before the view runs.

A view without a declaration answers 403 (and a test walks every route to make sure none is missing).
Users are duck-typed here (``app_role``, ``enterprise_id``, ``must_change_password``): the ground floor
knows nothing of people.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "public"
SIGNED_IN = "signed-in"


def _declare(view: F, access: tuple[str, ...] | str) -> F:
    view._lms_access = access  # type: ignore[attr-defined]
    return view


def public(view: F) -> F:
    """Anyone, signed in or not (sign-in page, certificate verification)."""
    return _declare(view, PUBLIC)


def signed_in(view: F) -> F:
    """Any signed-in user whatever their role."""
    return _declare(view, SIGNED_IN)


def roles(*app_roles: str) -> Callable[[F], F]:
    """Only signed-in users whose application role is one of ``app_roles``."""

    def deco(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return view(*args, **kwargs)

        return _declare(wrapper, tuple(app_roles))

    return deco


def access_of(view: Callable[..., Any]) -> tuple[str, ...] | str | None:
    """Return what a view declared, or None."""
    return getattr(view, "_lms_access", None)


# Endpoints a user who must change the password may still reach.
PASSWORD_CHANGE_ALLOWED = {"auth.change_password", "auth.logout", "static", "auth.set_language"}


def check_request_access() -> Any:
    """``before_request`` hook: refuse any request the endpoint has not declared access for."""
    req = request._get_current_object()  # type: ignore[attr-defined]  # (each proxy lookup costs; one each)
    endpoint = req.endpoint
    if endpoint is None:
        return None  # 404 / 405 handled by Flask
    if endpoint == "static" or endpoint.endswith(".static"):
        return None
    view = current_app.view_functions.get(endpoint)
    access = access_of(view) if view else None
    if access is None:
        abort(403)
    if access == PUBLIC:
        return None
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    if not user.is_authenticated:
        if req.method == "GET" and not req.path.startswith("/api/"):
            return redirect(url_for("auth.login", next=req.full_path.rstrip("?")))
        abort(401)
    if user.must_change_password and endpoint not in PASSWORD_CHANGE_ALLOWED:
        if req.method == "GET":
            return redirect(url_for("auth.change_password"))
        abort(403)
    if access == SIGNED_IN:
        return None
    if user.app_role not in access:
        abort(403)
    return None


def has_role(*app_roles: str) -> bool:
    """Whether the current user has one of ``app_roles`` (for templates and branching)."""
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    return bool(user.is_authenticated and user.app_role in app_roles)
