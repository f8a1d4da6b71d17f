"""ModelBank: bytes round-trip, per-user learning stays per user, the prior is deterministic
and ships pre-trained."""

from __future__ import annotations

import pytest

from aurora_stream.profile.fingerprint import fingerprint, name_flags
from aurora_stream.profile.sketch import profile_values
from aurora_stream.recommend import prior
from aurora_stream.recommend.models import TARGETS, ModelBank
from aurora_stream.recommend.prior import load_prior
from aurora_stream.training import build

URLS = fingerprint(profile_values([f"https://site.org/p/{i}" for i in range(40)]), ("url",))
NUMS = fingerprint(profile_values([str(i * 1.5) for i in range(40)]), name_flags("weight"))
WORDS = fingerprint(profile_values(["red", "blue", "green"] * 20), name_flags("color"))


@pytest.fixture(scope="module")
def shipped() -> ModelBank:
    return load_prior()


def test_shipped_prior_loads_fast_and_knows_the_obvious(shipped: ModelBank) -> None:
    assert shipped.prior_version() == prior.PRIOR_TAG
    p = shipped.predict_proba(URLS, "anyone")
    assert set(p) == set(TARGETS)
    assert max(p["feature_type"], key=p["feature_type"].get) == "url"
    assert sum(p["feature_type"].values()) == pytest.approx(1.0)
    p = shipped.predict_proba(NUMS, "anyone")["feature_type"]
    assert max(p, key=p.get) == "numeric"


def test_bytes_round_trip_keeps_predictions_and_versions(shipped: ModelBank) -> None:
    bank = shipped.copy()
    bank.learn_one(WORDS, {"feature_type": "context-specific"}, "ann")
    back = ModelBank.from_bytes(bank.to_bytes())
    for fp in (URLS, NUMS, WORDS):
        for user in ("ann", "bob"):
            assert back.predict_proba(fp, user) == bank.predict_proba(fp, user)
    assert back.version("ann") == bank.version("ann") == f"user:ann@v1+{prior.PRIOR_TAG}"


def test_from_bytes_rejects_other_pickled_objects() -> None:
    import pickle

    import zstandard

    with pytest.raises(TypeError):
        ModelBank.from_bytes(zstandard.ZstdCompressor().compress(pickle.dumps({"a": 1})))


def test_learning_changes_that_users_prediction_only(shipped: ModelBank) -> None:
    bank = shipped.copy()
    before_ann = bank.predict_proba(WORDS, "ann")
    before_bob = bank.predict_proba(WORDS, "bob")
    for _ in range(8):
        bank.learn_one(WORDS, {"feature_type": "context-specific", "transformation": "keep",
                               "imputation": "constant"}, "ann")
    after_ann = bank.predict_proba(WORDS, "ann")
    assert after_ann != before_ann
    assert after_ann["feature_type"]["context-specific"] > before_ann["feature_type"].get(
        "context-specific", 0.0)
    assert max(after_ann["feature_type"], key=after_ann["feature_type"].get) == (
        "context-specific")
    assert bank.predict_proba(WORDS, "bob") == before_bob
    assert bank.version("bob") == prior.PRIOR_TAG and bank.corrections("ann") == 8


def test_user_weight_grows_with_corrections() -> None:
    bank = ModelBank()
    weights = []
    for _ in range(4):
        bank.learn_one(NUMS, {"feature_type": "numeric"}, "ann")
        weights.append(bank.user_weight("ann"))
    assert weights == sorted(weights) and 0 < weights[0] < weights[-1] < 1
    assert bank.user_weight("bob") == 0.0


def test_learning_into_the_prior_changes_everyone_and_the_version() -> None:
    bank = ModelBank()
    bank.learn_one(URLS, {"feature_type": "url"}, "ann", to_prior=True)
    assert bank.predict_proba(URLS, "bob")["feature_type"] == {"url": 1.0}
    assert bank.version("bob") == "prior-v0.1"


def test_prior_build_is_deterministic() -> None:
    a = build.build_prior(n_columns=40, epochs=1)
    b = build.build_prior(n_columns=40, epochs=1)
    for fp in (URLS, NUMS, WORDS):
        assert a.predict_proba(fp, "u") == b.predict_proba(fp, "u")
    assert a.prior_version() == b.prior_version() == prior.PRIOR_TAG


def test_missing_shipped_prior_is_a_clear_error_not_an_unsigned_fallback(
    aurora_home, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prior, "_shipped", lambda: None)
    planted = aurora_home / "prior" / f"{prior.PRIOR_TAG}.bin"  # the 0.1.0 cache location
    planted.parent.mkdir()
    planted.write_bytes(build.build_prior(n_columns=20, epochs=1).to_bytes())
    with pytest.raises(prior.PriorUnavailable, match="python -m aurora_stream.training.build"):
        prior.load_prior()


def test_unreadable_shipped_prior_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prior, "_shipped", lambda: b"not a model bank")
    with pytest.raises(prior.PriorUnavailable, match="cannot be read"):
        prior.load_prior()
