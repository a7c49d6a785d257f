"""playback sessions watch budget

Revision ID: 20261205_a5
Revises: 20261205_a4
Create Date: 2026-12-05 12:00:00
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401


revision = '20261205_a5'
down_revision = '20261205_a4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A playback session's running budget: when it started, what it credited, its one-off slack.
    with op.batch_alter_table("course_playback_session") as batch:
        batch.add_column(sa.Column("started_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("credited_seconds", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("slack_seconds", sa.Float(), nullable=False, server_default="0"))
    # Sessions that exist already start their budget at their last heartbeat, with no slack.
    op.execute("UPDATE course_playback_session SET started_at = last_wall")
    with op.batch_alter_table("course_playback_session") as batch:
        batch.alter_column("started_at", existing_type=sa.DateTime(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("course_playback_session") as batch:
        batch.drop_column("slack_seconds")
        batch.drop_column("credited_seconds")
        batch.drop_column("started_at")
