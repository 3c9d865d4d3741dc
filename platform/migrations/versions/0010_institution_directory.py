"""the directory of institutions: names in Kazakh and Russian, the BIN that identifies one across
imports, a case-folded key to search both names; courses adopted into programmes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 00:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('adoption',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('course_slug', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('programme', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('since', sa.Date(), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by'], ['user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('institution_id', 'course_slug', 'programme')
    )
    with op.batch_alter_table('adoption', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_adoption_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_adoption_recorded_by'), ['recorded_by'], unique=False)
    with op.batch_alter_table('institution', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_ru', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('official_id', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True))
        batch_op.add_column(sa.Column('search_key', sqlmodel.sql.sqltypes.AutoString(length=402), nullable=False,
                                      server_default=''))
        batch_op.create_unique_constraint(batch_op.f('uq_institution_official_id'), ['official_id'])
        batch_op.create_index(batch_op.f('ix_institution_search_key'), ['search_key'], unique=False)
        batch_op.drop_column('has_ai_programme')  # a yes/no said nothing of which course or since when
    # Until the directory is imported, one name for both languages.
    institutions = sa.table('institution', sa.column('id', sa.Integer), sa.column('name', sa.String),
                            sa.column('name_ru', sa.String), sa.column('search_key', sa.String))
    bind = op.get_bind()
    for institution_id, name in bind.execute(sa.select(institutions.c.id, institutions.c.name)).all():
        bind.execute(institutions.update().where(institutions.c.id == institution_id)
                     .values(name_ru=name, search_key=name.casefold()))


def downgrade() -> None:
    with op.batch_alter_table('adoption', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_adoption_recorded_by'))
        batch_op.drop_index(batch_op.f('ix_adoption_institution_id'))
    op.drop_table('adoption')
    with op.batch_alter_table('institution', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_institution_search_key'))
        batch_op.drop_constraint(batch_op.f('uq_institution_official_id'), type_='unique')
        batch_op.drop_column('search_key')
        batch_op.add_column(sa.Column('has_ai_programme', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.drop_column('official_id')
        batch_op.drop_column('name_ru')
