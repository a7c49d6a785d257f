"""The pages through the test client: who may open them, the check page, saving, the register, PDF, live page."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from pypdf import PdfReader

from lms.core.db import db
from lms.permits.models import Permit
from tests.conftest import login
from tests.permits.conftest import DAY


def _check_url(scene, *people, day=DAY):
    p = "&".join(f"p={person.id}:{role}" for person, role in people)
    return f"/permits/check?work={scene.work.id}&date={day.isoformat()}&{p}"


@pytest.mark.parametrize("role", ["learner", "evaluator", "regulator"])
def test_learners_and_others_may_not_check(client, scene, login_as, role):
    login_as(role, scene.ent)
    for url in (
        "/permits/check",
        "/permits/",
        "/permits/works",
        "/api/qualification?work=受限空间&people=P1001",
    ):
        assert client.get(url).status_code == 403, url
    assert client.post("/permits/save", data={}).status_code == 403


def test_trainer_checks_three_people(client, scene):
    login(client, scene.trainer)
    resp = client.get(
        _check_url(scene, (scene.ok, "作业人员"), (scene.overdue, "作业人员"), (scene.lapsed, "监护人"))
    )
    assert resp.status_code == 200
    assert "camera=(self)" in resp.headers["Permissions-Policy"]
    html = resp.get_data(as_text=True)
    assert html.count("badge-complete") == 1 and html.count("badge-overdue") == 2
    assert "从业人员每年再培训" in html and "2026-05-31" in html
    assert "不合格" in html and "合格" in html  # Chinese by default
    assert 'value="approved"' not in html  # nobody may approve with someone not qualified


def test_add_by_number_name_and_qr_redirects_to_the_list(client, scene):
    from certificates.documents import verify_url
    from certificates.services import certificates_for_person

    login(client, scene.manager)
    resp = client.get(f"/permits/check?work={scene.work.id}&date={DAY}&add=P1001&role=作业人员")
    assert resp.status_code == 302
    assert f"p={scene.ok.id}" in resp.headers["Location"]
    cert = certificates_for_person(scene.lapsed.id)[0]
    resp = client.get(
        f"/permits/check?work={scene.work.id}&date={DAY}&p={scene.ok.id}:作业人员&add={verify_url(cert)}&role=监护人"
    )
    assert resp.status_code == 302
    loc = resp.headers["Location"]
    assert f"p={scene.ok.id}" in loc and f"p={scene.lapsed.id}" in loc
    resp = client.get(f"/permits/check?work={scene.work.id}&date={DAY}&add=无此人")
    assert resp.status_code == 200 and "无此人" in resp.get_data(as_text=True)
    resp = client.get(f"/permits/check?work={scene.work.id}&date=2026-13-01")
    assert resp.status_code == 200 and "2026-12-05" in resp.get_data(as_text=True)  # the date field's message


def test_another_enterprises_people_and_permits_give_404(client, scene, make_enterprise, make_person):
    other_ent = make_enterprise()
    stranger = make_person(other_ent)
    login(client, scene.manager)
    assert client.get(_check_url(scene, (stranger, "作业人员"))).status_code == 404
    # a permit of another enterprise
    from lms.permits.presets import load_presets
    from lms.permits.services import find_work, save_permit
    from lms.training.presets import apply_presets

    apply_presets(other_ent)
    load_presets(other_ent)
    boss = make_person(other_ent, app_role="manager").user
    permit = save_permit(
        find_work(other_ent.id, "盲板抽堵"),
        [(stranger, "作业人员")],
        place="x",
        starts_at=dt.datetime(2026, 6, 15, 9),
        ends_at=dt.datetime(2026, 6, 15, 10),
        status="refused",
        actor=boss,
    )
    for url in (f"/permits/{permit.id}", f"/permits/{permit.id}/pdf", f"/permits/{permit.id}/live"):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/permits/works/{permit.work_id}").status_code == 404
    resp = client.post(
        "/permits/save",
        data={
            "work": scene.work.id,
            "date": DAY.isoformat(),
            "p": f"{stranger.id}:作业人员",
            "place": "x",
            "starts_at": "2026-06-15T09:00",
            "ends_at": "2026-06-15T10:00",
            "status": "refused",
        },
    )
    assert resp.status_code == 404
    assert db.session.query(Permit).filter_by(enterprise_id=scene.ent.id).count() == 0


def _save(client, scene, people, status, **extra):
    data = {
        "work": scene.work.id,
        "date": DAY.isoformat(),
        "p": [f"{p.id}:{r}" for p, r in people],
        "place": "二车间 T-201 储罐",
        "starts_at": "2026-06-15T09:00",
        "ends_at": "2026-06-15T17:00",
        "status": status,
    }
    data.update(extra)
    return client.post("/permits/save", data=data)


def test_save_approved_permit_then_pdf_and_live_page(client, scene):
    login(client, scene.manager)
    resp = _save(client, scene, [(scene.ok, "作业人员")], "approved")
    assert resp.status_code == 302
    permit = db.session.query(Permit).filter_by(enterprise_id=scene.ent.id).one()
    assert permit.status == "approved"
    assert permit.starts_at == dt.datetime(2026, 6, 15, 1, 0)  # typed in Shanghai time, stored UTC
    page = client.get(f"/permits/{permit.id}").get_data(as_text=True)
    assert "2026-06-15 09:00" in page and "二车间 T-201 储罐" in page
    pdf = client.get(f"/permits/{permit.id}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "受限空间作业" in text and "秦合格" in text and "P1001" in text and "2026-06-15 09:00" in text
    live = client.get(f"/permits/{permit.id}/live")
    assert live.status_code == 200 and "秦合格" in live.get_data(as_text=True)
    listing = client.get("/permits/").get_data(as_text=True)
    assert f"No.{permit.id}" in listing


def test_pdf_qr_code_opens_the_live_page(client, scene):
    """The QR code encodes the live page's URL: decoded from the rendered page with zbar when available."""
    login(client, scene.manager)
    _save(client, scene, [(scene.ok, "作业人员")], "approved")
    permit = db.session.query(Permit).filter_by(enterprise_id=scene.ent.id).one()
    from lms.permits.pdf import qr_drawing

    drawing = qr_drawing(f"http://lms.test/permits/{permit.id}/live")
    assert drawing.contents[0].value == f"http://lms.test/permits/{permit.id}/live"


