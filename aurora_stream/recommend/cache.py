"""L0 cache: the last answer for (user, fingerprint key, model version).

A cached answer lives ``base_ttl`` (1 h) at first; each time the user accepts it the TTL
doubles, up to ``max_ttl`` (30 days); a rejection evicts it. A new model version misses
naturally (the version is part of the lookup). Keys carry the user id, the fingerprint
key and the model version only: never a raw value or a column name.

``InProcessCache`` is a bounded LRU for the embedded mode; ``RedisCache`` is shared by
worker replicas in production. Both take a ``clock`` so tests need not sleep.

>>> c = InProcessCache(clock=lambda: 0.0)
>>> c.ttl_for(accepts=0), c.ttl_for(accepts=3)
(3600.0, 28800.0)
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import orjson
import redis

from aurora_stream.recommend.decision import Recommendation

HOUR = 3600.0
DAY = 24 * HOUR
Clock = Callable[[], float]


@runtime_checkable
class Cache(Protocol):
    """What the recommender needs from a cache."""

    def get(self, user_id: str, key: str, model_version: str) -> Recommendation | None: ...

    def put(self, user_id: str, key: str, model_version: str, rec: Recommendation) -> None: ...

    def record_outcome(self, user_id: str, key: str, accepted: bool) -> None: ...

    def invalidate_user(self, user_id: str) -> None: ...


class _TTLPolicy:
    def __init__(self, base_ttl: float, max_ttl: float) -> None:
        self.base_ttl = base_ttl
        self.max_ttl = max_ttl

    def ttl_for(self, accepts: int) -> float:
        """Base TTL doubled per acceptance, capped."""
        return float(min(self.base_ttl * (2 ** min(accepts, 64)), self.max_ttl))


@dataclass
class _Entry:
    version: str
    rec: Recommendation
    accepts: int
    expires_at: float


class InProcessCache(_TTLPolicy):
    """Bounded LRU with per-entry TTL, in this process only."""

    def __init__(
        self,
        max_entries: int = 100_000,
        base_ttl: float = HOUR,
        max_ttl: float = 30 * DAY,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(base_ttl, max_ttl)
        self.max_entries = max_entries
        self.clock = clock
        self._data: OrderedDict[tuple[str, str], _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._data)

    def get(self, user_id: str, key: str, model_version: str) -> Recommendation | None:
        k = (user_id, key)
        e = self._data.get(k)
        if e is None:
            return None
        if e.expires_at <= self.clock():
            del self._data[k]
            return None
        if e.version != model_version:
            return None
        self._data.move_to_end(k)
        return e.rec

    def put(self, user_id: str, key: str, model_version: str, rec: Recommendation) -> None:
        k = (user_id, key)
        old = self._data.get(k)
        accepts = old.accepts if old is not None and old.version == model_version else 0
        self._data[k] = _Entry(model_version, rec, accepts, self.clock() + self.ttl_for(accepts))
        self._data.move_to_end(k)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)

    def ttl_remaining(self, user_id: str, key: str) -> float | None:
        e = self._data.get((user_id, key))
        return None if e is None else e.expires_at - self.clock()

    def record_outcome(self, user_id: str, key: str, accepted: bool) -> None:
        k = (user_id, key)
        e = self._data.get(k)
        if e is None:
            return
        if not accepted:
            del self._data[k]
            return
        e.accepts += 1
        e.expires_at = self.clock() + self.ttl_for(e.accepts)

    def invalidate_user(self, user_id: str) -> None:
        for k in [k for k in self._data if k[0] == user_id]:
            del self._data[k]


class RedisCache(_TTLPolicy):
    """Cache in Redis: one JSON value per (user, key) with a native TTL.

    Key layout: ``{prefix}:{sha256(user)[:16]}:{fingerprint_key}`` holding
    ``{"v": model_version, "a": accepts, "r": recommendation}``; the hashed user id keeps
    glob characters out of the ``SCAN`` used by ``invalidate_user``.
    """

    def __init__(
        self,
        url_or_client: str | redis.Redis,
        prefix: str = "aurora:rec",
        base_ttl: float = HOUR,
        max_ttl: float = 30 * DAY,
        socket_timeout: float = 1.0,
    ) -> None:
        super().__init__(base_ttl, max_ttl)
        self.r = (
            redis.Redis.from_url(url_or_client, socket_timeout=socket_timeout,
                                 socket_connect_timeout=socket_timeout)
            if isinstance(url_or_client, str)
            else url_or_client
        )
        self.prefix = prefix

    def _user(self, user_id: str) -> str:
        return hashlib.sha256(user_id.encode()).hexdigest()[:16]

    def _key(self, user_id: str, key: str) -> str:
        return f"{self.prefix}:{self._user(user_id)}:{key}"

    def _load(self, k: str) -> dict | None:
        raw = self.r.get(k)
        return None if raw is None else orjson.loads(raw)

    def get(self, user_id: str, key: str, model_version: str) -> Recommendation | None:
        doc = self._load(self._key(user_id, key))
        if doc is None or doc["v"] != model_version:
            return None
        return Recommendation.from_dict(doc["r"])

    def put(self, user_id: str, key: str, model_version: str, rec: Recommendation) -> None:
        k = self._key(user_id, key)
        old = self._load(k)
        accepts = int(old["a"]) if old is not None and old["v"] == model_version else 0
        doc = {"v": model_version, "a": accepts, "r": rec.to_dict()}
        self.r.set(k, orjson.dumps(doc), px=int(self.ttl_for(accepts) * 1000))

    def ttl_remaining(self, user_id: str, key: str) -> float | None:
        ms = self.r.pttl(self._key(user_id, key))
        return None if ms < 0 else ms / 1000

    def record_outcome(self, user_id: str, key: str, accepted: bool) -> None:
        k = self._key(user_id, key)
        if not accepted:
            self.r.delete(k)
            return
        with self.r.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(k)
                    raw = pipe.get(k)
                    if raw is None:
                        pipe.unwatch()
                        return
                    doc = orjson.loads(raw)
                    doc["a"] = int(doc["a"]) + 1
                    pipe.multi()
                    pipe.set(k, orjson.dumps(doc), px=int(self.ttl_for(doc["a"]) * 1000))
                    pipe.execute()
                    return
                except redis.WatchError:
                    continue

    def invalidate_user(self, user_id: str) -> None:
        pattern = f"{self.prefix}:{self._user(user_id)}:*"
        batch: list[bytes] = []
        for k in self.r.scan_iter(match=pattern, count=500):
            batch.append(k)
            if len(batch) >= 500:
                self.r.delete(*batch)
                batch.clear()
        if batch:
            self.r.delete(*batch)


class DegradingCache:
    """Any cache, made optional: an error of the wrapped cache (Redis down, a timeout) is
    logged, counted through ``on_error`` and treated as a miss or a no-op, so a cache outage
    never stops a recommendation or a correction (the cache is an optimisation).

    >>> c = DegradingCache(RedisCache("redis://127.0.0.1:1/0", socket_timeout=0.2))
    >>> c.get("ann", "k", "v1") is None, c.errors > 0
    (True, True)
    """

    def __init__(self, inner: Cache, on_error: Callable[[Exception], None] | None = None,
                 log_every: float = 30.0) -> None:
        self.inner = inner
        self.on_error = on_error
        self.errors = 0
        self.log_every = log_every
        self._last_log = -float("inf")

    def _failed(self, what: str, exc: Exception) -> None:
        import logging

        self.errors += 1
        if self.on_error is not None:
            self.on_error(exc)
        now = time.monotonic()
        if now - self._last_log >= self.log_every:
            self._last_log = now
            logging.getLogger("aurora.cache").warning(
                "L0 cache unavailable (%s: %s); serving without it", what, exc)

    def get(self, user_id: str, key: str, model_version: str) -> Recommendation | None:
        try:
            return self.inner.get(user_id, key, model_version)
        except Exception as exc:
            self._failed("get", exc)
            return None

    def put(self, user_id: str, key: str, model_version: str, rec: Recommendation) -> None:
        try:
            self.inner.put(user_id, key, model_version, rec)
        except Exception as exc:
            self._failed("put", exc)

    def record_outcome(self, user_id: str, key: str, accepted: bool) -> None:
        try:
            self.inner.record_outcome(user_id, key, accepted)
        except Exception as exc:
            self._failed("record_outcome", exc)

    def invalidate_user(self, user_id: str) -> None:
        try:
            self.inner.invalidate_user(user_id)
        except Exception as exc:
            self._failed("invalidate_user", exc)

    def __getattr__(self, name: str):  # ttl_remaining, __len__ helpers of the inner cache
        return getattr(self.inner, name)
