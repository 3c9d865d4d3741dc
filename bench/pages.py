"""Lesson page throughput against a bare health endpoint, served as in production.

Starts `gennation serve` (uvicorn with worker processes) on the database named by DATABASE_URL
(PostgreSQL in production; a temporary SQLite file when unset), loads the real courses, then drives
a lesson page and /healthz/live with the same number of concurrent clients for the same time.
The load comes from Debian's `wrk` when installed (`make bench` installs it), else from an httpx client
in this process (which then competes with the server for the 2 cores: lower, noisier figures).
Last line: RESULT lesson_rps=... health_rps=... ratio=... p99_ms=...
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


async def drive(base: str, path: str, clients: int, seconds: float, max_requests: int) -> tuple[int, list[float], int]:
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
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30,
                                 headers={"Accept-Encoding": "gzip"}) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return int(len(latencies) / elapsed), latencies, errors


def drive_wrk(base: str, path: str, clients: int, seconds: float) -> tuple[int, float, float, int]:
    """Debian's wrk, when installed: a load generator in C, so the server (not the client) is measured."""
    out = subprocess.run(["wrk", "-t1", f"-c{clients}", f"-d{int(seconds)}s", "--latency",
                          "-H", "Accept-Encoding: gzip", base + path], capture_output=True, text=True, check=True).stdout

    def millis(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return int(rps), millis("50%"), millis("99%"), int(errors.group(1)) if errors else 0


def p99(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98] * 1000 if len(latencies) >= 100 else max(latencies) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--python-client", action="store_true", help="use the httpx driver even if wrk is installed")
    parser.add_argument("--seconds", type=float, default=15)
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
        asyncio.run(drive(base, LESSON, args.clients, 2, 2000))  # warm-up both workers
        if shutil.which("wrk") and not args.python_client:
            driver = "wrk"
            lesson_rps, lesson_p50, lesson_p99, lesson_err = drive_wrk(base, LESSON, args.clients, args.seconds)
            health_rps, _health_p50, health_p99, health_err = drive_wrk(base, "/healthz/live", args.clients, args.seconds)
        else:
            driver = "httpx"
            lesson_rps, lat, lesson_err = asyncio.run(drive(base, LESSON, args.clients, args.seconds, args.max_requests))
            lesson_p50, lesson_p99 = statistics.median(lat) * 1000, p99(lat)
            health_rps, lat, health_err = asyncio.run(drive(base, "/healthz/live", args.clients, args.seconds,
                                                             args.max_requests))
            health_p99 = p99(lat)
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(f"database={database} workers={args.workers} clients={args.clients} seconds={args.seconds} driver={driver}")
    print(f"lesson {LESSON}: {lesson_rps} req/s, p50 {lesson_p50:.1f} ms, p99 {lesson_p99:.1f} ms, errors {lesson_err}")
    print(f"health /healthz/live: {health_rps} req/s, p99 {health_p99:.1f} ms, errors {health_err}")
    print(f"RESULT lesson_rps={lesson_rps} health_rps={health_rps} ratio={lesson_rps / health_rps:.3f} "
          f"p99_ms={lesson_p99:.1f}")


if __name__ == "__main__":
    main()
