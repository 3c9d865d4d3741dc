"""Background jobs of the indicators: the rollup, run by Celery beat (see `platform/worker.py`)."""
from __future__ import annotations

from celery import shared_task

from gennation.platform.database import Database
from gennation.platform.metrics import service
from gennation.platform.worker import RETRY, settings_of


@shared_task(bind=True, name="metrics.roll_up", **RETRY)
def roll_up(self) -> int:
    """Recompute every indicator from the learners' rows; returns the rollup rows written."""
    database = Database(settings_of(self).database_url, pool_size=1)
    try:
        with database.unit_of_work() as session:
            return service.roll_up(session)
    finally:
        database.dispose()
