"""The video pipeline: probe, check and transcode uploaded videos with ffmpeg, as pure functions.

No Flask and no database here: the caller passes settings (the ffmpeg path from ``LMS_FFMPEG``, time limits)
and stores what comes back. Only the ``ffmpeg`` binary is needed, never ``ffprobe``: probing parses the stream
summary ffmpeg prints on stderr for ``ffmpeg -i <file>``.

Hardening, on every invocation:

* the input is always a resolved absolute path given as ``file:/abs/path``, so a name such as ``-i.mp4`` or
  ``http:x.mp4`` can be read neither as an option nor as a protocol; names with control characters are refused
  (they could forge lines in the stderr that ``probe`` parses);
* ``-protocol_whitelist file`` and ``-format_whitelist`` (a fixed list of ordinary containers), so playlists
  (hls), concat lists and image sequences are never even opened, and with them the local-file disclosure tricks
  they allow; ``-f`` is never set for an input;
* refused by name before ffmpeg runs: ``.m3u8``/``.m3u``/``.txt``/``.ffconcat``; refused by content: files
  starting ``#EXTM3U`` or ``ffconcat``; refused after probing: format hls/concat/image2/``*_pipe``;
* ``-nostdin``, a time limit (the process is killed, then ``MediaError("timeout")``), and stderr kept in a
  bounded buffer (a capped head for parsing, the last lines for the error detail).

Truncation detection (``probe(..., check_integrity=True)``, the default) works in three cheap steps, none of
which reads or decodes the whole file:

1. ISO-BMFF files (mp4/mov/m4v/3gp, recognised by their first box, not their name) get their top-level boxes
   walked: a ``moov``/``mdat``/other non-padding box that claims more bytes than the file has left, or a file
   without any ``moov``, is truncated. This catches both a file cut before its index (moov at the end, where
   ffmpeg only says "moov atom not found") and a faststart file cut in the middle of ``mdat`` (moov intact,
   ffmpeg happily reports the full duration). Cost: a handful of 16-byte reads.
2. The first 2 seconds of the video stream are decoded with ``-v error -xerror``: a failing decode, or a
   demuxer message such as "partial file" / "File ended prematurely", means truncated or damaged.
3. The tail, for any container: seek to ``duration - 2 s`` and demux (``-c copy``, no decoding) to the end,
   video and audio. A truncated file shows demuxer messages there ("partial file" in mov, "File ended
   prematurely" in matroska), or yields no packets at all. Cost: reading about one GOP plus 2 seconds.

Formats with no index at all (MPEG-TS) can't be told apart from a shorter, complete file; that is harmless,
the video just is shorter.

Transcoding runs ONE ffmpeg process that decodes once and ``split``s the picture into each rendition plus the
poster; progress comes from ``-progress pipe:1``. Renditions are named after their short side ("360p" is 640x360
for a landscape video and 360x640 for a portrait phone video, as video sites do), so a portrait video is not
shrunk to a 202-pixel-wide strip; there is never an upscale.
"""

from __future__ import annotations

import collections
import logging
import os
import queue
import re
import secrets
import shutil
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import ffmpeg as ffmpeg_lib

log = logging.getLogger(__name__)

__all__ = [
    "looks_like_media",
    "MediaError",
    "MediaInfo",
    "Rendition",
    "TranscodeResult",
    "ffmpeg_binary",
    "probe",
    "transcode",
]

# Demuxers ffmpeg may use on an upload. Anything else (hls, concat, image2, tty, *_pipe, ...) is refused by
# ffmpeg itself with "Format not on whitelist". Audio-only formats are listed so that an audio file is
# reported as "no video" rather than "not a media file".
ALLOWED_DEMUXERS = (
    "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,flv,asf,mpegts,mpeg,mxf,ogg,dv,h264,hevc,m4v,"
    "mp3,wav,aac,flac,w64,amr"
)
REFUSED_SUFFIXES = frozenset({".m3u8", ".m3u", ".txt", ".ffconcat", ".concat"})
REFUSED_FORMATS = frozenset({"hls", "applehttp", "concat", "image2", "image2pipe", "tty"})
REFUSED_MAGIC = (b"#EXTM3U", b"ffconcat")

