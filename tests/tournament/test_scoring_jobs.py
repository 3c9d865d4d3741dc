"""Scoring as a job: once per (entry, scorer version) whatever runs twice, stuck entries re-sent by the
sweeper, concurrent entries never beyond the limit, and re-scoring that switches all at once."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import func, select

from gennation.platform.database import Database, utcnow
from gennation.tournament import service, tasks
from gennation.tournament.models import Entry, EntryScore, EntryStatus, Standing, Task
from tests.tournament import builders


@pytest.fixture
def entered(session, settings):
    made = builders.season(session, settings.var_dir)
    pupil = builders.person(session, "scored-pupil", grade=6)
    service.register(session, pupil, made["season"], "grades-5-8")
    session.commit()
    return made, pupil


def send(session, settings, made, pupil, right=1.0, seed=0, now=None):
    return service.send_entry(session, pupil, made["practical"]["grades-5-8"], "p.csv",
                              builders.predictions(made["labels"], right, seed), settings.var_dir, now).entry


def test_scoring_twice_changes_nothing(session, settings, entered):
    made, pupil = entered
    entry = send(session, settings, made, pupil)
    session.commit()
    assert tasks.score_now(settings, entry.id) == "scored"
    session.expire_all()
    entry = session.get(Entry, entry.id)
    entry.status = EntryStatus.queued  # the message was delivered twice
    session.add(entry)
    session.commit()
    assert tasks.score_now(settings, entry.id) == "kept"
    session.expire_all()
    assert session.exec(select(func.count()).select_from(EntryScore)).one() == 1
    assert session.get(Entry, entry.id).status == EntryStatus.scored


def test_an_entry_left_by_a_dead_worker_is_scored_once_by_the_sweeper(session, settings, entered):
    made, pupil = entered
    entry = send(session, settings, made, pupil, now=utcnow() - timedelta(minutes=20))
    entry.status, entry.tries = EntryStatus.scoring, 1  # a worker took it and was killed
    session.add(entry)
    session.commit()
    result = tasks.sweep_now(settings)  # embedded: the re-sent task runs at once
    assert result["requeued"] == 1
    session.expire_all()
    assert session.get(Entry, entry.id).status == EntryStatus.scored
    assert session.exec(select(func.count()).select_from(EntryScore)).one() == 1
    assert tasks.sweep_now(settings)["requeued"] == 0


def test_an_entry_that_keeps_failing_gives_the_attempt_back(session, settings, entered):
    made, pupil = entered
    entry = send(session, settings, made, pupil)
    session.commit()
    service.entry_path(settings.var_dir, entry).write_bytes(b"\xff broken")  # the stored file is gone bad
    for _ in range(service.MAX_TRIES):
        tasks.score_now(settings, entry.id)
        with Database(settings.database_url, 1).unit_of_work() as other:
            found = other.get(Entry, entry.id)
            if found.status == EntryStatus.failed:
                break
            found.status = EntryStatus.queued
    session.expire_all()
    found = session.get(Entry, entry.id)
    assert found.status == EntryStatus.failed and not found.counted


def test_entries_sent_at_the_same_instant_never_exceed_the_limit(session, settings, entered, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL test (its [postgresql] variant runs in CI): the embedded SQLite has one writer")
    made, pupil = entered
    task = session.get(Task, made["practical"]["grades-5-8"].id)
    task.daily_limit = 3
    session.add(task)
    session.commit()
    database = Database(settings.database_url, 10)
    outcomes, barrier = [], threading.Barrier(8)

    def one(n):
        barrier.wait()
        try:
            with database.unit_of_work() as own:
                person = own.get(type(pupil), pupil.id)
                service.send_entry(own, person, own.get(Task, task.id), "p.csv",
                                   builders.predictions(made["labels"], 0.5, n), settings.var_dir)
            outcomes.append("accepted")
        except service.DailyLimit:
            outcomes.append("limit")

    threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    database.dispose()
    assert sorted(outcomes) == ["accepted"] * 3 + ["limit"] * 5
    session.expire_all()
    assert session.exec(select(func.count()).select_from(Entry).where(Entry.counted)).one() == 3


def test_rescoring_switches_the_leaderboard_all_at_once(session, settings, entered):
    made, pupil = entered
    organiser = builders.person(session, "org", role="organiser")
    entry = send(session, settings, made, pupil, right=1.0)
    session.commit()
    tasks.score_now(settings, entry.id)
    session.expire_all()
    task = session.get(Task, made["practical"]["grades-5-8"].id)
    before = session.exec(select(Standing)).one().public_points
    # The organiser finds the labels inverted: every label flips, so the perfect entry scores 0.
    rows = ["id,late,split"] + [f"{i},{'no' if v == 'yes' else 'yes'},{'private' if i in made['private'] else 'public'}"
                                for i, v in made["labels"].items()]
    version = service.start_rescore(session, organiser, task, ("\n".join(rows) + "\n").encode(),
                                    var_dir=settings.var_dir)
    session.commit()
    assert service.rescore_progress(session, task) == (0, 1)
    assert session.exec(select(Standing)).one().public_points == before  # nothing moves until all are done
    assert tasks.rescore_now(settings, task.id) == "switched"
    session.expire_all()
    task = session.get(Task, task.id)
    assert task.scorer_version == version and task.rescoring_version is None
    assert session.exec(select(Standing)).one().public_points == 0.0
    assert session.get(Entry, entry.id).scored_version == version
