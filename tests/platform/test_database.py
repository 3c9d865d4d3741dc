"""The engine's connections: PostgreSQL's are tested before use only after sitting idle."""
import time

import pytest
from sqlalchemy import text

from gennation.platform.database import make_engine

pytestmark = pytest.mark.services


def backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_a_connection_ended_while_idle_is_replaced_before_use(postgres_migrated):
    engine, other = make_engine(postgres_migrated, pool_size=1, ping_after=0.05), make_engine(postgres_migrated)
    try:
        first = backend_pid(engine)
        with other.connect() as connection:  # as a server restart or an idle timeout would end it
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar_one()
        time.sleep(0.1)
        assert backend_pid(engine) != first  # answered, by a new connection, without an error
    finally:
        engine.dispose(), other.dispose()


def test_only_a_connection_that_sat_idle_is_pinged(postgres_migrated, monkeypatch):
    engine = make_engine(postgres_migrated, pool_size=1, ping_after=0.2)
    pings = []
    monkeypatch.setattr(engine.dialect, "do_ping", lambda connection: pings.append(connection) or True)
    try:
        for _ in range(5):  # in steady use: no round trip before the work
            backend_pid(engine)
        assert pings == []
        time.sleep(0.3)
        backend_pid(engine)
        assert len(pings) == 1
    finally:
        engine.dispose()
