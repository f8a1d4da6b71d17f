"""Central-DP shared statistics: what the shared prior learns from many users at once.

Why not one noised example per correction (``dp.PrivacyGuard.share``, the old mechanism)?
At ~hundreds of users, local DP per example is mostly noise, and a partial fingerprint
learned into the prior's softmax teaches it wrong absences (bench/dp_cost.py: worse than
sharing nothing, even without noise). The worker already sees its users' raw corrections
and is trusted; what must be private is what leaves a user's scope into the SHARED prior.
So a worker keeps a ``Pending`` aggregate of its users' corrections and releases it,
noised ONCE, as a ``Release`` that every worker applies (``SharedStats``):

* **Domain** (fixed, public, never from the data): ``N_REGIONS`` coarse regions of the
  shared fingerprint features (``shared_region``: dominant value shape x distinct-count
  level x uniqueness level, from ``dp.SHARED_FEATURES`` only: no name flag, no other
  field) x the 9 feature types.
* **Statistic**: per region and type, ``observed`` = corrections labelled that type, and
  ``expected`` = the sum of the shared prior's own probability of that type on those
  corrections (the prior's model, before any shared statistic). ``observed / expected`` is
  how far the prior is off in that region; both are sums, so they aggregate.
* **Clipping / sensitivity**: one correction adds 1 to one ``observed`` cell and a
  probability vector (L1 norm 1) to one ``expected`` row: L1 sensitivity ``SENSITIVITY``
  = 2 per correction. Laplace noise of scale ``2 / epsilon`` on every cell of the fixed
  domain (diffprivlib ``Laplace``) makes a release ``k * epsilon``-DP for a user with ``k``
  corrections in it; ``PrivacyGuard.charge`` spends ``epsilon`` per correction against the
  user's daily budget (default 0.25 of 1.0: K = 4 corrections per user per UTC day).
* **Debias / apply**: releases are summed (zero-mean noise averages out); negative sums
  are clipped to 0 when used; the factor ``((O + a) / (E + a)) ** w`` (pseudo-count ``a``
  shrinks it to 1 = the prior where the shared evidence is thin) multiplies the prior's
  feature-type distribution, renormalised (``SharedStats.calibrate``).

>>> p = Pending()
>>> fp = {"numeric_frac": 1.0, "int_frac": 1.0, "distinct_count": 1.0, "distinct_frac": 0.0}
>>> p.add("ann", fp, "categorical", {"numeric": 0.9, "categorical": 0.1}, "2026-12-04")
>>> p.add("bob", fp, "categorical", {"numeric": 0.9, "categorical": 0.1}, "2026-12-04")
>>> p.users, p.corrections
(2, 2)
>>> rel = release(p, epsilon=None, release_id="w1-0")  # None: no noise (the bench ceiling)
>>> s = SharedStats(pseudo_count=1.0, weight=1.0)
>>> s.apply(rel), s.apply(rel)
(True, False)
>>> q = s.calibrate(fp, {"numeric": 0.9, "categorical": 0.1})
>>> q["categorical"] > 0.1
True
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from aurora_stream.vocab import FEATURE_TYPES

DOMAIN = "regions-v1"  # bump when the region definition or the type list changes
SHAPES: tuple[str, ...] = ("url", "date", "integer", "number", "text", "other")
_DISTINCT_CUTS = (1.1, 2.1, 3.6)  # log10(1+n) buckets: ~<12, <125, <4000, more (+ unknown)
_UNIQUE_CUTS = (0.1, 0.9)  # distinct / non-null (+ unknown)
N_REGIONS = len(SHAPES) * (len(_DISTINCT_CUTS) + 2) * (len(_UNIQUE_CUTS) + 2)
N_TYPES = len(FEATURE_TYPES)
TYPE_INDEX = {t: i for i, t in enumerate(FEATURE_TYPES)}
SENSITIVITY = 2.0  # L1 norm of one correction's contribution (observed 1 + expected 1)
PSEUDO_COUNT = 50.0
WEIGHT = 0.5
"""Shrinkage (pseudo-count) and tempering of the shared factors: the best setting other
than "off" in bench/dp_cost.py's 2-fold cross-validation over data_train users on the
shipped prior (never data_test). Cross-validation prefers "off" by <= 0.001 in every
scenario measured there: on SortingHat these region statistics carry almost nothing a
prior does not already know; the setting keeps their effect small (see the README)."""


def _level(v: float | None, cuts: tuple[float, ...]) -> int:
    return 0 if v is None else 1 + sum(v >= c for c in cuts)


def shape_of(fp: dict[str, float]) -> int:
    """The dominant value shape of a fingerprint, from shared features only."""
    g = fp.get
    if (g("url_frac") or 0.0) >= 0.5:
        return 0
    if (g("date_frac") or 0.0) >= 0.5:
        return 1
    if (g("numeric_frac") or 0.0) >= 0.75:
        return 2 if (g("int_frac") or 0.0) >= 0.75 else 3
    if (g("alpha_frac") or 0.0) >= 0.5:
        return 4
    return 5


def shared_region(fp: dict[str, float]) -> int:
    """The region (0 .. ``N_REGIONS`` - 1) of a fingerprint in the fixed public domain.

    >>> shared_region({"url_frac": 1.0}), shared_region({}) < N_REGIONS
    (0, True)
    """
    d = _level(fp.get("distinct_count"), _DISTINCT_CUTS)
    u = _level(fp.get("distinct_frac"), _UNIQUE_CUTS)
    return (shape_of(fp) * (len(_DISTINCT_CUTS) + 2) + d) * (len(_UNIQUE_CUTS) + 2) + u


def _vector(p: dict[str, float]) -> np.ndarray:
    v = np.array([max(float(p.get(t, 0.0)), 0.0) for t in FEATURE_TYPES])
    total = v.sum()
    return v / total if total > 0 else np.full(N_TYPES, 1.0 / N_TYPES)


def _zeros() -> np.ndarray:
    return np.zeros((N_REGIONS, N_TYPES))


@dataclass
class Pending:
    """A worker's not-yet-released aggregate (exact sums: it never leaves the worker
    un-noised). ``users`` counts distinct user-days (hashed ids, kept for counting only)."""

    observed: np.ndarray = field(default_factory=_zeros)
    expected: np.ndarray = field(default_factory=_zeros)
    corrections: int = 0
    day: str = ""  # UTC day of the first contribution
    user_days: set[str] = field(default_factory=set)

    @property
    def users(self) -> int:
        return len(self.user_days)

    def add(self, user_id: str, fp: dict[str, float], feature_type: str,
            prior_proba: dict[str, float], day: str) -> None:
        """One charged correction: +1 observed, + the prior's distribution expected."""
        r, t = shared_region(fp), TYPE_INDEX[feature_type]
        self.observed[r, t] += 1.0
        self.expected[r] += _vector(prior_proba)
        self.corrections += 1
        self.day = self.day or day
        self.user_days.add(hashlib.sha256(f"{day}/{user_id}".encode()).hexdigest()[:16])

    def ready(self, min_users: int, today: str) -> bool:
        """Release when ``min_users`` user-days are covered or the UTC day is over."""
        return self.corrections > 0 and (self.users >= min_users or self.day < today)

    def to_doc(self) -> dict:
        return {"domain": DOMAIN, "observed": self.observed.tolist(),
                "expected": self.expected.tolist(), "corrections": self.corrections,
                "day": self.day, "user_days": sorted(self.user_days)}

    @classmethod
    def from_doc(cls, doc: dict) -> Pending:
        """Inverse of ``to_doc`` (an empty document or another domain: a new aggregate)."""
        if not doc or doc.get("domain", DOMAIN) != DOMAIN:
            return cls()
        return cls(np.array(doc["observed"], dtype=float), np.array(doc["expected"],
                   dtype=float), int(doc["corrections"]), str(doc["day"]),
                   set(doc["user_days"]))


