"""Applying the Alembic migrations in platform/migrations to the configured database."""
from __future__ import annotations

from alembic import command
from alembic.config import Config

from gennation.platform.settings import ROOT

MIGRATIONS_DIR = ROOT / "platform" / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")


def autogenerate(database_url: str, message: str) -> None:
    command.revision(alembic_config(database_url), message=message, autogenerate=True)
