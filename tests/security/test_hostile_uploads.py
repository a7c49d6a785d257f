"""Hostile files through the real upload routes: zip bomb, billion laughs, HTML renamed .xlsx/.mp4, path
traversal in the file name, ffmpeg inputs that reference other files. Each is refused (nothing imported, the
stored copy — where a route keeps the upload before reading it — under a generated name inside MEDIA_DIR), and
a video that is really a playlist or a concat list ends failed with a clear message.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from courses import services as courses
from courses.models import FAILED, VideoAsset
from lms.core.db import db
from lms.core.errors import DomainError
from lms.core.storage import StoredFile, media_root, path_of
from lms.ledger.models import TrainingRecord
from lms.offline.models import AttendanceUpload
from lms.org.models import Person
from quizzes.models import Question
from tests.conftest import login

HTML = b"<!doctype html><html><body><script>alert(1)</script><img src=x onerror=alert(1)></body></html>"


def _xlsx(rows: list[list[str]]) -> bytes:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _rewrite(good: bytes, change) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(good))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info.filename, change(info.filename, src.read(info)))
        if change("padding", None) is not None:
            z.writestr("xl/media/padding.xml", change("padding", None))
    return out.getvalue()


def zip_bomb(good: bytes) -> bytes:
    return _rewrite(
        good, lambda name, data: (b"<a>" + b"0" * (64 * 2**20) + b"</a>") if name == "padding" else data
    )


def billion_laughs(good: bytes) -> bytes:
    lol = (
        b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
            for i in range(1, 10)
        )
        + b"]>"
    )

    def change(name, data):
        if name == "padding":
            return None
        if name.startswith("xl/worksheets/") or name == "xl/sharedStrings.xml":
            head, sep, rest = data.partition(b"?>")
            return head + sep + lol + rest.replace(b"<v>", b"<v>&lol9;", 1)
        return data

    return _rewrite(good, change)


def _hostile_sheets(good: bytes) -> list[tuple[bytes, str]]:
    return [
        (zip_bomb(good), "bomb.xlsx"),
        (billion_laughs(good), "lol.xlsx"),
        (HTML, "page.xlsx"),
        (billion_laughs(good), "../../etc/passwd.xlsx"),
        (HTML, "..\\..\\x.xlsx"),
    ]


def _files_outside_media(before: set[str]) -> list[str]:
    """Files created since ``before`` next to or above MEDIA_DIR (where a traversal would land)."""
    root = media_root().resolve()
    found = []
    for base in {root.parent, root.parent.parent}:
        for p in base.glob("*"):
            if p.is_file() and str(p) not in before and p.suffix in (".xlsx", ".mp4"):
                found.append(str(p))
    return found


def _snapshot() -> set[str]:
    root = media_root().resolve()
    return {str(p) for base in (root.parent, root.parent.parent) for p in base.glob("*") if p.is_file()}


def _check_stored_names(ids_before: int) -> None:
    """Every file kept since ``ids_before`` has a generated key inside MEDIA_DIR: no part of the client's name."""
    root = media_root().resolve()
    for stored in db.session.scalars(select(StoredFile).where(StoredFile.id > ids_before)):
        assert ".." not in stored.key and "\\" not in stored.key and "passwd" not in stored.key, stored.key
        assert root in path_of(stored.key).parents


def _max_file_id() -> int:
    return db.session.scalar(select(func.max(StoredFile.id))) or 0


def test_attendance_upload_refuses_hostile_sheets(client, enterprise, make_person):
    import datetime as dt

    from lms.offline import services as offline

    s = offline.create_session(
        enterprise.id, topic="培训", starts_at=dt.datetime(2026, 5, 1, 9), hours="2", category="有限空间"
    )
    person = make_person(enterprise, employee_no="GA1001", name="张三")
    login(client, make_person(enterprise, app_role="trainer").user)
    db.session.commit()
    good = _xlsx([["工号", "姓名", "签到时间"], [person.employee_no, person.name, "2026-05-01 09:00"]])
    before, files = _snapshot(), db.session.scalar(select(func.count()).select_from(StoredFile))
    for body, name in _hostile_sheets(good):
        r = client.post(
            f"/offline/{s.id}/upload",
            data={"file": (io.BytesIO(body), name)},
            content_type="multipart/form-data",
        )
        assert r.status_code == 302, (name, r.status_code)
        page = client.get(f"/offline/{s.id}").get_data(as_text=True)
        assert "nothing was saved" in page or "没有保存" in page, name
    assert db.session.scalar(select(func.count()).select_from(StoredFile)) == files
    assert not db.session.scalar(select(func.count()).select_from(AttendanceUpload))
    assert not db.session.scalar(
        select(func.count()).select_from(TrainingRecord).where(TrainingRecord.source == s.source)
    )
    assert _files_outside_media(before) == []


