"""The person's statutory training archive lists their certificates."""

from __future__ import annotations

from certificates import services


def test_archive_lists_certificates(client, login_as, make_person, enterprise):
    login_as("manager")
    p = make_person(enterprise, name="档案张")
    cert = services.issue(
        p, kind="course", source=f"course:1:person:{p.id}", title="有限空间作业安全", hours=2
    ).certificate
    page = client.get(f"/training/people/{p.id}").get_data(as_text=True)
    assert cert.number in page and "有限空间作业安全" in page
