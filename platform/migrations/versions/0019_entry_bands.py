"""tournament entries keep a fingerprint of their predictions (near-identical files are flagged)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 13:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('entry') as batch:
        batch.add_column(sa.Column('bands', sa.JSON(), nullable=False, server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('entry') as batch:
        batch.drop_column('bands')
