"""The monthly report (figures recomputed by hand, PDF read back with pypdf, xlsx with openpyxl) and the export."""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import load_workbook
from pypdf import PdfReader

from lms.core.db import db
from lms.hazards import report, services
from tests.hazards.conftest import photo
from tests.hazards.test_views import login

DAY = dt.timedelta(days=1)
# November 2026 in Shanghai: [2026-10-31 16:00, 2026-11-30 16:00) UTC
NOV_START, NOV_END = dt.datetime(2026, 10, 31, 16, 0), dt.datetime(2026, 11, 30, 16, 0)


def _world(h):
    """Hazards around November 2026 (Shanghai), each with a known fate."""

    def rep(at, text, **kw):
        return services.report(
            h.ent.id, h.worker, description=text, area_id=h.area.id, category_id=h.category.id, now=at, **kw
        )

    def assign(hz, grade, deadline, at):
        return services.assign(
            hz,
            h.manager,
            grade=grade,
            department_id=h.assignee_person.department_id,
            assignee_id=h.assignee_person.id,
            deadline=deadline,
            now=at,
            plan={
                "plan_measures": "m",
                "plan_responsibility": "r",
                "plan_funds": "1",
                "plan_time_limit": "t",
                "plan_contingency": "c",
            }
            if grade == "major"
            else None,
        )

    def fix(hz, at, accept_at):
        services.rectify(hz, h.assignee, note="ok", photos=[photo()], now=at)
        services.verify(hz, h.manager, passed=True, now=accept_at)

    # reported 2026-10-31 23:30 Shanghai (15:30 UTC): October, not November
    october = rep(NOV_START - dt.timedelta(minutes=30), "十月最后一刻")
    # reported 2026-11-01 00:10 Shanghai: November; on time, accepted in November
    a = rep(NOV_START + dt.timedelta(minutes=10), "A 按时整改")
    assign(a, "general", NOV_START + 5 * DAY, NOV_START + DAY)
    fix(a, NOV_START + 3 * DAY, NOV_START + 4 * DAY)
    # major, late rectification, accepted in November
    b = rep(NOV_START + 2 * DAY, "B 重大 逾期整改")
    assign(b, "major", NOV_START + 4 * DAY, NOV_START + 2 * DAY + dt.timedelta(hours=1))
    fix(b, NOV_START + 6 * DAY, NOV_START + 7 * DAY)
    # overdue at the end of November, the formula-looking description of a prankster
    c = rep(NOV_START + 10 * DAY, '=HYPERLINK("http://evil.example","点我")')
    assign(c, "general", NOV_START + 20 * DAY, NOV_START + 11 * DAY)
    # major, open (not overdue) at the end of November
    d = rep(NOV_START + 25 * DAY, "D 重大 未到期")
    assign(d, "major", NOV_END + 10 * DAY, NOV_START + 26 * DAY)
    # rectified in time in November but accepted in December: not counted in November
    e = rep(NOV_START + 27 * DAY, "E")
    assign(e, "general", NOV_END + 5 * DAY, NOV_START + 27 * DAY)
    fix(e, NOV_START + 28 * DAY, NOV_END + DAY)
    db.session.flush()
    return october, a, b, c, d, e


def test_monthly_figures(h):
    october, a, b, c, d, e = _world(h)
    rep = report.monthly(h.ent, 2026, 11, now=NOV_END + 3 * DAY)
    assert (rep.start, rep.end) == (NOV_START, NOV_END)
    assert rep.found == 5 and rep.found_major == 2
    assert rep.rectified == 2 and rep.rectified_on_time == 1 and rep.on_time_share == 0.5
    # at the end of November: october still to be graded, c overdue, d open (major), e awaiting acceptance
    assert (rep.open_at_end, rep.overdue_at_end, rep.major_open_at_end, rep.major_overdue_at_end) == (
        4,
        1,
        1,
        0,
    )
    assert [x.id for x in rep.listed] == sorted([b.id, c.id, d.id])
    assert rep.by_department == [
        {"department": "二车间/维修班", "found": 5, "rectified": 2, "on_time": 1, "overdue": 1}
    ]
    assert rep.by_category == [(h.category.name, 5)]
    # recomputed another way: from the hazards themselves
    found = [x for x in (october, a, b, c, d, e) if NOV_START <= x.reported_at < NOV_END]
    assert len(found) == rep.found
    october_rep = report.monthly(h.ent, 2026, 10, now=NOV_END + 3 * DAY)
    assert october_rep.found == 1 and october_rep.rectified == 0


def test_monthly_pdf_reads_back(client, h):
    _world(h)
    login(client, h.manager)
    r = client.get("/hazards/monthly.pdf?month=2026-11")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.data)).pages)
    assert "2026-11" in text and h.ent.name in text
    assert "重大" in text or "Major" in text
    assert "D 重大 未到期" in text  # the listed major hazard


def test_monthly_xlsx_and_export_are_safe(client, h):
    _october, _a, b, _c, d, _e = _world(h)
    login(client, h.manager)
    r = client.get("/hazards/monthly.xlsx?month=2026-11")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.data))
    summary = wb.worksheets[0]
    values = [[c.value for c in row] for row in summary.iter_rows()]
    assert any(row[1] == 5 for row in values)  # found
    listed = wb.worksheets[-1]
    cells = [c.value for row in listed.iter_rows() for c in row]
    assert any(isinstance(v, str) and v.startswith("'=HYPERLINK") for v in cells)
    assert all(c.data_type != "f" for row in listed.iter_rows() for c in row)

    r = client.get("/hazards/export.xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.data)).worksheets[0]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    texts = [v for row in rows for v in row if isinstance(v, str)]
    assert '\'=HYPERLINK("http://evil.example","点我")' in texts
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    # times are local (Shanghai): the October hazard was reported 2026-10-31 23:30 local
    assert any(
        isinstance(v, dt.datetime) and v == dt.datetime(2026, 10, 31, 23, 30) for row in rows for v in row
    )
    # the export follows the list's filters
    r = client.get("/hazards/export.xlsx?grade=major")
    ws = load_workbook(io.BytesIO(r.data)).worksheets[0]
    assert [row[0].value for row in ws.iter_rows(min_row=2)] == [b.code, d.code]
