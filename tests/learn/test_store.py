"""Signed, atomic state storage: round trips, tampering, keys, and the Redis twin."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import redis

from aurora_stream.learn.store import (
    KEY_ENV,
    DirectoryStore,
    RedisStore,
    TamperedStateError,
    state_key,
)

KEY = bytes(range(32))


def test_round_trip_and_missing(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "state", KEY)
    assert store.load("models") is None
    store.save("models", b"\x00pickled\xff" * 100)
    store.save("models", b"second")
    assert store.load("models") == b"second"
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == ["models.state"]
    assert stat.S_IMODE(store.path("models").stat().st_mode) == 0o600


@pytest.mark.parametrize("position", [0, 5, 20, -1])
def test_any_flipped_byte_is_refused_naming_the_file(tmp_path: Path, position: int) -> None:
    store = DirectoryStore(tmp_path, KEY)
    store.save("rules", b'{"rules": []}')
    path = store.path("rules")
    blob = bytearray(path.read_bytes())
    blob[position] ^= 0x01
    path.write_bytes(bytes(blob))
    with pytest.raises(TamperedStateError, match=str(path)):
        store.load("rules")


def test_unsigned_renamed_truncated_and_wrong_key_are_refused(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path, KEY)
    store.path("plain").write_bytes(b'{"rules": []}')
    with pytest.raises(TamperedStateError, match="not a signed"):
        store.load("plain")
    store.save("a", b"payload of a")
    os.replace(store.path("a"), store.path("b"))  # a valid blob under another name
    with pytest.raises(TamperedStateError, match="HMAC"):
        store.load("b")
    store.save("c", b"payload of c")
    store.path("c").write_bytes(store.path("c").read_bytes()[:-3])
    with pytest.raises(TamperedStateError):
        store.load("c")
    store.save("d", b"payload of d")
    with pytest.raises(TamperedStateError):
        DirectoryStore(tmp_path, b"another key 16+ bytes").load("d")


def test_names_cannot_escape_the_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        DirectoryStore(tmp_path, KEY).save("../outside", b"x")


def test_state_key_setting_then_generated_file(aurora_home: Path, monkeypatch) -> None:
    from aurora_stream.config import Settings

    monkeypatch.setenv(KEY_ENV, "ab" * 32)
    assert state_key(env=Settings.from_env().state_key) == bytes([0xAB]) * 32
    monkeypatch.delenv(KEY_ENV)
    key = state_key(env=Settings.from_env().state_key)
    path = aurora_home / "state.key"
    assert len(key) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert state_key() == key  # generated once, then reused
    path.chmod(0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        state_key()


@pytest.mark.parametrize("content,why", [("not hex at all", "does not hold a hex key"),
                                         ("", "key of 0 bytes"), ("00", "key of 1 bytes")])
def test_a_damaged_state_key_is_one_line_naming_the_file_and_the_way_out(
        aurora_home: Path, content: str, why: str) -> None:
    """A garbled state.key was 'non-hexadecimal number found in fromhex() arg at position 0'
    (no file named; found by bench/adversarial.py); an empty one, as a crash between
    creating and writing it used to leave, refused the home for good with no hint."""
    path = aurora_home / "state.key"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(ValueError, match=why) as exc:
        state_key()
    assert str(path) in str(exc.value) and "remove it together with the state" in str(exc.value)


def test_concurrent_first_uses_of_a_home_get_one_whole_key(aurora_home: Path) -> None:
    """Processes creating state.key at once all read the same whole key (it is written
    under a temporary name and linked into place, never seen half written)."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    with ctx.Pool(6) as pool:
        keys = pool.map(_key_of, [str(aurora_home)] * 6)
    assert len(set(keys)) == 1 and len(keys[0]) == 32
    assert [p.name for p in aurora_home.iterdir() if p.name.startswith(".state.key")] == []


def _key_of(home: str) -> bytes:
    return state_key(Path(home))


def test_redis_store_same_contract(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    store = RedisStore(client, KEY, prefix="test-learn-store")
    assert store.load("learner") is None
    store.save("learner", b"state bytes")
    assert RedisStore(redis_url, KEY, prefix="test-learn-store").load("learner") == b"state bytes"
    blob = bytearray(client.get("test-learn-store:learner"))
    blob[-1] ^= 0x01
    client.set("test-learn-store:learner", bytes(blob))
    with pytest.raises(TamperedStateError, match="test-learn-store:learner"):
        store.load("learner")
