"""question weights matching numerical

Revision ID: 20261205_a3
Revises: 20261205_a2
Create Date: 2026-12-05 12:00:00
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401


revision = '20261205_a3'
down_revision = '20261205_a2'
branch_labels = None
depends_on = None


# Moodle-exact import: per-option weights (fractions), per-answer feedback, the question's name and text format
# (plain or sanitised HTML). The new types (matching, numerical) keep their keys in the existing JSON column.


def upgrade() -> None:
    with op.batch_alter_table("quiz_question") as batch:
        batch.add_column(sa.Column("name", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("weights", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("feedback", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("text_format", sa.String(length=10), server_default="plain", nullable=False))
    with op.batch_alter_table("quiz_question_version") as batch:
        batch.add_column(sa.Column("weights", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("feedback", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("text_format", sa.String(length=10), server_default="plain", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("quiz_question_version") as batch:
        batch.drop_column("text_format")
        batch.drop_column("feedback")
        batch.drop_column("weights")
    with op.batch_alter_table("quiz_question") as batch:
        batch.drop_column("text_format")
        batch.drop_column("feedback")
        batch.drop_column("weights")
        batch.drop_column("name")
