"""Stored XSS payloads are inert in pages, exports and PDFs; formula payloads come out quoted in csv and xlsx."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from typing import Any

import pypdf
import pytest
from openpyxl import load_workbook

from courses import services as courses
from lms.core.db import db
from lms.core.timeutil import today as local_today  # the enterprise's calendar day (Asia/Shanghai)
from lms.culture import notices
from quizzes import attempts, banks, exams
from tests.certificates.helpers import complete_course, course
from tests.conftest import login
from tests.training.helpers import requirement

from .conftest import XSS

OLD_HIRE = local_today() - dt.timedelta(days=400)
FORMULAS = ["=1+2", "+SUM(1,2)", "-2+3", "@SUM(A1:A2)", "\tcmd", '=HYPERLINK("http://x","y")']


def _inert(page: str, where: str) -> None:
    """Neither payload appears raw, and each appears escaped (so the page did show it, as text)."""
    for payload in XSS:
        assert payload not in page, f"{where}: raw {payload!r}"
        assert "<img src=x" not in page and "<script>alert" not in page, where
        assert (
            html.escape(payload, quote=False).split(">")[0] in page
            or html.escape(payload) in page
            or payload.replace('"', "&#34;").replace("<", "&lt;").replace(">", "&gt;") in page
        ), f"{where}: {payload!r} not shown at all"


def _xlsx_values(data: bytes) -> list[Any]:
    assert data[:2] == b"PK", data[:200]
    wb = load_workbook(io.BytesIO(data))
    return [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]


def _csv_values(data: bytes) -> list[str]:
    return [v for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for v in row]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _pdf_text(data: bytes) -> str:
    assert data[:4] == b"%PDF", data[:200]
    return _squash("".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages))


@pytest.fixture
def hostile(enterprise, make_person):
    """Every stored text a user can set carries a payload: course title, question stem, names, notice."""
    script, img = XSS
    victim = make_person(enterprise, name=f"张{script}", hire_date=OLD_HIRE)
    victim2 = make_person(enterprise, name=f"李{img}", hire_date=OLD_HIRE)
    manager = make_person(enterprise, app_role="manager")
    trainer = make_person(enterprise, app_role="trainer")
    requirement(enterprise, name=f"要求{script}")
    crs = courses.create_course(enterprise.id, title=f"课程{script}{img}", category="有限空间", hours=2)
    section = courses.add_section(crs, f"章{script}")
    courses.add_lesson(section, "text", f"课时{img}", body_markdown=f"正文 {script} {img}")
    courses.set_status(crs, "published")
    courses.enrol(crs, victim, source="assigned")
    courses.enrol(crs, victim2, source="assigned")
    bank = banks.create_bank(enterprise.id, f"题库{img}")
    banks.create_question(
        bank,
        type="single_choice",
        stem=f"题干{script}{img}",
        options=[f"甲{script}", f"乙{img}"],
        key=0,
        points=2,
        explanation=f"解析{script}",
    )
    exam = exams.create_exam(
        enterprise.id, title=f"考试{img}", time_limit_minutes=30, show_answers="after_submit"
    )
    exams.add_rule(exam, bank_id=bank.id, count=1)
    exams.publish_exam(exam)
    attempt = attempts.start_attempt(exam, victim)
    attempts.submit_attempt(attempt)
    n = notices.save_notice(
        enterprise.id,
        title=f"通知{script}{img}",
        body_md=f"内容 {script} {img}",
        targets=[],
        audience_all=True,
        actor=manager.user,
    )
    notices.publish_notice(n, manager.user)
    complete_course(victim, course(9501, title=f"证书课程{script}"), score=88)
    db.session.commit()
    return {
        "victim": victim,
        "victim2": victim2,
        "manager": manager,
        "trainer": trainer,
        "course": crs,
        "bank": bank,
        "exam": exam,
        "attempt": attempt,
        "notice": n,
    }


def test_xss_payloads_are_escaped_in_pages(client, hostile):
    h = hostile
    login(client, h["victim"].user)
    learner_pages = [
        "/courses/catalogue",
        "/courses/my",
        f"/courses/{h['course'].id}",
        f"/courses/lessons/{h['course'].sections[0].lessons[0].id}",
        "/quizzes/",
        f"/quizzes/attempts/{h['attempt'].id}/result",
        "/culture/notices",
        f"/culture/notices/{h['notice'].id}",
        "/training/mine",
        "/certificates/mine",
    ]
    for url in learner_pages:
        r = client.get(url)
        assert r.status_code == 200, url
        for payload in XSS:
            assert payload not in r.get_data(as_text=True), f"{url}: raw {payload!r}"
    _inert(client.get(f"/courses/{h['course'].id}").get_data(as_text=True), "course page")
    _inert(client.get(f"/culture/notices/{h['notice'].id}").get_data(as_text=True), "notice")
    client.post("/logout")
    login(client, h["manager"].user)
    staff_pages = [
        "/org/people",
        f"/org/people/{h['victim'].id}",
        "/courses/manage",
        f"/courses/{h['course'].id}/progress",
        f"/quizzes/banks/{h['bank'].id}",
        f"/quizzes/questions/{h['bank'].questions[0].id}",
        f"/quizzes/exams/{h['exam'].id}/results",
        f"/quizzes/attempts/{h['attempt'].id}/review",
        "/training/list?show=late",
        f"/training/people/{h['victim'].id}",
        "/certificates/",
        f"/culture/notices/{h['notice'].id}",
        "/culture/notices",
    ]
    for url in staff_pages:
        r = client.get(url)
        assert r.status_code == 200, url
        for payload in XSS:
            assert payload not in r.get_data(as_text=True), f"{url}: raw {payload!r}"
    _inert(client.get("/org/people").get_data(as_text=True), "people")
    _inert(
        client.get(f"/quizzes/exams/{h['exam'].id}/results").get_data(as_text=True)
        + client.get(f"/quizzes/questions/{h['bank'].questions[0].id}").get_data(as_text=True),
        "exam pages",
    )


def test_xss_payloads_are_plain_text_in_exports(client, hostile):
    h = hostile
    login(client, h["manager"].user)
    xlsx_urls = [
        f"/courses/{h['course'].id}/progress.xlsx",
        f"/quizzes/exams/{h['exam'].id}/results.xlsx",
        f"/quizzes/banks/{h['bank'].id}/export.xlsx",
        "/training/list?show=late&format=xlsx",
        f"/culture/notices/{h['notice'].id}/pending.xlsx",
    ]
    for url in xlsx_urls:
        r = client.get(url)
        assert r.status_code == 200, url
        cells = _xlsx_values(r.data)
        texts = [str(c.value) for c in cells]
        assert any(XSS[0] in t for t in texts), f"{url}: payload missing"
        for c in cells:
            if isinstance(c.value, str) and any(p in c.value for p in XSS):
                assert c.data_type == "s", f"{url}: {c.value!r} is not text"
    r = client.get("/training/list?show=late&format=csv")
    values = _csv_values(r.data)
    assert f"要求{XSS[0]}" in values and f"李{XSS[1]}" in values


def test_xss_payloads_are_literal_text_in_pdfs(client, hostile):
    from certificates import services as certs

    h = hostile
    [cert] = certs.certificates_for_person(h["victim"].id)
    login(client, h["victim"].user)
    text = _pdf_text(client.get(f"/certificates/{cert.id}/pdf").data)
    assert _squash(XSS[0]) in text
    text = _pdf_text(client.get("/training/mine/archive?format=pdf").data)
    assert _squash(f"张{XSS[0]}") in text
    client.post("/logout")
    login(client, h["manager"].user)
    text = _pdf_text(client.get(f"/training/people/{h['victim2'].id}?format=pdf").data)
    assert _squash(f"李{XSS[1]}") in text


# ---------------------------------------------------------------- formula injection


@pytest.fixture
def formula_people(enterprise, make_person):
    people = [
        make_person(enterprise, name=f, hire_date=OLD_HIRE, department=f"车间/{f.strip()}班")
        for f in FORMULAS
    ]
    requirement(enterprise)
    crs = courses.create_course(enterprise.id, title="公式课程", category="有限空间", hours=2)
    courses.add_lesson(courses.add_section(crs, "一"), "text", "课时", body_markdown="正文")
    courses.set_status(crs, "published")
    bank = banks.create_bank(enterprise.id, "公式题库")
    banks.create_question(bank, type="true_false", stem="判断", key=True, points=1)
    exam = exams.create_exam(enterprise.id, title="公式考试", time_limit_minutes=30)
    exams.add_rule(exam, bank_id=bank.id, count=1)
    exams.publish_exam(exam)
    for p in people:
        courses.enrol(crs, p, source="assigned")
        attempts.submit_attempt(attempts.start_attempt(exam, p))
    manager = make_person(enterprise, app_role="manager")
    db.session.commit()
    return {"manager": manager, "course": crs, "exam": exam}


def _assert_quoted(values: list[str], where: str) -> None:
    for f in FORMULAS:
        exact = [v for v in values if v.lstrip("'") == f]
        assert exact, f"{where}: {f!r} missing"
        assert all(v == "'" + f for v in exact), f"{where}: {exact!r} not quoted"
    for v in values:
        assert not v.startswith(("=", "+", "@", "\t")), f"{where}: live formula {v!r}"


def test_formula_payloads_in_names_are_quoted(client, formula_people):
    w = formula_people
    login(client, w["manager"].user)
    xlsx = {
        "people list": "/training/list?show=late&format=xlsx",
        "progress": f"/courses/{w['course'].id}/progress.xlsx",
        "results": f"/quizzes/exams/{w['exam'].id}/results.xlsx",
    }
    for where, url in xlsx.items():
        r = client.get(url)
        assert r.status_code == 200, url
        cells = [c for c in _xlsx_values(r.data) if isinstance(c.value, str)]
        assert all(c.data_type == "s" for c in cells), where
        _assert_quoted([c.value for c in cells], where)
    r = client.get("/training/list?show=late&format=csv")
    assert r.status_code == 200
    _assert_quoted(_csv_values(r.data), "people list csv")
    # Coverage by department carries the department names (the formulas again, in the path).
    for fmt in ("csv", "xlsx"):
        r = client.get(f"/training/coverage/department?format={fmt}")
        assert r.status_code == 200
        values = _csv_values(r.data) if fmt == "csv" else [str(c.value) for c in _xlsx_values(r.data)]
        assert not [v for v in values if v.startswith(("=", "+", "@", "\t", "-2"))], values
