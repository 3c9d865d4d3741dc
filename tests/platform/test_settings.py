import os
import subprocess
import sys
from pathlib import Path

from gennation.platform.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
GENNATION = Path(sys.executable).parent / "gennation"


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(GENNATION), *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


def test_bad_database_url_fails_with_one_clear_line_and_no_traceback():
    result = run_cli("db", "upgrade", DATABASE_URL="mysql://nope")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["Configuration error: DATABASE_URL: Value error, must start with sqlite:// or postgresql://"]


def test_bad_log_level_names_the_setting():
    result = run_cli("db", "upgrade", LOG_LEVEL="LOUD")
    assert result.returncode == 2
    assert result.stderr.startswith("Configuration error: LOG_LEVEL")
    assert "Traceback" not in result.stderr


def test_secret_key_is_generated_once_into_var_and_reused(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = Settings(var_dir=tmp_path).resolved()
    second = Settings(var_dir=tmp_path).resolved()
    assert len(first.secret_key) >= 40
    assert first.secret_key == second.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_embedded_default_is_sqlite_under_var(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = Settings(var_dir=tmp_path).resolved()
    assert settings.database_url == f"sqlite:///{tmp_path / 'gennation.db'}"
    assert settings.redis_url == ""


def test_plain_postgresql_url_uses_the_psycopg_driver():
    assert Settings(database_url="postgresql://u@h/db").database_url == "postgresql+psycopg://u@h/db"
