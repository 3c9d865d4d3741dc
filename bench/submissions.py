"""A burst of entries in the last minute of a stage, on PostgreSQL, with real scoring workers.

Starts the platform (`gennation serve`, 2 processes) and 2 Celery workers on the `scoring` queue, all on a
database of their own and Redis, with one stage that closes a minute from now. 500 participants then send
4 predictions files each (2,000 entries) over 16 connections as fast as the server takes them: 10 % of
the participants send one malformed file (refused at once, not counted), and the daily limit is 3, so
each valid fourth file is refused by the limit. Afterwards it waits for the queue to empty and checks
every answer against what it should have been, and that nothing is left unscored.

Last line: RESULT entries=... accepted=... refused=... stuck=... backlog_s=...
Usage: python bench/submissions.py [--url postgresql://postgres@127.0.0.1:5432/bench_submissions]
       [--redis redis://127.0.0.1:6379/12]
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import redis as redis_client

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gradebook import ROOT, fresh_database  # noqa: E402

sys.path.insert(0, str(ROOT))  # tests.tournament.builders makes the participants

PARTICIPANTS, PER_PERSON, DAILY_LIMIT, CLIENTS = 500, 4, 3, 16
PORT = 8791
BIN = Path(sys.executable).parent


def setup(url: str, var_dir: Path, closes_in: int):
    from gennation.platform.accounts.models import SignInKind
    from gennation.platform.accounts.service import start_sign_in
    from gennation.platform.database import Database
    from gennation.tournament import sample_season, service
    from gennation.tournament.models import Category, Season, Stage, StageKind, StageStatus
    from gennation.tournament.samples import practical
    from tests.tournament.builders import person

    sample = next(t for t in practical.build_all() if t.slug == "late-bus")
    now = datetime.now(UTC)
    db = Database(url, 2)
    with db.unit_of_work() as session:
        season = Season(slug="burst", title={"kk": "Бенч", "ru": "Бенч"})
        session.add(season)
        session.flush()
        category = Category(season_id=season.id, slug="adults", title={"kk": "Ересектер", "ru": "Взрослые"}, admits=["adult"])
        stage = Stage(season_id=season.id, position=1, kind=StageKind.qualifier, title={"kk": "І", "ru": "О"},
                      opens_at=now - timedelta(days=1), closes_at=now + timedelta(seconds=closes_in))
        session.add_all([category, stage])
        session.flush()
        task = service.add_practical_task(
            session, None, stage, category, title=sample.title, description=sample.description, metric=sample.metric,
            id_column=sample.id_column, target_column=sample.target_column, var_dir=var_dir, classes=sample.classes,
            daily_limit=DAILY_LIMIT, files=service.TaskFiles(sample.train_csv.encode(), sample.test_csv.encode(),
                                                             sample_season._labels_csv(sample)))
        stage.status = StageStatus.open
        tokens = []
        for n in range(PARTICIPANTS):
            user = person(session, f"burst{n}", category="adult", grade=None, region="astana")
            service.register(session, user, season, "adults")
            tokens.append(start_sign_in(session, user, SignInKind.api, 3600))
        public_id, closes_at = task.public_id, stage.closes_at
    db.dispose()
    return sample, public_id, tokens, closes_at


def files_for(sample, rng: random.Random) -> list[list[tuple[bytes, bool]]]:
    """Each participant's 4 files, (bytes, well-formed); 10 % of the participants spoil one."""
    out = []
    for n in range(PARTICIPANTS):
        mine = []
        spoiled = rng.randrange(PER_PERSON) if n % 10 == 0 else None
        for k in range(PER_PERSON):
            lines = [f"{sample.id_column},{sample.target_column}"]
            lines += [f"{i},{v if rng.random() < 0.75 else rng.choice(sample.classes)}" for i, v in sample.labels.items()]
            if k == spoiled:
                lines[5] = lines[5].split(",")[0] + ",maybe"
            mine.append((("\n".join(lines) + "\n").encode(), k != spoiled))
        out.append(mine)
    return out


