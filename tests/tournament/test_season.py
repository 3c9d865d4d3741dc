"""A whole season in miniature: a qualifier with 50 participants in 3 regions and 2 categories, a quiz
and a practical task, scoring, the top 2 per region advancing, a regional round, the final, locked and
published results, diplomas handed to certificates; Redis flushed midway rebuilds the same boards."""
from __future__ import annotations

import random

import pytest
import redis as redis_client
from sqlmodel import func, select

from gennation.certificates.models import Certificate
from gennation.platform.database import utcnow
from gennation.tournament import leaderboard, service, tasks
from gennation.tournament.models import Advancement, EntryScore, Participant, StageKind, StageStatus, Standing
from tests.conftest import redis_or_skip
from tests.tournament import builders

REGIONS = ("shymkent", "turkistan", "abai")


def take_part(session, settings, made, stage, people, rng, practical, quiz):
    """Everyone sends one or two entries and sits the quiz; every entry is scored by the worker code."""
    for user, participant in people:
        slug = "grades-5-8" if participant.category_id == made["school"].id else "adults"
        for attempt in range(rng.choice([1, 2])):
            sent = service.send_entry(session, user, practical[slug], "p.csv",
                                      builders.predictions(made["labels"], rng.random(), rng.randrange(10**6)),
                                      settings.var_dir)
            session.commit()
            assert tasks.score_now(settings, sent.entry.id) == "scored"
        run = service.start_quiz(session, user, quiz[slug])
        keyed = {s: next(t for t, c in run.layout[s] if c == "a") for s in run.question_slugs}
        answered = dict(list(keyed.items())[:rng.randint(0, len(keyed))])
        service.save_answers(session, run, quiz[slug], answered)
        service.finish_quiz(session, run, quiz[slug])
        session.commit()


def boards_of(session, stage, made, boards):
    seen = {}
    for category in (made["school"], made["adults"]):
        for region in ("*", *REGIONS):
            found = leaderboard.board(session, stage, category.id, region, 1, None, True, boards, size=100)
            seen[(category.slug, region)] = [(r.rank, r.participant_id, r.points) for r in found.rows]
    return seen


def next_round(session, settings, made, kind, position, now):
    stage = builders.stage(session, made["season"], position, kind, now, StageStatus.draft)
    tasks_ = {}
    files, _labels, _private = builders.practical_files()
    for category in (made["school"], made["adults"]):
        tasks_[category.slug] = service.add_practical_task(
            session, None, stage, category, title={"kk": "Т", "ru": "З"}, description={}, metric="accuracy",
            id_column="id", target_column="late", files=files, var_dir=settings.var_dir, classes=["yes", "no"])
    stage.status = StageStatus.open
    session.add(stage)
    session.commit()
    return stage, tasks_


