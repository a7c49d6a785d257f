"""Person columns say 姓名, thing names say 名称 (issue 18): the exports whose package catalogue translates a
bare "Name" as 名称 (a requirement's, a framework's) head their person column with the person context."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl

from lms.core.db import db
from lms.culture import notices
from lms.training.models import Exemption
from tests.training.helpers import requirement


def _head(resp) -> list:
    assert resp.status_code == 200, resp.status_code
    wb = openpyxl.load_workbook(io.BytesIO(resp.data))
    for row in wb.active.iter_rows(values_only=True):
        if row and "工号" in row:  # below the title rows, the header row starts with the employee number
            return list(row)
    raise AssertionError("no header row")


def test_person_columns_say_xingming(client, enterprise, make_person):
    manager = make_person(enterprise, name="陆经理", app_role="manager")
    learner = make_person(enterprise, name="甲一", hire_date=dt.date(2020, 1, 1))
    req = requirement(enterprise, name="年度再培训")
    db.session.add(
        Exemption(
            enterprise_id=enterprise.id,
            person_id=learner.id,
            requirement_id=req.id,
            reason="长期病假",
            valid_from=dt.date(2020, 1, 1),
            granted_by_id=manager.user.id,
        )
    )
    n = notices.save_notice(
        enterprise.id,
        title="关于冬季防火的通知",
        body_md="注意防火",
        targets=[],
        audience_all=True,
        actor=None,
    )
    notices.publish_notice(n, manager.user)
    db.session.commit()
    from tests.conftest import login

    login(client, manager.user)
    for url in (
        f"/culture/notices/{n.id}/pending.xlsx",
        "/training/list?format=xlsx",
        "/training/exemptions?format=xlsx",
    ):
        head = _head(client.get(url))
        assert "姓名" in head and "名称" not in head, (url, head)
