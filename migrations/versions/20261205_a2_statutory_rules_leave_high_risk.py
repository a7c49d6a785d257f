"""statutory rules leave high risk

Revision ID: 20261205_a2
Revises: 20261205_a1
Create Date: 2026-12-05 12:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '20261205_a2'
down_revision = '20261205_a1'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('away_from', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('returned_on', sa.Date(), nullable=True))
    with op.batch_alter_table('training_requirement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pre_job', sa.Boolean(), server_default='0', nullable=False))
    # The statutory pre-job preset counts training before the start only; its 30-day allowance goes.
    req = sa.table(
        'training_requirement',
        sa.column('preset_key', sa.String),
        sa.column('pre_job', sa.Boolean),
        sa.column('initial_days', sa.Integer),
        sa.column('certificate_category', sa.String),
    )
    op.execute(req.update().where(req.c.preset_key == 'new_hire_prejob').values(pre_job=True, initial_days=0))
    op.execute(
        req.update()
        .where(req.c.preset_key == 'special_ops_review', req.c.certificate_category.is_(None))
        .values(certificate_category='特种作业操作证')
    )
    # The status rules changed (in grace, pre-job windows, certificate reviews): kept rows and month-end
    # snapshots computed by the old rules are recomputed on first use.
    op.execute(sa.text("UPDATE training_status_state SET as_of = NULL"))
    op.execute(sa.text("DELETE FROM training_coverage_snapshot"))


def downgrade() -> None:
    with op.batch_alter_table('training_requirement', schema=None) as batch_op:
        batch_op.drop_column('pre_job')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('returned_on')
        batch_op.drop_column('away_from')
