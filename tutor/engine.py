"""Running the model. A Llama object serves one generation at a time, so generations queue:

- embedded (`make run`): one in-process worker thread fed by a queue (`EmbeddedBackend`);
- production: Celery workers on the `tutor` queue, each holding a loaded model, relaying tokens to the
  web process through Redis streams (`RedisBackend`, `tasks.generate`). More workers, more capacity.

Both hand the web process the same events: position, token, done, error.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from gennation.tutor.model_file import ModelFileError, check

log = logging.getLogger("gennation.tutor")
N_CTX = 4096


class ModelWorker:
    """One loaded model. Not thread-safe: exactly one thread (or one Celery process) uses it."""

    def __init__(self, model_path: Path, n_threads: int | None = None):
        check(model_path)
        from llama_cpp import Llama
        self.llm = Llama(model_path=str(model_path), n_ctx=N_CTX, n_threads=n_threads or os.cpu_count(),
                         verbose=False)

    def generate(self, messages: list[dict], max_tokens: int, on_token: Callable[[str], None],
                 cancelled: Callable[[], bool] = lambda: False) -> dict:
        """Stream a chat completion through `on_token`; returns timing figures."""
        start = time.perf_counter()
        first = None
        count = 0
        stopped = False
        for chunk in self.llm.create_chat_completion(messages=messages, max_tokens=max_tokens, stream=True,
                                                     temperature=0.2, top_p=0.9, repeat_penalty=1.15, seed=7):
            text = chunk["choices"][0]["delta"].get("content")
            if text:
                if first is None:
                    first = time.perf_counter()
                count += 1
                on_token(text)
            if cancelled():
                stopped = True
                break
        end = time.perf_counter()
        return {"tokens": count, "ttft_ms": round(((first or end) - start) * 1000, 1),
                "total_ms": round((end - start) * 1000, 1), "cancelled": stopped}


@dataclass
class Job:
    """One generation request and the channel its events come back on."""

    messages: list[dict]
    max_tokens: int
    user_id: int | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


class TutorUnavailable(Exception):
    """The model is missing or failed to load; the message is for the log, not for learners."""


class EmbeddedBackend:
    """The embedded mode: one worker thread owns the model and takes jobs from a queue in turn."""

    def __init__(self, model_path: Path, n_threads: int | None = None):
        self.model_path = model_path
        self.n_threads = n_threads
        self.status = "not loaded"
        self._worker: ModelWorker | None = None
        self._jobs: queue.Queue = queue.Queue()
        self._pending: list[str] = []
        self._channels: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = {}
        self._cancelled: set[str] = set()
        self._active: dict[int, int] = {}
        self._live: dict[str, int | None] = {}  # job -> user, until the job is over for its learner
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    # -- model thread ---------------------------------------------------------------------------
    def start(self) -> None:
        """Check the file now (one clear log line if it is unusable); load the model in the worker thread."""
        try:
            check(self.model_path)
        except ModelFileError as error:
            self.status = "unavailable"
            log.warning("tutor unavailable: %s", error)
            self._ready.set()
            return
        self.status = "loading"
        self._thread = threading.Thread(target=self._run, name="tutor-model", daemon=True)
        self._thread.start()

    def wait_ready(self, timeout: float = 120) -> bool:
        self._ready.wait(timeout)
        return self.status == "ready"

    def _run(self) -> None:
        try:
            self._worker = ModelWorker(self.model_path, self.n_threads)
            self.status = "ready"
        except Exception as error:  # noqa: BLE001 - a bad file must not take the platform down
            self.status = "unavailable"
            log.warning("tutor unavailable: the model at %s failed to load: %s", self.model_path, error)
        self._ready.set()
        while True:
            job = self._jobs.get()
            if job is None:
                return
            self._serve(job)

    def _serve(self, job: Job) -> None:
        with self._lock:
            self._pending.remove(job.id)
            waiting = list(self._pending)
        for position, other in enumerate(waiting, start=1):
            self._emit(other, {"type": "position", "position": position})
        try:
            if self._worker is None:
                last = {"type": "error", "message": "unavailable"}
            elif job.id in self._cancelled:  # the learner left while waiting
                last = {"type": "done", "tokens": 0, "ttft_ms": 0, "total_ms": 0, "cancelled": True}
            else:
                self._emit(job.id, {"type": "position", "position": 0})
                last = {"type": "done", **self._worker.generate(
                    job.messages, job.max_tokens, lambda text: self._emit(job.id, {"type": "token", "text": text}),
                    lambda: job.id in self._cancelled)}
        except Exception as error:  # noqa: BLE001
            log.exception("tutor generation failed")
            last = {"type": "error", "message": str(error)}
        # The learner's slot is free before they hear the job is over: their next question may follow at once.
        with self._lock:
            self._cancelled.discard(job.id)
            self._release(job.id)
        self._emit(job.id, last)

    def _release(self, job_id: str) -> None:
        """Free the learner's slot, once, by whoever is first: the model thread or the learner leaving."""
        if job_id in self._live:
            user_id = self._live.pop(job_id)
            if user_id is not None:
                self._active[user_id] = max(0, self._active.get(user_id, 1) - 1)

    def _emit(self, job_id: str, event: dict) -> None:
        channel = self._channels.get(job_id)
        if channel:
            loop, events = channel
            loop.call_soon_threadsafe(events.put_nowait, event)

    # -- web side -------------------------------------------------------------------------------
    async def active_count(self, user_id: int) -> int:
        return self._active.get(user_id, 0)

    async def stream(self, job: Job) -> AsyncIterator[dict]:
        """Queue `job` and yield its events until done; leaving early cancels the generation."""
        if self.status not in ("ready", "loading"):
            raise TutorUnavailable(self.status)
        events: asyncio.Queue = asyncio.Queue()
        with self._lock:
            self._channels[job.id] = (asyncio.get_running_loop(), events)
            self._pending.append(job.id)
            position = len(self._pending)
            self._live[job.id] = job.user_id
            if job.user_id is not None:
                self._active[job.user_id] = self._active.get(job.user_id, 0) + 1
        self._jobs.put(job)
        finished = False
        try:
            yield {"type": "position", "position": position}
            while True:
                event = await events.get()
                yield event
                if event["type"] in ("done", "error"):
                    finished = True
                    return
        finally:
            if not finished:
                with self._lock:
                    self._cancelled.add(job.id)
                    self._release(job.id)  # a left question no longer holds the learner's slot
            self._channels.pop(job.id, None)

    def close(self) -> None:
        self._jobs.put(None)


