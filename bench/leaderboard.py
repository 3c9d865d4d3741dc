"""Tournament leaderboards at national size: Redis sorted sets against the SQL fallback, on PostgreSQL.

In a database of its own, loads N participants (default 1,000,000) of one stage spread over 5 categories
and the 20 regions, with materialised standings (bulk COPY, then ANALYZE), builds the production boards
in Redis from them, and times, for random participants:
- "my rank" in Redis (ZREVRANK on the national board of the participant's category);
- the top-100 page as a participant sees it (top 100 + my rank and neighbours + names), through Redis;
- "my rank" from SQL (the materialised standings and their index), the fallback when Redis is down;
then scores entries of the sample "late bus" task (1,000 test rows) with one worker's code, against the
bare scikit-learn metric on the same files in the same run. Everything is measured first at N/10
participants and again at N, so the growth can be read (log N would be about 1.2x).

Last line: RESULT n=... rank_p99_ms=... top_p99_ms=... sql_rank_p99_ms=... scored_per_s=...
Usage: python bench/leaderboard.py [--n 1000000] [--url postgresql://postgres@127.0.0.1:5432/bench_leaderboard]
       [--redis redis://127.0.0.1:6379/13]
"""
from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis as redis_client
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gradebook import fresh_database  # noqa: E402 - the same helpers, one place
from indicators import copy_rows  # noqa: E402

CATEGORIES = ("grades-5-8", "grades-9-11", "tvet", "university", "adults")
SAMPLES = 2_000
ENTRIES = 300


def p99_ms(times: list[float]) -> float:
    return statistics.quantiles(times, n=100)[-1] * 1000


def setup(db):
    from gennation.tournament.models import Category, Season, Stage, StageKind, StageStatus
    now = datetime.now(UTC)
    with db.unit_of_work() as session:
        season = Season(slug="bench", title={"kk": "Бенч", "ru": "Бенч"})
        session.add(season)
        session.flush()
        categories = [Category(season_id=season.id, slug=slug, title={"kk": slug, "ru": slug}, admits=["adult"])
                      for slug in CATEGORIES]
        session.add_all(categories)
        stage = Stage(season_id=season.id, position=1, kind=StageKind.qualifier, title={"kk": "І", "ru": "О"},
                      opens_at=now - timedelta(days=10), closes_at=now + timedelta(days=10), status=StageStatus.open)
        session.add(stage)
        session.flush()
        return season.id, [c.id for c in categories], stage.id


def load(db, first: int, last: int, season_id: int, category_ids: list[int], stage_id: int, rng: random.Random) -> None:
    """Participants first..last (ids equal to their user ids), each with a standing in the stage."""
    from gennation.platform.accounts.models import REGIONS
    start = datetime(2026, 11, 1, tzinfo=UTC)
    people = []
    for n in range(first, last + 1):
        # Points as a real board has them: many ties at round values, most people in the middle.
        points = round(min(200.0, max(0.0, rng.gauss(110, 35))), rng.choice([0, 1, 2]))
        people.append((n, REGIONS[rng.randrange(20)], category_ids[n % 5], points, start + timedelta(seconds=rng.randrange(3_000_000))))
    copy_rows(db.engine, "user", ("id", "username", "username_skeleton", "password_hash", "display_name", "role", "region",
                                  "category", "language", "created_at"),
              ((n, f"u{n}", f"u{n}", "-", f"Қатысушы {n}", "learner", region, "adult", "kk", start)
               for n, region, _c, _p, _t in people))
    copy_rows(db.engine, "participant", ("id", "season_id", "user_id", "category_id", "region", "registered_at", "registered_from"),
              ((n, season_id, n, category, region, start, "") for n, region, category, _p, _t in people))
    copy_rows(db.engine, "standing", ("stage_id", "participant_id", "category_id", "region", "public_points", "private_points",
                                      "frozen_points", "reached_at", "frozen_reached_at", "tasks", "excluded"),
              ((stage_id, n, category, region, points, points, points, at.replace(microsecond=0), at.replace(microsecond=0), "{}", False)
               for n, region, category, points, at in people))
    with db.engine.begin() as conn:
        for table in ("user", "participant"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), {last})"))
    # VACUUM as autovacuum would after a bulk load: the visibility map lets counts read the index alone.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE standing"))
        conn.execute(text("ANALYZE"))