VIDEO_CODEC = "libx264"
VIDEO_OPTIONS = {"preset": "veryfast", "crf": 23, "pix_fmt": "yuv420p", "profile:v": "main"}
AUDIO_CODEC = "aac"
AUDIO_OPTIONS = {"b:a": "128k", "ac": 2}
POSTER_MAX_HEIGHT = 720
PROGRESS_PERIOD = 0.5  # seconds between ffmpeg progress reports
HEAD_CHECK_SECONDS = 2.0
TAIL_CHECK_SECONDS = 2.0

_STDERR_HEAD_BYTES = 256 * 1024
_STDERR_TAIL_LINES = 40
_DETAIL_LINES = 15
_LINE_LIMIT = 8192

_TRUNCATION_MARKERS = (
    "partial file",
    "ended prematurely",
    "corrupt input packet",
    "moov atom not found",
    "truncat",
    "unexpected eof",
)

_MESSAGES = {
    "not_media": "The file is not a media file.",
    "no_video": "The file has no video stream (audio only?).",
    "truncated": "The file is truncated or damaged.",
    "no_duration": "The length of the video cannot be determined.",
    "timeout": "Processing the video took too long and was stopped.",
    "ffmpeg_failed": "The video could not be converted.",
    "unsupported_input": "This kind of file is not accepted; upload a single video file such as an MP4.",
}


_BMFF_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot", b"uuid", b"jP  ")


