"""Celery: background work. With REDIS_URL it goes through Redis to `celery -A gennation.platform.worker`
workers; without it (the embedded default) tasks run in-process, at the moment they are sent."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import kombu.exceptions
import redis.exceptions
import sqlalchemy.exc
from celery import Celery

from gennation.platform import logs  # noqa: F401 - the request id travels in task headers; JSON logs
from gennation.platform.database import Database
from gennation.platform.settings import Settings, get_settings

TASK_MODULES = ["gennation.courses.tasks", "gennation.tutor.tasks", "gennation.platform.metrics.tasks",
                "gennation.certificates.tasks", "gennation.tournament.tasks", "gennation.platform.accounts.tasks"]
# Every queue a worker may be started on (`-Q`): the default one and those of the routes below.
QUEUES = ("default", "tutor", "scoring", "certificates")
# The longest task: a certificate batch of a whole stage or agency (it commits in steps and resumes, so a
# redelivery after this long only continues it). An unacknowledged message comes back after this much time.
VISIBILITY_TIMEOUT = 3 * 3600

# Errors that go away by themselves (the database or Redis restarting, a dropped connection): a task that
# meets one is tried again later. Any other error is a bug or bad data, and retrying would not help.
TRANSIENT = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, redis.exceptions.ConnectionError,
             redis.exceptions.TimeoutError, kombu.exceptions.OperationalError, ConnectionError)
RETRY = {"autoretry_for": TRANSIENT, "retry_backoff": 2, "retry_backoff_max": 300, "retry_jitter": True,
         "max_retries": 8}


def make_celery(settings: Settings) -> Celery:
    broker = settings.redis_url or "memory://"
    app = Celery("gennation", broker=broker, backend=settings.redis_url or "cache+memory://", include=TASK_MODULES)
    app.conf.update(
        task_always_eager=not settings.redis_url,
        task_eager_propagates=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        # A task is acknowledged when it has finished, and handed back when its worker dies under it: with
        # every task idempotent (status + unique constraint), running one twice is safe; losing one is not.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # long tasks: a busy worker does not hoard the queue
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        result_backend_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        result_expires=24 * 3600,
        task_default_queue="default",
        # PDFs: `worker -Q certificates`; tournament entries: `worker -Q scoring`; the rest `-Q default`.
        task_routes={"certificates.*": {"queue": "certificates"}, "tournament.*": {"queue": "scoring"}},
        # `celery -A gennation.platform.worker beat`: the indicators' rollup every quarter of an hour; the
        # tournament's clock and sweeper (stage moves, stuck entries, quizzes out of time) and the
        # certificates' (batches that lost their worker, PDFs never drawn) every minute; expired sign-ins and
        # forgotten places in the tutor's queue every hour.
        beat_schedule={"indicators-rollup": {"task": "metrics.roll_up", "schedule": 15 * 60},
                       "tournament-sweep": {"task": "tournament.sweep", "schedule": 60},
                       "certificates-sweep": {"task": "certificates.sweep", "schedule": 60},
                       "accounts-cleanup": {"task": "accounts.clean_up", "schedule": 3600},
                       "tutor-cleanup": {"task": "tutor.clean_up", "schedule": 3600}},
    )
    app.conf.gennation_settings = settings
    return app


@contextmanager
def task_unit_of_work(settings: Settings) -> Iterator:
    """A task's unit of work on an engine of its own (one connection), disposed of afterwards: a worker
    process holds no connection between tasks."""
    database = Database(settings.database_url, pool_size=1)
    try:
        with database.unit_of_work() as session:
            yield session
    finally:
        database.dispose()


def settings_of(task) -> Settings:
    """The platform settings of the Celery app running `task`."""
    return task.app.conf.gennation_settings


def __getattr__(name: str) -> Celery:
    # `celery -A gennation.platform.worker worker` looks up `app`; built on first use, from the environment.
    if name == "app":
        globals()["app"] = make_celery(get_settings())
        return globals()["app"]
    raise AttributeError(name)
