"""exam assignment

Revision ID: 20261205_b6
Revises: 20261205_b5
Create Date: 2026-12-05 22:40:00
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401


revision = '20261205_b6'
down_revision = '20261205_b5'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
