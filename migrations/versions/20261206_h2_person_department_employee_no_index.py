"""person: index on (department_id, employee_no) for the first page of a named list (issue 20)

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


def downgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index("ix_person_department_employee_no")
