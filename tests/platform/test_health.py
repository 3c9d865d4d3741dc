"""Liveness (/livez: the process answers) and readiness (/readyz: 503 while the database, or Redis when
configured, cannot be reached; ready again once it can), beside the unchanged /healthz."""
from __future__ import annotations

import time

import pytest

from gennation.platform import observability
from gennation.platform.database import Database
from tests.conftest import redis_or_skip


def unreachable_database(database_url: str, tmp_path) -> Database:
    if database_url.startswith("sqlite"):
        return Database(f"sqlite:///{tmp_path}/no-such-directory/gennation.db")  # cannot be opened
    return Database("postgresql+psycopg://postgres@127.0.0.1:1/nothing")  # nothing listens on port 1


def test_liveness_needs_nothing_but_the_process(client, tmp_path, database_url):
    client.app.state.db = unreachable_database(database_url, tmp_path)
    response = client.get("/livez")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"


def test_readiness_fails_while_the_database_is_unreachable_and_recovers(client, tmp_path, database_url):
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ok", "database": "ok"}  # Redis is not configured: not checked
    good = client.app.state.db
    client.app.state.db = unreachable_database(database_url, tmp_path)
    try:
        down = client.get("/readyz")
        assert down.status_code == 503
        assert down.json()["status"] == "unavailable"
        assert down.json()["database"].startswith("error: ")
        assert client.get("/livez").status_code == 200  # alive: a restart would not help
    finally:
        client.app.state.db.dispose()
        client.app.state.db = good
    assert client.get("/readyz").status_code == 200  # the same process is ready again


class AllSlotsTaken:
    """Every session slot in use: whoever asks for one waits."""

    async def __aenter__(self):
        import anyio
        await anyio.sleep(30)

    async def __aexit__(self, *_exc):
        return False


def test_readiness_does_not_wait_for_a_free_session_slot(client):
    """A server whose sessions are all in use is busy, not broken: it stays ready, and says so at once."""
    db = client.app.state.db
    db._slots = AllSlotsTaken()
    started = time.perf_counter()
    try:
        assert client.get("/readyz").status_code == 200
    finally:
        db.reset_slots()
    assert time.perf_counter() - started < 3


def test_readiness_gives_up_on_a_database_that_hangs(client, monkeypatch):
    monkeypatch.setattr(observability, "READY_TIMEOUT", 0.3)
    monkeypatch.setattr(observability, "_check_database", lambda _db: time.sleep(5))
    started = time.perf_counter()
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["database"] == "error: timeout"
    assert time.perf_counter() - started < 3


def test_readiness_checks_redis_when_it_is_configured(client):
    client.app.state.settings.redis_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/readyz")
    finally:
        client.app.state.settings.redis_url = ""
    assert response.status_code == 503
    assert response.json()["database"] == "ok" and response.json()["redis"].startswith("error: ")


@pytest.mark.services
def test_readiness_with_a_reachable_redis(client):
    client.app.state.settings.redis_url = redis_or_skip()
    try:
        response = client.get("/readyz")
    finally:
        client.app.state.settings.redis_url = ""
    assert response.status_code == 200 and response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_is_unchanged(client):
    body = client.get("/healthz").json()
    assert set(body) == {"status", "database", "redis", "tutor", "tutor_model_file"}
    assert client.get("/healthz/live").json() == {"status": "ok"}
