"""L1 learned rules: induction after k corrections, Beta confidence, switch-off, bytes."""

from __future__ import annotations

from dataclasses import replace

import orjson
from learn_helpers import INT_CODES, PRICE, SENTENCE, variants

from aurora_stream.learn.rules import LearnedRules
from aurora_stream.profile.fingerprint import fingerprint
from aurora_stream.recommend.layer import Column
from aurora_stream.recommend.models import ModelBank, region_key
from aurora_stream.recommend.recommender import Recommender

C = Column.from_fingerprint
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
    assert rules.learn_one(C(xs[0], "ann"), CAT) is None
    assert rules.learn_one(C(xs[1], "ann"), NUM) is None  # another triple: separate count
    assert rules.learn_one(C(xs[2], "bob"), CAT) is None  # another user: separate count
    assert rules.learn_one(C(xs[3], "ann"), CAT) is None
    assert rules.predict_proba_one(C(xs[4], "ann")) == {}
    rule = rules.learn_one(C(xs[4], "ann"), CAT)
    assert rule is not None and rule.support == 3 and rule.user == "ann"
    proba = rules.predict_proba_one(C(xs[5], "ann"))
    assert proba == {"feature_type": {"categorical": 0.8}, "transformation": {"one_hot": 0.8},
                     "imputation": {"mode": 0.8}}  # Beta(4, 1) mean
    assert rules.explain_one(C(xs[5], "ann"))[0] == rule.id
    assert rules.predict_proba_one(C(xs[5], "bob")) == {}
    assert rules.predict_proba_one(C(fingerprint(SENTENCE), "ann")) == {}


def test_confidence_is_the_beta_posterior_and_failing_rules_switch_off() -> None:
    rules = LearnedRules(k=3, floor=0.5, min_outcomes=3)
    x = fps(INT_CODES, 1)[0]
    rule = next(r for r in (rules.learn_one(C(x, "ann"), CAT) for _ in range(3)) if r)
    rules.record_outcome(rule.id, True)
    assert rule.confidence == 5 / 6
    for _ in range(3):  # the user keeps saying numeric for this region
        rules.learn_one(C(x, "ann"), NUM)
    assert rule.failures == 3 and rule.confidence == 5 / 9 and rule.active
    rules.learn_one(C(x, "ann"), NUM)  # (1+4)/(2+4+4) = 0.5: not below the floor yet
    assert rule.active
    rules.learn_one(C(x, "ann"), NUM)
    assert not rule.active  # 5/11 < 0.5
    listed = {r["id"]: r for r in rules.rules_for("ann")}
    assert listed[rule.id]["active"] is False and listed[rule.id]["failures"] == 5
    # the NUM corrections have induced their own rule, which now decides
    assert rules.predict_proba_one(C(x, "ann"))["feature_type"] == {"numeric": 6 / 7}
    assert [r["active"] for r in rules.rules_for("ann")] == [True, False]


def test_a_users_rules_round_trip_as_plain_json() -> None:
    rules = LearnedRules(k=2)
    xs = fps(INT_CODES)
    for x in xs[:3]:
        rules.learn_one(C(x, "ann"), CAT)
    rules.learn_one(C(xs[3], "bob"), NUM)
    doc = rules.user_doc("ann")
    assert orjson.loads(orjson.dumps(doc)) == doc  # JSON, no pickle
    fresh = LearnedRules(k=2)
    fresh.load_user_doc("ann", orjson.loads(orjson.dumps(doc)))
    assert fresh.rules_for("ann") == rules.rules_for("ann") and fresh.rules_for("bob") == []
    assert fresh.predict_proba_one(C(xs[5], "ann")) == rules.predict_proba_one(C(xs[5], "ann"))
    nxt = fresh.learn_one(C(xs[4], "ann"), NUM)  # ids keep counting after a reload
    assert nxt is None and fresh.learn_one(C(xs[5], "ann"), NUM).id.endswith("-2")
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
        rules.learn_one(C(fingerprint(v), "ann"), drop)
    after = rec.recommend(views[4], (), "ann")
    assert (after.feature_type, after.transformation, after.layer) == (
        "not-generalizable", "drop", "L1-learned-rule")
    assert after.provenance.startswith("L1-") and not after.needs_review
    assert rec.recommend(views[4], (), "bob").feature_type == "sentence"
