"""Scoring and the tournament clock: Celery tasks on the `scoring` queue in production
(`celery -A gennation.platform.worker worker -Q scoring`), in-process in the embedded mode.

Tasks take ids and may run twice: a score is unique per (entry, scorer version). An entry is stored
before its task is sent (after commit); the sweeper, run every minute by Celery beat, re-sends entries
that waited too long (a worker killed mid-scoring, a lost message), so each is scored exactly once.
Leaderboards in Redis are updated after the commit that changed a standing, and rebuilt from the
database whenever Redis has lost them.
"""
from __future__ import annotations

import logging
from functools import lru_cache

from celery import shared_task
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from gennation.platform.database import Database, after_commit
from gennation.platform.settings import Settings
from gennation.platform.worker import settings_of
from gennation.tournament import leaderboard, service
from gennation.tournament.models import QuizRun, Standing, Task

log = logging.getLogger("gennation.tournament")
QUEUE = "scoring"
_celery = None  # the Celery app of this process (set by `install`)
boards: leaderboard.RedisBoards | None = None  # production leaderboards (None: SQL only)


@lru_cache(maxsize=4)
def _database(url: str) -> Database:
    """One engine per worker process and database (a task must not pay for a new pool each time)."""
    return Database(url, pool_size=2)


def _db(settings: Settings) -> Database:
    return _database(settings.database_url)


def score_now(settings: Settings, entry_id: int, version: int | None = None) -> str:
    """The task's work: mark the try, score in its own unit of work, give the attempt back on failure."""
    db = _db(settings)
    if version is None:
        with db.unit_of_work() as session:
            if not service.begin_scoring(session, entry_id):
                return "nothing"
    try:
        for attempt in (1, 2):
            try:
                with db.unit_of_work() as session:
                    return service.score_entry(session, entry_id, settings.var_dir, version)
            except IntegrityError:
                if attempt == 2:  # another worker stored the same row a moment ago: once more finds it
                    raise
    except Exception:  # noqa: BLE001 - counted as a try; the sweeper or MAX_TRIES decides what next
        log.exception("entry %s: scoring failed", entry_id)
        if version is None:
            with db.unit_of_work() as session:
                service.scoring_failed(session, entry_id)
        return "error"


@shared_task(bind=True, name="tournament.score_entry")
def score_entry(self, entry_id: int, version: int | None = None) -> str:
    return score_now(settings_of(self), entry_id, version)


def rescore_now(settings: Settings, task_id: int) -> str:
    """Score every entry of a task under its new version, in batches (progress is visible as it goes),
    then switch the task over. Safe to run again after a crash: it continues where it stopped."""
    db = _db(settings)
    while True:
        with db.unit_of_work() as session:
            task = session.get(Task, task_id)
            if task is None or task.rescoring_version is None:
                return "nothing"
            version, batch = task.rescoring_version, service.to_rescore(session, task)
        if not batch:
            break
        for entry_id in batch:
            score_now(settings, entry_id, version)
    with db.unit_of_work() as session:
        task = session.get(Task, task_id)
        if task is not None and service.finish_rescore(session, task):
            _stage_changed(session, task.stage_id)
            return "switched"
    return "waiting"


@shared_task(bind=True, name="tournament.rescore")
def rescore(self, task_id: int) -> str:
    return rescore_now(settings_of(self), task_id)


def sweep_now(settings: Settings) -> dict:
    """Every minute: move stages on time, re-send stuck entries, grade quizzes whose time is up, and
    carry on re-scorings that stopped."""
    db = _db(settings)
    with db.unit_of_work() as session:
        moved = service.run_clock(session)
        for stage_id, _status in moved:
            _stage_changed(session, stage_id)
        again = service.requeue(session, service.stuck_entries(session))
        for entry_id in again:
            after_commit(session, lambda entry_id=entry_id: send_score(entry_id))
    with db.unit_of_work() as session:
        for run_id in service.overdue_runs(session):
            run = session.get(QuizRun, run_id)
            service.finish_quiz(session, run, session.get(Task, run.task_id))
        rescoring = list(session.exec(select(Task.id).where(Task.rescoring_version.is_not(None))))
    for task_id in rescoring:
        send_rescore(task_id)
    return {"moved": len(moved), "requeued": len(again), "rescoring": len(rescoring)}


@shared_task(bind=True, name="tournament.sweep")
def sweep(self) -> dict:
    return sweep_now(settings_of(self))


def send_score(entry_id: int) -> None:
    """Queue (or, embedded, run) the scoring; a broker that is down only delays it (the sweeper)."""
    try:
        _celery.tasks["tournament.score_entry"].apply_async(args=[entry_id], queue=QUEUE)
    except Exception:  # noqa: BLE001 - the entry is stored; the sweeper sends it again
        log.warning("entry %s: the scoring task could not be sent", entry_id, exc_info=True)


def send_rescore(task_id: int) -> None:
    try:
        _celery.tasks["tournament.rescore"].apply_async(args=[task_id], queue=QUEUE)
    except Exception:  # noqa: BLE001 - the sweeper sends it again
        log.warning("task %s: the re-scoring could not be sent", task_id, exc_info=True)


def entry_sent(session: Session, entry_id: int) -> None:
    after_commit(session, lambda: send_score(entry_id))


def rescore_started(session: Session, task_id: int) -> None:
    after_commit(session, lambda: send_rescore(task_id))


def _put(standing: Standing) -> None:
    try:
        boards.put(standing)
    except Exception:  # noqa: BLE001 - the board is rebuilt from the database when read
        log.warning("leaderboard update failed; dropping the stage's boards", exc_info=True)
        _drop(standing.stage_id)


def _drop(stage_id: int) -> None:
    try:
        for column in ("public", "frozen", "private"):
            boards.redis.delete(boards.built_key(stage_id, column))
    except Exception:  # noqa: BLE001 - Redis down: nothing to drop, SQL answers meanwhile
        log.warning("could not drop the boards of stage %s", stage_id, exc_info=True)


def _standing_changed(session: Session, standing: Standing) -> None:
    if boards is not None:
        after_commit(session, lambda: _put(standing))


def _stage_changed(session: Session, stage_id: int) -> None:
    if boards is not None:
        after_commit(session, lambda: _drop(stage_id))


def install(settings: Settings) -> None:
    """Wire the tournament into the platform: scoring after commit, leaderboards in Redis when configured."""
    global _celery, boards
    from gennation.platform.worker import make_celery
    _celery = make_celery(settings)
    if settings.redis_url:
        import redis
        boards = leaderboard.RedisBoards(redis.Redis.from_url(settings.redis_url, socket_timeout=2))
    else:
        boards = None
    service.standing_hooks[:] = [_standing_changed]
    service.stage_hooks[:] = [_stage_changed]
