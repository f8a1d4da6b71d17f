"""What leaves a user's scope: differentially private updates to the shared global prior.

A user's own models learn from their corrections exactly. By default (``mechanism=
"aggregate"``) the shared prior learns only from central-DP releases of many users'
corrections (``privacy/aggregate.py``): ``charge`` spends ``epsilon`` of the user's daily
budget per correction that joins a worker's aggregate. The older mechanism
(``mechanism="example"``, kept for comparison and still read from the topic) builds a
``PriorUpdate`` here under **local** differential privacy, per correction:

* the **feature type** (9 labels) by k-ary randomized response, diffprivlib's
  ``ExponentialCategorical`` with utility 1 between distinct labels:
  ``P(true) = e^eps_l / (e^eps_l + 8)``;
* a fixed list of ``SHARED_FEATURES`` (value-shape fractions, uniqueness, nulls, words
  per value, distinct count; all already coarse fingerprint buckets) each by diffprivlib's
  ``LaplaceBoundedDomain`` on its declared range (sensitivity = that range), then put
  back into fingerprint buckets (post-processing keeps the guarantee);
* nothing else: transformation and imputation (user conventions), name flags and every
  other fingerprint field stay with the user.

Epsilon per shared correction ``epsilon`` (default 0.25) is split by basic composition:
half to the label, half over the features in equal parts. A diffprivlib
``BudgetAccountant`` per user per UTC day (default total 1.0, so 4 shared corrections a
day) is checked and charged before anything is released; when it would be exceeded the
correction is not shared (the user's own model still learns). ``epsilon=0`` disables
sharing. Spent budgets, counts and the last days are part of each user's ``UserState``
(``user_doc``).

Honest caveat: at these budgets one update is mostly noise (label kept with probability
~0.13 at eps_l = 0.125); the prior gains only from many users' updates in aggregate.

>>> guard = PrivacyGuard(epsilon=0.25, daily_budget=1.0, seed=0)
>>> fp = {"numeric_frac": 1.0, "flag:zip": 1.0}
>>> [guard.share("ann", fp, "numeric") is not None for _ in range(5)]
[True, True, True, True, False]
>>> sorted(guard.share("bob", fp, "numeric").fingerprint) == sorted(SHARED_FEATURES)
True
>>> guard.report("ann")["epsilon_spent_today"], guard.report("ann")["shared_today"]
(1.0, 4)
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from aurora_stream.profile.fields import FIELDS
from aurora_stream.profile.fingerprint import bucket_fraction
from aurora_stream.vocab import FEATURE_TYPES

if TYPE_CHECKING:
    from diffprivlib import BudgetAccountant

# diffprivlib (and the scikit-learn it imports, ~0.35 s) is imported on the first share, not
# with this module: a worker that recommends and learns no correction never needs it.

# feature -> (lower, upper, bucket kind), from the table of profile fields (``dp`` column)
SHARED_FEATURES: dict[str, tuple[float, float, str]] = {
    name: (f.dp[0], f.dp[1], f.bucket) for name, f in FIELDS.items() if f.dp is not None}
Clock = Callable[[], float]
MECHANISMS = ("aggregate", "example")
"""``aggregate``: central-DP sums released by the worker (privacy/aggregate.py, default);
``example``: the old local-DP example per correction (``share``)."""


@dataclass(frozen=True)
class PriorUpdate:
    """One privatized example for the shared prior (publishable: no raw value, no name,
    no user-specific action labels)."""

    fingerprint: dict[str, float]
    label: dict[str, str]  # {"feature_type": <randomized>}
    epsilon: float
    update_id: str = ""  # stable (the correction's id): every worker learns it once

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Day:
    spent: list[float] = field(default_factory=list)  # epsilon of each shared correction
    refused: int = 0


def _rebucket(v: float, kind: str) -> float:
    """A noised value back into fingerprint buckets (post-processing keeps the guarantee).
    Fractions within 0.02 of 0 or 1 snap to exact 0 or 1: a continuous noised value is
    almost never exact, while many true fingerprints are; bucketed counts use half-steps
    of their (already logarithmic) bucket scale."""
    if kind == "fraction":
        return bucket_fraction(v, snap=0.02)
    return round(v * 2.0) / 2.0


class PrivacyGuard:
    """Per-user privacy budgets and the local-DP mechanisms (see the module docstring)."""

    def __init__(self, epsilon: float = 0.25, daily_budget: float = 1.0,
                 label_share: float = 0.5, clock: Clock = time.time,
                 seed: int | None = None, keep_days: int = 31,
                 mechanism: str = "aggregate") -> None:
        if epsilon < 0 or daily_budget < 0 or not 0 < label_share < 1:
            raise ValueError("epsilon and budget must be >= 0 and 0 < label_share < 1")
        if mechanism not in MECHANISMS:
            raise ValueError(f"mechanism must be one of {MECHANISMS}")
        self.mechanism = mechanism
        self.epsilon = epsilon
        self.daily_budget = daily_budget
        self.label_share = label_share
        self.clock = clock
        self.keep_days = keep_days
        self._rng = np.random.default_rng(seed)
        self._days: dict[str, dict[str, _Day]] = {}  # user -> ISO day -> spending
        self._shared_total: dict[str, int] = {}
        self._accountants: dict[tuple[str, str], BudgetAccountant] = {}

    @property
    def enabled(self) -> bool:
        return self.epsilon > 0 and self.daily_budget > 0

    def today(self) -> str:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC).date().isoformat()

    def accountant(self, user_id: str) -> BudgetAccountant:
        """Today's diffprivlib accountant of ``user_id`` (rebuilt from persisted spends
        once, then kept: rebuilding replays every spend)."""
        key = (user_id, self.today())
        acc = self._accountants.get(key)
        if acc is None:
            from diffprivlib import BudgetAccountant

            day = self._days.get(user_id, {}).get(key[1], _Day())
            acc = BudgetAccountant(epsilon=self.daily_budget, delta=0.0,
                                   spent_budget=[(e, 0.0) for e in day.spent])
            if len(self._accountants) > 10_000:
                self._accountants.clear()
            self._accountants[key] = acc
        return acc

    # --- releasing --------------------------------------------------------------------
    def charge(self, user_id: str) -> bool:
        """Spend ``epsilon`` of today's budget of ``user_id`` for one correction that joins
        the central-DP aggregate (``privacy/aggregate.py``); False (nothing spent, the
        correction is not shared) when sharing is off or the budget would be exceeded.
        The spending is part of the user's ``UserState``, saved with the correction."""
        if not self.enabled:
            return False
        from diffprivlib.utils import BudgetError

        acc = self.accountant(user_id)
        day = self._days.setdefault(user_id, {}).setdefault(self.today(), _Day())
        try:
            if acc.remaining()[0] < self.epsilon - 1e-12:
                raise BudgetError("daily privacy budget spent")
            acc.spend(self.epsilon, 0.0)
        except BudgetError:
            day.refused += 1
            return False
        day.spent.append(self.epsilon)
        self._shared_total[user_id] = self._shared_total.get(user_id, 0) + 1
        self._prune(user_id)
        return True

    @property
    def per_day(self) -> int:
        """K: corrections of one user that can be shared per UTC day."""
        return int(self.daily_budget / self.epsilon + 1e-9) if self.enabled else 0

    def share(self, user_id: str, fp: dict[str, float], feature_type: str,
              update_id: str = "") -> PriorUpdate | None:
        """The privatized update for one correction, charged to today's budget; ``None``
        when sharing is off or the budget would be exceeded."""
        if not self.enabled:
            return None
        if feature_type not in FEATURE_TYPES:
            raise ValueError(f"unknown feature type {feature_type!r}")
        if not self.charge(user_id):
            return None
        return PriorUpdate(self._noisy_features(fp), {"feature_type": self._noisy_label(
            feature_type)}, self.epsilon, update_id)

    def _seed(self) -> int:
        return int(self._rng.integers(2**31))

    def _noisy_label(self, label: str) -> str:
        from diffprivlib.mechanisms import ExponentialCategorical

        eps = self.epsilon * self.label_share
        mech = ExponentialCategorical(
            epsilon=eps, random_state=self._seed(),
            utility_list=[[a, b, 1.0] for i, a in enumerate(FEATURE_TYPES)
                          for b in FEATURE_TYPES[i + 1:]])
        return str(mech.randomise(label))

    def _noisy_features(self, fp: dict[str, float]) -> dict[str, float]:
        from diffprivlib.mechanisms import LaplaceBoundedDomain

        eps = self.epsilon * (1 - self.label_share) / len(SHARED_FEATURES)
        out = {}
        for name, (lo, hi, kind) in SHARED_FEATURES.items():
            # an absent feature is released as its lower bound (absence is not a signal here)
            v = min(max(float(fp.get(name, lo)), lo), hi)
            mech = LaplaceBoundedDomain(epsilon=eps, sensitivity=hi - lo, lower=lo, upper=hi,
                                        random_state=self._seed())
            out[name] = _rebucket(float(mech.randomise(v)), kind)
        return out

    def _prune(self, user_id: str) -> None:
        days = self._days.get(user_id, {})
        for d in sorted(days)[:-self.keep_days]:
            del days[d]

    # --- reading ----------------------------------------------------------------------
    def report(self, user_id: str) -> dict:
        """What ``aurora privacy-report --user U`` prints (see ``privacy_report``)."""
        day = self._days.get(user_id, {}).get(self.today(), _Day())
        spent = float(sum(day.spent))
        eps_l = self.epsilon * self.label_share
        eps_f = self.epsilon * (1 - self.label_share) / len(SHARED_FEATURES)
        out = {
            "user": user_id,
            "day": self.today(),
            "sharing_enabled": self.enabled,
            "mechanism": self.mechanism,
            "epsilon_spent_today": round(spent, 6),
            "daily_budget": self.daily_budget,
            "epsilon_remaining_today": round(max(self.daily_budget - spent, 0.0), 6),
            "epsilon_per_shared_correction": self.epsilon,
            "shared_today": len(day.spent),
            "not_shared_today_budget_spent": day.refused,
            "shared_total": self._shared_total.get(user_id, 0),
        }
        if self.mechanism == "aggregate":
            from aurora_stream.privacy import aggregate as agg

            return out | {
                "shared": {
                    "what": f"your corrected feature types join this worker's aggregate: per "
                            f"region x type ({agg.N_REGIONS} fixed public regions of value "
                            f"shape, distinct count and uniqueness x {agg.N_TYPES} types), "
                            f"counts of corrections and the prior's expected probability",
                    "release": f"summed over many users (released at "
                               f">= the worker's threshold of user-days or at the UTC day's "
                               f"end), Laplace noise added ONCE per release (diffprivlib, "
                               f"L1 sensitivity {agg.SENSITIVITY:g} per correction, epsilon "
                               f"{self.epsilon:g} per correction); no user id, no exact count",
                    "per_day": f"at most {self.per_day} of your corrections per UTC day "
                               f"({self.daily_budget:g} / {self.epsilon:g})",
                },
                "never_shared": ["single corrections", "fingerprints", "transformation",
                                 "imputation", "name flags", "raw values", "column names",
                                 "your user id"],
                "composition": "group privacy within a release (k corrections: k x epsilon), "
                               "basic composition across releases, per user per UTC day",
            }
        return out | {
            "shared": {
                "feature_type": f"randomized response over {len(FEATURE_TYPES)} types "
                                f"(diffprivlib ExponentialCategorical), epsilon {eps_l:g}",
                **{name: f"LaplaceBoundedDomain on [{lo:g}, {hi:g}], epsilon {eps_f:g}, "
                         f"re-bucketed" for name, (lo, hi, _) in SHARED_FEATURES.items()},
            },
            "never_shared": ["transformation", "imputation", "name flags",
                             "all other fingerprint fields", "raw values", "column names"],
            "composition": "basic (sequential) composition, per user per UTC day",
        }

    # --- state -----------------------------------------------------------------------
    def user_doc(self, user_id: str) -> dict:
        """One user's spending as a JSON-able document (part of her ``UserState``)."""
        days = self._days.get(user_id, {})
        return {"days": {d: asdict(v) for d, v in days.items()},
                "shared_total": self._shared_total.get(user_id, 0)}

    def load_user_doc(self, user_id: str, doc: dict) -> None:
        """Replace one user's spending with a ``user_doc`` document (``{}``: none)."""
        self._days[user_id] = {d: _Day(list(map(float, v["spent"])), int(v["refused"]))
                               for d, v in doc.get("days", {}).items()}
        self._shared_total[user_id] = int(doc.get("shared_total", 0))
        self._accountants = {k: v for k, v in self._accountants.items() if k[0] != user_id}

    def forget_user(self, user_id: str) -> None:
        self._days.pop(user_id, None)
        self._shared_total.pop(user_id, None)
        self._accountants = {k: v for k, v in self._accountants.items() if k[0] != user_id}


def privacy_report(guard: PrivacyGuard, user_id: str) -> dict:
    """Epsilon spent today, the budget, counts of shared corrections, and what was shared
    (which features, by which mechanism, at which epsilon)."""
    return guard.report(user_id)