def start(env: dict, var_dir: Path) -> list[subprocess.Popen]:
    log = open(var_dir / "processes.log", "w")
    processes = [subprocess.Popen([str(BIN / "gennation"), "serve", "--port", str(PORT), "--workers", "2"],
                                  env=env, stdout=log, stderr=subprocess.STDOUT)]
    for n in range(2):
        processes.append(subprocess.Popen(
            [str(BIN / "celery"), "-A", "gennation.platform.worker", "worker", "-Q", "scoring", "-c", "1",
             "--pool", "solo", "-n", f"scorer{n}@%h", "--loglevel", "WARNING"], env=env, stdout=log, stderr=subprocess.STDOUT))
    for _ in range(120):
        try:
            if httpx.get(f"http://127.0.0.1:{PORT}/api/v1/healthz/live", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    return processes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/bench_submissions")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    args = parser.parse_args()
    from gennation.platform.db_migrations import upgrade
    url = fresh_database(args.url)
    upgrade(url)
    redis_client.Redis.from_url(args.redis).flushdb()
    with tempfile.TemporaryDirectory() as folder:
        var_dir = Path(folder)
        # The stage closes 75 s after set-up: the burst (started once the server is up) is its last minute.
        sample, task, tokens, closes_at = setup(url, var_dir, 75)
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": args.redis, "VAR_DIR": str(var_dir),
               "SECRET_KEY": "bench-" + "x" * 40, "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
        processes = start(env, var_dir)
        try:
            plan = files_for(sample, random.Random(7))
            answers: list[tuple[int, int, bool, int, float, str]] = []
            lock = threading.Lock()

            def participant(n: int) -> None:
                with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=60,
                                  headers={"Authorization": f"Bearer {tokens[n]}"}) as client:
                    for k, (data, good) in enumerate(plan[n]):
                        response = client.post(f"/api/v1/tournament/tasks/{task}/entries",
                                               files={"file": ("p.csv", data, "text/csv")})
                        body = response.json()
                        with lock:
                            answers.append((n, k, good, response.status_code, time.time(), body.get("id", "")))

            started = time.time()
            with ThreadPoolExecutor(CLIENTS) as pool:
                list(pool.map(participant, range(PARTICIPANTS)))
            burst_s = time.time() - started
            last_accepted = max(t for *_rest, status, t, _id in answers if status == 202)
            # Wait for the workers to empty the queue (a stuck entry would keep it from emptying).
            from gennation.platform.database import Database
            from gennation.tournament.models import Entry, EntryScore, EntryStatus
            from sqlmodel import func, select
            db = Database(url, 2)
            deadline = time.time() + 600
            while time.time() < deadline:
                with db.unit_of_work() as session:
                    waiting = session.exec(select(func.count()).select_from(Entry).where(
                        Entry.status.in_([EntryStatus.queued, EntryStatus.scoring]))).one()
                if waiting == 0:
                    break
                time.sleep(0.5)
            backlog_s = max(0.0, time.time() - last_accepted)
            with db.unit_of_work() as session:
                stuck = session.exec(select(func.count()).select_from(Entry).where(
                    Entry.status.in_([EntryStatus.queued, EntryStatus.scoring, EntryStatus.failed]))).one()
                scored = session.exec(select(func.count()).select_from(Entry).where(Entry.status == EntryStatus.scored)).one()
                scores = session.exec(select(func.count()).select_from(EntryScore)).one()
            db.dispose()
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(timeout=30)
    # Every answer checked: a malformed file 422, the 4th valid file of a person 429, after the close 409.
    closes = closes_at.timestamp()
    wrong, valid_seen = 0, {}
    for n, k, good, status, at, _id in sorted(answers, key=lambda a: (a[0], a[1])):
        if status == 409:
            wrong += at < closes - 1  # refused as closed, though it came before the close
            continue
        if not good:
            wrong += status != 422
            continue
        valid_seen[n] = valid_seen.get(n, 0) + 1
        wrong += status != (202 if valid_seen[n] <= DAILY_LIMIT else 429)
    accepted = sum(1 for a in answers if a[3] == 202)
    refused = len(answers) - accepted
    codes = {}
    for a in answers:
        codes[a[3]] = codes.get(a[3], 0) + 1
    print(f"{len(answers)} entries in {burst_s:.1f} s ({len(answers) / burst_s:.0f}/s) over {CLIENTS} connections; answers "
          + ", ".join(f"{code}: {count}" for code, count in sorted(codes.items())))
    print(f"scored {scored} (scores stored {scores}), wrongly answered {wrong}, queue empty {backlog_s:.1f} s after the last "
          f"accepted entry (2 workers)")
    assert wrong == 0 and scores == scored == accepted, (wrong, scores, scored, accepted)
    print(f"RESULT entries={len(answers)} accepted={accepted} refused={refused} stuck={stuck} backlog_s={backlog_s:.1f}")


if __name__ == "__main__":
    main()
