"""exam assignment

Revision ID: 20261205_b6
Revises: 20261205_b5
Create Date: 2026-12-05 22:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261205_b6"
down_revision = "20261205_b5"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exam_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("exam_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("assigned_by_id", sa.Integer(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_exam_assignment_enterprise_id_enterprise"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["exam_id"], ["exam.id"], name=op.f("fk_exam_assignment_exam_id_exam"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_exam_assignment_person_id_person"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"],
            ["user_account.id"],
            name=op.f("fk_exam_assignment_assigned_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam_assignment")),
        sa.UniqueConstraint("exam_id", "person_id", name=op.f("uq_exam_assignment_exam_id_person_id")),
    )
    with op.batch_alter_table("exam_assignment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exam_assignment_enterprise_id"), ["enterprise_id"], unique=False)
        batch_op.create_index("ix_exam_assignment_person_due", ["person_id", "due_on"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("exam_assignment", schema=None) as batch_op:
        batch_op.drop_index("ix_exam_assignment_person_due")
        batch_op.drop_index(batch_op.f("ix_exam_assignment_enterprise_id"))
    op.drop_table("exam_assignment")
