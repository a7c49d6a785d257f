"""api keys and xapi

Revision ID: 20261205_b2
Revises: 20261205_b1
Create Date: 2026-12-05 12:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '20261205_b2'
down_revision = '20261205_b1'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("regulator_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=200), nullable=False),
        sa.Column("rate_per_minute", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"], name=op.f("fk_api_key_enterprise_id_enterprise"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["regulator_id"], ["user_account.id"], name=op.f("fk_api_key_regulator_id_user_account"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"], name=op.f("fk_api_key_created_by_id_user_account"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["revoked_by_id"], ["user_account.id"], name=op.f("fk_api_key_revoked_by_id_user_account"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_key_prefix")),
    )
    with op.batch_alter_table("api_key") as batch_op:
        batch_op.create_index(batch_op.f("ix_api_key_enterprise_id"), ["enterprise_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_api_key_regulator_id"), ["regulator_id"], unique=False)
    op.create_table(
        "api_key_reach",
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_key.id"], name=op.f("fk_api_key_reach_api_key_id_api_key"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"], name=op.f("fk_api_key_reach_enterprise_id_enterprise"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("api_key_id", "enterprise_id", name=op.f("pk_api_key_reach")),
    )
    op.create_table(
        "api_rate_window",
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("minute", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_key.id"], name=op.f("fk_api_rate_window_api_key_id_api_key"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("api_key_id", "minute", name=op.f("pk_api_rate_window")),
    )
    op.create_table(
        "api_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_key.id"], name=op.f("fk_api_call_api_key_id_api_key"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_call")),
    )
    with op.batch_alter_table("api_call") as batch_op:
        batch_op.create_index("ix_api_call_key_at", ["api_key_id", "at"], unique=False)
    op.create_table(
        "xapi_delivery",
        sa.Column("statement_id", sa.String(length=36), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"], name=op.f("fk_xapi_delivery_enterprise_id_enterprise"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("statement_id", name=op.f("pk_xapi_delivery")),
    )
    with op.batch_alter_table("xapi_delivery") as batch_op:
        batch_op.create_index("ix_xapi_delivery_enterprise_sent", ["enterprise_id", "sent_at"], unique=False)


def downgrade() -> None:
    op.drop_table("xapi_delivery")
    op.drop_table("api_call")
    op.drop_table("api_rate_window")
    op.drop_table("api_key_reach")
    with op.batch_alter_table("api_key") as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_key_regulator_id"))
        batch_op.drop_index(batch_op.f("ix_api_key_enterprise_id"))
    op.drop_table("api_key")
