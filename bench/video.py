"""Video: courses.media.transcode (720p + 360p + poster) vs the same ffmpeg command typed by hand."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.common import SMOKE, time_ratio, workdir
from bench.data import test_video

MAX_RATIO = 1.1


def hand_command(ffmpeg: str, src: Path, out: Path) -> list[str]:
    """What an operator would type: one decode, split to two scaled H.264/AAC MP4s and a poster frame."""
    enc = [
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "23",
        "-pix_fmt",
        "yuv420p",
        "-profile:v",
        "main",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        "-ac",
        "2",
        "-movflags",
        "+faststart",
    ]
    graph = (
        "[0:v]split=3[a][b][c];[a]scale=-2:720,setsar=1[v720];[b]scale=-2:360,setsar=1[v360];"
        "[c]trim=start=1,scale=-2:'min(720,ih)',setsar=1[poster]"
    )
    return [
        ffmpeg,
        "-nostdin",
        "-y",
        "-v",
        "error",
        "-i",
        str(src),
        "-filter_complex",
        graph,
        "-map",
        "[v720]",
        "-map",
        "0:a",
        *enc,
        str(out / "720p.mp4"),
        "-map",
        "[v360]",
        "-map",
        "0:a",
        *enc,
        str(out / "360p.mp4"),
        "-map",
        "[poster]",
        "-frames:v",
        "1",
        "-q:v",
        "3",
        "-update",
        "1",
        str(out / "poster.jpg"),
    ]


def run(quick: bool, log: Any) -> list[Any]:
    from courses.media import ffmpeg_binary, transcode

    ffmpeg = ffmpeg_binary()
    seconds = (3 if SMOKE else 10) if quick else 60
    folder = workdir("video")
    src = test_video(ffmpeg, folder / f"source-{seconds}s-1080p.mp4", seconds)
    results: dict[str, list[float]] = {"ours": [], "hand": []}
    # Alternate, so that neither side gets a warmer page cache or CPU clock; best of the runs counts.
    for _ in range(2):
        for side in ("hand", "ours"):
            out = folder / f"out-{side}"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            t = time.perf_counter()
            if side == "hand":
                subprocess.run(hand_command(ffmpeg, src, out), check=True)
            else:
                result = transcode(src, out, heights=(720, 360), ffmpeg=ffmpeg)
                assert [r.label for r in result.renditions] == ["720p", "360p"], result
            results[side].append(time.perf_counter() - t)
            log(f"video {side}: {results[side][-1]:.1f} s")
    # What transcode() does besides the ffmpeg run itself: probe + integrity checks of the source.
    from courses.media import probe

    t = time.perf_counter()
    probe(src, ffmpeg=ffmpeg)
    probe_seconds = time.perf_counter() - t
    log(f"video probe + integrity checks alone: {probe_seconds:.1f} s")
    return [
        time_ratio(
            "video",
            f"{seconds} s 1080p -> 720p + 360p + poster",
            min(results["ours"]),
            min(results["hand"]),
            MAX_RATIO,
            note=f"includes {probe_seconds:.1f} s of probe + integrity checks",
            ffmpeg=ffmpeg,
            runs_ours=[round(x, 1) for x in results["ours"]],
            runs_hand=[round(x, 1) for x in results["hand"]],
            probe_seconds=round(probe_seconds, 2),
        )
    ]
