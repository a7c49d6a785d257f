"""Both languages whole: every page of every demo role, rendered in Chinese and in English, speaks one language
(and lights one menu entry at most).

The world is the real demo. For each demo account the test follows the links of the menu and of every page it
reaches (same rules as the phone crawl: GET pages only, bounded per route, no downloads) and reads each page's
visible text (and its placeholders, titles and button values):

* in English, a run of Han characters that is not user data fails the page;
* in Chinese, an English word that is not user data nor a name of a format fails the page;
* in either language, a text that is exactly a stored code (``offline``, ``planned``, ``in_grace`` …) fails.

User data is told from interface text by the database itself: every text value stored in the demo database
(names, titles, question texts, department paths …) is data; anything else on the page is interface text and
must come from a catalogue.
"""

from __future__ import annotations

import importlib
import re
import warnings
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from sqlalchemy import JSON, String, Text, select

from lms.core.db import Base, db
from tests.conftest import login

ROLES = ["admin", "manager", "trainer", "learner", "evaluator", "regulator"]
MAX_PAGES = 90
SKIP = re.compile(
    r"(/logout|/language/|/download|/export|/files?/|/media/|/static/|/healthz|/api/|/pdf$|\.(pdf|xlsx|xls|csv|zip|png|"
    r"jpe?g|mp4|m3u8|txt|json)$|[?&](format|download|export)=)",
    re.I,
)
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")
# Words that are the same in both languages: formats, product names, units, the language switcher.
SAME_IN_BOTH = {
    "pdf",
    "xlsx",
    "xls",
    "csv",
    "excel",
    "qr",
    "id",
    "url",
    "english",
    "gift",
    "moodle",
    "xml",
    "aiken",
    "smtp",
    "http",
    "https",
    "www",
    "ok",
    "mp",
    "mp4",
    "png",
    "jpg",
    "jpeg",
    "kb",
    "mb",
    "gb",
    "p",
    "s",
    "min",
    "h",
    "utc",
    "gmt",
    "asia",
    "shanghai",
    "lms",
    "json",
    "api",
    "html",
    "md",
    "markdown",
    "mm",
    "dd",
    "yyyy",
    "hh",
    "sheet",
    "word",
    "wps",
    "mov",
    "gps",
    "avi",
    "mkv",
    "webm",
    "wmv",
    "gbk",
    "utf",
    "bom",
    "ffmpeg",
    "hls",
    "ppt",
    "pptx",
    "docx",
    "doc",
    "zip",
    "e",
    "vs",
    "am",
    "pm",
    "x",
    "a",
    "b",
    "c",
    "d",
    "f",
    "t",
}
# The language switcher names each language in itself; the column heads and values that uploaded sheets carry
# in Chinese are quoted as they are in the English help of the importers.
HAN_SAME_IN_BOTH = {
    "中文",
    "工号",
    "姓名",
    "部门",
    "岗位",
    "签名",
    "签到时间",
    "成绩",
    "题型",
    "题干",
    "选项",
    "答案",
    "解析",
    "难度",
    "分类",
    "分值",
    "正确选项",
    "题目详情",
    "整体解析",
    "是否正确项",
    "正确",
    "错误",
    "手机号",
    "入职日期",
    "安全责任角色",
}
# Defects of packages that landed during issue 18, reported to their owners: listed here so that they show as
# warnings, not failures, until fixed (remove a line when its package is fixed). (path prefix, problem text)
KNOWN_ELSEWHERE: list[tuple[str, str]] = []  # (path, finding) reported elsewhere; none at present
TIME_ZONE = re.compile(r"[A-Z][A-Za-z_]+(/[A-Za-z0-9_+\-]+)+")
# commands, placeholders, answer keys (ABD) and examples of the answer syntax (Cat(50%)) are not words
NOT_WORDS = re.compile(r"`[^`]*`|\{[^}]*\}|%\([a-z_]+\)s|\b[A-H]{2,8}\b|\b[A-Za-z]+\(\d+%\)")
# Codes that must never be shown as they are stored (besides every lowercase constant of the models).
CODES = {
    "offline",
    "course",
    "exam",
    "planned",
    "recorded",
    "team",
    "workshop",
    "company",
    "own",
    "expired",
    "overdue",
    "valid",
    "due_soon",
    "in_grace",
    "complete",
    "exempt",
    "manual",
    "certificate",
    "practice",
    "single_choice",
    "multiple_choice",
    "true_false",
    "fill_blank",
    "short_answer",
    "draft",
    "published",
    "archived",
    "running",
    "queued",
    "failed",
    "done",
    "active",
    "left",
    "hired",
    "video",
    "document",
    "self_assessment",
    "review",
    "calculated",
    "awarded",
    "closed",
    "department",
    "post",
    "role",
}


