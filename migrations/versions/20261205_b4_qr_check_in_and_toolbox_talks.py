"""qr check in and toolbox talks

Revision ID: 20261205_b4
Revises: 20261205_b3
Create Date: 2026-12-05 12:30:00
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401


revision = '20261205_b4'
down_revision = '20261205_b3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A session is a classroom session or a toolbox talk (班前会); QR self check-in opens and closes on it.
    with op.batch_alter_table("offline_session", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="classroom", nullable=False)
        )
        batch_op.add_column(sa.Column("checkin_nonce", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("checkin_opened_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("checkin_closed_at", sa.DateTime(), nullable=True))
    op.create_table(
        "offline_check_in",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("checked_in_at", sa.DateTime(), nullable=False),
        sa.Column("in_step", sa.Integer(), nullable=False),
        sa.Column("checked_out_at", sa.DateTime(), nullable=True),
        sa.Column("out_step", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_offline_check_in_person_id_person"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["offline_session.id"],
            name=op.f("fk_offline_check_in_session_id_offline_session"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_offline_check_in_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offline_check_in")),
        sa.UniqueConstraint("session_id", "person_id", name=op.f("uq_offline_check_in_session_id_person_id")),
    )
    with op.batch_alter_table("offline_check_in", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offline_check_in_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_offline_check_in_session_id"), ["session_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("offline_check_in", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offline_check_in_session_id"))
        batch_op.drop_index(batch_op.f("ix_offline_check_in_person_id"))
    op.drop_table("offline_check_in")
    with op.batch_alter_table("offline_session", schema=None) as batch_op:
        batch_op.drop_column("checkin_closed_at")
        batch_op.drop_column("checkin_opened_at")
        batch_op.drop_column("checkin_nonce")
        batch_op.drop_column("kind")