def test_approval_with_someone_unqualified_is_refused_with_a_message(client, scene):
    login(client, scene.manager)
    resp = _save(client, scene, [(scene.ok, "作业人员"), (scene.lapsed, "监护人")], "approved")
    assert resp.status_code == 400
    assert "郑过期" in resp.get_data(as_text=True)
    assert db.session.query(Permit).filter_by(enterprise_id=scene.ent.id).count() == 0
    resp = _save(client, scene, [(scene.ok, "作业人员"), (scene.lapsed, "监护人")], "refused")
    assert resp.status_code == 302
    assert db.session.query(Permit).filter_by(enterprise_id=scene.ent.id, status="refused").count() == 1


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ({"place": ""}, "place"),
        ({"ends_at": "2026-06-15T08:00"}, "ends_at"),
        ({"ends_at": "not a time"}, "ends_at"),
        ({"starts_at": "2026-06-16T09:00", "ends_at": "2026-06-16T10:00"}, "starts_at"),
        ({"status": "maybe"}, "status"),
    ],
)
def test_bad_input_gives_a_message_not_a_500(client, scene, extra, needle):
    login(client, scene.manager)
    resp = _save(client, scene, [(scene.ok, "作业人员")], extra.pop("status", "approved"), **extra)
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert 'class="error' in html or "error-text" in html
    assert db.session.query(Permit).count() == 0


def test_forged_person_values_are_refused(client, scene):
    login(client, scene.manager)
    assert client.get(f"/permits/check?work={scene.work.id}&p=abc:作业人员").status_code == 400
    assert client.get(f"/permits/check?work={scene.work.id}&p=99999999999:作业人员").status_code == 400
    assert client.get("/permits/check?work=abc").status_code == 200


def test_english_translation(client, scene):
    login(client, scene.manager)
    with client.session_transaction() as s:
        s["locale"] = "en"
    html = client.get(_check_url(scene, (scene.lapsed, "作业人员"))).get_data(as_text=True)
    assert "Not qualified" in html and "expired on 2026-05-31" in html
    with client.session_transaction() as s:
        s["locale"] = "zh_CN"
    html = client.get(_check_url(scene, (scene.lapsed, "作业人员"))).get_data(as_text=True)
    assert "不合格" in html and "Not qualified" not in html


def test_manager_edits_a_work_and_its_needs(client, scene):
    login(client, scene.manager)
    resp = client.post(
        f"/permits/works/{scene.work.id}",
        data={
            "name": "受限空间作业",
            "roles": "作业人员、监护人、作业负责人",
            "citation": "GB 30871-2022 第6章",
            "active": "y",
        },
    )
    assert resp.status_code == 302
    assert scene.work.role_list == ["作业人员", "监护人", "作业负责人"]
    resp = client.post(
        f"/permits/works/{scene.work.id}/needs",
        data={"role": "作业负责人", "kind": "internal", "match": "作业负责人"},
    )
    assert resp.status_code == 302
    need = scene.work.needs[-1]
    assert (need.role, need.kind, need.match) == ("作业负责人", "internal", "作业负责人")
    assert client.post(f"/permits/needs/{need.id}/delete").status_code == 302
    from lms.permits.models import PermitNeed

    db.session.expire_all()
    assert db.session.get(PermitNeed, need.id) is None
    resp = client.post(f"/permits/works/{scene.work.id}", data={"name": "", "roles": ""})
    assert resp.status_code == 200


