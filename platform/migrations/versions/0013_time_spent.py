"""time spent and the class's institution

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 04:10:00

Reading time is counted from now on: lessons read before have 0 seconds (not seen), and existing
classes belong to no institution until their teacher says so.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('enrollment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_opened_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    with op.batch_alter_table('lessonprogress', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seconds', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('lessonprogress', schema=None) as batch_op:
        batch_op.alter_column('seconds', existing_type=sa.Integer(), server_default=None)
    with op.batch_alter_table('classroom', schema=None) as batch_op:
        batch_op.add_column(sa.Column('institution_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_classroom_institution_id'), ['institution_id'], unique=False)
        batch_op.create_foreign_key('fk_classroom_institution_id_institution', 'institution', ['institution_id'],
                                    ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('classroom', schema=None) as batch_op:
        batch_op.drop_constraint('fk_classroom_institution_id_institution', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_classroom_institution_id'))
        batch_op.drop_column('institution_id')
    with op.batch_alter_table('lessonprogress', schema=None) as batch_op:
        batch_op.drop_column('seconds')
    with op.batch_alter_table('enrollment', schema=None) as batch_op:
        batch_op.drop_column('last_opened_at')
