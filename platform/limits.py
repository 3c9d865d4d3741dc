"""Counters for rate limits and sign-in throttling, in Redis when configured, else in the process.

Production runs several web processes, so its counters live in Redis, where they hold across all of
them. The embedded default is one process and keeps them in memory (a restart forgets them, which
only ever lets a person in sooner).
"""
from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import threading
import time
from dataclasses import dataclass

log = logging.getLogger("gennation.limits")


@dataclass
class Count:
    events: int  # within the window
    last_at: float  # time of the newest event (time.time()); from `add`, of the one before it
    expires_in: float  # seconds until the counter is forgotten


NOTHING = Count(0, 0.0, 0.0)


class MemoryCounters:
    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float, float]] = {}  # key -> (events, last_at, expires_at)
        self._lock = threading.Lock()

    def get(self, key: str) -> Count:
        now = time.time()
        with self._lock:
            events, last_at, expires_at = self._counts.get(key, (0, 0.0, 0.0))
        return Count(events, last_at, expires_at - now) if expires_at > now else NOTHING

    def add(self, key: str, window: float, sliding: bool) -> Count:
        """Count one event; its count, with the time of the event before it."""
        now = time.time()
        with self._lock:
            if len(self._counts) > 100_000:  # forget expired keys now and then
                self._counts = {k: v for k, v in self._counts.items() if v[2] > now}
            events, last_at, expires_at = self._counts.get(key, (0, 0.0, 0.0))
            if expires_at <= now:
                events, last_at, expires_at = 0, 0.0, now + window
            if sliding:
                expires_at = now + window
            self._counts[key] = (events + 1, now, expires_at)
        return Count(events + 1, last_at, expires_at - now)

    def forget_one(self, key: str) -> None:
        with self._lock:
            events, last_at, expires_at = self._counts.get(key, (0, 0.0, 0.0))
            if events > 0:
                self._counts[key] = (events - 1, last_at, expires_at)

    def clear(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)


# One round trip, atomic: count the event, remember its time (returning the one before), start (or,
# sliding, restart) the window.
_ADD = """
local before = redis.call('HGET', KEYS[1], 'last') or '0'
local events = redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('HSET', KEYS[1], 'last', ARGV[1])
if events == 1 or ARGV[3] == '1' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {events, redis.call('PTTL', KEYS[1]), before}
"""
_FORGET_ONE = """
if tonumber(redis.call('HGET', KEYS[1], 'n') or '0') > 0 then redis.call('HINCRBY', KEYS[1], 'n', -1) end
"""


class RedisCounters:
    """Counters shared by every web process. While Redis cannot be reached (restarting, failing over),
    each process counts in its own memory instead, so that limits still hold, per process, and nobody
    gets an error page; Redis is tried again after a few seconds, and counts for everyone once it is back
    (it may come back empty: that only lets a person in sooner)."""

    RETRY_AFTER = 5.0  # seconds without trying Redis after it failed

    def __init__(self, redis_url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=2,
                                          socket_connect_timeout=1)
        self._add = self.redis.register_script(_ADD)
        self._forget_one = self.redis.register_script(_FORGET_ONE)
        self._fallback = MemoryCounters()
        self._down_until = 0.0
        self._unreachable = (redis.ConnectionError, redis.TimeoutError)

    def _shared(self, work, fallback):
        if time.monotonic() >= self._down_until:
            try:
                return work()
            except self._unreachable:
                log.warning("rate limits: Redis unreachable, counting in this process for %.0f s", self.RETRY_AFTER)
                self._down_until = time.monotonic() + self.RETRY_AFTER
        return fallback()

    def get(self, key: str) -> Count:
        def shared() -> Count:
            with self.redis.pipeline() as pipe:
                values, ttl = pipe.hgetall(key).pttl(key).execute()
            if not values or ttl <= 0:
                return NOTHING
            return Count(int(values["n"]), float(values["last"]), ttl / 1000)
        return self._shared(shared, lambda: self._fallback.get(key))

    def add(self, key: str, window: float, sliding: bool) -> Count:
        def shared() -> Count:
            events, ttl, before = self._add(keys=[key], args=[time.time(), int(window * 1000), int(sliding)])
            return Count(int(events), float(before), int(ttl) / 1000)
        return self._shared(shared, lambda: self._fallback.add(key, window, sliding))

    def forget_one(self, key: str) -> None:
        self._shared(lambda: self._forget_one(keys=[key]), lambda: self._fallback.forget_one(key))

    def clear(self, key: str) -> None:
        self._shared(lambda: self.redis.delete(key), lambda: self._fallback.clear(key))


Counters = MemoryCounters | RedisCounters


def counters_for(redis_url: str) -> Counters:
    return RedisCounters(redis_url) if redis_url else MemoryCounters()


def network_of(address: str) -> str:
    """The unit an address is counted in: itself for IPv4, its /64 for IPv6 (one home or phone holds a
    whole /64, and could otherwise take a fresh address for every guess)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    return str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else str(ip)


def key(*parts: str) -> str:
    """A counter key; people's names and addresses are kept only as a hash."""
    return "gn:limit:" + parts[0] + ":" + hashlib.sha256("\x1f".join(parts[1:]).encode()).hexdigest()[:32]


def over_limit(counters: Counters, counter: str, limit: int, window: float) -> int:
    """Count one event in a fixed window; the seconds to wait when it is one too many, else 0."""
    count = counters.add(counter, window, sliding=False)
    return max(1, math.ceil(count.expires_in)) if count.events > limit else 0


def backoff_wait(count: Count, free: int, longest: float) -> int:
    """Seconds still to wait after `count.events` failures: the first `free` cost nothing, then the
    delay doubles with each one (2, 4, 8 ... seconds) up to `longest`."""
    if count.events < free:
        return 0
    delay = min(2.0 ** (count.events - free + 1), longest)
    return max(0, math.ceil(count.last_at + delay - time.time()))
