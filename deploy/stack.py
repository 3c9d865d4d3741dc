"""The production stack, run natively: `make stack` (start) and `make stack-stop` (stop).

Starts the processes of deploy/Procfile (the tutor's inference server, the web workers, a Celery worker
per queue, beat, nginx in front), the same ones docker-compose.yml runs, against the PostgreSQL and
Redis of `DATABASE_URL` and `REDIS_URL`, after the Procfile's `release` step (migrations, courses).
The web asks the stack's inference server (TUTOR_BACKEND=openai unless set otherwise). Serves through
nginx at http://127.0.0.1:$STACK_PORT (8080). Each process gets its own process group, a pid file and a
log under $STACK_DIR (var/stack/); `stop` ends those groups and nothing else.

    python deploy/stack.py start | stop | status
"""
from __future__ import annotations

import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
PROCFILE = DEPLOY / "Procfile"
NGINX_TEMPLATE = DEPLOY / "nginx.conf.template"
DEFAULTS = {"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/gennation",
            "REDIS_URL": "redis://127.0.0.1:6379/0", "STACK_PORT": "8080"}
MARKER = "GENNATION_STACK_ID"  # in every started process's environment: the stop's last sweep looks for it
STOP_SECONDS = 30
READY_SECONDS = 180
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


# ---------------------------------------------------------------- the Procfile

def read_procfile(path: Path = PROCFILE) -> dict[str, str]:
    """`name: command` lines, in order (comments and blank lines skipped)."""
    processes: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            processes[name.strip()] = command.strip()
    return processes


def expand(text: str, env: dict[str, str]) -> str:
    """`${NAME}` and `${NAME:-default}`, as Compose interpolates them (empty counts as unset for `:-`)."""
    def value(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        if env.get(name):
            return env[name]
        if default is None:
            raise SystemExit(f"stack: {name} is not set (needed by deploy/Procfile)")
        return default
    return _VARIABLE.sub(value, text)


def argv_of(command: str, env: dict[str, str]) -> list[str]:
    return shlex.split(expand(command, env))


# ---------------------------------------------------------------- processes

def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state first), or None for no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return text.rsplit(")", 1)[1].split()


def start_time(pid: int) -> str | None:
    fields = _stat(pid)
    return fields[19] if fields else None  # field 22 of stat: start time in clock ticks since boot


def alive(pid: int) -> bool:
    fields = _stat(pid)
    return bool(fields) and fields[0] not in ("Z", "X")


def group_members(pgid: int) -> list[int]:
    """Living processes of a process group."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields and fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
                members.append(int(entry.name))
    return members


def marked(stack_id: str) -> list[int]:
    """Living processes whose environment carries this stack's id (the started ones and their children)."""
    needle = f"{MARKER}={stack_id}".encode() + b"\0"
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if needle in Path(entry, "environ").read_bytes() + b"\0" and alive(int(entry.name)):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


# ---------------------------------------------------------------- configuration

