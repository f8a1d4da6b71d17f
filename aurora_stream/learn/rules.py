"""L1 learned rules: per-user rules induced from repeated, consistent corrections.

A rule says "for *this user*, columns in *this region* are (type, transformation,
imputation)". The **region** (``region_key``) is a coarse key over the fingerprint features
that decide a type: dominant value shapes (numeric, integer, date, URL, e-mail, list,
number-in-text, boolean, letters) in three levels, distinct count in four, uniqueness in
three, words per value in three, and a few groups of name flags (id, time, text, geo,
flag). Free text (>= ~3 words per value) keeps only the main shapes and ``W2``: whether a
text column has 50 or 5,000 distinct values or a name flag hardly changes what a user does
with it, and finer text regions made users repeat the same correction region by region.
A key holds neither a value nor a name: e.g. ``n2i2d0u0e0l0m0b0a0|D1|U0|W0|id``.

When a user corrects columns of one region to the same triple ``k`` times (default 3), a
rule is induced. Evidence afterwards: a later correction in the region to the rule's
triple is a success, to another triple a failure (``learn_one``); an accepted
recommendation the rule decided is a success (``record_outcome``). The rule's
confidence is the **posterior mean** of ``Beta(1 + successes, 1 + failures)``, the
``k`` inducing corrections counting as successes (a new rule starts at 0.8 and can decide
at the recommender's 0.6 review threshold; a lower credible bound would keep new rules
silent until many more outcomes). A rule with at least ``min_outcomes`` outcomes after
its induction whose posterior falls below ``floor`` (0.5) is switched off (kept, marked
inactive, reported by ``rules_for``); more agreeing corrections can switch it on again.

A user's rules are a JSON document (``user_doc``, never pickle), one part of her
``UserState`` (``learn/state.py``).

>>> r = LearnedRules(k=2)
>>> fp = {"numeric_frac": 1.0, "int_frac": 1.0, "distinct_count": 0.5, "distinct_frac": 0.05}
>>> ann, bob = Column.from_fingerprint(fp, "ann"), Column.from_fingerprint(fp, "bob")
>>> y = {"feature_type": "categorical", "transformation": "one_hot", "imputation": "mode"}
>>> r.learn_one(ann, y) is None, r.learn_one(ann, y).id
(True, 'L1-49915e0d-1')
>>> r.predict_proba_one(ann)["feature_type"], r.predict_proba_one(bob)
({'categorical': 0.75}, {})
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import asdict, dataclass

from aurora_stream.recommend.layer import Column
from aurora_stream.vocab import FEATURE_TYPES, IMPUTATIONS, TRANSFORMATIONS

Triple = tuple[str, str | None, str | None]

@dataclass
class Rule:
    """One learned rule of one user (evidence counts, never values or names)."""

    id: str
    user: str
    region: str
    feature_type: str
    transformation: str | None
    imputation: str | None
    support: int
    successes: int
    failures: int
    outcomes: int = 0  # evidence recorded after induction
    active: bool = True

    @property
    def triple(self) -> Triple:
        return (self.feature_type, self.transformation, self.imputation)

    @property
    def confidence(self) -> float:
        """Posterior mean of Beta(1 + successes, 1 + failures)."""
        return (1 + self.successes) / (2 + self.successes + self.failures)

    def reason(self) -> str:
        return (f"learned from {self.support} of your corrections of similar columns "
                f"({self.successes} confirmed, {self.failures} contradicted)")

    def to_dict(self) -> dict:
        return asdict(self) | {"confidence": round(self.confidence, 4)}


class LearnedRules:
    """Per-user learned rules, the recommender's L1 layer (see the module docstring)."""

    def __init__(self, k: int = 3, floor: float = 0.5, min_outcomes: int = 3,
                 max_pending: int = 2000) -> None:
        self.k = k
        self.floor = floor
        self.min_outcomes = min_outcomes
        self.max_pending = max_pending
        self._rules: dict[str, list[Rule]] = {}
        self._by_id: dict[str, Rule] = {}
        # per user: (region, triple) -> count of corrections not yet a rule (bounded LRU)
        self._pending: dict[str, OrderedDict[tuple[str, Triple], int]] = {}
        self._next: dict[str, int] = {}

    # --- the layer interface (recommend.layer.Layer) ------------------------------------
    name = "L1-learned-rule"

    def match(self, c: Column) -> Rule | None:
        """The user's best active rule for the region of ``c`` (highest confidence, then
        support, then newest)."""
        best = None
        for r in self._rules.get(c.user_id, ()):
            if r.active and r.region == c.region and (
                best is None or (r.confidence, r.support) >= (best.confidence, best.support)
            ):
                best = r
        return best

    def predict_proba_one(self, c: Column) -> dict[str, dict[str, float]]:
        """``target -> label -> confidence`` of the matching rule; ``{}`` when none."""
        r = self.match(c)
        if r is None:
            return {}
        out = {"feature_type": {r.feature_type: r.confidence}}
        if r.transformation is not None:
            out["transformation"] = {r.transformation: r.confidence}
        if r.imputation is not None:
            out["imputation"] = {r.imputation: r.confidence}
        return out

    def predict_one(self, c: Column) -> str | None:
        r = self.match(c)
        return None if r is None else r.feature_type

    def explain_one(self, c: Column) -> tuple[str, str]:
        """``(rule id, reason)`` of the matching rule (``("", "")`` when none)."""
        r = self.match(c)
        return ("", "") if r is None else (r.id, r.reason())

    def learn_one(self, c: Column, y: dict[str, str | None]) -> Rule | None:
        """Record one correction of ``c.user_id`` (``y``: feature_type, and
        transformation/imputation when known); returns the rule induced by it, if any."""
        triple = _triple(y)
        user_id, region = c.user_id, c.region
        own = None
        for r in self._rules.get(user_id, ()):
            if r.region != region:
                continue
            if r.triple == triple:
                own = r
                r.support += 1
                self._evidence(r, True)
            else:
                self._evidence(r, False)
        if own is not None:
            return None
        pending = self._pending.setdefault(user_id, OrderedDict())
        key = (region, triple)
        pending[key] = pending.get(key, 0) + 1
        pending.move_to_end(key)
        if pending[key] < self.k:
            while len(pending) > self.max_pending:
                pending.popitem(last=False)
            return None
        n = pending.pop(key)
        return self._add(Rule(self._new_id(user_id), user_id, region, *triple,
                              support=n, successes=n, failures=0))

    def record_outcome(self, rule_id: str, success: bool) -> None:
        """An accepted (success) or rejected (failure) recommendation this rule decided.
        Corrections reach rules through ``learn_one``; do not record them here too."""
        r = self._by_id.get(rule_id)
        if r is not None:
            self._evidence(r, success)

    def _evidence(self, r: Rule, success: bool) -> None:
        if success:
            r.successes += 1
        else:
            r.failures += 1
        r.outcomes += 1
        r.active = not (r.outcomes >= self.min_outcomes and r.confidence < self.floor)

    def _new_id(self, user_id: str) -> str:
        n = self._next.get(user_id, 0) + 1
        self._next[user_id] = n
        return f"L1-{hashlib.sha256(user_id.encode()).hexdigest()[:8]}-{n}"

    def _add(self, r: Rule) -> Rule:
        self._rules.setdefault(r.user, []).append(r)
        self._by_id[r.id] = r
        return r

    # --- reading ----------------------------------------------------------------------
    def rules_for(self, user_id: str) -> list[dict]:
        """The user's rules for ``aurora rules --user U``: region, triple, support,
        successes, failures, confidence, active; best first."""
        rules = sorted(self._rules.get(user_id, ()), key=lambda r: (-r.active, -r.confidence))
        return [r.to_dict() for r in rules]

    def users(self) -> list[str]:
        return sorted(self._rules.keys() | self._pending.keys())

    # --- state (one user's document, part of her UserState) ---------------------------------
    def user_doc(self, user_id: str) -> dict:
        """One user's rules and pending counts as a JSON-able document."""
        return {
            "next": self._next.get(user_id, 0),
            "rules": [asdict(r) for r in self._rules.get(user_id, ())],
            "pending": [[reg, list(t), n] for (reg, t), n in
                        self._pending.get(user_id, OrderedDict()).items()],
        }

    def load_user_doc(self, user_id: str, doc: dict) -> None:
        """Replace one user's rules with a ``user_doc`` document (``{}``: none)."""
        self.forget_user(user_id)
        self._next[user_id] = int(doc.get("next", 0))
        for d in doc.get("rules", ()):
            self._add(Rule(**d))
        self._pending[user_id] = OrderedDict(
            ((reg, _triple_list(t)), int(n)) for reg, t, n in doc.get("pending", ()))

    def forget_user(self, user_id: str) -> None:
        for r in self._rules.pop(user_id, ()):
            self._by_id.pop(r.id, None)
        self._pending.pop(user_id, None)
        self._next.pop(user_id, None)


def _triple(y: dict[str, str | None]) -> Triple:
    ft = y.get("feature_type")
    if ft not in FEATURE_TYPES:
        raise ValueError(f"unknown feature type {ft!r}")
    t, i = y.get("transformation"), y.get("imputation")
    if t is not None and t not in TRANSFORMATIONS[ft]:
        raise ValueError(f"transformation {t!r} does not fit type {ft!r}")
    if i is not None and i not in IMPUTATIONS:
        raise ValueError(f"unknown imputation {i!r}")
    return (ft, t, i)


def _triple_list(t: list) -> Triple:
    return (str(t[0]), t[1], t[2])
