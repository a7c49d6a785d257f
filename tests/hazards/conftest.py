"""Fixtures of the hazard tests: an enterprise with a safety manager, a second manager, a worker, an assignee."""

from __future__ import annotations

import datetime as dt
import io
from types import SimpleNamespace
from typing import Any

import pytest
from PIL import Image

from lms.hazards import services
from lms.hazards.models import HazardArea

NOW = dt.datetime(2026, 12, 1, 2, 0)  # 10:00 in Shanghai


def jpeg_bytes(
    color: tuple[int, int, int] = (200, 60, 40), size: tuple[int, int] = (640, 480), exif: Any = None
) -> bytes:
    buf = io.BytesIO()
    img = Image.new("RGB", size, color)
    if exif is not None:
        img.save(buf, "JPEG", exif=exif)
    else:
        img.save(buf, "JPEG")
    return buf.getvalue()


def photo(color: tuple[int, int, int] = (200, 60, 40)) -> services.Photo:
    from lms.hazards.media import process_photo

    return process_photo(jpeg_bytes(color), "p.jpg")


@pytest.fixture
def h(enterprise: Any, make_person: Any) -> SimpleNamespace:
    """The cast: manager, manager2, worker (reporter), assignee (in 二车间), other (a bystander learner)."""
    manager = make_person(enterprise, name="安全员张", department="安环部", app_role="manager").user
    manager2 = make_person(enterprise, name="安全员李", department="安环部", app_role="manager").user
    worker = make_person(enterprise, name="操作工王").user
    assignee_person = make_person(enterprise, name="班长赵", department="二车间/维修班")
    other = make_person(enterprise, name="旁人钱").user
    area = HazardArea(enterprise_id=enterprise.id, name="二车间", sort_order=10)
    from lms.core.db import db

    db.session.add(area)
    db.session.flush()
    services.ensure_presets(enterprise.id)
    return SimpleNamespace(
        ent=enterprise,
        manager=manager,
        manager2=manager2,
        worker=worker,
        assignee=assignee_person.user,
        assignee_person=assignee_person,
        other=other,
        area=area,
        category=services.categories(enterprise.id)[0],
    )