def looks_like_media(head: bytes) -> bool:
    """Whether the first bytes of a file are those of a container ffmpeg may open on an upload (ALLOWED_DEMUXERS).

    Cheap and before anything is stored: an upload route refuses the rest of a file whose head fails this (HTML,
    text, playlists and concat lists, archives, documents, images). ffmpeg's probe still decides for the rest.
    """
    if len(head) < 4 or head.startswith(REFUSED_MAGIC):
        return False
    if head[4:8] in _BMFF_BOXES:  # mp4, mov, m4a, 3gp, mj2 (ISO base media: a size, then the box type)
        return True
    if head[:4] in (
        b"\x1a\x45\xdf\xa3",
        b"OggS",
        b"fLaC",
        b"#!AM",
        b"\x06\x0e\x2b\x34",
    ):  # mkv/webm, ogg, flac, amr, mxf
        return True
    if head[:4] == b"RIFF" and head[8:12] in (b"AVI ", b"AVIX", b"WAVE"):
        return True
    if head[:3] == b"FLV" or head[:3] == b"ID3" or head[:3] == b"\x1f\x07\x00":  # flv, mp3 with tags, dv
        return True
    if head[:16] == b"\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9\x00\xaa\x00\x62\xce\x6c":  # asf / wmv
        return True
    if (
        head[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3") or head[:4] == b"\x00\x00\x00\x01"
    ):  # mpeg ps/es, h264
        return True
    if (
        head[:3] == b"\x00\x00\x01" and len(head) > 3 and head[3] in range(0x00, 0x80)
    ):  # annex-b NAL (h264/hevc)
        return True
    if head[0] == 0x47 and (len(head) <= 188 or head[188] == 0x47):  # mpeg-ts
        return True
    if (
        len(head) > 4 and head[4] == 0x47 and (len(head) <= 196 or head[196] == 0x47)
    ):  # m2ts (blu-ray, camcorders)
        return True
    if head[0] == 0xFF and head[1] & 0xE0 == 0xE0:  # mp3 / aac frame sync: reported later as "no video"
        return True
    return False


class MediaError(Exception):
    """A media file that can't be used, or an ffmpeg run that failed; ``message`` is for the user."""

    def __init__(self, code: str, message: str | None = None, detail: str = "") -> None:
        self.code = code
        self.message = message or _MESSAGES.get(code, "The video could not be processed.")
        self.detail = detail
        super().__init__(f"{code}: {self.message}")

    def __reduce__(self):  # keep code/message/detail through pickling (job queues)
        return type(self), (self.code, self.message, self.detail)


# --------------------------------------------------------------------------------------------------- binary

_binary_cache: dict[str | None, str] = {}


def ffmpeg_binary(configured: str | None = None) -> str:
    """Return the ffmpeg to run: the configured one if it exists, else the one on PATH, else imageio-ffmpeg's."""
    cached = _binary_cache.get(configured)
    if cached:
        return cached
    found = None
    if configured:
        if os.path.isfile(configured) and os.access(configured, os.X_OK):
            found = os.path.abspath(configured)
        else:
            log.warning("LMS_FFMPEG=%r is not an executable file; falling back", configured)
    if not found:
        found = shutil.which("ffmpeg")
    if not found:
        import imageio_ffmpeg

        found = imageio_ffmpeg.get_ffmpeg_exe()
    _binary_cache[configured] = found
    return found


# --------------------------------------------------------------------------------------------------- running


@dataclass
class _Run:
    returncode: int
    head: str  # the start of stderr, capped
    tail: list[str]  # the last lines of stderr

    @property
    def detail(self) -> str:
        return "\n".join(self.tail[-_DETAIL_LINES:])

    def mentions(self, needles: Iterable[str]) -> bool:
        text = (self.head + "\n" + "\n".join(self.tail)).lower()
        return any(n.lower() in text for n in needles)


def _pump_stderr(stream, head: bytearray, tail: collections.deque, head_limit: int) -> None:
    for raw in iter(lambda: stream.readline(_LINE_LIMIT), b""):
        if len(head) < head_limit:
            head += raw[: head_limit - len(head)]
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line.strip():
            tail.append(line)
    stream.close()


def _pump_stdout(stream, lines: queue.Queue) -> None:
    for raw in iter(lambda: stream.readline(_LINE_LIMIT), b""):
        lines.put(raw.decode("utf-8", "replace").strip())
    stream.close()
    lines.put(None)


def _run(
    cmd: Sequence[str],
    deadline: float,
    *,
    on_line: Callable[[str], None] | None = None,
    head_limit: int = _STDERR_HEAD_BYTES,
) -> _Run:
    """Run ffmpeg until it exits or the deadline passes (then kill it and raise ``timeout``).

    ``on_line`` gets each stdout line in the calling thread; if it raises, ffmpeg is killed and the exception
    propagates (that is how a caller cancels a transcode).
    """
    if time.monotonic() >= deadline:
        raise MediaError("timeout")
    try:
        proc = subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if on_line else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            close_fds=True,
        )
    except OSError as exc:
        raise MediaError(
            "ffmpeg_failed", "The video converter (ffmpeg) could not be started.", str(exc)
        ) from exc
    head = bytearray()
    tail: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL_LINES)
    lines: queue.Queue[str | None] = queue.Queue()
    pumps = [threading.Thread(target=_pump_stderr, args=(proc.stderr, head, tail, head_limit), daemon=True)]
    if on_line:
        pumps.append(threading.Thread(target=_pump_stdout, args=(proc.stdout, lines), daemon=True))
    for t in pumps:
        t.start()
    stdout_open = bool(on_line)
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise MediaError("timeout", detail="\n".join(list(tail)[-_DETAIL_LINES:]))
            if stdout_open:
                try:
                    line = lines.get(timeout=min(0.1, remaining))
                except queue.Empty:
                    continue
                if line is None:
                    stdout_open = False
                elif line:
                    on_line(line)  # type: ignore[misc]
                continue
            try:
                proc.wait(timeout=min(0.1, remaining))
                break
            except subprocess.TimeoutExpired:
                continue
    except BaseException:
        proc.kill()
        proc.wait()
        for t in pumps:
            t.join(timeout=5)
        raise
    for t in pumps:
        t.join(timeout=5)
    return _Run(proc.returncode, head.decode("utf-8", "replace"), list(tail))


