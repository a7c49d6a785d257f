"""Campaign results as a PDF report (reportlab, Chinese text, radar per unit) and as an xlsx workbook."""

from __future__ import annotations

import io
import math
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from reportlab.graphics.shapes import Drawing, Polygon, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, SimpleDocTemplate, Spacer, Table, TableStyle

from lms.core import pdf as core_pdf
from lms.core.db import db
from lms.core.exports import write_xlsx
from lms.culture import campaigns, frameworks, results
from lms.culture.labels import STEP_LABELS
from lms.culture.models import Campaign, CampaignUnit
from lms.org.models import Enterprise

KIND_LABELS = {"group": "分组", "automatic": "自动", "manual": "人工", "deduction": "扣分", "veto": "否决"}


def report_status(status: str, campaign: Campaign | None = None) -> str:
    label = str(STEP_LABELS.get(status, status))
    if campaign is not None and campaign.provisional:
        label += " · " + provisional_note(campaign)
    return label


def provisional_note(campaign: Campaign) -> str:
    """The label of results calculated before the period ended."""
    return _("Provisional results: the period ends on %(end)s", end=campaign.period_end.isoformat())


def _num(value: Any) -> str:
    if value is None or value == "":
        return "—"
    d = Decimal(str(value))
    return f"{d.quantize(Decimal('0.01')).normalize():f}"


def ranking_rows(campaign: Campaign) -> list[list[Any]]:
    rows = []
    for u in results.ranked_units(campaign):
        rows.append(
            [
                u.rank,
                u.label,
                u.headcount,
                float(u.score) if u.score is not None else None,
                u.level or "",
                _("Yes") if u.vetoed else "",
                "；".join(u.veto_reasons or []),
                _("Yes") if u.awarded else "",
            ]
        )
    return rows


def ranking_headers() -> list[str]:
    return [
        _("Rank"),
        _("Unit"),
        _("People"),
        _("Score"),
        _("Level"),
        _("Vetoed"),
        _("Veto reasons"),
        _("Demonstration post"),
    ]


def breakdown_rows(campaign: Campaign, unit: CampaignUnit) -> list[list[Any]]:
    snap = campaigns.campaign_snapshot(campaign)
    rows = []
    for depth, ind in frameworks.indicator_tree(snap["indicators"]):
        row = (unit.breakdown or {}).get(str(ind["id"])) or {}
        value = row.get("value")
        if isinstance(value, bool):
            value = _("Yes") if value else _("No")
        rows.append(
            [
                "　" * depth + (f"{ind['code']} " if ind.get("code") else "") + ind["name"],
                KIND_LABELS.get(ind["kind"], ind["kind"]),
                value,
                _num(row.get("points")) if row.get("points") is not None else "—",
                _num(row.get("max_points")) if row.get("max_points") is not None else "",
            ]
        )
    return rows


def breakdown_headers() -> list[str]:
    return [_("Indicator"), _("Kind"), _("Value"), _("Points"), _("Out of")]


def report_xlsx(campaign: Campaign) -> bytes:
    """Return the results workbook: ranking, and every unit's indicator breakdown (formula-safe)."""
    detail: list[list[Any]] = []
    for u in results.ranked_units(campaign):
        for r in breakdown_rows(campaign, u):
            detail.append([u.label, *[c.strip("　") if isinstance(c, str) else c for c in r]])
    buffer = io.BytesIO()
    write_xlsx(
        buffer,
        {
            (_("Ranking (provisional)") if campaign.provisional else _("Ranking")): (
                ranking_headers(),
                ranking_rows(campaign),
            ),
            _("Breakdown"): ([_("Unit"), *breakdown_headers()], detail),
        },
        title=f"{campaign.name}（{provisional_note(campaign)}）" if campaign.provisional else campaign.name,
    )
    return buffer.getvalue()


