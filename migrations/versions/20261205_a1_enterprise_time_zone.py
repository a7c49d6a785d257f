"""enterprise time zone

Revision ID: 20261205_a1
Revises: 20261129_b7bb24
Create Date: 2026-12-05 12:00:00
"""
from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op


revision = '20261205_a1'
down_revision = '20261129_b7bb24'
branch_labels = None
depends_on = None


# Classroom sessions were stored as local wall-clock time of the installation; from here on every stored
# datetime is UTC. Existing rows are converted with the platform's default zone (every enterprise gets it).
_CONVERTED = (
    ("offline_session", ("starts_at", "ends_at")),
    ("attendance", ("signed_in_at",)),
)


def _zone() -> ZoneInfo:
    try:
        return ZoneInfo(os.environ.get("LMS_TIMEZONE") or "Asia/Shanghai")
    except Exception:  # noqa: BLE001 - an unknown name falls back to the documented default
        return ZoneInfo("Asia/Shanghai")


def _shift(to_utc: bool) -> None:
    tz = _zone()
    conn = op.get_bind()
    for table, columns in _CONVERTED:
        t = sa.table(table, sa.column("id", sa.Integer), *(sa.column(c, sa.DateTime) for c in columns))
        rows = conn.execute(sa.select(t.c.id, *(t.c[c] for c in columns))).all()
        for row in rows:
            values = {}
            for c, value in zip(columns, row[1:], strict=True):
                if value is None:
                    continue
                if isinstance(value, str):  # SQLite without type affinity hands back text
                    value = dt.datetime.fromisoformat(value)
                if to_utc:
                    new = value.replace(tzinfo=tz).astimezone(dt.UTC).replace(tzinfo=None)
                else:
                    new = value.replace(tzinfo=dt.UTC).astimezone(tz).replace(tzinfo=None)
                values[c] = new
            if values:
                conn.execute(sa.update(t).where(t.c.id == row[0]).values(**values))


def upgrade() -> None:
    with op.batch_alter_table("enterprise", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("time_zone", sa.String(length=64), server_default=_zone().key, nullable=False)
        )
    _shift(to_utc=True)


def downgrade() -> None:
    _shift(to_utc=False)
    # Never a table copy: on SQLite, dropping the copied enterprise table would cascade to every row of every
    # enterprise (foreign keys are on). SQLite 3.35+ drops a column in place.
    with op.batch_alter_table("enterprise", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("time_zone")
