"""The signed session cookie, its signature checked once per process (issue 20: the signed-in floor).

Every request of a signed-in browser carries the session cookie, and Flask builds a serializer and checks the
cookie's HMAC on every one. A browser sends the same cookie again and again (50 autosaves of an exam, every
static file of a page), so a cookie whose signature was checked once is remembered here by its exact text, with
the time it was signed: the next request with the same text skips the HMAC but not the expiry (checked against
the remembered time, as itsdangerous does). A cookie never seen, altered by one character, or signed with
another key goes through the full check. The memory is bounded (``MAX_REMEMBERED`` cookies a process) and
forgotten when the keys change. The cookie itself (format, key, salt, attributes) is Flask's.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Flask, Request, current_app, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect
from itsdangerous import BadData, BadSignature, SignatureExpired, URLSafeTimedSerializer

MAX_REMEMBERED = 8192
_PLAIN = (str, int, float, bool, type(None))


class _Checked:
    """Signed values whose signature was valid: text -> (signed at, payload), bounded, per set of keys."""

    def __init__(self) -> None:
        self._keys: Any = None
        self._known: dict[str, tuple[int, Any]] = {}
        self._lock = threading.Lock()

    def get(self, keys: Any, value: str, max_age: int | None) -> Any | None:
        """The payload remembered for ``value`` when it is still within ``max_age``, else None."""
        if keys != self._keys:
            return None
        found = self._known.get(value)
        if found is None:
            return None
        age = int(time.time()) - found[0]
        if age < 0 or (max_age is not None and age > max_age):
            return None  # the full check answers (expired) as itsdangerous would
        return found[1]

    def remember(self, keys: Any, value: str, signed_at: int, payload: Any) -> None:
        with self._lock:
            if keys != self._keys:
                self._keys = keys
                self._known = {}
            elif len(self._known) >= MAX_REMEMBERED:
                self._known.pop(next(iter(self._known)))
            self._known[value] = (signed_at, payload)


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session (same cookie, same format), with the serializer built once and each
    cookie's signature checked once."""

    def __init__(self) -> None:
        self._serializer: tuple[Any, URLSafeTimedSerializer | None] | None = None
        self._checked = _Checked()

    def _keys(self, app: Flask) -> tuple[Any, ...]:
        return (*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        keys = self._keys(app)
        cached = self._serializer
        if cached is None or cached[0] != keys:
            cached = self._serializer = (keys, super().get_signing_serializer(app))
        return cached[1]

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        s = self.get_signing_serializer(app)
        if s is None:
            return None
        val = request.cookies.get(self.get_cookie_name(app))
        if not val:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        keys = self._keys(app)
        known = self._checked.get(keys, val, max_age)
        try:
            if known is not None:
                # a copy of the decoded dict when its values are plain (nothing a request could change in
                # place), else the payload decoded again
                return self.session_class(known if isinstance(known, dict) else s.load_payload(known))
            raw = val.encode()
            for signer in s.iter_unsigners():
                try:
                    payload, signed_at = signer.unsign(raw, max_age=max_age, return_timestamp=True)
                except SignatureExpired:
                    return self.session_class()
                except BadSignature:
                    continue
                data = s.load_payload(payload)
                plain = isinstance(data, dict) and all(type(v) in _PLAIN for v in data.values())
                self._checked.remember(
                    keys, val, int(signed_at.timestamp()), dict(data) if plain else payload
                )
                return self.session_class(data)
        except BadData:  # (BadPayload: a signed value that does not decode)
            pass
        return self.session_class()


# The bodies Werkzeug parses into ``request.form``; any other body (JSON) leaves it empty.
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class MethodFirstCSRFProtect(CSRFProtect):
    """Flask-WTF's CSRF protection, unchanged (every POST/PUT/PATCH/DELETE, the form field or the X-CSRFToken
    header, the signed token matched with the session's, the referrer on HTTPS), asking the cheap questions
    first: a GET is let through before the exemptions are looked up, and a JSON POST (an autosave) is not run
    through the form parser to find a form field it cannot have."""

    def protect(self, apply_exemptions: bool = False) -> None:
        if request.method not in current_app.config["WTF_CSRF_METHODS"]:
            return
        super().protect(apply_exemptions)

    def _get_csrf_token(self) -> str | None:
        if request.mimetype in _FORM_TYPES:
            return super()._get_csrf_token()
        for header_name in current_app.config["WTF_CSRF_HEADERS"]:
            token = request.headers.get(header_name)
            if token:
                return token
        return None
