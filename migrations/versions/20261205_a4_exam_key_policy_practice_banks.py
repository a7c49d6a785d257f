"""exam key policy practice banks

Revision ID: 20261205_a4
Revises: 20261205_a3
Create Date: 2026-12-05 12:00:00
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401


revision = '20261205_a4'
down_revision = '20261205_a3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A bank marked for practice is practised (keys shown) even while a formal exam drawing from it is open.
    with op.batch_alter_table("quiz_bank", schema=None) as batch_op:
        batch_op.add_column(sa.Column("practice", sa.Boolean(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("quiz_bank", schema=None) as batch_op:
        batch_op.drop_column("practice")
