"""a person's progress stamp: the key their progress is kept under between pages

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 18:30:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing people start without one: their progress is read on every page until it next changes.
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('progress_stamp', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('progress_stamp')
