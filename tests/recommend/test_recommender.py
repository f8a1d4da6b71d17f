"""The recommender end to end on profiles: layers, review requests, cache, per-user learning."""

from __future__ import annotations

import pytest

from aurora_stream.profile.fingerprint import fingerprint, name_flags
from aurora_stream.profile.sketch import profile_values
from aurora_stream.profile.view import ProfileView
from aurora_stream.recommend.cache import InProcessCache
from aurora_stream.recommend.decision import Recommendation
from aurora_stream.recommend.models import ModelBank
from aurora_stream.recommend.prior import load_prior
from aurora_stream.recommend.recommender import Recommender
from aurora_stream.training.synthetic import generate
from aurora_stream.vocab import is_valid

URLS = profile_values([f"https://shop.example.com/item/{i}" for i in range(80)])
CODES = profile_values([str(i % 7) for i in range(300)])


@pytest.fixture(scope="module")
def prior() -> ModelBank:
    return load_prior()


def valid(rec: Recommendation) -> bool:
    return is_valid(rec.feature_type, rec.transformation, rec.imputation) and all(
        is_valid(o.feature_type, o.transformation, o.imputation) for o in rec.alternatives)


def test_clear_url_is_decided_by_its_rule_and_the_model_agrees(prior: ModelBank) -> None:
    rec = Recommender(prior.copy()).recommend(URLS, ("url",), "ann")
    assert (rec.feature_type, rec.transformation, rec.layer, rec.provenance) == (
        "url", "extract_domain", "L2-symbolic-rule", "R-url-01")
    assert "model agrees" in rec.reason and "100%" in rec.reason
    assert rec.confidence >= 0.9 and not rec.needs_review


def test_vague_profile_asks_for_review_with_three_reasoned_alternatives(prior) -> None:
    vague = ProfileView(count=12, null_frac=0.4, distinct_count=5)
    rec = Recommender(prior.copy()).recommend(vague, (), "ann")
    assert rec.needs_review and rec.confidence < 0.6
    assert len(rec.alternatives) == 3
    assert len({o.feature_type for o in rec.alternatives}) == 3
    assert rec.alternatives[0].feature_type == rec.feature_type
    assert all(o.reason for o in rec.alternatives)


@pytest.mark.parametrize("column", generate(60, seed=21), ids=lambda c: c.feature_type)
def test_every_recommendation_is_in_the_vocabulary(prior: ModelBank, column) -> None:
    rec = Recommender(prior).recommend(profile_values(column.values), name_flags(column.name),
                                       "ann")
    assert valid(rec)
    assert 0.0 <= rec.confidence <= 1.0 and rec.reason
    assert rec.needs_review == (rec.confidence < 0.6)
    assert "{" not in rec.reason


def test_second_identical_profile_is_a_cache_hit_until_the_model_changes(prior) -> None:
    bank = prior.copy()
    rec = Recommender(bank, cache=InProcessCache())
    first = rec.recommend(CODES, ("type",), "ann")
    again = rec.recommend(CODES, ("type",), "ann")
    assert again.layer == "L0-cache" and again.provenance == first.provenance
    assert again.feature_type == first.feature_type
    assert rec.recommend(CODES, ("type",), "bob").layer != "L0-cache"
    bank.learn_one(fingerprint(CODES, ("type",)), {"feature_type": "numeric"}, "ann")
    assert rec.recommend(CODES, ("type",), "ann").layer != "L0-cache"


def test_corrections_win_for_that_user_and_leave_others_alone(prior: ModelBank) -> None:
    bank = prior.copy()
    rec = Recommender(bank)
    base = rec.recommend(CODES, ("type",), "ann")
    target = "context-specific" if base.feature_type != "context-specific" else "numeric"
    fp = fingerprint(CODES, ("type",))
    for _ in range(15):
        bank.learn_one(fp, {"feature_type": target, "transformation": "keep",
                            "imputation": "none"}, "ann")
    mine = rec.recommend(CODES, ("type",), "ann")
    assert (mine.feature_type, mine.transformation) == (target, "keep")
    assert mine.provenance.startswith("user:ann@v15") and mine.layer == "L3-model"
    assert rec.recommend(CODES, ("type",), "bob") == base


def test_rules_only_without_a_trained_model() -> None:
    rec = Recommender(ModelBank()).recommend(CODES, (), "ann")
    assert rec.layer == "L2-symbolic-rule" and rec.provenance.startswith("R-")
    assert valid(rec)


class OneLearnedRule:
    """A minimal L1 learned-rule set: one rule for one user."""

    name = "L1-learned-rule"

    def predict_proba_one(self, c):
        if c.user_id != "ann":
            return {}
        return {"feature_type": {"categorical": 0.93}, "transformation": {"target": 0.8}}

    def explain_one(self, c):
        return "L-ann-3", "you labelled 14 of 15 such columns categorical/target"

    def learn_one(self, c, y):
        return None


def test_learned_rule_decides_for_its_user(prior: ModelBank) -> None:
    rec = Recommender(prior, learned_rules=OneLearnedRule())
    mine = rec.recommend(URLS, (), "ann")
    assert (mine.layer, mine.provenance, mine.feature_type, mine.transformation) == (
        "L1-learned-rule", "L-ann-3", "categorical", "target")
    assert valid(mine) and len(mine.alternatives) == 3
    assert mine.alternatives[0].feature_type == "categorical"
    assert "url" in {o.feature_type for o in mine.alternatives[1:]}
    assert rec.recommend(URLS, (), "bob").layer == "L2-symbolic-rule"
