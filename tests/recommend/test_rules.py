"""L2 symbolic rules: clear cases fire, outputs stay in the vocabulary, reasons cite numbers."""

from __future__ import annotations

import pytest

from aurora_stream.profile.fingerprint import name_flags
from aurora_stream.profile.sketch import profile_values
from aurora_stream.recommend.layer import Column
from aurora_stream.recommend.rules import RULES, RuleSet, rule_input
from aurora_stream.training.synthetic import generate
from aurora_stream.vocab import is_valid


def best(values: list[str | None], name: str = "x"):
    return RuleSet().best(profile_values(values), name_flags(name))


def test_url_column_is_url_with_domain_extraction() -> None:
    hit = best([f"https://example.com/item/{i}" for i in range(50)], "link")
    assert (hit.rule_id, hit.feature_type, hit.transformation) == ("R-url-01", "url",
                                                                   "extract_domain")
    assert "100% of values are URLs" in hit.reason


def test_email_column_is_not_generalizable() -> None:
    hit = best([f"user{i}@mail.org" for i in range(50)], "contact")
    assert (hit.feature_type, hit.transformation) == ("not-generalizable", "drop")


def test_unique_ids_are_not_generalizable() -> None:
    assert best([str(1000 + i) for i in range(200)], "customer_id").feature_type == (
        "not-generalizable")
    hashes = [f"{i * 7919:08x}{i:08x}" for i in range(200)]
    assert best(hashes, "token").rule_id == "R-id-03"


def test_dates_are_datetime_with_extract_parts() -> None:
    hit = best([f"2021-{m:02d}-{d:02d}" for m in range(1, 13) for d in range(1, 20)], "day")
    assert (hit.feature_type, hit.transformation, hit.rule_id) == ("datetime", "extract_parts",
                                                                   "R-date-01")


def test_skewed_positive_numbers_get_log1p_and_median() -> None:
    values = [str(round(1.7 ** (i % 25), 2)) for i in range(300)] + [None] * 30
    hit = best(values, "income")
    assert (hit.feature_type, hit.transformation, hit.imputation) == ("numeric", "log1p",
                                                                      "median")
    assert "skew" not in hit.reason or any(ch.isdigit() for ch in hit.reason)


def test_low_cardinality_text_is_one_hot_categorical() -> None:
    hit = best(["red", "green", "blue"] * 100, "color")
    assert (hit.feature_type, hit.transformation) == ("categorical", "one_hot")


def test_near_empty_column_is_not_generalizable() -> None:
    hit = best(["1", "2"] + [None] * 198)
    assert (hit.rule_id, hit.feature_type) == ("R-empty-01", "not-generalizable")


@pytest.mark.parametrize("column", generate(120, seed=11), ids=lambda c: c.feature_type)
def test_every_firing_rule_recommends_a_valid_triple(column) -> None:
    view = profile_values(column.values)
    hits = RuleSet().hits(view, name_flags(column.name))
    assert hits, "the fallback rule always fires"
    for h in hits:
        assert is_valid(h.feature_type, h.transformation, h.imputation), h
        assert 0 < h.confidence <= 1
        assert "{" not in h.reason and h.reason


def test_rule_ids_are_unique_and_rules_speak_the_layer_interface() -> None:
    assert len({r.id for r in RULES}) == len(RULES)
    x = rule_input(profile_values([f"http://a.org/{i}" for i in range(20)]), ())
    url_rule = next(r for r in RULES if r.id == "R-url-01")
    assert url_rule.predict_proba_one(x) == {"url": 0.95}
    assert next(r for r in RULES if r.id == "R-email-01").predict_proba_one(x) == {}
    c = Column.of(profile_values([f"http://a.org/{i}" for i in range(20)]), (), "ann")
    assert max(RuleSet().predict_proba_one(c)["feature_type"].items(),
               key=lambda kv: kv[1])[0] == "url"
    assert RuleSet().explain_one(c) == ("R-url-01", "100% of values are URLs")


def test_learning_moves_a_rules_confidence_for_that_user_only() -> None:
    rules = RuleSet()
    ann = Column.of(profile_values(["red", "blue"] * 50), (), "ann")
    bob = Column.of(profile_values(["red", "blue"] * 50), (), "bob")
    before = rules.predict_proba_one(ann)["feature_type"]["categorical"]
    for _ in range(10):
        rules.learn_one(ann, {"feature_type": "context-specific"})
    assert rules.predict_proba_one(ann)["feature_type"]["categorical"] < before
    assert rules.predict_proba_one(bob)["feature_type"]["categorical"] == before
    for _ in range(40):
        rules.learn_one(ann, {"feature_type": "categorical"})
    assert rules.predict_proba_one(ann)["feature_type"]["categorical"] > before - 0.05
    doc = rules.user_doc("ann")
    fresh = RuleSet()
    fresh.load_user_doc("ann", doc)
    assert fresh.predict_proba_one(ann) == rules.predict_proba_one(ann)
