"""The production tutor worker: `celery -A gennation.platform.worker worker -Q tutor --concurrency 1`.

Each worker process loads the model once and serves one generation at a time, writing every event
to the job's Redis stream, where the web process that owns the learner's connection reads it.
"""
from __future__ import annotations

import json
import logging
import time
from functools import lru_cache
from pathlib import Path

import redis
from celery import shared_task

from gennation.platform.worker import RETRY, settings_of
from gennation.tutor.engine import Job, ModelWorker, RedisBackend, RedisSlots, serve_job

log = logging.getLogger("gennation.tutor")
STREAM_TTL = 600


@lru_cache(maxsize=1)
def _model(path: str) -> ModelWorker:
    """The model this worker process holds (loaded on its first job)."""
    return ModelWorker(Path(path))


def _loaded_model(path: str) -> ModelWorker | None:
    try:
        return _model(path)
    except Exception as error:  # noqa: BLE001 - the learner is told the tutor is unavailable
        log.warning("tutor worker: the model at %s failed to load: %s", path, error)
        return None


@shared_task(bind=True, name="tutor.generate", acks_late=False)
def generate(self, job_id: str, messages: list[dict], max_tokens: int, user_id: int | None = None) -> dict:
    settings = settings_of(self)
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    stream = RedisBackend.stream_key(job_id)

    def emit(event: dict) -> None:
        client.xadd(stream, {"event": json.dumps(event, ensure_ascii=False)}, maxlen=5000)

    def free_slot() -> None:
        if user_id is not None:
            RedisSlots.free_from_worker(client, user_id, job_id)

    client.zrem(RedisBackend.PENDING, job_id)
    try:
        return serve_job(_loaded_model(str(settings.tutor_model_path)), Job(messages, max_tokens, user_id, job_id),
                         emit, lambda: client.exists(RedisBackend.cancel_key(job_id)) == 1, free_slot)
    finally:
        client.expire(stream, STREAM_TTL)


@shared_task(bind=True, name="tutor.clean_up", **RETRY)
def clean_up(self) -> int:
    """Hourly (beat, on the default queue): forget places in the tutor's queue older than a stream lives,
    left by a web process that stopped before its job ran; they would make every later position too long."""
    client = redis.Redis.from_url(settings_of(self).redis_url, decode_responses=True)
    return client.zremrangebyscore(RedisBackend.PENDING, "-inf", time.time() - STREAM_TTL)
