"""Operations: Prometheus metrics at `/metrics`, liveness `/livez`, readiness `/readyz`, and the
request id (see `platform/logs.py`) on every request.

`/metrics` answers only the machine itself (a request from 127.0.0.1 or ::1 that came through no
proxy) or a request with `Authorization: Bearer <METRICS_TOKEN>`; anyone else gets the site's 404.

Several web worker processes (`gennation serve --workers N`) share their counters through
prometheus-client's multiprocess mode: `PROMETHEUS_MULTIPROC_DIR` names an empty directory that every
process writes to (`gennation serve` sets `var/prometheus` when it starts more than one worker and
empties it at start-up), and a scrape of any one worker sums them all.

What a scrape reads from the database and Redis (queue lengths, the scoring backlog, certificates)
is read then, in one short read-only unit of work; a part that fails is reported by
`gennation_scrape_error{part}` instead of failing the scrape.
"""
from __future__ import annotations

import logging
import os
import secrets
import time
from collections import OrderedDict
from collections.abc import Iterable

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram,
                               disable_created_metrics, generate_latest, multiprocess)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import event, func, text
from sqlmodel import col, select
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gennation.platform import logs

log = logging.getLogger("gennation.requests")
disable_created_metrics()  # no `_created` series beside every counter and histogram

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LOCAL = {"127.0.0.1", "::1"}
PROXY_HEADERS = (b"x-forwarded-for", b"forwarded", b"x-real-ip")
UNMATCHED = "(unmatched)"  # requests no route takes: never their raw path (a scanner would make thousands)

REQUESTS = Counter("gennation_http_requests", "HTTP requests answered, by route template",
                   ["method", "route", "status"])
