"""attendance overlap confirmation

Revision ID: 20261205_a7
Revises: 20261205_a6
Create Date: 2026-12-05 12:00:00
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401


revision = '20261205_a7'
down_revision = '20261205_a6'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # When a training began (a classroom session, an entry with times): with completed_at, the time it took,
    # so that two records of one person cannot overlap. Older rows keep NULL (their hours before their end).
    with op.batch_alter_table("training_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("started_at", sa.DateTime(), nullable=True))
    # A sheet that names another session than the one it is imported into: who confirmed it, when, which.
    with op.batch_alter_table("attendance_upload", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confirmation", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attendance_upload", schema=None) as batch_op:
        batch_op.drop_column("confirmation")
    with op.batch_alter_table("training_record", schema=None) as batch_op:
        batch_op.drop_column("started_at")
