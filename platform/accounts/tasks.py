"""Background jobs of the accounts: beat's hourly clean-up (see `platform/worker.py`)."""
from __future__ import annotations

from celery import shared_task

from gennation.platform.accounts import service
from gennation.platform.database import Database
from gennation.platform.worker import RETRY, settings_of


@shared_task(bind=True, name="accounts.clean_up", **RETRY)
def clean_up(self) -> int:
    """Delete the sign-ins that have expired; returns how many."""
    database = Database(settings_of(self).database_url, pool_size=1)
    try:
        with database.unit_of_work() as session:
            return service.delete_expired_sign_ins(session)
    finally:
        database.dispose()
