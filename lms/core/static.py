"""Static files under content-hashed URLs, kept by browsers for a year.

``url_for("static", filename=...)`` (and every blueprint's ``<bp>.static``) gets ``?v=<hash>``: the first 12 hex
digits of the file's SHA-256. A request whose ``v`` is the file's current hash is answered with
``Cache-Control: public, max-age=31536000, immutable``, so a browser fetches each file once and never asks
again until a release changes it (its URL changes with it). A request without ``v`` or with an old one (a page
rendered before the file changed, still open in a tab) gets the current file as before, ``no-cache`` with an
ETag: it revalidates instead of keeping the new content under an old URL.

The hash is computed once per file and recomputed when the file's size or modification time changes (one
``stat`` per URL built). Behind nginx, ``/static/`` may be served by nginx itself (docs/deploy.md, section 4).

A static file is the same for everyone: its answer carries no session (no ``Vary: Cookie``, no Set-Cookie,
even where Flask-Login looks at the session after every request), loads no user and runs no SQL (the request
wrapper opens no transaction for it), so a shared cache may keep it and it costs a worker next to nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import os
import threading
from collections.abc import Iterator
from typing import Any

from flask import Flask, Request, Response, request
from flask.sessions import SessionMixin
from werkzeug.security import safe_join

HASH_LENGTH = 12
IMMUTABLE = "public, max-age=31536000, immutable"
QUERY_ARG = "v"


class ContentHashes:
    """The content hash of files, cached by path and invalidated by (size, mtime)."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[int, int, str]] = {}
        self._lock = threading.Lock()

    def of(self, path: str) -> str | None:
        """The hash of the file at ``path``, or None when there is no such file."""
        try:
            st = os.stat(path)
        except OSError:
            return None
        known = self._known.get(path)
        if known is not None and known[0] == st.st_size and known[1] == st.st_mtime_ns:
            return known[2]
        digest = hashlib.sha256()
        try:
            with open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 16), b""):
                    digest.update(chunk)
        except OSError:
            return None
        value = digest.hexdigest()[:HASH_LENGTH]
        with self._lock:
            self._known[path] = (st.st_size, st.st_mtime_ns, value)
        return value


# The (path, hash) pairs of the static URLs built while a layout part renders (lms.core.nav): the part keeps them
# and checks them on each use, so that a changed file never leaves a kept page part naming its old hash.
_recording: contextvars.ContextVar[list[tuple[str, str | None]] | None] = contextvars.ContextVar(
    "lms_static_recording", default=None
)


@contextlib.contextmanager
def recording_hashes() -> Iterator[list[tuple[str, str | None]]]:
    """Collect the (path, hash) of every static URL built inside the block."""
    seen: list[tuple[str, str | None]] = []
    token = _recording.set(seen)
    try:
        yield seen
    finally:
        _recording.reset(token)


def still_current(app: Flask, seen: list[tuple[str, str | None]]) -> bool:
    """Whether each file of ``seen`` (from ``recording_hashes``) still has the hash its URL was built with."""
    hashes = app.extensions.get("lms_static_hashes")
    return hashes is None or all(hashes.of(path) == digest for path, digest in seen)


def _folder(app: Flask, endpoint: str) -> str | None:
    if endpoint == "static":
        return app.static_folder
    bp = app.blueprints.get(endpoint[: -len(".static")])
    return bp.static_folder if bp is not None else None


def is_static(endpoint: str | None) -> bool:
    return bool(endpoint) and (endpoint == "static" or endpoint.endswith(".static"))


class StaticWithoutSession:
    """The app's session interface, except that the answer of a static file never saves the session.

    Flask would add ``Vary: Cookie`` (Flask-Login's after-request hook looks at the session on every
    request) and, with a permanent session refreshed on each request, a Set-Cookie: both would keep a file out
    of shared caches and make each one depend on who asked.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def open_session(self, app: Flask, req: Request) -> SessionMixin | None:
        return self.inner.open_session(app, req)

    def make_null_session(self, app: Flask) -> Any:
        return self.inner.make_null_session(app)

    def is_null_session(self, obj: object) -> bool:
        return self.inner.is_null_session(obj)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if is_static(request.endpoint):
            return
        self.inner.save_session(app, session, response)


def init_app(app: Flask) -> None:
    """Hash the URLs of every static endpoint registered so far (call after the blueprints and after the
    session interface is chosen)."""
    if not isinstance(app.session_interface, StaticWithoutSession):
        app.session_interface = StaticWithoutSession(app.session_interface)  # type: ignore[assignment]
    hashes = ContentHashes()
    app.extensions["lms_static_hashes"] = hashes

    def hashed(endpoint: str, filename: str) -> str | None:
        folder = _folder(app, endpoint)
        path = safe_join(folder, filename) if folder and filename else None
        digest = hashes.of(path) if path else None
        seen = _recording.get()
        if seen is not None and path:
            seen.append((path, digest))
        return digest

    @app.url_defaults
    def _add_hash(endpoint: str, values: dict[str, Any]) -> None:
        if is_static(endpoint) and QUERY_ARG not in values:
            digest = hashed(endpoint, values.get("filename") or "")
            if digest:
                values[QUERY_ARG] = digest

    def wrap(endpoint: str, view: Any) -> Any:
        @functools.wraps(view)
        def serve(filename: str, **kwargs: Any) -> Any:
            response = view(filename=filename, **kwargs)
            asked = request.args.get(QUERY_ARG)
            if asked and response.status_code in (200, 304) and asked == hashed(endpoint, filename):
                response.headers["Cache-Control"] = IMMUTABLE
                # max-age rules; an Expires of now would confuse old caches
                response.headers.pop("Expires", None)
            return response

        return serve

    for endpoint, view in list(app.view_functions.items()):
        if is_static(endpoint):
            app.view_functions[endpoint] = wrap(endpoint, view)
