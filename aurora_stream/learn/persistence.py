"""How a worker keeps its learned state: restore at start, save after every batch.

The full snapshot (shared prior included, ~0.5 MB) is written when the prior changed or
every ``full_every`` seconds; after every batch of corrections only the touched users'
blobs are written (a few ms each). At start the full snapshot is loaded first, then every
user blob newer than it, so a user's latest corrections always win.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from pathlib import Path

import orjson

from aurora_stream.learn.champion import ChampionChallenger
from aurora_stream.learn.learner import STATE_NAME, Learner
from aurora_stream.learn.rules import LearnedRules
from aurora_stream.learn.store import DirectoryStore, state_key
from aurora_stream.privacy.dp import PrivacyGuard
from aurora_stream.recommend.prior import load_prior


def build_learner(home: Path, cache: object, *, epsilon_per_day: float = 1.0,
                  rule_support: int = 3) -> Learner:
    """A learner over the shipped prior, restored from ``home/state`` when it exists."""
    store = DirectoryStore(home / "state", state_key(home))
    learner = Learner(load_prior(), LearnedRules(k=rule_support), cache,
                      PrivacyGuard(daily_budget=epsilon_per_day), ChampionChallenger(), store)
    restore(learner)
    return learner


def restore(learner: Learner) -> None:
    """Full snapshot, then every per-user blob written after it (signature-checked)."""
    store = learner.store
    assert isinstance(store, DirectoryStore)
    learner.restore()
    full = store.path(STATE_NAME)
    since = full.stat().st_mtime_ns if full.exists() else 0
    for path in sorted(store.root.glob("user-*.state")) if store.root.exists() else ():
        if path.stat().st_mtime_ns >= since:
            data = store.load(path.stem)
            if data is not None:
                head, _, body = data.partition(b"\n")
                learner.load_user_bytes(orjson.loads(head)["user"], body)


def save_user(learner: Learner, user_id: str) -> None:
    """One user's state, signed, with the user id inside (the file name is a hash of it)."""
    assert learner.store is not None
    name = f"user-{hashlib.sha256(user_id.encode()).hexdigest()[:16]}"
    learner.store.save(name, orjson.dumps({"user": user_id}) + b"\n"
                       + learner.user_to_bytes(user_id))


class Saver:
    """Saves what a batch of corrections changed; cheap enough to run after every batch."""

    def __init__(self, learner: Learner, full_every: float = 30.0) -> None:
        self.learner = learner
        self.full_every = full_every
        self.last_full = time.monotonic()

    def save(self, users: Iterable[str], prior_changed: bool) -> None:
        now = time.monotonic()
        if prior_changed or now - self.last_full > self.full_every:
            self.learner.snapshot()
            self.last_full = now
            return
        for user in set(users):
            save_user(self.learner, user)
