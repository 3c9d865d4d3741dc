"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from gennation.platform.tables import metadata


def test_migrations_match_the_models(app):
    with app.state.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []
