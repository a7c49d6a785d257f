"""Every page of every demo role, on a phone (390×844) and a laptop (1366×900), in Chinese and in English.

For each role and language the test signs in, crawls the same-origin GET links of the menu and of every page
it reaches (bounded: at most one URL per route shape, skipping downloads, exports, files, sign-out and the
language switch), and on every page, first at 390 px, then at 1366 px (the same page resized, not loaded
again: one load serves both sizes), fails on

* the page scrolling sideways (``document.scrollingElement.scrollWidth`` wider than the screen),
* a visible link, button or input cut off: outside the screen, or clipped by a box that hides its overflow
  (a table that scrolls inside its own box is fine: its content stays reachable),
* a header that is not one row, or with entries on top of each other,
* a console error or an uncaught script error, an answer of 400 or more.

Each role and language is a test of its own (pytest-xdist spreads them; each has its own xdist group, so the
browser journeys' shared group does not hold them on one worker). Screenshots go to
``tests/_artifacts/every_page/<role>/<lang>/`` (ignored by git), JPEG: every page at 390 px (full page) and at
1366 px (the screen's height), with ``findings-<lang>.json`` beside them.
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
LAPTOP = {"width": 1366, "height": 900}
ROLES = ["admin", "manager", "trainer", "learner", "evaluator", "regulator"]
MAX_PAGES = 250  # per role: a safety bound; the crawl fails when it leaves a page shape unvisited
PER_SHAPE = 1  # URLs kept per route shape (/courses/N/edit …): two ids of one route look alike
SKIP = re.compile(
    r"(/logout|/language/|/download|/export|/files?/|/media/|/static/|/healthz|/api/|\.(pdf|xlsx|xls|csv|zip|png|jpe?g|"
    r"mp4|m3u8|txt|json)$|/pdf$|[?&](format|download|export)=)",
    re.I,
)

# Elements a person uses; each must be inside the screen, or inside a box that scrolls.
CUT_OFF_JS = r"""
(width) => {
  const vw = Math.min(window.innerWidth, width);
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
"""

# The header's visible pieces (brand, menu entries, "More", bell, account, sign out, ☰): one row, none over another.
HEADER_JS = r"""
() => {
  const bar = document.querySelector('.topbar');
  if (!bar) return [];
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
# The evaluator's scoring page (评分): its score inputs and evidence uploads, each inside the screen.
SCORE_PAGE = re.compile(r"^/culture/campaigns/\d+/units/\d+/score$")
SCORE_JS = r"""
() => {
  const inView = el => { const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && r.left >= -1 && r.right <= window.innerWidth + 1; };
  const values = Array.from(document.querySelectorAll('main [name^="value_"]'));
  const files = Array.from(document.querySelectorAll('main input[type=file][name^="files_"]'));
  const hidden = [...values, ...files].filter(e => !inView(e)).map(e => e.name).slice(0, 5);
  return {inputs: values.filter(inView).length, files: files.filter(inView).length, hidden};
}
"""
INSPECT_JS = "".join(
    [
        "(a) => ({size: [document.scrollingElement.scrollWidth, window.innerWidth,",
        " document.documentElement.scrollWidth], cut: (",
        CUT_OFF_JS.strip(),
        ")(a.width), header: (",
        HEADER_JS.strip(),
        ")(), score: a.score ? (",
        SCORE_JS.strip(),
        ")() : null})",
    ]
)
# After a resize: let media-query listeners (cards, the header's "More") run and the page lay out again.
SETTLE_JS = "() => new Promise(r => requestAnimationFrame(() => r(true)))"


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
    """One browser context of a role in a language, recording what each page does wrong at each size."""

    def __init__(self, browser: Any, base: str, role: str, lang: str) -> None:
        self.base, self.role, self.lang = base, role, lang
        self.ctx = browser.new_context(
            viewport=PHONE, locale="zh-CN" if lang == "zh" else "en-US", device_scale_factor=1, has_touch=True
        )
        self.size = PHONE
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
        self.scoring: dict[int, dict[str, Any]] = {}  # width → what the scoring page showed

    def _answer(self, resp: Any) -> None:
        # ours by path; anything else by its whole address (nothing should be asked for elsewhere)
        if resp.status >= 400:
            where = resp.url[len(self.base) :] if resp.url.startswith(self.base) else resp.url
            self.bad_answers.append(f"{resp.status} {where}")

    def resize(self, size: dict[str, int], *, settle: bool = True) -> None:
        if size != self.size:
            self.page.set_viewport_size(size)
            self.size = size
            if settle:
                self.page.evaluate(SETTLE_JS)

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
        """Visit ``url`` at 390 px, then resize it to 1366 px; record its problems; return the links it shows."""
        p = self.page
        self.resize(PHONE, settle=False)  # the page is left at once
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
        slug = _slug(url, self.base)
        self._inspect(where, PHONE)
        # JPEG: a full page in half the time of a PNG (the time the laptop size costs comes from here)
        p.screenshot(path=str(self.shots / f"{slug}.jpg"), full_page=True, type="jpeg", quality=70)
        links = p.evaluate(LINKS_JS)
        self.resize(LAPTOP)
        self._inspect(where, LAPTOP)
        p.screenshot(path=str(self.shots / f"{slug}@1366.jpg"), type="jpeg", quality=70)
        return links

    def _inspect(self, where: str, size: dict[str, int]) -> None:
        """Record what is wrong with the page shown now, at ``size``; the console and answers so far."""
        p, width = self.page, size["width"]
        at = f"{where} @{width}"
        got = p.evaluate(INSPECT_JS, {"width": width, "score": bool(SCORE_PAGE.search(where))})
        sizes = got["size"]
        wide = max(sizes[0], sizes[2]) - min(sizes[1], width)
        if wide > 1:
            self.findings.append(f"{at}: scrolls sideways ({wide}px wider than the screen)")
        for cut in got["cut"]:
            self.findings.append(f"{at}: cut off: {cut}")
        for bad in got["header"]:
            self.findings.append(f"{at}: header: {bad}")
        if got["score"] is not None:
            self.scoring[width] = got["score"]
            shown, files = got["score"]["inputs"], got["score"]["files"]
            if not shown or not files or got["score"]["hidden"]:
                self.findings.append(
                    f"{at}: the score inputs and evidence uploads are not all in view: {got['score']}"
                )
        for err in dict.fromkeys(self.console):
            self.findings.append(f"{at}: console: {err[:200]}")
        for bad in dict.fromkeys(self.bad_answers):
            self.findings.append(f"{at}: answered {bad}")
        self.console.clear()
        self.bad_answers.clear()

    def close(self) -> None:
        self.ctx.close()


def _crawl(visit: Visit) -> tuple[list[str], list[str]]:
    """Visit the home page and everything linked from it, breadth first, one URL per route shape; return the
    pages visited and those the bound left unvisited (none, or the test fails)."""
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
    return order, queue


@pytest.mark.parametrize(
    "role, lang",
    [
        pytest.param(role, lang, marks=pytest.mark.xdist_group(f"every-page-{role}-{lang}"))
        for role in ROLES
        for lang in ("zh", "en")
    ],
)
def test_every_page_fits_a_phone_and_a_laptop(role, lang, browser, live_server):
    base = live_server["url"]
    visit = Visit(browser, base, role, lang)
    try:
        visit.sign_in()
        pages, left = _crawl(visit)
    finally:
        if lang != "zh":
            visit.set_language("zh_CN")  # the account's language is stored: leave it Chinese for the journeys
        visit.close()
    report = {"pages": [u[len(base) :] for u in pages], "left": left, "findings": visit.findings}
    (ARTIFACTS / role / f"findings-{lang}.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))
    assert len(pages) >= 3, f"{role}: the crawl found only {pages}"
    assert not left, f"{role}: {len(left)} page shapes left unvisited past {MAX_PAGES} pages: {left[:10]}"
    if role == "evaluator":  # the demo leaves a campaign in its review step: the evaluator has units to score
        scored = [u for u in report["pages"] if SCORE_PAGE.search(u)]
        assert scored, f"the evaluator's crawl never reached a scoring page (评分): {report['pages']}"
        assert sorted(visit.scoring) == [390, 1366], (
            f"the scoring page was not inspected at both sizes: {visit.scoring}"
        )
    problems = [f"[{lang}] {f}" for f in dict.fromkeys(visit.findings)]
    assert not problems, (
        f"{role}: {len(problems)} problems on {len(pages)} pages (screenshots in {ARTIFACTS / role / lang}):\n- "
        + "\n- ".join(problems)
    )


def test_artefacts_are_ignored_by_git():
    ignored = (ROOT / ".gitignore").read_text()
    assert "tests/_artifacts/" in ignored
    assert Path(ARTIFACTS).is_relative_to(ROOT / "tests" / "_artifacts")