@dataclass(frozen=True)
class Release:
    """One noised aggregate, publishable: no user id, no exact count (``observed`` and
    ``expected`` are flat lists, region-major)."""

    release_id: str
    observed: tuple[float, ...]
    expected: tuple[float, ...]
    epsilon: float  # per correction; 0 = not noised (simulation ceiling only)
    domain: str = DOMAIN

    def to_dict(self) -> dict:
        return {"release_id": self.release_id, "observed": list(self.observed),
                "expected": list(self.expected), "epsilon": self.epsilon,
                "domain": self.domain}

    @classmethod
    def from_dict(cls, d: dict) -> Release:
        return cls(str(d["release_id"]), tuple(map(float, d["observed"])),
                   tuple(map(float, d["expected"])), float(d["epsilon"]),
                   str(d.get("domain", DOMAIN)))


def release(pending: Pending, epsilon: float | None, release_id: str,
            seed: int | None = None) -> Release:
    """Noise ``pending`` ONCE: diffprivlib Laplace, sensitivity ``SENSITIVITY``, on every
    cell of the fixed domain (``epsilon=None``: exact sums, for the bench ceiling only)."""
    o, e = pending.observed.ravel(), pending.expected.ravel()
    if epsilon is not None:
        from diffprivlib.mechanisms import Laplace

        if epsilon <= 0:
            raise ValueError("a noised release needs epsilon > 0")
        rng = np.random.default_rng(seed)
        mech = Laplace(epsilon=epsilon, sensitivity=SENSITIVITY,
                       random_state=int(rng.integers(2**31)))
        o = np.array([mech.randomise(float(v)) for v in o])
        e = np.array([mech.randomise(float(v)) for v in e])
    return Release(release_id, tuple(round(float(v), 3) for v in o),
                   tuple(round(float(v), 3) for v in e), float(epsilon or 0.0))


