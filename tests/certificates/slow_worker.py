"""A real Celery certificates worker that issues slowly, two certificates a committed step, so that a test
can kill it with SIGKILL in the middle of a batch (tests only:
`python -m tests.certificates.slow_worker -A gennation.platform.worker worker -Q certificates`)."""
import sys
import time

from gennation.certificates import service

_issue = service.issue_item


def _slow_issue(session, batch, item):
    time.sleep(1.5)
    return _issue(session, batch, item)


service.issue_item = _slow_issue
service.CHUNK = 2

if __name__ == "__main__":
    from celery.bin.celery import main
    sys.exit(main())
