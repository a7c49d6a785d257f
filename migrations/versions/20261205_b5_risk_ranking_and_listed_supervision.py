"""risk ranking and listed supervision

Revision ID: 20261205_b5
Revises: 20261205_b4
Create Date: 2026-12-05 12:30:00
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401


revision = '20261205_b5'
down_revision = '20261205_b4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The enterprise's administrative region (所属区域), for the regulator's filters.
    with op.batch_alter_table('enterprise', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region', sa.String(length=100), nullable=True))
    op.create_table('oversight_risk_weight',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('factor', sa.String(length=32), nullable=False),
    sa.Column('weight', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('full_at', sa.Numeric(precision=9, scale=2), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_oversight_risk_weight_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'factor', name=op.f('pk_oversight_risk_weight'))
    )
    op.create_table('oversight_risk_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('factor', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('taken_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_oversight_risk_snapshot_enterprise_id_enterprise'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oversight_risk_snapshot')),
    sa.UniqueConstraint('enterprise_id', 'month', 'factor', name=op.f('uq_oversight_risk_snapshot_enterprise_id_month_factor'))
    )
    with op.batch_alter_table('oversight_risk_snapshot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oversight_risk_snapshot_enterprise_id'), ['enterprise_id'], unique=False)
    op.create_table('oversight_listing',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('deadline_at', sa.DateTime(), nullable=False),
    sa.Column('listed_at', sa.DateTime(), nullable=False),
    sa.Column('listed_by_id', sa.Integer(), nullable=True),
    sa.Column('lifted_at', sa.DateTime(), nullable=True),
    sa.Column('lifted_by_id', sa.Integer(), nullable=True),
    sa.Column('lift_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_oversight_listing_enterprise_id_enterprise'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['listed_by_id'], ['user_account.id'], name=op.f('fk_oversight_listing_listed_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lifted_by_id'], ['user_account.id'], name=op.f('fk_oversight_listing_lifted_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oversight_listing'))
    )
    with op.batch_alter_table('oversight_listing', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oversight_listing_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index('uq_oversight_listing_open', ['enterprise_id'], unique=True, sqlite_where=sa.text('lifted_at IS NULL'), postgresql_where=sa.text('lifted_at IS NULL'))


def downgrade() -> None:
    with op.batch_alter_table('oversight_listing', schema=None) as batch_op:
        batch_op.drop_index('uq_oversight_listing_open', sqlite_where=sa.text('lifted_at IS NULL'), postgresql_where=sa.text('lifted_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_oversight_listing_enterprise_id'))
    op.drop_table('oversight_listing')
    with op.batch_alter_table('oversight_risk_snapshot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oversight_risk_snapshot_enterprise_id'))
    op.drop_table('oversight_risk_snapshot')
    op.drop_table('oversight_risk_weight')
    with op.batch_alter_table('enterprise', schema=None) as batch_op:
        batch_op.drop_column('region')
