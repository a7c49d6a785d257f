"""sign in throttle per account

Revision ID: 20261205_a6
Revises: 20261205_a5
Create Date: 2026-12-05 12:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '20261205_a6'
down_revision = '20261205_a5'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("failed_sign_ins", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_failed_sign_in_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("sign_in_locked_until", sa.DateTime(), nullable=True))
    with op.batch_alter_table("login_attempt") as batch:
        batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("device", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("refused", sa.Boolean(), nullable=False, server_default="0"))
        batch.create_foreign_key(
            op.f("fk_login_attempt_user_id_user_account"), "user_account", ["user_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_index("ix_login_attempt_user_id_at", ["user_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_attempt") as batch:
        batch.drop_index("ix_login_attempt_user_id_at")
        batch.drop_constraint(op.f("fk_login_attempt_user_id_user_account"), type_="foreignkey")
        batch.drop_column("refused")
        batch.drop_column("device")
        batch.drop_column("user_id")
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("sign_in_locked_until")
        batch.drop_column("last_failed_sign_in_at")
        batch.drop_column("failed_sign_ins")
