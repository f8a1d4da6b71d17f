"""Registry of issued credentials and their revocation: which ``jti`` belongs to whom and
whether it is revoked.

Two backends behind one small interface (``add``, ``credentials``, ``revoke``, ``status``):
a JSON file in AURORA_HOME/identity (embedded mode), or Redis when ``AURORA_REDIS_URL`` is
set, so that every worker sees a revocation (hash ``aurora:identity:credentials``, field =
jti, value = JSON of the credential).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

from aurora_stream.config import Settings
from aurora_stream.identity.files import identity_dir, write_private
from aurora_stream.identity.tokens import Issued

OK, REVOKED, UNKNOWN = "ok", "revoked", "unknown"
REDIS_KEY = "aurora:identity:credentials"


def _issued(d: dict) -> Issued:
    return Issued(str(d["user"]), str(d["jti"]), float(d["issued_at"]), float(d["expires_at"]),
                  bool(d.get("revoked", False)))


class FileBackend:
    """``users.json`` (0600) in AURORA_HOME/identity; writers take an flock, readers reload
    only when the file changed (a stat per call)."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "users.json"
        self.lock_path = directory / "users.lock"
        self._stamp: tuple[int, int] | None = None
        self._cache: dict[str, dict] = {}

    def _read(self) -> dict[str, dict]:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._stamp, self._cache = None, {}
            return self._cache
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            try:
                data = orjson.loads(self.path.read_bytes())
            except orjson.JSONDecodeError:
                raise ValueError(f"{self.path} is not valid JSON; restore it or remove it "
                                 "(and re-issue every credential)") from None
            self._cache, self._stamp = dict(data.get("credentials", {})), stamp
        return self._cache

    @contextmanager
    def _locked(self) -> Iterator[dict[str, dict]]:
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._stamp = None
            creds = dict(self._read())
            yield creds
            write_private(self.path, orjson.dumps({"credentials": creds},
                                                  option=orjson.OPT_INDENT_2))
        finally:
            os.close(fd)

    def put(self, item: Issued) -> None:
        with self._locked() as creds:
            creds[item.jti] = item.as_dict()

    def all(self) -> list[Issued]:
        return [_issued(d) for d in self._read().values()]

    def revoke_user(self, user: str) -> list[str]:
        with self._locked() as creds:
            hit = [j for j, d in creds.items() if d["user"] == user and not d.get("revoked")]
            for j in hit:
                creds[j] = {**creds[j], "revoked": True}
        return hit

    def get(self, jti: str) -> Issued | None:
        d = self._read().get(jti)
        return _issued(d) if d else None


class RedisBackend:
    """One Redis hash; revocation is one HSET, seen by every worker at its next check."""

    def __init__(self, url: str) -> None:
        import redis

        self.r = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)

    def put(self, item: Issued) -> None:
        self.r.hset(REDIS_KEY, item.jti, orjson.dumps(item.as_dict()))

    def all(self) -> list[Issued]:
        return [_issued(orjson.loads(v)) for v in self.r.hgetall(REDIS_KEY).values()]

    def revoke_user(self, user: str) -> list[str]:
        hit = []
        for item in self.all():
            if item.user == user and not item.revoked:
                d = {**item.as_dict(), "revoked": True}
                self.r.hset(REDIS_KEY, item.jti, orjson.dumps(d))
                hit.append(item.jti)
        return hit

    def get(self, jti: str) -> Issued | None:
        v = self.r.hget(REDIS_KEY, jti)
        return _issued(orjson.loads(v)) if v else None


class Registry:
    """Issued credentials and revocations; ``status(jti)`` is what the verifier asks."""

    def __init__(self, backend: FileBackend | RedisBackend) -> None:
        self.backend = backend

    @classmethod
    def from_settings(cls, settings: Settings) -> Registry:
        """Redis when a Redis URL is configured (every worker sees a revocation), else the
        file in AURORA_HOME."""
        if settings.redis_url and not settings.identity_dir:
            return cls(RedisBackend(settings.redis_url))
        return cls(FileBackend(identity_dir(settings)))

    def add(self, item: Issued) -> None:
        self.backend.put(item)

    def credentials(self) -> list[Issued]:
        """Every credential ever issued, oldest first."""
        return sorted(self.backend.all(), key=lambda i: (i.issued_at, i.user))

    def revoke(self, user: str) -> list[str]:
        """Revoke every live credential of ``user``; returns the revoked jtis."""
        return self.backend.revoke_user(user)

    def status(self, jti: str, user: str) -> str:
        """``ok``, ``revoked``, or ``unknown`` (never issued here, or issued to another)."""
        item = self.backend.get(jti)
        if item is None or item.user != user:
            return UNKNOWN
        return REVOKED if item.revoked else OK
