"""Production mode: Celery workers holding the model, tokens relayed to the web process through Redis."""
import pytest
import redis
from celery.contrib.testing.worker import start_worker
from fastapi.testclient import TestClient
from gennation.platform.app import create_app
from gennation.platform.worker import make_celery
from gennation.tutor.engine import Job, RedisBackend, RedisSlots

from tests.conftest import api_token, redis_or_skip
from tests.conftest import run_async as run

pytestmark = pytest.mark.services


@pytest.fixture
def redis_settings(tutor_settings):
    tutor_settings.redis_url = redis_or_skip()
    return tutor_settings


@pytest.fixture
def tutor_worker(redis_settings):
    """One worker process's worth: consumes the `tutor` queue, loads the model on its first job."""
    app = make_celery(redis_settings)
    app.amqp.queues.select_add("tutor")
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        yield app


def test_api_answer_comes_from_a_celery_worker_through_redis(redis_settings, tutor_worker):
    app = create_app(redis_settings)
    assert isinstance(app.state.tutor.backend, RedisBackend)
    with TestClient(app) as client:
        headers = api_token(client, "worker-learner")
        response = client.post("/api/v1/tutor/ask", headers=headers, json={
            "question": "Как распознать дипфейк?", "lang": "ru", "lesson": "genai-for-everyone/how-to-spot-a-fake"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["answer"] and body["sources"][0]["lesson"] == "how-to-spot-a-fake"
        assert client.get("/healthz").json()["redis"] == "ok"
        learner = client.get("/api/v1/me", headers=headers).json()["id"]
        assert redis.Redis.from_url(redis_settings.redis_url).exists(RedisSlots.key(learner)) == 0  # the worker freed it


def test_waiting_jobs_see_their_place_and_a_left_stream_is_cancelled(redis_settings, tutor_worker):
    backend = RedisBackend(redis_settings.redis_url, tutor_worker)

    async def scenario():
        long_job = Job([{"role": "user", "content": "Напиши длинный рассказ о степи и городах."}], 150)
        short_job = Job([{"role": "user", "content": "Скажи «да»."}], 5)
        first = backend.stream(long_job)
        seen_first = []
        async for event in first:
            seen_first.append(event)
            if event["type"] == "token":
                break
        second_events = []
        second = backend.stream(short_job)
        positions = []
        async for event in second:
            second_events.append(event)
            if event["type"] == "position":
                positions.append(event["position"])
                if event["position"] >= 1 and len(positions) == 1:
                    await first.aclose()  # the learner closed the tab: the long answer stops
            if event["type"] in ("done", "error"):
                break
        return seen_first, positions, second_events

    seen_first, positions, second_events = run(scenario())
    assert any(e["type"] == "token" for e in seen_first)
    assert positions and positions[0] >= 1  # it waited behind the first job
    assert second_events[-1]["type"] == "done" and second_events[-1]["tokens"] >= 1
