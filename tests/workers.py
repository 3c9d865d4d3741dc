"""Real Celery worker processes for the tests that kill one (SIGKILL) or restart the services under them."""
from __future__ import annotations

import os
import subprocess
import sys

from gennation.platform.settings import ROOT


def worker(settings, module: str, queue: str) -> subprocess.Popen:
    """`python -m <module> -A gennation.platform.worker worker -Q <queue>`, one process, on the test's
    database and Redis; `module` is `celery` or a test module that slows a step down. Its log goes to
    VAR_DIR/<module>.log."""
    env = dict(os.environ, DATABASE_URL=settings.database_url, REDIS_URL=settings.redis_url,
               VAR_DIR=str(settings.var_dir), SECRET_KEY=settings.secret_key, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", module, "-A", "gennation.platform.worker", "worker", "-Q", queue,
                             "-P", "solo", "--without-heartbeat", "--without-gossip", "--without-mingle",
                             "-l", "warning"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=(settings.var_dir / f"{module}.log").open("w"))


def logs(settings) -> str:
    """What the workers said, for an assertion's message."""
    return "\n".join(path.read_text()[-2000:] for path in settings.var_dir.glob("*.log"))


def stop(*processes: subprocess.Popen | None) -> None:
    for process in processes:
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(20)
