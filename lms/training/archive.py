"""The statutory training archive of one person (安全生产教育和培训档案): on screen, as a table export and a PDF."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from lms.core.db import db
from lms.core.pdf import simple_table_pdf
from lms.core.timeutil import format_local, format_span
from lms.ledger.models import TrainingRecord
from lms.org.models import Person

KIND_LABELS = {
    "course": "线上课程",
    "exam": "考试",
    "offline": "线下培训",
    "certificate": "外部证书",
    "manual": "手工登记",
}
LEVEL_LABELS = {"company": "厂级", "workshop": "车间级", "team": "班组级"}
HEADERS = [
    "培训时间",
    "培训内容",
    "形式",
    "类别",
    "三级教育",
    "学时",
    "考核结果",
    "证书编号/有效期",
    "来源",
    "记录状态",
]
LIVE = "有效"


def assessment(rec: TrainingRecord) -> str:
    """The assessment result as the archive shows it (score and pass/fail)."""
    parts = []
    if rec.score is not None:
        parts.append(f"{Decimal(rec.score).normalize():f}分")
    if rec.passed is True:
        parts.append("合格")
    elif rec.passed is False:
        parts.append("不合格")
    return " ".join(parts) or ("—" if rec.kind != "certificate" else "持证")


def archive_records(person_id: int) -> list[TrainingRecord]:
    """Every record of the person, oldest first (the archive reads like a register).

    Voided records stay, marked (who, when, why): the record of training is never rewritten silently
    (Art. 28). Only live records count hours.
    """
    return list(
        db.session.scalars(
            select(TrainingRecord)
            .where(TrainingRecord.person_id == person_id)
            .order_by(TrainingRecord.completed_at, TrainingRecord.id)
        )
    )


def archive_labels(records: list[TrainingRecord]) -> dict[str, dict[int, str]]:
    """What each record's source is and, for a voided one, who voided it, when and why (set-based)."""
    from lms.ledger.sources import labels_for

    return labels_for(records)


def archive_context(person_id: int) -> dict[str, Any]:
    """What the archive page shows of the records: the records (voided ones marked) and their labels."""
    records = archive_records(person_id)
    return {"records": records, "labels": archive_labels(records), "total_hours": live_hours(records)}


def live_hours(records: list[TrainingRecord]) -> Decimal:
    """The hours of the live records (voided ones are shown, never counted)."""
    return sum((Decimal(r.hours or 0) for r in records if r.voided_at is None), Decimal(0))


def record_time(rec: TrainingRecord, where: Any = None) -> str:
    """When the training took place, in the local time of ``where`` (the person's enterprise): a classroom
    session as its span ("2026-12-01 10:30–12:00"), anything else as its completion."""
    start = getattr(rec, "started_at", None)
    if rec.kind in ("offline", "manual") and start is not None:
        return format_span(start, rec.completed_at, where)
    return format_local(rec.completed_at, where)


def archive_rows(person_id: int) -> list[list[Any]]:
    """The archive as table rows (HEADERS); times in the local time of the person's enterprise."""
    return archive_table(person_id)[1]


def archive_table(person_id: int) -> tuple[list[TrainingRecord], list[list[Any]]]:
    """The person's records and the archive's rows of them (HEADERS), in Chinese like the printed register.

    Every source is named by what it is (``lms.ledger.sources``), never by its internal key; a voided record
    says who voided it, when and why.
    """
    from flask_babel import force_locale

    rows = []
    where = db.session.get(Person, person_id)
    records = archive_records(person_id)
    with force_locale("zh_CN"):
        labels = archive_labels(records)
    for r in records:
        cert = " ".join(
            x
            for x in (r.certificate_no or "", f"至{r.valid_until.isoformat()}" if r.valid_until else "")
            if x
        )
        rows.append(
            [
                record_time(r, where),
                r.topic,
                KIND_LABELS.get(r.kind, r.kind),
                r.category or "",
                LEVEL_LABELS.get(r.level or "", ""),
                r.hours,
                assessment(r),
                cert,
                labels["source"][r.id],
                labels["void"].get(r.id, LIVE),
            ]
        )
    return records, rows


def archive_pdf(person: Person) -> bytes:
    """The archive as a PDF (Chinese font embedded where the system has one)."""
    records, rows = archive_table(person.id)
    total = live_hours(records)
    voided = sum(1 for r in records if r.voided_at is not None)
    dept = person.department.path if person.department else "—"
    post = person.post.name if person.post else "—"
    hired = person.hire_date.isoformat() if person.hire_date else "—"
    subtitle = (
        f"{person.enterprise.name}　姓名：{person.name}　工号：{person.employee_no}　部门：{dept}　岗位：{post}"
        f"　入职日期：{hired}　累计学时：{format(total.normalize(), 'f')}　记录 {len(rows)} 条"
        + (f"（其中已作废 {voided} 条，不计学时）" if voided else "")
    )
    out = io.BytesIO()
    simple_table_pdf(
        out,
        "安全生产教育和培训档案",
        subtitle,
        HEADERS,
        rows,
        landscape=True,
        footer="依据《中华人民共和国安全生产法》第二十八条建立",
        author=person.enterprise.name,
    )
    return out.getvalue()


FORMATS = ("csv", "xlsx", "pdf")
MIMETYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def archive_file(person: Person, fmt: str) -> tuple[bytes, str]:
    """The archive as a file (csv, xlsx or pdf) and its name: the one document the page and ``lms archive`` give.

    Times are in the local time of the person's enterprise, whoever asks and from where.
    """
    from lms.core.exports import csv_bytes, xlsx_bytes
    from lms.core.timeutil import use_zone

    name = f"archive-{person.employee_no}"
    with use_zone(person):
        if fmt == "pdf":
            return archive_pdf(person), f"{name}.pdf"
        headers = [str(h) for h in HEADERS]
        if fmt == "csv":
            return csv_bytes(headers, archive_rows(person.id)), f"{name}.csv"
        if fmt == "xlsx":
            return xlsx_bytes(headers, archive_rows(person.id), sheet_title=name[:31]), f"{name}.xlsx"
    raise ValueError(f"unknown archive format {fmt!r}")
