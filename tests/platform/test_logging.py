"""JSON logs (one object a line: time, level, logger, message, request_id), the request id taken from
X-Request-ID or made, sent back, and carried into Celery tasks."""
from __future__ import annotations

import io
import json
import logging
import re
from contextlib import contextmanager
from datetime import datetime

import pytest
from celery.contrib.testing.worker import start_worker
from fastapi.testclient import TestClient

from gennation.platform import logs
from gennation.platform.worker import make_celery
from tests.conftest import redis_or_skip


@contextmanager
def json_lines(logger: str = ""):
    """The JSON lines written through the platform's formatter while the block runs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    target = logging.getLogger(logger)
    old_level = target.level
    target.addHandler(handler)
    target.setLevel(logging.INFO)
    lines: list[dict] = []
    try:
        yield lines
    finally:
        target.removeHandler(handler)
        target.setLevel(old_level)
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines())


def test_a_log_line_is_one_json_object_with_the_fields():
    with json_lines("gennation.test") as lines:
        token = logs.request_id.set("req-7")
        try:
            logging.getLogger("gennation.test").warning("Оқушы %s: \"quoted\"\nsecond line", "Әлия")
        finally:
            logs.request_id.reset(token)
        try:
            raise ValueError("bad")
        except ValueError:
            logging.getLogger("gennation.test").exception("it failed")
    first, second = lines
    assert set(first) == {"time", "level", "logger", "message", "request_id"}
    assert first["level"] == "WARNING" and first["logger"] == "gennation.test"
    assert first["message"] == "Оқушы Әлия: \"quoted\"\nsecond line"  # the newline stays inside the one line
    assert first["request_id"] == "req-7"
    assert datetime.fromisoformat(first["time"]).tzinfo is not None
    assert second["request_id"] is None and "ValueError: bad" in second["exception"]


def test_the_app_logs_json_on_the_root_logger(app):
    handlers = [h for h in logging.getLogger().handlers if getattr(h, "_gennation_json", False)]
    assert len(handlers) == 1 and isinstance(handlers[0].formatter, logs.JsonFormatter)
    from gennation.platform.app import create_app
    again = create_app(app.state.settings)  # a second app in the process adds no second handler
    again.state.engine.dispose()
    assert len([h for h in logging.getLogger().handlers if getattr(h, "_gennation_json", False)]) == 1


def _log_route(app):
    def noisy():
        logging.getLogger("gennation.test").warning("inside the request")
        return {"seen": logs.request_id.get()}
    app.add_api_route("/test-log", noisy)


def test_the_request_id_is_taken_from_the_header_returned_and_in_the_logs(app):
    _log_route(app)
    client = TestClient(app)
    with json_lines("gennation.test") as lines:
        response = client.get("/test-log", headers={"X-Request-ID": "edge-1234:abc"})
    assert response.headers["x-request-id"] == "edge-1234:abc"
    assert response.json() == {"seen": "edge-1234:abc"}
    assert [line["request_id"] for line in lines] == ["edge-1234:abc"]
    assert logs.request_id.get() is None  # nothing left behind for the next request


def test_a_request_without_an_id_or_with_a_bad_one_gets_a_new_one(app):
    _log_route(app)
    client = TestClient(app)
    made = client.get("/test-log").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert client.get("/test-log").headers["x-request-id"] != made
    for bad in ("has space", "x" * 200, "inject\"}{", "ünïcode"):
        given = client.get("/test-log", headers={"X-Request-ID": bad.encode("utf-8")})
        assert re.fullmatch(r"[0-9a-f]{32}", given.headers["x-request-id"]), bad


def test_every_response_carries_the_id_even_errors_and_cached_pages(client):
    for path in ("/kk/courses", "/no-such-address", "/healthz/live", "/static/site.css"):
        assert client.get(path, headers={"X-Request-ID": "r-1"}).headers.get("x-request-id") == "r-1", path


def test_an_in_process_task_logs_with_the_request_id_of_its_request(settings):
    celery = make_celery(settings)  # no Redis: the task runs at once, in the request's context

    @celery.task(name="test.whoami_eager")
    def whoami():
        logging.getLogger("gennation.test").warning("in the task")
        return logs.request_id.get()

    token = logs.request_id.set("req-eager")
    try:
        with json_lines("gennation.test") as lines:
            assert whoami.apply_async().get() == "req-eager"
    finally:
        logs.request_id.reset(token)
    assert lines[0]["request_id"] == "req-eager"
    assert logs.request_id.get() is None


@pytest.mark.services
def test_a_worker_logs_with_the_request_id_that_sent_the_task(settings):
    settings.redis_url = redis_or_skip()
    celery = make_celery(settings)

    @celery.task(name="test.whoami")
    def whoami():
        logging.getLogger("gennation.test").warning("in the worker")
        return logs.request_id.get()

    with json_lines("gennation.test") as lines, \
            start_worker(celery, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        token = logs.request_id.set("req-from-web")
        try:
            sent = whoami.apply_async()
        finally:
            logs.request_id.reset(token)
        assert sent.get(timeout=30) == "req-from-web"
        # a task sent outside any request carries no id, and none is left over from the previous task
        assert whoami.apply_async().get(timeout=30) is None
    worker_lines = [line for line in lines if line["message"] == "in the worker"]
    assert [line["request_id"] for line in worker_lines] == ["req-from-web", None]
