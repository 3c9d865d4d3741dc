"""Running the model. A Llama object serves one generation at a time, so generations queue:

- embedded (`make run`): one in-process worker thread fed by a queue (`EmbeddedBackend`);
- production: Celery workers on the `tutor` queue, each holding a loaded model, relaying tokens to the
  web process through Redis streams (`RedisBackend`, `tasks.generate`). More workers, more capacity.

Both hand the web process the same events: position, token, done, error.
"""
from __future__ import annotations

import asyncio
import contextlib
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


class LearnerBusy(Exception):
    """The learner's previous question is still being answered."""


# ---------------------------------------------------------------- one question at a time per learner
#
# A learner's slot names the job that holds it. It is taken before the job is queued and freed by
# whoever is first: the model side when the job ends (before "done" is sent, so the next question may
# follow at once), or the web side when the learner leaves early. Freeing compares the job, so it
# happens once, and a late free never releases a newer question's slot.

class MemorySlots:
    """Slots in this process (the embedded mode: the model thread and the web side share them)."""

    def __init__(self):
        self._held: dict[int, str] = {}
        self._lock = threading.Lock()

    async def take(self, user_id: int, job_id: str) -> bool:
        with self._lock:
            if user_id in self._held:
                return False
            self._held[user_id] = job_id
            return True

    def free_now(self, user_id: int, job_id: str) -> None:
        with self._lock:
            if self._held.get(user_id) == job_id:
                del self._held[user_id]

    async def free(self, user_id: int, job_id: str) -> None:
        self.free_now(user_id, job_id)

    async def held(self, user_id: int) -> bool:
        return user_id in self._held


class RedisSlots:
    """Slots in Redis, shared by every web process and Celery worker."""

    TTL = 300  # a slot outlives no crash by more than this
    # Delete the slot only if this job holds it (the usual compare-and-delete).
    FREE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"

    def __init__(self, redis_url: str):
        import redis.asyncio as aioredis
        self.redis = aioredis.Redis.from_url(redis_url, decode_responses=True)

    @staticmethod
    def key(user_id: int) -> str:
        return f"tutor:slot:{user_id}"

    async def take(self, user_id: int, job_id: str) -> bool:
        return bool(await self.redis.set(self.key(user_id), job_id, nx=True, ex=self.TTL))

    async def free(self, user_id: int, job_id: str) -> None:
        await self.redis.eval(self.FREE, 1, self.key(user_id), job_id)

    @classmethod
    def free_from_worker(cls, client, user_id: int, job_id: str) -> None:
        """From a Celery worker, with its synchronous Redis client."""
        client.eval(cls.FREE, 1, cls.key(user_id), job_id)

    async def held(self, user_id: int) -> bool:
        return bool(await self.redis.exists(self.key(user_id)))


def serve_job(worker: "ModelWorker | None", job: Job, emit: Callable[[dict], None], cancelled: Callable[[], bool],
              free_slot: Callable[[], None]) -> dict:
    """Serve one job, the same way on the embedded model thread and on a Celery worker."""
    try:
        if worker is None:
            last = {"type": "error", "message": "unavailable"}
        elif cancelled():  # the learner left while waiting
            last = {"type": "done", "tokens": 0, "ttft_ms": 0, "total_ms": 0, "cancelled": True}
        else:
            emit({"type": "position", "position": 0})
            last = {"type": "done", **worker.generate(job.messages, job.max_tokens,
                                                      lambda text: emit({"type": "token", "text": text}), cancelled)}
    except Exception as error:  # noqa: BLE001 - the learner gets a message, the log the details
        log.exception("tutor generation failed")
        last = {"type": "error", "message": str(error)}
    free_slot()
    emit(last)
    return last


class Backend:
    """What both backends share: take the learner's slot, relay the job's events, and when the learner
    leaves early, cancel the job and free the slot."""

    slots: MemorySlots | RedisSlots

    async def stream(self, job: Job) -> AsyncIterator[dict]:
        """Queue `job` and yield its events until done; leaving early cancels the generation.
        Raises LearnerBusy when the learner's previous question still holds their slot."""
        self._check_available()
        if job.user_id is not None and not await self.slots.take(job.user_id, job.id):
            raise LearnerBusy(job.user_id)
        finished = False
        try:
            async with contextlib.aclosing(self._relay(job)) as events:
                async for event in events:
                    yield event
                    if event["type"] in ("done", "error"):
                        finished = True
                        return
        finally:
            if not finished:
                await self._cancel(job)
                if job.user_id is not None:
                    await self.slots.free(job.user_id, job.id)

    def _check_available(self) -> None:
        pass

    def _relay(self, job: Job) -> AsyncIterator[dict]:
        raise NotImplementedError

    async def _cancel(self, job: Job) -> None:
        raise NotImplementedError


