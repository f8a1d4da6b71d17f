"""L3 online models: a global prior plus one River model per user, for three targets.

Targets are ``feature_type``, ``transformation`` and ``imputation``; inputs are
fingerprints (coarse bucketed statistics, never raw values or names). A user's
prediction blends the prior with the user's own models, the user's weight growing with
the number of their corrections: ``w = n / (n + user_strength)``. Learning goes either
to the user (``learn_one(..., user_id)``) or to the shared prior (``to_prior=True``, used
by bootstrap and by differentially private global updates).

Versions name exactly what produced a prediction, so the L0 cache misses after any
update: ``prior-v1`` (shipped prior), ``prior-v1.12`` (after 12 prior updates),
``user:<u>@v7+prior-v1`` (user with 7 corrections).

>>> bank = ModelBank()
>>> bank.learn_one({"a": 1.0}, {"feature_type": "url", "transformation": "extract_domain",
...                 "imputation": "none"}, "ann")
>>> bank.version("ann"), bank.version("bob")
('user:ann@v1+prior-v0', 'prior-v0')
"""

from __future__ import annotations

import copy
import os
import pickle
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zstandard
from river import base, compose, linear_model, naive_bayes, optim

TARGETS: tuple[str, ...] = ("feature_type", "transformation", "imputation")
Factory = Callable[[], base.Classifier]


# fields whose absence is itself informative (e.g. no numeric moments: nothing parsed)
_ABSENCE = ("mean", "std", "min", "skew", "q50", "top1_frac", "distinct_count",
            "numeric_frac", "len_mean", "is_monotonic")


def _onehot(x: dict[str, float]) -> dict[str, float]:
    """Buckets as indicator features (``key=value``), plus ``key=?`` for a few fields
    whose absence tells something; for models that count categories.

    >>> sorted(_onehot({"mean": 2.5, "flag:id": 1.0}))[:3]
    ['distinct_count=?', 'flag:id=1', 'is_monotonic=?']
    """
    out = {f"{k}={v:g}": 1.0 for k, v in x.items()}
    out.update({f"{k}=?": 1.0 for k in _ABSENCE if k not in x})
    return out


def prior_model() -> base.Classifier:
    """Softmax regression on one-hot buckets: the prior's learner.

    Measured on SortingHat (bench/accuracy.py) it beat ARF, Hoeffding (adaptive) trees,
    k-NN and naive Bayes on these coarse fingerprints, predicts in ~30 us and pickles small.
    It needs shuffled input (bootstrap and prior builds shuffle, seeded).
    """
    return compose.FuncTransformer(_onehot) | linear_model.SoftmaxRegression(
        optimizer=optim.Adam(0.005)
    )


def user_model() -> base.Classifier:
    """Per-user learner: multinomial naive Bayes on one-hot buckets, because counts make
    it useful after a handful of corrections (SGD models barely move on so few)."""
    return compose.FuncTransformer(_onehot) | naive_bayes.MultinomialNB(alpha=0.5)


@dataclass
class _Learners:
    models: dict[str, base.Classifier]
    n: int = 0


@dataclass
class ModelBank:
    """Global prior + one River model per user, for the three targets."""

    prior_factory: Factory = prior_model
    user_factory: Factory = user_model
    user_strength: float = 5.0
    prior_tag: str = "prior-v0"
    prior: _Learners = field(init=False)
    users: dict[str, _Learners] = field(init=False, default_factory=dict)
    real_examples: int = field(init=False, default=0)
    """Examples learned into the prior since ``mark_synthetic`` (real data, not generated)."""

    def __post_init__(self) -> None:
        self.prior = _Learners({t: self.prior_factory() for t in TARGETS})

    # --- predicting -----------------------------------------------------------------
    def user_weight(self, user_id: str) -> float:
        u = self.users.get(user_id)
        return 0.0 if u is None or u.n == 0 else u.n / (u.n + self.user_strength)

    def predict_proba(self, fp: dict[str, float], user_id: str) -> dict[str, dict[str, float]]:
        """target -> label -> probability (labels the models have seen; sums to 1 or 0)."""
        w = self.user_weight(user_id)
        out: dict[str, dict[str, float]] = {}
        for t in TARGETS:
            p = _normalised(self.prior.models[t].predict_proba_one(fp))
            if w > 0:
                q = _normalised(self.users[user_id].models[t].predict_proba_one(fp))
                p = {k: (1 - w) * p.get(k, 0.0) + w * q.get(k, 0.0) for k in p.keys() | q}
            out[t] = p
        return out

    # --- learning -------------------------------------------------------------------
    def learn_one(
        self, fp: dict[str, float], y: dict[str, str], user_id: str, *, to_prior: bool = False
    ) -> None:
        """Learn one labelled fingerprint; ``y`` may hold any subset of the targets."""
        if to_prior:
            learners = self.prior
            self.real_examples += 1
        else:
            learners = self.users.get(user_id)
            if learners is None:
                learners = self.users[user_id] = _Learners(
                    {t: self.user_factory() for t in TARGETS}
                )
        for t, label in y.items():
            if t in learners.models:
                learners.models[t].learn_one(fp, label)
        learners.n += 1

    def learn_many(self, rows: Iterable[tuple[dict[str, float], dict[str, str]]]) -> int:
        """Learn rows into the prior, in order; returns how many."""
        n = 0
        for fp, y in rows:
            self.learn_one(fp, y, "", to_prior=True)
            n += 1
        return n

    def forget_user(self, user_id: str) -> None:
        self.users.pop(user_id, None)

    def corrections(self, user_id: str) -> int:
        u = self.users.get(user_id)
        return 0 if u is None else u.n

    # --- versions -------------------------------------------------------------------
    def prior_version(self) -> str:
        return self.prior_tag if self.prior.n == 0 else f"{self.prior_tag}.{self.prior.n}"

    def mark_prior(self, tag: str) -> None:
        """Name the current prior state (e.g. after a build) and restart its update count."""
        self.prior_tag = tag
        self.prior.n = 0

    def mark_synthetic(self, tag: str) -> None:
        """Name a prior trained on generated data only: real-example count back to 0."""
        self.mark_prior(tag)
        self.real_examples = 0

    def version(self, user_id: str) -> str:
        n = self.corrections(user_id)
        return self.prior_version() if n == 0 else f"user:{user_id}@v{n}+{self.prior_version()}"

    # --- bytes ----------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """zstd-compressed pickle; callers sign these bytes (HMAC) before storing them."""
        return zstandard.ZstdCompressor(level=6).compress(
            pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> ModelBank:
        """Inverse of ``to_bytes``. Only for bytes whose signature was verified."""
        bank = pickle.loads(zstandard.ZstdDecompressor().decompress(data))
        if not isinstance(bank, cls):
            raise TypeError(f"expected a ModelBank, got {type(bank).__name__}")
        return bank

    def copy(self) -> ModelBank:
        return copy.deepcopy(self)

    # --- the shipped prior ----------------------------------------------------------
    @classmethod
    def with_prior(cls) -> ModelBank:
        """The pre-trained global prior (package data, else AURORA_HOME cache, else trained
        now from the synthetic generator and cached)."""
        from aurora_stream.recommend import prior

        return prior.load_prior()


def _normalised(p: dict[Any, float]) -> dict[str, float]:
    total = sum(v for v in p.values() if v > 0)
    if total <= 0:
        return {}
    return {str(k): v / total for k, v in p.items() if v > 0}


def aurora_home() -> Path:
    """Where local state lives (``AURORA_HOME``, default ``~/.aurora``)."""
    return Path(os.environ.get("AURORA_HOME") or Path.home() / ".aurora")
