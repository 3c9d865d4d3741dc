"""A real Celery scoring worker that pauses inside scoring, so that a test can kill it there with SIGKILL
(tests only: `python -m tests.tournament.slow_worker -A gennation.platform.worker worker -Q scoring`)."""
import sys
import time

from gennation.tournament import scoring

_check = scoring.check_predictions


def _slow_check(data, spec):
    time.sleep(120)  # long enough for the test to find the entry "scoring" and kill this process
    return _check(data, spec)


scoring.check_predictions = _slow_check

if __name__ == "__main__":
    from celery.bin.celery import main
    sys.exit(main())
