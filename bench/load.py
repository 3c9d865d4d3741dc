"""The whole platform under a realistic crowd: the production stack, then the embedded default.

Runs locust headless (bench/load_users.py, locust as a library in a child process: one process, gevent,
FastHttpUser) against
- the production stack, started by `make stack` (deploy/Procfile behind nginx, Celery workers per queue, on
  PostgreSQL and Redis) with this bench's own DATABASE_URL, REDIS_URL, STACK_PORT, STACK_DIR and VAR_DIR, and
  stopped by `make stack-stop` (or an already running server given with --url);
- the embedded default as `make run` serves it (`gennation serve`, one process, SQLite, tasks and the tutor's
  model in-process), on a free port with its own data directory;
each with the same mix of people for the same time once every user has arrived:
  learners 60 % (catalogue, course and lesson pages, "I have read this lesson", module quizzes),
  tutor askers 5 % (a lesson page, then a question answered on the stream: the wait is the time from
  sending the question to the first model sentence, or to the final answer when it has none),
  tournament participants 20 % (stage page and leaderboard refreshes, the task page, predictions files),
  teachers 5 % (their classes, the gradebook, its CSV), the public 10 % (certificate verification from the
  QR code, by code, and through the API),
all but the public signed in through the login form. The people are made first, through the platform's
models and services, in the target's own database (users with one password hash, classes with
assignments and some reading done, a season with an open qualifier whose leaderboard holds a few thousand
people, certificates). Each simulated person comes from an address of their own (X-Forwarded-For, from
the trusted proxy), as people across the country do: the per-address sign-in limits are not what is measured.

Page views are every request but the tutor's and static files; errors are answers other than 2xx/3xx,
deliberate 429s (limits) excepted, which are counted and printed apart.
Last line: RESULT users=... rps=... p50_ms=... p99_ms=... errors=... tutor_wait_p95_ms=... embedded_rps=...
embedded_p99_ms=... embedded_errors=...
Goal on 2 cores: 200 users on the stack, zero errors, page p99 under 300 ms.

Usage: python bench/load.py [--users 200] [--spawn-rate 10] [--duration 60] [--target stack|embedded|both]
       [--url http://127.0.0.1:8080] [--database-url postgresql://postgres@127.0.0.1:5432/bench_load]
       [--redis-url redis://127.0.0.1:6379/11]
With --url the bench seeds the database and data directory that server uses, read like the app reads them
(DATABASE_URL, VAR_DIR from the environment or .env) and starts nothing for the stack target.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
MODEL = ROOT / "var" / "models" / "qwen2.5-coder-0.5b-instruct-q4.gguf"
PASSWORD = "load bench password 7"
SCENARIOS = ("learner", "tutor", "participant", "teacher", "public")
LEADERBOARD_CROWD = 3000  # people already on the stage's board, besides the simulated participants
CERTIFICATES = 300
CLASS_SIZE = 28


def say(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the people

def seed(database_url: str, var_dir: Path, users: int) -> dict:
    """Accounts, classes, a tournament stage and certificates; returns what the simulated people need."""
    import yaml
    from sqlalchemy import insert, select

    from gennation.certificates import service as certificates
    from gennation.certificates.models import Certificate
    from gennation.courses.models import Enrollment, LessonProgress
    from gennation.courses.outline import catalogue
    from gennation.platform.accounts.models import REGIONS, Role, User
    from gennation.platform.database import Database, utcnow
    from gennation.platform.institutions import assignments, service as classes
    from gennation.platform.institutions.models import ClassMember
    from gennation.platform.security import hash_password
    from gennation.tournament import sample_season, service as tournament
    from gennation.tournament.models import Category, Participant, Season, Stage, StageKind, StageStatus, Standing
    from gennation.tournament.samples import practical

    rng = random.Random(14)
    tag = secrets.token_hex(3)  # a database kept between runs (--url) gets new names each time
    now = utcnow()
    hashed = hash_password(PASSWORD)
    pools = {"learner": users, "tutor": max(3, users // 4), "participant": users, "teacher": max(3, users // 4)}
    db = Database(database_url, 2)
    world: dict = {"password": PASSWORD, "accounts": {}}
    with db.unit_of_work() as session:
        known = catalogue(session)
        lessons = [(c.slug, lesson.slug) for c in known.courses for lesson in c.lessons]
        world["courses"] = [c.slug for c in known.courses]
        world["lessons"] = {c.slug: [lesson.slug for lesson in c.lessons] for c in known.courses}
        world["quizzes"] = [(c.slug, m.quiz.slug) for c in known.courses for m in c.modules if m.quiz]  # no final exams

        def person(name: str, n: int, role: Role, category: str, **more) -> dict:
            lang = "kk" if n % 5 < 3 else "ru"
            return {"username": name, "username_skeleton": name, "password_hash": hashed, "role": role,
                    "display_name": f"{'Оқушы' if lang == 'kk' else 'Ученик'} {n}", "region": REGIONS[n % len(REGIONS)],
                    "category": category, "language": lang, "created_at": now - timedelta(days=30), **more}

        rows = []
        for scenario, count in pools.items():
            names = [f"ld{tag}-{scenario[:3]}{n}" for n in range(count)]
            world["accounts"][scenario] = names
            for n, name in enumerate(names):
                if scenario == "teacher":
                    rows.append(person(name, n, Role.teacher, "adult", teacher_confirmed_at=now - timedelta(days=60)))
                elif scenario == "participant":
                    rows.append(person(name, n, Role.learner, "adult"))
                else:
                    rows.append(person(name, n, Role.learner, "school_student", school_grade=7 + n % 5))
        crowd = [f"ld{tag}-crowd{n}" for n in range(LEADERBOARD_CROWD)]
        rows += [person(name, n, Role.learner, "adult") for n, name in enumerate(crowd)]
        for start in range(0, len(rows), 2000):
            session.execute(insert(User), rows[start:start + 2000])
        ids = dict(session.execute(select(User.username, User.id).where(User.username.like(f"ld{tag}-%"))).all())
        learner_ids = [ids[name] for name in world["accounts"]["learner"] + world["accounts"]["tutor"]]

        # Some reading done already, so that gradebooks and "resume" have something to show.
        reads, enrolments = [], []
        for uid in learner_ids:
            for course in rng.sample(known.courses, 2):
                enrolments.append({"user_id": uid, "course_id": course.id, "enrolled_at": now - timedelta(days=25)})
                for lesson in course.lessons[:rng.randint(0, 6)]:
                    reads.append({"user_id": uid, "lesson_id": lesson.id, "seconds": rng.randint(120, 900),
                                  "read_at": now - timedelta(days=rng.randint(1, 20))})
        for model, batch in ((Enrollment, enrolments), (LessonProgress, reads)):
            for start in range(0, len(batch), 5000):
                session.execute(insert(model), batch[start:start + 5000])

        # Each teacher's class: learners of the pool, the first course's first modules and the course assigned.
        school = known.course("ai-basics-school") if any(c.slug == "ai-basics-school" for c in known.courses) \
            else known.courses[0]
        world["classes"] = {}
        members = []
        for n, name in enumerate(world["accounts"]["teacher"]):
            teacher = session.get(User, ids[name])
            classroom = classes.open_class(session, teacher, f"{7 + n % 5} «{'АӘБВГ'[n % 5]}»", language=teacher.language)
            for i, module in enumerate(school.modules[:3]):
                assignments.assign(session, teacher, classroom.id, school.slug, module=module.slug,  # one overdue
                                   due=now + timedelta(days=7 * i - 7), now=now - timedelta(days=20))
            assignments.assign(session, teacher, classroom.id, school.slug, due=now + timedelta(days=40),
                               now=now - timedelta(days=20))
            world["classes"][name] = classroom.id
            members += [{"classroom_id": classroom.id, "user_id": uid, "joined_at": now - timedelta(days=26)}
                        for uid in rng.sample(learner_ids, min(CLASS_SIZE, len(learner_ids)))]
        session.execute(insert(ClassMember), members)

        # The tournament: an open qualifier with the sample "late bus" task and a board of a few thousand.
        sample = next(t for t in practical.build_all() if t.slug == "late-bus")
        season = Season(slug=f"load-{tag}", title={"kk": "Жүктеме маусымы", "ru": "Нагрузочный сезон"})
        session.add(season)
        session.flush()
        category = Category(season_id=season.id, slug="adults", title={"kk": "Ересектер", "ru": "Взрослые"},
                            admits=["adult"])
        stage = Stage(season_id=season.id, position=1, kind=StageKind.qualifier, title={"kk": "Іріктеу", "ru": "Отбор"},
                      opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=7))
        session.add_all([category, stage])
        session.flush()
        task = tournament.add_practical_task(
            session, None, stage, category, title=sample.title, description=sample.description, metric=sample.metric,
            id_column=sample.id_column, target_column=sample.target_column, var_dir=var_dir, classes=sample.classes,
            daily_limit=20, files=tournament.TaskFiles(sample.train_csv.encode(), sample.test_csv.encode(),
                                                       sample_season._labels_csv(sample)))
        stage.status = StageStatus.open
        session.add(stage)
        for name in world["accounts"]["participant"]:
            tournament.register(session, session.get(User, ids[name]), season, "adults")
        session.execute(insert(Participant), [
            {"season_id": season.id, "user_id": ids[name], "category_id": category.id,
             "region": REGIONS[n % len(REGIONS)], "registered_at": now - timedelta(days=1), "registered_from": ""}
            for n, name in enumerate(crowd)])
        crowd_pids = session.execute(select(Participant.id, Participant.region).where(
            Participant.season_id == season.id, Participant.user_id.in_([ids[name] for name in crowd]))).all()
        standings = []
        for pid, region in crowd_pids:
            points = round(min(100.0, max(0.0, rng.gauss(62, 15))), 1)
            at = now - timedelta(seconds=rng.randrange(80_000))
            standings.append({"stage_id": stage.id, "participant_id": pid, "category_id": category.id, "region": region,
                              "public_points": points, "private_points": points, "frozen_points": points,
                              "reached_at": at, "frozen_reached_at": at, "tasks": {str(task.id): points},
                              "excluded": False})
        session.execute(insert(Standing), standings)
        files = []
        for right in (0.6, 0.7, 0.8, 0.9):
            lines = [f"{sample.id_column},{sample.target_column}"]
            lines += [f"{i},{v if rng.random() < right else rng.choice(sample.classes)}" for i, v in sample.labels.items()]
            files.append("\n".join(lines) + "\n")
        world["tournament"] = {"stage": stage.id, "task": task.public_id, "category": "adults", "files": files}

        # Certificates of some learners, to verify.
        world["certificates"] = []
        for n in range(CERTIFICATES):
            holder = session.get(User, rng.choice(learner_ids))
            course = rng.choice(known.courses)
            issued = certificates.issue(session, Certificate(
                source=f"load:{tag}:{n}", user_id=holder.id, holder_name=holder.display_name, course_slug=course.slug,
                title={"kk": course.title.get("kk", ""), "ru": course.title.get("ru", "")}, hours=course.hours or 8,
                score=90.0, issued_on=(now - timedelta(days=rng.randint(1, 200))).date(), language=holder.language,
                issuer=dict(certificates.ISSUER), public_id="", code=""))
            world["certificates"].append([issued.public_id, issued.code])
    db.dispose()

    cases = yaml.safe_load((ROOT / "tests" / "tutor" / "eval_set.yaml").read_text())["questions"]
    world["questions"] = [{"question": c["question"], "lang": c["lang"], "course": c["course"], "lesson": c["lesson"]}
                          for c in cases if c.get("course") and c.get("lesson") and c.get("expect", "answer") == "answer"
                          and (c["course"], c["lesson"]) in set(map(tuple, lessons))]
    return world


# ---------------------------------------------------------------- the servers

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, seconds: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server stopped at start (exit {process.returncode})")
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=3) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} not ready after {seconds:.0f} s")


def fresh_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text
    base, name = url.rsplit("/", 1)
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1) + "/postgres",
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def tree_cpu(pids: list[int]) -> float:
    """CPU seconds used so far by these processes and their children."""
    import psutil
    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for proc in [root, *root.children(recursive=True)]:
                try:
                    times = proc.cpu_times()
                    total += times.user + times.system
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
    return total


def postgres_backends(database_url: str) -> dict[int, float]:
    """CPU seconds so far of the PostgreSQL backends serving this database (psutil; the server may be shared)."""
    import psutil
    import psycopg
    try:
        with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=5) as conn:
            pids = [row[0] for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
    except psycopg.Error:
        return {}
    found = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            found[pid] = times.user + times.system
        except psutil.Error:
            pass
    return found


class Stack:
    """`make stack` with this bench's own database, Redis, port and directories; `make stack-stop` after."""

    name = "stack"

    def __init__(self, work: Path, database_url: str, redis_url: str):
        self.var_dir, self.stack_dir = work / "var", work / "stack"
        self.database_url = database_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "STACK_PORT": str(self.port),
                    "STACK_DIR": str(self.stack_dir), "VAR_DIR": str(self.var_dir), "SECRET_KEY": secrets.token_urlsafe(48),
                    "TUTOR_MODEL_PATH": os.environ.get("TUTOR_MODEL_PATH", str(MODEL)),
                    "PUBLIC_URL": f"http://127.0.0.1:{self.port}"}
        self.env.pop("WEB_PORT", None)
        self.redis_url = redis_url
        self.started = False
        self.note = ""

    def _make(self, target: str) -> list[str]:
        # `make stack` first brings the virtualenv up to date: if pyproject.toml changed meanwhile that means a
        # reinstall, which is not this bench's to do; then only the step make would run after it.
        planned = subprocess.run(["make", "-n", target], cwd=ROOT, env=self.env, capture_output=True, text=True).stdout
        if "pip install" in planned or "npm ci" in planned:
            self.note = f"(make {target} would reinstall packages first: ran deploy/stack.py directly)"
            return [str(BIN / "python"), "deploy/stack.py", "start" if target == "stack" else "stop"]
        return ["make", "--no-print-directory", target]

    def start(self) -> None:
        import redis
        fresh_postgres(self.database_url)
        redis.Redis.from_url(self.redis_url).flushdb()
        self.var_dir.mkdir(parents=True)
        self.started = True
        done = subprocess.run(self._make("stack"), cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=600)
        if done.returncode:
            raise RuntimeError(f"make stack failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        say(f"{done.stdout.strip().splitlines()[-1]} {self.note}")
        wait_ready(self.url, 60)

    def pids(self) -> dict[str, list[int]]:
        state = json.loads((self.stack_dir / "stack.json").read_text())
        return {name: [proc["pid"]] for name, proc in state["processes"].items()}

    def stop(self) -> None:
        if self.started:
            done = subprocess.run(self._make("stack-stop"), cwd=ROOT, env=self.env, capture_output=True, text=True,
                                  timeout=300)
            if done.returncode:
                print(f"make stack-stop failed:\n{done.stdout}\n{done.stderr}", file=sys.stderr)
            self.started = False


class Running:
    """A server someone else started (--url); seeded where that server keeps its data."""

    name = "stack"

    def __init__(self, url: str):
        from gennation.platform.settings import Settings
        settings = Settings()
        if not settings.database_url:  # else the bench would seed var/gennation.db, likely not that server's
            raise SystemExit("--url: set the server's DATABASE_URL (and VAR_DIR) in the environment or .env, "
                             "so that the bench makes its people where that server reads them")
        settings = settings.resolved()
        self.url, self.database_url, self.var_dir = url.rstrip("/"), settings.database_url, settings.var_dir

    def start(self) -> None:
        wait_ready(self.url, 10)

    def pids(self) -> dict[str, list[int]]:
        return {}

    def stop(self) -> None:
        pass


class Embedded:
    """`make run`'s steps: migrate, load the courses, `gennation serve` (one process, SQLite, no Redis)."""

    name = "embedded"

    def __init__(self, work: Path):
        self.var_dir = work / "var"
        self.database_url = f"sqlite:///{self.var_dir / 'gennation.db'}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # TRUSTED_PROXIES: the bench's X-Forwarded-For gives every simulated person an address of their own.
        self.env = {**os.environ, "VAR_DIR": str(self.var_dir), "DATABASE_URL": self.database_url, "REDIS_URL": "",
                    "TRUSTED_PROXIES": "127.0.0.1", "TUTOR_MODEL_PATH": os.environ.get("TUTOR_MODEL_PATH", str(MODEL)),
                    "PUBLIC_URL": self.url}
        for name in ("PROMETHEUS_MULTIPROC_DIR", "PORT"):
            self.env.pop(name, None)
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.var_dir.mkdir(parents=True)
        for step in (["db", "upgrade"], ["courses", "load"]):
            subprocess.run([str(BIN / "gennation"), *step], cwd=ROOT, env=self.env, check=True, capture_output=True)
        self.log = open(self.var_dir / "serve.log", "wb")
        self.process = subprocess.Popen([str(BIN / "gennation"), "serve", "--port", str(self.port)], cwd=ROOT,
                                        env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_ready(self.url, 120, self.process)

    def pids(self) -> dict[str, list[int]]:
        return {"serve": [self.process.pid]} if self.process else {}

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None


# ---------------------------------------------------------------- one run

def run(server, args, work: Path) -> dict:
    say(f"[{server.name}] starting...")
    started = time.perf_counter()
    server.start()
    say(f"[{server.name}] up at {server.url} in {time.perf_counter() - started:.0f} s; seeding...")
    started = time.perf_counter()
    world = seed(server.database_url, server.var_dir, args.users)
    say(f"[{server.name}] seeded in {time.perf_counter() - started:.0f} s; {args.users} users arriving at "
        f"{args.spawn_rate}/s, then {args.duration:.0f} s measured")
    world_file, out_file = work / f"world-{server.name}.json", work / f"out-{server.name}.json"
    world_file.write_text(json.dumps(world, ensure_ascii=False))
    pids = server.pids()
    before = {name: tree_cpu(p) for name, p in pids.items()}
    postgres = server.database_url.startswith("postgresql") and bool(pids)
    backends = postgres_backends(server.database_url) if postgres else {}
    wall = time.perf_counter()
    with open(work / f"locust-{server.name}.log", "w") as log:
        child = subprocess.run([sys.executable, str(BENCH / "load_users.py"), "--host", server.url, "--world", str(world_file),
                                "--out", str(out_file), "--users", str(args.users), "--spawn-rate", str(args.spawn_rate),
                                "--duration", str(args.duration)], env={**os.environ, "PYTHONPATH": str(BENCH)},
                               stdout=log, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - wall
    cpu = {name: tree_cpu(p) - before[name] for name, p in pids.items()}
    if postgres:  # backends opened during the run count whole, those from before only for their growth
        cpu["postgres"] = sum(seconds - backends.get(pid, 0.0) for pid, seconds in postgres_backends(server.database_url).items())
    if child.returncode or not out_file.exists():
        raise RuntimeError(f"locust failed (exit {child.returncode}):\n"
                           + (work / f"locust-{server.name}.log").read_text()[-4000:])
    result = json.loads(out_file.read_text())
    say(f"[{server.name}] load done in {wall:.0f} s; stopping")
    result["server_cpu"] = {name: seconds / wall for name, seconds in cpu.items()}
    return result


# ---------------------------------------------------------------- printing

def fmt(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def report(name: str, result: dict) -> None:
    pages, tutor = result["pages"], result["tutor"]
    print(f"\n== {name}: {result['users']} users ({', '.join(f'{k} {v}' for k, v in result['user_classes'].items())}), "
          f"{result['measured_s']:.0f} s measured after {result['spawn_s']:.0f} s of arrivals")
    print(f"generator: {result['generator']}; it used {result['generator_cpu']:.0%} of one core"
          + (" (over 90 %: the figures are the generator's limit, not the server's)" if result['generator_cpu'] > 0.9 else ""))
    if result.get("server_cpu"):
        print("server CPU (cores busy): " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(
            result["server_cpu"].items(), key=lambda kv: -kv[1])) + f"; total {sum(result['server_cpu'].values()):.2f} of 2")
    print(f"all requests {result['requests']} ({result['rps']:.1f}/s); page views {pages['count']}: p50 {fmt(pages['p50'])} ms, "
          f"p95 {fmt(pages['p95'])} ms, p99 {fmt(pages['p99'])} ms, max {fmt(pages['max'])} ms; errors {result['errors']}, "
          f"deliberate 429s {result['rate_limited']}" + (f", bench-side errors {result['bench_errors']}" if result['bench_errors'] else ""))
    print(f"tutor: {tutor['asked']} questions, {tutor['answered']} answered ({tutor['unfinished']} still waiting or "
          f"streaming at the end, not in the times" + (f"; the longest had waited {tutor['unfinished_waited']:.0f} ms with "
          f"no sentence yet" if tutor.get("unfinished_waited") else "") + "); wait to the first sentence p50 "
          f"{fmt(tutor['wait_p50'])} ms, p95 {fmt(tutor['wait_p95'])} ms; to the lesson's words p95 {fmt(tutor['passage_p95'])} ms; "
          f"whole answer p95 {fmt(tutor['final_p95'])} ms; {tutor['no_sentence']} answers without a model sentence, "
          f"{tutor['stream_errors']} ended with an error message")
    ramp = result["ramp"]
    if ramp["count"]:
        print(f"during arrivals (not in the figures above): {ramp['count']} requests, sign-ins p50 {fmt(ramp['login_p50'])} ms, "
              f"p99 {fmt(ramp['login_p99'])} ms, errors {ramp['errors']}")
    print(f"{'scenario / route':58} {'n':>6} {'req/s':>6} {'p50':>6} {'p95':>6} {'p99':>7} {'max':>7} {'err':>4} {'429':>4}")
    for scenario in SCENARIOS:
        figures = result["scenarios"].get(scenario)
        if not figures:
            continue
        print(f"{scenario.upper():58} {figures['count']:>6} {figures['rps']:>6.1f} {fmt(figures['p50']):>6} "
              f"{fmt(figures['p95']):>6} {fmt(figures['p99']):>7} {fmt(figures['max']):>7} {figures['errors']:>4} "
              f"{figures['rate_limited']:>4}")
        for route in sorted(figures["routes"], key=lambda r: -r["count"]):
            print(f"  {route['name'][:56]:56} {route['count']:>6} {route['rps']:>6.1f} {fmt(route['p50']):>6} "
                  f"{fmt(route['p95']):>6} {fmt(route['p99']):>7} {fmt(route['max']):>7} {route['errors']:>4} "
                  f"{route['rate_limited']:>4}" + (f"  {route['statuses']}" if route["errors"] or route["rate_limited"] else ""))
    slow = sorted((r for f in result["scenarios"].values() for r in f["routes"] if r["group"] == "page" and r["p99"]),
                  key=lambda r: -r["p99"])[:3]
    if slow:
        print("slowest page views by p99: " + "; ".join(f"{r['name']} {r['p99']:.0f} ms" for r in slow))
    for message in result["bench_error_samples"]:
        print(f"bench-side error: {message}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--spawn-rate", type=float, default=10, help="users arriving per second")
    parser.add_argument("--duration", type=float, default=60, help="seconds measured per target, after the arrivals")
    parser.add_argument("--target", choices=("stack", "embedded", "both"), default="both")
    parser.add_argument("--url", default="", help="an already running server to use for the stack target")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/bench_load",
                        help="the stack's database (dropped and made afresh)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11", help="the stack's Redis database (emptied)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, seeds) afterwards")
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped from outside: still stop the servers
    work = Path(tempfile.mkdtemp(prefix="gennation-load-"))
    results: dict[str, dict] = {}
    failed = True
    targets = ["stack", "embedded"] if args.target == "both" else [args.target]
    try:
        for target in targets:
            if target == "stack":
                server = Running(args.url) if args.url else Stack(work / "stack-run", args.database_url, args.redis_url)
            else:
                server = Embedded(work / "embedded-run")
            try:
                results[target] = run(server, args, work)
            finally:
                server.stop()
            report(target, results[target])
            sys.stdout.flush()
        failed = False
    finally:
        if args.keep or failed:
            say(f"work directory kept (logs, seeds, the servers' data): {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    stack, embedded = results.get("stack"), results.get("embedded")
    print()
    if stack and embedded:
        print(f"stack against embedded: {stack['rps']:.1f} against {embedded['rps']:.1f} req/s, page p99 "
              f"{fmt(stack['pages']['p99'])} against {fmt(embedded['pages']['p99'])} ms, errors {stack['errors']} against "
              f"{embedded['errors']}, tutor wait p95 {fmt(stack['tutor']['wait_p95'])} against "
              f"{fmt(embedded['tutor']['wait_p95'])} ms")
    for name, found in results.items():
        print(f"{name}: deliberate 429s {found['rate_limited']} (" + (", ".join(
            f"{r['name']} {r['rate_limited']}" for f in found["scenarios"].values() for r in f["routes"] if r["rate_limited"])
            or "none") + ")")
    goal = stack and stack["users"] >= 200 and stack["errors"] == 0 and (stack["pages"]["p99"] or 1e9) < 300
    if stack:
        print(f"goal (200 users, zero errors, page p99 < 300 ms on the stack): {'met' if goal else 'not met'}")
    print(f"RESULT users={args.users} rps={fmt(stack and stack['rps'], 1)} p50_ms={fmt(stack and stack['pages']['p50'])} "
          f"p99_ms={fmt(stack and stack['pages']['p99'])} errors={stack['errors'] if stack else 'n/a'} "
          f"tutor_wait_p95_ms={fmt(stack and stack['tutor']['wait_p95'])} embedded_rps={fmt(embedded and embedded['rps'], 1)} "
          f"embedded_p99_ms={fmt(embedded and embedded['pages']['p99'])} "
          f"embedded_errors={embedded['errors'] if embedded else 'n/a'}")


if __name__ == "__main__":
    main()