def test_roster_upload_refuses_hostile_sheets(client, enterprise, make_person):
    login(client, make_person(enterprise, app_role="manager").user)
    db.session.commit()
    good = _xlsx([["工号", "姓名", "部门", "岗位"], ["Z9001", "黑客", "一车间", "操作工"]])
    before, first_id = _snapshot(), _max_file_id()
    people = db.session.scalar(select(func.count()).select_from(Person))
    for body, name in _hostile_sheets(good):
        r = client.post(
            "/org/roster", data={"file": (io.BytesIO(body), name)}, content_type="multipart/form-data"
        )
        assert r.status_code in (200, 302), (name, r.status_code)
        if r.status_code == 302:
            preview = client.get(r.headers["Location"])
            assert preview.status_code in (200, 302, 400, 422), (name, preview.status_code)
            commit = client.post(r.headers["Location"].split("?")[0] + "/commit")
            assert commit.status_code < 500, name
    assert db.session.scalar(select(func.count()).select_from(Person)) == people
    assert db.session.scalar(select(Person).where(Person.employee_no == "Z9001")) is None
    _check_stored_names(first_id)
    assert _files_outside_media(before) == []


def test_question_import_refuses_hostile_sheets(client, enterprise, make_person):
    from quizzes import banks

    bank = banks.create_bank(enterprise.id, "导入题库")
    login(client, make_person(enterprise, app_role="trainer").user)
    db.session.commit()
    good = _xlsx([["题型", "题干", "选项A", "选项B", "答案"], ["单选题", "黑客题", "甲", "乙", "A"]])
    before, first_id = _snapshot(), _max_file_id()
    for body, name in _hostile_sheets(good):
        r = client.post(
            f"/quizzes/banks/{bank.id}/import",
            data={"file": (io.BytesIO(body), name)},
            content_type="multipart/form-data",
        )
        assert r.status_code in (200, 302), (name, r.status_code)
        if r.status_code == 302:
            assert client.get(r.headers["Location"]).status_code < 500, name
            assert client.post(r.headers["Location"] + "/commit").status_code < 500, name
    assert not db.session.scalar(
        select(func.count()).select_from(Question).where(Question.bank_id == bank.id)
    )
    _check_stored_names(first_id)
    assert _files_outside_media(before) == []


HLS = b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n"
CONCAT = b"ffconcat version 1.0\nfile '/etc/passwd'\nfile '../../../../etc/hostname'\n"


@pytest.mark.parametrize(
    "body,name",
    [
        (HLS, "lesson.mp4"),
        (CONCAT, "lesson.mp4"),
        (HTML, "page.mp4"),
        (HLS, "../../etc/passwd.mp4"),
        (CONCAT, "..\\x.mp4"),
    ],
    ids=["hls-playlist", "concat-list", "html", "traversal-hls", "traversal-backslash-concat"],
)
def test_video_upload_of_non_video_ends_failed_clearly(client, enterprise, make_person, body, name):
    crs = courses.create_course(enterprise.id, title="视频课", category="有限空间", hours=1)
    lesson = courses.add_lesson(courses.add_section(crs, "一"), "video", "视频")
    login(client, make_person(enterprise, app_role="trainer").user)
    db.session.commit()
    before, first_id = _snapshot(), _max_file_id()
    r = client.post(
        f"/courses/lessons/{lesson.id}/video",
        data={"file": (io.BytesIO(body), name)},
        content_type="multipart/form-data",
    )
    assert r.status_code in (302, 400), r.status_code
    asset = db.session.scalar(select(VideoAsset).where(VideoAsset.lesson_id == lesson.id))
    if asset is not None:  # kept, then refused by the pipeline (jobs run eagerly in tests)
        db.session.refresh(asset)
        assert asset.status == FAILED, asset.status
        assert asset.error and len(asset.error) > 10
        assert not asset.renditions and asset.poster_key is None
        assert "Traceback" not in asset.error
    _check_stored_names(first_id)
    assert _files_outside_media(before) == []
    work = media_root() / "tmp"
    assert not work.exists() or not any(
        p.name.startswith(f"transcode-{asset.id if asset else 0}-") for p in work.iterdir()
    )
    assert os.path.exists("/etc/passwd")  # nothing was done to the referenced file, of course
    assert not list(Path(media_root()).rglob("*passwd*"))


