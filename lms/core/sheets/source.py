"""The uploaded file as a re-openable byte source: a path, bytes, or a caller's seekable stream."""

from __future__ import annotations

import io
import os
from typing import IO, Any

from lms.core.errors import ImportRefused
from lms.core.i18n import msg

HEAD_BYTES = 64 * 2**10


CHUNK = 2**20


class _NonClosing(io.RawIOBase):
    """A seekable view of a caller's stream from `start`; closing it never closes the stream."""

    def __init__(self, stream: IO[bytes], start: int = 0):
        self._stream = stream
        self._start = start
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            target = self._start + offset
        elif whence == io.SEEK_CUR:
            target = self._start + self._pos + offset
        else:
            target = self._stream.seek(0, io.SEEK_END) + offset
        self._pos = self._stream.seek(max(target, self._start)) - self._start
        return self._pos

    def readinto(self, buffer: Any) -> int:
        self._stream.seek(self._start + self._pos)  # other views may have moved the shared stream
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


class Source:
    """A re-openable view of the upload: a path, bytes, or a caller's seekable stream."""

    def __init__(self, source: Any, filename: str, max_bytes: int):
        self.filename = filename
        self.path: str | None = None
        self.data: bytes | None = None
        self.stream: IO[bytes] | None = None
        self.start = 0
        limit_mb = f"{max_bytes / 2**20:g}"
        if isinstance(source, bytes | bytearray | memoryview):
            self.data = bytes(source)
            self.size = len(self.data)
        elif isinstance(source, str | os.PathLike):
            self.path = os.fspath(source)
            self.size = os.path.getsize(self.path)
        elif hasattr(source, "read"):
            if getattr(source, "seekable", lambda: False)():
                self.stream = source
                self.start = source.tell()
                self.size = source.seek(0, io.SEEK_END) - self.start
                source.seek(self.start)
            else:
                self.data = source.read(max_bytes + 1)
                self.size = len(self.data)
        else:
            raise TypeError(f"cannot read a spreadsheet from {type(source).__name__}")
        if self.size > max_bytes:
            raise ImportRefused(msg("%(file)s is larger than %(mb)s MB", file=filename, mb=limit_mb))

    def open(self) -> IO[bytes]:
        """Return a binary file positioned at the start; closing it never closes the caller's stream."""
        if self.path is not None:
            return open(self.path, "rb")  # closed by the caller
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.stream is not None
        return io.BufferedReader(_NonClosing(self.stream, self.start), buffer_size=CHUNK)

    def head(self, size: int = HEAD_BYTES) -> bytes:
        with self.open() as handle:
            return handle.read(size)

    def read_all(self) -> bytes:
        if self.data is not None:
            return self.data
        with self.open() as handle:
            return handle.read()
