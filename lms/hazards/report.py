"""The monthly hazard report (found, rectified, overdue, major) as figures, a PDF and an xlsx; culture figures.

A month is the enterprise's local calendar month; stored times are UTC. Rectified means the rectification was
accepted (verified) in the month; on time means the accepted rectification was reported by the deadline in
force when it was reported (read from the event log).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import aliased

from lms.core import timeutil
from lms.core.db import db, utcnow
from lms.core.exports import write_xlsx
from lms.hazards import services
from lms.hazards.models import MAJOR, OPEN_STATUSES, OVERDUE_STATUSES, Hazard, HazardEvent
from lms.org.models import Department, Enterprise


def month_bounds(enterprise: Enterprise, year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    """The naive-UTC [start, end) of a local calendar month of the enterprise."""
    first = dt.date(year, month, 1)
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return timeutil.local_day_bounds(first, enterprise)[0], timeutil.local_day_bounds(nxt, enterprise)[0]


def accepted_rectifications(
    enterprise_id: int, start: dt.datetime, end: dt.datetime, assignees: Select[Any] | None = None
) -> list[tuple[int, bool]]:
    """(hazard id, on time) for each acceptance (verify) in [start, end), in event order.

    On time: the rectification it accepted (the last ``rectify`` event before it) was reported at or before the
    deadline in force then. ``assignees``: only hazards whose responsible person is among these person ids.
    """
    rect = aliased(HazardEvent)
    last_rect = (
        select(func.max(rect.id))
        .where(rect.hazard_id == HazardEvent.hazard_id, rect.action == "rectify", rect.id < HazardEvent.id)
        .correlate(HazardEvent)
        .scalar_subquery()
    )
    shown = aliased(HazardEvent)
    q = (
        select(HazardEvent.id, HazardEvent.hazard_id, shown.at, shown.deadline)
        .join(shown, shown.id == last_rect)
        .where(
            HazardEvent.enterprise_id == enterprise_id,
            HazardEvent.action == "verify",
            HazardEvent.at >= start,
            HazardEvent.at < end,
        )
        .order_by(HazardEvent.id)
    )
    if assignees is not None:
        q = q.join(Hazard, Hazard.id == HazardEvent.hazard_id).where(Hazard.assignee_id.in_(assignees))
    return [
        (hazard_id, deadline is None or at <= deadline)
        for _id, hazard_id, at, deadline in db.session.execute(q)
    ]


@dataclass
class MonthlyReport:
    enterprise: Enterprise
    year: int
    month: int
    start: dt.datetime
    end: dt.datetime
    as_of: dt.datetime  # the month's end, or now for the month in progress
    found: int = 0
    found_major: int = 0
    rectified: int = 0
    rectified_on_time: int = 0
    open_at_end: int = 0
    overdue_at_end: int = 0
    major_open_at_end: int = 0
    major_overdue_at_end: int = 0
    by_department: list[dict[str, Any]] = field(default_factory=list)
    by_category: list[tuple[str, int]] = field(default_factory=list)
    listed: list[Hazard] = field(default_factory=list)  # major or overdue at the end, and the month's major
    overdue_ids: set[int] = field(default_factory=set)  # of the listed, those overdue at the end

    @property
    def label(self) -> str:
        return f"{self.year}-{self.month:02d}"

    @property
    def on_time_share(self) -> float | None:
        return self.rectified_on_time / self.rectified if self.rectified else None


def monthly(enterprise: Enterprise, year: int, month: int, now: dt.datetime | None = None) -> MonthlyReport:
    """Compute the month's figures for ``enterprise`` (set-based queries; the listed hazards loaded once)."""
    start, end = month_bounds(enterprise, year, month)
    as_of = min(end, now or utcnow())
    rep = MonthlyReport(enterprise, year, month, start, end, as_of)
    ent_id = enterprise.id
    in_month = and_(Hazard.enterprise_id == ent_id, Hazard.reported_at >= start, Hazard.reported_at < end)
    rep.found = db.session.scalar(select(func.count(Hazard.id)).where(in_month)) or 0
    rep.found_major = (
        db.session.scalar(select(func.count(Hazard.id)).where(in_month, Hazard.grade == MAJOR)) or 0
    )
    accepted = accepted_rectifications(ent_id, start, end)
    rep.rectified = len(accepted)
    rep.rectified_on_time = sum(1 for _h, ok in accepted if ok)
    counts = services.hazard_counts([ent_id], as_of)[ent_id]
    rep.open_at_end, rep.overdue_at_end = counts["open"], counts["overdue"]
    rep.major_open_at_end, rep.major_overdue_at_end = counts["major_open"], counts["major_overdue"]

    state = services.state_as_of([ent_id], as_of)
    overdue_ids = set(
        db.session.scalars(
            select(state.c.hazard_id).where(state.c.to_status.in_(OVERDUE_STATUSES), state.c.deadline < as_of)
        )
    )
    major_open_ids = set(
        db.session.scalars(
            select(state.c.hazard_id).where(state.c.to_status.in_(OPEN_STATUSES), state.c.grade == MAJOR)
        )
    )
    month_major_ids = set(db.session.scalars(select(Hazard.id).where(in_month, Hazard.grade == MAJOR)))
    ids = overdue_ids | major_open_ids | month_major_ids
    rep.listed = (
        list(db.session.scalars(select(Hazard).where(Hazard.id.in_(ids)).order_by(Hazard.id))) if ids else []
    )
    rep.overdue_ids = overdue_ids

    # by department (responsible): found in the month, accepted in the month, overdue at the end
    found_by = dict(
        db.session.execute(
            select(Hazard.department_id, func.count(Hazard.id)).where(in_month).group_by(Hazard.department_id)
        ).all()
    )
    accepted_ids = [h for h, _ok in accepted]
    acc_by: dict[Any, int] = {}
    on_time_by: dict[Any, int] = {}
    if accepted_ids:
        dept_of = dict(
            db.session.execute(
                select(Hazard.id, Hazard.department_id).where(Hazard.id.in_(accepted_ids))
            ).all()
        )
        for hid, ok in accepted:
            d = dept_of.get(hid)
            acc_by[d] = acc_by.get(d, 0) + 1
            on_time_by[d] = on_time_by.get(d, 0) + (1 if ok else 0)
    over_by: dict[Any, int] = {}
    if overdue_ids:
        for d, n in db.session.execute(
            select(Hazard.department_id, func.count(Hazard.id))
            .where(Hazard.id.in_(overdue_ids))
            .group_by(Hazard.department_id)
        ):
            over_by[d] = n
    dept_ids = {d for d in (*found_by, *acc_by, *over_by) if d is not None}
    names = (
        dict(
            db.session.execute(
                select(Department.id, Department.path).where(Department.id.in_(dept_ids))
            ).all()
        )
        if dept_ids
        else {}
    )
    keys = sorted(set(found_by) | set(acc_by) | set(over_by), key=lambda d: (d is None, names.get(d, "")))
    rep.by_department = [
        {
            "department": names.get(d) if d is not None else _("Not yet assigned"),
            "found": found_by.get(d, 0),
            "rectified": acc_by.get(d, 0),
            "on_time": on_time_by.get(d, 0),
            "overdue": over_by.get(d, 0),
        }
        for d in keys
    ]
    from lms.hazards.models import HazardCategory

    rep.by_category = [
        (name or _("Uncategorised"), n)
        for name, n in db.session.execute(
            select(HazardCategory.name, func.count(Hazard.id))
            .select_from(Hazard)
            .outerjoin(HazardCategory, HazardCategory.id == Hazard.category_id)
            .where(in_month)
            .group_by(HazardCategory.name)
            .order_by(func.count(Hazard.id).desc(), HazardCategory.name)
        )
    ]
    return rep


