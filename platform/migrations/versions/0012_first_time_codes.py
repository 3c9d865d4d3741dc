"""first-time codes and class invitations

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 04:10:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('firsttimecode',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id')
    )
    with op.batch_alter_table('firsttimecode', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_firsttimecode_created_by'), ['created_by'], unique=False)

    op.create_table('classinvitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('classroom_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('invited_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['classroom_id'], ['classroom.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invited_by'], ['user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('classroom_id', 'user_id')
    )
    with op.batch_alter_table('classinvitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_classinvitation_classroom_id'), ['classroom_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_classinvitation_invited_by'), ['invited_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_classinvitation_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('classinvitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_classinvitation_user_id'))
        batch_op.drop_index(batch_op.f('ix_classinvitation_invited_by'))
        batch_op.drop_index(batch_op.f('ix_classinvitation_classroom_id'))
    op.drop_table('classinvitation')
    with op.batch_alter_table('firsttimecode', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_firsttimecode_created_by'))
    op.drop_table('firsttimecode')
