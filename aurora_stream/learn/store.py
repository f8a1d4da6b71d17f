"""Durable, tamper-evident storage for learned state (rules, models, budgets, seen ids).

Every blob is signed: ``MAGIC (4 bytes) | format version (1 byte) | HMAC-SHA256 (32 bytes)
| payload``, the MAC covering the magic, the version, the blob's *name* and the payload
(so a valid blob cannot be moved under another name either). ``load`` verifies the MAC
before returning anything; a tampered, truncated or unsigned blob raises
``TamperedStateError`` naming the file or key. Callers may unpickle River models only
from bytes returned by ``load`` (never from anything unverified).

The key (32 random bytes) comes from ``AURORA_STATE_KEY`` (hex), which production sets
for every worker (they must share it). In the embedded mode, without that variable, it is
generated once into ``$AURORA_HOME/state.key`` (hex, mode 0600) and reused; a key file
readable by group or others is refused, as ssh does. Losing the key makes saved state
unreadable (it raises, it is never silently trusted): learning starts over.

>>> import tempfile
>>> store = DirectoryStore(Path(tempfile.mkdtemp()), b"k" * 32)
>>> store.save("rules", b"{}"); store.load("rules"), store.load("missing")
(b'{}', None)
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path
from typing import Protocol, runtime_checkable

import redis

from aurora_stream.config import aurora_home

MAGIC = b"AUST"
FORMAT_VERSION = 1
_HEADER = len(MAGIC) + 1 + 32
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
KEY_ENV = "AURORA_STATE_KEY"  # read in config.py


class TamperedStateError(RuntimeError):
    """A stored blob failed its signature check (modified, truncated, unsigned, wrong key)."""


@runtime_checkable
class StateStore(Protocol):
    """Named, signed blobs: what the learner needs to survive a restart."""

    def load(self, name: str) -> bytes | None: ...

    def save(self, name: str, data: bytes) -> None: ...


def sign(key: bytes, name: str, payload: bytes) -> bytes:
    """The signed blob for ``payload`` stored under ``name``."""
    head = MAGIC + bytes([FORMAT_VERSION])
    mac = hmac.new(key, head + name.encode() + b"\0" + payload, hashlib.sha256).digest()
    return head + mac + payload


def verify(key: bytes, name: str, blob: bytes, where: str) -> bytes:
    """The payload of a signed blob, or ``TamperedStateError`` naming ``where``."""
    if len(blob) < _HEADER or not blob.startswith(MAGIC):
        raise TamperedStateError(f"{where}: not a signed AURORA state blob (refusing to load it)")
    if blob[len(MAGIC)] != FORMAT_VERSION:
        raise TamperedStateError(f"{where}: unknown state format version {blob[len(MAGIC)]}")
    payload = blob[_HEADER:]
    if not hmac.compare_digest(sign(key, name, payload)[:_HEADER], blob[:_HEADER]):
        raise TamperedStateError(
            f"{where}: HMAC check failed (file modified, truncated or written with another "
            f"{KEY_ENV}); refusing to load it"
        )
    return payload


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"invalid state name {name!r} (letters, digits, _ . - only)")
    return name


class DirectoryStore:
    """Signed blobs as files ``<root>/<name>.state``, written atomically (tmp, fsync, rename,
    fsync of the directory), so a crash leaves the old or the new blob, never half of one."""

    def __init__(self, root: Path, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("state key must be at least 16 bytes")
        self.root = Path(root)
        self.key = key

    def path(self, name: str) -> Path:
        return self.root / f"{_check_name(name)}.state"

    def load(self, name: str) -> bytes | None:
        p = self.path(name)
        try:
            blob = p.read_bytes()
        except FileNotFoundError:
            return None
        return verify(self.key, name, blob, str(p))

    def save(self, name: str, data: bytes) -> None:
        p = self.path(name)
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(sign(self.key, name, data))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, p)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        dfd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


class RedisStore:
    """Signed blobs as Redis strings ``<prefix>:<name>`` (one ``SET`` each: atomic), shared by
    worker replicas; same contract as ``DirectoryStore``."""

    def __init__(self, url_or_client: str | redis.Redis, key: bytes,
                 prefix: str = "aurora:state") -> None:
        if len(key) < 16:
            raise ValueError("state key must be at least 16 bytes")
        self.r = (redis.Redis.from_url(url_or_client) if isinstance(url_or_client, str)
                  else url_or_client)
        self.key = key
        self.prefix = prefix

    def _k(self, name: str) -> str:
        return f"{self.prefix}:{_check_name(name)}"

    def load(self, name: str) -> bytes | None:
        k = self._k(name)
        blob = self.r.get(k)
        return None if blob is None else verify(self.key, name, bytes(blob), f"redis key {k}")

    def save(self, name: str, data: bytes) -> None:
        self.r.set(self._k(name), sign(self.key, name, data))


def state_key(home: Path | None = None, env: str | None = None) -> bytes:
    """The state-signing key: ``env`` (``Settings.state_key``, from ``AURORA_STATE_KEY``,
    hex) if set, else ``<home>/state.key`` (default ``$AURORA_HOME``), created once with
    mode 0600 (see the module docstring)."""
    if env:
        try:
            key = bytes.fromhex(env.strip())
        except ValueError as e:
            raise ValueError(f"{KEY_ENV} must be hex") from e
        if len(key) < 16:
            raise ValueError(f"{KEY_ENV} must hold at least 16 bytes (32 hex digits)")
        return key
    path = (home or aurora_home()) / "state.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # written whole under a temporary name, then linked into place (atomic, and refused
        # if another process got there first): a concurrent first run never reads a
        # half-written key, and a crash never leaves an empty one behind
        tmp = path.with_name(f".state.key.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32) + "\n")
                f.flush()
                os.fsync(f.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise PermissionError(
            f"{path} is readable by others (mode {mode:o}); run: chmod 600 {path}"
        ) from None
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    """The key in ``path``, or a one-line ValueError that names the file and the way out."""
    way_out = (f"restore it, or remove it together with the state it signed "
               f"({path.parent / 'state'}): learning then starts over")
    try:
        key = bytes.fromhex(path.read_text().strip())
    except (ValueError, UnicodeDecodeError):
        raise ValueError(f"{path} does not hold a hex key; {way_out}") from None
    if len(key) < 16:
        raise ValueError(f"{path} holds a key of {len(key)} bytes (at least 16 are "
                         f"needed); {way_out}")
    return key