# ------------------------------------------------------------------------------------------------ nothing left


def _disk() -> set[str]:
    root = media_root()
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def _left_behind(before: set[str]) -> list[str]:
    """Files written since ``before`` that no row refers to (what a refused upload must not leave)."""
    known = set(db.session.scalars(select(StoredFile.key)))
    for renditions, poster in db.session.execute(select(VideoAsset.renditions, VideoAsset.poster_key)):
        known.update(r["key"] for r in renditions or [])
        known.add(poster)
    return sorted(k for k in _disk() - before if k not in known)


def _document_lesson(enterprise):
    crs = courses.create_course(enterprise.id, title="文档课", category="有限空间", hours=1)
    return courses.add_lesson(courses.add_section(crs, "一"), "document", "操作规程")


PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def test_a_refused_upload_is_deleted_from_disk(enterprise):
    """Stored, then refused by the check after it (the document is not a PDF): the rollback takes the file too."""
    lesson = _document_lesson(enterprise)
    db.session.commit()
    before = _disk()
    savepoint = db.session.begin_nested()
    with pytest.raises(DomainError):
        courses.set_document(lesson, io.BytesIO(HTML * 1000), "规程.pdf")
    savepoint.rollback()
    assert _left_behind(before) == []
    # what is committed stays
    stored = courses.set_document(lesson, io.BytesIO(PDF), "规程.pdf")
    db.session.commit()
    assert path_of(stored.key).exists()


