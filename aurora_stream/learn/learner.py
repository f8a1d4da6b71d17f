"""The learner: applies one correction or acceptance to everything that learns.

``Learner.apply(event)`` is all the learn agent calls (plus ``snapshot`` now and then).
For a **correction** (``accepted=False``; the corrected fields that are ``None`` keep the
recommended value) it, in order:

1. drops the event if its ``correction_id`` was seen (at-least-once delivery: a replay
   changes nothing; the last ``max_seen`` ids are kept and persisted with the state);
2. tests the champion and challenger, then trains the user's models at once
   (``ModelBank.learn_one(..., user_id)`` via L5 ``ChampionChallenger.observe``);
3. records the evidence for the user's learned rules of that region and induces a new
   rule after ``k`` consistent corrections (``LearnedRules.learn_one``);
4. evicts the corrected cache entry (``cache.record_outcome(..., False)``) and the user's
   other entries (``invalidate_user``: their model version changed);
5. shares a privatized example with the global prior if the user's budget allows
   (``PrivacyGuard.share``) and applies it to the local prior; the returned
   ``PriorUpdate`` is what other workers must apply too.

An **acceptance** trains nothing (so the cached answer keeps its version and its TTL
doubles): it extends the cache entry, counts a success for the deciding learned rule, and
is a test-only event for the champion/challenger window.

State (models, rules, duels, budgets, seen ids) is saved as ONE signed blob, so a crash
never leaves the parts out of step (``snapshot`` / ``restore``).
"""

from __future__ import annotations

import hashlib
import pickle
import struct
from collections import OrderedDict
from dataclasses import dataclass, field

import orjson

from aurora_stream.learn.champion import ChampionChallenger, ModelSwitch
from aurora_stream.learn.rules import LearnedRules, Rule
from aurora_stream.learn.store import StateStore
from aurora_stream.privacy.dp import PriorUpdate, PrivacyGuard
from aurora_stream.recommend.cache import Cache
from aurora_stream.recommend.models import ModelBank
from aurora_stream.vocab import FEATURE_TYPES, IMPUTATIONS, TRANSFORMATIONS

STATE_NAME = "learner"
_PARTS = ("models", "rules", "champion", "privacy", "seen")
_USER_PARTS = ("models", "rules", "champion", "privacy", "seen")


class InvalidCorrection(ValueError):
    """The event names labels outside the vocabularies (send it to the dead-letter topic)."""


@dataclass(frozen=True)
class Triple:
    feature_type: str
    transformation: str
    imputation: str


@dataclass(frozen=True)
class Correction:
    """A person's verdict on one recommendation (no raw value, no column name)."""

    correction_id: str
    user_id: str
    recommendation_id: str
    fingerprint: dict[str, float]
    fingerprint_key: str
    model_version: str
    recommended: Triple
    layer: str  # layer that decided the recommendation (e.g. "L1-learned-rule")
    provenance: str  # rule id or model version that decided
    accepted: bool = False
    corrected_feature_type: str | None = None
    corrected_transformation: str | None = None
    corrected_imputation: str | None = None

    def label(self) -> dict[str, str]:
        """The triple the user wants; a transformation that no longer fits a changed type
        is left out (unknown) rather than invented."""
        ft = self.corrected_feature_type or self.recommended.feature_type
        t = self.corrected_transformation or self.recommended.transformation
        i = self.corrected_imputation or self.recommended.imputation
        if ft not in FEATURE_TYPES:
            raise InvalidCorrection(f"unknown feature type {ft!r}")
        if i not in IMPUTATIONS:
            raise InvalidCorrection(f"unknown imputation {i!r}")
        y = {"feature_type": ft, "imputation": i}
        if t in TRANSFORMATIONS[ft]:
            y["transformation"] = t
        elif self.corrected_transformation is not None:
            raise InvalidCorrection(f"transformation {t!r} does not fit type {ft!r}")
        return y


@dataclass
class LearnOutcome:
    """What one ``apply`` did (for metrics, logs and the events the agent publishes)."""

    correction_id: str
    user_id: str
    duplicate: bool = False
    learned: bool = False
    label: dict[str, str] = field(default_factory=dict)
    rule_induced: Rule | None = None
    prior_update: PriorUpdate | None = None
    switch: ModelSwitch | None = None
    model_version: str = ""


