"""Engine, sessions and the unit of work. SQLite for the embedded default, PostgreSQL in production.

A request, a CLI command, a Celery task or a benchmark step is one unit of work: one session that is
committed when the work succeeds and rolled back when it raises. Services only `flush()`.

A web process holds at most `pool_size` sessions at once: each one takes a slot first, waiting
without blocking the event loop when all are in use, so a burst of requests queues instead of timing
out on the connection pool. The default is small on purpose: a unit of work is mostly Python, and one
process runs Python in one thread at a time, so threads beyond two only take turns at the interpreter
lock (measured: a signed-in page cost 25-35 % more CPU with 20 at once than with 2).
"""
from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from time import monotonic
from typing import TypeVar

import anyio
from anyio import from_thread
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine
from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


# A pooled PostgreSQL connection idle for longer than this is tested before use (see `_ping_if_idle`).
PING_AFTER_IDLE_SECONDS = 10.0


def make_engine(url: str, pool_size: int = 2, ping_after: float = PING_AFTER_IDLE_SECONDS) -> Engine:
    # A few connections beyond the slots serve work outside requests (in-process tasks, health checks).
    # The last one returned is handed out first, so the spare ones idle and the busy ones need no ping.
    pool = {"pool_size": pool_size + 2, "max_overflow": 5, "pool_timeout": 30, "pool_use_lifo": True}
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "savepoint")
        def _begin_before_savepoint(connection, _name):
            # pysqlite opens a transaction only before a write; a SAVEPOINT outside one starts its own, and
            # its RELEASE would commit the unit of work halfway. Open the transaction first.
            dbapi_connection = connection.connection.dbapi_connection
            if not dbapi_connection.in_transaction:
                dbapi_connection.execute("BEGIN")

        return engine
    engine = create_engine(url, **pool)
    _begin_at_the_first_write(engine)
    _ping_if_idle(engine, ping_after)
    return engine


# Statements that may run outside a transaction: plain reads. Anything else (writes, DDL, savepoints,
# locking reads) opens the unit of work's transaction first.
_PLAIN_READ = re.compile(r"\s*(SELECT|SHOW)\b", re.IGNORECASE)
_LOCKS = re.compile(r"\bFOR\s+(UPDATE|NO\s+KEY\s+UPDATE|SHARE|KEY\s+SHARE)\b|advisory", re.IGNORECASE)


def _begin_at_the_first_write(engine: Engine) -> None:
    """PostgreSQL's transactions open as SQLite's driver opens them: at the unit of work's first write (or
    locking read), not at its first read. At READ COMMITTED every statement sees the latest commits, in a
    transaction or not, so a read loses nothing by running before it; a page that only reads saves the
    round trips of BEGIN and COMMIT (two of a signed-in page's three). Every write of a unit of work is
    still in one transaction, committed or rolled back as a whole."""

    @event.listens_for(engine, "connect")
    def _start_outside_a_transaction(dbapi_connection, _record):
        dbapi_connection.autocommit = True

    @event.listens_for(engine, "before_cursor_execute")
    def _begin_before_writing(connection, cursor, statement, *_args):
        if (cursor.connection.autocommit and (not _PLAIN_READ.match(statement) or _LOCKS.search(statement))
                and connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT"):
            cursor.connection.autocommit = False  # psycopg sends BEGIN before this statement

    @event.listens_for(engine, "checkin")
    def _back_outside(dbapi_connection, _record):
        if dbapi_connection is not None and not dbapi_connection.autocommit:
            dbapi_connection.rollback()  # (what the pool has not rolled back yet; no round trip otherwise)
            dbapi_connection.autocommit = True


def _ping_if_idle(engine: Engine, after: float) -> None:
    """Test a connection before use only when it has sat idle for `after` seconds: a server restart or an
    idle timeout ends those, and the pool replaces one that fails. A connection in steady use is not pinged
    (SQLAlchemy's pre-ping adds a round trip to every unit of work: it would double a signed-in page's).
    One that a restart ended while in use fails its request once, and the pool is then renewed."""

    @event.listens_for(engine, "checkin")
    def _note_idle_since(_dbapi_connection, record):
        record.info["idle_since"] = monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection, record, _proxy):
        if monotonic() - record.info.get("idle_since", monotonic()) < after:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # any failure: this connection is gone, the pool opens another
            raise exc.DisconnectionError() from error


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the unit of work has committed (Celery tasks are sent then, never before)."""
    session.info.setdefault("after_commit", []).append(callback)


def commit(session: Session) -> None:
    """Commit, then run what waited for the commit (tasks sent after it)."""
    session.commit()
    for callback in session.info.pop("after_commit", []):
        callback()


def _finish(session: Session, succeeded: bool) -> None:
    try:
        if succeeded:
            commit(session)
        else:
            session.rollback()
    finally:
        session.close()


@dataclass(eq=False)
class _Slot:
    """One unit of work's hold on a slot (a borrower of `Database.slots`)."""

    limiter: anyio.CapacityLimiter
    held: bool = True


