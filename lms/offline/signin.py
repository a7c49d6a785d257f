"""Sign-in sheets to print before a session: prefilled xlsx, printable PDF with a signature column, blank template.

The prefilled sheet's title names the session (``场次编号 #12``) so that, filled in and uploaded again, it
finds its session by itself; its columns are those the attendance importer reads.
"""

from __future__ import annotations

import io

from lms.core.exports import xlsx_bytes
from lms.core.pdf import simple_table_pdf
from lms.core.timeutil import to_local
from lms.offline.models import OfflineSession
from lms.offline.services import LEVEL_LABELS_ZH, audience
from lms.org.models import Person

XLSX_HEADERS = ["序号", "工号", "姓名", "部门", "岗位", "签到时间", "签名", "考核成绩"]
PDF_HEADERS = ["序号", "工号", "姓名", "部门", "签到时间", "签名", "成绩"]
BLANK_ROWS = 5  # extra lines for walk-ins
TEMPLATE_ROWS = 30


def _hours_text(session: OfflineSession) -> str:
    return format(session.hours.normalize(), "f") if session.hours is not None else ""


def session_title(session: OfflineSession) -> str:
    """Return the one-line heading of a session's sign-in sheet."""
    return f"{session.topic} 培训签到表"


def session_subtitle(session: OfflineSession) -> str:
    """Return the details line: session number, time, place, level, hours, instructor."""
    starts, ends = to_local(session.starts_at, session), to_local(session.ends_at, session)
    when = starts.strftime("%Y-%m-%d %H:%M")
    if ends:
        when += "-" + ends.strftime("%H:%M" if ends.date() == starts.date() else "%Y-%m-%d %H:%M")
    parts = [f"场次编号：#{session.id}", f"培训时间：{when}"]
    if session.location:
        parts.append(f"地点：{session.location}")
    parts.append(f"级别：{LEVEL_LABELS_ZH.get(session.level, '其他')}")
    parts.append(f"学时：{_hours_text(session)}")
    if session.instructor:
        parts.append(f"讲师：{session.instructor}")
    return "  ".join(parts)


def _people_rows(people: list[Person]) -> list[list[str]]:
    return [
        [
            str(i),
            p.employee_no,
            p.name,
            p.department.path if p.department else "",
            p.post.name if p.post else "",
        ]
        for i, p in enumerate(people, 1)
    ]


def signin_xlsx(session: OfflineSession) -> bytes:
    """Return the sign-in sheet prefilled with the target audience (xlsx)."""
    rows = [row + ["", "", ""] for row in _people_rows(audience(session))]
    title = f"{session_title(session)}  {session_subtitle(session)}"
    return xlsx_bytes(XLSX_HEADERS, rows, sheet_title=f"#{session.id}", title=title)


def signin_pdf(session: OfflineSession) -> bytes:
    """Return the printable sign-in sheet (A4, Chinese, a wide signature column)."""
    people = audience(session)
    rows: list[list[str]] = [[r[0], r[1], r[2], r[3], "", "", ""] for r in _people_rows(people)]
    start = len(rows)
    rows += [[str(start + i), "", "", "", "", "", ""] for i in range(1, BLANK_ROWS + 1)]
    out = io.BytesIO()
    # mm-free widths in points on A4 portrait (180 mm of usable width ≈ 510 pt)
    widths = [30, 60, 62, 110, 70, 118, 50]
    simple_table_pdf(
        out,
        session_title(session),
        session_subtitle(session),
        PDF_HEADERS,
        rows,
        col_widths=widths,
        footer="培训讲师签字：__________    记录人：__________    审核：__________",
        author=session.instructor or None,
    )
    return out.getvalue()


def blank_template_xlsx() -> bytes:
    """Return an empty sign-in sheet with the columns the importer reads."""
    rows = [[str(i), "", "", "", "", "", "", ""] for i in range(1, TEMPLATE_ROWS + 1)]
    return xlsx_bytes(
        XLSX_HEADERS,
        rows,
        sheet_title="签到表",
        title="培训签到表  场次编号：#____  培训主题：__________  培训时间：__________  学时：____",
    )


REGISTER_HEADERS = ["序号", "工号", "姓名", "部门", "签到时间", "签退时间", "时长(分钟)", "学时"]


def _register_rows(session: OfflineSession) -> list[list[str]]:
    """Who checked in by QR code (in order of arrival), then who of the expected people did not (未到)."""
    from lms.offline.checkin import live_list

    live = live_list(session)
    rows: list[list[str]] = []
    for row in live.rows:
        p, ci = row.person, row.check_in
        out = to_local(ci.checked_out_at, session)
        rows.append(
            [
                str(len(rows) + 1),
                p.employee_no,
                p.name,
                p.department.path if p.department else "",
                to_local(ci.checked_in_at, session).strftime("%H:%M:%S"),
                out.strftime("%H:%M:%S") if out else "",
                str(row.minutes) if row.minutes is not None else "",
                format(row.hours.normalize(), "f"),
            ]
        )
    for p in live.missing:
        rows.append(
            [
                str(len(rows) + 1),
                p.employee_no,
                p.name,
                p.department.path if p.department else "",
                "未到",
                "",
                "",
                "",
            ]
        )
    return rows


def checkin_register_title(session: OfflineSession) -> str:
    """Return the heading of a session's QR check-in register."""
    return f"{session.topic} 扫码签到记录"


def checkin_register_pdf(session: OfflineSession) -> bytes:
    """Return the printable register of a session's QR check-ins (A4, Chinese), for the paper archive."""
    out = io.BytesIO()
    simple_table_pdf(
        out,
        checkin_register_title(session),
        session_subtitle(session),
        REGISTER_HEADERS,
        _register_rows(session),
        col_widths=[28, 56, 60, 100, 62, 62, 52, 40],
        footer="组织人签字：__________    记录人：__________    审核：__________",
        author=session.instructor or None,
    )
    return out.getvalue()


def checkin_register_xlsx(session: OfflineSession) -> bytes:
    """Return the same register as a spreadsheet (the safe export writer: no formulas from names)."""
    title = f"{checkin_register_title(session)}  {session_subtitle(session)}"
    return xlsx_bytes(REGISTER_HEADERS, _register_rows(session), sheet_title=f"#{session.id}", title=title)
