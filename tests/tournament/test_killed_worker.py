"""A scoring worker killed with SIGKILL in the middle of scoring: the entry is not lost, the sweeper sends it
again, another real worker scores it, and it is scored exactly once."""
from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import pytest
import redis
from sqlmodel import func, select

from gennation.tournament import service, tasks
from gennation.tournament.models import Entry, EntryScore, EntryStatus, Standing
from tests.conftest import redis_or_skip
from tests import workers
from tests.tournament import builders

pytestmark = pytest.mark.services


def _wait_for(session, entry_id: int, status: EntryStatus, seconds: float, settings) -> Entry:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        session.expire_all()
        entry = session.get(Entry, entry_id)
        if entry.status == status:
            return entry
        time.sleep(0.2)
    raise AssertionError(f"entry {entry_id} is {entry.status}, not {status}, after {seconds} s; workers said:\n"
                         f"{workers.logs(settings)}")


def test_an_entry_whose_worker_was_killed_mid_scoring_is_scored_once_by_another_worker(session, settings):
    settings.redis_url = redis_or_skip()
    queue = redis.Redis.from_url(settings.redis_url)
    queue.delete("scoring")  # messages other tests left behind
    made = builders.season(session, settings.var_dir)
    pupil = builders.person(session, "killed-worker-pupil", grade=6)
    service.register(session, pupil, made["season"], "grades-5-8")
    session.commit()
    tasks.install(settings)  # entries now go to the `scoring` queue in Redis
    slow = workers.worker(settings, "tests.tournament.slow_worker", tasks.QUEUE)
    healthy = None
    try:
        entry = service.send_entry(session, pupil, made["practical"]["grades-5-8"], "p.csv",
                                   builders.predictions(made["labels"], 0.8), settings.var_dir).entry
        session.commit()
        tasks.send_score(entry.id)  # stored, then sent (what the unit of work does after its commit)
        _wait_for(session, entry.id, EntryStatus.scoring, 90, settings)
        time.sleep(1)  # inside the (slowed) scoring now
        os.kill(slow.pid, signal.SIGKILL)
        assert slow.wait(10) == -signal.SIGKILL

        session.expire_all()
        entry = session.get(Entry, entry.id)
        assert entry.status == EntryStatus.scoring and entry.tries == 1
        assert session.exec(select(func.count()).select_from(EntryScore)).one() == 0
        entry.queued_at -= service.STUCK_AFTER + timedelta(minutes=1)  # the sweeper's few minutes have passed
        session.add(entry)
        session.commit()

        healthy = workers.worker(settings, "celery", tasks.QUEUE)
        assert tasks.sweep_now(settings)["requeued"] == 1
        scored = _wait_for(session, entry.id, EntryStatus.scored, 90, settings)
        assert scored.tries == 2 and scored.public_score is not None
        assert session.exec(select(func.count()).select_from(EntryScore)).one() == 1
        standing = session.exec(select(Standing).where(Standing.participant_id == entry.participant_id)).one()
        assert standing.public_points == scored.public_points
        assert tasks.sweep_now(settings)["requeued"] == 0  # nothing left stuck
    finally:
        workers.stop(slow, healthy)
        settings.redis_url = ""
        tasks.install(settings)