@pytest.mark.services
def test_a_season_from_qualifier_to_diplomas(session, settings):
    url = redis_or_skip()
    redis = redis_client.Redis.from_url(url)
    redis.flushdb()
    boards = leaderboard.RedisBoards(redis)
    tasks.boards = boards  # production leaderboards, updated after each commit
    rng = random.Random(2026)
    now = utcnow()
    try:
        made = builders.season(session, settings.var_dir, now)
        organiser = builders.person(session, "chief", role="organiser")
        people = []
        for n in range(50):
            school = n % 2 == 0
            user = builders.person(session, f"p{n:02d}", category="school_student" if school else "adult",
                                   grade=6 if school else None, region=REGIONS[n % 3])
            people.append((user, service.register(session, user, made["season"], "grades-5-8" if school else "adults")))
        session.commit()
        qualifier = made["qualifier"]
        take_part(session, settings, made, qualifier, people[:25], rng, made["practical"], made["quiz"])
        redis.flushdb()  # Redis lost everything in the middle of the stage
        take_part(session, settings, made, qualifier, people[25:], rng, made["practical"], made["quiz"])
        live = boards_of(session, qualifier, made, boards)
        assert sum(len(rows) for (c, r), rows in live.items() if r == "*") == 50
        redis.flushdb()
        assert boards_of(session, qualifier, made, boards) == live  # rebuilt from the database, identical
        assert boards_of(session, qualifier, made, None) == live  # and the SQL fallback agrees
        assert session.exec(select(func.count()).select_from(EntryScore)).one() == \
            session.exec(select(func.count()).select_from(service.Entry)).one()  # each entry scored once

        for target in (StageStatus.closed, StageStatus.locked):
            service.move(session, qualifier, target, organiser)
        regional, regional_tasks = next_round(session, settings, made, StageKind.regional, 2, now)
        assert service.advance(session, organiser, qualifier) == 12  # top 2 in each of 3 regions x 2 categories
        assert service.advance(session, organiser, qualifier) == 0  # again: nobody twice
        session.commit()
        admitted = {a.participant_id for a in session.exec(select(Advancement).where(Advancement.stage_id == regional.id))}
        for category in (made["school"], made["adults"]):
            for region in REGIONS:
                top = [s.participant_id for s in session.exec(service.final_order(session, qualifier, category.id, region))][:2]
                assert set(top) <= admitted

        finalists = [(u, p) for u, p in people if p.id in admitted]
        outsider = next((u, p) for u, p in people if p.id not in admitted)
        with pytest.raises(service.NotEligible):
            service.send_entry(session, outsider[0], regional_tasks["adults" if outsider[1].category_id == made["adults"].id
                                                                  else "grades-5-8"], "p.csv", b"", settings.var_dir)
        session.rollback()
        regional.advance_top = 1
        session.add(regional)
        for user, participant in finalists:
            slug = "grades-5-8" if participant.category_id == made["school"].id else "adults"
            sent = service.send_entry(session, user, regional_tasks[slug], "p.csv",
                                      builders.predictions(made["labels"], rng.random(), rng.randrange(10**6)),
                                      settings.var_dir)
            session.commit()
            tasks.score_now(settings, sent.entry.id)
        for target in (StageStatus.closed, StageStatus.locked):
            service.move(session, regional, target, organiser)
        final, final_tasks = next_round(session, settings, made, StageKind.final, 3, now)
        assert service.advance(session, organiser, regional) == 6  # the best of each region and category
        session.commit()
        for advancement in session.exec(select(Advancement).where(Advancement.stage_id == final.id)).all():
            participant = session.get(Participant, advancement.participant_id)
            user = session.get(builders.User, participant.user_id)
            slug = "grades-5-8" if participant.category_id == made["school"].id else "adults"
            sent = service.send_entry(session, user, final_tasks[slug], "p.csv",
                                      builders.predictions(made["labels"], rng.random(), rng.randrange(10**6)),
                                      settings.var_dir)
            session.commit()
            tasks.score_now(settings, sent.entry.id)
        for target in (StageStatus.closed, StageStatus.locked, StageStatus.published):
            service.move(session, final, target, organiser)
        session.commit()
        with pytest.raises(service.ResultsLocked):
            service.start_rescore(session, organiser, final_tasks["adults"])
        awards = service.awards(session, final)
        assert len(awards) == 6 and sorted(a[1] for a in awards).count("winner") == 2  # one per category
        from gennation.certificates import service as certificates
        batch = certificates.start_diploma_batch(session, stage_id=final.id, stage_title=final.title,
                                                 season_title=made["season"].title, awards=awards, by=organiser)
        session.commit()
        from gennation.certificates.tasks import run_batch_in
        from gennation.platform.database import Database
        run_batch_in(Database(settings.database_url, 1), settings, batch.id)  # what the certificates worker runs
        session.expire_all()
        diplomas = session.exec(select(Certificate).where(Certificate.kind == "tournament")).all()
        assert sorted(d.award for d in diplomas) == sorted(a[1] for a in awards)
        assert {d.user_id for d in diplomas} == {a[0] for a in awards}
        assert session.get(type(batch), batch.id).total == 6
        published = leaderboard.board(session, final, made["school"].id, "*", 1, None, False, boards)
        assert published.column == "private" and published.total == 3
        standing = session.exec(select(Standing).where(Standing.stage_id == final.id)).first()
        assert standing is not None
    finally:
        tasks.boards = None
