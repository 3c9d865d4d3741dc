"""Celery: background work. With REDIS_URL it goes through Redis to `celery -A gennation.platform.worker`
workers; without it (the embedded default) tasks run in-process, at the moment they are sent."""
from __future__ import annotations

from celery import Celery

from gennation.platform import logs  # noqa: F401 - the request id travels in task headers; JSON logs
from gennation.platform.settings import Settings, get_settings

TASK_MODULES = ["gennation.courses.tasks", "gennation.tutor.tasks", "gennation.platform.metrics.tasks",
                "gennation.certificates.tasks", "gennation.tournament.tasks"]
# Every queue a worker may be started on (`-Q`): Celery's default one and those of the routes below.
QUEUES = ("celery", "tutor", "scoring", "certificates")


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
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        # PDFs: `worker -Q certificates`; tournament entries: `worker -Q scoring`.
        task_routes={"certificates.*": {"queue": "certificates"}, "tournament.*": {"queue": "scoring"}},
        # `celery -A gennation.platform.worker beat`: the indicators' rollup every quarter of an hour; the
        # tournament's clock and sweeper (stage moves, stuck entries, quizzes out of time) every minute.
        beat_schedule={"indicators-rollup": {"task": "metrics.roll_up", "schedule": 15 * 60},
                       "tournament-sweep": {"task": "tournament.sweep", "schedule": 60}},
    )
    app.conf.gennation_settings = settings
    return app


def settings_of(task) -> Settings:
    """The platform settings of the Celery app running `task`."""
    return task.app.conf.gennation_settings


def __getattr__(name: str) -> Celery:
    # `celery -A gennation.platform.worker worker` looks up `app`; built on first use, from the environment.
    if name == "app":
        globals()["app"] = make_celery(get_settings())
        return globals()["app"]
    raise AttributeError(name)
