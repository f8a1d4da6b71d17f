"""L0 cache: TTL doubles with each acceptance up to a cap, a rejection evicts, a new model
version misses; the same behaviour in process and in a real redis-server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from aurora_stream.recommend.cache import DAY, HOUR, Cache, InProcessCache, RedisCache
from aurora_stream.recommend.decision import Option, Recommendation

REC = Recommendation("numeric", "log1p", "median", 0.8, 0.9, 0.7, 0.7, "L3-model", "prior-v1",
                     "skewed", (Option("numeric", "log1p", "median", 0.8, "skewed"),), False)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["in-process", "redis"])
def cache(request: pytest.FixtureRequest) -> Iterator[InProcessCache | RedisCache]:
    if request.param == "in-process":
        yield InProcessCache(clock=FakeClock())
    else:
        url = request.getfixturevalue("redis_url")
        c = RedisCache(url, prefix=f"test:{uuid.uuid4().hex[:8]}")
        yield c
        c.r.close()


def test_both_caches_satisfy_the_protocol(cache) -> None:
    assert isinstance(cache, Cache)


def test_hit_only_for_same_user_key_and_model_version(cache) -> None:
    cache.put("ann", "fp1", "prior-v1", REC)
    assert cache.get("ann", "fp1", "prior-v1") == REC
    assert cache.get("ann", "fp1", "user:ann@v1+prior-v1") is None
    assert cache.get("bob", "fp1", "prior-v1") is None
    assert cache.get("ann", "fp2", "prior-v1") is None


def test_ttl_doubles_with_each_acceptance_up_to_thirty_days(cache) -> None:
    cache.put("ann", "fp1", "v", REC)
    assert cache.ttl_remaining("ann", "fp1") == pytest.approx(HOUR, abs=5)
    cache.record_outcome("ann", "fp1", accepted=True)
    assert cache.ttl_remaining("ann", "fp1") == pytest.approx(2 * HOUR, abs=5)
    cache.record_outcome("ann", "fp1", accepted=True)
    assert cache.ttl_remaining("ann", "fp1") == pytest.approx(4 * HOUR, abs=5)
    for _ in range(20):
        cache.record_outcome("ann", "fp1", accepted=True)
    assert cache.ttl_remaining("ann", "fp1") == pytest.approx(30 * DAY, abs=5)
    assert cache.get("ann", "fp1", "v") == REC


def test_reput_after_acceptance_keeps_the_earned_ttl(cache) -> None:
    cache.put("ann", "fp1", "v", REC)
    cache.record_outcome("ann", "fp1", accepted=True)
    cache.put("ann", "fp1", "v", REC)
    assert cache.ttl_remaining("ann", "fp1") == pytest.approx(2 * HOUR, abs=5)


def test_rejection_evicts(cache) -> None:
    cache.put("ann", "fp1", "v", REC)
    cache.record_outcome("ann", "fp1", accepted=False)
    assert cache.get("ann", "fp1", "v") is None
    cache.record_outcome("ann", "fp1", accepted=True)  # outcome for a missing entry: no-op
    assert cache.get("ann", "fp1", "v") is None


def test_invalidate_user_drops_only_that_user(cache) -> None:
    cache.put("ann", "fp1", "v", REC)
    cache.put("ann*", "fp1", "v", REC)  # glob characters in a user id must not widen a scan
    cache.put("bob", "fp1", "v", REC)
    cache.invalidate_user("ann")
    assert cache.get("ann", "fp1", "v") is None
    assert cache.get("ann*", "fp1", "v") == REC
    assert cache.get("bob", "fp1", "v") == REC


def test_in_process_entry_expires_and_lru_is_bounded() -> None:
    clock = FakeClock()
    c = InProcessCache(max_entries=2, clock=clock)
    c.put("ann", "a", "v", REC)
    clock.now += HOUR + 1
    assert c.get("ann", "a", "v") is None
    c.put("ann", "a", "v", REC)
    c.put("ann", "b", "v", REC)
    c.get("ann", "a", "v")  # a is now most recent
    c.put("ann", "c", "v", REC)
    assert len(c) == 2 and c.get("ann", "b", "v") is None and c.get("ann", "a", "v") == REC


def test_redis_keys_hold_no_raw_user_id(redis_url: str) -> None:
    prefix = f"test:{uuid.uuid4().hex[:8]}"
    c = RedisCache(redis_url, prefix=prefix)
    c.put("alice@example.com", "abc123", "prior-v1", REC)
    keys = [k.decode() for k in redis.Redis.from_url(redis_url).keys(f"{prefix}:*")]
    assert len(keys) == 1
    assert "alice" not in keys[0] and keys[0].endswith(":abc123")
