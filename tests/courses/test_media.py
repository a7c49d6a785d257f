"""The ffmpeg pipeline, against tiny generated videos and the bundled (imageio-ffmpeg) binary."""

from __future__ import annotations

import os
import pickle
import struct
from pathlib import Path

import pytest

from courses import media
from courses.media import MediaError, probe, transcode
from tests.fixtures.videos import (
    make_audio_only,
    make_text_as_mp4,
    make_truncated,
    make_video,
    run_ffmpeg,
)


def top_level_boxes(path: Path) -> list[str]:
    """Return the types of the top-level ISO-BMFF boxes, in file order."""
    boxes, data = [], path.read_bytes()
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
        boxes.append(kind.decode())
        pos += size or len(data)
    return boxes


def jpeg_size(path: Path) -> tuple[int, int]:
    """Return (width, height) from a JPEG's start-of-frame marker."""
    data = path.read_bytes()
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    pos = 2
    while pos < len(data):
        marker, length = data[pos + 1], struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    raise AssertionError("no SOF marker")


def assert_no_partial_files(directory: Path) -> None:
    leftovers = [p.name for p in directory.iterdir()] if directory.exists() else []
    assert not [n for n in leftovers if ".part-" in n], leftovers


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    """Source clips shared by the module (each is made once)."""
    d = tmp_path_factory.mktemp("clips")
    return {
        "plain": make_video(d / "plain.mp4", seconds=2),
        "rotated": make_video(d / "rotated.mp4", seconds=2, rotate=90),
        "sd": make_video(d / "sd.mp4", seconds=2, size="640x480"),
        "hd": make_video(d / "hd.mp4", seconds=3, size="1280x720"),
    }


# ------------------------------------------------------------------------------------------------ binary


def test_ffmpeg_binary_prefers_configured_and_falls_back(tmp_path):
    bundled = media.ffmpeg_binary()
    assert Path(bundled).is_file()
    assert media.ffmpeg_binary(bundled) == bundled
    assert media.ffmpeg_binary(str(tmp_path / "no-such-ffmpeg")) == bundled


# ------------------------------------------------------------------------------------------------ probe


def test_probe_plain_video(clips):
    info = probe(clips["plain"])
    assert info.duration == pytest.approx(2, abs=0.1)
    assert (info.width, info.height, info.rotation) == (640, 360, 0)
    assert (info.display_width, info.display_height) == (640, 360)
    assert info.video_codec == "h264" and info.audio_codec == "aac" and info.has_audio
    assert info.fps == 15


def test_probe_rotated_phone_video_swaps_display_size(clips):
    info = probe(clips["rotated"])
    assert info.rotation == 90
    assert (info.width, info.height) == (640, 360)
    assert (info.display_width, info.display_height) == (360, 640)
    assert info.is_portrait


def test_probe_audio_only_is_no_video(tmp_path):
    with pytest.raises(MediaError) as err:
        probe(make_audio_only(tmp_path / "talk.m4a"))
    assert err.value.code == "no_video"
    assert "no video" in err.value.message


def test_probe_cover_art_alone_is_no_video(tmp_path):
    cover = tmp_path / "cover.jpg"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x64", "-frames:v", "1", str(cover))
    song = tmp_path / "song.m4a"
    run_ffmpeg(
        "-f", "lavfi", "-i", "sine=duration=1", "-i", str(cover), "-map", "0", "-map", "1",
        "-c:a", "aac", "-c:v", "copy", "-disposition:v:0", "attached_pic", str(song),
    )  # fmt: skip
    with pytest.raises(MediaError) as err:
        probe(song)
    assert err.value.code == "no_video"


@pytest.mark.parametrize("faststart", [True, False], ids=["cut-inside-mdat", "moov-lost"])
def test_probe_truncated(tmp_path, faststart):
    with pytest.raises(MediaError) as err:
        probe(make_truncated(tmp_path / "cut.mp4", faststart=faststart))
    assert err.value.code == "truncated"
    assert err.value.message == "The file is truncated or damaged."
    assert err.value.detail


