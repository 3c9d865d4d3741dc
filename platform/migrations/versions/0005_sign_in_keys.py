"""a sign-in key per account, named by its cookies and tokens

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sign_in_key', sa.String(length=32), nullable=False, server_default=''))
    # Existing accounts get a random key too (their people sign in once more).
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('UPDATE "user" SET sign_in_key = lower(hex(randomblob(16)))')
    else:
        op.execute('UPDATE "user" SET sign_in_key = md5(random()::text || id::text)')


def downgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('sign_in_key')
