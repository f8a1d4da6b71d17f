"""L5 continuous learning: per user, a challenger learns beside the champion.

Two lineages of per-user models learn every correction of the user: the **champion**
(the models in ``ModelBank.users[u]``, which serve) and the **challenger** (kept here).
Each event is first a test, then a training example (prequential): both predict the
feature type of the fingerprint *as served* (``ModelBank.predict_target``: the user's
adapted prior, with the lineage as the local expert where the user has evidence), and a
sliding window (default 200 events) keeps whether each was right.

When the challenger's window accuracy beats the champion's by ``margin`` (0.05) over at
least ``min_events`` (50) events, the lineages swap (``promote``): the challenger's models
move into the bank and the old champion keeps learning as the challenger; the bank's
generation for the user grows, so ``ModelBank.version`` changes and cached answers of the
old champion are not served again. The window
restarts. During ``probation`` events after a promotion, the same test in the other
direction (the pre-promotion champion now ahead by ``margin``) swaps back (``rollback``).
Every swap returns a ``ModelSwitch`` to publish.

Default challenger: softmax regression on the same one-hot buckets (Adam, lr 0.02).
The champion is generative (multinomial naive Bayes), best with few corrections; a
discriminative model usually overtakes it once a user has many corrections (Ng & Jordan,
2002), which is exactly when promotion should happen. Feature-type accuracy decides (the
primary target); all three targets swap together.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from aurora_stream.recommend.models import TARGETS, Evidence, ModelBank, onehot

if TYPE_CHECKING:
    from river import base

Factory = Callable[[], "base.Classifier"]


def challenger_model() -> base.Classifier:
    """Softmax regression on one-hot fingerprint buckets (see the module docstring); River
    is imported here, on first use (see recommend/models.py)."""
    from river import compose, linear_model, optim

    return compose.FuncTransformer(onehot) | linear_model.SoftmaxRegression(
        optimizer=optim.Adam(0.02)
    )


@dataclass(frozen=True)
class ModelSwitch:
    """One champion change of one user (published to a topic by the learn agent)."""

    user_id: str
    from_version: str
    to_version: str
    kind: str  # "promote" | "rollback"
    from_accuracy: float  # window accuracy of the model switched away from
    to_accuracy: float  # window accuracy of the model now serving
    n: int  # events in the window that decided

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Duel:
    challenger: dict[str, base.Classifier]
    names: list[str]  # [champion lineage, challenger lineage]
    hits: deque = field(default_factory=deque)  # (champion right, challenger right)
    generation: int = 0
    probation: int = 0  # events left in which a swap back counts as a rollback
    evidence: Evidence = field(default_factory=dict)  # the challenger's, per region

    def __setstate__(self, state: dict) -> None:  # duels saved before evidence existed
        self.__dict__.update({"evidence": {}} | state)


def _swap_evidence(serving: dict[str, dict[str, list[float]]], shadow: Evidence) -> Evidence:
    """Put the challenger's log-likelihoods into the bank's evidence (in place) and return
    the old champion's, now the challenger's."""
    old: Evidence = {}
    for t, regions in serving.items():
        mine, theirs = shadow.get(t, {}), old.setdefault(t, {})
        for r, ev in regions.items():
            theirs[r] = ev[2]
            ev[2] = mine.get(r, ev[1])
    return old


def _top(p: dict[str, float]) -> str | None:
    return max(p, key=p.__getitem__) if p else None


class ChampionChallenger:
    """Per-user champion/challenger duels over a ``ModelBank`` (see the module docstring)."""

    def __init__(self, challenger_factory: Factory = challenger_model,
                 names: tuple[str, str] = ("mnb", "softmax"), window: int = 200,
                 min_events: int = 50, margin: float = 0.05, probation: int = 200) -> None:
        self.challenger_factory = challenger_factory
        self.names = names
        self.window = window
        self.min_events = min_events
        self.margin = margin
        self.probation = probation
        self.duels: dict[str, _Duel] = {}

    def version(self, user_id: str, which: int = 0) -> str:
        """Name of the serving (0) or challenging (1) lineage, e.g. ``user:ann@mnb.g0``."""
        d = self.duels.get(user_id)
        names, gen = (list(self.names), 0) if d is None else (d.names, d.generation)
        return f"user:{user_id}@{names[which]}.g{gen}"

    def accuracies(self, user_id: str) -> tuple[float, float, int]:
        """(champion, challenger) window accuracy and the window length."""
        d = self.duels.get(user_id)
        if d is None or not d.hits:
            return 0.0, 0.0, 0
        n = len(d.hits)
        return sum(h[0] for h in d.hits) / n, sum(h[1] for h in d.hits) / n, n

    def observe(self, bank: ModelBank, fp: dict[str, float], y: dict[str, str], user_id: str,
                learn: bool = True) -> ModelSwitch | None:
        """Test both lineages on ``y['feature_type']``, then (``learn``) train both — the
        champion through ``bank.learn_one`` — and swap if the window says so."""
        d = self.duels.get(user_id)
        if d is None:
            d = self.duels[user_id] = _Duel(
                {t: self.challenger_factory() for t in TARGETS}, list(self.names),
                deque(maxlen=self.window))
        truth = y.get("feature_type")
        if truth is not None:
            champ, chall = self._predict(bank, fp, user_id, d)
            d.hits.append((champ == truth, chall == truth))
        if learn:
            bank.learn_one(fp, y, user_id, shadow=(d.challenger, d.evidence))
            for t, label in y.items():
                if t in d.challenger:
                    d.challenger[t].learn_one(fp, label)
        if d.probation:
            d.probation -= 1
        return self._decide(bank, user_id, d)

    def _predict(self, bank: ModelBank, fp: dict[str, float], user_id: str, d: _Duel
                 ) -> tuple[str | None, str | None]:
        champ = bank.predict_target(fp, user_id)
        if bank.corrections(user_id) == 0:
            return _top(champ), _top(champ)
        chall = bank.predict_target(fp, user_id, local=d.challenger["feature_type"],
                                    shadow=d.evidence)
        return _top(champ), _top(chall)

    def _decide(self, bank: ModelBank, user_id: str, d: _Duel) -> ModelSwitch | None:
        champ, chall, n = self.accuracies(user_id)
        if n < self.min_events or chall < champ + self.margin or user_id not in bank.users:
            return None
        kind = "rollback" if d.probation else "promote"
        before = self.version(user_id)
        serving = bank.users[user_id]
        d.challenger, serving.models = serving.models, d.challenger
        d.evidence = _swap_evidence(serving.evidence, d.evidence)
        serving.generation += 1  # changes ``bank.version(user_id)``: cached answers miss
        d.names.reverse()
        d.generation += 1
        d.hits.clear()
        d.probation = self.probation if kind == "promote" else 0
        return ModelSwitch(user_id, before, self.version(user_id), kind, round(champ, 4),
                           round(chall, 4), n)

    def copy(self) -> ChampionChallenger:
        return copy.deepcopy(self)
