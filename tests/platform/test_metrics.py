"""Prometheus metrics at /metrics: who may read them, requests by route template, errors, the database
pool, Celery queues, the scoring backlog, certificates, the tutor's timings, and several processes."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from gennation.certificates.models import Certificate
from gennation.platform import observability
from gennation.platform.database import utcnow
from gennation.platform.settings import ROOT
from gennation.platform.worker import QUEUES, make_celery
from gennation.tournament import service as tournament
from gennation.tournament.models import Entry, EntryStatus
from gennation.tutor.models import Conversation, TutorMessage
from tests.conftest import redis_or_skip
from tests.tournament import builders

TOKEN = "scrape-token-" + "z" * 20
LOCAL = ("127.0.0.1", 40000)


def samples(text: str) -> dict[tuple, float]:
    """{(name, (label pairs...)): value} of a scrape."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(app) -> str:
    response = TestClient(app, client=LOCAL).get("/metrics")  # no lifespan: the app may be running already
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


@pytest.fixture
def token_app(settings, loaded):
    from gennation.platform.app import create_app
    settings.metrics_token = TOKEN
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


def test_metrics_answer_this_machine_or_the_token_and_nobody_else(token_app):
    outside = TestClient(token_app)  # the test client's address is "testclient": not this machine
    assert outside.get("/metrics").status_code == 404
    assert outside.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert outside.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    assert outside.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    # The 404 is the site's own, the same as for an address that does not exist.
    assert outside.get("/metrics").text == outside.get("/no-such-address").text
    for address in ("127.0.0.1", "::1"):
        assert TestClient(token_app, client=(address, 5000)).get("/metrics").status_code == 200
    # nginx on the same machine connects from 127.0.0.1 too, but names the visitor it forwards for
    proxied = TestClient(token_app, client=LOCAL)
    assert proxied.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 404
    assert proxied.get("/metrics", headers={"X-Real-IP": "203.0.113.9"}).status_code == 404
    assert TestClient(token_app, client=("10.0.0.5", 5000)).get("/metrics").status_code == 404


def test_without_a_token_setting_no_bearer_header_opens_the_metrics(client):
    assert client.app.state.settings.metrics_token == ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer None"}).status_code == 404


def test_requests_are_counted_by_route_template_not_by_path(client):
    before = scrape(client.app)
    route = "/{lang}/courses/{slug}"
    for lang in ("kk", "ru"):
        assert client.get(f"/{lang}/courses/test-course").status_code == 200
    assert client.get("/kk/courses/no-such-course").status_code == 404
    assert client.get("/wp-admin/setup.php").status_code == 404
    after = scrape(client.app)
    assert value(after, "gennation_http_requests_total", method="GET", route=route, status="200") \
        - value(before, "gennation_http_requests_total", method="GET", route=route, status="200") == 2
    assert value(after, "gennation_http_requests_total", method="GET", route=route, status="404") \
        - value(before, "gennation_http_requests_total", method="GET", route=route, status="404") == 1
    assert value(after, "gennation_http_requests_total", method="GET", route="(unmatched)", status="404") \
        - value(before, "gennation_http_requests_total", method="GET", route="(unmatched)", status="404") == 1
    assert value(after, "gennation_http_request_duration_seconds_count", method="GET", route=route) \
        - value(before, "gennation_http_request_duration_seconds_count", method="GET", route=route) == 3
    assert "test-course" not in after and "wp-admin" not in after  # no raw path ever becomes a label


def test_pages_served_from_the_page_cache_are_counted_under_their_route(settings, loaded):
    from gennation.platform.app import create_app
    settings.page_cache_seconds = 60
    application = create_app(settings)
    try:
        with TestClient(application) as anonymous:
            before = scrape(application)
            for _ in range(3):  # the first is rendered, the next two come from the cache
                assert anonymous.get("/kk/courses").status_code == 200
            after = scrape(application)
    finally:
        application.state.engine.dispose()
    labels = {"method": "GET", "route": "/{lang}/courses", "status": "200"}
    assert value(after, "gennation_http_requests_total", **labels) - value(before, "gennation_http_requests_total", **labels) == 3


