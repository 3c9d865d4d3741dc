"""Page throughput against a bare health endpoint, served as in production.

Starts `gennation serve` (uvicorn with worker processes) on the database named by DATABASE_URL
(PostgreSQL in production; a temporary SQLite file when unset), loads the real courses, then drives,
with the same number of concurrent clients for the same time each: /healthz/live (the baseline), an
anonymous lesson page, the same lesson signed in (a learner with progress in two courses), and the
anonymous catalogue. The load comes from Debian's `wrk` (installed here when missing and allowed), else
from an httpx client in this process (which then competes with the server for the 2 cores).
The targets take turns for a few rounds and each figure is the median of its rounds.
Last line: RESULT lesson_rps=... health_rps=... ratio=... p99_ms=... signed_ratio=... signed_p99_ms=...
catalogue_ratio=...
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LESSON = "/kk/courses/ai-basics-school/lessons/ai-around-us"
CATALOGUE = "/kk/courses"


async def drive(base: str, path: str, clients: int, seconds: float, max_requests: int,
                cookie: str = "") -> tuple[int, list[float], int]:
    """`clients` loops request `path` until time or the request budget runs out; returns count, latencies, errors."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    sent = 0

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal errors, sent
        while time.perf_counter() < deadline and sent < max_requests:
            sent += 1
            start = time.perf_counter()
            response = await client.get(path)
            latencies.append(time.perf_counter() - start)
            if response.status_code != 200:
                errors += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Accept-Encoding": "gzip", **({"Cookie": cookie} if cookie else {})}
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30, headers=headers) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return int(len(latencies) / elapsed), latencies, errors


def drive_wrk(base: str, path: str, clients: int, seconds: float, cookie: str = "") -> tuple[int, float, float, int]:
    """Debian's wrk, when installed: a load generator in C, so the server (not the client) is measured."""
    headers = ["-H", "Accept-Encoding: gzip"] + (["-H", f"Cookie: {cookie}"] if cookie else [])
    out = subprocess.run(["wrk", "-t1", f"-c{clients}", f"-d{int(seconds)}s", "--latency", *headers, base + path],
                         capture_output=True, text=True, check=True).stdout

    def millis(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return int(rps), millis("50%"), millis("99%"), int(errors.group(1)) if errors else 0


def p99(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98] * 1000 if len(latencies) >= 100 else max(latencies) * 1000


def ensure_wrk() -> bool:
    """Debian's wrk, installed with apt-get when missing and this runs as root."""
    if not shutil.which("wrk") and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], capture_output=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return shutil.which("wrk") is not None


def signed_in_learner(base: str) -> str:
    """Register a learner through the pages, with progress in two courses; return their session cookie."""
    with httpx.Client(base_url=base, timeout=30) as client:
        page = client.get("/kk/register").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        username = f"bench-{os.getpid()}-{int(time.time())}"  # a database kept between runs has the last one
        client.post("/kk/register", data={"csrf_token": token, "username": username, "language": "kk",
                                          "password": "bench password 1", "display_name": "Бенч Оқушы",
                                          "region": "astana", "category": "adult", "role": "learner"})
        for course, lesson in (("ai-basics-school", "ai-around-us"), ("genai-for-everyone", "what-is-a-chat-assistant")):
            client.post(f"/kk/courses/{course}/lessons/{lesson}/read", data={"csrf_token": token})
        client.get(LESSON)
        return f"gn_session={client.cookies['gn_session']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--python-client", action="store_true", help="use the httpx driver even if wrk is installed")
    parser.add_argument("--seconds", type=float, default=3, help="per target and round")
    parser.add_argument("--rounds", type=int, default=5,
                        help="the targets take turns this many times; each figure is the median of its rounds "
                             "(a shared virtual machine's speed drifts by 2x within a minute)")
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="gennation-bench-"))
    env = {**os.environ, "VAR_DIR": str(var), "LOG_LEVEL": "WARNING"}
    env.setdefault("DATABASE_URL", f"sqlite:///{var / 'bench.db'}")
    database = env["DATABASE_URL"].split(":", 1)[0]
    subprocess.run([BIN / "gennation", "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([BIN / "gennation", "courses", "load"], env=env, check=True, capture_output=True)
    server = subprocess.Popen([BIN / "gennation", "serve", "--port", str(args.port), "--workers", str(args.workers)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{args.port}"
    use_wrk = ensure_wrk() and not args.python_client
    try:
        for _ in range(200):
            try:
                if httpx.get(base + LESSON, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            sys.exit("server did not start")
        cookie = signed_in_learner(base)
        targets = {"health": ("/healthz/live", ""), "lesson": (LESSON, ""), "signed": (LESSON, cookie),
                   "catalogue": (CATALOGUE, "")}
        for path, who in targets.values():  # warm-up: every worker builds its read model
            asyncio.run(drive(base, path, args.clients, 2, 2000, who))
        rounds: dict[str, list[tuple[int, float, float, int]]] = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, (path, who) in targets.items():
                if use_wrk:
                    rounds[name].append(drive_wrk(base, path, args.clients, args.seconds, who))
                else:
                    rps, latencies, errors = asyncio.run(drive(base, path, args.clients, args.seconds,
                                                               args.max_requests, who))
                    rounds[name].append((rps, statistics.median(latencies) * 1000, p99(latencies), errors))
        results = {name: (int(statistics.median(r[0] for r in runs)), statistics.median(r[1] for r in runs),
                          statistics.median(r[2] for r in runs), sum(r[3] for r in runs))
                   for name, runs in rounds.items()}
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(f"database={database} workers={args.workers} clients={args.clients} seconds={args.seconds} "
          f"rounds={args.rounds} "
          f"driver={'wrk' if use_wrk else 'httpx (wrk not installed)'}")
    for name, (rps, p50, p99_ms, errors) in results.items():
        spread = "/".join(str(r[0]) for r in rounds[name])
        print(f"{name:9} {targets[name][0]}: {rps} req/s (rounds {spread}), p50 {p50:.1f} ms, p99 {p99_ms:.1f} ms, "
              f"errors {errors}")
    health = results["health"][0]
    print(f"RESULT lesson_rps={results['lesson'][0]} health_rps={health} "
          f"ratio={results['lesson'][0] / health:.3f} p99_ms={results['lesson'][2]:.1f} "
          f"signed_ratio={results['signed'][0] / health:.3f} signed_p99_ms={results['signed'][2]:.1f} "
          f"catalogue_ratio={results['catalogue'][0] / health:.3f}")


if __name__ == "__main__":
    main()
