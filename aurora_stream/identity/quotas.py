"""Per-user token buckets: chunk bytes per minute and corrections per minute.

    quotas = Quotas.from_settings(settings)        # once per worker
    refusal = quotas.take(user, CHUNK_BYTES, len(chunk.data), topic=CSV_CHUNKS)
    if refusal: send refusal.to_bytes() to aurora.refusals keyed by user; drop the event

A bucket holds at most one minute's allowance and refills continuously. In-process for the
embedded mode; in Redis (one Lua script: atomic across workers, Redis's clock) when
``AURORA_REDIS_URL`` is set. A limit of 0 means unlimited.
"""

from __future__ import annotations

import threading
import time

from aurora_stream.config import Settings
from aurora_stream.wire.records import Refusal

CHUNK_BYTES = "chunk_bytes"
CORRECTIONS = "corrections"
UNITS = {CHUNK_BYTES: "bytes of chunks", CORRECTIONS: "corrections"}

# KEYS[1] = bucket; ARGV = capacity, refill per second, amount. Returns {1|0, tokens left}.
_LUA = """
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local amount = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil then tokens = cap; ts = now end
tokens = math.min(cap, tokens + math.max(0, now - ts) * rate)
local ok = 0
if amount <= tokens then tokens = tokens - amount; ok = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(cap / rate) + 60)
return {ok, tostring(tokens)}
"""


class MemoryBuckets:
    """Buckets in this process (the embedded mode has one worker)."""

    def __init__(self) -> None:
        self._b: dict[tuple[str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, user: str, kind: str, amount: float, cap: float) -> bool:
        rate = cap / 60.0
        now = time.monotonic()
        with self._lock:
            tokens, ts = self._b.get((user, kind), (cap, now))
            tokens = min(cap, tokens + (now - ts) * rate)
            ok = amount <= tokens
            self._b[(user, kind)] = (tokens - amount if ok else tokens, now)
            return ok


class RedisBuckets:
    """Buckets in Redis, shared by every worker; atomic (one Lua script per take)."""

    def __init__(self, url: str, prefix: str = "aurora:quota") -> None:
        import redis

        self.r = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self.prefix = prefix
        self._script = self.r.register_script(_LUA)

    def take(self, user: str, kind: str, amount: float, cap: float) -> bool:
        ok, _ = self._script(keys=[f"{self.prefix}:{kind}:{user}"],
                             args=[cap, cap / 60.0, amount])
        return bool(int(ok))


class Quotas:
    """``take(user, kind, amount)``: None if allowed, else the Refusal event to send."""

    def __init__(self, limits: dict[str, int], buckets: MemoryBuckets | RedisBuckets) -> None:
        self.limits = limits
        self.buckets = buckets
        self.fallback = MemoryBuckets()  # this worker's own buckets while Redis is away

    @classmethod
    def from_settings(cls, settings: Settings) -> Quotas:
        limits = {CHUNK_BYTES: settings.quota_chunk_bytes_per_min,
                  CORRECTIONS: settings.quota_corrections_per_min}
        buckets = RedisBuckets(settings.redis_url) if settings.redis_url else MemoryBuckets()
        return cls(limits, buckets)

    def take(self, user: str, kind: str, amount: float = 1, *, topic: str = "") -> Refusal | None:
        """Take ``amount`` from ``user``'s ``kind`` bucket. Over quota: nothing is taken and
        the Refusal (reason, user, kind, topic, time) is returned. While Redis cannot be
        reached, this worker meters with its own in-process buckets (degrade, do not fail)."""
        if kind not in self.limits:
            raise ValueError(f"unknown quota kind {kind!r}; one of {', '.join(self.limits)}")
        cap = self.limits[kind]
        if cap <= 0:
            return None
        if amount > cap:
            reason = (f"over quota: one event of {amount:g} {UNITS[kind]} is more than the "
                      f"whole limit of {cap} per minute")
        else:
            try:
                allowed = self.buckets.take(user, kind, float(amount), float(cap))
            except Exception:  # degrade, do not fail: meter in this worker until it is back
                allowed = self.fallback.take(user, kind, float(amount), float(cap))
            if allowed:
                return None
            reason = f"over quota: more than {cap} {UNITS[kind]} per minute; retry later"
        return Refusal(reason=reason, user_id=user, kind=kind, source_topic=topic,
                       created_at=time.time())