def stack_dir() -> Path:
    return Path(os.environ.get("STACK_DIR") or ROOT / "var" / "stack").resolve()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(directory: Path) -> dict[str, str]:
    """The processes' environment: this one's, over .env, over the local defaults."""
    env = dict(DEFAULTS)
    dotenv = ROOT / ".env"
    if dotenv.is_file():
        from dotenv import dotenv_values
        env.update({k: v for k, v in dotenv_values(dotenv).items() if v})  # empty: the default
    env.update(os.environ)
    env.setdefault("WEB_PORT", str(free_port()))
    env["WEB_HOST"] = env.get("WEB_HOST") or "127.0.0.1"
    env.setdefault("BEAT_SCHEDULE", str(directory / "celerybeat-schedule"))
    env["NGINX_CONF"] = str(directory / "nginx.conf")
    env.setdefault("TRUSTED_PROXIES", "127.0.0.1")
    # The tutor on the stack's own inference server (the Procfile's `inference`), as in production.
    env.setdefault("INFERENCE_PORT", str(free_port()))
    env["INFERENCE_HOST"] = env.get("INFERENCE_HOST") or "127.0.0.1"
    env.setdefault("TUTOR_BACKEND", "openai")
    env.setdefault("TUTOR_API_BASE", f"http://127.0.0.1:{env['INFERENCE_PORT']}/v1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}:/usr/sbin:/sbin"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def nginx_conf(env: dict[str, str], directory: Path) -> str:
    values = {"NGINX_USER": pwd.getpwuid(os.geteuid()).pw_name, "NGINX_LISTEN": f"127.0.0.1:{env['STACK_PORT']}",
              "WEB_UPSTREAM": f"{env['WEB_HOST']}:{env['WEB_PORT']}", "STATIC_ROOT": str(ROOT / "frontend" / "static"),
              "NGINX_RUN_DIR": str(directory / "nginx")}
    return re.sub(r"\$\{(NGINX_USER|NGINX_LISTEN|WEB_UPSTREAM|STATIC_ROOT|NGINX_RUN_DIR)\}",
                  lambda m: values[m.group(1)], NGINX_TEMPLATE.read_text())


def check_services(env: dict[str, str]) -> None:
    """PostgreSQL and Redis answer (the database is created when missing), or one line saying which not."""
    import psycopg
    import redis
    url = env["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.OperationalError as error:
        if "does not exist" not in str(error):
            raise SystemExit(f"stack: PostgreSQL not reachable at {url}: {str(error).strip()}") from None
        base, _, name = url.rpartition("/")
        with psycopg.connect(f"{base}/postgres", connect_timeout=5, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name.split("?")[0]}"')
        print(f"stack: created the database {name}")
    try:
        redis.Redis.from_url(env["REDIS_URL"], socket_timeout=5).ping()
    except redis.RedisError as error:
        raise SystemExit(f"stack: Redis not reachable at {env['REDIS_URL']}: {error}") from None


# ---------------------------------------------------------------- start, stop, status

def _state_file(directory: Path) -> Path:
    return directory / "stack.json"


def read_state(directory: Path) -> dict:
    path = _state_file(directory)
    return json.loads(path.read_text()) if path.is_file() else {}


def running(directory: Path) -> dict[str, dict]:
    """The started processes that still run (same pid and start time as recorded)."""
    state = read_state(directory)
    return {name: proc for name, proc in state.get("processes", {}).items()
            if alive(proc["pid"]) and start_time(proc["pid"]) == proc["start_time"]}


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def _url_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status == 200 and json.loads(response.read()).get("status") == "ok"
    except (OSError, ValueError):
        return False


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status == 200
    except OSError:
        return False


def _workers_answering(env: dict[str, str]) -> set[str]:
    from celery import Celery
    app = Celery(broker=env["REDIS_URL"], set_as_current=False)
    try:
        return {name.split("@")[0] for reply in app.control.ping(timeout=1.0) for name in reply}
    except Exception:  # noqa: BLE001 - not yet
        return set()
    finally:
        app.close()


def start() -> int:
    directory = stack_dir()
    if running(directory):
        print(f"stack: already running (state in {directory}); stop it first: make stack-stop", file=sys.stderr)
        return 1
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if not nginx:
        print("stack: nginx is not installed (apt-get install nginx)", file=sys.stderr)
        return 1
    env = environment(directory)
    env[MARKER] = stack_id = uuid.uuid4().hex
    check_services(env)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "nginx").mkdir(exist_ok=True)
    Path(env["NGINX_CONF"]).write_text(nginx_conf(env, directory))
    checked = subprocess.run([nginx, "-t", "-q", "-e", "stderr", "-c", env["NGINX_CONF"]], capture_output=True, text=True)
    if checked.returncode:
        print(f"stack: the nginx configuration is refused:\n{checked.stderr}", file=sys.stderr)
        return 1

    processes = read_procfile()
    release = processes.pop("release", "")
    with open(directory / "release.log", "w") as log:
        for step in filter(None, (part.strip() for part in release.split("&&"))):
            log.write(f"$ {step}\n")
            log.flush()
            if subprocess.run(argv_of(step, env), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT).returncode:
                print(f"stack: release step failed: {step}\n{_tail(directory / 'release.log')}", file=sys.stderr)
                return 1

    state = {"id": stack_id, "url": f"http://127.0.0.1:{env['STACK_PORT']}", "processes": {}}
    for name, command in processes.items():
        argv = argv_of(command, env)
        with open(directory / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        (directory / f"{name}.pid").write_text(f"{proc.pid}\n")
        state["processes"][name] = {"pid": proc.pid, "start_time": start_time(proc.pid), "argv": argv}
        _state_file(directory).write_text(json.dumps(state, indent=2))

    workers = {name.removeprefix("worker-") for name in processes if name.startswith("worker-")}
    deadline = time.monotonic() + READY_SECONDS
    web_ok = False
    inference_ok = "inference" not in processes
    answering: set[str] = set()
    while time.monotonic() < deadline:
        dead = [name for name, proc in state["processes"].items() if not alive(proc["pid"])]
        if dead:
            print(f"stack: {', '.join(dead)} stopped at start; its log ({directory / (dead[0] + '.log')}):\n"
                  f"{_tail(directory / (dead[0] + '.log'))}", file=sys.stderr)
            stop()
            return 1
        web_ok = web_ok or _url_ok(f"{state['url']}/healthz")
        inference_ok = inference_ok or _answers(f"http://127.0.0.1:{env['INFERENCE_PORT']}/openapi.json")
        if not answering >= workers:
            answering |= _workers_answering(env)
        if web_ok and inference_ok and answering >= workers:
            print(f"Generative Nation stack: {state['url']}  (logs and pid files in {directory}; "
                  f"stop with `make stack-stop`)")
            return 0
        time.sleep(0.5)
    print(f"stack: not ready after {READY_SECONDS} s (web through nginx: {'ok' if web_ok else 'no'}; "
          f"inference server: {'ok' if inference_ok else 'no'}; "
          f"workers answering: {sorted(answering) or 'none'}); see the logs in {directory}", file=sys.stderr)
    stop()
    return 1


def _wait_gone(pgids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while True:
        left = [pgid for pgid in pgids if group_members(pgid)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def stop() -> int:
    directory = stack_dir()
    state = read_state(directory)
    if not state:
        print(f"stack: nothing to stop (no {_state_file(directory)})")
        return 0
    ours = running(directory)
    # nginx first (no new requests), then the web, the workers and beat; each leader ends its children.
    order = sorted(ours, key=lambda name: (name != "nginx", name != "web"))
    for name in order:
        try:
            os.kill(ours[name]["pid"], signal.SIGTERM)
        except ProcessLookupError:
            pass
    groups = [proc["pid"] for proc in ours.values()]
    for pgid in _wait_gone(groups, STOP_SECONDS):
        print(f"stack: process group {pgid} did not stop in {STOP_SECONDS} s: killed", file=sys.stderr)
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _wait_gone(groups, 5)
    for pid in marked(state["id"]):  # anything of ours that left its process group
        print(f"stack: process {pid} of this stack outside its group: killed", file=sys.stderr)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for name in state.get("processes", {}):
        (directory / f"{name}.pid").unlink(missing_ok=True)
    _state_file(directory).unlink(missing_ok=True)
    print(f"stack: stopped {', '.join(order) or 'nothing (it was not running)'}")
    return 0


def status() -> int:
    directory = stack_dir()
    state = read_state(directory)
    ours = running(directory)
    for name, proc in state.get("processes", {}).items():
        print(f"{name:22} {proc['pid']:>8}  {'running' if name in ours else 'stopped'}")
    if not state:
        print("stack: not running")
    return 0 if state and len(ours) == len(state["processes"]) else 1


def main(argv: list[str]) -> int:
    commands = {"start": start, "stop": stop, "status": status}
    if len(argv) != 1 or argv[0] not in commands:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    return commands[argv[0]]()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
