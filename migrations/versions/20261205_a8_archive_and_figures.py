"""archive and figures

Revision ID: 20261205_a8
Revises: 20261205_a7
Create Date: 2026-12-05 12:00:00
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401


revision = '20261205_a8'
down_revision = '20261205_a7'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A culture campaign calculated before its period ended holds provisional results (not publishable).
    with op.batch_alter_table("culture_campaign", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provisional", sa.Boolean(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("culture_campaign", schema=None) as batch_op:
        batch_op.drop_column("provisional")
