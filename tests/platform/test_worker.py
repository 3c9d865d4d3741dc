import time
from datetime import timedelta

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from gennation.courses.models import Course
from gennation.platform.accounts import service as accounts
from gennation.platform.accounts.models import Category, SignIn, SignInKind, User
from gennation.platform.database import utcnow
from gennation.tutor.engine import RedisBackend
from gennation.tutor.tasks import STREAM_TTL
from gennation.courses.tasks import reload_courses
from gennation.platform.settings import ROOT
from gennation.platform.worker import make_celery
from tests.conftest import redis_or_skip


def test_without_redis_tasks_run_in_process(settings):
    app = make_celery(settings)
    assert app.conf.task_always_eager
    with app.connection_for_write():
        pass
    result = app.tasks["courses.reload"].apply()
    assert "errors" in result.get()  # the small fixture course does not meet the strict content rules


@pytest.mark.services
def test_a_real_worker_loads_the_courses_through_redis(settings, session):
    settings.redis_url = redis_or_skip()
    settings.content_dir = ROOT / "courses" / "content"
    app = make_celery(settings)
    assert not app.conf.task_always_eager
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        report = app.send_task("courses.reload").get(timeout=60)
    assert set(report.values()) == {"created"}, report
    slugs = set(session.exec(select(Course.slug)))
    assert set(report) == slugs and len(slugs) >= 4


def test_every_periodic_job_names_a_task_that_exists_and_every_task_survives_a_dead_worker(settings):
    app = make_celery(settings)
    app.loader.import_default_modules()
    for name, entry in app.conf.beat_schedule.items():
        assert entry["task"] in app.tasks, name
    ours = [task for name, task in app.tasks.items() if not name.startswith("celery.")]
    assert len(ours) >= 10
    for task in ours:
        # tutor.generate alone is acknowledged at once: a learner who waited is not served twice.
        assert task.acks_late is (task.name != "tutor.generate"), task.name
    assert app.conf.task_reject_on_worker_lost and app.conf.worker_prefetch_multiplier == 1
    assert app.conf.broker_transport_options["visibility_timeout"] >= 3600
    # Retried: only errors that pass by themselves (a restarting database), not bugs.
    reload = app.tasks["courses.reload"]
    assert OperationalError in reload.autoretry_for and ValueError not in reload.autoretry_for


def test_the_hourly_clean_up_deletes_expired_sign_ins_only(settings, session, app):
    alice = User(username="alice", username_skeleton="alice", password_hash="x", display_name="Әлия", region="astana",
                 category=Category.adult)
    session.add(alice)
    session.flush()
    alive = accounts.start_sign_in(session, alice, SignInKind.browser, max_age=3600)
    accounts.start_sign_in(session, alice, SignInKind.browser, max_age=60)
    gone = session.exec(select(SignIn).order_by(SignIn.id.desc())).first()
    gone.expires_at = utcnow() - timedelta(seconds=1)
    session.add(gone)
    session.commit()
    assert make_celery(settings).tasks["accounts.clean_up"].apply().get() == 1
    session.expire_all()
    assert accounts.signed_in(session, alive) is not None
    assert session.exec(select(SignIn)).all() == [accounts.signed_in(session, alive)[1]]


@pytest.mark.services
def test_the_tutor_clean_up_forgets_only_queue_places_older_than_a_stream(settings):
    settings.redis_url = redis_or_skip()
    client = redis.Redis.from_url(settings.redis_url)
    client.delete(RedisBackend.PENDING)
    client.zadd(RedisBackend.PENDING, {"forgotten": time.time() - STREAM_TTL - 5, "waiting": time.time()})
    app = make_celery(settings)
    app.conf.task_always_eager = True  # run here, against the real Redis
    assert app.tasks["tutor.clean_up"].apply().get() == 1
    assert [m.decode() for m in client.zrange(RedisBackend.PENDING, 0, -1)] == ["waiting"]
    client.delete(RedisBackend.PENDING)
