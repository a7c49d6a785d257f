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
    # Qualification for hazardous work (lms/permits): special operations, their needs, permits and their people.
    op.create_table(
        "permit_work",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("citation", sa.Text(), nullable=True),
        sa.Column("roles", sa.String(length=300), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"], name=op.f("fk_permit_work_enterprise_id_enterprise"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permit_work")),
        sa.UniqueConstraint("enterprise_id", "key", name=op.f("uq_permit_work_enterprise_id_key")),
    )
    with op.batch_alter_table("permit_work", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_permit_work_enterprise_id"), ["enterprise_id"], unique=False)

    op.create_table(
        "permit_need",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("requirement_id", sa.Integer(), nullable=True),
        sa.Column("match", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["requirement_id"], ["training_requirement.id"], name=op.f("fk_permit_need_requirement_id_training_requirement"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["work_id"], ["permit_work.id"], name=op.f("fk_permit_need_work_id_permit_work"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permit_need")),
    )
    with op.batch_alter_table("permit_need", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_permit_need_requirement_id"), ["requirement_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_permit_need_work_id"), ["work_id"], unique=False)

    op.create_table(
        "permit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("work_id", sa.Integer(), nullable=True),
        sa.Column("work_name", sa.String(length=60), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.Column("checked_by_id", sa.Integer(), nullable=True),
        sa.Column("checked_by_name", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.ForeignKeyConstraint(["checked_by_id"], ["user_account.id"], name=op.f("fk_permit_checked_by_id_user_account"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"], name=op.f("fk_permit_enterprise_id_enterprise"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["work_id"], ["permit_work.id"], name=op.f("fk_permit_work_id_permit_work"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permit")),
    )
    with op.batch_alter_table("permit", schema=None) as batch_op:
        batch_op.create_index("ix_permit_enterprise_checked_on", ["enterprise_id", "checked_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_permit_enterprise_id"), ["enterprise_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_permit_work_id"), ["work_id"], unique=False)

    op.create_table(
        "permit_person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("permit_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("employee_no", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("qualified", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["permit_id"], ["permit.id"], name=op.f("fk_permit_person_permit_id_permit"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_permit_person_person_id_person"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permit_person")),
    )
    with op.batch_alter_table("permit_person", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_permit_person_permit_id"), ["permit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_permit_person_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("permit_person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_permit_person_person_id"))
        batch_op.drop_index(batch_op.f("ix_permit_person_permit_id"))
    op.drop_table("permit_person")
    with op.batch_alter_table("permit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_permit_work_id"))
        batch_op.drop_index(batch_op.f("ix_permit_enterprise_id"))
        batch_op.drop_index("ix_permit_enterprise_checked_on")
    op.drop_table("permit")
    with op.batch_alter_table("permit_need", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_permit_need_work_id"))
        batch_op.drop_index(batch_op.f("ix_permit_need_requirement_id"))
    op.drop_table("permit_need")
    with op.batch_alter_table("permit_work", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_permit_work_enterprise_id"))
    op.drop_table("permit_work")