def _summary_rows(rep: MonthlyReport) -> list[list[Any]]:
    share = f"{rep.on_time_share * 100:.0f}%" if rep.on_time_share is not None else "—"
    return [
        [_("Hazards found"), rep.found],
        [_("of which major"), rep.found_major],
        [_("Rectified and accepted"), rep.rectified],
        [_("of which on time"), f"{rep.rectified_on_time} ({share})"],
        [_("Open at the end of the month"), rep.open_at_end],
        [_("Overdue at the end of the month"), rep.overdue_at_end],
        [_("Major hazards open at the end of the month"), rep.major_open_at_end],
        [_("Major hazards overdue at the end of the month"), rep.major_overdue_at_end],
    ]


def _listed_rows(rep: MonthlyReport) -> list[list[Any]]:
    overdue = rep.overdue_ids
    return [
        [
            h.code,
            h.reported_at,
            str(services.GRADE_LABELS.get(h.grade, "—")) if h.grade else "—",
            services.place_label(h),
            h.description,
            h.department.path if h.department else "",
            h.assignee.name if h.assignee else "",
            h.deadline,
            str(services.STATUS_LABELS.get(h.status, h.status)),
            _("Yes") if h.id in overdue else "",
        ]
        for h in rep.listed
    ]


def _listed_headers() -> list[str]:
    return [
        _("Number"),
        _("Reported at"),
        _("Grade"),
        _("Place"),
        _("Description"),
        _("Responsible department"),
        _("Responsible person"),
        _("Deadline"),
        _("State"),
        _("Overdue"),
    ]