class RedisBackend:
    """Production: jobs go to Celery's `tutor` queue; tokens come back on a Redis stream per job."""

    PENDING = "tutor:pending"

    def __init__(self, redis_url: str, celery_app):
        import redis.asyncio as aioredis
        self.redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
        self.celery = celery_app
        self.status = "ready"

    @staticmethod
    def stream_key(job_id: str) -> str:
        return f"tutor:events:{job_id}"

    @staticmethod
    def cancel_key(job_id: str) -> str:
        return f"tutor:cancel:{job_id}"

    @staticmethod
    def active_key(user_id: int) -> str:
        return f"tutor:active:{user_id}"

    @staticmethod
    def live_key(job_id: str) -> str:
        return f"tutor:live:{job_id}"

    async def active_count(self, user_id: int) -> int:
        return int(await self.redis.get(self.active_key(user_id)) or 0)

    async def stream(self, job: Job) -> AsyncIterator[dict]:
        await self.redis.zadd(self.PENDING, {job.id: time.time()})
        if job.user_id is not None:
            await self.redis.set(self.live_key(job.id), job.user_id, ex=600)
            await self.redis.incr(self.active_key(job.user_id))
            await self.redis.expire(self.active_key(job.user_id), 300)
        self.celery.send_task("tutor.generate", args=[job.id, job.messages, job.max_tokens, job.user_id],
                              queue="tutor")
        finished, last_id, last_position = False, "0", None
        try:
            while True:
                reply = await self.redis.xread({self.stream_key(job.id): last_id}, block=1000, count=50)
                if not reply:
                    rank = await self.redis.zrank(self.PENDING, job.id)
                    if rank is not None and rank + 1 != last_position:
                        last_position = rank + 1
                        yield {"type": "position", "position": last_position}
                    continue
                for entry_id, fields in reply[0][1]:
                    last_id = entry_id
                    event = json.loads(fields["event"])
                    yield event
                    if event["type"] in ("done", "error"):
                        finished = True
                        return
        finally:
            if not finished:
                await self.redis.set(self.cancel_key(job.id), "1", ex=600)
                await self.redis.zrem(self.PENDING, job.id)
                # Free the learner's slot now, once (the worker does the same when it finishes first).
                if job.user_id is not None and await self.redis.delete(self.live_key(job.id)) == 1:
                    await self.redis.decr(self.active_key(job.user_id))
