"""agencies: employees, mandatory courses, reminders; course hours

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 04:10:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hours', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('completion', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False,
                                      server_default='all_steps'))
    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.alter_column('hours', existing_type=sa.Integer(), server_default=None)
        batch_op.alter_column('completion', existing_type=sqlmodel.sql.sqltypes.AutoString(length=20),
                              server_default=None)
    with op.batch_alter_table('coursecompletion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hours', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('coursecompletion', schema=None) as batch_op:
        batch_op.alter_column('hours', existing_type=sa.Integer(), server_default=None)

    op.create_table('employee',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('department', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('added_by', sa.Integer(), nullable=True),
    sa.Column('added_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('confirmed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['added_by'], ['user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('institution_id', 'user_id')
    )
    with op.batch_alter_table('employee', schema=None) as batch_op:
        for column in ('institution_id', 'user_id', 'department', 'added_by'):
            batch_op.create_index(batch_op.f(f'ix_employee_{column}'), [column], unique=False)

    op.create_table('mandate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('course_slug', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('deadline', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('institution_id', 'course_slug')
    )
    with op.batch_alter_table('mandate', schema=None) as batch_op:
        for column in ('institution_id', 'created_by'):
            batch_op.create_index(batch_op.f(f'ix_mandate_{column}'), [column], unique=False)

    op.create_table('reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mandate_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('times', sa.Integer(), nullable=False),
    sa.Column('last_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('emailed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('mandate_id', 'user_id')
    )
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        for column in ('mandate_id', 'user_id'):
            batch_op.create_index(batch_op.f(f'ix_reminder_{column}'), [column], unique=False)


def downgrade() -> None:
    op.drop_table('reminder')
    op.drop_table('mandate')
    op.drop_table('employee')
    with op.batch_alter_table('coursecompletion', schema=None) as batch_op:
        batch_op.drop_column('hours')
    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.drop_column('completion')
        batch_op.drop_column('hours')
