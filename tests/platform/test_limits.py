"""The counters behind rate limits behave alike in the process and in Redis (shared by all web processes)."""
import time

import pytest

from gennation.platform import limits
from tests.conftest import redis_or_skip


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.services)])
def counters(request):
    if request.param == "memory":
        return limits.MemoryCounters()
    found = limits.RedisCounters(redis_or_skip())
    found.redis.delete(*found.redis.keys("gn:limit:test*") or ["none"])
    return found


def test_a_fixed_window_refuses_one_too_many_and_says_how_long_to_wait(counters):
    counter = limits.key("test-window", "10.0.0.1")
    assert [limits.over_limit(counters, counter, 3, 60) for _ in range(3)] == [0, 0, 0]
    wait = limits.over_limit(counters, counter, 3, 60)
    assert 58 <= wait <= 60
    assert limits.over_limit(counters, limits.key("test-window", "10.0.0.2"), 3, 60) == 0  # another address


def test_a_sliding_window_remembers_the_last_failure_and_clears(counters):
    counter = limits.key("test-sliding", "someone", "10.0.0.1")
    before = time.time()
    for _ in range(4):
        count = counters.add(counter, 900, sliding=True)
    assert count.events == 4 and count.last_at >= before and 890 < count.expires_in <= 900
    seen = counters.get(counter)
    assert seen.events == 4 and abs(seen.last_at - count.last_at) < 0.01
    assert limits.backoff_wait(seen, free=3, longest=900) == 4  # the 4th failure: 2 ** 2 seconds
    counters.clear(counter)
    assert counters.get(counter).events == 0


def test_backoff_doubles_and_stops_at_the_longest_wait():
    now = time.time()
    waits = [limits.backoff_wait(limits.Count(n, now, 900), free=5, longest=900) for n in range(4, 16)]
    assert waits[:4] == [0, 2, 4, 8] and waits[-1] == 900 and waits == sorted(waits)


def test_keys_keep_no_name_or_address_in_clear():
    key = limits.key("login", "әлия", "203.0.113.9")
    assert "әлия" not in key and "203.0.113.9" not in key and key.startswith("gn:limit:login:")
