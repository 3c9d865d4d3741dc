"""teachers are vouched for: confirmation, class join dates, institution coordinators

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:00:00

Existing teachers start unconfirmed: any of them may have registered themselves as a teacher, which
is the hole this closes; an admin confirms them on /admin/teachers (or an operator with
`gennation users set-role USERNAME teacher`). Existing memberships are dated now: when a learner
joined is not known, so their teacher sees only what they do from the upgrade on.
"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('teacher_confirmed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))

    with op.batch_alter_table('classmember', schema=None) as batch_op:
        batch_op.add_column(sa.Column('joined_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    classmember = sa.table('classmember', sa.column('joined_at', sqlmodel.sql.sqltypes.UTCDateTime()))
    op.execute(classmember.update().values(joined_at=datetime.now(UTC)))
    with op.batch_alter_table('classmember', schema=None) as batch_op:
        batch_op.alter_column('joined_at', existing_type=sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False)

    op.create_table('coordinator',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('appointed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('institution_id', 'user_id')
    )
    with op.batch_alter_table('coordinator', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coordinator_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_coordinator_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('coordinator', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coordinator_user_id'))
        batch_op.drop_index(batch_op.f('ix_coordinator_institution_id'))
    op.drop_table('coordinator')
    with op.batch_alter_table('classmember', schema=None) as batch_op:
        batch_op.drop_column('joined_at')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('teacher_confirmed_at')
