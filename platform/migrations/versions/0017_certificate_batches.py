"""certificate batches (bulk issuing with progress), tournament places, withdrawn certificates

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 07:45:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('certificatebatch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('target', sa.Integer(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('heartbeat_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('certificatebatch', schema=None) as batch_op:
        batch_op.create_index('ix_certificatebatch_kind_target', ['kind', 'target'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificatebatch_created_by'), ['created_by'], unique=False)

    op.create_table('withdrawncertificate',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('public_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('withdrawn_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('withdrawncertificate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_withdrawncertificate_code'), ['code'], unique=True)
        batch_op.create_index(batch_op.f('ix_withdrawncertificate_public_id'), ['public_id'], unique=True)

    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('place', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_column('place')
    with op.batch_alter_table('withdrawncertificate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_withdrawncertificate_public_id'))
        batch_op.drop_index(batch_op.f('ix_withdrawncertificate_code'))
    op.drop_table('withdrawncertificate')
    with op.batch_alter_table('certificatebatch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificatebatch_created_by'))
        batch_op.drop_index('ix_certificatebatch_kind_target')
    op.drop_table('certificatebatch')