def test_unhandled_errors_are_counted_and_answered_with_the_request_id(app, loaded):
    def boom():
        raise RuntimeError("a bug")
    app.add_api_route("/test-boom", boom)
    client = TestClient(app, raise_server_exceptions=False)
    before = scrape(app)
    response = client.get("/test-boom", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "boom-1"
    after = scrape(app)
    assert value(after, "gennation_http_errors_total", route="/test-boom", kind="RuntimeError") \
        - value(before, "gennation_http_errors_total", route="/test-boom", kind="RuntimeError") == 1
    assert value(after, "gennation_http_requests_total", method="GET", route="/test-boom", status="500") \
        - value(before, "gennation_http_requests_total", method="GET", route="/test-boom", status="500") == 1


def test_database_pool_use_is_reported(app, settings):
    idle = value(scrape(app), "gennation_db_pool_checked_out")
    assert value(scrape(app), "gennation_db_pool_size") == settings.db_pool_size
    held = [app.state.db.engine.connect() for _ in range(2)]
    try:
        assert value(scrape(app), "gennation_db_pool_checked_out") == idle + 2
    finally:
        for connection in held:
            connection.close()
    assert value(scrape(app), "gennation_db_pool_checked_out") == idle


def test_scoring_backlog_stuck_entries_and_certificates_are_counted(app, session, settings):
    made = builders.season(session, settings.var_dir)
    people = [builders.person(session, f"entrant-{i}", grade=6) for i in range(3)]
    for person in people:
        tournament.register(session, person, made["season"], "grades-5-8")
    session.commit()
    entries = [tournament.send_entry(session, person, made["practical"]["grades-5-8"], "p.csv",
                                     builders.predictions(made["labels"], 1.0), settings.var_dir).entry
               for person in people]
    session.commit()
    states = [(EntryStatus.scored, utcnow()), (EntryStatus.queued, utcnow()),
              (EntryStatus.scoring, utcnow() - timedelta(minutes=30))]  # the last: a worker died on it
    for entry, (status, queued_at) in zip(entries, states):
        found = session.get(Entry, entry.id)
        found.status, found.queued_at = status, queued_at
        session.add(found)
    holder = people[0]
    for i, revoked in enumerate((None, None, utcnow())):
        session.add(Certificate(public_id=str(uuid.uuid4()), code=f"GN-TEST-000{i}", source=f"test:{i}",
                                user_id=holder.id, holder_name="Test", issued_on=date.today(), revoked_at=revoked))
    session.commit()
    text = scrape(app)
    assert value(text, "gennation_scoring_backlog") == 2
    assert value(text, "gennation_scoring_stuck") == 1
    assert value(text, "gennation_scoring_entries", status="scored") == 1
    assert value(text, "gennation_scoring_entries", status="failed") == 0
    assert value(text, "gennation_certificates_issued", kind="course", state="valid") == 2
    assert value(text, "gennation_certificates_issued", kind="course", state="revoked") == 1
    assert value(text, "gennation_scrape_error", part="database") == 0


def test_a_database_that_cannot_be_read_is_reported_not_fatal(app, tmp_path):
    from gennation.platform.database import Database
    good = app.state.db
    app.state.db = Database(f"sqlite:///{tmp_path}/missing-dir/none.db")
    try:
        text = scrape(app)
    finally:
        app.state.db = good
    assert value(text, "gennation_scrape_error", part="database") == 1
    assert "gennation_http_requests_total" in text


def test_the_tutors_recorded_timings_feed_its_histograms(app, session):
    user = builders.person(session, "asker")
    conversation = Conversation(user_id=user.id)
    session.add(conversation)
    session.flush()
    before = scrape(app)
    question = TutorMessage(conversation_id=conversation.id, role="learner", text="q", lang="kk")
    session.add(question)
    session.flush()
    session.add(TutorMessage(conversation_id=conversation.id, role="tutor", reply_to_id=question.id, text="a",
                             lang="kk", ttft_ms=1500.0, total_ms=9000.0))
    session.commit()
    after = scrape(app)
    name = "gennation_tutor_first_token_seconds_bucket"
    assert value(after, name, lang="kk", le="2.0") - value(before, name, lang="kk", le="2.0") == 1
    assert value(after, name, lang="kk", le="1.0") - value(before, name, lang="kk", le="1.0") == 0
    assert value(after, "gennation_tutor_generation_seconds_count", lang="kk") \
        - value(before, "gennation_tutor_generation_seconds_count", lang="kk") == 1
    assert value(after, "gennation_tutor_waiting") == 0  # the embedded model thread's queue


def test_the_line_wait_and_decoding_speed_of_each_generation_are_observed(app):
    before = scrape(app)
    # asked at 100.0 s, first token at 103.5 s, of which the model took 1.5 s: 2 s in the line;
    # 41 tokens, the last 40 in 9.5 - 1.5 = 8 s: 5 tokens a second
    observability.tutor_generated("ru", 100.0, 103.5, {"ttft_ms": 1500, "total_ms": 9500, "tokens": 41})
    observability.tutor_generated("ru", 100.0, None, {"ttft_ms": 0, "total_ms": 0, "tokens": 0})  # no model ran
    after = scrape(app)

    def change(name, **labels):
        return value(after, name, lang="ru", **labels) - value(before, name, lang="ru", **labels)
    assert change("gennation_tutor_queue_wait_seconds_count") == 1
    assert change("gennation_tutor_queue_wait_seconds_bucket", le="2.0") == 1
    assert change("gennation_tutor_queue_wait_seconds_bucket", le="1.0") == 0
    assert change("gennation_tutor_tokens_per_second_bucket", le="5.0") == 1
    assert change("gennation_tutor_tokens_per_second_bucket", le="2.0") == 0


def test_every_routed_queue_is_watched(settings):
    celery = make_celery(settings)
    routed = {route["queue"] for route in celery.conf.task_routes.values()}
    assert routed | {celery.conf.task_default_queue, "tutor"} <= set(QUEUES)


@pytest.mark.services
def test_celery_queue_lengths_and_tutor_waits_come_from_redis(app, settings, monkeypatch):
    import redis
    import time

    from gennation.tutor.engine import RedisBackend
    url = redis_or_skip()
    client = redis.Redis.from_url(url)
    client.flushdb()
    settings.redis_url = url
    celery = make_celery(settings)
    monkeypatch.setattr(app.state.tutor, "backend", RedisBackend(url, celery))  # the celery tutor backend
    try:
        for n in range(3):  # no worker is running: they wait in the queue
            celery.send_task("tournament.score_entry", args=[n], queue="scoring")
        celery.send_task("certificates.render_pdf", args=[1], queue="certificates", priority=6)
        client.zadd("tutor:pending", {"job-a": time.time() - 40, "job-b": time.time()})
        text = scrape(app)
    finally:
        client.flushdb()
    assert value(text, "gennation_celery_queue_length", queue="scoring") == 3
    assert value(text, "gennation_celery_queue_length", queue="certificates") == 1
    assert value(text, "gennation_celery_queue_length", queue="tutor") == 0
    assert value(text, "gennation_tutor_waiting") == 2
    assert 39 <= value(text, "gennation_tutor_oldest_wait_seconds") < 60
    assert value(text, "gennation_scrape_error", part="redis") == 0


def test_an_unreachable_redis_is_reported_not_fatal(app, settings):
    settings.redis_url = "redis://127.0.0.1:1/0"
    text = scrape(app)
    assert value(text, "gennation_scrape_error", part="redis") == 1
    assert value(text, "gennation_scrape_error", part="database") == 0


WORKER = textwrap.dedent("""
    import sys
    from gennation.platform import observability
    for _ in range(int(sys.argv[1])):
        observability.REQUESTS.labels("GET", "/{lang}/", "200").inc()
    observability.IN_PROGRESS.inc()
    if sys.argv[2] == "exit":
        observability.process_exits()
""")
SCRAPE = "from gennation.platform import observability; print(observability.render(None).decode())"


def test_several_worker_processes_are_summed_in_multiprocess_mode(tmp_path):
    env = {**os.environ, observability.MULTIPROC_ENV: str(tmp_path)}
    observability.prepare_multiprocess_dir(tmp_path)
    for count, ending in ((2, "exit"), (3, "stay")):
        subprocess.run([sys.executable, "-c", WORKER, str(count), ending], env=env, check=True, cwd=ROOT)
    out = subprocess.run([sys.executable, "-c", SCRAPE], env=env, check=True, cwd=ROOT, capture_output=True,
                         text=True).stdout
    assert value(out, "gennation_http_requests_total", method="GET", route="/{lang}/", status="200") == 5
    # the process that exited cleanly dropped its live gauge; the other one (not marked dead) still counts
    assert value(out, "gennation_http_requests_in_progress") == 1
    observability.prepare_multiprocess_dir(tmp_path)
    assert not list(tmp_path.glob("*.db"))

