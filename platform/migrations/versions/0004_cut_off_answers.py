"""tutor answers cut off by the learner leaving

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 20:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tutormessage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cut_off', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('tutormessage', schema=None) as batch_op:
        batch_op.drop_column('cut_off')
