"""options shuffled per attempt, and the module a final-exam question tests

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 23:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Attempts opened before have no stored order: the engine draws a fresh attempt for them.
    with op.batch_alter_table('quizattempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('layout', sa.JSON(), nullable=False, server_default='{}'))
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.add_column(sa.Column('module_slug', sa.String(length=60), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.drop_column('module_slug')
    with op.batch_alter_table('quizattempt', schema=None) as batch_op:
        batch_op.drop_column('layout')