def radar_drawing(axes: list[tuple[str, float]], font: str, size: float = 70 * mm) -> Drawing:
    """A radar chart of top-level shares (0..1) as reportlab vector graphics."""
    d = Drawing(size, size)
    n = max(len(axes), 3)
    cx = cy = size / 2
    r = size / 2 - 14 * mm

    def point(i: int, v: float) -> tuple[float, float]:
        ang = math.pi / 2 - 2 * math.pi * i / n
        return cx + r * v * math.cos(ang), cy + r * v * math.sin(ang)

    for ring in (0.25, 0.5, 0.75, 1.0):
        pts = [c for i in range(n) for c in point(i, ring)]
        d.add(Polygon(pts, strokeColor=colors.HexColor("#bbbbbb"), fillColor=None, strokeWidth=0.5))
    pts = [c for i, (_label, v) in enumerate(axes) for c in point(i, max(0.0, min(1.0, v or 0.0)))]
    if len(pts) >= 6:
        d.add(
            Polygon(
                pts,
                strokeColor=colors.HexColor("#1f4e79"),
                fillColor=colors.Color(0.12, 0.31, 0.47, 0.3),
                strokeWidth=1,
            )
        )
    for i, (label, _v) in enumerate(axes):
        x, y = point(i, 1.18)
        d.add(String(x, y - 3, label[:8], fontName=font, fontSize=7, textAnchor="middle"))
    return d


def report_pdf(campaign: Campaign) -> bytes:
    """Return the PDF report: ranking, then each unit with its radar chart and indicator breakdown."""
    font = core_pdf.cjk_font_name()
    styles = core_pdf.paragraph_styles()
    ent = db.session.get(Enterprise, campaign.enterprise_id)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
        title=campaign.name,
        creator="safety-lms",
    )
    grid = [
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#999999")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1f4e79")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]

    def table(headers: list[str], rows: list[list[Any]], widths: list[float]) -> Table:
        data = [[core_pdf.text_paragraph(h, styles["cell_header"]) for h in headers]]
        data += [[core_pdf.text_paragraph(c, styles["cell"]) for c in r] for r in rows]
        t = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
        t.setStyle(TableStyle(grid))
        return t

    period = f"{campaign.period_start.isoformat()} — {campaign.period_end.isoformat()}"
    story: list[Any] = [
        core_pdf.text_paragraph(f"{ent.name if ent else ''} {campaign.name}", styles["title"]),
        core_pdf.text_paragraph(
            " · ".join([_("Evaluation results"), period, report_status(campaign.status, campaign)]),
            styles["subtitle"],
        ),
        Spacer(1, 4 * mm),
        core_pdf.text_paragraph(_("Ranking"), styles["heading"]),
        table(
            ranking_headers(),
            ranking_rows(campaign),
            [12 * mm, 48 * mm, 14 * mm, 16 * mm, 18 * mm, 14 * mm, 40 * mm, 18 * mm],
        ),
        Spacer(1, 3 * mm),
        core_pdf.text_paragraph(
            _(
                "Demonstration-post threshold: %(t)s points, with no veto item.",
                t=_num(campaign.award_threshold),
            ),
            styles["small"],
        ),
    ]
    for u in results.ranked_units(campaign):
        points_word, vetoed_word, title_word = _("points"), _("Vetoed"), _("Demonstration post")
        head = f"{u.rank or '—'}. {u.label} — {_num(u.score)} {points_word} {u.level or ''}"
        if u.vetoed:
            head += f"（{vetoed_word}：{'；'.join(u.veto_reasons or [])}）"
        if u.awarded:
            head += f" ★ {title_word}"
        story.append(Spacer(1, 4 * mm))
        story.append(
            KeepTogether(
                [
                    core_pdf.text_paragraph(head, styles["heading"]),
                    radar_drawing(results.radar_axes(campaign, u), font),
                ]
            )
        )
        story.append(
            table(
                breakdown_headers(),
                breakdown_rows(campaign, u),
                [86 * mm, 14 * mm, 34 * mm, 22 * mm, 22 * mm],
            )
        )
    canvas_class = type(
        "_CultureCanvas", (core_pdf._NumberedCanvas,), {"footer_text": campaign.name, "font_name": font}
    )
    doc.build(story, canvasmaker=canvas_class)
    return buffer.getvalue()
