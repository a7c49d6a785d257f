"""Bulk issuing and rendering as a background job, downloaded as one zip."""

from __future__ import annotations

import io
import re
import time
import zipfile

import pypdf
from sqlalchemy import select

from certificates import services
from certificates.jobs import start_bulk
from lms.core.db import db
from lms.core.jobs import Job
from lms.org.models import Department

from .helpers import complete_course, course


def _zip(client, job: Job) -> zipfile.ZipFile:
    resp = client.get(job.result["download_url"])
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    return zipfile.ZipFile(io.BytesIO(resp.data))


def test_bulk_issue_for_a_department_gives_one_zip(client, enterprise, make_person, login_as):
    crs = course(9400, title="危险化学品安全培训")
    inside = [make_person(enterprise, name=f"孙{i:02d}", department="二车间/甲班") for i in range(25)]
    inside += [make_person(enterprise, name=f"周{i:02d}", department="二车间/甲班/一组") for i in range(5)]
    outside = [make_person(enterprise, department="一车间/乙班") for _ in range(3)]
    for person in inside + outside:
        complete_course(
            person, course(9400, title=crs.title, issue=False)
        )  # records only: no certificate yet
    assert not services.certificates_for_person(inside[0].id)
    dept = db.session.scalar(
        select(Department).where(Department.enterprise_id == enterprise.id, Department.path == "二车间/甲班")
    )
    login_as("manager")
    page = client.get("/certificates/bulk").get_data(as_text=True)
    assert "course:9400" in page and "危险化学品安全培训" in page

    t0 = time.perf_counter()
    resp = client.post(
        "/certificates/bulk",
        data={
            "action": "issue",
            "achievement": "course:9400",
            "department": str(dept.id),
            "employee_nos": "",
        },
    )
    elapsed = time.perf_counter() - t0
    assert resp.status_code == 302
    job_id = int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    job = db.session.get(Job, job_id)
    assert job.status == "done", job.error
    assert job.progress == 100 and job.result["count"] == 30 and job.result["issued"] == 30
    assert job.result["download_url"] == f"/certificates/jobs/{job.id}/download"
    assert job.result["download_url"] in client.get(f"/jobs/{job.id}").get_data(as_text=True)

    archive = _zip(client, job)
    names = archive.namelist()
    assert len(names) == 30
    by_person = {c.holder_name: c for p in inside for c in services.certificates_for_person(p.id)}
    assert len(by_person) == 30 and not services.certificates_for_person(outside[0].id)
    for name in names:
        number, holder = re.match(r"(.+)_(.+)\.pdf$", name).groups()
        text = re.sub(r"\s+", "", pypdf.PdfReader(io.BytesIO(archive.read(name))).pages[0].extract_text())
        assert number in text and holder in text and "危险化学品安全培训" in text
        assert by_person[holder].number == number
    print(f"\nbulk issue + render of 30: {elapsed:.2f} s")

    # Again: nothing new is issued, the files are reused.
    again = start_bulk(enterprise.id, action="issue", achievement="course:9400", department_id=dept.id)
    assert again.status == "done" and again.result["issued"] == 0 and again.result["count"] == 30


def test_bulk_render_for_a_list_and_permissions(client, enterprise, make_person, make_enterprise, login_as):
    people = [make_person(enterprise, employee_no=f"L{i:03d}") for i in range(4)]
    for p in people:
        complete_course(p, course(9500))
    services.revoke(services.certificates_for_person(people[3].id)[0], "x", actor=None)
    job = start_bulk(enterprise.id, action="render", employee_nos=["L000", " L001 ", "L003", "NOBODY"])
    assert job.status == "done" and job.result["count"] == 2  # the revoked one is left out
    login_as("manager")
    assert len(_zip(client, job).namelist()) == 2
    # A manager of another enterprise cannot fetch the zip.
    client.post("/logout")
    login_as("manager", make_enterprise())
    assert client.get(job.result["download_url"]).status_code == 404


def test_bulk_issue_needs_an_achievement(client, enterprise, login_as):
    login_as("manager")
    resp = client.post("/certificates/bulk", data={"action": "issue", "achievement": "", "department": ""})
    assert resp.status_code == 302 and "/jobs/" not in resp.headers["Location"]
