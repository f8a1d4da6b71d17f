"""L1 learned rules: induction after k corrections, Beta confidence, switch-off, bytes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import orjson
from learn_helpers import INT_CODES, PRICE, SENTENCE, variants

from aurora_stream.learn.rules import LearnedRules, region_key
from aurora_stream.profile.fingerprint import fingerprint
from aurora_stream.recommend.models import ModelBank
from aurora_stream.recommend.recommender import Recommender

CAT = {"feature_type": "categorical", "transformation": "one_hot", "imputation": "mode"}
NUM = {"feature_type": "numeric", "transformation": "standard_scale", "imputation": "median"}


def fps(view, n=6):
    return [fingerprint(v) for v in variants(view, n)]


def test_region_is_coarse_and_free_of_values_and_names() -> None:
    a, b, c = fps(INT_CODES, 3)
    assert len({str(sorted(x.items())) for x in (a, b, c)}) == 3  # distinct fingerprints
    assert region_key(a) == region_key(b) == region_key(c)  # one region
    assert region_key(fingerprint(SENTENCE)) != region_key(a) != region_key(fingerprint(PRICE))
    key = region_key(fingerprint(INT_CODES, ("customer", "zip", "id")))
    assert key.endswith("|id,geo") and "customer" not in key and "3.1" not in key
    # free text: one region whatever its distinct count or name
    other_text = replace(SENTENCE, distinct_count=40.0, distinct_frac=0.05)
    assert region_key(fingerprint(other_text, ("comment",))) == region_key(fingerprint(SENTENCE))


def test_rule_needs_k_consistent_corrections_of_one_user() -> None:
    rules = LearnedRules(k=3)
    xs = fps(INT_CODES)
    assert rules.learn_one(xs[0], CAT, "ann") is None
    assert rules.learn_one(xs[1], NUM, "ann") is None  # another triple: separate count
    assert rules.learn_one(xs[2], CAT, "bob") is None  # another user: separate count
    assert rules.learn_one(xs[3], CAT, "ann") is None
    assert rules.predict_proba_one(xs[4], "ann") == {}
    rule = rules.learn_one(xs[4], CAT, "ann")
    assert rule is not None and rule.support == 3 and rule.user == "ann"
    proba = rules.predict_proba_one(xs[5], "ann")
    assert proba == {"feature_type": {"categorical": 0.8}, "transformation": {"one_hot": 0.8},
                     "imputation": {"mode": 0.8}}  # Beta(4, 1) mean
    assert rules.explain_one(xs[5], "ann")[0] == rule.id
    assert rules.predict_proba_one(xs[5], "bob") == {}
    assert rules.predict_proba_one(fingerprint(SENTENCE), "ann") == {}


def test_confidence_is_the_beta_posterior_and_failing_rules_switch_off() -> None:
    rules = LearnedRules(k=3, floor=0.5, min_outcomes=3)
    x = fps(INT_CODES, 1)[0]
    rule = next(r for r in (rules.learn_one(x, CAT, "ann") for _ in range(3)) if r)
    rules.record_outcome(rule.id, True)
    assert rule.confidence == 5 / 6
    for _ in range(3):  # the user keeps saying numeric for this region
        rules.learn_one(x, NUM, "ann")
    assert rule.failures == 3 and rule.confidence == 5 / 9 and rule.active
    rules.learn_one(x, NUM, "ann")  # (1+4)/(2+4+4) = 0.5: not below the floor yet
    assert rule.active
    rules.learn_one(x, NUM, "ann")
    assert not rule.active  # 5/11 < 0.5
    listed = {r["id"]: r for r in rules.rules_for("ann")}
    assert listed[rule.id]["active"] is False and listed[rule.id]["failures"] == 5
    # the NUM corrections have induced their own rule, which now decides
    assert rules.predict_proba_one(x, "ann")["feature_type"] == {"numeric": 6 / 7}
    assert [r["active"] for r in rules.rules_for("ann")] == [True, False]


def test_bytes_round_trip_whole_and_per_user_as_plain_json() -> None:
    rules = LearnedRules(k=2)
    xs = fps(INT_CODES)
    for x in xs[:3]:
        rules.learn_one(x, CAT, "ann")
    rules.learn_one(xs[3], NUM, "bob")
    data = rules.to_bytes()
    assert orjson.loads(data)["format"] == 1  # JSON, no pickle
    back = LearnedRules.from_bytes(data)
    assert back.to_bytes() == data
    assert back.rules_for("ann") == rules.rules_for("ann")
    fresh = LearnedRules(k=2)
    fresh.load_user("ann", rules.user_to_bytes("ann"))
    assert fresh.predict_proba_one(xs[5], "ann") == rules.predict_proba_one(xs[5], "ann")
    nxt = fresh.learn_one(xs[4], NUM, "ann")  # ids keep counting after a reload
    assert nxt is None and fresh.learn_one(xs[5], NUM, "ann").id.endswith("-2")
    fresh.record_outcome(rules.rules_for("ann")[0]["id"], False)  # index rebuilt on load
    assert fresh.rules_for("ann")[-1]["failures"] >= 1


def test_recommender_serves_the_learned_rule_through_its_l1_seam() -> None:
    rules = LearnedRules()
    rec = Recommender(ModelBank(), learned_rules=rules)
    views = variants(SENTENCE, 5)
    before = rec.recommend(views[4], (), "ann")
    assert before.feature_type == "sentence"
    drop = {"feature_type": "not-generalizable", "transformation": "drop", "imputation": "none"}
    for v in views[:3]:
        rules.learn_one(fingerprint(v), drop, "ann")
    after = rec.recommend(views[4], (), "ann")
    assert (after.feature_type, after.transformation, after.layer) == (
        "not-generalizable", "drop", "L1-learned-rule")
    assert after.provenance.startswith("L1-") and not after.needs_review
    assert rec.recommend(views[4], (), "bob").feature_type == "sentence"


def test_recommend_computes_the_same_regions_as_the_learned_rules() -> None:
    """``recommend.models.region_key`` (the models' local evidence) must stay the L1 key;
    learn/rules.py keeps its own copy until it imports the recommend one."""
    from aurora_stream.profile.fingerprint import name_flags
    from aurora_stream.profile.sketch import profile_values
    from aurora_stream.recommend import models
    from aurora_stream.training.sortinghat import examples
    from aurora_stream.training.synthetic import generate

    xs = [fingerprint(v, flags) for v, flags in (
        (INT_CODES, ("customer", "zip", "id")), (SENTENCE, ("comment",)), (PRICE, ()))]
    xs += [fingerprint(profile_values(c.values), name_flags(c.name)) for c in generate(60, 7)]
    sh = Path(__file__).resolve().parents[3] / "shared/datasets/sortinghat/data_test.csv"
    if sh.is_file():
        xs += [fingerprint(e.view, e.flags) for e in examples(sh)[:400]]
    assert len({region_key(x) for x in xs}) > 10
    assert all(models.region_key(x) == region_key(x) for x in xs)
