"""Row problems of an import: English in JSON and on the command line, the reader's language on the page."""

from __future__ import annotations

import io
import json

import openpyxl

from lms.core.i18n import Message, msg
from lms.org.roster import import_roster

HEADER = ["工号", "姓名", "部门", "岗位", "安全责任角色", "入职日期", "手机号"]


def _roster() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(["1001", "张三", "一车间/甲班", "操作工", "", "2024-01-02", "13800000001"])
    ws.append(["1002", "李四", "一车间/甲班", "操作工", "", "2024-01-02", "abc"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_message_is_the_english_text():
    m = msg("not a phone number: %(value)s", value=repr("abc"))
    assert isinstance(m, Message) and isinstance(m, str)
    assert m == "not a phone number: 'abc'" and json.dumps(m) == "\"not a phone number: 'abc'\""
    assert m.template == "not a phone number: %(value)s" and m.params == {"value": "'abc'"}
    assert msg("name is empty") == "name is empty"


def test_roster_preview_shows_chinese_while_json_stays_english(client, login_as, enterprise):
    result = import_roster(enterprise, io.BytesIO(_roster()), "roster.xlsx", dry_run=True)
    english = "not a phone number: 'abc'"
    assert {"row": 3, "field": "phone", "message": english} in result.as_json()["errors"]
    assert english in json.dumps(result.as_json(), ensure_ascii=False)

    login_as("manager")
    resp = client.post(
        "/org/roster",
        data={"file": (io.BytesIO(_roster()), "roster.xlsx")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "不是有效的电话号码：&#39;abc&#39;" in page
    assert "not a phone number" not in page


def test_refusal_message_stays_english_text(enterprise):
    result = import_roster(enterprise, io.BytesIO(b""), "roster.xlsx", dry_run=True)
    message = result.as_json()["errors"][0]["message"]
    assert message == "roster.xlsx is empty" and isinstance(message, str)


def test_every_problem_message_has_a_chinese_translation():
    """Services raise problems one way, ``msg("template", **params)``: every literal template has a msgstr."""
    import ast
    from pathlib import Path

    from babel.messages.pofile import read_po

    from lms.core.i18n import ROOT, TRANSLATION_DIRS

    translated = set()
    for po in (p for d in TRANSLATION_DIRS for p in d.glob("zh_CN/LC_MESSAGES/messages.po")):
        with open(po, "rb") as fh:
            translated |= {m.id for m in read_po(fh) if m.id and m.string}
    untranslated = []
    for package in ("lms", "courses", "quizzes", "certificates"):
        for path in Path(ROOT, package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and getattr(node.func, "id", None) == "msg"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and node.args[0].value not in translated
                ):
                    untranslated.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.args[0].value!r}")
    assert untranslated == []
