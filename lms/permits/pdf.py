"""A permit as a printable A4 PDF: work, place, local time window, people with roles and results, who checked,
and a QR code that opens the live re-check page (signed-in staff of the enterprise see the people checked now)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from lms.core.pdf import cell_text, cjk_font_name, escape, paragraph_styles, text_paragraph
from lms.core.timeutil import format_span
from lms.permits.models import APPROVED, Permit


def qr_drawing(payload: str, size: float = 32 * mm) -> Drawing:
    """A QR code of ``payload`` as a reportlab drawing of ``size`` points."""
    widget = QrCodeWidget(payload, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    w, h = x1 - x0, y1 - y0
    drawing = Drawing(size, size, transform=[size / w, 0, 0, size / h, 0, 0])
    drawing.add(widget)
    return drawing


def permit_pdf(permit: Permit, enterprise: Any, live_url: str, tr: Callable[[Any], str]) -> bytes:
    """Render ``permit`` (times in ``enterprise``'s zone); ``tr`` turns a stored finding into text."""
    font = cjk_font_name()
    styles = paragraph_styles()
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=cell_text(f"{permit.work_name}作业票 No.{permit.id}"),
        author=cell_text(enterprise.name),
        creator="safety-lms",
    )
    approved = permit.status == APPROVED
    result = "批准（人员资格均合格）" if approved else "不予批准（有人员资格不合格）"
    facts = [
        ["作业票编号", f"No.{permit.id}"],
        ["作业类型", permit.work_name],
        ["作业地点", permit.place],
        ["作业时间", format_span(permit.starts_at, permit.ends_at, enterprise)],
        ["审批结果", result],
        ["资格检查人", f"{permit.checked_by_name}（{format_span(permit.checked_at, None, enterprise)}）"],
    ]
    if permit.note:
        facts.append(["备注", permit.note])
    fact_rows = [[text_paragraph(k, styles["cell"]), text_paragraph(v, styles["cell"])] for k, v in facts]
    facts_table = Table(fact_rows, colWidths=[28 * mm, doc.width - 28 * mm - 36 * mm])
    facts_table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#999999")),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eef2f7")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    qr = Table(
        [[qr_drawing(live_url)], [text_paragraph("扫码查看人员资格实时复核", styles["small"])]],
        colWidths=[36 * mm],
    )
    qr.setStyle(TableStyle([("ALIGN", (0, 0), (-1, -1), "CENTER"), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    top = Table([[facts_table, qr]], colWidths=[doc.width - 36 * mm, 36 * mm])
    top.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))

    header = ["工号", "姓名", "作业角色", "资格", "原因 / 如何合格"]
    rows: list[list[Any]] = [[text_paragraph(h, styles["cell_header"]) for h in header]]
    for pp in permit.people:
        lines = []
        for f in pp.reasons or []:
            reason, fix = tr(f.get("reason")), tr(f.get("fix"))
            lines.append(f"• {escape(reason)}<br/>&nbsp;&nbsp;→ {escape(fix)}")
        rows.append(
            [
                text_paragraph(pp.employee_no, styles["cell"]),
                text_paragraph(pp.name, styles["cell"]),
                text_paragraph(pp.role, styles["cell"]),
                text_paragraph("合格" if pp.qualified else "不合格", styles["cell"]),
                Paragraph("<br/>".join(lines) or "—", styles["cell"]),
            ]
        )
    people = Table(rows, colWidths=[22 * mm, 22 * mm, 24 * mm, 16 * mm, doc.width - 84 * mm], repeatRows=1)
    people.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#999999")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1f4e79")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story = [
        text_paragraph(f"{permit.work_name}作业票 · 人员资格检查", styles["title"]),
        text_paragraph(enterprise.name, styles["subtitle"]),
        Spacer(1, 5 * mm),
        top,
        Spacer(1, 5 * mm),
        people,
        Spacer(1, 4 * mm),
        text_paragraph(
            "依据 GB 30871-2022《危险化学品企业特殊作业安全规范》及本企业作业资格要求；资格按作业日期检查，"
            "培训要求状态与“我的培训”一致。扫描二维码可查看各人员当前的资格复核结果（需登录）。",
            styles["small"],
        ),
    ]
    doc.build(story)
    return out.getvalue()
