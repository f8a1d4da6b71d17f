"""L3 online models: a global prior plus, per user, an adapter of the prior and a local
expert, for three targets.

Targets are ``feature_type``, ``transformation`` and ``imputation``; inputs are
fingerprints (coarse bucketed statistics, never raw values or names). Learning goes either
to the user (``learn_one(..., user_id)``) or to the shared prior (``to_prior=True``, used
by bootstrap and by differentially private global updates).

A user's prediction for one target (``predict_proba``) is built in two steps:

1. **Adapted prior** - ``PriorAdapter``: a per-user residual softmax layer on the one-hot
   buckets over the prior's log-probabilities, ``a(y) ~ prior(y) * exp(sum_f w[y][f])``,
   trained by SGD on every correction. It starts at exactly the prior (w = 0), so a first
   correction cannot hurt other kinds of column much, and with thousands of corrections
   it approaches what a prior bootstrapped on the same data would know. Later prior
   updates (DP shares) still reach the user: the residual sits on top of the live prior.
2. **Local expert** - ``Learners.models`` (multinomial naive Bayes by default; the L5
   champion): fast with a handful of corrections. It only votes where the user has
   evidence: its weight for a column is ``m / (m + local_strength) * share``, with ``m``
   the user's corrections in the column's fingerprint region (``region_key``) and
   ``share`` the posterior share of the local expert against the adapted prior in that
   region, from both models' prequential (test-then-train) log-likelihoods of the
   user's labels there (tempered, exponentially forgotten). Where the user's corrections
   contradict the prior, the local expert takes over in a few corrections; where they
   agree, or where the user never corrected anything, the adapted prior decides.

Versions name exactly what produced a prediction, so the L0 cache misses after any
update: ``prior-v1`` (shipped prior), ``prior-v1.12`` (after 12 prior updates),
``user:<u>@v7+prior-v1`` (user with 7 corrections), ``user:<u>@v90.g1+prior-v1`` (after
one L5 champion/challenger swap).

>>> bank = ModelBank()
>>> bank.learn_one({"a": 1.0}, {"feature_type": "url", "transformation": "extract_domain",
...                 "imputation": "none"}, "ann")
>>> bank.version("ann"), bank.version("bob")
('user:ann@v1+prior-v0', 'prior-v0')
"""

from __future__ import annotations

import copy
import math
import pickle
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import zstandard

from aurora_stream.profile.fields import FIELDS

if TYPE_CHECKING:
    from river import base

    from aurora_stream.privacy.aggregate import SharedStats

# River is imported where a model is first made or unpickled, not with this module: its
# linear_model package imports scipy.stats (~1 s), and the worker's app and agents import
# this module while a cold `aurora run` waits for its consumer group (service/worker.py).
TARGETS: tuple[str, ...] = ("feature_type", "transformation", "imputation")
Factory = Callable[[], "base.Classifier"]


# fields whose absence is itself informative (e.g. no numeric moments: nothing parsed)
_ABSENCE = tuple(name for name, f in FIELDS.items() if f.absent_tells)