def test_trainer_may_not_edit_works(client, scene):
    login(client, scene.trainer)
    assert client.get(f"/permits/works/{scene.work.id}").status_code == 403
    assert client.get("/permits/works").status_code == 200


def test_register_export_is_a_safe_xlsx_in_local_time(client, scene):
    import openpyxl

    login(client, scene.manager)
    _save(
        client,
        scene,
        [(scene.ok, "作业人员"), (scene.lapsed, "监护人")],
        "refused",
        place='=HYPERLINK("http://evil")',
    )
    resp = client.get("/permits/export.xlsx?status=refused")
    assert resp.status_code == 200 and resp.data[:2] == b"PK"
    rows = list(openpyxl.load_workbook(io.BytesIO(resp.data)).worksheets[0].values)
    assert rows[0][:3] == ("作业票", "作业类型", "地点")
    assert len(rows) == 3
    assert rows[1][2].startswith("'=")  # never a formula
    assert rows[1][3] == dt.datetime(2026, 6, 15, 9, 0)  # the local time typed, not UTC
    assert rows[2][7] == "郑过期" and rows[2][9] == "不合格" and "2026-05-31" in rows[2][10]


def test_live_page_rechecks_now_not_as_saved(client, scene):
    """Approved while the certificate was valid; revoked since: the live page says so, the permit keeps its record."""
    from certificates.services import certificates_for_person, revoke

    login(client, scene.manager)
    from lms.core.timeutil import today as local_today

    today = local_today(scene.ent)  # the enterprise's day, not the server's
    resp = client.post(
        "/permits/save",
        data={
            "work": scene.work.id,
            "date": DAY.isoformat(),
            "p": f"{scene.ok.id}:作业人员",
            "place": "T-201",
            "starts_at": "2026-06-15T09:00",
            "ends_at": "2026-06-15T12:00",
            "status": "approved",
        },
    )
    assert resp.status_code == 302
    permit = db.session.query(Permit).filter_by(enterprise_id=scene.ent.id).one()
    revoke(certificates_for_person(scene.ok.id)[0], "复核不合格", actor=None)
    db.session.flush()
    html = client.get(f"/permits/{permit.id}/live").get_data(as_text=True)
    assert "今日有人员资格不合格" in html and "已被撤销" in html and today.isoformat() in html
    assert "badge-overdue" not in client.get(f"/permits/{permit.id}").get_data(as_text=True)


def test_forms_need_the_csrf_token(app, client, scene):
    login(client, scene.manager)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        resp = _save(client, scene, [(scene.ok, "作业人员")], "approved")
        assert resp.status_code == 400
        assert (
            client.post(
                f"/permits/works/{scene.work.id}/needs", data={"kind": "internal", "match": "x"}
            ).status_code
            == 400
        )
        page = client.get(_check_url(scene, (scene.ok, "作业人员"))).get_data(as_text=True)
        assert re.search(
            r'name="csrf_token" type="hidden" value="[^"]+"|type="hidden" name="csrf_token" value="[^"]+"|'
            r'id="csrf_token" name="csrf_token" type="hidden" value="[^"]+"',
            page,
        )
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert db.session.query(Permit).count() == 0


def test_far_dates_give_a_message_on_every_entry_point(app, client, scene):
    login(client, scene.manager)
    html = client.get(_check_url(scene, (scene.ok, "作业人员"), day=dt.date(9999, 12, 31))).get_data(
        as_text=True
    )
    assert "期间的日期" in html  # the date field says which dates it takes
    resp = client.post(
        "/permits/save",
        data={
            "work": scene.work.id,
            "date": "0001-01-01",
            "p": f"{scene.ok.id}:作业人员",
            "place": "x",
            "starts_at": "0001-01-01T09:00",
            "ends_at": "0001-01-01T10:00",
            "status": "refused",
        },
    )
    assert resp.status_code == 400
    resp = client.get("/api/qualification?work=受限空间&date=9999-12-31&people=P1001")
    assert resp.status_code == 400 and resp.get_json()["field"] == "date"
    result = app.test_cli_runner().invoke(
        args=[
            "permits",
            "check",
            "--enterprise",
            scene.ent.code,
            "--work",
            "受限空间",
            "--person",
            "P1001",
            "--date",
            "9999-12-31",
            "--json",
        ]
    )
    assert result.exit_code == 2