def _compile(binary: str, stream, *global_args: str) -> list[str]:
    """Build a command line with ffmpeg-python, global options first (it would put them last)."""
    args = ffmpeg_lib.compile(stream, cmd=binary, overwrite_output=True)
    return [args[0], "-hide_banner", "-nostdin", *global_args, *args[1:]]


def _input(path: Path, **options):
    return ffmpeg_lib.input(
        f"file:{path}", protocol_whitelist="file", format_whitelist=ALLOWED_DEMUXERS, **options
    )


# --------------------------------------------------------------------------------------------------- paths

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _checked_path(path: str | os.PathLike[str], *, must_exist: bool = True) -> Path:
    raw = os.fspath(path)
    if _CONTROL.search(raw):
        raise MediaError("unsupported_input", "The file name contains control characters.")
    p = Path(raw).resolve()
    if p.suffix.lower() in REFUSED_SUFFIXES:
        raise MediaError(
            "unsupported_input", "Playlists and file lists are not accepted; upload a video file."
        )
    if must_exist:
        try:
            st = p.stat()
        except FileNotFoundError:
            raise FileNotFoundError(f"No such media file: {p}") from None
        if not stat.S_ISREG(st.st_mode):
            raise MediaError("unsupported_input", "Only regular files can be processed.")
    return p


# --------------------------------------------------------------------------------------------------- probe


@dataclass
class MediaInfo:
    duration: float
    width: int
    height: int
    rotation: int  # clockwise degrees to turn the coded picture for display: 0, 90, 180 or 270
    video_codec: str | None
    audio_codec: str | None
    has_audio: bool
    display_width: int  # after rotation and pixel aspect ratio
    display_height: int
    format_name: str = ""
    fps: float | None = None
    sample_aspect: float = 1.0
    video_index: int | None = None  # absolute stream indexes, for -map
    audio_index: int | None = None

    @property
    def is_portrait(self) -> bool:
        return self.display_height > self.display_width


_INPUT_RE = re.compile(r"^Input #0, (.+?), from '", re.M)
_DURATION_RE = re.compile(r"^\s+Duration: (?:(\d+):(\d\d):(\d\d(?:\.\d+)?)|N/A)")
_STREAM_RE = re.compile(
    r"^\s+Stream #0:(\d+)(?:\[0x[0-9a-fA-F]+\])?(?:\([^)]*\))?: (Video|Audio|Subtitle|Data|Attachment): (\S+?)[\s,]"
)
_SIZE_RE = re.compile(r", (\d{1,5})x(\d{1,5})(?=[\s,\[]|$)")
_SAR_RE = re.compile(r"\[SAR (\d+):(\d+) DAR")
_FPS_RE = re.compile(r", (\d+(?:\.\d+)?)(k?) fps")
_MATRIX_RE = re.compile(r"^\s+display ?matrix: rotation of (-?\d+(?:\.\d+)?) degrees", re.I)
_ROTATE_TAG_RE = re.compile(r"^\s+rotate\s*:\s*(-?\d+(?:\.\d+)?)\s*$", re.I)


def _normal_rotation(clockwise: float) -> int:
    return int(round(clockwise / 90.0)) * 90 % 360


def _summary_lines(block: str) -> Iterator[tuple[str, bool]]:
    """Yield each line with whether it sits inside a ``Metadata:`` block.

    Metadata keys and values come from the file, so they could imitate a "Duration:" or "Stream #0:0" line;
    they are told apart by indentation (deeper than their ``Metadata:`` header) and never parsed as such.
    """
    meta_indent: int | None = None
    for line in block.splitlines():
        indent = len(line) - len(line.lstrip(" "))
        if meta_indent is not None and indent > meta_indent:
            yield line, True
            continue
        meta_indent = indent if line.strip() == "Metadata:" else None
        yield line, False


