"""A staged import that is refused as a whole leaves nothing on disk (issue 16, "uploads leave nothing behind").

Seen on the landed main: refused uploads stayed on disk (29 files, 55.8 MB). A roster or question bank is kept
between its upload and the preview (the preview reads it, the commit reads it again); when the preview finds the
file cannot be read at all (a zip bomb, HTML renamed .xlsx), nothing can ever be imported from it, so its row
and its file go at once, not a day later with the nightly sweep.
"""

from __future__ import annotations

import io

from sqlalchemy import select

from lms.core.db import db
from lms.core.storage import StoredFile, media_root, path_of
from lms.org.models import Person
from quizzes.models import Question
from tests.conftest import login

from .test_hostile_uploads import HTML, _xlsx, billion_laughs, zip_bomb


def _upload(client, url: str, body: bytes, name: str) -> tuple[StoredFile, str]:
    r = client.post(url, data={"file": (io.BytesIO(body), name)}, content_type="multipart/form-data")
    assert r.status_code == 302, (name, r.status_code)
    preview = r.headers["Location"]
    stored = db.session.get(StoredFile, int(preview.rstrip("/").split("/")[-1]))
    assert stored is not None and path_of(stored.key).exists()  # staged for the preview
    return stored, preview


def _no_server_path(page, key: str) -> bool:
    """The page names the upload as its sender called it: neither the storage folder nor the stored key."""
    text = page.get_data(as_text=True)
    return str(media_root().resolve()) not in text and key not in text and key.rsplit("/", 1)[-1] not in text


def _gone(stored_id: int, key: str) -> bool:
    db.session.expire_all()
    return db.session.get(StoredFile, stored_id) is None and not path_of(key).exists()


def test_refused_roster_files_are_deleted_when_the_preview_refuses_them(client, enterprise, make_person):
    login(client, make_person(enterprise, app_role="manager").user)
    db.session.commit()
    good = _xlsx([["工号", "姓名", "部门", "岗位"], ["Z9001", "新员工", "一车间", "操作工"]])
    for body, name in [
        (zip_bomb(good), "bomb.xlsx"),
        (billion_laughs(good), "lol.xlsx"),
        (HTML, "page.xlsx"),
    ]:
        stored, preview = _upload(client, "/org/roster", body, name)
        stored_id, key = stored.id, stored.key
        page = client.get(preview)
        assert page.status_code == 200, name
        assert name in page.get_data(as_text=True)  # the refusal is shown, naming the file
        assert _no_server_path(page, key)
        assert _gone(stored_id, key), name
        assert client.post(preview + "/commit").status_code == 404  # nothing left to import
    assert db.session.scalar(select(Person).where(Person.employee_no == "Z9001")) is None
    # A readable roster stays staged until it is imported.
    stored, preview = _upload(client, "/org/roster", good, "花名册.xlsx")
    assert client.get(preview).status_code == 200 and client.get(preview).status_code == 200
    assert path_of(stored.key).exists()
    assert client.post(preview + "/commit").status_code == 302
    assert db.session.scalar(select(Person).where(Person.employee_no == "Z9001")) is not None


def test_refused_question_files_are_deleted_when_the_preview_refuses_them(client, enterprise, make_person):
    from quizzes import banks

    bank = banks.create_bank(enterprise.id, "导入题库")
    login(client, make_person(enterprise, app_role="trainer").user)
    db.session.commit()
    url = f"/quizzes/banks/{bank.id}/import"
    good = _xlsx([["题型", "题干", "选项A", "选项B", "答案"], ["单选题", "新题", "甲", "乙", "A"]])
    for body, name in [(zip_bomb(good), "bomb.xlsx"), (HTML, "page.xlsx"), (b"\x00\x01garbage", "x.csv")]:
        stored, preview = _upload(client, url, body, name)
        stored_id, key = stored.id, stored.key
        page = client.get(preview)
        assert page.status_code == 200, name
        assert "无法读取该文件" in page.get_data(as_text=True), name  # shown in the preview, translated
        assert _no_server_path(page, key)
        assert _gone(stored_id, key), name
        assert client.post(preview + "/commit").status_code == 404
    stored, preview = _upload(client, url, good, "题库.xlsx")
    assert client.get(preview).status_code == 200 and path_of(stored.key).exists()
    assert client.post(preview + "/commit").status_code == 302
    db.session.expire_all()
    assert [q.stem for q in db.session.scalars(select(Question).where(Question.bank_id == bank.id))] == [
        "新题"
    ]