class _Text(HTMLParser):
    """The visible text of a page as a list of text nodes (scripts, styles and templates left out)."""

    HIDDEN = {"script", "style", "template", "noscript", "svg"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.nodes: list[str] = []
        self.links: list[str] = []
        self.active_menu = 0  # menu entries highlighted
        self._skip = 0
        self._nav = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in self.HIDDEN:
            self._skip += 1
        if tag == "a" and a.get("href"):
            self.links.append(a["href"] or "")
            if self._nav and "active" in (a.get("class") or "").split():
                self.active_menu += 1
        if tag == "nav" and "mainnav" in (a.get("class") or "").split():
            self._nav += 1
        for name in ("title", "placeholder", "aria-label", "alt"):
            if a.get(name):
                self.nodes.append(a[name] or "")
        if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
            self.nodes.append(a["value"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN and self._skip:
            self._skip -= 1
        if tag == "nav" and self._nav:
            self._nav -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.nodes.append(data.strip())


def _model_codes() -> set[str]:
    """Every lowercase string constant of the models: the stored codes of statuses, kinds and modes."""
    codes = set(CODES)
    for mapper in Base.registry.mappers:
        module = importlib.import_module(mapper.class_.__module__)
        for name, value in vars(module).items():
            if name.isupper() and isinstance(value, str) and re.fullmatch(r"[a-z][a-z_]*[a-z]", value):
                codes.add(value)
    return codes


def _strings(value: Any) -> list[str]:
    """Every string inside a value (a row, a JSON document)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(k) + _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def _data_text() -> tuple[set[str], str, set[str]]:
    """The Han runs and the English words of every text stored in the database (user data)."""
    han: set[str] = set()
    words: set[str] = set()
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        cols = [
            c
            for c in mapper.columns
            if isinstance(c.type, (String, Text, JSON)) and c.table is mapper.local_table
        ]
        if not cols:
            continue
        for row in db.session.execute(select(*cols)).all():
            for value in _strings(list(row)):
                han.update(HAN.findall(value))
                words.update(w.lower() for w in WORD.findall(value))
        del cls
    return han, "\x00".join(sorted(han)), words


def _normal(href: str, current: str) -> str | None:
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        if parts.netloc not in ("", "lms.test"):
            return None
    path = parts.path or urlsplit(current).path
    if not path.startswith("/"):
        return None
    target = path + ("?" + parts.query if parts.query else "")
    if SKIP.search(target):
        return None
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "next"]
    if any(k == "page" and v not in ("", "1") for k, v in query):
        return None
    return path + ("?" + urlencode(query) if query else "")


def _shape(url: str) -> str:
    return re.sub(r"\d+", "N", urlsplit(url).path)


class Reader:
    def __init__(self, data: tuple[set[str], str, set[str]], codes: set[str]) -> None:
        self.han, self.han_blob, self.words = data
        self.codes = codes
        self.usernames: set[str] = set()  # the demo's user names (admin, learner …) are data, not codes

    def _is_data_han(self, run: str) -> bool:
        return run in self.han or run in HAN_SAME_IN_BOTH or run in self.han_blob

    def problems(self, nodes: list[str], lang: str) -> list[str]:
        found: list[str] = []
        for node in nodes:
            text = " ".join(node.split())
            if TIME_ZONE.fullmatch(text):
                continue
            if text in self.usernames:
                continue
            if text in self.codes or re.fullmatch(r"[a-z]+(_[a-z]+)+", text):
                found.append(f"raw code {text!r}")
                continue
            if lang == "en":
                for run in HAN.findall(text):
                    if not self._is_data_han(run):
                        found.append(f"Chinese {run!r} in {text[:80]!r}")
            else:
                for word in WORD.findall(NOT_WORDS.sub(" ", text)):
                    w = word.lower()
                    if len(w) > 1 and w not in SAME_IN_BOTH and w not in self.words:
                        found.append(f"English {word!r} in {text[:80]!r}")
        return list(dict.fromkeys(found))


def _crawl(client: Any, reader: Reader, lang: str, pages: list[str] | None) -> tuple[list[str], list[str]]:
    """Visit ``pages`` (or discover them from the home page); return (pages, problems)."""
    problems: list[str] = []
    discover = pages is None
    queue = ["/"] if discover else list(pages)
    seen, shapes, order = set(queue), set(), []
    while queue and len(order) < MAX_PAGES:
        url = queue.pop(0)
        resp = client.get(url, follow_redirects=True)
        if resp.status_code != 200 or not resp.mimetype == "text/html":
            if resp.status_code >= 500:
                problems.append(f"{url}: answered {resp.status_code}")
            continue
        order.append(url)
        parser = _Text()
        parser.feed(resp.get_data(as_text=True))
        for p in reader.problems(parser.nodes, lang):
            problems.append(f"{url}: {p}")
        if parser.active_menu > 1:
            problems.append(f"{url}: {parser.active_menu} menu entries highlighted")
        if not discover:
            continue
        for href in parser.links:
            n = _normal(href, url)
            if n is None or n in seen or _shape(n) in shapes:
                continue
            shapes.add(_shape(n))
            seen.add(n)
            queue.append(n)
    return order, problems


@pytest.fixture
def demo_world(app):
    from lms.demo import load_demo

    load_demo(echo=lambda *_: None)
    db.session.commit()
    return app


def test_every_page_of_every_role_speaks_one_language(demo_world, app):
    from lms.org.models import User

    reader = Reader(_data_text(), _model_codes())
    reader.usernames = set(db.session.scalars(select(User.username)))
    from lms.org.industry import HIGH_RISK_INDUSTRIES

    reader.han.update(HIGH_RISK_INDUSTRIES)  # the words an enterprise's industry is matched against: data
    report: list[str] = []
    visited = 0
    for role in ROLES:
        user = db.session.scalar(select(User).where(User.username == role))
        client = app.test_client()
        login(client, user, app.config["DEMO_PASSWORD"])
        client.get("/language/zh_CN")
        pages, zh = _crawl(client, reader, "zh", None)
        client.get("/language/en")
        _, en = _crawl(client, reader, "en", pages)
        client.get("/language/zh_CN")
        visited += len(pages)
        assert len(pages) >= 3, f"{role}: only {pages}"
        report += [f"[{role} zh] {p}" for p in zh] + [f"[{role} en] {p}" for p in en]
    assert visited > 100
    known = [r for r in report if any(f"] {path}" in r and text in r for path, text in KNOWN_ELSEWHERE)]
    for r in known:
        warnings.warn(f"known, reported: {r}", stacklevel=1)
    report = [r for r in report if r not in known]
    assert not report, f"{len(report)} strings in the wrong language:\n- " + "\n- ".join(report)
