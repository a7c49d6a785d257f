"""person (enterprise_id, department_id, post_id): coverage by department and post reads the enterprise's people
from the index alone, already in group order; person_role (role_id, person_id) instead of (role_id): a role's
holders from the index alone (issue 20)

Revision ID: 20261207_h3
Revises: 20261206_h2
Create Date: 2026-12-07 04:20:00
"""

from __future__ import annotations

from alembic import op

revision = "20261207_h3"
down_revision = "20261206_h2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain index operations (no batch: SQLite needs no table copy to add or drop an index).
    op.create_index(
        "ix_person_enterprise_department_post", "person", ["enterprise_id", "department_id", "post_id"]
    )
    op.create_index("ix_person_role_role_person", "person_role", ["role_id", "person_id"])
    op.drop_index("ix_person_role_role_id", table_name="person_role")


def downgrade() -> None:
    op.create_index("ix_person_role_role_id", "person_role", ["role_id"])
    op.drop_index("ix_person_role_role_person", table_name="person_role")
    op.drop_index("ix_person_enterprise_department_post", table_name="person")