@dataclass
class SharedStats:
    """The sum of every release applied, in topic order, once per id; and how it changes
    the prior's feature-type distribution (see the module docstring)."""

    pseudo_count: float = PSEUDO_COUNT
    weight: float = WEIGHT
    observed: np.ndarray = field(default_factory=_zeros)
    expected: np.ndarray = field(default_factory=_zeros)
    releases: int = 0
    applied: OrderedDict[str, None] = field(default_factory=OrderedDict)

    def apply(self, rel: Release) -> bool:
        """Add one release (False: already applied, or of another domain)."""
        if rel.release_id in self.applied or rel.domain != DOMAIN:
            return False
        self.observed += np.asarray(rel.observed).reshape(N_REGIONS, N_TYPES)
        self.expected += np.asarray(rel.expected).reshape(N_REGIONS, N_TYPES)
        self.releases += 1
        self.applied[rel.release_id] = None
        while len(self.applied) > 100_000:
            self.applied.popitem(last=False)
        return True

    def factors(self, region: int) -> np.ndarray:
        """Debiased per-type factor of one region: negatives clipped, shrunk to 1."""
        a = self.pseudo_count
        o = np.maximum(self.observed[region], 0.0) + a
        e = np.maximum(self.expected[region], 0.0) + a
        ratio = np.divide(o, e, out=np.ones_like(o), where=(o > 0) & (e > 0))
        return ratio ** self.weight

    def calibrate(self, fp: dict[str, float], proba: dict[str, float]) -> dict[str, float]:
        """The prior's feature-type distribution with the shared factors applied."""
        if not self.releases or not proba or self.weight == 0:
            return proba
        f = self.factors(shared_region(fp))
        q = {t: v * float(f[TYPE_INDEX[t]]) if t in TYPE_INDEX else v for t, v in proba.items()}
        total = sum(q.values())
        return {t: v / total for t, v in q.items()} if total > 0 else proba

    def to_doc(self) -> dict:
        return {"domain": DOMAIN, "observed": self.observed.round(3).tolist(),
                "expected": self.expected.round(3).tolist(), "releases": self.releases,
                "applied": list(self.applied), "pseudo_count": self.pseudo_count,
                "weight": self.weight}

    @classmethod
    def from_doc(cls, doc: dict) -> SharedStats:
        """Inverse of ``to_doc`` (another domain: start empty, the releases are re-read)."""
        if not doc or doc.get("domain") != DOMAIN:
            return cls()
        return cls(float(doc["pseudo_count"]), float(doc["weight"]),
                   np.array(doc["observed"], dtype=float), np.array(doc["expected"],
                   dtype=float), int(doc["releases"]), OrderedDict.fromkeys(doc["applied"]))
