"""Where a worker's learned state lives, and the learner built over it.

Users' state (``UserState``, one signed blob per user) goes to the *user store*: the local
``AURORA_HOME/state`` directory in the embedded mode, or Redis that every worker reaches
in production. The shared prior goes to the worker's local store (every worker learns the
same updates from ``aurora.prior-updates``). A 0.1.0 snapshot is upgraded once on the way.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from aurora_stream.learn.champion import ChampionChallenger
from aurora_stream.learn.learner import Learner
from aurora_stream.learn.rules import LearnedRules
from aurora_stream.learn.store import DirectoryStore, RedisStore, StateStore, state_key
from aurora_stream.learn.upgrade import upgrade_home
from aurora_stream.privacy.dp import PrivacyGuard
from aurora_stream.recommend.prior import load_prior

log = logging.getLogger("aurora.learn")


def local_store(home: Path, key_hex: str | None = None) -> DirectoryStore:
    """The signed store in ``home/state``. If the key file was deleted, the state signed
    with it can never be verified again: it is moved aside (never deleted) and learning
    starts over, with a message, instead of refusing every command for good."""
    state = home / "state"
    if key_hex is None and not (home / "state.key").exists() and any(state.glob("*.state")):
        aside = home / f"state.unverifiable-{time.strftime('%Y%m%d-%H%M%S')}"
        state.rename(aside)
        message = (f"{home / 'state.key'} is missing, so the learned state signed with it "
                   f"cannot be verified: moved to {aside}; learning starts over (restore the "
                   f"key file and move the directory back to recover it)")
        log.warning(message)
        print(message, file=sys.stderr)
    return DirectoryStore(state, state_key(home, key_hex))


def user_store(home: Path, *, redis_url: str | None, key_hex: str | None) -> StateStore:
    """Redis when a URL is given (shared by every worker; they must share the key),
    else the local store."""
    if redis_url:
        if not key_hex:
            raise ValueError("workers that share learned state through Redis must share one "
                             "signing key: set AURORA_STATE_KEY (64 hex digits, e.g. from "
                             "`python -c 'import secrets; print(secrets.token_hex(32))'`) "
                             "on every worker")
        return RedisStore(redis_url, state_key(home, key_hex))
    return local_store(home, key_hex)


def build_learner(home: Path, cache: object, *, epsilon_per_day: float = 1.0,
                  rule_support: int = 3, redis_url: str | None = None,
                  key_hex: str | None = None, on_cache_error=None,
                  dp_mechanism: str = "aggregate", dp_release_users: int = 1000) -> Learner:
    """A learner over the shipped prior (or the saved one), with users loaded on demand."""
    local = local_store(home, key_hex)
    message = upgrade_home(local)
    if message:
        log.warning(message)
        print(message, file=sys.stderr)
    users = user_store(home, redis_url=redis_url, key_hex=key_hex) if redis_url else local
    learner = Learner(load_prior(), LearnedRules(k=rule_support), cache,  # type: ignore[arg-type]
                      PrivacyGuard(daily_budget=epsilon_per_day, mechanism=dp_mechanism),
                      ChampionChallenger(), store=users, prior_store=local,
                      on_cache_error=on_cache_error, release_users=dp_release_users)
    learner.load_prior_state()
    return learner