_this_thread = threading.local()  # .slot: the slot of the unit of work this thread runs for `Database.run`
# Units of work that may be out of their slot at once. Each keeps its connection meanwhile: the pool's
# overflow (5) has room for them.
_OUT_OF_SLOT = threading.BoundedSemaphore(4)


@contextmanager
def slot_lent() -> Iterator[None]:
    """Lend this unit of work's slot to another one during slow work that uses no database (a password
    hash: ~0.2 s of a core), then wait for a slot again. With two slots a process, a class signing in at
    once would otherwise hold up every page. Outside `Database.run`, or with enough units already out
    (never waiting for that: a unit holding a slot must not wait on one that wants it back), it does nothing."""
    slot = getattr(_this_thread, "slot", None)
    if slot is None or not _OUT_OF_SLOT.acquire(blocking=False):
        yield
        return
    try:
        from_thread.run_sync(slot.limiter.release_on_behalf_of, slot)
        slot.held = False
        try:
            yield
        finally:
            from_thread.run(slot.limiter.acquire_on_behalf_of, slot)
            slot.held = True
    finally:
        _OUT_OF_SLOT.release()


class Database:
    """The engine of one process and the slots its sessions take."""

    def __init__(self, url: str, pool_size: int = 2, content_recheck: float = 0.0):
        self.engine = make_engine(url, pool_size)
        self.pool_size = pool_size
        self.content_recheck = content_recheck  # see courses.outline.catalogue
        self._slots: anyio.CapacityLimiter | None = None

    def session(self) -> Session:
        # Objects stay readable after commit: pages render them once the work is committed.
        session = Session(self.engine, expire_on_commit=False)
        session.info["content_recheck"] = self.content_recheck
        return session

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """Synchronous unit of work, for the CLI, Celery tasks, benchmarks and thread-pool code."""
        session, succeeded = self.session(), False
        try:
            yield session
            succeeded = True
        finally:
            _finish(session, succeeded)

    @property
    def slots(self) -> anyio.CapacityLimiter:
        if self._slots is None:
            self._slots = anyio.CapacityLimiter(self.pool_size)
        return self._slots

    def reset_slots(self) -> None:
        """A new event loop (server start) gets fresh slots."""
        self._slots = None

    async def run(self, work: Callable[..., T], *args) -> T:
        """`work(session, *args)` as one unit of work in the thread pool, from async code: every route that
        takes the request's session (`platform.deps.UnitOfWorkRoute`), and the short database steps of
        async routes, which never hold a session across an `await`. A client that goes away does not
        cut it short: the thread commits or rolls back before the request ends. The work may lend its slot
        for a while (`slot_lent`)."""
        slot = _Slot(self.slots)
        await self.slots.acquire_on_behalf_of(slot)
        try:
            return await run_in_threadpool(self._run, work, args, slot)
        finally:
            if slot.held:
                self.slots.release_on_behalf_of(slot)

    def _run(self, work: Callable[..., T], args: tuple, slot: _Slot) -> T:
        _this_thread.slot = slot
        try:
            with self.unit_of_work() as session:
                return work(session, *args)
        finally:
            _this_thread.slot = None

    def dispose(self) -> None:
        self.engine.dispose()
