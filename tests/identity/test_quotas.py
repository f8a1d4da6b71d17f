"""Per-user token buckets, in-process and on a real redis-server (atomic across workers)."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from aurora_stream.config import Settings
from aurora_stream.identity import CHUNK_BYTES, CORRECTIONS, Quotas
from aurora_stream.wire.records import Refusal, decode


@pytest.fixture(params=["memory", "redis"])
def settings(request, aurora_home: Path) -> Settings:
    s = Settings.from_env(home=aurora_home)
    s = replace(s, quota_chunk_bytes_per_min=6000, quota_corrections_per_min=60)
    if request.param == "redis":
        s = replace(s, redis_url=request.getfixturevalue("redis_url"))
    return s


def _user(tag: str) -> str:
    return f"{tag}-{time.time_ns()}"  # the session's redis is shared between tests


def test_within_quota_then_refused_with_the_reason(settings: Settings) -> None:
    q, ann, bob = Quotas.from_settings(settings), _user("ann"), _user("bob")
    assert all(q.take(ann, CORRECTIONS, 1) is None for _ in range(60))
    r = q.take(ann, CORRECTIONS, 1, topic="aurora.corrections")
    assert isinstance(r, Refusal)
    assert (r.user_id, r.kind, r.source_topic) == (ann, CORRECTIONS, "aurora.corrections")
    assert "over quota" in r.reason and "60 corrections per minute" in r.reason
    assert decode(Refusal, r.to_bytes()) == r  # a valid event for aurora.refusals
    assert q.take(bob, CORRECTIONS, 1) is None  # per user
    assert q.take(ann, CHUNK_BYTES, 5000) is None  # per kind
    assert q.take(ann, CHUNK_BYTES, 5000) is not None
    assert q.take(ann, CHUNK_BYTES, 1000) is None  # a refusal takes nothing
    time.sleep(1.1)  # refills at 1 correction per second
    assert q.take(ann, CORRECTIONS, 1) is None
    assert q.take(ann, CORRECTIONS, 1) is not None


def test_an_event_larger_than_the_quota_is_always_refused(settings: Settings) -> None:
    r = Quotas.from_settings(settings).take(_user("cy"), CHUNK_BYTES, 7000, topic="t")
    assert r is not None and "more than the whole limit" in r.reason


def test_zero_means_unlimited(settings: Settings) -> None:
    q = Quotas.from_settings(replace(settings, quota_corrections_per_min=0))
    assert all(q.take("u", CORRECTIONS, 1) is None for _ in range(1000))
    with pytest.raises(ValueError):
        q.take("u", "bytes", 1)


def test_two_workers_share_one_bucket_in_redis(aurora_home: Path, redis_url: str) -> None:
    s = replace(Settings.from_env(home=aurora_home), redis_url=redis_url,
                quota_corrections_per_min=100)
    workers = [Quotas.from_settings(s) for _ in range(4)]
    user, admitted = _user("dan"), []
    lock = threading.Lock()

    def hammer(q: Quotas) -> None:
        for _ in range(60):
            if q.take(user, CORRECTIONS, 1) is None:
                with lock:
                    admitted.append(1)

    threads = [threading.Thread(target=hammer, args=(q,)) for q in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 240 attempts in well under a second: the bucket (100) plus at most a few refilled
    assert 100 <= len(admitted) <= 105


def test_redis_down_meters_in_the_worker_instead_of_failing(aurora_home: Path) -> None:
    s = replace(Settings.from_env(home=aurora_home), redis_url="redis://127.0.0.1:1/0",
                quota_corrections_per_min=3)
    q = Quotas.from_settings(s)
    got = [q.take("u", CORRECTIONS, 1, topic="aurora.corrections") for _ in range(5)]
    assert got[:3] == [None] * 3  # admitted while Redis is away (degrade, do not fail) ...
    assert all(r is not None and "over quota" in r.reason for r in got[3:])  # ... and bounded
