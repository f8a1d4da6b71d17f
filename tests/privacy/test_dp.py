"""The old local-DP mechanism for the shared prior (``mechanism="example"``): budgets stop
sharing, noise changes the distribution, the report tells the truth, and spending survives a
restart."""

from __future__ import annotations

import collections
import statistics

import pytest

from aurora_stream.learn.learner import Correction, Learner, Triple
from aurora_stream.learn.store import DirectoryStore
from aurora_stream.privacy.dp import SHARED_FEATURES, PrivacyGuard, privacy_report
from aurora_stream.profile.fingerprint import fingerprint, fingerprint_key
from aurora_stream.profile.view import ProfileView
from aurora_stream.recommend.models import ModelBank
from aurora_stream.recommend.prior import PRIOR_TAG

DAY = 86_400.0
FP = fingerprint(ProfileView(count=900, null_frac=0.0, numeric_frac=1.0, int_frac=1.0,
                             alpha_frac=0.0, distinct_count=4, distinct_frac=0.004,
                             word_mean=1.0), ("zip", "code"))


class Clock:
    def __init__(self) -> None:
        self.t = 1_780_000_000.0

    def __call__(self) -> float:
        return self.t


def event(i: int, user: str = "ann") -> Correction:
    return Correction(f"c{i}", user, "r", FP, fingerprint_key(FP), "", Triple(
        "numeric", "standard_scale", "median"), "L3-model", "prior-v1",
        corrected_feature_type="categorical", corrected_transformation="one_hot")


def test_budget_exhaustion_stops_sharing_but_not_learning(bank: ModelBank) -> None:
    clock = Clock()
    learner = Learner(bank, privacy=PrivacyGuard(epsilon=0.3, daily_budget=1.0, clock=clock,
                                                 seed=1, mechanism="example"))
    outs = [learner.apply(event(i)) for i in range(6)]
    assert [o.prior_update is not None for o in outs] == [True] * 3 + [False] * 3
    assert all(o.learned for o in outs) and bank.corrections("ann") == 6
    for o in outs:  # what every worker reads back from aurora.prior-updates
        if o.prior_update is not None:
            assert o.prior_update.update_id == o.correction_id
            learner.apply_prior_update(o.prior_update)
    assert bank.prior_version() == f"{PRIOR_TAG}.3"
    assert learner.apply(event(99, "bob")).prior_update is not None  # budgets are per user
    clock.t += DAY  # a new UTC day, a new budget
    assert learner.apply(event(6)).prior_update is not None


def test_the_report_is_accurate() -> None:
    clock = Clock()
    guard = PrivacyGuard(epsilon=0.25, daily_budget=1.0, clock=clock, seed=2,
                         mechanism="example")
    for _ in range(6):
        guard.share("ann", FP, "categorical")
    r = privacy_report(guard, "ann")
    assert r["epsilon_spent_today"] == 1.0 and r["epsilon_remaining_today"] == 0.0
    assert (r["shared_today"], r["not_shared_today_budget_spent"], r["shared_total"]) == (4, 2, 4)
    assert r["daily_budget"] == 1.0 and r["epsilon_per_shared_correction"] == 0.25
    assert set(r["shared"]) == {"feature_type", *SHARED_FEATURES}
    assert "epsilon 0.125" in r["shared"]["feature_type"]
    assert "name flags" in r["never_shared"] and "transformation" in r["never_shared"]
    assert guard.accountant("ann").remaining()[0] == pytest.approx(0.0)
    clock.t += DAY
    r2 = guard.report("ann")
    assert (r2["epsilon_spent_today"], r2["shared_today"], r2["shared_total"]) == (0.0, 0, 4)
    off = PrivacyGuard(epsilon=0.0)
    assert off.share("ann", FP, "numeric") is None and not off.report("ann")["sharing_enabled"]


def test_the_update_is_noised_and_carries_only_what_is_declared() -> None:
    guard = PrivacyGuard(epsilon=0.25, daily_budget=1.0, seed=3)
    ups = [guard.share(f"user{i}", FP, "categorical") for i in range(600)]
    labels = collections.Counter(u.label["feature_type"] for u in ups)
    assert all(set(u.label) == {"feature_type"} for u in ups)
    assert all(set(u.fingerprint) == set(SHARED_FEATURES) for u in ups)  # no flags, no rest
    # randomized response at eps 0.125: the truth comes back ~12% of the time, not 100%
    assert 0.06 < labels["categorical"] / 600 < 0.2 and len(labels) == 9
    numeric = [u.fingerprint["numeric_frac"] for u in ups]
    assert statistics.mean(numeric) < 0.8 and statistics.pstdev(numeric) > 0.2
    buckets = {0.0, 0.05, 0.95, 1.0} | {i / 10 for i in range(1, 10)}  # fingerprint tenths
    assert len(set(numeric)) > 5 and set(numeric) <= buckets
    # the same mechanisms with a generous epsilon keep the signal (they are calibrated)
    loose = PrivacyGuard(epsilon=200.0, daily_budget=200.0, seed=4)
    ups = [loose.share(f"user{i}", FP, "categorical") for i in range(200)]
    assert sum(u.label["feature_type"] == "categorical" for u in ups) > 190
    assert statistics.mean(u.fingerprint["numeric_frac"] for u in ups) > 0.85


def test_spending_persists_through_the_store(tmp_path, bank: ModelBank) -> None:
    clock = Clock()
    store = DirectoryStore(tmp_path, b"k" * 32)
    old = "example"  # the old local-DP path (one update per correction)
    learner = Learner(bank, privacy=PrivacyGuard(epsilon=0.5, clock=clock, mechanism=old),
                      store=store)
    learner.learn(event(0))
    again = Learner(ModelBank(), privacy=PrivacyGuard(epsilon=0.5, clock=clock, mechanism=old),
                    store=store)
    again.ensure("ann")
    assert again.privacy.report("ann") == learner.privacy.report("ann")
    assert again.apply(event(1)).prior_update is not None  # 0.5 + 0.5 = 1.0: allowed
    assert again.apply(event(2)).prior_update is None  # spent, also across the restart


def test_the_report_describes_the_aggregate_release_by_default() -> None:
    clock = Clock()
    guard = PrivacyGuard(clock=clock)
    assert [guard.charge("ann") for _ in range(5)] == [True] * 4 + [False]
    r = privacy_report(guard, "ann")
    assert r["mechanism"] == "aggregate" and r["epsilon_spent_today"] == 1.0
    assert (r["shared_today"], r["not_shared_today_budget_spent"]) == (4, 1)
    assert "Laplace noise added ONCE per release" in r["shared"]["release"]
    assert "at most 4 of your corrections per UTC day" in r["shared"]["per_day"]
    assert {"single corrections", "name flags", "your user id"} <= set(r["never_shared"])