class Learner:
    """Applies corrections to the model bank, learned rules, cache, L5 duels and the DP
    prior (see the module docstring)."""

    def __init__(self, bank: ModelBank, rules: LearnedRules | None = None,
                 cache: Cache | None = None, privacy: PrivacyGuard | None = None,
                 champion: ChampionChallenger | None = None, store: StateStore | None = None,
                 max_seen: int = 100_000) -> None:
        self.bank = bank
        self.rules = rules if rules is not None else LearnedRules()
        self.cache = cache
        self.privacy = privacy if privacy is not None else PrivacyGuard()
        self.champion = champion if champion is not None else ChampionChallenger()
        self.store = store
        self.max_seen = max_seen
        self._seen: OrderedDict[str, str] = OrderedDict()  # correction id -> user

    def seen(self, correction_id: str) -> bool:
        return correction_id in self._seen

    def apply(self, event: Correction) -> LearnOutcome:
        """Apply one correction or acceptance, once (see the module docstring)."""
        out = LearnOutcome(event.correction_id, event.user_id)
        if event.correction_id in self._seen:
            out.duplicate = True
            out.model_version = self.bank.version(event.user_id)
            return out
        y = event.label()  # validates before anything changes
        user, fp = event.user_id, dict(event.fingerprint)
        rule_id = event.provenance if event.provenance.startswith("L1-") else None
        if event.accepted:
            if self.cache is not None:
                self.cache.record_outcome(user, event.fingerprint_key, True)
            if rule_id is not None:
                self.rules.record_outcome(rule_id, True)
            out.switch = self.champion.observe(self.bank, fp, y, user, learn=False)
        else:
            out.switch = self.champion.observe(self.bank, fp, y, user, learn=True)
            out.learned = True
            out.rule_induced = self.rules.learn_one(fp, y, user)
            update = self.privacy.share(user, fp, y["feature_type"])
            if update is not None:
                self.apply_prior_update(update)
                out.prior_update = update
            if self.cache is not None:
                self.cache.record_outcome(user, event.fingerprint_key, False)
        if self.cache is not None and (out.learned or out.switch is not None):
            self.cache.invalidate_user(user)
        out.label = y
        out.model_version = self.bank.version(user)
        self._remember(event.correction_id, user)
        return out

    def apply_prior_update(self, update: PriorUpdate) -> None:
        """Learn one privatized example into the shared prior (also for updates published
        by other workers)."""
        self.bank.learn_one(update.fingerprint, update.label, "", to_prior=True)

    def _remember(self, correction_id: str, user_id: str) -> None:
        self._seen[correction_id] = user_id
        while len(self._seen) > self.max_seen:
            self._seen.popitem(last=False)

    # --- state ------------------------------------------------------------------------
    def user_to_bytes(self, user_id: str) -> bytes:
        """One user's learned state (models, rules, duel, budget, seen ids), framed; sign it.
        For multi-worker deployments, where users move between workers (the shared
        prior is rebuilt from published ``PriorUpdate``s, not saved here)."""
        learners = self.bank.users.get(user_id)
        parts = {
            "models": pickle.dumps(learners, protocol=pickle.HIGHEST_PROTOCOL),
            "rules": self.rules.user_to_bytes(user_id),
            "champion": self.champion.user_to_bytes(user_id),
            "privacy": self.privacy.user_to_bytes(user_id),
            "seen": orjson.dumps([c for c, u in self._seen.items() if u == user_id]),
        }
        return _frame(parts, _USER_PARTS)

    def load_user_bytes(self, user_id: str, data: bytes) -> None:
        """Inverse of ``user_to_bytes``: only for signature-verified bytes (it unpickles)."""
        parts = _unframe(data, _USER_PARTS)
        learners = pickle.loads(parts["models"])
        if learners is None:
            self.bank.users.pop(user_id, None)
        else:
            self.bank.users[user_id] = learners
        self.rules.load_user(user_id, parts["rules"])
        self.champion.load_user(user_id, parts["champion"])
        self.privacy.load_user(user_id, parts["privacy"])
        for c in orjson.loads(parts["seen"]):
            self._remember(str(c), user_id)

    def snapshot_user(self, user_id: str) -> None:
        """Save one user's state as ``user-<sha256(user)[:16]>`` (signed)."""
        if self.store is None:
            raise RuntimeError("no StateStore configured")
        self.store.save(_user_name(user_id), self.user_to_bytes(user_id))

    def restore_user(self, user_id: str) -> bool:
        """Load one user's saved state, if any (False otherwise)."""
        if self.store is None:
            raise RuntimeError("no StateStore configured")
        data = self.store.load(_user_name(user_id))
        if data is None:
            return False
        self.load_user_bytes(user_id, data)
        return True

    def to_bytes(self) -> bytes:
        """All learned state as one framed payload (sign it: it holds pickled models)."""
        parts = {
            "models": self.bank.to_bytes(),
            "rules": self.rules.to_bytes(),
            "champion": self.champion.to_bytes(),
            "privacy": self.privacy.to_bytes(),
            "seen": orjson.dumps(list(self._seen.items())),
        }
        return _frame(parts, _PARTS)

    def load_bytes(self, data: bytes) -> None:
        """Inverse of ``to_bytes``: only for signature-verified bytes (it unpickles)."""
        parts = _unframe(data, _PARTS)
        # in place, so a Recommender holding these objects sees the restored state
        self.bank.__dict__.update(ModelBank.from_bytes(parts["models"]).__dict__)
        self.rules.__dict__.update(LearnedRules.from_bytes(parts["rules"]).__dict__)
        self.champion.load_bytes(parts["champion"])
        self.privacy.load_bytes(parts["privacy"])
        self._seen = OrderedDict((str(c), str(u)) for c, u in orjson.loads(parts["seen"]))

    def snapshot(self) -> None:
        """Save all learned state to the store, atomically, signed."""
        if self.store is None:
            raise RuntimeError("no StateStore configured")
        self.store.save(STATE_NAME, self.to_bytes())

    def restore(self) -> bool:
        """Load the last snapshot if there is one (False otherwise); raises
        ``TamperedStateError`` if it fails its signature check."""
        if self.store is None:
            raise RuntimeError("no StateStore configured")
        data = self.store.load(STATE_NAME)
        if data is None:
            return False
        self.load_bytes(data)
        return True


def _frame(parts: dict[str, bytes], names: tuple[str, ...]) -> bytes:
    return b"".join(struct.pack(">Q", len(parts[p])) + parts[p] for p in names)


def _unframe(data: bytes, names: tuple[str, ...]) -> dict[str, bytes]:
    parts, pos = {}, 0
    for name in names:
        (n,) = struct.unpack_from(">Q", data, pos)
        parts[name] = data[pos + 8: pos + 8 + n]
        pos += 8 + n
    if pos != len(data):
        raise ValueError("learner state has trailing bytes")
    return parts


def _user_name(user_id: str) -> str:
    return f"user-{hashlib.sha256(user_id.encode()).hexdigest()[:16]}"
