"""Running the model. A Llama object serves one generation at a time, so generations queue:

- embedded (`make run`): one in-process worker thread fed by a queue (`EmbeddedBackend`);
- production: Celery workers on the `tutor` queue, each holding a loaded model, relaying tokens to the
  web process through Redis streams (`RedisBackend`, `tasks.generate`). More workers, more capacity;
- an inference server (vLLM, llama.cpp's server, `python -m llama_cpp.server`) that batches many
  learners at once, spoken to with the OpenAI chat-completions protocol (`OpenAIBackend`).

All hand the web process the same events: position, token, done, error.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import queue
import socket
import threading
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from gennation.tutor.model_file import ModelFileError, check

log = logging.getLogger("gennation.tutor")
N_CTX = 4096
# The sampling settings of every backend (the evaluation's figures hold for each).
SAMPLING = {"temperature": 0.2, "top_p": 0.9, "repeat_penalty": 1.15, "seed": 7}


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
                                                     **SAMPLING):
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


class InferenceError(Exception):
    """The inference server answered with an error, or its stream broke off mid-answer."""


class OpenAIBackend(Backend):
    """An OpenAI-compatible inference server (`POST {api_base}/chat/completions`, streamed), which batches
    the learners of every web process. This process keeps at most `concurrency` requests in flight to it;
    the others wait here, in order, and are told their place. Closing the learner's stream closes the HTTP
    stream, which is how such servers learn to stop generating (llama_cpp.server checks after each token).

    `status` follows the server: a connection probe every PROBE_SECONDS (a TCP connect to its address: no
    request that would queue behind generations), and at once when a request cannot connect."""

    PROBE_SECONDS = 2.0
    # Between two chunks of a stream: a server may hold a request while it serves others (a ping comes
    # every 15 s from llama_cpp.server meanwhile).
    TIMEOUT = {"connect": 5.0, "read": 60.0, "write": 10.0, "pool": 10.0}

    def __init__(self, api_base: str, model: str, concurrency: int = 1, slots: MemorySlots | RedisSlots | None = None,
                 api_key: str = ""):
        self.api_base = api_base.rstrip("/")
        self.model = model
        self.concurrency = concurrency
        self.slots = slots or MemorySlots()
        self.api_key = api_key
        self.status = "loading"  # until the first probe
        self._lock = threading.Lock()
        self._in_flight = 0
        self._pending: list[str] = []  # jobs waiting for a place, in order (the metrics count them)
        self._admitted: set[str] = set()  # jobs holding a place
        self._wakers: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = {}
        self._clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # one pool per event loop
        self._stop = threading.Event()
        self._prober: threading.Thread | None = None

    # -- the server's state -----------------------------------------------------------------------
    def start(self) -> None:
        if self._prober is None:
            self._prober = threading.Thread(target=self._probe_loop, name="tutor-inference-probe", daemon=True)
            self._prober.start()

    def probe(self) -> str:
        """Can the server's address be reached? Sets and returns `status`."""
        address = urlsplit(self.api_base)
        port = address.port or (443 if address.scheme == "https" else 80)
        try:
            socket.create_connection((address.hostname, port), timeout=2).close()
            reached = True
        except OSError:
            reached = False
        if self.status != "closed":
            if self.status == "ready" and not reached:
                log.warning("tutor unavailable: the inference server at %s does not answer", self.api_base)
            elif self.status != "ready" and reached:
                log.info("tutor: the inference server at %s answers", self.api_base)
            self.status = "ready" if reached else "unavailable"
        return self.status

    def wait_ready(self, timeout: float = 120) -> bool:
        """For the CLI (`gennation tutor eval`): wait until the server can be reached."""
        deadline = time.monotonic() + timeout
        while self.probe() != "ready":
            if time.monotonic() > deadline or self.status == "closed":
                return False
            time.sleep(0.5)
        return True

    def _probe_loop(self) -> None:
        while not self._stop.is_set():
            self.probe()
            self._stop.wait(self.PROBE_SECONDS)

    def close(self) -> None:
        self.status = "closed"
        self._stop.set()

    def _check_available(self) -> None:
        if self.status not in ("ready", "loading"):
            raise TutorUnavailable(self.status)

    # -- places in flight ---------------------------------------------------------------------------
    def _signal(self, job_id: str, value: int) -> None:
        waker = self._wakers.get(job_id)
        if waker:
            loop, signals = waker
            with contextlib.suppress(RuntimeError):  # that learner's event loop has ended
                loop.call_soon_threadsafe(signals.put_nowait, value)

    def _renumber(self) -> None:
        for position, other in enumerate(self._pending, start=1):
            self._signal(other, position)

    def _release(self, job: Job) -> None:
        """Give back `job`'s place (once), to the first learner waiting; or leave the queue."""
        with self._lock:
            if job.id in self._admitted:
                self._admitted.discard(job.id)
                self._in_flight -= 1
                if self._pending:
                    first = self._pending.pop(0)
                    self._admitted.add(first)
                    self._in_flight += 1
                    self._signal(first, 0)
                    self._renumber()
            elif job.id in self._pending:
                self._pending.remove(job.id)
                self._renumber()
            self._wakers.pop(job.id, None)

    def _client(self):
        import httpx
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = httpx.AsyncClient(timeout=httpx.Timeout(**self.TIMEOUT))
            self._clients[loop] = client
        return client

    # -- a question ---------------------------------------------------------------------------------
    async def _relay(self, job: Job) -> AsyncIterator[dict]:
        signals: asyncio.Queue = asyncio.Queue()
        with self._lock:
            if self._in_flight < self.concurrency and not self._pending:
                self._in_flight += 1
                self._admitted.add(job.id)
                position = 0
            else:
                self._pending.append(job.id)
                self._wakers[job.id] = (asyncio.get_running_loop(), signals)
                position = len(self._pending)
        try:
            yield {"type": "position", "position": position}  # at once: the page shows the lesson meanwhile
            while position:
                position = await signals.get()
                yield {"type": "position", "position": position}
            last = None
            async with contextlib.aclosing(self._generate(job)) as events:  # closed at once when the learner leaves
                async for event in events:
                    if event["type"] in ("done", "error"):
                        last = event
                        break
                    yield event
            # The place and the learner's slot are free before "done" is sent: the next question may follow.
            self._release(job)
            if job.user_id is not None:
                await self.slots.free(job.user_id, job.id)
            yield last
        finally:
            self._release(job)

    async def _generate(self, job: Job) -> AsyncIterator[dict]:
        import httpx
        body = {"model": self.model, "messages": job.messages, "max_tokens": job.max_tokens, "stream": True,
                **SAMPLING}
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        start = time.perf_counter()
        first, count, complete = None, 0, False
        try:
            async with self._client().stream("POST", f"{self.api_base}/chat/completions", json=body,
                                             headers=headers) as response:
                if response.status_code >= 400:
                    detail = (await response.aread())[:300].decode(errors="replace")
                    raise InferenceError(f"HTTP {response.status_code}: {detail}")
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue  # blank separators, ": ping" comments
                    data = line[5:].strip()
                    if data == "[DONE]":
                        complete = True
                        break
                    chunk = json.loads(data)
                    if chunk.get("error"):
                        raise InferenceError(str(chunk["error"])[:300])
                    choice = (chunk.get("choices") or [{}])[0]
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        if first is None:
                            first = time.perf_counter()
                        count += 1
                        yield {"type": "token", "text": text}
            if not complete:
                raise InferenceError("the stream ended before the answer did")
        except (httpx.HTTPError, InferenceError, ValueError) as error:
            if isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout)) and self.status != "closed":
                self.status = "unavailable"  # the page says so at once; the probe notices the server's return
            log.warning("tutor: the inference server at %s failed: %s: %s", self.api_base,
                        type(error).__name__, error)
            yield {"type": "error", "message": f"{type(error).__name__}: {error}"}
            return
        end = time.perf_counter()
        yield {"type": "done", "tokens": count, "ttft_ms": round(((first or end) - start) * 1000, 1),
               "total_ms": round((end - start) * 1000, 1), "cancelled": False}

    async def _cancel(self, job: Job) -> None:
        self._release(job)  # leaving closed the HTTP stream already (the server stops generating)