def test_refused_uploads_through_the_routes_leave_nothing(client, enterprise, make_person):
    import datetime as dt

    from lms.offline import services as offline

    lesson = _document_lesson(enterprise)
    s = offline.create_session(
        enterprise.id, topic="培训", starts_at=dt.datetime(2026, 5, 1, 9), hours="2", category="有限空间"
    )
    login(client, make_person(enterprise, app_role="manager").user)
    db.session.commit()
    before = _disk()
    r = client.post(
        f"/courses/lessons/{lesson.id}/edit",
        data={"title": "操作规程", "kind": "document", "document": (io.BytesIO(HTML * 2000), "规程.pdf")},
        content_type="multipart/form-data",
    )
    assert r.status_code in (200, 302, 400)
    r = client.post(  # a program renamed .jpg as evidence of a classroom session
        f"/offline/{s.id}/evidence",
        data={"file": (io.BytesIO(b"MZ\x90\x00" + b"\0" * 200_000), "photo.jpg")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert lesson.document is None
    assert _left_behind(before) == []


class _Counting(io.BytesIO):
    """A request body that counts what the server read of it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.taken = 0

    def read(self, n: int = -1) -> bytes:
        chunk = super().read(n)
        self.taken += len(chunk)
        return chunk

    def readline(self, n: int = -1) -> bytes:
        chunk = super().readline(n)
        self.taken += len(chunk)
        return chunk


def _multipart(fields: dict[str, str], name: str, body: bytes) -> tuple[bytes, str]:
    boundary = "----lmsboundary7MA4YWxkTrZu0gW"
    out = io.BytesIO()
    for k, v in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    out.write(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: video/mp4\r\n\r\n".encode()
    )
    out.write(body)
    out.write(f"\r\n--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("csrf", [False, True], ids=["plain", "with-csrf"])
def test_the_video_form_checks_the_first_bytes_before_taking_the_rest(
    app, client, enterprise, make_person, monkeypatch, csrf
):
    import re

    crs = courses.create_course(enterprise.id, title="视频课", category="有限空间", hours=1)
    lesson = courses.add_lesson(courses.add_section(crs, "一"), "video", "视频")
    login(client, make_person(enterprise, app_role="trainer").user)
    db.session.commit()
    fields = {}
    if csrf:  # the CSRF check reads the form first: the head is checked there already
        monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
        from flask import g

        g.pop("csrf_token", None)
        page = client.get(f"/courses/lessons/{lesson.id}/edit")
        fields["csrf_token"] = re.search(rb'name="csrf-token" content="([^"]+)"', page.data).group(1).decode()
    before = _disk()
    data, ctype = _multipart(fields, "lesson.mp4", HTML + b"x" * (16 * 1024 * 1024))
    body = _Counting(data)
    r = client.post(
        f"/courses/lessons/{lesson.id}/video",
        input_stream=body,
        content_type=ctype,
        content_length=len(data),
        headers={"Referer": f"/courses/lessons/{lesson.id}/edit"},
    )
    assert r.status_code == 302, r.status_code
    assert body.taken < 1024 * 1024, f"read {body.taken} of {len(data)} bytes before refusing"
    assert db.session.scalar(select(VideoAsset).where(VideoAsset.lesson_id == lesson.id)) is None
    assert _left_behind(before) == []
    page = client.get(f"/courses/lessons/{lesson.id}/edit").get_data(as_text=True)
    assert "lesson.mp4" in page and ("not a video" in page or "不是视频" in page)


def test_the_video_form_takes_a_real_video(client, enterprise, make_person, tmp_path):
    from tests.fixtures.videos import make_video

    crs = courses.create_course(enterprise.id, title="视频课", category="有限空间", hours=1)
    lesson = courses.add_lesson(courses.add_section(crs, "一"), "video", "视频")
    login(client, make_person(enterprise, app_role="trainer").user)
    db.session.commit()
    clip = make_video(tmp_path / "ok.mp4", seconds=1, size="320x180").read_bytes()
    r = client.post(
        f"/courses/lessons/{lesson.id}/video",
        data={"file": (io.BytesIO(clip), "../../班组/现场.mp4")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    asset = db.session.scalar(select(VideoAsset).where(VideoAsset.lesson_id == lesson.id))
    assert asset is not None and asset.original.original_name == "现场.mp4"


@pytest.mark.parametrize("name", ["../../etc/passwd.pdf", "..\\..\\boot.ini.pdf", "/abs/path/规程.pdf"])
def test_stored_and_offered_names_are_sanitised(client, enterprise, make_person, name):
    lesson = _document_lesson(enterprise)
    login(client, make_person(enterprise, app_role="trainer").user)
    db.session.commit()
    r = client.post(
        f"/courses/lessons/{lesson.id}/edit",
        data={"title": "操作规程", "kind": "document", "document": (io.BytesIO(PDF), name)},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    db.session.expire_all()
    stored = lesson.document
    assert stored is not None
    assert (
        "/" not in stored.original_name
        and "\\" not in stored.original_name
        and ".." not in stored.original_name
    )
    assert stored.original_name.endswith(".pdf")
    r = client.get(f"/courses/lessons/{lesson.id}/document/{lesson.document_token}")
    assert r.status_code == 200
    header = r.headers["Content-Disposition"]
    assert ".." not in header and "%2F" not in header.upper() and "/" not in header and "\\" not in header, (
        header
    )


def test_names_already_stored_are_offered_sanitised(client, enterprise, make_person):
    """Rows kept before names were cleaned still go out with a clean name (Content-Disposition)."""
    lesson = _document_lesson(enterprise)
    stored = courses.set_document(lesson, io.BytesIO(PDF), "x.pdf")
    stored.original_name = "../../../etc/cron.d/evil.pdf"
    login(client, make_person(enterprise, app_role="trainer").user)
    db.session.commit()
    r = client.get(f"/courses/lessons/{lesson.id}/document/{lesson.document_token}")
    header = r.headers["Content-Disposition"]
    assert "evil.pdf" in header and ".." not in header and "cron.d%2F" not in header and "/" not in header


def test_evidence_and_sign_in_sheet_names_are_sanitised(client, enterprise, make_person):
    import datetime as dt

    from PIL import Image

    from lms.offline import services as offline
    from lms.offline.models import OfflineEvidence

    s = offline.create_session(
        enterprise.id, topic="培训", starts_at=dt.datetime(2026, 5, 1, 9), hours="2", category="有限空间"
    )
    person = make_person(enterprise, employee_no="GA1001", name="张三")
    login(client, make_person(enterprise, app_role="trainer").user)
    db.session.commit()
    buf = io.BytesIO()
    Image.new("RGB", (20, 20), "white").save(buf, "PNG")
    r = client.post(
        f"/offline/{s.id}/evidence",
        data={"file": (io.BytesIO(buf.getvalue()), "..\\..\\现场/../照片.png")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    ev = db.session.scalar(select(OfflineEvidence).where(OfflineEvidence.session_id == s.id))
    assert db.session.get(StoredFile, ev.stored_file_id).original_name == "照片.png"
    sheet = _xlsx([["工号", "姓名", "签到时间"], [person.employee_no, person.name, "2026-05-01 09:00"]])
    r = client.post(
        f"/offline/{s.id}/upload",
        data={"file": (io.BytesIO(sheet), "../../签到表.xlsx")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    up = db.session.scalar(select(AttendanceUpload).where(AttendanceUpload.session_id == s.id))
    assert up is not None and db.session.get(StoredFile, up.stored_file_id).original_name == "签到表.xlsx"
    r = client.get(f"/offline/{s.id}/uploads/{up.id}/file")
    if r.status_code == 200:
        assert ".." not in r.headers["Content-Disposition"] and "/" not in r.headers["Content-Disposition"]


def test_ffmpeg_details_show_no_server_path(client, enterprise, make_person, tmp_path):
    from tests.fixtures.videos import make_truncated

    crs = courses.create_course(enterprise.id, title="视频课", category="有限空间", hours=1)
    lesson = courses.add_lesson(courses.add_section(crs, "一"), "video", "视频")
    login(client, make_person(enterprise, app_role="trainer").user)
    db.session.commit()
    cut = make_truncated(tmp_path / "cut.mp4", seconds=2, faststart=False).read_bytes()
    r = client.post(
        f"/courses/lessons/{lesson.id}/video",
        data={"file": (io.BytesIO(cut), "cut.mp4")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    asset = db.session.scalar(select(VideoAsset).where(VideoAsset.lesson_id == lesson.id))
    db.session.refresh(asset)
    assert asset.status == FAILED
    root = str(media_root().resolve())
    assert root not in (asset.error_detail or "") and "/tmp" not in (asset.error_detail or "")
    # a row kept before details were cleaned: the page strips the paths too
    asset.error_detail = (
        f"Input #0, from 'file:{root}/video-original/ab/abcdef.mp4':\n{root}/tmp/x: moov atom not found"
    )
    db.session.commit()
    page = client.get(f"/courses/lessons/{lesson.id}/edit").get_data(as_text=True)
    assert "abcdef.mp4" in page and "moov atom not found" in page
    assert root not in page and "/video-original/" not in page


# ------------------------------------------------------------------------------------------------ the sweep


def test_sweep_removes_what_a_crash_left_and_keeps_what_rows_use(app, enterprise, tmp_path, monkeypatch):
    import time as _time

    from lms.core import storage

    monkeypatch.setitem(app.config, "MEDIA_DIR", str(tmp_path / "media"))
    crs = courses.create_course(enterprise.id, title="视频课", category="有限空间", hours=1)
    lesson = courses.add_lesson(courses.add_section(crs, "一"), "video", "视频")
    kept = storage.save_bytes(b"kept", "kept.pdf", purpose="course-document")
    staged = storage.save_bytes(b"abandoned roster", "花名册.xlsx", purpose="roster-upload")
    rendition = storage.new_key("video", ".mp4")
    db.session.add(
        VideoAsset(
            lesson_id=lesson.id,
            token="sweep-tok",
            status="ready",
            renditions=[{"label": "360p", "key": rendition}],
        )
    )
    db.session.flush()
    db.session.commit()
    root = media_root()
    for key, data in [
        (rendition, b"rendition"),
        ("video-original/aa/crashed.mp4.part", b"half an upload"),
        ("course-document/bb/orphan.pdf", b"no row"),
        ("tmp/transcode-9-abc/360p.mp4", b"working copy"),
        ("course-document/cc/recent.pdf", b"young orphan"),
    ]:
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(data)
    day_ago = _time.time() - 30 * 3600
    for p in root.rglob("*"):
        if "recent" not in p.name:
            os.utime(p, (day_ago, day_ago))
    staged.created_at = staged.created_at - __import__("datetime").timedelta(hours=30)
    db.session.commit()

    dry = storage.sweep(24, dry_run=True)
    assert (root / "course-document/bb/orphan.pdf").exists() and dry["removed"]
    report = storage.sweep(24)
    db.session.commit()
    removed = set(report["removed"])
    assert {"video-original/aa/crashed.mp4.part", "course-document/bb/orphan.pdf", staged.key} <= removed
    assert "tmp/transcode-9-abc/" in removed and not (root / "tmp/transcode-9-abc").exists()
    assert not (root / "course-document/bb/orphan.pdf").exists() and not path_of(staged.key).exists()
    assert db.session.get(StoredFile, staged.id) is None
    assert path_of(kept.key).exists() and (root / rendition).exists()
    assert (root / "course-document/cc/recent.pdf").exists()  # younger than the age given: maybe in flight


def test_sweep_command(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_DIR", str(tmp_path / "media"))
    orphan = tmp_path / "media" / "roster-upload" / "ab" / "gone.xlsx"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"x")
    os.utime(orphan, (1, 1))
    runner = app.test_cli_runner()
    out = runner.invoke(args=["storage", "sweep", "--hours", "1", "--dry-run"])
    assert out.exit_code == 0, out.output
    assert "roster-upload/ab/gone.xlsx" in out.output and orphan.exists()
    out = runner.invoke(args=["storage", "sweep", "--hours", "1", "--json"])
    assert out.exit_code == 0, out.output
    assert not orphan.exists()


def _job_that_fails(ctx) -> None:
    raise FileNotFoundError(
        2, "No such file or directory", str(media_root().resolve() / "video" / "ab" / "gone.mp4")
    )


def test_a_failed_job_shows_no_server_path(app):
    from lms.core.jobs import enqueue

    job = enqueue(_job_that_fails, kind="test")
    assert job.status == "failed"
    assert (
        "gone.mp4" in job.error
        and str(media_root().resolve()) not in job.error
        and "/video/" not in job.error
    )


def test_an_abandoned_video_upload_leaves_nothing(client, enterprise, make_person, tmp_path):
    """The browser goes away halfway through a video: no row, no file, no part file."""
    from tests.fixtures.videos import make_video

    crs = courses.create_course(enterprise.id, title="视频课", category="有限空间", hours=1)
    lesson = courses.add_lesson(courses.add_section(crs, "一"), "video", "视频")
    login(client, make_person(enterprise, app_role="trainer").user)
    db.session.commit()
    before = _disk()
    clip = make_video(tmp_path / "ok.mp4", seconds=1, size="320x180").read_bytes()
    data, ctype = _multipart({}, "现场.mp4", clip + b"\0" * (2 * 1024 * 1024))
    cut = data[: len(data) // 2]
    r = client.post(
        f"/courses/lessons/{lesson.id}/video",
        input_stream=io.BytesIO(cut),
        content_type=ctype,
        content_length=len(data),  # announced in full, half sent
    )
    assert r.status_code in (302, 400), r.status_code
    assert db.session.scalar(select(VideoAsset).where(VideoAsset.lesson_id == lesson.id)) is None
    assert sorted(_disk() - before) == []


def test_sweep_removes_refused_video_originals_that_can_no_longer_be_retried(
    app, enterprise, tmp_path, monkeypatch
):
    import datetime as dt

    from lms.core import storage

    monkeypatch.setitem(app.config, "MEDIA_DIR", str(tmp_path / "media"))
    crs = courses.create_course(enterprise.id, title="视频课", category="有限空间", hours=1)
    lesson = courses.add_lesson(courses.add_section(crs, "一"), "video", "视频")
    superseded = storage.save_bytes(b"broken video", "坏视频.mp4", purpose="video-original")
    latest = storage.save_bytes(b"also broken", "又坏了.mp4", purpose="video-original")
    for n, original in enumerate((superseded, latest)):
        original.created_at -= dt.timedelta(hours=30)
        db.session.add(
            VideoAsset(lesson_id=lesson.id, original_id=original.id, token=f"sw-{n}", status=FAILED)
        )
    db.session.commit()
    report = storage.sweep(24)
    db.session.commit()
    assert superseded.key in report["removed"] and not path_of(superseded.key).exists()
    assert path_of(latest.key).exists()  # the lesson's latest upload keeps its Retry
    db.session.expire_all()
    first = db.session.scalar(select(VideoAsset).where(VideoAsset.token == "sw-0"))
    assert first.original_id is None and db.session.get(StoredFile, latest.id) is not None