LATENCY = Histogram("gennation_http_request_duration_seconds", "Time to answer a request (a stream: until its end)",
                    ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
ERRORS = Counter("gennation_http_errors", "Requests that ended in a server error (5xx or an unhandled exception)",
                 ["route", "kind"])
IN_PROGRESS = Gauge("gennation_http_requests_in_progress", "Requests being answered now",
                    multiprocess_mode="livesum")
POOL_CHECKED_OUT = Gauge("gennation_db_pool_checked_out", "Database connections in use by this process's sessions",
                         multiprocess_mode="livesum")
POOL_SIZE = Gauge("gennation_db_pool_size", "Database connections the pool keeps (DB_POOL_SIZE, without overflow)",
                  multiprocess_mode="livesum")
TUTOR_FIRST_TOKEN = Histogram("gennation_tutor_first_token_seconds",
                              "The model's first token, from the start of generation (queue wait not included)",
                              ["lang"], buckets=(0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60))
TUTOR_QUEUE_WAIT = Histogram("gennation_tutor_queue_wait_seconds",
                             "From the question to the start of its generation (the line for a model)",
                             ["lang"], buckets=(0.05, 0.25, 1, 2, 5, 10, 20, 30, 60, 120, 300))
TUTOR_TOKENS_PER_SECOND = Histogram("gennation_tutor_tokens_per_second", "The model's decoding speed on an answer",
                                    ["lang"], buckets=(2, 5, 10, 15, 20, 30, 50, 80, 120, 200))
TUTOR_ANSWER = Histogram("gennation_tutor_generation_seconds", "The model's whole generation of an answer",
                         ["lang"], buckets=(0.5, 1, 2, 5, 10, 15, 20, 30, 60, 120))


# ---------------------------------------------------------------- who may read /metrics

def may_read_metrics(scope: Scope, token: str) -> bool:
    headers = dict(scope.get("headers") or [])
    auth = headers.get(b"authorization", b"").decode("latin-1")
    if token and auth[:7].lower() == "bearer " and secrets.compare_digest(auth[7:].strip().encode(), token.encode()):
        return True
    client = scope.get("client")
    # From this machine and not through a proxy: nginx on the same machine connects from 127.0.0.1 too,
    # but says whom it forwards for.
    return bool(client) and client[0] in LOCAL and not any(h in headers for h in PROXY_HEADERS)


# ---------------------------------------------------------------- requests: id, count, time

class RouteNames:
    """The route template of a request. The router notes it in the scope; a page answered from the page
    cache never reaches the router, but was rendered through it before, in this process: its path was
    noted then (as many paths as the page cache keeps, and more)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._by_path: OrderedDict[str, str] = OrderedDict()

    def __call__(self, scope: Scope) -> str:
        path = scope.get("path", "")
        route = getattr(scope.get("route"), "path", None)
        if route:
            if self._by_path.get(path) != route:
                self._by_path[path] = route
                if len(self._by_path) > self.size:
                    self._by_path.popitem(last=False)
            return route
        return self._by_path.get(path, UNMATCHED)


class RequestTelemetry:
    """Outermost middleware: the request id (X-Request-ID in, the same or a new one out, set for the
    logs and the tasks the request sends), and the request's count and time by route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._route = RouteNames()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = dict(scope.get("headers") or []).get(b"x-request-id")
        rid = logs.new_request_id(given.decode("latin-1") if given else None)
        scope["request_id"] = rid
        token = logs.request_id.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        IN_PROGRESS.inc()
        raised = None
        try:
            await self.app(scope, receive, send_with_id)
        except BaseException as exc:
            raised = exc
            raise
        finally:
            IN_PROGRESS.dec()
            route = self._route(scope)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(time.perf_counter() - started)
            if raised is not None:  # answered 500 outside this middleware, by the last-resort handler
                ERRORS.labels(route, type(raised).__name__).inc()
            elif status >= 500:
                ERRORS.labels(route, str(status)).inc()
            logs.request_id.reset(token)


# ---------------------------------------------------------------- what a scrape reads

def _family(name: str, doc: str, labels: list[str], rows: Iterable[tuple[tuple, float]]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for values, number in rows:
        family.add_metric([str(v) for v in values], number)
    return family


def celery_queues() -> tuple[str, ...]:
    from gennation.platform.worker import QUEUES
    return QUEUES


def queue_lengths(redis_client) -> dict[str, int]:
    """Messages waiting in each Celery queue (kombu keeps a Redis list per queue and priority step)."""
    from kombu.transport.redis import PRIORITY_STEPS, Channel
    lengths = {}
    with redis_client.pipeline() as pipe:
        for queue in celery_queues():
            for step in PRIORITY_STEPS:
                pipe.llen(queue if step == 0 else f"{queue}{Channel.sep}{step}")
        replies = pipe.execute()
    per_queue = len(PRIORITY_STEPS)
    for i, queue in enumerate(celery_queues()):
        lengths[queue] = sum(replies[i * per_queue:(i + 1) * per_queue])
    return lengths


class StateCollector:
    """The platform's state at the moment of the scrape (read-only queries and Redis reads)."""

    def __init__(self, app) -> None:
        self.app = app

    def collect(self):
        state = self.app.state
        errors: dict[str, int] = {"database": 0, "redis": 0}
        try:
            with state.db.unit_of_work() as session:
                yield from self._database(session)
        except Exception:  # noqa: BLE001 - reported as a metric, and logged once per scrape
            log.warning("metrics: the database could not be read", exc_info=True)
            errors["database"] = 1
        redis_url = state.settings.redis_url
        if redis_url:
            try:
                yield from self._redis(redis_url)
            except Exception:  # noqa: BLE001
                log.warning("metrics: Redis could not be read", exc_info=True)
                errors["redis"] = 1
        pending = getattr(state.tutor.backend, "_pending", None)  # the embedded thread's or the openai line
        if pending is not None:
            yield _family("gennation_tutor_waiting", "Tutor questions waiting for the model (in this web process)",
                          [], [((), len(pending))])
        yield _family("gennation_scrape_error", "1 when a part of the scrape could not be read", ["part"],
                      [((part,), value) for part, value in errors.items()])

    def _database(self, session):
        from gennation.certificates.models import Certificate
        from gennation.tournament.models import Entry, EntryStatus
        from gennation.tournament.service import STUCK_AFTER
        from gennation.platform.database import utcnow

        by_status = {str(status): n for status, n in
                     session.exec(select(Entry.status, func.count()).group_by(Entry.status)).all()}
        yield _family("gennation_scoring_entries", "Tournament entries by status", ["status"],
                      [((s.value,), by_status.get(s.value, 0)) for s in EntryStatus])
        waiting = [EntryStatus.queued, EntryStatus.scoring]
        backlog = sum(by_status.get(s.value, 0) for s in waiting)
        yield _family("gennation_scoring_backlog", "Entries waiting to be scored or being scored", [], [((), backlog)])
        stuck = session.exec(select(func.count()).select_from(Entry).where(
            col(Entry.status).in_(waiting), col(Entry.queued_at) < utcnow() - STUCK_AFTER)).one()
        yield _family("gennation_scoring_stuck", "Entries queued or scoring for longer than the sweeper allows",
                      [], [((), stuck)])
        valid = col(Certificate.revoked_at).is_(None)
        counts = {("course", "valid"): 0, ("course", "revoked"): 0, ("tournament", "valid"): 0, ("tournament", "revoked"): 0}
        for kind, is_valid, n in session.exec(select(Certificate.kind, valid, func.count())
                                              .group_by(Certificate.kind, valid)).all():
            counts[(kind, "valid" if is_valid else "revoked")] = n
        yield _family("gennation_certificates_issued", "Certificates issued and still held (a deleted account's are gone)",
                      ["kind", "state"], counts.items())

    def _redis(self, redis_url: str):
        import redis

        from gennation.tutor.engine import RedisBackend
        client = redis.Redis.from_url(redis_url, socket_timeout=2)
        try:
            lengths = queue_lengths(client)
            yield _family("gennation_celery_queue_length", "Messages waiting in a Celery queue", ["queue"],
                          [((queue,), n) for queue, n in lengths.items()])
            if not isinstance(self.app.state.tutor.backend, RedisBackend):
                return
            waiting = client.zcard(RedisBackend.PENDING)
            oldest = client.zrange(RedisBackend.PENDING, 0, 0, withscores=True)
            yield _family("gennation_tutor_waiting", "Tutor questions waiting for a model worker", [], [((), waiting)])
            yield _family("gennation_tutor_oldest_wait_seconds", "How long the longest-waiting tutor question has waited",
                          [], [((), max(0.0, time.time() - oldest[0][1]) if oldest else 0.0)])
        finally:
            client.close()


def render(app) -> bytes:
    """The text of one scrape: this process's (or, in multiprocess mode, every process's) counters, and
    the platform's state now."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Forward(REGISTRY))
    if app is not None:
        registry.register(StateCollector(app))
    return generate_latest(registry)


class _Forward:
    def __init__(self, registry) -> None:
        self.registry = registry

    def collect(self):
        return self.registry.collect()


# ---------------------------------------------------------------- hooks into the rest of the platform

def watch_pool(database) -> None:
    """Count the connections this engine's sessions hold (`gennation_db_pool_checked_out`)."""
    engine = database.engine
    if getattr(engine, "_gennation_watched", False):
        return
    engine._gennation_watched = True
    POOL_SIZE.set(database.pool_size)
    event.listen(engine, "checkout", lambda *_: POOL_CHECKED_OUT.inc())
    event.listen(engine, "checkin", lambda *_: POOL_CHECKED_OUT.dec())


_tutor_watched = False


def tutor_generated(lang: str, asked_at: float, first_token_at: float | None, stats: dict) -> None:
    """One generation's line wait and decoding speed, from the web process that relayed it: the wait is
    the time to its first token less the model's own time to it (`ttft_ms`)."""
    ttft, total, tokens = stats.get("ttft_ms") or 0, stats.get("total_ms") or 0, stats.get("tokens") or 0
    if first_token_at is None or not tokens:
        return
    TUTOR_QUEUE_WAIT.labels(lang).observe(max(0.0, first_token_at - asked_at - ttft / 1000))
    if total > ttft and tokens > 1:
        TUTOR_TOKENS_PER_SECOND.labels(lang).observe((tokens - 1) / ((total - ttft) / 1000))


def watch_tutor() -> None:
    """The model's timings, from each answer the tutor records (its `ttft_ms` and `total_ms`)."""
    global _tutor_watched
    if _tutor_watched:
        return
    _tutor_watched = True
    from gennation.tutor.models import TutorMessage

    @event.listens_for(TutorMessage, "after_insert")
    def _answered(_mapper, _connection, message) -> None:
        if message.role != "tutor" or not message.ttft_ms:  # refusals and cancelled waits ran no model
            return
        TUTOR_FIRST_TOKEN.labels(message.lang).observe(message.ttft_ms / 1000)
        if message.total_ms:
            TUTOR_ANSWER.labels(message.lang).observe(message.total_ms / 1000)


def prepare_multiprocess_dir(path) -> None:
    """Empty the multiprocess directory before the workers start (stale files would be summed)."""
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))


