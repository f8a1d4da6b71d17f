"""The learner: applies one correction or acceptance to everything that learns, and owns
every user's learned state.

The learn agent calls ``apply(event)`` for each correction of a batch, then ``commit``
with the outcomes: the touched users' ``UserState`` blobs are written to the store (the
effect of each correction and its id in ONE atomic write per user), and only then the L0
cache is told (a cache outage is logged and counted, never a reason to fail or re-apply).
A user's state is loaded from the store the first time this worker needs it
(``ensure``) and dropped again when the worker's partitions change (``forget``), so a
worker that takes over a user continues exactly where the last owner's store write left.
For a **correction** (``accepted=False``; the corrected fields that are ``None`` keep the
recommended value) it, in order:

1. drops the event if its ``correction_id`` was seen (at-least-once delivery: a replay
   changes nothing; the last ``max_seen`` ids are kept and persisted with the state);
2. tests the champion and challenger, then trains the user's models at once
   (``ModelBank.learn_one(..., user_id)`` via L5 ``ChampionChallenger.observe``);
3. records the evidence for the user's learned rules of that region and induces a new
   rule after ``k`` consistent corrections (``LearnedRules.learn_one``);
4. (``commit``, after the state write) evicts the corrected cache entry and the user's
   other entries (their model version changed);
5. charges the user's privacy budget for the correction's part in the shared prior
   (``PrivacyGuard.charge``, saved in her ``UserState`` with the correction's effect, so
   a crash can only under-share, never spend twice) and, once that state is written
   (``commit``), adds it to this worker's ``pending`` central-DP aggregate
   (``privacy/aggregate.py``). ``take_release`` noises the pending aggregate ONCE when it
   covers ``release_users`` user-days or its UTC day is over; the release is saved with
   the prior state before it is published on ``aurora.prior-updates``, and EVERY worker,
   this one included, applies it from that topic, once per release id, in topic order
   (``apply_release``), so all workers hold the same prior and the same prior version.
   The pending aggregate is saved with the prior state (``save_prior``); contributions
   added since the last save are lost if the worker dies: that only under-shares.
   With ``PrivacyGuard(mechanism="example")`` the old path is kept: one local-DP example
   per correction (``PrivacyGuard.share``, ``apply_prior_update``); old updates on the
   topic are always learned.

An **acceptance** trains nothing (so the cached answer keeps its version and its TTL
doubles): it extends the cache entry, counts a success for the deciding learned rule, and
is a test-only event for the champion/challenger window.

The shared prior is saved apart from users (``save_prior`` / ``load_prior_state``, on the
worker's local store) with the ids of the updates it has learned, so a restarted worker
replays only the updates it has not seen.
"""

from __future__ import annotations

import logging
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from aurora_stream.learn.champion import ChampionChallenger, ModelSwitch
from aurora_stream.learn.prior_state import PRIOR_NAME, prior_from_bytes, prior_to_bytes
from aurora_stream.learn.rules import LearnedRules, Rule
from aurora_stream.learn.state import UserState, store_name
from aurora_stream.learn.store import StateStore
from aurora_stream.privacy.aggregate import Pending, Release, SharedStats, release
from aurora_stream.privacy.dp import PriorUpdate, PrivacyGuard
from aurora_stream.recommend.cache import Cache
from aurora_stream.recommend.layer import Column, UserStateUnavailable
from aurora_stream.recommend.models import ModelBank
from aurora_stream.recommend.rules import RuleSet
from aurora_stream.vocab import FEATURE_TYPES, IMPUTATIONS, TRANSFORMATIONS

log = logging.getLogger("aurora.learn")
__all__ = ["Correction", "InvalidCorrection", "LearnOutcome", "Learner", "Triple",
           "UserStateUnavailable"]


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
    contribution: tuple[dict[str, float], str, dict[str, float], str] | None = None
    """(fingerprint, feature type, the prior's distribution, UTC day) of a correction
    charged for the central-DP aggregate; joins ``Learner.pending`` at ``commit``."""
    switch: ModelSwitch | None = None
    model_version: str = ""
    accepted: bool = False
    fingerprint_key: str = ""


