"""One contract for every layer (River's estimator checks, for our layers): the same
questions on the same columns, whatever the layer, so a new layer is checked the day it
is written. Layers: L1 learned rules, L2 symbolic rules, L3 models."""

from __future__ import annotations

import copy

import pytest

from aurora_stream.learn.rules import LearnedRules
from aurora_stream.profile.sketch import profile_values
from aurora_stream.recommend.layer import Column, Layer, ModelLayer
from aurora_stream.recommend.rules import RuleSet
from aurora_stream.vocab import ALL_TRANSFORMATIONS, FEATURE_TYPES, IMPUTATIONS

LABELS = {"feature_type": set(FEATURE_TYPES), "transformation": set(ALL_TRANSFORMATIONS),
          "imputation": set(IMPUTATIONS)}
Y = {"feature_type": "categorical", "transformation": "one_hot", "imputation": "mode"}


def _columns(user: str) -> list[Column]:
    values = [[str(i % 7) for i in range(200)], [f"{i * 1.5:.2f}" for i in range(200)],
              [f"http://a.org/{i}" for i in range(200)], ["red", None, "blue"] * 60]
    cs = [Column.of(profile_values(v), (), user) for v in values]
    cs.append(Column.from_fingerprint({}, user))  # nothing known: tolerated
    cs.append(Column.from_fingerprint(cs[0].fp, user))  # fingerprint only (a correction)
    return cs


def _layers(bank) -> list[Layer]:
    return [LearnedRules(k=2), RuleSet(), ModelLayer(bank)]


@pytest.fixture(params=["L1-learned-rule", "L2-symbolic-rule", "L3-model"])
def layer(request, bank) -> Layer:
    return next(x for x in _layers(bank) if x.name == request.param)


def test_is_a_layer(layer: Layer) -> None:
    assert isinstance(layer, Layer) and layer.name.startswith(("L1", "L2", "L3"))


def test_predictions_are_distributions_over_the_vocabularies(layer: Layer) -> None:
    for c in _columns("ann"):
        for _ in range(3):
            layer.learn_one(_columns("ann")[0], Y)
        out = layer.predict_proba_one(c)
        assert set(out) <= set(LABELS)
        for target, p in out.items():
            assert set(p) <= LABELS[target], (target, p)
            assert all(0.0 <= v <= 1.0 for v in p.values())
            assert sum(p.values()) <= len(p) + 1e-9


def test_input_is_never_mutated(layer: Layer) -> None:
    for c in _columns("ann"):
        before = copy.deepcopy(c)
        layer.predict_proba_one(c)
        layer.explain_one(c)
        layer.learn_one(c, Y)
        assert c == before


def test_explanations_are_two_short_strings(layer: Layer) -> None:
    for c in _columns("ann"):
        layer.learn_one(c, Y)
        provenance, reason = layer.explain_one(c)
        assert isinstance(provenance, str) and isinstance(reason, str) and len(reason) < 300


def test_learning_one_user_leaves_another_untouched(layer: Layer) -> None:
    bob = _columns("bob")
    before = [layer.predict_proba_one(c) for c in bob]
    for c in _columns("ann") * 3:
        layer.learn_one(c, Y)
    assert [layer.predict_proba_one(c) for c in bob] == before


def test_learning_moves_the_learner_towards_the_label(layer: Layer) -> None:
    c = _columns("ann")[1]  # decimals: nobody's default is categorical
    p0 = layer.predict_proba_one(c).get("feature_type", {}).get("categorical", 0.0)
    for _ in range(30):
        layer.learn_one(c, Y)
    p1 = layer.predict_proba_one(c).get("feature_type", {}).get("categorical", 0.0)
    assert p1 >= p0 and (p1 > p0 or layer.name == "L2-symbolic-rule" and p0 == 0.0)


class AlwaysURL:
    """A new layer in a few lines: the recommender pools it with the L3 model."""

    name = "L3-url-detector"
    weight = 3.0

    def predict_proba_one(self, c: Column):
        return {"feature_type": {"url": 1.0}}

    def explain_one(self, c: Column):
        return self.name, "every column is a URL to me"

    def learn_one(self, c: Column, y):
        return None


def test_a_new_layer_is_one_module_the_recommender_pools(bank) -> None:
    from aurora_stream.recommend.recommender import Recommender

    assert isinstance(AlwaysURL(), Layer)
    view = profile_values([f"w{i % 3} x{i % 5}" for i in range(200)])
    plain = Recommender(bank).recommend(view, (), "ann")
    pooled = Recommender(bank, extra_layers=[AlwaysURL()]).recommend(view, (), "ann")
    def url(rec) -> float:
        return max([o.confidence for o in rec.alternatives if o.feature_type == "url"] or [0])

    assert plain.feature_type != "url" and url(plain) == 0.0
    assert url(pooled) > 0.3  # the new layer's vote reached the decision
