"""File storage under MEDIA_DIR with generated names; files leave only through permission-checked views.

Nothing is left behind: a file written by ``save_stream`` belongs to the database transaction that recorded it,
and is deleted from disk when that transaction (or a savepoint around it) rolls back or ends without a commit
(a refused import, a check that fails after the upload was stored). What a crash leaves (``.part`` files,
working directories, files no row refers to) is removed by ``lms storage sweep``, run nightly.

Names are never trusted: the stored and offered file name is reduced to its last component without control
characters or leading dots (``safe_filename``); keys are generated. An upload route may ask for the first bytes
of a file to be checked before the rest is taken (``expect_head``): the request's form parser hands the head to
the check and stops reading the body when it refuses.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
import os
import re
import secrets
import shutil
import time
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

import click
from flask import Flask, Response, current_app, request, send_file
from flask.cli import with_appcontext
from flask.wrappers import Request
from sqlalchemy import BigInteger, ForeignKey, String, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from lms.core.db import Base, TimestampMixin, db
from lms.core.errors import DomainError

CHUNK = 1024 * 1024


class StoredFile(TimestampMixin, Base):
    """A file kept in storage: its generated key, original name, size and checksum."""

    __tablename__ = "stored_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    original_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(50))  # e.g. "roster-upload", "video-original", "signin-scan"
    enterprise_id: Mapped[int | None] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), index=True
    )
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))


def media_root() -> Path:
    """Return the storage root (created on first use)."""
    root = Path(current_app.config["MEDIA_DIR"])
    root.mkdir(parents=True, exist_ok=True)
    return root


def path_of(key: str) -> Path:
    """Return the absolute path of a storage key, refusing keys that escape the root."""
    root = media_root().resolve()
    path = (root / key).resolve()
    if root not in path.parents:
        raise DomainError("invalid storage key")
    return path


def new_key(purpose: str, suffix: str = "") -> str:
    """Return a fresh, unguessable key such as ``video-original/ab/abcdef….mp4``."""
    token = secrets.token_hex(16)
    suffix = suffix.lower() if suffix and len(suffix) <= 10 and suffix[1:].isalnum() else ""
    return f"{purpose}/{token[:2]}/{token}{suffix}"


_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>:\"|?*]+")


def safe_filename(name: str | None, default: str = "file") -> str:
    """The name a file is kept and offered under: the last component of ``name``, no path or control characters.

    ``../../etc/passwd.xlsx`` → ``passwd.xlsx``; ``..\\..\\x.xlsx`` → ``x.xlsx``; at most 200 characters (the
    extension kept); ``default`` when nothing is left.
    """
    text = unicodedata.normalize("NFC", str(name or ""))
    text = re.split(r"[/\\]", text)[-1]
    text = _UNSAFE.sub("_", text).strip().lstrip(".").strip()
    text = re.sub(r"\s+", " ", text)
    if len(text) > 200:
        stem, dot, ext = text.rpartition(".")
        text = (stem[: 200 - len(ext) - 1] + "." + ext) if dot and 0 < len(ext) <= 10 else text[:200]
    return text or default


_QUOTED_PATH = re.compile(r"(['\"])(?:file:)?(/[^'\"\n]*)\1")
_BARE_PATH = re.compile(r"(?<![\w.:/])(?:file:)?(?:/[^\s'\"`,;()<>\[\]]+)+")


def scrub_paths(text: str | None) -> str:
    """``text`` (a tool's output, an error) with every absolute server path reduced to its file name."""
    if not text:
        return ""

    def base(path: str) -> str:
        return path.rstrip("/").rsplit("/", 1)[-1] or "…"

    text = _QUOTED_PATH.sub(lambda m: m.group(1) + base(m.group(2)) + m.group(1), text)
    return _BARE_PATH.sub(lambda m: base(m.group(0).removeprefix("file:")), text)


def content_disposition(filename: str, *, attachment: bool = True) -> str:
    """A Content-Disposition header value for ``filename`` (sanitised; RFC 6266 ``filename*`` plus ASCII fallback)."""
    from urllib.parse import quote

    name = safe_filename(filename)
    ascii_name = (
        name.encode("ascii", "ignore").decode().replace('"', "").replace("\\", "").strip() or "download"
    )
    if "." in name and "." not in ascii_name:
        ascii_name += "." + name.rsplit(".", 1)[-1].encode("ascii", "ignore").decode()
    kind = "attachment" if attachment else "inline"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def save_stream(
    stream: BinaryIO,
    original_name: str,
    *,
    purpose: str,
    enterprise_id: int | None = None,
    uploaded_by_id: int | None = None,
    max_bytes: int | None = None,
    content_type: str | None = None,
) -> StoredFile:
    """Stream ``stream`` to disk in chunks (never whole in memory) and record it.

    The file is removed again if the transaction that records it does not commit (module docstring).
    """
    original_name = safe_filename(original_name)
    suffix = Path(original_name).suffix
    key = new_key(purpose, suffix)
    path = path_of(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    digest, size = hashlib.sha256(), 0
    try:
        with open(tmp, "wb") as out:
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise DomainError(f"{original_name} is larger than {max_bytes // (1024 * 1024)} MB")
                digest.update(chunk)
                out.write(chunk)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    stored = StoredFile(
        key=key,
        original_name=original_name[:255],
        content_type=content_type or mimetypes.guess_type(original_name)[0] or "application/octet-stream",
        size=size,
        sha256=digest.hexdigest(),
        purpose=purpose,
        enterprise_id=enterprise_id,
        uploaded_by_id=uploaded_by_id,
    )
    try:
        db.session.add(stored)
        db.session.flush()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    written(path)
    return stored


# ------------------------------------------------------------------------------------------------ cleanup

_PENDING = "lms.storage.written"


def written(path: Path, session: Session | None = None) -> None:
    """Tie a file just written to the current transaction: it is deleted if that transaction does not commit."""
    sess = session or db.session()
    tx = sess.get_nested_transaction() or sess.get_transaction()
    if tx is None:  # no transaction to follow: the caller keeps the file
        return
    sess.info.setdefault(_PENDING, []).append((str(path), tx))


def _within(tx: Any, ancestor: Any) -> bool:
    while tx is not None:
        if tx is ancestor:
            return True
        tx = tx.parent
    return False


def _discard(session: Session, keep: Callable[[Any], bool]) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return
    left = []
    for path, tx in pending:
        if keep(tx):
            left.append((path, tx))
        else:
            Path(path).unlink(missing_ok=True)
    if left:
        session.info[_PENDING] = left
    else:
        session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_commit")
def _kept(session: Session) -> None:
    # after_commit also runs for a savepoint's release: only the outermost commit makes the files permanent
    if session.get_nested_transaction() is None:
        session.info.pop(_PENDING, None)
        for path, _tx in session.info.pop(_DOOMED, []):
            Path(path).unlink(missing_ok=True)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous_transaction: Any) -> None:
    _discard(session, lambda tx: not _within(tx, previous_transaction))
    if session.info.get(_DOOMED):  # rows deleted in what rolled back are back: keep their files
        session.info[_DOOMED] = [
            (p, tx) for p, tx in session.info[_DOOMED] if not _within(tx, previous_transaction)
        ]


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost transaction ended without a commit (rollback, close)
        _discard(session, lambda tx: False)
        session.info.pop(_DOOMED, None)  # the rows of files to discard are back: keep the files


def save_bytes(data: bytes, original_name: str, **kwargs: object) -> StoredFile:
    """Store ``data`` (for generated files)."""
    import io

    return save_stream(io.BytesIO(data), original_name, **kwargs)  # type: ignore[arg-type]


def save_path(src: Path, original_name: str, **kwargs: object) -> StoredFile:
    """Store a file that exists on disk (copied in chunks)."""
    with open(src, "rb") as fh:
        return save_stream(fh, original_name, **kwargs)  # type: ignore[arg-type]


def delete_file(stored: StoredFile) -> None:
    """Remove a stored file and its row."""
    path_of(stored.key).unlink(missing_ok=True)
    db.session.delete(stored)


_DOOMED = "lms.storage.doomed"


def discard(stored: StoredFile) -> None:
    """Delete a stored file's row now and its file when the unit of work commits (a refused staged upload).

    The file stays if the unit rolls back (its row comes back with it), so a GET that runs again as a write
    unit, or fails, never leaves a row without its file.
    """
    sess = db.session()
    path = str(path_of(stored.key))
    sess.delete(stored)
    sess.flush()
    sess.info.setdefault(_DOOMED, []).append((path, sess.get_nested_transaction() or sess.get_transaction()))


def send_stored(
    stored: StoredFile | None = None,
    *,
    key: str | None = None,
    download_name: str | None = None,
    as_attachment: bool = False,
    mimetype: str | None = None,
) -> Response:
    """Send a stored file with Range and conditional-GET support, or hand it to the front server.

    The caller has already checked permission. With LMS_SENDFILE_HEADER=X-Accel-Redirect the response carries
    only the internal location and nginx streams the bytes.
    """
    key = key or (stored.key if stored else None)
    if key is None:
        raise DomainError("nothing to send")
    path = path_of(key)
    if not path.exists():
        from flask import abort

        abort(404)
    mimetype = mimetype or (stored.content_type if stored else None) or mimetypes.guess_type(path.name)[0]
    header = current_app.config.get("SENDFILE_HEADER")
    if header:
        resp = Response(mimetype=mimetype or "application/octet-stream")
        if header.lower() == "x-accel-redirect":
            resp.headers["X-Accel-Redirect"] = current_app.config["SENDFILE_PREFIX"].rstrip("/") + "/" + key
        else:
            resp.headers["X-Sendfile"] = str(path)
        if as_attachment:
            resp.headers["Content-Disposition"] = content_disposition(
                download_name or (stored.original_name if stored else path.name)
            )
        resp.headers["Cache-Control"] = "private, max-age=0"
        return resp
    resp = send_file(
        path,
        mimetype=mimetype,
        as_attachment=as_attachment,
        download_name=safe_filename(download_name or (stored.original_name if stored else path.name)),
        conditional=True,
        etag=True,
        max_age=0,
    )
    resp.headers["Cache-Control"] = "private, max-age=0, must-revalidate"
    _ = request  # the view's request supplies Range / If-None-Match to send_file
    return resp


def copy_to(stored: StoredFile, dest: Path) -> Path:
    """Copy a stored file to ``dest`` (for jobs that need a working copy)."""
    shutil.copyfile(path_of(stored.key), dest)
    return dest


# ------------------------------------------------------------------------------------------------ upload heads

HEAD_BYTES = 4096  # what a check of the first bytes sees (magic numbers, the first boxes of a container)

# endpoint → check(head: bytes, filename: str) that raises DomainError for a file it refuses
_HEAD_CHECKS: dict[str, Callable[[bytes, str], None]] = {}


def expect_head(endpoint: str, check: Callable[[bytes, str], None]) -> None:
    """Check the first ``HEAD_BYTES`` of every file posted to ``endpoint`` before the rest is read."""
    _HEAD_CHECKS[endpoint] = check


class _HeadChecked:
    """The file part of a form being received: holds the head until the check has passed, then passes through.

    Refusing raises from ``write`` inside the form parser, so the rest of the request body is never read.
    """

    def __init__(self, inner: Any, check: Callable[[bytes, str], None], filename: str) -> None:
        self._inner, self._check, self._filename = inner, check, filename
        self._head: bytearray | None = bytearray()

    def _pass(self) -> None:
        head, self._head = bytes(self._head or b""), None
        if head:  # an empty part (a file input left empty) is for the route to judge
            self._check(head, self._filename)
        self._inner.write(head)

    def write(self, data: bytes) -> int:
        if self._head is None:
            return self._inner.write(data)
        self._head += data
        if len(self._head) >= HEAD_BYTES:
            self._pass()
        return len(data)

    def seek(self, *args: Any) -> int:
        if self._head is not None:  # the part ended before HEAD_BYTES
            self._pass()
        return self._inner.seek(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __iter__(self) -> Any:
        return iter(self._inner)


class UploadRequest(Request):
    """Flask's request, with the head check of ``expect_head`` on the routes that ask for it."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> Any:
        inner = super()._get_file_stream(total_content_length, content_type, filename, content_length)
        check = _HEAD_CHECKS.get(self.endpoint or "")
        if check is None or not filename:
            return inner
        return _HeadChecked(inner, check, safe_filename(filename))


def init_app(app: Flask) -> None:
    """Use the upload-aware request class; templates get ``|file_name`` and ``|no_paths``."""
    app.request_class = UploadRequest
    app.jinja_env.filters["file_name"] = safe_filename
    app.jinja_env.filters["no_paths"] = scrub_paths


# ------------------------------------------------------------------------------------------------ sweep

# Callables that yield storage keys kept outside ``stored_file`` (a feature's renditions, posters): the sweep
# leaves them alone. Features register theirs at import.
KEY_SOURCES: list[Callable[[], Iterable[str]]] = []


def register_key_source(source: Callable[[], Iterable[str]]) -> None:
    """Declare keys that rows other than ``stored_file`` refer to (so that the sweep keeps their files)."""
    if source not in KEY_SOURCES:
        KEY_SOURCES.append(source)


# Callables ``(cutoff) -> [StoredFile, ...]``: stored files a feature no longer needs (a refused upload it kept
# for a retry that can no longer happen). The sweep deletes them, row and file, when created before ``cutoff``.
DISCARD_SOURCES: list[Callable[[dt.datetime], Iterable[StoredFile]]] = []


def register_discard_source(source: Callable[[dt.datetime], Iterable[StoredFile]]) -> None:
    """Declare stored files that the sweep may delete (row and file)."""
    if source not in DISCARD_SOURCES:
        DISCARD_SOURCES.append(source)


# Uploads kept only between an import's preview and its commit: once older than the sweep's age and referred to
# by no row, they were abandoned (or refused at the preview) and the sweep deletes row and file.
STAGING_PURPOSES = frozenset({"roster-upload", "question-import", "attendance-upload"})


def _unreferenced_staging(cutoff: dt.datetime) -> list[StoredFile]:
    """Staging uploads older than ``cutoff`` that no foreign key of any table points to."""
    from sqlalchemy import exists

    table = StoredFile.__table__
    conditions = []
    for other in Base.metadata.tables.values():
        for fk in other.foreign_keys:
            if fk.column.table is table:
                conditions.append(~exists().where(fk.parent == StoredFile.id))
    return list(
        db.session.scalars(
            select(StoredFile).where(
                StoredFile.purpose.in_(sorted(STAGING_PURPOSES)), StoredFile.created_at < cutoff, *conditions
            )
        )
    )


def sweep(
    older_than_hours: float = 24.0, *, dry_run: bool = False, now: float | None = None
) -> dict[str, Any]:
    """Remove what a crash or an abandoned import left under MEDIA_DIR, when older than ``older_than_hours``
    (younger ones may be in flight): unfinished ``.part`` files, working directories under ``tmp/``, files no row
    refers to, staging uploads (``STAGING_PURPOSES``) that no row refers to and what features declare they no
    longer need (``register_discard_source``), row and file.

    Flushes row deletions (the caller commits). Returns ``{"removed": [keys], "bytes": n, "kept": n, ...}``.
    """
    root = media_root().resolve()
    at = now if now is not None else time.time()
    cutoff = at - older_than_hours * 3600
    removed: list[str] = []
    size = kept = 0
    cutoff_dt = dt.datetime.fromtimestamp(cutoff, dt.UTC).replace(tzinfo=None)
    discard = list(_unreferenced_staging(cutoff_dt))
    for source in DISCARD_SOURCES:
        discard.extend(x for x in source(cutoff_dt) if x.created_at is None or x.created_at < cutoff_dt)
    for stored in {x.id: x for x in discard}.values():
        removed.append(stored.key)
        size += stored.size or 0
        if not dry_run:
            path_of(stored.key).unlink(missing_ok=True)
            db.session.delete(stored)
    if not dry_run:
        db.session.flush()
    known = set(db.session.scalars(select(StoredFile.key)))
    for source in KEY_SOURCES:
        known.update(k for k in source() if k)

    def old(p: Path) -> bool:
        try:
            return p.lstat().st_mtime < cutoff
        except FileNotFoundError:
            return False

    tmp = root / "tmp"
    if tmp.is_dir():
        for entry in sorted(tmp.iterdir()):
            if not old(entry) or (entry.is_dir() and any(not old(p) for p in entry.rglob("*"))):
                kept += 1
                continue
            n = (
                sum(p.stat().st_size for p in entry.rglob("*") if p.is_file())
                if entry.is_dir()
                else entry.stat().st_size
            )
            removed.append(entry.relative_to(root).as_posix() + ("/" if entry.is_dir() else ""))
            size += n
            if not dry_run:
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.is_symlink() or tmp in p.parents:
            continue
        key = p.relative_to(root).as_posix()
        if key in known or key in removed:
            continue
        if not old(p):
            kept += 1
            continue
        removed.append(key)
        size += p.stat().st_size
        if not dry_run:
            p.unlink(missing_ok=True)
    if not dry_run:  # empty fan-out directories
        for d in sorted((d for d in root.rglob("*") if d.is_dir()), key=lambda d: len(d.parts), reverse=True):
            if d != tmp and not any(d.iterdir()) and old(d):
                d.rmdir()
    return {
        "removed": removed,
        "bytes": size,
        "kept": kept,
        "dry_run": dry_run,
        "older_than_hours": older_than_hours,
        "at": dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(),
    }


@click.group("storage")
def storage_group() -> None:
    """Stored files (MEDIA_DIR)."""


@storage_group.command("sweep")
@click.option(
    "--hours",
    "older_than_hours",
    type=float,
    default=24.0,
    show_default=True,
    help="Only remove what is older than this many hours.",
)
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def sweep_cmd(older_than_hours: float, dry_run: bool, as_json: bool) -> None:
    """Remove files a crash left behind: unfinished uploads, working copies, files no row refers to (nightly)."""
    report = sweep(older_than_hours, dry_run=dry_run)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    if as_json:
        import json

        click.echo(json.dumps(report, ensure_ascii=False))
        return
    for key in report["removed"]:
        click.echo(f"{'would remove' if dry_run else 'removed'} {key}")
    click.echo(
        f"{len(report['removed'])} files {'would be removed' if dry_run else 'removed'} "
        f"({report['bytes'] / 1024 / 1024:.1f} MB), {report['kept']} recent ones kept"
    )


commands = [storage_group]
