"""hazards and risk ranking

Revision ID: 20261205_b1
Revises: 20261205_a9
Create Date: 2026-12-05 12:30:00
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401


revision = '20261205_b1'
down_revision = '20261205_a9'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Hazard reports (隐患随手拍): settings, areas, categories, hazards, their photos and event log.
    op.create_table('hazard_area',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_hazard_area_enterprise_id_enterprise'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hazard_area')),
    sa.UniqueConstraint('enterprise_id', 'name', name=op.f('uq_hazard_area_enterprise_id_name'))
    )
    with op.batch_alter_table('hazard_area', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hazard_area_enterprise_id'), ['enterprise_id'], unique=False)

    op.create_table('hazard_category',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_hazard_category_enterprise_id_enterprise'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hazard_category')),
    sa.UniqueConstraint('enterprise_id', 'name', name=op.f('uq_hazard_category_enterprise_id_name'))
    )
    with op.batch_alter_table('hazard_category', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hazard_category_enterprise_id'), ['enterprise_id'], unique=False)

    op.create_table('hazard',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('reported_at', sa.DateTime(), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=True),
    sa.Column('reporter_person_id', sa.Integer(), nullable=True),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=True),
    sa.Column('place', sa.String(length=200), nullable=True),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('grade', sa.String(length=16), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('deadline', sa.DateTime(), nullable=True),
    sa.Column('graded_by_id', sa.Integer(), nullable=True),
    sa.Column('graded_at', sa.DateTime(), nullable=True),
    sa.Column('plan_measures', sa.Text(), nullable=True),
    sa.Column('plan_responsibility', sa.Text(), nullable=True),
    sa.Column('plan_funds', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('plan_time_limit', sa.Text(), nullable=True),
    sa.Column('plan_contingency', sa.Text(), nullable=True),
    sa.Column('rectified_at', sa.DateTime(), nullable=True),
    sa.Column('rectified_by_id', sa.Integer(), nullable=True),
    sa.Column('rectification_note', sa.Text(), nullable=True),
    sa.Column('verified_at', sa.DateTime(), nullable=True),
    sa.Column('verified_by_id', sa.Integer(), nullable=True),
    sa.Column('verification_note', sa.Text(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('reopen_count', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['hazard_area.id'], name=op.f('fk_hazard_area_id_hazard_area'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['assignee_id'], ['person.id'], name=op.f('fk_hazard_assignee_id_person'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['category_id'], ['hazard_category.id'], name=op.f('fk_hazard_category_id_hazard_category'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['closed_by_id'], ['user_account.id'], name=op.f('fk_hazard_closed_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_hazard_department_id_department'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_hazard_enterprise_id_enterprise'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['graded_by_id'], ['user_account.id'], name=op.f('fk_hazard_graded_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rectified_by_id'], ['user_account.id'], name=op.f('fk_hazard_rectified_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reporter_id'], ['user_account.id'], name=op.f('fk_hazard_reporter_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reporter_person_id'], ['person.id'], name=op.f('fk_hazard_reporter_person_id_person'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['verified_by_id'], ['user_account.id'], name=op.f('fk_hazard_verified_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hazard'))
    )
    with op.batch_alter_table('hazard', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hazard_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hazard_department_id'), ['department_id'], unique=False)
        batch_op.create_index('ix_hazard_enterprise_reported', ['enterprise_id', 'reported_at'], unique=False)
        batch_op.create_index('ix_hazard_enterprise_status', ['enterprise_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_hazard_reporter_person_id'), ['reporter_person_id'], unique=False)

    op.create_table('hazard_settings',
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('allow_anonymous', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('keep_location', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_hazard_settings_enterprise_id_enterprise'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_hazard_settings_updated_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('enterprise_id', name=op.f('pk_hazard_settings'))
    )
    op.create_table('hazard_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hazard_id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('grade', sa.String(length=16), nullable=True),
    sa.Column('deadline', sa.DateTime(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_hazard_event_actor_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_hazard_event_enterprise_id_enterprise'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['hazard_id'], ['hazard.id'], name=op.f('fk_hazard_event_hazard_id_hazard'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hazard_event'))
    )
    with op.batch_alter_table('hazard_event', schema=None) as batch_op:
        batch_op.create_index('ix_hazard_event_enterprise_at', ['enterprise_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_hazard_event_hazard_id'), ['hazard_id'], unique=False)

    op.create_table('hazard_photo',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hazard_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('stored_file_id', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['hazard_id'], ['hazard.id'], name=op.f('fk_hazard_photo_hazard_id_hazard'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stored_file_id'], ['stored_file.id'], name=op.f('fk_hazard_photo_stored_file_id_stored_file'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_hazard_photo_uploaded_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hazard_photo'))
    )
    with op.batch_alter_table('hazard_photo', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hazard_photo_hazard_id'), ['hazard_id'], unique=False)


def downgrade() -> None:
    for table in ("hazard_photo", "hazard_event", "hazard_settings", "hazard", "hazard_category", "hazard_area"):
        op.drop_table(table)
