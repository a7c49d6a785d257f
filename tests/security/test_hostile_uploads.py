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
    from quizzes import services as quizzes

    bank = quizzes.create_bank(enterprise.id, "导入题库")
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
