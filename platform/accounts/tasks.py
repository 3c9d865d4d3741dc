"""Background jobs of the accounts: beat's hourly clean-up (see `platform/worker.py`)."""
from __future__ import annotations

from celery import shared_task

from gennation.platform.accounts import service
from gennation.platform.worker import RETRY, settings_of, task_unit_of_work


@shared_task(bind=True, name="accounts.clean_up", **RETRY)
def clean_up(self) -> int:
    """Delete the sign-ins that have expired; returns how many."""
    with task_unit_of_work(settings_of(self)) as session:
        return service.delete_expired_sign_ins(session)
