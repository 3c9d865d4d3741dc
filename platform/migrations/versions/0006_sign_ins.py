"""sign-ins as rows (every cookie and token names one; ending it signs out), ids never reused,
look-alike usernames

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('signin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('secret_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sa.Enum('browser', 'api', name='signinkind'), nullable=False),
    sa.Column('device', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('secret_hash')
    )
    with op.batch_alter_table('signin', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signin_user_id'), ['user_id'], unique=False)
    # Existing cookies and tokens named the account's sign-in key; they end here (people sign in again).
    # On SQLite the table is rebuilt with AUTOINCREMENT, so a deleted account's id is never given out
    # again (PostgreSQL's sequences never reuse one anyway).
    recreate = 'always' if op.get_bind().dialect.name == 'sqlite' else 'auto'
    with op.batch_alter_table('user', schema=None, recreate=recreate,
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_column('sign_in_key')
        batch_op.add_column(sa.Column('username_skeleton', sqlmodel.sql.sqltypes.AutoString(length=40),
                                      nullable=False, server_default=''))
        batch_op.create_index(batch_op.f('ix_user_username_skeleton'), ['username_skeleton'], unique=False)
    from gennation.platform.accounts.service import username_skeleton
    users = sa.table('user', sa.column('id', sa.Integer), sa.column('username', sa.String),
                     sa.column('username_skeleton', sa.String))
    bind = op.get_bind()
    for user_id, username in bind.execute(sa.select(users.c.id, users.c.username)).all():
        bind.execute(users.update().where(users.c.id == user_id).values(username_skeleton=username_skeleton(username)))
    # Failed sign-ins are now counted in Redis (or in the process), by hashed keys that expire.
    with op.batch_alter_table('loginattempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loginattempt_username'))
        batch_op.drop_index(batch_op.f('ix_loginattempt_at'))
        batch_op.drop_index(batch_op.f('ix_loginattempt_address'))
    op.drop_table('loginattempt')


def downgrade() -> None:
    op.create_table('loginattempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('loginattempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loginattempt_address'), ['address'], unique=False)
        batch_op.create_index(batch_op.f('ix_loginattempt_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_loginattempt_username'), ['username'], unique=False)
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_username_skeleton'))
        batch_op.drop_column('username_skeleton')
        batch_op.add_column(sa.Column('sign_in_key', sa.String(length=32), nullable=False, server_default=''))
    with op.batch_alter_table('signin', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signin_user_id'))
    op.drop_table('signin')
    sa.Enum(name='signinkind').drop(op.get_bind(), checkfirst=True)