def _seconds(hours: str, minutes: str, seconds: str) -> float:
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _parse_probe(text: str) -> tuple[MediaInfo | None, int]:
    """Parse ffmpeg's input summary into (info, number of streams); info is None without an input block."""
    m = _INPUT_RE.search(text)
    if not m:
        return None, 0
    format_name = m.group(1)
    block = text[m.end() :]
    end = re.search(r"^(?:Input #1|Output #0|At least one output)", block, re.M)
    if end:
        block = block[: end.start()]

    duration = None
    streams: list[tuple[int, str, str, str, list[tuple[str, bool]]]] = []  # index, kind, codec, line, rest
    for line, in_metadata in _summary_lines(block):
        sm = None if in_metadata else _STREAM_RE.match(line)
        dm = None if in_metadata or streams else _DURATION_RE.match(line)
        if dm and duration is None:
            duration = -1.0 if dm.group(1) is None else _seconds(*dm.groups())
        elif sm:
            streams.append((int(sm.group(1)), sm.group(2), sm.group(3), line, []))
        elif streams:
            streams[-1][4].append((line, in_metadata))

    video = next((s for s in streams if s[1] == "Video" and "(attached pic)" not in s[3]), None)
    audio = next((s for s in streams if s[1] == "Audio"), None)
    info = MediaInfo(
        duration=duration if duration is not None else -1.0,
        width=0,
        height=0,
        rotation=0,
        video_codec=video[2] if video else None,
        audio_codec=audio[2] if audio else None,
        has_audio=audio is not None,
        display_width=0,
        display_height=0,
        format_name=format_name,
        video_index=video[0] if video else None,
        audio_index=audio[0] if audio else None,
    )
    if not video:
        return info, len(streams)
    line, extra = video[3], video[4]
    size = _SIZE_RE.search(line)
    if size:
        info.width, info.height = int(size.group(1)), int(size.group(2))
    sar = _SAR_RE.search(line)
    if sar and int(sar.group(1)) > 0 and int(sar.group(2)) > 0:
        info.sample_aspect = int(sar.group(1)) / int(sar.group(2))
    fps = _FPS_RE.search(line)
    if fps:
        info.fps = float(fps.group(1)) * (1000 if fps.group(2) else 1)
    for extra_line, in_metadata in extra:
        mm = None if in_metadata else _MATRIX_RE.match(extra_line)
        if mm:  # the display matrix angle is counter-clockwise; the legacy rotate tag is clockwise
            info.rotation = _normal_rotation(-float(mm.group(1)))
            break
        rm = _ROTATE_TAG_RE.match(extra_line) if in_metadata else None
        if rm:
            info.rotation = _normal_rotation(float(rm.group(1)))
    shown_w = round(info.width * info.sample_aspect)
    if info.rotation in (90, 270):
        info.display_width, info.display_height = info.height, shown_w
    else:
        info.display_width, info.display_height = shown_w, info.height
    return info, len(streams)


_ISO_FIRST_BOXES = frozenset(
    {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"styp", b"sidx"}
)
_PADDING_BOXES = frozenset({b"free", b"skip", b"wide", b"uuid"})