class Learner:
    """Applies corrections to the model bank, learned rules, L5 duels and privacy budgets,
    and owns each user's state in the store (see the module docstring)."""

    def __init__(self, bank: ModelBank, rules: LearnedRules | None = None,
                 cache: Cache | None = None, privacy: PrivacyGuard | None = None,
                 champion: ChampionChallenger | None = None, store: StateStore | None = None,
                 max_seen: int = 10_000, prior_store: StateStore | None = None,
                 on_cache_error: Callable[[Exception], None] | None = None,
                 symbolic: RuleSet | None = None, release_users: int = 1000,
                 worker_id: str | None = None) -> None:
        self.bank = bank
        self.symbolic = symbolic if symbolic is not None else RuleSet()
        self.rules = rules if rules is not None else LearnedRules()
        self.cache = cache
        self.privacy = privacy if privacy is not None else PrivacyGuard()
        self.champion = champion if champion is not None else ChampionChallenger()
        self.store = store
        self.prior_store = prior_store if prior_store is not None else store
        self.max_seen = max_seen  # per user
        self.on_cache_error = on_cache_error
        self._seen: dict[str, OrderedDict[str, None]] = {}  # user -> applied correction ids
        self._loaded: set[str] = set()
        self.prior_applied: OrderedDict[str, None] = OrderedDict()  # prior update ids
        self.prior_dirty = False  # learned prior updates not saved yet
        self.batch_open = False  # the learn agent is between apply and commit
        self.pending = Pending()  # this worker's central-DP aggregate, not released yet
        self.unsent: list[Release] = []  # noised and saved, not read back from the topic
        self.release_users = release_users
        self.worker_id = worker_id or uuid.uuid4().hex[:8]

    # --- users' state -------------------------------------------------------------------
    def ensure(self, user_id: str) -> None:
        """Have ``user_id``'s state in memory: loaded from the store the first time this
        worker needs it (raises ``UserStateUnavailable`` if it cannot be read)."""
        if user_id in self._loaded:
            return
        state = None
        if self.store is not None:
            try:
                data = self.store.load(store_name(user_id))
                state = None if data is None else UserState.from_bytes(data)
            except Exception as exc:
                raise UserStateUnavailable(
                    f"learned state of user {user_id!r} cannot be loaded "
                    f"({store_name(user_id)}): {exc}") from None
            if state is not None and state.user_id != user_id:
                raise UserStateUnavailable(f"{store_name(user_id)} holds another user's state")
        self.install(state or UserState(user_id))

    def install(self, state: UserState) -> None:
        """Put one user's state in place of whatever this worker held for her."""
        u = state.user_id
        if state.models is None:
            self.bank.users.pop(u, None)
        else:
            self.bank.users[u] = state.models
        if state.duel is None:
            self.champion.duels.pop(u, None)
        else:
            self.champion.duels[u] = state.duel
        self.rules.load_user_doc(u, state.rules)
        self.symbolic.load_user_doc(u, state.symbolic)
        self.privacy.load_user_doc(u, state.budget)
        self._seen[u] = OrderedDict.fromkeys(state.seen[-self.max_seen:])
        self._loaded.add(u)

    def extract(self, user_id: str) -> UserState:
        """The in-memory state of one user as one record."""
        return UserState(user_id, self.bank.users.get(user_id),
                         self.champion.duels.get(user_id), self.rules.user_doc(user_id),
                         self.privacy.user_doc(user_id), list(self._seen.get(user_id, ())),
                         self.symbolic.user_doc(user_id))

    def forget_at_next_batch(self) -> None:
        """Ask for ``forget()`` at the next ``safe_point``: a rebalance may come while an
        agent is between ``apply`` and ``commit``; dropping state then would save a batch
        over a reloaded state and lose what it applied."""
        self._forget_requested = True

    def safe_point(self) -> None:
        """Called by the agents between batches: do a requested ``forget``, unless a batch
        of corrections is open (between its first ``apply`` and its ``commit``)."""
        if getattr(self, "_forget_requested", False) and not self.batch_open:
            self._forget_requested = False
            self.forget()

    def forget(self, users: Iterable[str] | None = None) -> None:
        """Drop users' state from memory (all with ``None``): the next ``ensure`` reloads it
        from the store. Called when this worker's partitions change."""
        for u in list(self._loaded if users is None else users):
            self.bank.users.pop(u, None)
            self.champion.duels.pop(u, None)
            self.rules.forget_user(u)
            self.symbolic.forget_user(u)
            self.privacy.forget_user(u)
            self._seen.pop(u, None)
            self._loaded.discard(u)

    def save(self, users: Iterable[str]) -> None:
        """Write each user's state as one signed blob (durable before anything announces it)."""
        if self.store is None:
            return
        for u in sorted(set(users)):
            self.store.save(store_name(u), self.extract(u).to_bytes())

    def seen(self, correction_id: str, user_id: str | None = None) -> bool:
        """Was this correction applied (for ``user_id``, or any user held in memory)?"""
        if user_id is not None:
            self.ensure(user_id)
            return correction_id in self._seen.get(user_id, ())
        return any(correction_id in s for s in self._seen.values())

    # --- corrections ----------------------------------------------------------------------
    def apply(self, event: Correction) -> LearnOutcome:
        """Apply one correction or acceptance to the in-memory state, once (see the module
        docstring); ``commit`` makes it durable and tells the cache."""
        user = event.user_id
        self.ensure(user)
        out = LearnOutcome(event.correction_id, user, accepted=event.accepted,
                           fingerprint_key=event.fingerprint_key)
        seen = self._seen.setdefault(user, OrderedDict())
        if event.correction_id in seen:
            out.duplicate = True
            out.model_version = self.bank.version(user)
            return out
        y = event.label()  # validates before anything changes
        fp = dict(event.fingerprint)
        rule_id = event.provenance if event.provenance.startswith("L1-") else None
        if event.provenance.startswith("R-"):  # an L2 symbolic rule decided: was it right?
            self.symbolic.record_outcome(
                user, event.provenance, y["feature_type"] == event.recommended.feature_type)
        if event.accepted:
            if rule_id is not None:
                self.rules.record_outcome(rule_id, True)
            out.switch = self.champion.observe(self.bank, fp, y, user, learn=False)
        else:
            out.switch = self.champion.observe(self.bank, fp, y, user, learn=True)
            out.learned = True
            out.rule_induced = self.rules.learn_one(
                Column.from_fingerprint(fp, user, event.fingerprint_key), y)
            if self.privacy.mechanism == "example":
                out.prior_update = self.privacy.share(user, fp, y["feature_type"],
                                                      update_id=event.correction_id)
            elif self.privacy.charge(user):
                out.contribution = (fp, y["feature_type"], self.bank.raw_prior_proba(fp),
                                    self.privacy.today())
        out.label = y
        out.model_version = self.bank.version(user)
        seen[event.correction_id] = None
        while len(seen) > self.max_seen:
            seen.popitem(last=False)
        return out

    def commit(self, outcomes: Iterable[LearnOutcome]) -> None:
        """Save the users these outcomes changed, then update the cache (best effort)."""
        outcomes = [o for o in outcomes if not o.duplicate]
        self.save({o.user_id for o in outcomes})
        for o in outcomes:  # charged and saved: now it may join the shared aggregate
            if o.contribution is not None:
                fp, ft, proba, day = o.contribution
                self.pending.add(o.user_id, fp, ft, proba, day)
                self.prior_dirty = True
        if self.cache is None:
            return
        try:
            for o in outcomes:
                self.cache.record_outcome(o.user_id, o.fingerprint_key, o.accepted)
                if o.learned or o.switch is not None:
                    self.cache.invalidate_user(o.user_id)
        except Exception as exc:  # the cache is an optimisation: its outage fails nothing
            log.warning("L0 cache not updated after corrections: %s", exc)
            if self.on_cache_error is not None:
                self.on_cache_error(exc)

    def learn(self, event: Correction) -> LearnOutcome:
        """``apply`` then ``commit`` one event (for callers without batches)."""
        out = self.apply(event)
        self.commit([out])
        return out

    # --- the shared prior -----------------------------------------------------------------
    def apply_prior_update(self, update: PriorUpdate) -> bool:
        """Learn one privatized example into the shared prior, once per update id (False
        for an update already learned). Every worker calls this for every update of
        ``aurora.prior-updates``, in topic order."""
        if update.update_id and update.update_id in self.prior_applied:
            return False
        self.bank.learn_one(update.fingerprint, update.label, "", to_prior=True)
        self.prior_dirty = True
        if update.update_id:
            self.prior_applied[update.update_id] = None
            while len(self.prior_applied) > 200_000:
                self.prior_applied.popitem(last=False)
        return True

    def take_release(self) -> Release | None:
        """Noise the pending aggregate once, if it is ready (see the module docstring), and
        keep the release in ``unsent``; the caller saves (``save_prior``) and only then
        publishes it."""
        if not self.pending.ready(self.release_users, self.privacy.today()):
            return None
        rel = release(self.pending, self.privacy.epsilon,
                      f"{self.worker_id}-{uuid.uuid4().hex[:12]}")
        self.pending = Pending()
        self.unsent.append(rel)
        self.prior_dirty = True
        return rel

    def apply_release(self, rel: Release) -> bool:
        """Add one central-DP release to the shared prior, once per release id (False for
        one already applied). Every worker calls this for every release of
        ``aurora.prior-updates``, in topic order."""
        self.unsent = [r for r in self.unsent if r.release_id != rel.release_id]
        if self.bank.shared is None:
            self.bank.shared = SharedStats()
        applied = self.bank.shared.apply(rel)
        self.prior_dirty = True
        return applied

    def save_prior(self) -> None:
        """Write the shared prior, the ids of the updates it learned, the shared statistics,
        the pending aggregate and the unsent releases (signed, one write)."""
        if self.prior_store is not None:
            shared = self.bank.shared
            extra = {"shared": {} if shared is None else shared.to_doc(),
                     "pending": self.pending.to_doc(),
                     "unsent": [r.to_dict() for r in self.unsent]}
            self.prior_store.save(PRIOR_NAME, prior_to_bytes(
                self.bank, list(self.prior_applied), extra))
            self.prior_dirty = False

    def load_prior_state(self) -> bool:
        """Replace the shipped prior by the saved one, if there is one."""
        if self.prior_store is None:
            return False
        data = self.prior_store.load(PRIOR_NAME)
        if data is None:
            return False
        extra: dict = {}
        applied = prior_from_bytes(data, self.bank, extra)
        if applied is None:
            log.warning("saved prior was learned over another shipped prior; starting from "
                        "the shipped %s", self.bank.prior_tag)
            return False
        self.prior_applied = OrderedDict.fromkeys(applied)
        if extra.get("shared"):
            self.bank.shared = SharedStats.from_doc(extra["shared"])
        self.pending = Pending.from_doc(extra.get("pending", {}))
        self.unsent = [Release.from_dict(r) for r in extra.get("unsent", [])]
        return True
