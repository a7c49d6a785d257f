"""permits and qr check in

Revision ID: 20261205_a9
Revises: 20261205_a8
Create Date: 2026-12-05 12:30:00
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401


revision = '20261205_a9'
down_revision = '20261205_a8'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