def _iso_bmff_problem(path: Path) -> str | None | bool:
    """Walk the top-level boxes of an ISO-BMFF file.

    Returns False if the file is not ISO-BMFF, None if its boxes are whole, else a description of the damage.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        first = f.read(8)
        if len(first) < 8 or first[4:8] not in _ISO_FIRST_BOXES:
            return False
        pos, seen_moov, seen_moof = 0, False, False
        while pos + 8 <= size:
            f.seek(pos)
            header = f.read(16)
            box_size, box_type = int.from_bytes(header[:4], "big"), header[4:8]
            if box_size == 1 and len(header) >= 16:
                box_size = int.from_bytes(header[8:16], "big")
            elif box_size == 0:  # the box runs to the end of the file
                box_size = size - pos
            if box_size < 8 or not box_type.isascii():
                return f"broken box header at byte {pos}"
            seen_moov |= box_type == b"moov"
            seen_moof |= box_type == b"moof"
            if pos + box_size > size:
                if box_type in _PADDING_BOXES and seen_moov:
                    return None
                name = box_type.decode("ascii", "replace")
                return f"'{name}' box at byte {pos} needs {box_size} bytes, only {size - pos} are left"
            pos += box_size
        if not (seen_moov or seen_moof):
            return "no 'moov' box (the index is missing: the recording or upload was cut short)"
    return None


def probe(
    path: str | os.PathLike[str],
    *,
    ffmpeg: str | None = None,
    timeout: float = 60,
    check_integrity: bool = True,
) -> MediaInfo:
    """Describe a video file, refusing what can't be used (see ``MediaError.code``)."""
    deadline = time.monotonic() + timeout
    binary = ffmpeg_binary(ffmpeg)
    p = _checked_path(path)
    with open(p, "rb") as f:
        magic = f.read(64)
    if not magic:
        raise MediaError("not_media", "The file is empty.")
    if magic.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(REFUSED_MAGIC):
        raise MediaError(
            "unsupported_input", "Playlists and file lists are not accepted; upload a video file."
        )

    iso_problem = _iso_bmff_problem(p)  # a few small reads: always worth it
    is_iso = iso_problem is not False
    if iso_problem:
        raise MediaError("truncated", detail=str(iso_problem))

    cmd = [binary, "-hide_banner", "-nostdin"]
    cmd += ["-protocol_whitelist", "file", "-format_whitelist", ALLOWED_DEMUXERS, "-i", f"file:{p}"]
    run = _run(cmd, deadline)
    info, stream_count = _parse_probe(run.head)
    if info is None:
        if run.mentions(["not on whitelist"]):
            raise MediaError("unsupported_input", detail=run.detail)
        if is_iso and run.mentions(_TRUNCATION_MARKERS):
            raise MediaError("truncated", detail=run.detail)
        raise MediaError("not_media", detail=run.detail)
    names = set(info.format_name.split(","))
    if names & REFUSED_FORMATS or any(n.endswith("_pipe") for n in names):
        raise MediaError("unsupported_input", detail=f"format {info.format_name}")
    if not stream_count:
        raise MediaError("not_media", detail=run.detail)
    if info.video_index is None:
        raise MediaError("no_video", detail=run.detail)
    if info.width <= 0 or info.height <= 0:
        raise MediaError("not_media", "The video stream has no picture size.", run.detail)
    if info.duration <= 0:
        if names & {"mov", "mp4"}:
            raise MediaError("truncated", detail=run.detail)
        raise MediaError("no_duration", detail=run.detail)
    if check_integrity:
        _check_integrity(binary, p, info, deadline)
    return info


def _check_integrity(binary: str, p: Path, info: MediaInfo, deadline: float) -> None:
    """Decode the first seconds and demux the last ones; raise ``truncated`` on errors (module docstring)."""
    head = _input(p, t=HEAD_CHECK_SECONDS)
    cmd = _compile(binary, head[str(info.video_index)].output("-", format="null"), "-v", "error", "-xerror")
    run = _run(cmd, deadline, head_limit=0)
    if run.returncode != 0 or run.mentions(_TRUNCATION_MARKERS):
        raise MediaError("truncated", detail=run.detail or f"decoding failed (exit {run.returncode})")

    start = info.duration - TAIL_CHECK_SECONDS
    if start <= 0:
        return  # the head decode has already read the whole video
    tail = _input(p, ss=f"{start:.3f}")
    streams = [tail[str(info.video_index)]]
    if info.audio_index is not None:
        streams.append(tail[str(info.audio_index)])
    out = ffmpeg_lib.output(*streams, "-", format="null", c="copy")
    cmd = _compile(binary, out, "-v", "error", "-nostats", "-progress", "pipe:1")
    last: dict[str, str] = {}

    def on_line(line: str) -> None:
        key, _, value = line.partition("=")
        last[key] = value

    run = _run(cmd, deadline, on_line=on_line, head_limit=0)
    got_packets = _int(last.get("frame")) > 0 or _int(last.get("out_time_us")) > 0
    if run.returncode != 0 or run.mentions(_TRUNCATION_MARKERS) or not got_packets:
        raise MediaError("truncated", detail=run.detail or "no data could be read at the end of the file")


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