class EmbeddedBackend(Backend):
    """The embedded mode: one worker thread owns the model and takes jobs from a queue in turn."""

    def __init__(self, model_path: Path, n_threads: int | None = None,
                 load_model: Callable[[Path, int | None], "ModelWorker"] | None = None):
        self.model_path = model_path
        self.n_threads = n_threads
        self.load_model = load_model or ModelWorker
        self.status = "not loaded"
        self.slots = MemorySlots()
        self._worker: ModelWorker | None = None
        self._jobs: queue.Queue = queue.Queue()
        self._pending: list[str] = []
        self._channels: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = {}
        self._cancelled: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    # -- model thread ---------------------------------------------------------------------------
    def start(self) -> None:
        """Check the file now (one clear log line if it is unusable); load the model in the worker thread.
        Starting again (another app sharing this backend) changes nothing."""
        if self._thread is not None:
            return
        if self.load_model is ModelWorker:
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
            self._worker = self.load_model(self.model_path, self.n_threads)
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
        free = (lambda: self.slots.free_now(job.user_id, job.id)) if job.user_id is not None else (lambda: None)
        serve_job(self._worker, job, lambda event: self._emit(job.id, event), lambda: job.id in self._cancelled, free)
        with self._lock:
            self._cancelled.discard(job.id)

    def _emit(self, job_id: str, event: dict) -> None:
        channel = self._channels.get(job_id)
        if channel:
            loop, events = channel
            loop.call_soon_threadsafe(events.put_nowait, event)

    # -- web side -------------------------------------------------------------------------------
    def _check_available(self) -> None:
        if self.status not in ("ready", "loading"):
            raise TutorUnavailable(self.status)

    async def _relay(self, job: Job) -> AsyncIterator[dict]:
        events: asyncio.Queue = asyncio.Queue()
        with self._lock:
            self._channels[job.id] = (asyncio.get_running_loop(), events)
            self._pending.append(job.id)
            position = len(self._pending)
        self._jobs.put(job)
        try:
            yield {"type": "position", "position": position}
            while True:
                yield await events.get()
        finally:
            self._channels.pop(job.id, None)

    async def _cancel(self, job: Job) -> None:
        with self._lock:
            self._cancelled.add(job.id)

    def close(self) -> None:
        """Stop the model thread; questions asked after this are told the tutor is unavailable."""
        if self._thread is not None and self.status in ("ready", "loading"):
            self.status = "closed"
            self._jobs.put(None)


class RedisBackend(Backend):
    """Production: jobs go to Celery's `tutor` queue; tokens come back on a Redis stream per job."""

    PENDING = "tutor:pending"

    def __init__(self, redis_url: str, celery_app):
        self.slots = RedisSlots(redis_url)
        self.redis = self.slots.redis
        self.celery = celery_app
        self.status = "ready"

    @staticmethod
    def stream_key(job_id: str) -> str:
        return f"tutor:events:{job_id}"

    @staticmethod
    def cancel_key(job_id: str) -> str:
        return f"tutor:cancel:{job_id}"

    async def _relay(self, job: Job) -> AsyncIterator[dict]:
        await self.redis.zadd(self.PENDING, {job.id: time.time()})
        self.celery.send_task("tutor.generate", args=[job.id, job.messages, job.max_tokens, job.user_id],
                              queue="tutor")
        rank = await self.redis.zrank(self.PENDING, job.id)
        last_id, last_position = "0", (rank or 0) + 1
        yield {"type": "position", "position": last_position}  # at once: the page shows the lesson meanwhile
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
                yield json.loads(fields["event"])

    async def _cancel(self, job: Job) -> None:
        await self.redis.set(self.cancel_key(job.id), "1", ex=600)
        await self.redis.zrem(self.PENDING, job.id)
