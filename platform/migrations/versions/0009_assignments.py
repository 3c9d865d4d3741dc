"""classes get a group, a language and archiving; assignments of courses, modules and quizzes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 23:50:00

Existing classes are taught in Kazakh (the default) and have no group; none is archived.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('classroom', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.add_column(sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False,
                                      server_default='kk'))
        batch_op.add_column(sa.Column('archived_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    with op.batch_alter_table('classroom', schema=None) as batch_op:
        batch_op.alter_column('language', existing_type=sqlmodel.sql.sqltypes.AutoString(length=2),
                              server_default=None)

    op.create_table('assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('classroom_id', sa.Integer(), nullable=False),
    sa.Column('course_slug', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('module_slug', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('quiz_slug', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('due_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['classroom_id'], ['classroom.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('classroom_id', 'course_slug', 'module_slug', 'quiz_slug')
    )
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignment_classroom_id'), ['classroom_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignment_created_by'), ['created_by'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignment_created_by'))
        batch_op.drop_index(batch_op.f('ix_assignment_classroom_id'))
    op.drop_table('assignment')
    with op.batch_alter_table('classroom', schema=None) as batch_op:
        batch_op.drop_column('archived_at')
        batch_op.drop_column('language')
        batch_op.drop_column('group')
