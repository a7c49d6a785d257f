"""File storage under MEDIA_DIR with generated names; files leave only through permission-checked views."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import secrets
import shutil
from pathlib import Path
from typing import BinaryIO

from flask import Response, current_app, request, send_file
from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

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
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
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


def save_stream(stream: BinaryIO, original_name: str, *, purpose: str, enterprise_id: int | None = None,
                uploaded_by_id: int | None = None, max_bytes: int | None = None,
                content_type: str | None = None) -> StoredFile:
    """Stream ``stream`` to disk in chunks (never whole in memory) and record it."""
    suffix = Path(original_name or "").suffix
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
        original_name=(original_name or "file")[:255],
        content_type=content_type or mimetypes.guess_type(original_name or "")[0] or "application/octet-stream",
        size=size,
        sha256=digest.hexdigest(),
        purpose=purpose,
        enterprise_id=enterprise_id,
        uploaded_by_id=uploaded_by_id,
    )
    db.session.add(stored)
    db.session.flush()
    return stored


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


def send_stored(stored: StoredFile | None = None, *, key: str | None = None, download_name: str | None = None,
                as_attachment: bool = False, mimetype: str | None = None) -> Response:
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
            from werkzeug.http import dump_options_header

            resp.headers["Content-Disposition"] = dump_options_header(
                "attachment", {"filename*": "UTF-8''" + _quote(download_name or path.name)}
            )
        resp.headers["Cache-Control"] = "private, max-age=0"
        return resp
    resp = send_file(
        path,
        mimetype=mimetype,
        as_attachment=as_attachment,
        download_name=download_name or (stored.original_name if stored else path.name),
        conditional=True,
        etag=True,
        max_age=0,
    )
    resp.headers["Cache-Control"] = "private, max-age=0, must-revalidate"
    _ = request  # the view's request supplies Range / If-None-Match to send_file
    return resp


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name)


def copy_to(stored: StoredFile, dest: Path) -> Path:
    """Copy a stored file to ``dest`` (for jobs that need a working copy)."""
    shutil.copyfile(path_of(stored.key), dest)
    return dest