# --------------------------------------------------------------------------------------------------- transcode


@dataclass
class Rendition:
    height: int
    width: int
    path: Path
    size: int
    bitrate_kbps: int | None
    label: str = ""  # "720p": the short side, which names the file


@dataclass
class TranscodeResult:
    duration: float
    renditions: list[Rendition]
    poster: Path
    poster_size: int
    info: MediaInfo


def _plan(info: MediaInfo, heights: Iterable[int]) -> list[int]:
    """Pick the rendition sizes (short side, even, largest first), never above the source."""
    short = min(info.display_width, info.display_height)
    wanted = sorted({int(h) for h in heights}, reverse=True)
    if not wanted or any(h < 2 or h % 2 for h in wanted):
        raise ValueError(f"rendition heights must be positive even numbers, got {list(heights)!r}")
    fitting = [h for h in wanted if h <= short]
    return fitting or [max(2, short - short % 2)]


def transcode(
    src: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    heights: Iterable[int] = (720, 360),
    ffmpeg: str | None = None,
    on_progress: Callable[[float], None] | None = None,
    timeout: float = 3600,
    threads: int | None = None,
) -> TranscodeResult:
    """Probe ``src`` and write ``<N>p.mp4`` renditions and ``poster.jpg`` into ``out_dir`` in one ffmpeg run.

    ``on_progress`` gets increasing percentages, 100 last, in the calling thread; raising from it kills ffmpeg,
    removes the partial files and propagates (a way to cancel). ``timeout`` bounds the whole call.
    """
    deadline = time.monotonic() + timeout
    binary = ffmpeg_binary(ffmpeg)
    info = probe(src, ffmpeg=binary, timeout=min(60.0, max(0.0, deadline - time.monotonic())))
    sizes = _plan(info, heights)
    src_path = _checked_path(src)
    out = _checked_path(out_dir, must_exist=False)
    out.mkdir(parents=True, exist_ok=True)

    token = secrets.token_hex(4)
    finals = [out / f"{h}p.mp4" for h in sizes] + [out / "poster.jpg"]
    temps = [f.with_name(f".{f.stem}.part-{token}{f.suffix}") for f in finals]
    cmd = _transcode_command(binary, src_path, info, sizes, temps, threads)

    reporter = _Progress(info, on_progress)
    try:
        run = _run(cmd, deadline, on_line=reporter.feed, head_limit=0)
        if run.returncode != 0:
            raise MediaError("ffmpeg_failed", detail=run.detail or f"ffmpeg exited with {run.returncode}")
        if not _nonempty(temps[-1]):  # no frame at the poster time (a video stream shorter than the file)
            _first_frame_poster(binary, src_path, info, temps[-1], deadline)
        missing = [t.name for t in temps if not _nonempty(t)]
        if missing:
            raise MediaError(
                "ffmpeg_failed", detail=f"ffmpeg wrote no data to {', '.join(missing)}\n{run.detail}"
            )
        renditions = []
        for h, tmp, final in zip(sizes, temps, finals, strict=False):
            got = probe(
                tmp, ffmpeg=binary, timeout=max(1.0, deadline - time.monotonic()), check_integrity=False
            )
            size = tmp.stat().st_size
            kbps = round(size * 8 / got.duration / 1000) if got.duration > 0 else None
            renditions.append(Rendition(got.display_height, got.display_width, final, size, kbps, f"{h}p"))
        for tmp, final in zip(temps, finals, strict=True):
            os.replace(tmp, final)
    except BaseException:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        raise
    if on_progress:
        on_progress(100.0)
    return TranscodeResult(info.duration, renditions, finals[-1], finals[-1].stat().st_size, info)


