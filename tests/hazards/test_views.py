"""Hazard pages through the test client: each role, forged input, other enterprises, CSRF, local times."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from lms.core.db import db
from lms.hazards import services
from lms.hazards.models import Hazard, HazardArea, HazardCategory
from tests.conftest import login as _login
from tests.hazards.conftest import jpeg_bytes, photo

DAY = dt.timedelta(days=1)


def login(client, user):
    """Sign in as ``user`` (signing out whoever was signed in on this client)."""
    if getattr(client, "_hazards_signed_in", False):
        client.post("/logout")
    client._hazards_signed_in = True
    return _login(client, user)


def _exif_with_gps() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 24.0), 3: "E", 4: (121.0, 28.0, 12.0)}
    return exif


def _post_report(client, h, **data):
    form = {
        "description": "配电箱门未关，有裸露接线",
        "area_id": str(h.area.id),
        "place": "东墙",
        "category_id": str(h.category.id),
    }
    form.update(data)
    files = form.pop("photos", None)
    if files is None:
        files = [(io.BytesIO(jpeg_bytes(exif=_exif_with_gps())), "IMG_0001.JPG")]
    form["photos"] = files
    return client.post(
        "/hazards/report",
        data=form,
        content_type="multipart/form-data",
        headers={"Referer": "http://lms.test/hazards/report"},
    )


def test_worker_reports_from_the_form(client, h):
    login(client, h.worker)
    page = client.get("/hazards/report").get_data(as_text=True)
    assert 'capture="environment"' in page and 'accept="image/*"' in page and "multiple" in page
    assert "二车间" in page and "用电安全" in page
    r = _post_report(client, h)
    assert r.status_code == 302
    hz = db.session.scalars(select(Hazard).where(Hazard.enterprise_id == h.ent.id)).one()
    assert hz.reporter_id == h.worker.id and hz.area_id == h.area.id and hz.place == "东墙"
    assert hz.latitude is None  # the enterprise does not keep locations
    stored = hz.photos[0]
    body = client.get(f"/hazards/photo/{stored.id}").data
    img = Image.open(io.BytesIO(body))
    assert img.format == "JPEG" and not img.getexif()  # no EXIF at all, GPS or not
    assert client.get(f"/hazards/{hz.id}").status_code == 200
    assert hz.code in client.get("/hazards/mine").get_data(as_text=True)


def test_location_kept_only_when_allowed(client, h):
    services.save_settings(h.ent.id, allow_anonymous=False, keep_location=True, actor=h.manager)
    login(client, h.worker)
    assert _post_report(client, h).status_code == 302
    hz = db.session.scalars(select(Hazard).where(Hazard.enterprise_id == h.ent.id)).one()
    assert hz.latitude == pytest.approx(31.24) and hz.longitude == pytest.approx(121.47)


def test_big_photo_is_resized(client, h):
    login(client, h.worker)
    big = jpeg_bytes(size=(4000, 3000))
    assert _post_report(client, h, photos=[(io.BytesIO(big), "big.jpg")]).status_code == 302
    hz = db.session.scalars(select(Hazard).where(Hazard.enterprise_id == h.ent.id)).one()
    assert (hz.photos[0].width, hz.photos[0].height) == (1600, 1200)


@pytest.mark.parametrize(
    "body,name",
    [
        (b"<html><script>alert(1)</script></html>", "x.jpg"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 5000, "broken.jpg"),  # a JPEG head and nothing of a picture
        (b"GIF89a" + b"\x00" * 100, "anim.gif"),
    ],
)
def test_not_a_picture_is_refused_with_the_field_named(client, h, body, name):
    login(client, h.worker)
    r = _post_report(client, h, photos=[(io.BytesIO(body), name)])
    if r.status_code == 302:  # refused from its first bytes, before the rest was read: back to the form
        assert r.headers["Location"].endswith("/hazards/report")
        r = client.get("/hazards/report")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "JPEG" in html and name in html
    assert db.session.scalar(select(func.count(Hazard.id)).where(Hazard.enterprise_id == h.ent.id)) == 0


def test_forged_choices_and_missing_fields(client, h, make_enterprise):
    other = make_enterprise()
    foreign = HazardArea(enterprise_id=other.id, name="外厂")
    db.session.add(foreign)
    db.session.flush()
    login(client, h.worker)
    for data in (
        {"area_id": str(foreign.id)},
        {"area_id": "abc"},
        {"category_id": "999999"},
        {"description": ""},
        {"area_id": "", "place": ""},
    ):
        r = _post_report(client, h, **data)
        assert r.status_code == 200, data
        assert 'class="error"' in r.get_data(as_text=True) or "flash-error" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Hazard.id)).where(Hazard.enterprise_id == h.ent.id)) == 0
    r = _post_report(client, h, anonymous="y")  # not allowed here: the checkbox is not even shown
    assert r.status_code == 200 and "本企业不接受匿名上报" in r.get_data(as_text=True)


def test_anonymous_report(client, h):
    services.save_settings(h.ent.id, allow_anonymous=True, keep_location=False, actor=h.manager)
    login(client, h.worker)
    assert 'name="anonymous"' in client.get("/hazards/report").get_data(as_text=True)
    r = _post_report(client, h, anonymous="y")
    assert r.status_code == 302 and r.headers["Location"].endswith("/hazards/report")
    hz = db.session.scalars(select(Hazard).where(Hazard.enterprise_id == h.ent.id)).one()
    assert hz.anonymous and hz.reporter_id is None
    assert client.get(f"/hazards/{hz.id}").status_code == 404  # the reporter cannot be told apart
    login(client, h.manager)
    page = client.get(f"/hazards/{hz.id}").get_data(as_text=True)
    details, history = page.split('<dl class="kv">')[1].split("</dl>")[0], page.split("hz-timeline")[-1]
    assert h.worker.display_name not in details and h.worker.display_name not in history


def _local(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M")


def test_the_whole_workflow_through_the_pages_in_local_time(client, h):
    hz = services.report(
        h.ent.id, h.worker, description="叉车通道堆放杂物", area_id=h.area.id, photos=[photo()]
    )
    db.session.flush()
    login(client, h.manager)
    page = client.get(f"/hazards/{hz.id}").get_data(as_text=True)
    assert "Grade and assign" in page or "评估" in page
    local_deadline = (dt.datetime.now() + 10 * DAY).replace(hour=17, minute=30, second=0, microsecond=0)
    r = client.post(
        f"/hazards/{hz.id}/act/assign",
        data={
            "a-grade": "general",
            "a-department_id": str(h.assignee_person.department_id),
            "a-assignee_id": str(h.assignee_person.id),
            "a-deadline": _local(local_deadline),
            "a-note": "尽快清理",
        },
    )
    assert r.status_code == 302
    assert hz.status == "assigned"
    assert hz.deadline == local_deadline - dt.timedelta(hours=8)  # Asia/Shanghai, stored UTC
    assert "17:30" in client.get(f"/hazards/{hz.id}").get_data(as_text=True)  # shown in local time

    # the worker may not verify or assign; the assignee rectifies with a photo
    login(client, h.worker)
    assert client.post(f"/hazards/{hz.id}/act/close", data={}).status_code in (403, 302)
    assert hz.status == "assigned"
    login(client, h.assignee)
    r = client.post(
        f"/hazards/{hz.id}/rectify",
        content_type="multipart/form-data",
        data={"r-note": "已清理", "r-photos": [(io.BytesIO(jpeg_bytes((10, 200, 10))), "after.jpg")]},
    )
    assert r.status_code == 302 and hz.status == "rectified"
    assert client.post(f"/hazards/{hz.id}/act/verify", data={}).status_code == 403  # not a manager

    login(client, h.manager)
    r = client.post(f"/hazards/{hz.id}/act/verify", data={"v-note": "复查合格"})
    assert r.status_code == 302 and hz.status == "verified"
    r = client.post(f"/hazards/{hz.id}/act/close", data={"n-note": ""})
    assert r.status_code == 302 and hz.status == "closed"
    history = client.get(f"/hazards/{hz.id}").get_data(as_text=True)
    for who in (h.worker.display_name, h.manager.display_name, h.assignee.display_name):
        assert who in history


def test_refusals_are_messages_not_errors(client, h):
    hz = services.report(h.ent.id, h.worker, description="x", area_id=h.area.id)
    db.session.flush()
    login(client, h.manager)
    cases = [
        {
            "a-grade": "general",
            "a-department_id": "",
            "a-assignee_id": str(h.assignee_person.id),
            "a-deadline": "2030-01-01T10:00",
        },
        {
            "a-grade": "general",
            "a-department_id": str(h.assignee_person.department_id),
            "a-assignee_id": str(h.assignee_person.id),
            "a-deadline": "2001-01-01T10:00",
        },
        {
            "a-grade": "huge",
            "a-department_id": str(h.assignee_person.department_id),
            "a-assignee_id": str(h.assignee_person.id),
            "a-deadline": "2030-01-01T10:00",
        },
        {
            "a-grade": "general",
            "a-department_id": str(h.assignee_person.department_id),
            "a-assignee_id": "12abc",
            "a-deadline": "not a date",
        },
    ]
    for data in cases:
        r = client.post(f"/hazards/{hz.id}/act/assign", data=data)
        assert r.status_code == 302, data
        page = client.get(r.headers["Location"]).get_data(as_text=True)
        assert "flash-error" in page, data
    assert hz.status == "reported"
    assert client.post(f"/hazards/{hz.id}/act/verify", data={}).status_code == 302  # wrong state: a message
    assert client.post(f"/hazards/{hz.id}/act/explode", data={}).status_code == 404
    r = client.post(f"/hazards/{hz.id}/act/dismiss", data={"n-note": ""})
    assert "flash-error" in client.get(r.headers["Location"]).get_data(as_text=True)
    assert hz.status == "reported"


def test_other_enterprise_gets_404_everywhere(client, h, make_enterprise, make_person):
    hz = services.assign(
        services.report(h.ent.id, h.worker, description="x", area_id=h.area.id, photos=[photo()]),
        h.manager,
        grade="general",
        department_id=h.assignee_person.department_id,
        assignee_id=h.assignee_person.id,
        deadline=dt.datetime(2099, 1, 1),
    )
    db.session.flush()
    other = make_enterprise()
    for role in ("manager", "learner"):
        login(client, make_person(other, app_role=role).user)
        assert client.get(f"/hazards/{hz.id}").status_code == 404
        assert client.get(f"/hazards/photo/{hz.photos[0].id}").status_code == 404
        assert client.post(f"/hazards/{hz.id}/act/reassign", data={}).status_code == 404
        assert client.post(f"/hazards/{hz.id}/rectify", data={}).status_code == 404
    # the other enterprise's lists show nothing of it
    assert hz.code not in client.get("/hazards/mine").get_data(as_text=True)
    login(client, make_person(other, app_role="manager").user)
    for url in (
        "/hazards/",
        "/hazards/list",
        "/hazards/board",
        "/hazards/board?by=department",
        "/hazards/monthly",
    ):
        assert hz.code not in client.get(url).get_data(as_text=True), url
    # a bystander in the same enterprise cannot open it either
    login(client, h.other)
    assert client.get(f"/hazards/{hz.id}").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/hazards/list",
        "/hazards/board",
        "/hazards/settings",
        "/hazards/monthly",
        "/hazards/export.xlsx",
        "/hazards/monthly.pdf",
        "/hazards/monthly.xlsx",
    ],
)
def test_manager_pages_refuse_workers(client, h, url):
    login(client, h.worker)
    assert client.get(url).status_code == 403


def test_regulator_sees_no_hazard_pages(client, make_user, h):
    login(client, make_user("regulator"))
    assert client.get("/hazards/report").status_code == 403
    assert client.get("/hazards/").status_code == 403


def test_worker_dashboard_redirects_to_mine(client, h):
    login(client, h.worker)
    r = client.get("/hazards/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/hazards/mine")


def test_forms_carry_csrf_and_refuse_without(app, client, h, monkeypatch):
    hz = services.report(h.ent.id, h.worker, description="x", area_id=h.area.id)
    db.session.flush()
    login(client, h.manager)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    for url in (f"/hazards/{hz.id}", "/hazards/settings", "/hazards/report"):
        assert 'name="csrf_token"' in client.get(url).get_data(as_text=True) or "csrf_token" in client.get(
            url
        ).get_data(as_text=True)
    r = client.post(f"/hazards/{hz.id}/act/dismiss", data={"n-note": "no"})
    assert hz.status == "reported"
    r = client.post("/hazards/settings/choice", data={"kind": "area", "name": "新区域"})
    assert r.status_code in (302, 400)
    assert "新区域" not in [a.name for a in services.areas(h.ent.id)]


def test_settings_areas_and_categories(client, h, make_enterprise):
    login(client, h.manager)
    assert client.post("/hazards/settings", data={"allow_anonymous": "y"}).status_code == 302
    assert services.settings_of(h.ent.id).allow_anonymous and not services.settings_of(h.ent.id).keep_location
    assert (
        client.post("/hazards/settings/choice", data={"kind": "area", "name": " 原料 仓库 "}).status_code
        == 302
    )
    assert "原料 仓库" in [a.name for a in services.areas(h.ent.id)]
    r = client.post("/hazards/settings/choice", data={"kind": "area", "name": "二车间"})
    assert "已在列表中" in client.get(r.headers["Location"]).get_data(as_text=True)
    r = client.post(
        "/hazards/settings/choice",
        data={"kind": "category", "item_id": str(h.category.id), "name": "电气安全"},
    )
    assert r.status_code == 302 and h.category.name == "电气安全" and not h.category.active
    other = make_enterprise()
    foreign = HazardCategory(enterprise_id=other.id, name="外")
    db.session.add(foreign)
    db.session.flush()
    r = client.post(
        "/hazards/settings/choice", data={"kind": "category", "item_id": str(foreign.id), "name": "改"}
    )
    assert r.status_code == 404 and foreign.name == "外"
    assert client.post("/hazards/settings/choice", data={"kind": "person", "name": "x"}).status_code == 400
    assert (
        client.post(
            "/hazards/settings/choice", data={"kind": "area", "item_id": "x1", "name": "x"}
        ).status_code
        == 400
    )


def test_manager_pages_render(client, h):
    a = services.report(
        h.ent.id, h.worker, description="重大：储罐区静电接地断开", area_id=h.area.id, photos=[photo()]
    )
    services.assign(
        a,
        h.manager,
        grade="major",
        department_id=h.assignee_person.department_id,
        assignee_id=h.assignee_person.id,
        deadline=dt.datetime(2099, 1, 1),
    )
    services.report(h.ent.id, h.worker, description="楼梯扶手松动", place="办公楼")
    db.session.flush()
    login(client, h.manager)
    for url in (
        "/hazards/",
        "/hazards/list",
        "/hazards/list?status=assigned&grade=major&overdue=1&q=储罐&page=2",
        "/hazards/list?department_id=abc&area_id=-1",
        "/hazards/board",
        "/hazards/board?by=department",
        "/hazards/board?by=area",
        "/hazards/board?by=nonsense",
        "/hazards/settings",
        "/hazards/monthly",
        "/hazards/monthly?month=2026-13",
        "/hazards/monthly?month=1999-01",
        f"/hazards/{a.id}",
    ):
        r = client.get(url)
        assert r.status_code == 200, url
    assert "储罐区" in client.get("/hazards/board").get_data(as_text=True)
    assert "二车间" in client.get("/hazards/board?by=area").get_data(as_text=True)


def test_assign_form_narrows_people_to_the_department(client, h):
    hz = services.report(h.ent.id, h.worker, description="x", area_id=h.area.id)
    db.session.flush()
    login(client, h.manager)
    page = client.get(f"/hazards/{hz.id}").get_data(as_text=True)
    assert 'data-dept-filter="a-department_id"' in page and "/hazards/static/hazards/assign.js" in page
    assert f'<option value="{h.assignee_person.id}" data-path="二车间/维修班">' in page
    assert client.get("/hazards/static/hazards/assign.js").status_code == 200
