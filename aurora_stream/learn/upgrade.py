"""Upgrade learned state written by release 0.1.0, once, with a message.

0.1.0 kept a full snapshot (``state/learner.state``: the whole model bank with the prior
and every user, all learned rules, all duels, all budgets, all seen ids) plus per-user
blobs written after it (``user-<hash>.state``, a ``{"user": ...}`` line and five framed
parts). ``upgrade_home`` splits the snapshot into one ``UserState`` per user (a per-user
blob newer than the snapshot wins, as 0.1.0's own restore did), saves them and the prior
in the current format, and renames the snapshot to ``learner.state.0.1.0.bak``. Per-user
0.1.0 blobs without a snapshot need no step: ``UserState.from_bytes`` reads them.
"""

from __future__ import annotations

import pickle

import orjson
import zstandard

from aurora_stream.learn.prior_state import PRIOR_NAME, prior_to_bytes
from aurora_stream.learn.state import UserState, store_name, unframe_v1
from aurora_stream.learn.store import DirectoryStore
from aurora_stream.recommend.models import ModelBank

V1_SNAPSHOT = "learner"


def upgrade_home(store: DirectoryStore) -> str | None:
    """Upgrade a 0.1.0 snapshot in ``store`` if there is one; returns the message to show."""
    path = store.path(V1_SNAPSHOT)
    if not path.exists():
        return None
    since = path.stat().st_mtime_ns
    data = store.load(V1_SNAPSHOT)  # signature checked
    assert data is not None
    parts = unframe_v1(data)
    bank = ModelBank.from_bytes(parts["models"])
    rules = orjson.loads(parts["rules"])["users"]
    duels = pickle.loads(zstandard.ZstdDecompressor().decompress(parts["champion"]))["duels"]
    privacy = orjson.loads(parts["privacy"])
    seen: dict[str, list[str]] = {}
    for cid, user in orjson.loads(parts["seen"]):
        seen.setdefault(str(user), []).append(str(cid))
    users = set(bank.users) | set(rules) | set(duels) | set(privacy["days"]) | set(seen)
    for u in sorted(users):
        newer = store.path(store_name(u))
        if newer.exists() and newer.stat().st_mtime_ns >= since:
            blob = store.load(store_name(u))
            if blob is not None and not blob.startswith(b"AUU2"):
                store.save(store_name(u), UserState.from_bytes(blob).to_bytes())
                continue
        budget = {"days": privacy["days"].get(u, {}),
                  "shared_total": privacy["shared_total"].get(u, 0)}
        state = UserState(u, bank.users.get(u), duels.get(u), rules.get(u, {}), budget,
                          seen.get(u, []))
        store.save(store_name(u), state.to_bytes())
    store.save(PRIOR_NAME, prior_to_bytes(bank, []))
    backup = path.with_name(path.name + ".0.1.0.bak")
    path.replace(backup)
    return (f"upgraded learned state of release 0.1.0 ({len(users)} users, "
            f"{bank.prior_version()}); the old snapshot is kept as {backup}")
