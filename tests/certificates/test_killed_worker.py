"""A certificates worker killed with SIGKILL in the middle of a batch: the steps it committed stay, the
sweeper sends the batch again once its heartbeat is old, another real worker finishes it, and every
person holds exactly one certificate, with its PDF."""
from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import pytest
import redis

from gennation.certificates import service, tasks
from gennation.certificates.models import BatchKind, BatchStatus
from gennation.platform.database import utcnow
from tests.certificates.test_batches import _batch, _certificates, agency_world  # noqa: F401 - the fixture
from tests import workers
from tests.conftest import redis_or_skip

pytestmark = pytest.mark.services


def _wait(check, seconds: float, what: str, settings):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what} after {seconds} s; workers said:\n{workers.logs(settings)}")


def test_a_batch_whose_worker_was_killed_is_finished_by_another_and_issues_one_certificate_each(
        app, session, settings, agency_world):  # noqa: F811 - the imported fixture
    settings.redis_url = redis_or_skip()
    redis.Redis.from_url(settings.redis_url).delete(tasks.QUEUE)  # messages other tests left behind
    tasks.install(settings)  # batches and PDFs now go to the `certificates` queue in Redis
    slow = workers.worker(settings, "tests.certificates.slow_worker", tasks.QUEUE)
    healthy = None
    try:
        batch = service.start_batch(session, BatchKind.agency, agency_world["mandate"], None)
        session.commit()
        tasks.send_batch(batch.id)  # after the commit, as the unit of work does
        _wait(lambda: _batch(session, batch.id).done >= 2, 90, "no step committed", settings)
        os.kill(slow.pid, signal.SIGKILL)
        assert slow.wait(10) == -signal.SIGKILL

        killed = _batch(session, batch.id)
        assert killed.status == BatchStatus.running and 2 <= killed.done < 7  # the dead worker never said so
        assert tasks.sweep_now(settings)["batches"] == 0  # its heartbeat is recent: it might still be working
        killed.heartbeat_at = utcnow() - service.STALE_AFTER - timedelta(seconds=1)  # minutes have passed
        session.add(killed)
        session.commit()

        healthy = workers.worker(settings, "celery", tasks.QUEUE)
        assert tasks.sweep_now(settings)["batches"] == 1
        done = _wait(lambda: (b := _batch(session, batch.id)).status == BatchStatus.done and b, 120,
                     "the batch is not done", settings)
        assert (done.done, done.total, done.skipped) == (7, 7, 0)
        holders = [c.user_id for c in _certificates(session)]
        assert len(holders) == len(set(holders)) == 8  # the one issued before the batch, and one each
        # A certificate of the step the killed worker committed may have no PDF yet (its drawing task may have
        # run since on the new worker, or not): the sweeper sends those once they are a few minutes old.
        issued = [c for c in _certificates(session) if c.user_id in agency_world["people"]]
        undrawn = [c for c in issued if c.pdf_status == "pending"]
        assert len(issued) == 7 and len(undrawn) <= killed.done
        for certificate in undrawn:
            certificate.created_at = utcnow() - service.STALE_AFTER - timedelta(seconds=1)
            session.add(certificate)
        session.commit()
        assert tasks.sweep_now(settings) == {"batches": 0, "pdfs": len(undrawn)}
        _wait(lambda: all(c.pdf_status == "ready" for c in _certificates(session) if c.user_id in agency_world["people"]),
              60, "PDFs not drawn", settings)
        assert all((settings.var_dir / "certificates" / f"{c.public_id}.pdf").is_file() for c in issued)
    finally:
        workers.stop(slow, healthy)
        settings.redis_url = ""
        tasks.install(settings)
