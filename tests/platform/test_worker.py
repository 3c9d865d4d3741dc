import pytest
from celery.contrib.testing.worker import start_worker
from sqlmodel import select

from gennation.courses.models import Course
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
