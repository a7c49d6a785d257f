"""Every page of every demo role, on a phone (390×844), in Chinese and in English.

For each role the test signs in, crawls the same-origin GET links of the menu and of every page it reaches
(bounded: at most a couple of URLs per route shape, skipping downloads, exports, files, sign-out and the
language switch), and on every page fails on

* the page scrolling sideways (``document.scrollingElement.scrollWidth`` wider than the screen),
* a visible link, button or input cut off: outside the screen, or clipped by a box that hides its overflow
  (a table that scrolls inside its own box is fine: its content stays reachable),
* a console error or an uncaught script error, an answer of 400 or more.

The Chinese pass discovers the pages; the English pass visits the same list. Screenshots of every page go to
``tests/_artifacts/every_page/<role>/<lang>/`` (ignored by git), with ``findings.json`` beside them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from tests.e2e.conftest import DEMO_PASSWORD, ROOT

pytestmark = pytest.mark.e2e

ARTIFACTS = ROOT / "tests" / "_artifacts" / "every_page"
PHONE = {"width": 390, "height": 844}
ROLES = ["admin", "manager", "trainer", "learner", "evaluator", "regulator"]
MAX_PAGES = 60  # per role: a bound, not a target
PER_SHAPE = 1  # URLs kept per route shape (/courses/N/edit …): two ids of one route look alike
SKIP = re.compile(
    r"(/logout|/language/|/download|/export|/files?/|/media/|/static/|/healthz|/api/|\.(pdf|xlsx|xls|csv|zip|png|jpe?g|"
    r"mp4|m3u8|txt|json)$|/pdf$|[?&](format|download|export)=)",
    re.I,
)

# Elements a person uses; each must be inside the screen, or inside a box that scrolls.
CUT_OFF_JS = r"""
() => {
  const vw = Math.min(window.innerWidth, PHONE_WIDTH);
  const out = [];
  const sel = 'a[href], button, input:not([type=hidden]), select, textarea, .button, label.button';
  for (const el of document.querySelectorAll(sel)) {
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) continue;
    const cs = getComputedStyle(el);
    if (cs.visibility === 'hidden' || cs.display === 'none') continue;
    if (el.closest('[hidden], details:not([open]) > :not(summary)')) continue;
    let reachable = false, clippedBy = null;
    // an action (a button, a form control, a link in a table's last column) must not hide in a box that
    // scrolls sideways: only data (names, references) may wait there to be scrolled to
    const cell = el.closest('td, th');
    const action = !el.matches('a') || el.matches('.button') || (cell && !cell.nextElementSibling && cell.previousElementSibling);
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.display === 'none') { reachable = true; break; }
      const ox = s.overflowX;
      if (ox === 'auto' || ox === 'scroll') {
        const ar = a.getBoundingClientRect();
        if (action && a.scrollWidth > a.clientWidth + 1 && (r.right > ar.right + 1 || r.left < ar.left - 1)) { clippedBy = a; }
        else { reachable = true; }
        break;
      }
      if (ox === 'hidden' || ox === 'clip') {
        const ar = a.getBoundingClientRect();
        if (r.right > ar.right + 1 || r.left < ar.left - 1) { clippedBy = a; break; }
      }
    }
    if (reachable) continue;
    if (clippedBy || r.right > vw + 1 || r.left < -1) {
      const text = (el.innerText || el.value || el.getAttribute('aria-label') || el.name || el.tagName).trim();
      out.push(`${el.tagName.toLowerCase()} "${text.slice(0, 40)}" at x=${Math.round(r.left)}..${Math.round(r.right)}`
               + (clippedBy ? ` clipped by .${(clippedBy.className || clippedBy.tagName).toString().split(' ')[0]}` : ''));
    }
  }
  return out.slice(0, 8);
}
""".replace("PHONE_WIDTH", str(PHONE["width"]))

# The header's visible pieces (brand, menu entries, "More", bell, account, sign out, ☰): one row, none over another.
HEADER_JS = r"""
() => {
  const bar = document.querySelector('.topbar');
  const items = Array.from(bar.querySelectorAll(
      ':scope > .brand, :scope > .nav-toggle-label, .mainnav > a, .nav-more > summary, .usermenu > *'))
    .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; })
    .map(e => ({e, r: e.getBoundingClientRect(), t: (e.innerText || e.className || e.tagName).trim().slice(0, 20)}));
  const out = [];
  const mids = new Set(items.map(i => Math.round((i.r.top + i.r.bottom) / 2 / 20)));
  if (mids.size > 1) out.push(`${mids.size} rows`);
  for (let i = 0; i < items.length; i++) {
    const a = items[i].r;
    if (a.right > window.innerWidth + 1 || a.left < -1) out.push(`"${items[i].t}" outside the screen`);
    for (let j = i + 1; j < items.length; j++) {
      const b = items[j].r;
      if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1)
        out.push(`"${items[i].t}" over "${items[j].t}"`);
    }
  }
  return out.slice(0, 6);
}
"""

LINKS_JS = "() => Array.from(document.querySelectorAll('a[href]'), a => a.href)"


def _shape(url: str) -> str:
    """The route a URL belongs to: numbers and dates become N, the query is left out."""
    return re.sub(r"\d+", "N", urlsplit(url).path)


def _normal(url: str, base: str) -> str | None:
    """The URL to visit (same origin, no fragment, no sign-in redirect target), or None to skip it."""
    if not url.startswith(base):
        return None
    parts = urlsplit(url)
    if SKIP.search(parts.path + ("?" + parts.query if parts.query else "")):
        return None
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "next"]
    # a page of a long list is the same page: keep only the first
    if any(k == "page" and v not in ("", "1") for k, v in query):
        return None
    return base + parts.path + ("?" + urlencode(query) if query else "")


def _slug(url: str, base: str) -> str:
    s = re.sub(r"[^A-Za-z0-9]+", "-", url[len(base) :]).strip("-")
    return (s or "home")[:90]


class Visit:
    """One browser context of a role in a language, recording what each page does wrong."""

    def __init__(self, browser: Any, base: str, role: str, lang: str) -> None:
        self.base, self.role, self.lang = base, role, lang
        self.ctx = browser.new_context(
            viewport=PHONE, locale="zh-CN" if lang == "zh" else "en-US", device_scale_factor=1, has_touch=True
        )
        self.page = self.ctx.new_page()
        self.page.set_default_timeout(30_000)
        self.page.on("dialog", lambda d: d.dismiss())
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.console.append(f"uncaught: {e}"))
        self.bad_answers: list[str] = []
        self.page.on("response", self._answer)
        self.shots = ARTIFACTS / role / lang
        self.shots.mkdir(parents=True, exist_ok=True)
        for old in [*self.shots.glob("*.png"), *self.shots.glob("*.jpg")]:
            old.unlink()
        self.findings: list[str] = []

    def _answer(self, resp: Any) -> None:
        if resp.status >= 400 and resp.url.startswith(self.base):
            self.bad_answers.append(f"{resp.status} {resp.url[len(self.base) :]}")

    def sign_in(self) -> None:
        p = self.page
        p.goto(self.base + "/login")
        p.fill("input[name=login]", self.role)
        p.fill("input[name=password]", DEMO_PASSWORD)
        p.click("button[type=submit]")
        p.wait_for_load_state("load")
        assert "/login" not in p.url, f"{self.role} cannot sign in"
        self.set_language("en" if self.lang == "en" else "zh_CN")

    def set_language(self, code: str) -> None:
        self.page.goto(f"{self.base}/language/{code}?next=/")
        self.page.wait_for_load_state("load")

    def check(self, url: str) -> list[str]:
        """Visit ``url``; record its problems; return the links it shows."""
        p = self.page
        self.console.clear()
        self.bad_answers.clear()
        where = url[len(self.base) :] or "/"
        try:
            resp = p.goto(url, wait_until="load")
        except Exception as exc:  # a navigation that turned into a download, a timeout …
            if "Download is starting" not in str(exc):
                self.findings.append(f"{where}: did not load: {str(exc).splitlines()[0]}")
            return []
        if resp is None or "text/html" not in (resp.headers.get("content-type") or ""):
            return []
        if "/login" in p.url and "/login" not in url:
            self.findings.append(f"{where}: sent to sign-in")
            return []
        size = p.evaluate(
            "() => [document.scrollingElement.scrollWidth, window.innerWidth, document.documentElement.scrollWidth]"
        )
        wide = max(size[0], size[2]) - min(size[1], PHONE["width"])
        if wide > 1:
            self.findings.append(f"{where}: scrolls sideways ({wide}px wider than the screen)")
        for cut in p.evaluate(CUT_OFF_JS):
            self.findings.append(f"{where}: cut off: {cut}")
        for err in dict.fromkeys(self.console):
            self.findings.append(f"{where}: console: {err[:200]}")
        for bad in dict.fromkeys(self.bad_answers):
            self.findings.append(f"{where}: answered {bad}")
        p.screenshot(path=str(self.shots / f"{_slug(url, self.base)}.png"), full_page=True)
        return p.evaluate(LINKS_JS)

    def header_problems(self, width: int) -> list[str]:
        """What is wrong with the header of the home page at ``width`` px: more than one row, entries on top
        of each other, or wider than the screen."""
        p = self.page
        p.set_viewport_size({"width": width, "height": 900})
        p.goto(self.base + "/", wait_until="load")
        found = p.evaluate(HEADER_JS)
        p.screenshot(path=str(self.shots / f"header-{width}.png"))
        p.set_viewport_size(PHONE)
        return [f"header at {width} px: {f}" for f in found]

    def close(self) -> None:
        self.ctx.close()


def _crawl(visit: Visit) -> list[str]:
    """Visit the home page and everything linked from it, breadth first, within the bounds."""
    start = _normal(visit.page.url, visit.base) or visit.base + "/"
    queue, seen, shapes, order = [start], {start}, {}, []
    while queue and len(order) < MAX_PAGES:
        url = queue.pop(0)
        order.append(url)
        for link in visit.check(url):
            n = _normal(link, visit.base)
            if n is None or n in seen:
                continue
            shape = _shape(n)
            if shapes.get(shape, 0) >= PER_SHAPE:
                continue
            shapes[shape] = shapes.get(shape, 0) + 1
            seen.add(n)
            queue.append(n)
    return order


@pytest.mark.parametrize("role", ROLES)
def test_every_page_fits_a_phone_in_both_languages(role, browser, live_server):
    base = live_server["url"]
    report: dict[str, Any] = {}
    zh = Visit(browser, base, role, "zh")
    try:
        zh.sign_in()
        pages = _crawl(zh)
        report["zh"] = {"pages": [u[len(base) :] for u in pages], "findings": zh.findings}
    finally:
        zh.close()
    en = Visit(browser, base, role, "en")
    try:
        en.sign_in()
        for url in pages:
            en.check(url)
        for width in (1366, 390):
            en.findings += en.header_problems(width)
        report["en"] = {"findings": en.findings}
    finally:
        en.set_language("zh_CN")  # the account's language is stored: leave it Chinese for the other journeys
        en.close()
    (ARTIFACTS / role / "findings.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))
    assert len(pages) >= 3, f"{role}: the crawl found only {pages}"
    problems = [f"[zh] {f}" for f in zh.findings] + [f"[en] {f}" for f in en.findings]
    assert not problems, (
        f"{role}: {len(problems)} problems on {len(pages)} pages (screenshots in {ARTIFACTS / role}):\n- "
        + "\n- ".join(problems)
    )


def test_artefacts_are_ignored_by_git():
    ignored = (ROOT / ".gitignore").read_text()
    assert "tests/_artifacts/" in ignored
    assert Path(ARTIFACTS).is_relative_to(ROOT / "tests" / "_artifacts")
