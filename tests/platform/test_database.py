"""The engine and its slots: PostgreSQL's connections are tested before use only after sitting idle, and open
their transactions at the first write; a unit of work lends its slot while a password is hashed."""
import time

import pytest
from sqlalchemy import text

from gennation.platform import security
from gennation.platform.database import Database, make_engine
from tests.conftest import run_async

postgresql = pytest.mark.services


def backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


@postgresql
def test_a_connection_ended_while_idle_is_replaced_before_use(postgres_migrated):
    engine, other = make_engine(postgres_migrated, pool_size=1, ping_after=0.05), make_engine(postgres_migrated)
    try:
        first = backend_pid(engine)
        with other.connect() as connection:  # as a server restart or an idle timeout would end it
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar_one()
        time.sleep(0.1)
        assert backend_pid(engine) != first  # answered, by a new connection, without an error
    finally:
        engine.dispose()
        other.dispose()


@postgresql
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


def transaction_status(session) -> str:
    return session.connection().connection.dbapi_connection.info.transaction_status.name


@postgresql
def test_a_unit_of_work_opens_its_transaction_at_its_first_write(postgres_migrated):
    db = Database(postgres_migrated, pool_size=1)
    try:
        with db.unit_of_work() as session:
            session.exec(text("CREATE TABLE IF NOT EXISTS uow_probe (n INTEGER)"))
            session.exec(text("DELETE FROM uow_probe"))
        with db.unit_of_work() as session:
            session.exec(text("SELECT count(*) FROM uow_probe"))
            assert transaction_status(session) == "IDLE"  # a read: no BEGIN, no COMMIT
            session.exec(text("INSERT INTO uow_probe VALUES (1)"))
            assert transaction_status(session) == "INTRANS"
            session.exec(text("SELECT count(*) FROM uow_probe"))
            assert transaction_status(session) == "INTRANS"  # reads its own write, in the transaction
        with pytest.raises(RuntimeError), db.unit_of_work() as session:
            session.exec(text("INSERT INTO uow_probe VALUES (2)"))
            session.exec(text("INSERT INTO uow_probe VALUES (3)"))
            raise RuntimeError("the request fails after two writes")
        with db.unit_of_work() as session:
            assert transaction_status(session) == "IDLE"  # the connection came back outside a transaction
            assert session.exec(text("SELECT n FROM uow_probe")).all() == [(1,)]  # both writes taken back
            session.exec(text("SELECT n FROM uow_probe FOR UPDATE")).all()
            assert transaction_status(session) == "INTRANS"  # a locking read holds its locks to the end
            session.exec(text("DROP TABLE uow_probe"))
    finally:
        db.dispose()


@postgresql
def test_a_connection_asked_for_autocommit_keeps_it(postgres_migrated):
    """VACUUM (and CREATE INDEX CONCURRENTLY) refuse to run in a transaction: a connection that asks for
    AUTOCOMMIT is never put into one by the first write."""
    engine = make_engine(postgres_migrated, pool_size=1)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("CREATE TABLE IF NOT EXISTS vacuum_probe (n INTEGER)"))
            connection.execute(text("VACUUM vacuum_probe"))
            connection.execute(text("DROP TABLE vacuum_probe"))
    finally:
        engine.dispose()


def test_a_unit_of_work_lends_its_slot_while_a_password_is_hashed(app, monkeypatch):
    """Two slots a process: a class signing in at once must not hold up everyone else's pages."""
    db, during = app.state.db, []

    class Hasher:  # argon2's own hasher has read-only methods
        def verify(self, *_):
            during.append(db.slots.borrowed_tokens)
            return True

    monkeypatch.setattr(security, "_hasher", Hasher())

    def sign_in_check(_session):
        assert security.verify_password("a hash", "a password")
        return db.slots.borrowed_tokens

    async def request():
        return await db.run(sign_in_check)

    assert run_async(request()) == 1  # the slot is back before the unit of work goes on
    assert during == [0]
    assert db.slots.borrowed_tokens == 0
