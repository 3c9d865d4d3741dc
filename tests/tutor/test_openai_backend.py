"""TUTOR_BACKEND=openai: the tutor on an OpenAI-compatible inference server, here llama-cpp-python's own
(`python -m llama_cpp.server`) on the default model, started on a free port for these tests. The learner's
side is the platform's real routes, served by uvicorn: streaming, leaving early, the server dying
mid-answer and coming back, and learners waiting for a place in flight."""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from gennation.platform.app import create_app
from gennation.platform.i18n import gettext
from gennation.platform.settings import ConfigurationError, Settings, get_settings
from gennation.tutor.engine import EmbeddedBackend, Job, MemorySlots, OpenAIBackend, RedisBackend
from gennation.tutor.models import TutorMessage
from gennation.tutor.service import UNAVAILABLE, build_runtime
from tests.browser import serve
from tests.conftest import csrf_of, register
from tests.tutor.conftest import MODEL

LESSON = {"course": "ai-basics-school", "lesson": "artificial-neuron"}
QUESTION = "Нейрон шешімді қалай қабылдайды?"
ALIAS = "qwen2.5-coder-0.5b-instruct-q4"
START_SECONDS = 90
COMPLETION = '"POST /v1/chat/completions HTTP/1.1" 200'


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class InferenceServer:
    """`python -m llama_cpp.server` on the default model, as deploy/Procfile runs it; its log kept."""

    def __init__(self, log: Path):
        self.port = _free_port()
        self.log = log
        self.process: subprocess.Popen | None = None

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "llama_cpp.server", "--model", str(MODEL), "--model_alias", ALIAS,
                 "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", "4096", "--n_threads", "-1",
                 "--interrupt_requests", "False", "--logits_all", "False"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert self.process.poll() is None, f"llama_cpp.server stopped: {self.log_text()[-2000:]}"
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/openapi.json", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "llama_cpp.server did not start"
            time.sleep(0.2)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash would: no goodbye to its clients."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.running():
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def inference(tmp_path_factory):
    if not MODEL.is_file():
        pytest.fail(f"the tutor model is missing at {MODEL}: run `make model` (make test does)")
    server = InferenceServer(tmp_path_factory.mktemp("inference") / "server.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def server(inference):
    if not inference.running():  # a test before this one killed it
        inference.start()
    return inference


@pytest.fixture
def openai_app(tutor_settings, server):
    tutor_settings.tutor_backend = "openai"
    tutor_settings.tutor_api_base = server.api_base
    tutor_settings.tutor_api_model = ALIAS
    tutor_settings.tutor_api_concurrency = 1
    app = create_app(tutor_settings)
    app.state.tutor.questions_per_minute = 100
    yield app
    app.state.engine.dispose()


@pytest.fixture
def site(openai_app):
    with serve(openai_app) as base:
        yield base


def _learner(site: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=site, timeout=120)
    register(client, username)
    return client


def _ask(client: httpx.Client, question: str = QUESTION) -> str:
    """Ask on the lesson page as htmx does; returns the answer's stream URL."""
    panel = client.get("/kk/tutor", params=LESSON, headers={"HX-Request": "true"}).text
    posted = client.post("/kk/tutor/ask", headers={"HX-Request": "true"},
                         data={"csrf_token": csrf_of(panel), "question": question, **LESSON})
    assert posted.status_code == 200, posted.text[:500]
    return re.search(r'sse-connect="([^"]+)"', posted.text).group(1)


def _events(lines) -> list[tuple[str, str]]:
    """Server-sent events (name, data) as they arrive."""
    name, data = None, []
    for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data.append(line.removeprefix("data: "))
        elif not line and name:
            yield name, "\n".join(data)
            name, data = None, []


def _read_to_the_end(client: httpx.Client, url: str) -> list[tuple[str, str]]:
    with client.stream("GET", url) as response:
        assert response.status_code == 200
        return list(_events(response.iter_lines()))


def _until_generating(events, backend: OpenAIBackend) -> list[tuple[str, str]]:
    """Read the stream until the lesson's words are shown and the server has sent its first token of the
    simpler wording (held back from the page by the checks, so seen on the backend's side)."""
    generating = threading.Event()
    relay = backend._generate

    async def observed(job):
        async with contextlib.aclosing(relay(job)) as server_events:
            async for event in server_events:
                if event["type"] == "token":
                    generating.set()
                yield event

    backend._generate = observed  # passes every event on unchanged
    seen = []
    for event in events:
        seen.append(event)
        if event[0] == "passage":
            assert generating.wait(60), "the server sent no token"
            return seen
        assert event[0] != "final", event
    pytest.fail("the stream ended without the lesson's words")


def _user_id(app, username: str) -> int:
    from gennation.platform.accounts.models import User
    with app.state.db.session() as session:
        return session.exec(select(User.id).where(User.username == username)).one()


def _replies(app) -> list[TutorMessage]:
    with app.state.db.session() as session:
        return list(session.exec(select(TutorMessage).where(TutorMessage.role == "tutor").order_by(TutorMessage.id)))


def _wait(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _run(coroutine):
    """Run `coroutine` on an event loop of its own, in its own thread: when a browser test ran before,
    Playwright's sync API holds a running loop in the test's thread, where asyncio.run() is refused."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _held(app, user_id: int) -> bool:
    return _run(app.state.tutor.backend.slots.held(user_id))


# ---------------------------------------------------------------- configuration (no server needed)

def test_the_backend_is_chosen_by_tutor_backend_and_defaults_to_the_implicit_choice(tmp_path, monkeypatch):
    base = {"var_dir": tmp_path, "secret_key": "t" * 40}
    assert isinstance(build_runtime(Settings(**base).resolved()).backend, EmbeddedBackend)
    assert isinstance(build_runtime(Settings(**base, redis_url="redis://127.0.0.1:6379/13").resolved()).backend,
                      RedisBackend)
    chosen = build_runtime(Settings(**base, redis_url="redis://127.0.0.1:6379/13", tutor_backend="embedded")
                           .resolved()).backend
    assert isinstance(chosen, EmbeddedBackend)
    openai = build_runtime(Settings(**base, tutor_backend="openai", tutor_api_base="http://10.0.0.5:8001/v1/",
                                    tutor_api_model="qwen2.5-7b-instruct", tutor_api_concurrency=32).resolved()).backend
    assert isinstance(openai, OpenAIBackend) and isinstance(openai.slots, MemorySlots)
    assert (openai.api_base, openai.model, openai.concurrency) == ("http://10.0.0.5:8001/v1", "qwen2.5-7b-instruct", 32)
    # From the environment, a bad setting stops start-up with one line naming it.
    for env, said in (({"TUTOR_BACKEND": "openai"}, "TUTOR_BACKEND=openai needs TUTOR_API_BASE"),
                      ({"TUTOR_BACKEND": "celery"}, "TUTOR_BACKEND=celery needs REDIS_URL"),
                      ({"TUTOR_BACKEND": "vllm"}, "TUTOR_BACKEND"),
                      ({"TUTOR_BACKEND": "openai", "TUTOR_API_BASE": "127.0.0.1:8001"}, "TUTOR_API_BASE")):
        for name in ("TUTOR_BACKEND", "TUTOR_API_BASE", "REDIS_URL"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("VAR_DIR", str(tmp_path))
        get_settings.cache_clear()
        with pytest.raises(ConfigurationError) as refused:
            get_settings()
        assert said in str(refused.value) and "\n" not in str(refused.value)
    monkeypatch.delenv("TUTOR_API_BASE")
    monkeypatch.setenv("TUTOR_BACKEND", "")  # empty: unset
    get_settings.cache_clear()
    assert get_settings().tutor_backend is None
    get_settings.cache_clear()


# ---------------------------------------------------------------- on the real llama_cpp.server

def test_an_answer_streams_from_the_inference_server_through_the_tutor_route(openai_app, site, server):
    learner = _learner(site, "server-learner")
    assert learner.get("/healthz").json()["tutor"] == "ready"
    events = _read_to_the_end(learner, _ask(learner))
    names = [name for name, _ in events]
    assert names[0] == "passage" and names[-1] == "final" and names.count("final") == 1
    final = events[-1][1]
    assert 'class="error"' not in final and "/kk/courses/ai-basics-school/lessons/artificial-neuron" in final
    reply = _replies(openai_app)[-1]
    assert reply.ttft_ms > 0 and reply.total_ms >= reply.ttft_ms and not reply.cut_off
    assert COMPLETION in server.log_text()
    assert not _held(openai_app, _user_id(openai_app, "server-learner"))


def test_closing_the_stream_mid_answer_frees_the_slot_and_the_server_stops(openai_app, site, server):
    learner = _learner(site, "server-leaver")
    user = _user_id(openai_app, "server-leaver")
    before = server.log_text().count("Disconnected from client")
    with learner.stream("GET", _ask(learner)) as response:
        _until_generating(_events(response.iter_lines()), openai_app.state.tutor.backend)  # then leaves
    _wait(lambda: not _held(openai_app, user), 10, "the learner's slot was not freed")
    _wait(lambda: server.log_text().count("Disconnected from client") > before, 10,
          "llama_cpp.server did not notice the closed stream")
    assert _replies(openai_app)[-1].cut_off  # what the learner saw is kept, marked cut off
    # The server is free at once: a long generation's first token comes as soon as a fresh one's would.
    backend = openai_app.state.tutor.backend

    async def first_tokens():
        timings = []
        for prompt in ("Напиши длинный рассказ о степи и городах.", "Напиши длинный рассказ о море."):
            job = Job([{"role": "user", "content": prompt}], 400)
            started = time.perf_counter()
            async with contextlib.aclosing(backend.stream(job)) as events:
                async for event in events:
                    if event["type"] == "token":
                        timings.append(time.perf_counter() - started)
                        break  # left after the first token: 399 tokens (about a minute here) not generated
        return timings

    first, second = _run(first_tokens())
    assert second < max(3 * first, 10), (first, second)
    assert learner.get("/kk/tutor", params=LESSON).text.count('name="question"') == 1
    events = _read_to_the_end(learner, _ask(learner, "Нейронның салмақтары не үшін керек?"))
    assert events[-1][0] == "final" and 'class="error"' not in events[-1][1]


def test_a_server_killed_mid_answer_gives_a_clear_message_and_the_next_question_works(openai_app, site, server):
    learner = _learner(site, "server-crash")
    user = _user_id(openai_app, "server-crash")
    with learner.stream("GET", _ask(learner)) as response:
        stream = _events(response.iter_lines())
        events = _until_generating(stream, openai_app.state.tutor.backend)
        server.kill()  # mid-answer
        events += list(stream)
    assert events[0][0] == "passage"
    name, final = events[-1]
    assert name == "final" and gettext("kk", "The tutor could not answer just now. Please try again.") in final
    assert not _held(openai_app, user)
    # The page says the tutor is away; readiness does not depend on it (the lessons work).
    _wait(lambda: gettext("kk", UNAVAILABLE) in learner.get("/kk/tutor", params=LESSON).text, 10,
          "the tutor panel does not say the tutor is unavailable")
    assert learner.get("/readyz").status_code == 200
    assert learner.get("/healthz").json()["tutor"] == "unavailable"
    server.start()
    _wait(lambda: openai_app.state.tutor.backend.status == "ready", 10, "the server's return was not noticed")
    events = _read_to_the_end(learner, _ask(learner, "Нейронның салмақтары не үшін керек?"))
    assert events[-1][0] == "final" and 'class="error"' not in events[-1][1]
    assert _replies(openai_app)[-1].ttft_ms > 0


def test_learners_beyond_the_in_flight_limit_are_told_their_place(openai_app, site, server):
    first, second = _learner(site, "server-first"), _learner(site, "server-second")
    first_url, second_url = _ask(first), _ask(second)
    generating = threading.Event()
    results: dict[str, list] = {}

    def first_learner():
        events = []
        with first.stream("GET", first_url) as response:
            for event in _events(response.iter_lines()):
                events.append(event)
                if event[0] == "passage":
                    generating.set()  # the job holds the one place in flight (TUTOR_API_CONCURRENCY=1)
        results["first"] = events

    thread = threading.Thread(target=first_learner)
    thread.start()
    assert generating.wait(60)
    results["second"] = _read_to_the_end(second, second_url)
    thread.join(120)
    place = gettext("kk", "Your question is number %(position)s in the queue.", position=1)
    assert ("position", place) in results["second"]
    assert results["second"][-1][0] == "final" and 'class="error"' not in results["second"][-1][1]
    assert results["first"][-1][0] == "final" and all(name != "position" for name, _ in results["first"])
    assert openai_app.state.tutor.backend._in_flight == 0 and not openai_app.state.tutor.backend._pending
