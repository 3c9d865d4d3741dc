"""The production tutor worker: `celery -A gennation.platform.worker worker -Q tutor --concurrency 1`.

Each worker process loads the model once and serves one generation at a time, writing every event
to the job's Redis stream, where the web process that owns the learner's connection reads it.
"""
from __future__ import annotations

import json
from pathlib import Path
from functools import lru_cache

import redis
from celery import shared_task

from gennation.platform.worker import settings_of
from gennation.tutor.engine import ModelWorker, RedisBackend

STREAM_TTL = 600


@lru_cache(maxsize=1)
def _model(path: str) -> ModelWorker:
    """The model this worker process holds (loaded on its first job)."""
    return ModelWorker(Path(path))


@shared_task(bind=True, name="tutor.generate", acks_late=False)
def generate(self, job_id: str, messages: list[dict], max_tokens: int, user_id: int | None = None) -> dict:
    settings = settings_of(self)
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    stream = RedisBackend.stream_key(job_id)

    def emit(event: dict) -> None:
        client.xadd(stream, {"event": json.dumps(event, ensure_ascii=False)}, maxlen=5000)

    def cancelled() -> bool:
        return client.exists(RedisBackend.cancel_key(job_id)) == 1

    client.zrem(RedisBackend.PENDING, job_id)
    try:
        if cancelled():
            last = {"type": "done", "tokens": 0, "ttft_ms": 0, "total_ms": 0, "cancelled": True}
        else:
            emit({"type": "position", "position": 0})
            last = {"type": "done", **_model(str(settings.tutor_model_path)).generate(
                messages, max_tokens, lambda text: emit({"type": "token", "text": text}), cancelled)}
    except Exception as error:  # noqa: BLE001 - the learner gets a message, the log the details
        last = {"type": "error", "message": str(error)}
        raise
    finally:
        # The learner's slot is free before they hear the job is over: their next question may follow at once.
        if user_id is not None and client.delete(RedisBackend.live_key(job_id)) == 1 \
                and client.decr(RedisBackend.active_key(user_id)) < 0:
            client.set(RedisBackend.active_key(user_id), 0)
        emit(last)
        client.expire(stream, STREAM_TTL)
    return last