def process_exits() -> None:
    """A worker that stops drops its live gauges (requests in progress, pool use) from the sums."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(os.getpid())


# ---------------------------------------------------------------- the endpoints

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    if not may_read_metrics(request.scope, request.app.state.settings.metrics_token):
        raise HTTPException(404)  # the same answer as any address that is not ours
    return Response(render(request.app), media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


@router.get("/livez")
async def livez() -> JSONResponse:
    """The process is up and its event loop answers; nothing else is checked (a restart would not help)."""
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


READY_TIMEOUT = 3.0


def _check_database(database) -> None:
    with database.engine.connect() as connection:  # outside the sessions' slots: a busy server is still ready
        connection.execute(text("SELECT 1"))


def _check_redis(url: str) -> None:
    import redis
    client = redis.Redis.from_url(url, socket_timeout=READY_TIMEOUT, socket_connect_timeout=READY_TIMEOUT)
    try:
        client.ping()
    finally:
        client.close()


async def _check(work, *args) -> str:
    try:
        with anyio.fail_after(READY_TIMEOUT):
            await anyio.to_thread.run_sync(work, *args, abandon_on_cancel=True)
        return "ok"
    except TimeoutError:
        return "error: timeout"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return f"error: {type(exc).__name__}"


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready for traffic: the database answers, and Redis when it is configured. 503 otherwise (a load
    balancer then sends the requests elsewhere until it answers again)."""
    state = request.app.state
    checks = {"database": await _check(_check_database, state.db)}
    if state.settings.redis_url:
        checks["redis"] = await _check(_check_redis, state.settings.redis_url)
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse({"status": "ok" if ready else "unavailable", **checks}, status_code=200 if ready else 503,
                        headers={"Cache-Control": "no-store"})