def onehot(x: dict[str, float]) -> dict[str, float]:
    """Buckets as indicator features (``key=value``), plus ``key=?`` for a few fields
    whose absence tells something; for models that count categories.

    >>> sorted(onehot({"mean": 2.5, "flag:id": 1.0}))[:3]
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
    from river import compose, linear_model, optim

    return compose.FuncTransformer(onehot) | linear_model.SoftmaxRegression(
        optimizer=optim.Adam(0.005)
    )


def user_model() -> base.Classifier:
    """Per-user learner: multinomial naive Bayes on one-hot buckets, because counts make
    it useful after a handful of corrections (SGD models barely move on so few)."""
    from river import compose, naive_bayes

    return compose.FuncTransformer(onehot) | naive_bayes.MultinomialNB(alpha=0.5)


# pickle compatibility: the shipped prior and saved user states name the old private names
_onehot = onehot


# --- regions (shared with the learn stage's L1 rules) ----------------------------------
_SHAPES = (("numeric_frac", "n"), ("int_frac", "i"), ("date_frac", "d"), ("url_frac", "u"),
           ("email_frac", "e"), ("list_frac", "l"), ("embedded_number_frac", "m"),
           ("bool_frac", "b"), ("alpha_frac", "a"))
_FLAG_GROUPS = (
    ("id", ("id", "key", "uuid", "code", "number")),
    ("time", ("date", "time", "year", "month", "day", "week", "hour")),
    ("text", ("name", "title", "description", "comment", "text", "address")),
    ("geo", ("zip", "postal", "city", "country", "state", "region", "lat", "lon")),
    ("flag", ("is", "has", "flag")),
)


def _level(v: float | None, cuts: tuple[float, ...]) -> str:
    if v is None:
        return "-"
    return str(sum(v >= c for c in cuts))


def region_key(x: dict[str, float]) -> str:
    """The coarse region of a fingerprint, deterministic, holding neither a value nor a
    name: dominant value shapes in three levels, distinct count in four, uniqueness in
    three, words per value in three, and groups of name flags; free text (>= ~3 words per
    value) keeps only the main shapes. The learn stage's L1 rules use the same regions.

    >>> region_key({"numeric_frac": 1.0, "int_frac": 1.0, "distinct_count": 0.5})
    'n2i2d-u-e-l-m-b-a-|D0|U-|W-|-'
    """
    # fingerprint buckets: distinct_count = log10(1+n) in halves; word_mean = log2(1+w)
    words = _level(x.get("word_mean"), (1.1, 2.1))  # ~<1.1, <3.2, more words per value
    if words == "2":  # free text: how many distinct texts or numbers inside hardly matter
        shapes = "".join(f"{c}{_level(x.get(f), (0.25, 0.75))}" for f, c in _SHAPES[:6])
        return f"{shapes}|W2"
    shapes = "".join(f"{c}{_level(x.get(f), (0.25, 0.75))}" for f, c in _SHAPES)
    distinct = _level(x.get("distinct_count"), (1.1, 2.1, 3.6))  # ~<12, <125, <4000, more
    unique = _level(x.get("distinct_frac"), (0.1, 0.9))
    flags = [g for g, members in _FLAG_GROUPS if any(x.get(f"flag:{m}") for m in members)]
    return "|".join([shapes, f"D{distinct}", f"U{unique}", f"W{words}", ",".join(flags) or "-"])


# --- the per-user adapter of the prior ---------------------------------------------------
_FLOOR = 1e-3  # probability given to a label the prior does not know (log-space base)


class PriorAdapter:
    """Residual softmax over a base distribution: ``a(y) ~ base(y) * exp(sum_f w[y][f])``
    on the one-hot buckets ``z``; plain SGD on the cross-entropy of ``a``. With no
    weights it returns the base distribution unchanged (see the module docstring).

    >>> ad = PriorAdapter(lr=0.5)
    >>> base = {"numeric": 0.9, "categorical": 0.1}
    >>> z = onehot({"int_frac": 1.0})
    >>> ad.proba(base, z) == base
    True
    >>> for _ in range(5):
    ...     ad.learn(base, z, "categorical")
    >>> max(ad.proba(base, z).items(), key=lambda kv: kv[1])[0]
    'categorical'
    """

    __slots__ = ("lr", "w")

    def __init__(self, lr: float) -> None:
        self.lr = lr
        self.w: dict[str, dict[str, float]] = {}

    def __getstate__(self) -> tuple[float, dict[str, dict[str, float]]]:
        return self.lr, self.w

    def __setstate__(self, state: tuple[float, dict[str, dict[str, float]]]) -> None:
        self.lr, self.w = state

    def proba(self, base: dict[str, float], z: dict[str, float]) -> dict[str, float]:
        if not self.w:
            return base
        logits = {}
        for y in base.keys() | self.w.keys():
            s = math.log(max(base.get(y, 0.0), _FLOOR))
            wy = self.w.get(y)
            if wy:
                s += sum(wy.get(f, 0.0) * v for f, v in z.items())
            logits[y] = s
        top = max(logits.values())
        e = {y: math.exp(s - top) for y, s in logits.items()}
        total = sum(e.values())
        return {y: v / total for y, v in e.items()}

    def learn(self, base: dict[str, float], z: dict[str, float], label: str,
              a: dict[str, float] | None = None, scale: float = 1.0) -> None:
        """One SGD step towards ``label`` (``a``: ``proba(base, z)`` if already known;
        ``scale`` multiplies the learning rate)."""
        a = self.proba(base, z) if a is None else a
        for y in a.keys() | {label}:
            g = a.get(y, 0.0) - (y == label)
            if -1e-3 < g < 1e-3:  # nothing to learn: keeps the weights sparse
                continue
            wy = self.w.setdefault(y, {})
            step = self.lr * scale * g
            for f, v in z.items():
                wy[f] = wy.get(f, 0.0) - step * v


@dataclass
class Learners:
    """One set of learners: the prior's models, or one user's (see the module docstring).

    ``models`` are the prior's models (for the prior) or the user's local experts (the L5
    champion lineage); ``adapters`` and ``evidence`` exist for users only: evidence maps
    ``target -> region -> [corrections, log-lik. adapted prior, log-lik. local expert]``.
    ``generation`` counts L5 champion/challenger swaps.
    """

    models: dict[str, base.Classifier]
    n: int = 0
    adapters: dict[str, PriorAdapter] = field(default_factory=dict)
    evidence: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    generation: int = 0

    def __setstate__(self, state: dict) -> None:  # states saved before adapters existed
        self.__dict__.update({"adapters": {}, "evidence": {}, "generation": 0} | state)


_Learners = Learners  # pickle compatibility (see ``_onehot``)
Evidence = dict[str, dict[str, float]]
"""target -> region -> a local expert's decayed log-likelihood of the user's labels."""


def _loglik(p: dict[str, float], label: str) -> float:
    return math.log(max(p.get(label, 0.0), 0.02))  # floored: one miss is not a verdict


@dataclass
class ModelBank:
    """Global prior + per-user adapters and local experts, for the three targets."""

    prior_factory: Factory = prior_model
    user_factory: Factory = user_model
    user_strength: float = 5.0
    """``n / (n + user_strength)``: the user's overall share (``user_weight`` without a
    column)."""
    adapter_lr: float = 0.1
    adapter_warmup: float = 50.0
    """The adapter learns at ``adapter_lr * n / (n + adapter_warmup)`` after ``n`` of the
    user's corrections: its residual weights are shared by every column, so a user's first
    corrections (which the local expert covers, region by region) barely move it."""
    local_strength: float = 1.0
    """Corrections in a region that give the local expert half of its possible weight."""
    local_prior_odds: float = 1.0
    """Odds local expert : adapted prior before any evidence in a region."""
    local_temper: float = 0.5
    """Power applied to the likelihood ratio (tempered Bayes: NB is over-confident)."""
    local_forget: float = 0.9
    """Per-correction decay of a region's log-likelihoods (old evidence fades)."""
    prior_tag: str = "prior-v0"
    prior: Learners = field(init=False)
    users: dict[str, Learners] = field(init=False, default_factory=dict)
    real_examples: int = field(init=False, default=0)
    """Examples learned into the prior since ``mark_synthetic`` (real data, not generated)."""

    def __post_init__(self) -> None:
        self.prior = Learners({t: self.prior_factory() for t in TARGETS})

    shared: SharedStats | None = field(init=False, default=None)
    """Statistics released by many users under central DP (``privacy/aggregate.py``),
    applied to the prior's feature-type distribution; ``None`` until the first release."""

    # --- predicting -----------------------------------------------------------------
    def raw_prior_proba(self, fp: dict[str, float], target: str = "feature_type"
                        ) -> dict[str, float]:
        """The prior's own model, without shared statistics (what a release's
        ``expected`` sums are made of)."""
        return _normalised(self.prior.models[target].predict_proba_one(fp))

    def prior_proba(self, fp: dict[str, float], target: str = "feature_type"
                    ) -> dict[str, float]:
        """The shared prior as served: its model, and for the feature type the shared
        statistics' factors of the column's region."""
        p = self.raw_prior_proba(fp, target)
        shared = self.shared
        if shared is None or target != "feature_type":
            return p
        return shared.calibrate(fp, p)

    def user_weight(self, user_id: str, fp: dict[str, float] | None = None,
                    target: str = "feature_type") -> float:
        """How much the user's own learning counts: for a column ``fp``, the local
        expert's weight on ``target`` in the column's region (0 without local evidence);
        without a column, the overall share ``n / (n + user_strength)``."""
        u = self.users.get(user_id)
        if u is None or u.n == 0:
            return 0.0
        if fp is None:
            return u.n / (u.n + self.user_strength)
        return self._local_weight(u, target, region_key(fp))

    def region_corrections(self, user_id: str, fp: dict[str, float],
                           target: str = "feature_type") -> int:
        """The user's corrections of ``target`` in the region of ``fp``."""
        u = self.users.get(user_id)
        ev = None if u is None else u.evidence.get(target, {}).get(region_key(fp))
        return 0 if not ev else int(ev[0])

    def _local_weight(self, u: Learners, target: str, region: str,
                      shadow: Evidence | None = None) -> float:
        ev = u.evidence.get(target, {}).get(region)
        if not ev:
            return 0.0
        m, la, lb = ev
        if shadow is not None:  # another local expert's log-likelihood (L5 challenger)
            lb = shadow.get(target, {}).get(region, la)
        logit = math.log(self.local_prior_odds) + self.local_temper * (lb - la)
        share = 1.0 / (1.0 + math.exp(-max(min(logit, 50.0), -50.0)))
        return m / (m + self.local_strength) * share

    def predict_proba(self, fp: dict[str, float], user_id: str) -> dict[str, dict[str, float]]:
        """target -> label -> probability (labels the models have seen; sums to 1 or 0)."""
        u = self.users.get(user_id)
        out: dict[str, dict[str, float]] = {}
        if u is None or u.n == 0:
            for t in TARGETS:
                out[t] = self.prior_proba(fp, t)
            return out
        z, region = onehot(fp), region_key(fp)
        for t in TARGETS:
            out[t] = self._user_proba(fp, z, region, u, t, u.models[t])
        return out

    def predict_target(self, fp: dict[str, float], user_id: str, target: str = "feature_type",
                       local: base.Classifier | None = None,
                       shadow: Evidence | None = None) -> dict[str, float]:
        """One target as served to ``user_id``; or, with ``local`` and its ``shadow``
        evidence (see ``learn_one``), as another local expert would serve it (the L5
        challenger)."""
        u = self.users.get(user_id)
        p = self.prior_proba(fp, target)
        if u is None or u.n == 0:
            return p
        model = u.models[target] if local is None else local
        return self._user_proba(fp, onehot(fp), region_key(fp), u, target, model, p, shadow)

    def _user_proba(self, fp: dict[str, float], z: dict[str, float], region: str,
                    u: Learners, t: str, local: base.Classifier,
                    p: dict[str, float] | None = None,
                    shadow: Evidence | None = None) -> dict[str, float]:
        if p is None:
            p = self.prior_proba(fp, t)
        ad = u.adapters.get(t)
        a = ad.proba(p, z) if ad is not None else p
        w = self._local_weight(u, t, region, shadow)
        if w <= 0:
            return a
        q = _normalised(local.predict_proba_one(fp))
        if not q:
            return a
        return {k: (1 - w) * a.get(k, 0.0) + w * q.get(k, 0.0) for k in a.keys() | q}

    # --- learning -------------------------------------------------------------------
    def learn_one(
        self, fp: dict[str, float], y: dict[str, str], user_id: str, *, to_prior: bool = False,
        shadow: tuple[dict[str, base.Classifier], Evidence] | None = None,
    ) -> None:
        """Learn one labelled fingerprint; ``y`` may hold any subset of the targets.

        ``shadow``: other local experts of the user (the L5 challenger) and their evidence,
        ``target -> region -> log-likelihood``, scored on this example before anyone
        learns it (the caller trains them)."""
        if to_prior:
            self.real_examples += 1
            for t, label in y.items():
                if t in self.prior.models:
                    self.prior.models[t].learn_one(fp, label)
            self.prior.n += 1
            return
        u = self.users.get(user_id)
        if u is None:
            u = self.users[user_id] = Learners({t: self.user_factory() for t in TARGETS})
        z, region = onehot(fp), region_key(fp)
        for t, label in y.items():
            if t not in u.models:
                continue
            # test, then train (prequential): the evidence that weighs the local expert
            p = self.prior_proba(fp, t)
            ad = u.adapters.get(t)
            if ad is None:
                ad = u.adapters[t] = PriorAdapter(self.adapter_lr)
            a = ad.proba(p, z)
            q = _normalised(u.models[t].predict_proba_one(fp))
            ev = u.evidence.setdefault(t, {}).setdefault(region, [0, 0.0, 0.0])
            f, la = self.local_forget, ev[1]
            if shadow is not None and t in shadow[0]:
                q2 = _normalised(shadow[0][t].predict_proba_one(fp))
                sh = shadow[1].setdefault(t, {})
                sh[region] = f * sh.get(region, la) + _loglik(q2, label)
            ev[0] += 1
            ev[1] = f * la + _loglik(a, label)
            ev[2] = f * ev[2] + _loglik(q, label)
            warm = self.adapter_warmup
            ad.learn(p, z, label, a, u.n / (u.n + warm) if warm > 0 else 1.0)
            u.models[t].learn_one(fp, label)
        u.n += 1

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
        """``tag``, ``.n`` after n learned updates, ``.sK`` after K shared releases."""
        v = self.prior_tag if self.prior.n == 0 else f"{self.prior_tag}.{self.prior.n}"
        k = 0 if self.shared is None else self.shared.releases
        return f"{v}.s{k}" if k else v

    def mark_prior(self, tag: str) -> None:
        """Name the current prior state (e.g. after a build) and restart its update count."""
        self.prior_tag = tag
        self.prior.n = 0

    def mark_synthetic(self, tag: str) -> None:
        """Name a prior trained on generated data only: real-example count back to 0."""
        self.mark_prior(tag)
        self.real_examples = 0

    def version(self, user_id: str) -> str:
        u = self.users.get(user_id)
        if u is None or u.n == 0:
            return self.prior_version()
        gen = f".g{u.generation}" if u.generation else ""
        return f"user:{user_id}@v{u.n}{gen}+{self.prior_version()}"

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


def _normalised(p: dict[Any, float]) -> dict[str, float]:
    total = sum(v for v in p.values() if v > 0)
    if total <= 0:
        return {}
    return {str(k): v / total for k, v in p.items() if v > 0}