def monthly_xlsx(rep: MonthlyReport) -> bytes:
    """The monthly report as an xlsx: summary, by department, by category, the major and overdue hazards."""
    buf = io.BytesIO()
    with timeutil.use_zone(rep.enterprise):
        write_xlsx(
            buf,
            {
                _("Summary"): ([_("Figure"), rep.label], _summary_rows(rep)),
                _("By department"): (
                    [
                        _("Responsible department"),
                        _("Found"),
                        _("Rectified and accepted"),
                        _("of which on time"),
                        _("Overdue at the end of the month"),
                    ],
                    [
                        [r["department"], r["found"], r["rectified"], r["on_time"], r["overdue"]]
                        for r in rep.by_department
                    ],
                ),
                _("By category"): ([_("Category"), _("Found")], [list(r) for r in rep.by_category]),
                _("Major and overdue"): (_listed_headers(), _listed_rows(rep)),
            },
            title=f"{rep.enterprise.name} {_('Monthly hazard report')} {rep.label}",
        )
    return buf.getvalue()


def monthly_pdf(rep: MonthlyReport) -> bytes:
    """The monthly report as a PDF (A4, Chinese fonts embedded): the figures, then the tables."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import LongTable, SimpleDocTemplate, Spacer

    from lms.core.pdf import cjk_font_name, paragraph_styles, text_paragraph

    font = cjk_font_name()
    styles = paragraph_styles()
    buf = io.BytesIO()
    title = f"{rep.enterprise.name} · {_('Monthly hazard report')} {rep.label}"
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=title,
        creator="safety-lms",
    )

    def table(headers: list[str], rows: list[list[Any]], widths: list[float] | None = None) -> LongTable:
        data = [[text_paragraph(h, styles["cell_header"]) for h in headers]]
        for row in rows or [["—"] + [""] * (len(headers) - 1)]:
            data.append([text_paragraph(_cell(v, rep.enterprise), styles["cell"]) for v in row])
        t = LongTable(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
        t.setStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#999999")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1f4e79")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
        return t

    generated = timeutil.format_local(utcnow(), rep.enterprise)
    story: list[Any] = [
        text_paragraph(title, styles["title"]),
        text_paragraph(
            _("Local month %(month)s; generated %(at)s", month=rep.label, at=generated), styles["subtitle"]
        ),
        Spacer(1, 4 * mm),
        table([_("Figure"), rep.label], _summary_rows(rep), [120 * mm, 55 * mm]),
        Spacer(1, 6 * mm),
        text_paragraph(_("By responsible department"), styles["heading"]),
        table(
            [
                _("Responsible department"),
                _("Found"),
                _("Rectified and accepted"),
                _("of which on time"),
                _("Overdue at the end of the month"),
            ],
            [
                [r["department"], r["found"], r["rectified"], r["on_time"], r["overdue"]]
                for r in rep.by_department
            ],
            [65 * mm, 25 * mm, 30 * mm, 25 * mm, 35 * mm],
        ),
        Spacer(1, 6 * mm),
        text_paragraph(_("By category"), styles["heading"]),
        table([_("Category"), _("Found")], [list(r) for r in rep.by_category], [120 * mm, 55 * mm]),
        Spacer(1, 6 * mm),
        text_paragraph(_("Major and overdue hazards"), styles["heading"]),
        table(
            [
                _("Number"),
                _("Grade"),
                _("Place"),
                _("Description"),
                _("Responsible person"),
                _("Deadline"),
                _("State"),
            ],
            [
                [r[0], r[2], r[3], r[4], r[6], r[7], r[8] + (" · " + _("Overdue") if r[9] else "")]
                for r in _listed_rows(rep)
            ],
            [20 * mm, 18 * mm, 28 * mm, 50 * mm, 20 * mm, 22 * mm, 22 * mm],
        ),
    ]
    doc.build(story)
    return buf.getvalue()


def _cell(value: Any, enterprise: Enterprise) -> str:
    if isinstance(value, dt.datetime):
        return timeutil.format_local(value, enterprise)
    if value is None:
        return ""
    return str(value)


def reported_counts(
    enterprise_id: int, start: dt.datetime, end: dt.datetime, people: Select[Any] | None = None
) -> tuple[int, int]:
    """(hazards reported in [start, end), distinct people who reported them under their name).

    ``people``: only reports by these person ids (then anonymous reports, which name nobody, cannot count);
    None: every report of the enterprise, anonymous ones included.
    """
    q = select(func.count(Hazard.id), func.count(func.distinct(Hazard.reporter_person_id))).where(
        Hazard.enterprise_id == enterprise_id, Hazard.reported_at >= start, Hazard.reported_at < end
    )
    if people is not None:
        q = q.where(Hazard.reporter_person_id.in_(people))
    hazards, reporters = db.session.execute(q).one()
    return int(hazards or 0), int(reporters or 0)
