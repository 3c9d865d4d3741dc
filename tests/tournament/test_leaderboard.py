"""Leaderboards: the SQL standings and the Redis sorted sets give the same pages and ranks, Redis is
rebuilt exactly after a flush, ties go to whoever reached the points first, and freezing hides moves."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest
import redis as redis_client
from sqlmodel import select

from gennation.platform.database import utcnow
from gennation.tournament import leaderboard, service
from gennation.tournament.models import Participant, StageStatus, Standing
from tests.conftest import redis_or_skip
from tests.tournament import builders

REGIONS = ("shymkent", "turkistan", "abai")


def fill(session, made, n: int = 60, seed: int = 3) -> list[Participant]:
    """n participants in grades 5-8 with standings written directly (points with many ties)."""
    rng = random.Random(seed)
    start = utcnow().replace(microsecond=0)
    people = []
    for i in range(n):
        user = builders.person(session, f"lb{i}", grade=7, region=REGIONS[i % 3])
        participant = service.register(session, user, made["season"], "grades-5-8")
        points = float(rng.choice([40, 55.5, 70, 70, 85]))
        session.add(Standing(stage_id=made["qualifier"].id, participant_id=participant.id, category_id=made["school"].id,
                             region=participant.region, public_points=points, private_points=points - rng.random(),
                             frozen_points=points, reached_at=start + timedelta(seconds=rng.choice([0, 5, 9])),
                             frozen_reached_at=start))
        people.append(participant)
    session.flush()
    return people


def sql_board(session, stage, category_id, region="*", column="public"):
    return [pid for pid, _ in leaderboard.sql_slice(session, stage.id, category_id, region, column, 0, 1000)]


def expected_order(session, stage, category_id, region="*"):
    rows = [s for s in session.exec(select(Standing).where(Standing.stage_id == stage.id)) if
            region == "*" or s.region == region]
    rows.sort(key=lambda s: (-s.public_points, service.as_utc(s.reached_at), -s.participant_id))
    return [s.participant_id for s in rows]


def test_sql_order_is_points_then_time_then_the_later_registration(session, settings):
    made = builders.season(session, settings.var_dir)
    fill(session, made)
    stage, category = made["qualifier"], made["school"].id
    assert sql_board(session, stage, category) == expected_order(session, stage, category)
    order = expected_order(session, stage, category, "abai")
    assert sql_board(session, stage, category, "abai") == order
    for place, pid in enumerate(order, start=1):
        assert leaderboard.sql_rank(session, stage.id, category, "abai", "public", pid) == place


@pytest.mark.services
def test_redis_boards_match_sql_and_are_rebuilt_after_a_flush(session, settings):
    url = redis_or_skip()
    client = redis_client.Redis.from_url(url)
    client.flushdb()
    boards = leaderboard.RedisBoards(client)
    made = builders.season(session, settings.var_dir)
    people = fill(session, made)
    stage, category = made["qualifier"], made["school"].id

    def snapshot():
        pages = {}
        for region in ("*", *REGIONS):
            found = leaderboard.board(session, stage, category, region, 1, None, True, boards, size=1000)
            assert found.source == "redis"
            pages[region] = [r.participant_id for r in found.rows]
        ranks = {p.id: boards.rank(stage.id, category, "*", "public", p.id) for p in people}
        return pages, ranks

    before = snapshot()
    for region in ("*", *REGIONS):
        assert before[0][region] == sql_board(session, stage, category, region)
    for p in people:
        assert before[1][p.id] == leaderboard.sql_rank(session, stage.id, category, "*", "public", p.id)
    client.flushdb()  # Redis lost everything mid-stage
    assert snapshot() == before


@pytest.mark.services
def test_a_new_score_moves_the_redis_board_after_commit(app, client, session, settings, small_season, pupil):
    url = redis_or_skip()
    from gennation.tournament import tasks
    redis = redis_client.Redis.from_url(url)
    redis.flushdb()
    tasks.boards = leaderboard.RedisBoards(redis)
    try:
        tid = small_season["practical"]["grades-5-8"].public_id
        files = {"file": ("p.csv", builders.predictions(small_season["labels"], 1.0), "text/csv")}
        assert client.post(f"/api/v1/tournament/tasks/{tid}/entries", files=files, headers=pupil).status_code == 202
        board = client.get(f"/api/v1/tournament/stages/{small_season['qualifier'].id}/leaderboard", headers=pupil).json()
        assert board["total"] == 1 and board["me"]["rank"] == 1 and board["me"]["points"] == 100.0
        key = leaderboard.RedisBoards.key(small_season["qualifier"].id, small_season["school"].id, "*", "public")
        assert redis.zcard(key) == 1
    finally:
        tasks.boards = None


def test_a_frozen_board_stays_as_it_was_for_participants(session, settings):
    made = builders.season(session, settings.var_dir)
    people = fill(session, made, n=6)
    stage, category = made["qualifier"], made["school"].id
    organiser = builders.person(session, "org", role="organiser")
    service.move(session, stage, StageStatus.frozen, organiser)
    session.expire_all()
    last = people[-1]
    standing = session.exec(select(Standing).where(Standing.participant_id == last.id)).one()
    standing.public_points = 1000.0
    session.add(standing)
    session.flush()
    seen = leaderboard.board(session, stage, category, participant_id=last.id, organiser=False)
    live = leaderboard.board(session, stage, category, participant_id=last.id, organiser=True)
    assert seen.column == "frozen" and seen.me.points != 1000.0
    assert live.column == "public" and live.me.rank == 1


def test_a_disqualified_participant_leaves_the_board(session, settings):
    made = builders.season(session, settings.var_dir)
    people = fill(session, made, n=5)
    organiser = builders.person(session, "org", role="organiser")
    service.disqualify(session, organiser, people[0], "two accounts")
    ids = sql_board(session, made["qualifier"], made["school"].id)
    assert people[0].id not in ids and len(ids) == 4


def test_a_participants_page_from_redis_is_the_page_from_sql(session, settings):
    """Rows, names, regions, points, my place, my neighbours and the paging: the same from both sources."""
    client = redis_client.Redis.from_url(redis_or_skip())
    client.flushdb()
    boards = leaderboard.RedisBoards(client)
    made = builders.season(session, settings.var_dir)
    people = fill(session, made)
    stage, category = made["qualifier"], made["school"].id
    for person in people[::3]:
        for page in (1, 2, 99):
            shown = {}
            for source, redis_boards in (("redis", boards), ("sql", None)):
                found = leaderboard.board(session, stage, category, "*", page, person.id, False, redis_boards, size=4)
                assert found.source == source
                shown[source] = (found.rows, found.me, found.neighbours, found.total, found.pages, found.page)
            assert shown["redis"] == shown["sql"], (person.id, page)
            assert all(r.name for r in shown["redis"][0] + shown["redis"][2])


def test_a_score_that_arrives_while_the_boards_are_rebuilt_is_not_lost(session, settings, monkeypatch):
    client = redis_client.Redis.from_url(redis_or_skip())
    client.flushdb()
    boards = leaderboard.RedisBoards(client)
    made = builders.season(session, settings.var_dir)
    people = fill(session, made)
    session.commit()
    stage, category, late = made["qualifier"], made["school"].id, people[7]
    read = leaderboard.sql_members

    def read_then_a_worker_scores(session_, stage_id, column):
        rows = list(read(session_, stage_id, column))  # the rebuild has read SQL ...
        standing = session.exec(select(Standing).where(Standing.participant_id == late.id)).one()
        standing.public_points = 99.0  # ... and then a worker commits a new best and puts it
        session.add(standing)
        session.commit()
        boards.put(standing)
        return rows

    monkeypatch.setattr(leaderboard, "sql_members", read_then_a_worker_scores)
    boards.rebuild(session, stage.id, "public")
    monkeypatch.setattr(leaderboard, "sql_members", read)
    assert boards.rank(stage.id, category, "*", "public", late.id) == 1  # the 99 points survived the swap
    assert [r.participant_id for r in leaderboard.board(session, stage, category, "*", 1, None, False, boards,
                                                        size=1000).rows] == sql_board(session, stage, category)


def test_only_one_process_rebuilds_and_the_others_read_sql_meanwhile(session, settings):
    client = redis_client.Redis.from_url(redis_or_skip())
    client.flushdb()
    boards = leaderboard.RedisBoards(client)
    made = builders.season(session, settings.var_dir)
    fill(session, made)
    stage, category = made["qualifier"], made["school"].id
    client.set(f"{boards.built_key(stage.id, 'public')}:lock", "someone-else", ex=60)
    with pytest.raises(leaderboard.Rebuilding):
        boards.rebuild(session, stage.id, "public")
    page = leaderboard.board(session, stage, category, "*", 1, None, False, boards, size=1000)
    assert page.source == "sql" and [r.participant_id for r in page.rows] == sql_board(session, stage, category)
    client.delete(f"{boards.built_key(stage.id, 'public')}:lock")
    assert leaderboard.board(session, stage, category, "*", 1, None, False, boards, size=1000).source == "redis"
