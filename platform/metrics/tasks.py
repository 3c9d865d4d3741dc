"""Background jobs of the indicators: the rollup, run by Celery beat (see `platform/worker.py`)."""
from __future__ import annotations

from celery import shared_task

from gennation.platform.metrics import service
from gennation.platform.worker import RETRY, settings_of, task_unit_of_work


@shared_task(bind=True, name="metrics.roll_up", **RETRY)
def roll_up(self) -> int:
    """Recompute every indicator from the learners' rows; returns the rollup rows written."""
    with task_unit_of_work(settings_of(self)) as session:
        return service.roll_up(session)
