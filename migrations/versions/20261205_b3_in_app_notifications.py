"""in app notifications: each notification keeps its text as a template and values (shown in the reader's
language) and the list page reads a user's newest first

Revision ID: 20261205_b3
Revises: 20261205_b2
Create Date: 2026-12-05 12:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '20261205_b3'
down_revision = '20261205_b2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('params', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_column('params')