def _nonempty(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except FileNotFoundError:
        return False


def _transcode_command(
    binary: str, src: Path, info: MediaInfo, sizes: list[int], temps: list[Path], threads: int | None
) -> list[str]:
    inp = _input(src, **({"threads": threads} if threads else {}))
    video = inp[str(info.video_index)]  # ffmpeg turns the picture upright itself (autorotate)
    if abs(info.sample_aspect - 1.0) > 0.01:  # anamorphic: square the pixels first so players agree
        video = video.filter("scale", w="trunc(iw*sar/2)*2", h="ih").filter("setsar", "1")
    branches = video.split()
    audio = inp[str(info.audio_index)] if info.has_audio else None
    common = {"map_metadata": -1, "map_chapters": -1, "max_muxing_queue_size": 4096}
    if threads:
        common["threads"] = threads
    outputs = []
    for i, (h, tmp) in enumerate(zip(sizes, temps, strict=False)):
        w_h = {"w": h, "h": -2} if info.is_portrait else {"w": -2, "h": h}
        scaled = branches[i].filter("scale", **w_h).filter("setsar", "1")
        streams = [scaled] + ([audio] if audio is not None else [])
        options = {"c:v": VIDEO_CODEC, **VIDEO_OPTIONS, "movflags": "+faststart", "format": "mp4", **common}
        if audio is not None:
            options.update({"c:a": AUDIO_CODEC, **AUDIO_OPTIONS})
        outputs.append(ffmpeg_lib.output(*streams, f"file:{tmp}", **options))
    at = min(1.0, info.duration / 2)
    poster = (
        branches[len(sizes)]
        .trim(start=at)
        .filter("scale", w=-2, h=f"min({POSTER_MAX_HEIGHT},ih)")
        .filter("setsar", "1")
    )
    outputs.append(_poster_output(poster, temps[-1]))
    graph = ffmpeg_lib.merge_outputs(*outputs)
    return _compile(
        binary, graph, "-v", "error", "-nostats", "-progress", "pipe:1", "-stats_period", str(PROGRESS_PERIOD)
    )


def _poster_output(stream, tmp: Path):
    return stream.output(f"file:{tmp}", update=1, format="image2", **{"frames:v": 1, "q:v": 3})


def _first_frame_poster(binary: str, src: Path, info: MediaInfo, tmp: Path, deadline: float) -> None:
    inp = _input(src)
    frame = inp[str(info.video_index)].filter("scale", w=-2, h=f"min({POSTER_MAX_HEIGHT},ih)")
    run = _run(_compile(binary, _poster_output(frame.filter("setsar", "1"), tmp), "-v", "error"), deadline)
    if run.returncode != 0:
        raise MediaError("ffmpeg_failed", detail=run.detail)


class _Progress:
    """Turn ``-progress`` blocks into increasing percentages below 100 (100 is sent once all is in place)."""

    def __init__(self, info: MediaInfo, callback: Callable[[float], None] | None) -> None:
        self.callback = callback
        self.duration = info.duration
        # the frame count is steadier than out_time, which jumps ahead while audio is muxed early
        self.frames = info.duration * info.fps if info.fps else None
        self.block: dict[str, str] = {}
        self.last = -1.0

    def feed(self, line: str) -> None:
        key, _, value = line.partition("=")
        if key != "progress":
            self.block[key] = value
            return
        block, self.block = self.block, {}
        if not self.callback:
            return
        if self.frames:
            pct = _int(block.get("frame")) / self.frames * 100
        else:
            pct = _int(block.get("out_time_us")) / 1e6 / self.duration * 100
        pct = round(min(99.0, max(0.0, pct)), 1)
        if pct > self.last:
            self.last = pct
            self.callback(pct)
