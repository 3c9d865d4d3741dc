"""All configuration, read once from the environment (and `.env` if present)."""
from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("kk", "ru", "en")
CONTENT_LANGUAGES = ("kk", "ru")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(default="", description="SQLAlchemy URL; SQLite under var/ when empty")
    redis_url: str = Field(default="", description="Celery broker and tutor relay; in-process when empty")
    secret_key: str = Field(default="", description="Signs cookies and tokens; generated into var/ when empty")
    tutor_model_path: Path | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    var_dir: Path = ROOT / "var"
    content_dir: Path = ROOT / "courses" / "content"
    session_max_age: int = Field(default=14 * 24 * 3600, gt=0)
    token_max_age: int = Field(default=30 * 24 * 3600, gt=0)
    login_attempts_per_15min: int = Field(default=10, gt=0)
    secure_cookies: bool = False
    # Database sessions one web process holds at once; more requests wait their turn (never time out).
    db_pool_size: int = Field(default=20, gt=0, le=200)
    # Seconds an anonymous visitor's page is kept in the process and sent again (0: never).
    page_cache_seconds: float = Field(default=2.0, ge=0, le=300)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql://")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _known_redis(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://")):
            raise ValueError("must start with redis://")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    def resolved(self) -> "Settings":
        """Fill in the embedded defaults: SQLite file and a secret key kept in `var/`."""
        self.var_dir.mkdir(parents=True, exist_ok=True)
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / 'gennation.db'}"
        if not self.secret_key:
            key_file = self.var_dir / "secret_key"
            if not key_file.exists():
                key_file.write_text(secrets.token_urlsafe(48))
                key_file.chmod(0o600)
            self.secret_key = key_file.read_text().strip()
        if self.tutor_model_path is None:
            self.tutor_model_path = self.var_dir / "models" / "qwen2.5-coder-0.5b-instruct-q4.gguf"
        return self


class ConfigurationError(SystemExit):
    """Raised with one readable line instead of a traceback."""


def describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        name = ".".join(str(p) for p in item["loc"]).upper() or "settings"
        parts.append(f"{name}: {item['msg']}")
    return "Configuration error: " + "; ".join(parts)


@lru_cache
def get_settings() -> Settings:
    try:
        return Settings().resolved()
    except ValidationError as error:
        raise ConfigurationError(describe(error)) from None
