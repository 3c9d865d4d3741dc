"""indicators: official population figures and the rollup of the national indicators

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 05:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('populationfigure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('population', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('source_date', sa.Date(), nullable=False),
    sa.Column('loaded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('loaded_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['loaded_by'], ['user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('year', 'region')
    )
    with op.batch_alter_table('populationfigure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_populationfigure_loaded_by'), ['loaded_by'], unique=False)

    op.create_table('indicatorvalue',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('indicator', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('breakdown', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('numerator', sa.Integer(), nullable=False),
    sa.Column('denominator', sa.Integer(), nullable=True),
    sa.Column('computed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('indicator', 'year', 'region', 'breakdown')
    )


def downgrade() -> None:
    op.drop_table('indicatorvalue')
    with op.batch_alter_table('populationfigure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_populationfigure_loaded_by'))
    op.drop_table('populationfigure')
