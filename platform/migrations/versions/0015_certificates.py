"""certificates and their audit log

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 04:30:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('certificate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('holder_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('course_slug', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('title', sa.JSON(), nullable=False),
    sa.Column('stage', sa.JSON(), nullable=False),
    sa.Column('award', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('hours', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('issuer', sa.JSON(), nullable=False),
    sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('revoked_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('revoked_by', sa.Integer(), nullable=True),
    sa.Column('replaced_by', sa.Integer(), nullable=True),
    sa.Column('pdf_status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['replaced_by'], ['certificate.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['revoked_by'], ['user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_code'), ['code'], unique=True)
        batch_op.create_index(batch_op.f('ix_certificate_course_slug'), ['course_slug'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_public_id'), ['public_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_certificate_user_id'), ['user_id'], unique=False)

    op.create_table('certificateevent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificate.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('certificateevent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificateevent_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificateevent_certificate_id'), ['certificate_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('certificateevent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificateevent_certificate_id'))
        batch_op.drop_index(batch_op.f('ix_certificateevent_actor_id'))

    op.drop_table('certificateevent')
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_user_id'))
        batch_op.drop_index(batch_op.f('ix_certificate_public_id'))
        batch_op.drop_index(batch_op.f('ix_certificate_course_slug'))
        batch_op.drop_index(batch_op.f('ix_certificate_code'))

    op.drop_table('certificate')
