"""Central-DP shared statistics (privacy/aggregate.py): a fixed public domain, noise once
per release at the declared scale, debiasing, and the same result on every worker."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from aurora_stream.privacy.aggregate import (
    DOMAIN,
    N_REGIONS,
    N_TYPES,
    SENSITIVITY,
    TYPE_INDEX,
    Pending,
    Release,
    SharedStats,
    release,
    shared_region,
)
from aurora_stream.privacy.dp import SHARED_FEATURES

DAY = "2026-12-04"
INT_CODES = {"numeric_frac": 1.0, "int_frac": 1.0, "distinct_count": 1.0,
             "distinct_frac": 0.0, "alpha_frac": 0.0, "null_frac": 0.0, "word_mean": 1.0}
PRIOR = {"numeric": 0.8, "categorical": 0.2}


def filled(n: int, label: str = "categorical", fp: dict | None = None) -> Pending:
    p = Pending()
    for i in range(n):
        p.add(f"user{i}", fp or INT_CODES, label, PRIOR, DAY)
    return p


def test_the_domain_is_fixed_and_reads_only_the_shared_features() -> None:
    region = shared_region(INT_CODES)
    assert 0 <= region < N_REGIONS
    # name flags and every field that is not shared change nothing
    assert shared_region({**INT_CODES, "flag:zip": 1.0, "mean": 3.5, "len_mean": 2.0,
                          "count": 4.0}) == region
    assert {k for k in INT_CODES} <= set(SHARED_FEATURES)
    # a release covers every cell of the domain, whatever the data (no data-dependent keys)
    for p in (Pending(), filled(3)):
        rel = release(p, 0.25, "r", seed=1)
        assert len(rel.observed) == len(rel.expected) == N_REGIONS * N_TYPES


def test_a_release_is_noised_once_with_laplace_of_scale_sensitivity_over_epsilon() -> None:
    pending = filled(40)
    eps = 0.25
    rels = [release(pending, eps, f"r{s}", seed=s) for s in range(60)]
    exact = pending.observed.ravel()
    noise = np.array([np.array(r.observed) - exact for r in rels]).ravel()
    scale = SENSITIVITY / eps  # Laplace(b): std = b * sqrt(2)
    assert statistics.pstdev(noise) == pytest.approx(scale * 2 ** 0.5, rel=0.05)
    assert abs(statistics.mean(noise)) < 0.2  # zero-mean: sums of releases are unbiased
    assert SENSITIVITY == 2.0  # one correction: +1 observed, a probability vector expected
    # the same seed gives the same release (what a restarted worker resends is not renoised)
    assert release(pending, eps, "x", seed=3) == release(pending, eps, "x", seed=3)
    with pytest.raises(ValueError):
        release(pending, 0.0, "x")


def test_one_correction_moves_the_exact_sums_by_at_most_the_sensitivity() -> None:
    a, b = filled(5), filled(5)
    b.add("extra", {"url_frac": 1.0}, "url", {"url": 0.3, "sentence": 0.7}, DAY)
    l1 = np.abs(a.observed - b.observed).sum() + np.abs(a.expected - b.expected).sum()
    assert l1 == pytest.approx(SENSITIVITY)


def test_pending_is_released_at_enough_user_days_or_when_its_day_is_over() -> None:
    p = filled(3)
    assert p.users == 3 and p.corrections == 3
    p.add("user0", INT_CODES, "numeric", PRIOR, DAY)  # the same user-day counts once
    assert p.users == 3 and p.corrections == 4
    assert p.ready(3, DAY) and not p.ready(4, DAY)
    assert p.ready(4, "2026-12-05")  # the UTC day is over: release what there is
    assert not Pending().ready(1, "2026-12-05")  # nothing to release
    assert Pending.from_doc(p.to_doc()).to_doc() == p.to_doc()
    assert "user0" not in str(p.to_doc())  # user-days are hashed, only counted


def test_debiasing_clips_negative_sums_and_shrinks_thin_evidence_to_the_prior() -> None:
    stats = SharedStats(pseudo_count=10.0, weight=1.0)
    assert stats.calibrate(INT_CODES, PRIOR) == PRIOR  # no release: the prior itself
    r, cat = shared_region(INT_CODES), TYPE_INDEX["categorical"]
    observed = np.zeros((N_REGIONS, N_TYPES))
    expected = np.zeros((N_REGIONS, N_TYPES))
    observed[r, cat] = -30.0  # noise can make a sum negative: it counts as 0, never below
    stats.apply(Release("neg", tuple(observed.ravel()), tuple(expected.ravel()), 0.25))
    assert np.allclose(stats.factors(r), 1.0)
    assert stats.calibrate(INT_CODES, PRIOR) == pytest.approx(PRIOR)
    # many corrections say categorical where the prior expected little of it
    many = filled(200)
    stats.apply(release(many, None, "exact"))
    q = stats.calibrate(INT_CODES, PRIOR)
    assert q["categorical"] > 0.9 and sum(q.values()) == pytest.approx(1.0)
    # a region nobody corrected keeps the prior's distribution exactly
    assert stats.calibrate({"url_frac": 1.0}, {"url": 0.6, "sentence": 0.4}) == \
        pytest.approx({"url": 0.6, "sentence": 0.4})


def test_many_noised_releases_recover_what_users_labelled() -> None:
    stats = SharedStats(pseudo_count=20.0, weight=1.0)
    for k in range(10):  # 10 workers' releases of 30 users each, all saying categorical
        stats.apply(release(filled(30), 0.25, f"w{k}", seed=k))
    q = stats.calibrate(INT_CODES, PRIOR)
    assert q["categorical"] > 0.5 > PRIOR["categorical"]


def test_a_release_is_applied_once_per_id_and_another_domain_is_ignored() -> None:
    a, b = SharedStats(), SharedStats()
    rels = [release(filled(5), 0.25, f"r{i}", seed=i) for i in range(3)]
    other = Release("old", rels[0].observed, rels[0].expected, 0.25, domain="regions-v0")
    assert [a.apply(r) for r in rels + rels[:1]] == [True, True, True, False]
    assert not a.apply(other)
    for r in rels:  # another worker, same topic order
        b.apply(r)
    assert a.releases == b.releases == 3 and a.to_doc() == b.to_doc()
    back = SharedStats.from_doc(a.to_doc())
    assert back.to_doc() == a.to_doc() and not back.apply(rels[1])
    assert SharedStats.from_doc({"domain": "regions-v0"}).releases == 0
    assert Release.from_dict(rels[0].to_dict()) == rels[0] and rels[0].domain == DOMAIN
