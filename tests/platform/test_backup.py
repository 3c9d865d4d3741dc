"""`gennation backup FILE` / `gennation restore FILE`: data made, backed up, changed and deleted,
restored, and every row (and every id counter) is back exactly, on SQLite and on PostgreSQL."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, inspect, text
from typer.testing import CliRunner

from gennation.platform import cli
from gennation.platform.settings import get_settings
from tests.conftest import api_token, register


def snapshot(url: str) -> dict:
    """Every table's rows (sorted) and every id counter of the database."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = sorted(inspect(connection).get_table_names())
            found = {}
            for table in tables:
                rows = connection.execute(text(f'SELECT * FROM "{table}"')).mappings().all()
                found[table] = sorted(json.dumps(dict(row), default=str, sort_keys=True) for row in rows)
            if url.startswith("sqlite"):
                found["(counters)"] = sorted(map(tuple, connection.execute(
                    text("SELECT name, seq FROM sqlite_sequence")).all())) if "sqlite_sequence" not in tables else None
            else:
                sequences = connection.execute(text(
                    "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")).all()
                found["(counters)"] = sorted(map(tuple, sequences))
    finally:
        engine.dispose()
    return found


@pytest.fixture
def gennation(monkeypatch, settings):
    """Run `gennation ...` against the test's database, as an operator would."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("VAR_DIR", str(settings.var_dir))
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(cli.app, list(args), input=input)
    yield run
    get_settings.cache_clear()


@pytest.fixture
def quiet(session, monkeypatch):
    """No session of the test left open across a restore (its table locks would stop it)."""
    from gennation.platform import backup
    monkeypatch.setattr(backup, "LOCK_TIMEOUT", "5s")
    session.close()


def test_backup_and_restore_round_trip_loses_nothing(client, settings, gennation, tmp_path, quiet):
    # Data of several kinds: people (browser and API sign-ins), an enrolment, a quiz attempt, progress.
    register(client, "aliya")
    headers = api_token(client, "bolat")
    assert client.post("/api/v1/courses/test-course/enroll", headers=headers).status_code in (200, 201)
    assert client.post("/api/v1/courses/test-course/lessons/first-steps/read", headers=headers).status_code in (200, 201)
    assert client.post("/api/v1/courses/test-course/quizzes/basics-quiz/attempts", headers=headers).status_code in (200, 201)
    client.app.state.engine.dispose()  # nothing of the app holds a connection (a restore replaces the tables)
    before = snapshot(settings.database_url)
    assert len(before["user"]) == 2 and before["quizattempt"] and before["signin"]

    file = tmp_path / "backup.dump"
    made = gennation("backup", str(file))
    assert made.exit_code == 0, made.output
    assert file.stat().st_size > 0 and not (tmp_path / "backup.dump.partial").exists()

    # Changed, deleted and added after the backup.
    engine = create_engine(settings.database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE \"user\" SET display_name = 'Changed' WHERE username = 'aliya'"))
        connection.execute(text("DELETE FROM quizattempt"))
        connection.execute(text("DELETE FROM signin"))
        connection.execute(text("DELETE FROM \"user\" WHERE username = 'bolat'"))
    engine.dispose()
    register(client, "newcomer")  # new rows move the id counters on
    client.app.state.engine.dispose()
    changed = snapshot(settings.database_url)
    assert changed != before

    restored = gennation("restore", "--yes", str(file))
    assert restored.exit_code == 0, restored.output
    after = snapshot(settings.database_url)
    assert after == before
    # and the platform works on it: the restored person signs in
    assert client.get("/api/v1/me", headers=headers).json()["username"] == "bolat"


def test_restore_asks_first_and_refuses_a_file_of_the_wrong_kind(client, settings, gennation, tmp_path, quiet):
    register(client, "aliya")
    client.app.state.engine.dispose()
    before = snapshot(settings.database_url)
    file = tmp_path / "backup.dump"
    assert gennation("backup", str(file)).exit_code == 0

    declined = gennation("restore", str(file), input="n\n")
    assert declined.exit_code == 1

    wrong = tmp_path / "wrong.dump"
    wrong.write_bytes(b"PGDMP-not-really" if settings.database_url.startswith("sqlite") else b"SQLite format 3\x00...")
    refused = gennation("restore", "--yes", str(wrong))
    assert refused.exit_code == 1 and "restore failed" in refused.output
    missing = gennation("restore", "--yes", str(tmp_path / "none.dump"))
    assert missing.exit_code == 1 and "no such file" in missing.output
    assert snapshot(settings.database_url) == before


def test_a_broken_postgresql_backup_changes_nothing(client, settings, gennation, tmp_path, database_url, quiet):
    if not database_url.startswith("postgresql"):
        pytest.skip("pg_restore's single transaction (the SQLite variant restores with one backup step)")
    register(client, "aliya")
    client.app.state.engine.dispose()
    file = tmp_path / "backup.dump"
    assert gennation("backup", str(file)).exit_code == 0
    before = snapshot(settings.database_url)
    truncated = tmp_path / "truncated.dump"
    truncated.write_bytes(file.read_bytes()[: file.stat().st_size * 2 // 3])
    result = gennation("restore", "--yes", str(truncated))
    assert result.exit_code == 1 and "pg_restore failed" in result.output
    assert snapshot(settings.database_url) == before
