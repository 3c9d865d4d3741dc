"""one open attempt per learner and quiz (a partial unique index), so parallel requests cannot open
several attempts at a final exam past its limits

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 00:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Of several open attempts at one quiz, the newest stays (none of them has answers yet).
    op.execute("DELETE FROM quizattempt WHERE graded_at IS NULL AND id NOT IN "
               "(SELECT max(id) FROM quizattempt WHERE graded_at IS NULL GROUP BY user_id, quiz_id)")
    op.create_index('uq_quizattempt_open', 'quizattempt', ['user_id', 'quiz_id'], unique=True,
                    sqlite_where=sa.text('graded_at IS NULL'), postgresql_where=sa.text('graded_at IS NULL'))


def downgrade() -> None:
    op.drop_index('uq_quizattempt_open', table_name='quizattempt')