def test_truncation_is_caught_by_decoding_too(tmp_path, monkeypatch):
    """Without the box walk (and for non-MP4 containers) the head decode / tail demux still see the cut."""
    monkeypatch.setattr(media, "_iso_bmff_problem", lambda path: False)
    with pytest.raises(MediaError) as err:
        probe(make_truncated(tmp_path / "cut.mp4", keep=0.7))
    assert err.value.code == "truncated"

    whole = make_video(tmp_path / "whole.mp4", seconds=3)
    mkv = tmp_path / "whole.mkv"
    run_ffmpeg("-i", str(whole), "-c", "copy", str(mkv))
    assert probe(mkv).duration == pytest.approx(3, abs=0.1)
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(mkv.read_bytes()[: mkv.stat().st_size * 7 // 10])
    with pytest.raises(MediaError) as err:
        probe(cut)
    assert err.value.code == "truncated"


@pytest.mark.parametrize("maker", ["text", "empty"])
def test_probe_non_media_named_mp4(tmp_path, maker):
    path = tmp_path / "lesson.mp4"
    make_text_as_mp4(path) if maker == "text" else path.write_bytes(b"")
    with pytest.raises(MediaError) as err:
        probe(path)
    assert err.value.code == "not_media"


def test_probe_refuses_playlists_lists_and_images(tmp_path, clips):
    playlist = f"#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:2,\n{clips['plain']}\n#EXT-X-ENDLIST\n"
    cases = {
        "index.m3u8": playlist,
        "list.txt": f"file '{clips['plain']}'\n",
        "sneaky.mp4": playlist,  # an HLS playlist under a video name
        "concat.mp4": f"ffconcat version 1.0\nfile '{clips['plain']}'\n",
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(MediaError) as err:
            probe(tmp_path / name)
        assert err.value.code == "unsupported_input", name
    image = tmp_path / "still.mp4"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x64", "-frames:v", "1", "-f", "mjpeg", str(image))
    with pytest.raises(MediaError) as err:
        probe(image)
    assert err.value.code == "unsupported_input"


def test_probe_missing_file_and_non_regular_paths(tmp_path):
    with pytest.raises(FileNotFoundError):
        probe(tmp_path / "missing.mp4")
    with pytest.raises(MediaError) as err:
        probe(tmp_path)
    assert err.value.code == "unsupported_input"
    with pytest.raises(MediaError) as err:
        probe(tmp_path / "two\nlines.mp4")
    assert err.value.code == "unsupported_input"


@pytest.mark.parametrize("name", ["-evil.mp4", "-i", "http:evil.mp4", "concat:a.mp4|b.mp4", "x%d.mp4"])
def test_odd_file_names_are_plain_local_files(tmp_path, clips, monkeypatch, name):
    (tmp_path / name).write_bytes(clips["plain"].read_bytes())
    monkeypatch.chdir(tmp_path)
    info = probe(name)  # relative, as a careless caller might pass it
    assert (info.width, info.height) == (640, 360)


FFMPEG4_PHONE = """\
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'file:/srv/media/phone.mp4':
  Metadata:
    major_brand     : isom
    Duration: 09:00:00.00, start: 0.000000, bitrate: 1 kb/s
    Stream #0:7(und): Video: h264 (High), yuv420p, 4000x4000, 1 fps
  Duration: 00:00:05.00, start: 0.000000, bitrate: 1000 kb/s
    Stream #0:0(und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709), 1920x1080, 900 kb/s, \
29.97 fps, 29.97 tbr, 90k tbn, 59.94 tbc (default)
    Metadata:
      rotate          : 90
      handler_name    : VideoHandle
      Stream #0:9(und): Video: h264, 2x2
    Side data:
      displaymatrix: rotation of -90.00 degrees
    Stream #0:1(und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, stereo, fltp, 96 kb/s (default)
    Stream #0:2(und): Video: mjpeg, yuvj420p, 300x300, 90k tbr, 90k tbn (attached pic)
At least one output file must be specified
"""


def test_parser_reads_older_ffmpeg_layout_and_ignores_look_alike_metadata():
    info, streams = media._parse_probe(FFMPEG4_PHONE)
    assert streams == 3
    assert info.duration == 5.0 and info.fps == pytest.approx(29.97)
    assert (info.width, info.height, info.rotation) == (1920, 1080, 90)
    assert (info.display_width, info.display_height) == (1080, 1920)
    assert (info.video_index, info.audio_index, info.video_codec) == (0, 1, "h264")
    legacy_tag_only = FFMPEG4_PHONE.replace("displaymatrix: rotation of -90.00 degrees", "")
    assert media._parse_probe(legacy_tag_only)[0].rotation == 90
    anamorphic = FFMPEG4_PHONE.replace("1920x1080,", "720x576 [SAR 16:15 DAR 4:3],").replace(
        "rotate  ", "x  "
    )
    anamorphic = anamorphic.replace("displaymatrix: rotation of -90.00", "")
    info = media._parse_probe(anamorphic)[0]
    assert (info.display_width, info.display_height, info.rotation) == (768, 576, 0)


def test_forged_metadata_in_a_real_file_changes_nothing(clips, tmp_path):
    forged = tmp_path / "forged.mkv"
    fake = "x\n  Duration: 08:00:00.00, start: 0\n  Stream #0:7: Video: h264, yuv420p, 4000x4000, 1 fps"
    run_ffmpeg("-i", str(clips["plain"]), "-c", "copy", "-metadata", f"title={fake}", str(forged))
    info = probe(forged)
    assert info.duration == pytest.approx(2, abs=0.1) and (info.width, info.height) == (640, 360)


def test_media_error_survives_pickling():
    err = pickle.loads(pickle.dumps(MediaError("truncated", detail="moov atom not found")))
    assert (err.code, err.message, err.detail) == (
        "truncated",
        "The file is truncated or damaged.",
        "moov atom not found",
    )


def test_probe_timeout(clips):
    with pytest.raises(MediaError) as err:
        probe(clips["hd"], timeout=0.001)
    assert err.value.code == "timeout"


# ------------------------------------------------------------------------------------------------ transcode


def check_rendition(r: media.Rendition, size: tuple[int, int], audio: bool = True) -> None:
    assert r.path.is_file() and r.size == r.path.stat().st_size > 0
    assert (r.width, r.height) == size and r.width % 2 == 0 and r.height % 2 == 0
    assert r.bitrate_kbps and r.bitrate_kbps > 0
    boxes = top_level_boxes(r.path)
    assert boxes.index("moov") < boxes.index("mdat"), boxes  # faststart
    info = probe(r.path)
    assert info.video_codec == "h264" and info.rotation == 0
    assert (info.display_width, info.display_height) == size
    assert info.has_audio is audio and info.audio_codec == ("aac" if audio else None)


def test_transcode_never_upscales_640x480(clips, tmp_path):
    out = tmp_path / "out"
    result = transcode(clips["sd"], out)
    assert [r.path.name for r in result.renditions] == ["360p.mp4"]
    check_rendition(result.renditions[0], (480, 360))
    assert result.duration == pytest.approx(2, abs=0.1)
    assert result.poster == out / "poster.jpg" and result.poster_size == result.poster.stat().st_size
    assert jpeg_size(result.poster) == (640, 480)
    assert sorted(p.name for p in out.iterdir()) == ["360p.mp4", "poster.jpg"]


def test_transcode_720p_source_gives_two_renditions_and_progress(clips, tmp_path, monkeypatch):
    monkeypatch.setattr(media, "PROGRESS_PERIOD", 0.1)
    seen: list[float] = []
    result = transcode(clips["hd"], tmp_path / "out", on_progress=seen.append)
    assert [r.path.name for r in result.renditions] == ["720p.mp4", "360p.mp4"]
    check_rendition(result.renditions[0], (1280, 720))
    check_rendition(result.renditions[1], (640, 360))
    assert result.renditions[0].size > result.renditions[1].size
    assert jpeg_size(result.poster) == (1280, 720)
    assert len(seen) >= 2 and seen[-1] == 100
    assert all(a < b for a, b in zip(seen, seen[1:], strict=False)), seen
    assert all(0 <= p <= 100 for p in seen)
    assert_no_partial_files(tmp_path / "out")


def test_transcode_rotated_phone_video_comes_out_portrait(clips, tmp_path):
    result = transcode(clips["rotated"], tmp_path / "out")
    (r,) = result.renditions
    assert r.path.name == "360p.mp4"
    check_rendition(r, (360, 640))
    width, height = jpeg_size(result.poster)
    assert width < height


def test_transcode_small_silent_source(tmp_path):
    src = make_video(tmp_path / "tiny.mp4", seconds=1, size="320x180", audio=False)
    result = transcode(src, tmp_path / "out")
    (r,) = result.renditions
    assert r.path.name == "180p.mp4"
    check_rendition(r, (320, 180), audio=False)
    assert result.poster.is_file()


def test_transcode_timeout_kills_and_cleans_up(clips, tmp_path, monkeypatch):
    info = probe(clips["hd"])
    monkeypatch.setattr(media, "probe", lambda *a, **k: info)  # spend the whole budget in the transcode
    out = tmp_path / "out"
    with pytest.raises(MediaError) as err:
        transcode(clips["hd"], out, timeout=0.3)
    assert err.value.code == "timeout"
    assert list(out.iterdir()) == []


def test_transcode_tiny_overall_timeout(clips, tmp_path):
    with pytest.raises(MediaError) as err:
        transcode(clips["plain"], tmp_path / "out", timeout=0.001)
    assert err.value.code == "timeout"


def test_transcode_failure_is_ffmpeg_failed_with_detail(clips, tmp_path, monkeypatch):
    monkeypatch.setattr(media, "VIDEO_CODEC", "no_such_encoder")
    out = tmp_path / "out"
    with pytest.raises(MediaError) as err:
        transcode(clips["plain"], out)
    assert err.value.code == "ffmpeg_failed"
    assert "no_such_encoder" in err.value.detail
    assert list(out.iterdir()) == []


def test_transcode_cancelled_from_progress_callback(clips, tmp_path, monkeypatch):
    monkeypatch.setattr(media, "PROGRESS_PERIOD", 0.1)

    class Cancelled(Exception):
        pass

    def cancel(pct: float) -> None:
        raise Cancelled("job cancelled")

    out = tmp_path / "out"
    with pytest.raises(Cancelled):
        transcode(clips["hd"], out, on_progress=cancel)
    assert list(out.iterdir()) == []


def test_transcode_odd_names(clips, tmp_path, monkeypatch):
    src = tmp_path / "-i"
    src.write_bytes(clips["plain"].read_bytes())
    monkeypatch.chdir(tmp_path)
    result = transcode("-i", "http:out", heights=(360,), threads=1)
    assert result.renditions[0].path == tmp_path / "http:out" / "360p.mp4"
    assert os.path.getsize(result.renditions[0].path) > 0


def test_transcode_refuses_playlist_before_running_ffmpeg(tmp_path):
    (tmp_path / "index.m3u8").write_text("#EXTM3U\n")
    with pytest.raises(MediaError) as err:
        transcode(tmp_path / "index.m3u8", tmp_path / "out")
    assert err.value.code == "unsupported_input"
    assert not (tmp_path / "out").exists()
