"""The learner's other parts of issue 18: course cards with covers (checked by content, or drawn), the player's
renditions, and practice feedback that says what I answered and what the key is."""

from __future__ import annotations

import io

from PIL import Image

from courses import services as courses
from courses.covers import cover_svg
from courses.models import READY, Course, VideoAsset
from lms.core.db import db
from tests.conftest import login


def _png(size=(320, 180), colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def _form(title: str, cover: tuple[bytes, str] | None) -> dict:
    data = {
        "title": title,
        "description": "",
        "category": "用电安全",
        "hours": "2",
        "max_playback_rate": "1.5",
        "completion_threshold": "90",
        "min_reading_seconds": "60",
        "self_enrol": "y",
    }
    if cover is not None:
        data["cover"] = (io.BytesIO(cover[0]), cover[1])
    return data


def _course(ent, title, category="用电安全"):
    course = courses.create_course(ent.id, title=title, category=category, hours=2)
    section = courses.add_section(course, "第一章")
    video = courses.add_lesson(section, "video", "视频")
    video.duration = 600.0
    db.session.add(
        VideoAsset(
            lesson_id=video.id,
            token=f"tok-card-{video.id}",
            status=READY,
            duration=600.0,
            renditions=[
                {"label": "720p", "height": 720, "width": 1280, "key": "x720"},
                {"label": "360p", "height": 360, "width": 640, "key": "x360"},
            ],
        )
    )
    courses.add_lesson(section, "text", "正文", body_markdown="正文")
    db.session.flush()
    courses.set_status(course, "published")
    return course, video


def test_a_trainer_uploads_a_cover_checked_by_its_content(client, login_as, enterprise):
    login_as("trainer")
    r = client.post(
        "/courses/new", data=_form("电气安全", (_png(), "封面.png")), content_type="multipart/form-data"
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    course = db.session.query(Course).filter_by(title="电气安全").one()
    assert course.cover is not None and course.cover.original_name.endswith(".png")
    got = client.get(f"/courses/{course.id}/cover")
    assert got.status_code == 200 and got.data[:8] == b"\x89PNG\r\n\x1a\n"

    # A text file named .jpg, and an image renamed as another kind: refused or stored as what it is.
    refused = client.post(
        "/courses/new",
        data=_form("伪装封面", (b"<script>alert(1)</script>", "x.jpg")),
        content_type="multipart/form-data",
    )
    assert refused.status_code == 302
    assert "封面须为图片" in client.get("/courses/new").get_data(as_text=True)  # said, nothing stored
    assert db.session.query(Course).filter_by(title="伪装封面").count() == 0
    client.post(
        "/courses/new", data=_form("改名的图片", (_png(), "photo.gif")), content_type="multipart/form-data"
    )
    renamed = db.session.query(Course).filter_by(title="改名的图片").one()
    assert renamed.cover.original_name.endswith(".png")


def test_cards_show_cover_hours_duration_and_progress(client, enterprise, make_person, make_enterprise):
    p = make_person(enterprise)
    course, video = _course(enterprise, "有限空间作业安全")
    courses.assign(course, [p])
    db.session.flush()
    login(client, p.user)
    my = client.get("/courses/my").get_data(as_text=True)
    assert f'src="/courses/{course.id}/cover.svg"' in my
    assert "2 学时" in my and "视频 10 分钟" in my and "课时数：2" in my
    assert 'role="progressbar"' in my and "已完成 0%" in my
    catalogue = client.get("/courses/catalogue").get_data(as_text=True)
    assert f'src="/courses/{course.id}/cover.svg"' in catalogue

    svg = client.get(f"/courses/{course.id}/cover.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    text = svg.get_data(as_text=True)
    assert ">有限<" in text and "用电安全" in text and "<script" not in text

    # Another enterprise's course: no cover, no card.
    other, _ = _course(make_enterprise(), "别家的课")
    assert client.get(f"/courses/{other.id}/cover.svg").status_code == 404


def test_drawn_cover_escapes_the_title_and_takes_latin_initials(enterprise):
    course = Course(title='Confined "space" <entry>', category="<x>", enterprise_id=enterprise.id)
    svg = cover_svg(course)
    assert "<entry>" not in svg and "<x>" not in svg and "&lt;x&gt;" in svg
    assert ">CS<" in svg  # the first letters of the first two words


def test_the_player_offers_720p_and_360p(client, enterprise, make_person):
    p = make_person(enterprise)
    course, video = _course(enterprise, "视频课")
    courses.assign(course, [p])
    db.session.flush()
    login(client, p.user)
    html = client.get(f"/courses/lessons/{video.id}").get_data(as_text=True)
    assert 'data-label="720p"' in html and 'data-label="360p"' in html
    assert 'data-height="720"' in html and 'preload="none"' in html  # player.js picks the rendition first
