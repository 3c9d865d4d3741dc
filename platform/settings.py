"""All configuration, read once from the environment (and `.env` if present)."""
from __future__ import annotations

import ipaddress
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
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
    # Who runs the tutor's model: `embedded` (a thread of this process), `celery` (workers on the `tutor`
    # queue, through Redis) or `openai` (an OpenAI-compatible inference server at TUTOR_API_BASE).
    # Unset: celery when REDIS_URL is set, embedded otherwise.
    tutor_backend: Literal["embedded", "celery", "openai"] | None = None
    tutor_api_base: str = Field(default="", description="e.g. http://127.0.0.1:8001/v1")
    tutor_api_model: str = Field(default="qwen2.5-coder-0.5b-instruct-q4", description="the model name the server serves")
    tutor_api_key: str = Field(default="", description="sent as a bearer token when the server wants one")
    # Requests one web process keeps in flight to the inference server; further learners wait their turn here
    # and are told their place. 1 suits llama_cpp.server (one generation at a time); a batching server
    # (vLLM): about its concurrent sequences divided by the web processes.
    tutor_api_concurrency: int = Field(default=1, gt=0, le=1000)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    var_dir: Path = ROOT / "var"
    content_dir: Path = ROOT / "courses" / "content"
    session_max_age: int = Field(default=14 * 24 * 3600, gt=0)
    token_max_age: int = Field(default=30 * 24 * 3600, gt=0)
    # A final exam: minutes to wait after a graded attempt, and attempts in any 24 hours.
    exam_cooldown_minutes: int = Field(default=10, ge=0)
    exam_attempts_per_day: int = Field(default=3, gt=0)
    secure_cookies: bool = False
    # Proxies (addresses or networks, comma-separated) whose X-Forwarded-For names the real visitor.
    trusted_proxies: str = Field(default="", description="e.g. 127.0.0.1,10.0.0.0/8 behind nginx")
    # Request bodies above this are refused (413): nothing the platform takes is larger.
    max_body_bytes: int = Field(default=1_000_000, gt=0)
    # A form with files (the largest: a tournament task's data, 50 MB); each file has its own limit too.
    max_upload_bytes: int = Field(default=60_000_000, gt=0)
    # The interactive API documentation at /api/docs (served from the project's own files).
    api_docs: bool = True
    # Database sessions one web process holds at once; more requests wait their turn (never time out).
    # Two: Python runs one thread at a time in a process, and more threads only queue for it (see
    # `platform.database`); a second one overlaps the first one's waits on the database.
    db_pool_size: int = Field(default=2, gt=0, le=200)
    # On SIGTERM a web process stops taking requests and lets those in flight (tutor streams too) finish for
    # this long before it cuts them (a cut stream keeps what was shown); below compose's stop_grace_period.
    shutdown_grace_seconds: float = Field(default=25.0, ge=0, le=600)
    # Seconds an anonymous visitor's page is kept in the process and sent again (0: never); also how long
    # a web process trusts the course versions it read last (a content reload reaches every page within it).
    page_cache_seconds: float = Field(default=2.0, ge=0, le=300)
    # The platform's public address: certificates' QR codes and badges point under it.
    public_url: str = Field(default="http://127.0.0.1:8000", description="e.g. https://gennation.kz")
    # /metrics answers the machine itself, or a request with `Authorization: Bearer <METRICS_TOKEN>`.
    metrics_token: str = Field(default="", description="empty: only requests from this machine")

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

    @field_validator("tutor_backend", mode="before")
    @classmethod
    def _backend_or_unset(cls, value: object) -> object:
        return (value.strip().lower() or None) if isinstance(value, str) else value

    @field_validator("tutor_api_base")
    @classmethod
    def _api_base(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// (e.g. http://127.0.0.1:8001/v1)")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _backend_needs(self) -> "Settings":
        if self.tutor_backend == "openai" and not self.tutor_api_base:
            raise ValueError("TUTOR_BACKEND=openai needs TUTOR_API_BASE (e.g. http://127.0.0.1:8001/v1)")
        if self.tutor_backend == "celery" and not self.redis_url:
            raise ValueError("TUTOR_BACKEND=celery needs REDIS_URL")
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            ipaddress.ip_network(part, strict=False)  # a ValueError names the bad entry
        return value

    def is_trusted_proxy(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in _proxy_networks(self.trusted_proxies))

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


@lru_cache(maxsize=8)
def _proxy_networks(value: str) -> tuple:
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in value.split(",") if p.strip())


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
