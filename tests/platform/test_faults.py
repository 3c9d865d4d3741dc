"""Faults on real services: the platform's own PostgreSQL cluster and Redis server (started here on free
ports, so that they can be stopped and started again without touching the machine's), the real web
server (`gennation serve`) and real Celery workers.

- PostgreSQL restarts: the web app answers again within 10 seconds without being restarted, tells people
  plainly while it cannot, and no request in flight is half-applied (acknowledged if and only if kept).
- Redis restarts empty: leaderboards come back (rebuilt from the database), rate limits count again, and
  an entry sent while Redis was down is scored once the sweeper sends it again.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
import pytest

from gennation.platform.settings import ROOT

BIN = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin"
pytestmark = pytest.mark.services


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_postgres(argv: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; CI and these machines run the tests as root.
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


class Cluster:
    """A PostgreSQL cluster of the test's own: initdb, start, stop (immediately, like a crash), start."""

    def __init__(self) -> None:
        bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
        self.pg_ctl = str(Path(bindir) / "pg_ctl")
        self.data = Path(tempfile.mkdtemp(prefix="gennation-pg-"))
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
        subprocess.run(_as_postgres([str(Path(bindir) / "initdb"), "-D", str(self.data), "-U", "postgres",
                                     "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"]),
                       check=True, capture_output=True)
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(_as_postgres([self.pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.data / "log"),
                                     "-w", "start"]), check=True, capture_output=True)

    def stop(self, mode: str = "immediate") -> None:
        subprocess.run(_as_postgres([self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop"]),
                       check=False, capture_output=True)

    def remove(self) -> None:
        self.stop("fast")
        shutil.rmtree(self.data, ignore_errors=True)


@pytest.fixture
def cluster():
    if shutil.which("pg_config") is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        pytest.skip("PostgreSQL's server programs (pg_config, initdb, pg_ctl) are not installed")
    made = Cluster()
    made.start()
    yield made
    made.remove()


def _serve(env: dict, port: int, log: Path) -> subprocess.Popen:
    process = subprocess.Popen([str(BIN / "gennation"), "serve", "--port", str(port)], env=env,
                               stdout=log.open("w"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(base + "/livez", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError("the web server did not start:\n" + log.read_text()[-3000:])


def _register(client: httpx.Client, username: str) -> str:
    page = client.get("/kk/register").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = client.post("/kk/register", data={
        "csrf_token": token, "username": username, "language": "kk", "password": "fault test password 1",
        "display_name": "Ақбота Сәрсенова", "region": "astana", "category": "adult", "role": "learner"})
    assert answer.status_code in (200, 303), answer.text[:500]
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/kk/account").text).group(1)


def test_the_web_app_survives_a_postgresql_restart_and_never_keeps_half_a_request(cluster, tmp_path):
    env = {**os.environ, "DATABASE_URL": cluster.url, "VAR_DIR": str(tmp_path), "REDIS_URL": "",
           "LOG_LEVEL": "WARNING", "PAGE_CACHE_SECONDS": "0"}
    for step in (["db", "upgrade"], ["courses", "load"]):
        subprocess.run([str(BIN / "gennation"), *step], env=env, check=True, capture_output=True)
    port = free_port()
    server = _serve(env, port, tmp_path / "web.log")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=20, follow_redirects=False) as client:
            csrf = _register(client, "fault-learner")
            course = client.get("/kk/courses/ai-basics-school").text
            lessons = list(dict.fromkeys(re.findall(r'/kk/courses/ai-basics-school/lessons/([a-z0-9-]+)"', course)))
            assert len(lessons) >= 10

            # A learner keeps marking lessons read, one after another, while the database crashes.
            answers: dict[str, int | str] = {}
            stop = threading.Event()

            def keep_reading() -> None:
                for slug in lessons:
                    if stop.is_set():
                        break
                    try:
                        answers[slug] = client.post(f"/kk/courses/ai-basics-school/lessons/{slug}/read",
                                                    data={"csrf_token": csrf}).status_code
                    except httpx.HTTPError as error:  # the connection itself broke: not known either way
                        answers[slug] = type(error).__name__
                    time.sleep(0.4)

            reader = threading.Thread(target=keep_reading)
            reader.start()
            time.sleep(1.0)
            cluster.stop("immediate")  # like a crash: every connection is cut at once
            time.sleep(1.5)

            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=20) as probe:
                assert probe.get("/livez").status_code == 200  # the process is fine: do not restart it
                assert probe.get("/readyz").status_code == 503  # but send no traffic here
            down = client.get(f"/ru/courses/ai-basics-school/lessons/{lessons[0]}")
            assert down.status_code == 503 and down.headers["Retry-After"] == "10"
            assert "Платформа ненадолго недоступна" in down.text and "Traceback" not in down.text
            sent = client.post(f"/kk/courses/ai-basics-school/lessons/{lessons[-1]}/read", data={"csrf_token": csrf})
            assert sent.status_code == 503 and "сақталмады" in sent.text
            api = client.get("/api/v1/me/assignments", headers={"Accept": "application/json"})
            assert api.status_code == 503 and "detail" in api.json()

            cluster.start()
            back_at = time.monotonic()
            while True:
                page = client.get(f"/kk/courses/ai-basics-school/lessons/{lessons[0]}")
                if page.status_code == 200:
                    break
                assert time.monotonic() - back_at < 10, f"still {page.status_code} 10 s after PostgreSQL is back"
                time.sleep(0.2)
            recovered_in = time.monotonic() - back_at
            assert 'action="/kk/logout"' in page.text  # still signed in: the sign-in survived in the database
            reader.join(60)  # the reading goes on to the last lesson, now kept again
    finally:
        stop.set()
        server.send_signal(signal.SIGTERM)
        server.wait(30)

    print(f"recovered in {recovered_in:.2f} s; answers {answers}")
    assert recovered_in < 10
    with psycopg.connect(cluster.url) as conn:
        kept = {slug for (slug,) in conn.execute(
            "SELECT l.slug FROM lessonprogress p JOIN lesson l ON l.id = p.lesson_id "
            "JOIN \"user\" u ON u.id = p.user_id WHERE u.username = 'fault-learner'")}
        enrolled = conn.execute("SELECT count(*) FROM enrollment e JOIN \"user\" u ON u.id = e.user_id "
                                "WHERE u.username = 'fault-learner'").fetchone()[0]
    acknowledged = {slug for slug, status in answers.items() if status == 303}
    refused = {slug for slug, status in answers.items() if status == 503}
    assert acknowledged and refused, answers  # the crash did land in the middle of the reading
    assert acknowledged <= kept, (answers, kept)  # nothing acknowledged was lost
    assert not refused & kept, (answers, kept)  # nothing refused was kept (rolled back as a whole)
    assert enrolled == 1  # lessons read imply the enrolment, written in the same unit of work


class RedisServer:
    """A Redis server of the test's own, without persistence: a restart comes back empty, the worst case."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                         "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis
        for _ in range(100):
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def crash(self) -> None:
        self.process.kill()
        self.process.wait(10)


def test_a_redis_restart_loses_no_entry_and_leaderboards_and_rate_limits_come_back(settings, tmp_path, monkeypatch):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    import redis
    from fastapi.testclient import TestClient
    from sqlmodel import func, select

    from gennation.platform import limits
    from gennation.platform.app import create_app
    from gennation.tournament import service, tasks
    from gennation.tournament.models import Entry, EntryScore, EntryStatus
    from tests.conftest import api_token
    from tests.tournament import builders
    from tests import workers
    from tests.tournament.test_killed_worker import _wait_for

    monkeypatch.setattr(limits.RedisCounters, "RETRY_AFTER", 0.5)
    server = RedisServer(tmp_path)
    server.start()
    settings.redis_url = server.url
    app = create_app(settings)
    worker = None
    try:
        with TestClient(app) as client, app.state.db.session() as session:
            made = builders.season(session, settings.var_dir)
            task = made["practical"]["grades-5-8"]
            pupils = [builders.person(session, f"redis-pupil-{n}", grade=6, name=name)
                      for n, name in enumerate(("Айгерім Әбенова", "Нұрлан Қуанышев"))]
            for pupil in pupils:
                service.register(session, pupil, made["season"], "grades-5-8")
            session.commit()
            stage_id = session.get(type(task), task.id).stage_id
            worker = workers.worker(settings, "celery", tasks.QUEUE)
            token = api_token(client, "redis-watcher")
            board_url = f"/api/v1/tournament/stages/{stage_id}/leaderboard?category=grades-5-8"

            def send(pupil, right: float) -> Entry:
                entry = service.send_entry(session, pupil, task, "p.csv", builders.predictions(made["labels"], right),
                                           settings.var_dir).entry
                session.commit()
                tasks.send_score(entry.id)  # after the commit, as the unit of work does (fails quietly if down)
                return entry

            first = send(pupils[0], 0.6)
            _wait_for(session, first.id, EntryStatus.scored, 90, settings)
            assert [row["name"] for row in client.get(board_url, headers=token).json()["rows"]] == ["Айгерім Ә."]
            assert list(redis.Redis.from_url(server.url).scan_iter("gn:lb:*"))  # the boards live in Redis

            server.crash()
            # While Redis is down: the entry is stored, the board is read from the database, a sign-in
            # attempt is counted in the process: nobody sees an error page.
            second = send(pupils[1], 0.9)
            assert session.get(Entry, second.id).status == EntryStatus.queued
            down = client.get(board_url, headers=token)
            assert down.status_code == 200 and len(down.json()["rows"]) == 1
            wrong = client.post("/api/v1/auth/login", json={"username": "redis-watcher", "password": "not it at all"})
            assert wrong.status_code == 401, wrong.text

            server.start()  # empty
            time.sleep(0.6)  # the counters try Redis again
            entry = session.get(Entry, second.id)
            entry.queued_at -= service.STUCK_AFTER + timedelta(minutes=1)  # the sweeper's few minutes have passed
            session.add(entry)
            session.commit()
            assert tasks.sweep_now(settings)["requeued"] == 1
            _wait_for(session, second.id, EntryStatus.scored, 90, settings)
            assert session.exec(select(func.count()).select_from(EntryScore)).one() == 2  # each scored once

            board = client.get(board_url, headers=token).json()  # rebuilt from the database, into Redis
            assert [row["name"] for row in board["rows"]] == ["Нұрлан Қ.", "Айгерім Ә."]
            assert list(redis.Redis.from_url(server.url).scan_iter("gn:lb:*"))
            again = client.post("/api/v1/auth/login", json={"username": "redis-watcher", "password": "not it at all"})
            assert again.status_code == 401
            assert list(redis.Redis.from_url(server.url).scan_iter("gn:limit:*"))  # counted across processes again
    finally:
        workers.stop(worker)
        server.crash()
        settings.redis_url = ""
        tasks.install(settings)
        app.state.engine.dispose()


def test_a_web_process_told_to_stop_finishes_the_request_in_flight_first(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'stop.db'}", "VAR_DIR": str(tmp_path),
           "REDIS_URL": "", "LOG_LEVEL": "WARNING", "SHUTDOWN_GRACE_SECONDS": "20"}
    subprocess.run([str(BIN / "gennation"), "db", "upgrade"], env=env, check=True, capture_output=True)
    port = free_port()
    server = _serve(env, port, tmp_path / "web.log")
    try:
        body = b'{"username": "someone", "password": "not the right one"}'
        with socket.create_connection(("127.0.0.1", port), timeout=20) as client:
            # A request whose body is still arriving when the process is told to stop (a slow upload).
            client.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                           + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body[:10])
            time.sleep(0.5)
            server.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            assert server.poll() is None  # still there, waiting for the request in flight
            with pytest.raises(OSError):  # but taking no new connections
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
            client.sendall(body[10:])
            answer = b""
            while chunk := client.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 401"), answer[:200]  # answered in full: the wrong password
        assert server.wait(20) in (0, -signal.SIGTERM)  # then it ends (uvicorn re-raises the signal it handled)
    finally:
        if server.poll() is None:
            server.kill()
