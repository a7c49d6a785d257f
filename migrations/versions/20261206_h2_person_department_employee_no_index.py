"""person (department_id, employee_no) for a named list's first page; training_status (enterprise_id, status,
valid_until) instead of (enterprise_id, status) for the expiring count (issue 20)

Revision ID: 20261206_h2
Revises: 20261205_b6
Create Date: 2026-12-06 05:15:00
"""

from __future__ import annotations

from alembic import op

revision = "20261206_h2"
down_revision = "20261205_b6"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.create_index(
            "ix_person_department_employee_no", ["department_id", "employee_no"], unique=False
        )
    with op.batch_alter_table("training_status", schema=None) as batch_op:
        batch_op.create_index(
            "ix_training_status_enterprise_status_valid_until",
            ["enterprise_id", "status", "valid_until"],
            unique=False,
        )
        batch_op.drop_index("ix_training_status_enterprise_status")


def downgrade() -> None:
    with op.batch_alter_table("training_status", schema=None) as batch_op:
        batch_op.create_index(
            "ix_training_status_enterprise_status", ["enterprise_id", "status"], unique=False
        )
        batch_op.drop_index("ix_training_status_enterprise_status_valid_until")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index("ix_person_department_employee_no")