def measure(db, boards, stage_id: int, category_ids: list[int], n: int, rng: random.Random) -> dict:
    from gennation.tournament import leaderboard, service
    from gennation.tournament.models import Participant
    with db.unit_of_work() as session:
        stage = service.stage(session, stage_id)
        started = time.perf_counter()
        boards.rebuild(session, stage_id, "public")
        rebuild_s = time.perf_counter() - started
        picks = [rng.randint(1, n) for _ in range(SAMPLES)]
        category_of = dict(session.exec(service.select(Participant.id, Participant.category_id)
                                        .where(service.col(Participant.id).in_(picks))).all())
        rank, top, sql = [], [], []
        for pid in picks:
            category = category_of[pid]
            t = time.perf_counter()
            found = boards.rank(stage_id, category, leaderboard.NATIONAL, "public", pid)
            rank.append(time.perf_counter() - t)
            assert found is not None
        for pid in picks[:SAMPLES // 2]:
            t = time.perf_counter()
            page = leaderboard.board(session, stage, category_of[pid], leaderboard.NATIONAL, 1, pid, False, boards, size=100)
            top.append(time.perf_counter() - t)
            assert page.source == "redis" and len(page.rows) == 100 and page.me is not None
        checked = 0
        for pid in picks[:SAMPLES // 2]:
            t = time.perf_counter()
            at = leaderboard.sql_rank(session, stage_id, category_of[pid], leaderboard.NATIONAL, "public", pid)
            sql.append(time.perf_counter() - t)
            if checked < 50:  # the two must agree, or the numbers mean nothing
                assert at == boards.rank(stage_id, category_of[pid], leaderboard.NATIONAL, "public", pid), pid
                checked += 1
    return {"rank": p99_ms(rank), "top": p99_ms(top), "sql": p99_ms(sql), "rebuild_s": rebuild_s}


def scoring(db, var_dir: Path, season_id: int, category_ids: list[int], stage_id: int) -> tuple[float, float]:
    """Entries scored per second by one worker (store -> score -> standing), and the bare metric's rate."""
    from sklearn.metrics import accuracy_score

    from gennation.platform.settings import Settings
    from gennation.tournament import sample_season, scoring as scorer, service, tasks
    from gennation.tournament.models import Category, Participant, Stage, StageStatus, Task
    from gennation.tournament.samples import practical
    sample = next(t for t in practical.build_all() if t.slug == "late-bus")
    settings = Settings(database_url=db.engine.url.render_as_string(hide_password=False), var_dir=var_dir)
    rng = random.Random(5)
    files = []
    for n in range(ENTRIES):
        lines = [f"{sample.id_column},{sample.target_column}"]
        lines += [f"{i},{v if rng.random() < 0.8 else rng.choice(sample.classes)}" for i, v in sample.labels.items()]
        files.append(("\n".join(lines) + "\n").encode())
    with db.unit_of_work() as session:
        stage = session.get(Stage, stage_id)
        stage.status = StageStatus.draft
        category = session.get(Category, category_ids[0])
        task = service.add_practical_task(
            session, None, stage, category, title=sample.title, description=sample.description, metric=sample.metric,
            id_column=sample.id_column, target_column=sample.target_column, var_dir=var_dir, classes=sample.classes,
            files=service.TaskFiles(sample.train_csv.encode(), sample.test_csv.encode(), sample_season._labels_csv(sample)))
        stage.status = StageStatus.open
        task_id = task.id
    entry_ids = []
    with db.unit_of_work() as session:
        task = session.get(Task, task_id)
        people = session.exec(service.select(Participant).where(Participant.category_id == category_ids[0])
                              .order_by(Participant.id).limit(ENTRIES)).all()
        for data, participant in zip(files, people):
            user = session.get(service.User, participant.user_id)
            entry_ids.append(service.send_entry(session, user, task, "p.csv", data, var_dir).entry.id)
    started = time.perf_counter()
    for entry_id in entry_ids:
        assert tasks.score_now(settings, entry_id) == "scored"
    worker = len(entry_ids) / (time.perf_counter() - started)
    truth = [sample.labels[i] for i in sample.labels]
    started = time.perf_counter()
    for data in files:
        checked = scorer.check_predictions(data, scorer.Spec(sample.id_column, sample.target_column, list(sample.labels),
                                                              sample.classes))
        accuracy_score(truth, [checked.predictions[i] for i in sample.labels])
    bare = len(files) / (time.perf_counter() - started)
    return worker, bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/bench_leaderboard")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    from gennation.platform.database import Database
    from gennation.platform.db_migrations import upgrade
    from gennation.tournament import leaderboard

    url = fresh_database(args.url)
    upgrade(url)
    db = Database(url, 4)
    redis = redis_client.Redis.from_url(args.redis)
    redis.flushdb()
    boards = leaderboard.RedisBoards(redis)
    rng = random.Random(2026)
    season_id, category_ids, stage_id = setup(db)
    small = args.n // 10
    started = time.perf_counter()
    load(db, 1, small, season_id, category_ids, stage_id, rng)
    at_small = measure(db, boards, stage_id, category_ids, small, rng)
    load(db, small + 1, args.n, season_id, category_ids, stage_id, rng)
    load_s = time.perf_counter() - started
    at_n = measure(db, boards, stage_id, category_ids, args.n, rng)
    with tempfile.TemporaryDirectory() as var_dir:
        worker, bare = scoring(db, Path(var_dir), season_id, category_ids, stage_id)
    redis.flushdb()
    db.dispose()
    for label, found, count in (("N/10", at_small, small), ("N", at_n, args.n)):
        print(f"{label:>5} = {count:>9,} participants: rank p99 {found['rank']:.2f} ms, top-100 page p99 {found['top']:.2f} ms, "
              f"SQL rank p99 {found['sql']:.2f} ms, Redis rebuilt from SQL in {found['rebuild_s']:.1f} s")
    print(f"loaded in {load_s:.0f} s; growth N/10 -> N: rank x{at_n['rank'] / at_small['rank']:.2f}, "
          f"top x{at_n['top'] / at_small['top']:.2f}, SQL rank x{at_n['sql'] / at_small['sql']:.2f}")
    print(f"scoring: {worker:.1f} entries/s by one worker (store, check, metric, standing) against "
          f"{bare:.1f}/s for the bare check and metric")
    print(f"RESULT n={args.n} rank_p99_ms={at_n['rank']:.2f} top_p99_ms={at_n['top']:.2f} "
          f"sql_rank_p99_ms={at_n['sql']:.2f} scored_per_s={worker:.1f} rank_p99_ms_n10={at_small['rank']:.2f} "
          f"top_p99_ms_n10={at_small['top']:.2f} sql_rank_p99_ms_n10={at_small['sql']:.2f} bare_score_per_s={bare:.1f}")


if __name__ == "__main__":
    main()
